"""Small synthetic interaction matrices with a known structure, for tests."""

import numpy as np
import scipy.sparse as sp


def block_interactions(n_users=120, n_items=60, n_blocks=3, density=0.5, seed=0):
    """Users in ``n_blocks`` groups, each interacting only with its own item block.

    Returns the CSR matrix and each user's group label; item ``j`` belongs to
    block ``j * n_blocks // n_items``.
    """
    rng = np.random.RandomState(seed)
    groups = rng.randint(n_blocks, size=n_users)
    item_block = np.arange(n_items) * n_blocks // n_items
    dense = (item_block[None, :] == groups[:, None]) & (rng.rand(n_users, n_items) < density)
    return sp.csr_matrix(dense.astype(np.float64)), groups
