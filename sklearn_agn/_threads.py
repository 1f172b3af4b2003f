"""Thread policy of the torch-backed solvers: torch's process-wide thread count.

``torch.set_num_threads`` changes a process-wide setting, so it is changed
only when the user asks for it (``n_jobs`` not None), and restored safely
when several calls overlap: the requests active at a time are kept in a
module-level list under a lock; a request that ends puts back the count of the
most recent request still active (nested calls in one thread), and the last
one to end puts back the count the process had before the first one began
(concurrent calls in several threads).
"""

import contextlib
import threading

import joblib
import torch

_lock = threading.Lock()
# Thread counts of the active requests, oldest first, and the count to put
# back when the last of them ends.
_active = []
_original = None


def resolve_n_jobs(n_jobs):
    """Number of threads meant by ``n_jobs`` (scikit-learn convention: -1 all CPUs).

    ``None`` gives None (no request); ``-2`` all CPUs but one, and so on.
    """
    if n_jobs is None:
        return None
    # joblib's count of threads in this process: under the active backend it
    # would be another count (a dask cluster's workers; 1 in a daemon process).
    # parallel_backend, not parallel_config: scikit-learn 1.6 allows joblib 1.2.
    with joblib.parallel_backend("threading"):
        return joblib.effective_n_jobs(n_jobs)


@contextlib.contextmanager
def torch_num_threads(n_threads):
    """Run the block with torch at ``n_threads`` intra-op threads, then restore.

    ``None`` leaves torch's setting alone (and never calls
    ``torch.set_num_threads``).
    """
    if n_threads is None:
        yield
        return
    global _original
    token = _Request(n_threads)
    with _lock:
        if not _active:
            _original = torch.get_num_threads()
        _active.append(token)
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        with _lock:
            # By identity: requests of equal counts are distinct requests.
            del _active[next(i for i, r in enumerate(_active) if r is token)]
            torch.set_num_threads(_active[-1].n_threads if _active else _original)


class _Request:
    __slots__ = ("n_threads",)

    def __init__(self, n_threads):
        self.n_threads = n_threads


def torch_threads(n_jobs):
    """``torch_num_threads`` for an ``n_jobs`` parameter (None: no change)."""
    return torch_num_threads(resolve_n_jobs(n_jobs))
