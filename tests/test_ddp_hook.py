"""The DDP path of the GAN: its communication hook averages sparse and dense gradients over the ranks."""

import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from sklearn_agn.gan import _training

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="torch.distributed with gloo is not available")


class _Tables(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.tables = torch.nn.ModuleList([torch.nn.Embedding(30, 4, sparse=True) for _ in range(3)])
        self.dense = torch.nn.Linear(4, 2)

    def forward(self, rows):
        return sum(self.dense(table(read)).square().sum() for table, read in zip(self.tables, rows))


def _rows(rank):
    # Different rows, and a different number of them, on each rank; repeats included.
    return [torch.tensor([rank, 3, 3, 7 + rank * table, 29][: 3 + rank + table % 2])
            for table in range(3)]


def _gradients(model):
    return [p.grad.to_dense() if p.grad.is_sparse else p.grad for p in model.parameters()]


def _count_wrong_means(rank, world):
    """Gradients of this rank through DDP with the hook, compared with the mean of local ones."""
    torch.manual_seed(0)
    local = _Tables()
    model = DistributedDataParallel(_Tables())
    model.module.load_state_dict(local.state_dict())
    model.register_comm_hook(None, _training._mean_one_bucket_at_a_time)
    local(_rows(rank)).backward()
    model(_rows(rank)).backward()
    wrong = 0
    for mine, reduced in zip(_gradients(local), _gradients(model)):
        everyone = [torch.empty_like(mine) for _ in range(world)]
        dist.all_gather(everyone, mine)
        wrong += not torch.allclose(reduced, torch.stack(everyone).mean(0), rtol=1e-6, atol=1e-7)
    return wrong


def _check_mean(rank, world, port, failures):
    import os

    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        # The DDP wrapper is gone (with the work it holds on the group) before
        # the group is destroyed: destroying it first aborted a process at exit.
        failures[rank] = _count_wrong_means(rank, world)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_hook_gives_each_rank_the_mean_of_the_ranks_gradients():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    failures = torch.zeros(2, dtype=torch.int32).share_memory_()
    mp.spawn(_check_mean, args=(2, port, failures), nprocs=2)
    assert failures.tolist() == [0, 0]


def test_distributed_fit_registers_the_hook_on_both_networks(monkeypatch):
    """The asynchronous default hook corrupted the heap with several sparse buckets."""
    registered = []
    original = DistributedDataParallel.register_comm_hook

    def spy(self, state, hook):
        registered.append(hook)
        return original(self, state, hook)

    monkeypatch.setattr(DistributedDataParallel, "register_comm_hook", spy)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(port))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        import scipy.sparse as sp

        from sklearn_agn.gan import GANAugmenter

        X = sp.random(20, 15, density=0.3, format="csr", random_state=0)
        X.data[:] = 1
        config = _training.TrainingConfig.from_params(
            GANAugmenter(max_iter=1, batch_size=10).get_params())
        _training.fit_cfgan(X, config, device=torch.device("cpu"), seed=0, distributed=True)
    finally:
        dist.destroy_process_group()
    assert registered == [_training._mean_one_bucket_at_a_time] * 2
