"""Small torch helpers shared by the torch-backed estimators."""

import numpy as np
import scipy.sparse as sp
import torch

_TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device):
    """Map ``"auto" | "cpu" | "cuda" | "cuda:N"`` to a ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was requested but torch sees no CUDA GPU.")
    return device


def torch_dtype(dtype):
    """Map a numpy dtype or name to the torch floating dtype of the same width."""
    return _TORCH_DTYPES[np.dtype(dtype).name]


def csr_to_torch(X, device, dtype):
    """Copy a scipy CSR matrix to a torch sparse CSR tensor on ``device``."""
    X = sp.csr_matrix(X)
    return torch.sparse_csr_tensor(
        torch.from_numpy(X.indptr.astype(np.int64)),
        torch.from_numpy(X.indices.astype(np.int64)),
        torch.from_numpy(X.data).to(dtype),
        size=X.shape,
    ).to(device)


def seeded_generator(random_state):
    """A CPU ``torch.Generator`` seeded from a numpy ``RandomState``."""
    return torch.Generator().manual_seed(int(random_state.randint(np.iinfo(np.int32).max)))
