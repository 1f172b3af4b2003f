"""Small torch helpers shared by the torch-backed estimators."""

import numpy as np
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


def seeded_generator(random_state):
    """A CPU ``torch.Generator`` seeded from a numpy ``RandomState``."""
    return torch.Generator().manual_seed(int(random_state.randint(np.iinfo(np.int32).max)))
