"""Thread policy: torch's and the BLAS libraries' process-wide thread counts.

``torch.set_num_threads`` (and threadpoolctl's limit on numpy's and scipy's
BLAS) changes a process-wide setting, so it is changed
only when the user asks for it (``n_jobs`` not None), and restored safely
when several calls overlap: the requests active at a time are kept in a
module-level list under a lock; a request that ends puts back the count of the
most recent request still active (nested calls in one thread), and the last
one to end puts back the count the process had before the first one began
(concurrent calls in several threads).
"""

import contextlib
import functools
import threading

import joblib
import torch
from threadpoolctl import ThreadpoolController


class _ThreadSetting:
    """A process-wide thread count that overlapping requests set and restore.

    ``read()`` returns the setting's current state and ``write(state)`` sets
    it, ``state`` being a request's count or a state ``read`` returned.
    """

    def __init__(self, read, write):
        self._read, self._write = read, write
        self._lock = threading.Lock()
        # The active requests, oldest first, and the state to put back when
        # the last of them ends.
        self._active = []
        self._original = None

    @contextlib.contextmanager
    def request(self, n_threads):
        """Run the block at ``n_threads`` threads (None: leave the setting alone)."""
        if n_threads is None:
            yield
            return
        token = _Request(n_threads)
        with self._lock:
            if not self._active:
                self._original = self._read()
            self._active.append(token)
            self._write(n_threads)
        try:
            yield
        finally:
            with self._lock:
                # By identity: requests of equal counts are distinct requests.
                del self._active[next(i for i, r in enumerate(self._active) if r is token)]
                self._write(self._active[-1].n_threads if self._active else self._original)


class _Request:
    __slots__ = ("n_threads",)

    def __init__(self, n_threads):
        self.n_threads = n_threads


@functools.cache
def _blas_libraries():
    """threadpoolctl's controllers of the BLAS libraries loaded (numpy's, scipy's), found once."""
    return ThreadpoolController().select(user_api="blas").lib_controllers


def _read_blas():
    return [library.num_threads for library in _blas_libraries()]


def _write_blas(state):
    libraries = _blas_libraries()
    counts = [state] * len(libraries) if isinstance(state, int) else state
    # Only where the count changes: a call costs microseconds, serving one user a millisecond.
    for library, count in zip(libraries, counts):
        if library.num_threads != count:
            library.set_num_threads(count)


# Looked up at each call, not bound once: torch's functions may be wrapped after import.
_torch_setting = _ThreadSetting(lambda: torch.get_num_threads(), lambda n: torch.set_num_threads(n))
_blas_setting = _ThreadSetting(_read_blas, _write_blas)


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


def torch_num_threads(n_threads):
    """Run the block with torch at ``n_threads`` intra-op threads, then restore.

    ``None`` leaves torch's setting alone (and never calls
    ``torch.set_num_threads``).
    """
    return _torch_setting.request(n_threads)


def blas_threads(n_threads):
    """Run the block with numpy's and scipy's BLAS at ``n_threads`` threads, then restore.

    ``None`` leaves them alone. Serving multiplies in numpy, so ``n_jobs``
    bounds these as it bounds torch's.
    """
    return _blas_setting.request(n_threads)


def torch_threads(n_jobs):
    """``torch_num_threads`` for an ``n_jobs`` parameter (None: no change)."""
    return torch_num_threads(resolve_n_jobs(n_jobs))
