"""Does DistributedDataParallel survive many steps with several sparse gradients on gloo?

The DDP path of ``SparkGANAugmenter`` all-reduces four sparse item tables
per step. With DDP's default communication hook, whose all-reduces run
asynchronously on gloo's worker threads, long fits aborted with ``malloc():
unaligned tcache chunk detected`` or a segmentation fault. This script
reproduces that without the library, in pure torch: two processes on this
machine train a module of four ``nn.Embedding(sparse=True)`` tables and one
dense layer, with a different number of rows read by each process at each
step, for ``--steps`` steps, either with DDP's default hook (``default``) or
with a hook that all-reduces one bucket at a time, synchronously
(``synchronous``, what the library registers). It prints, per hook, whether
the run finished and whether both processes ended with the same weights.

Usage, from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/stress_ddp_sparse.py --steps 3000
"""

import argparse
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

N_ROWS, WIDTH, N_TABLES = 1682, 200, 4


class _Tables(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.tables = torch.nn.ModuleList(
            [torch.nn.Embedding(N_ROWS, WIDTH, sparse=True) for _ in range(N_TABLES)])
        self.dense = torch.nn.Linear(WIDTH, WIDTH)

    def forward(self, rows):
        return sum(self.dense(table(read)).sum() for table, read in zip(self.tables, rows))


def _synchronous(state, bucket):
    tensor = bucket.buffer()
    dist.all_reduce(tensor)
    result = torch.futures.Future()
    result.set_result(tensor / dist.get_world_size())
    return result


def _train(rank, world, port, hook, steps, same):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)  # the same initial weights on every process
    model = DistributedDataParallel(_Tables())
    if hook == "synchronous":
        model.register_comm_hook(None, _synchronous)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    reads = torch.Generator().manual_seed(1 + rank)  # different rows on each process
    for _ in range(steps):
        rows = [torch.randint(0, N_ROWS, (int(torch.randint(1, 5000, (), generator=reads)),),
                              generator=reads) for _ in range(N_TABLES)]
        optimizer.zero_grad()
        model(rows).backward()
        optimizer.step()
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    reference = weights.clone()
    dist.broadcast(reference, 0)
    same[rank] = int(torch.equal(weights, reference))
    dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--hooks", nargs="+", default=["default", "synchronous"],
                        choices=["default", "synchronous"])
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}; 2 processes, {N_TABLES} sparse tables of "
          f"{N_ROWS} x {WIDTH}, {args.steps} steps\n")
    print("| hook | finished | same weights | time (s) |")
    print("|---|---|---|---:|")
    for hook in args.hooks:
        same = torch.zeros(2, dtype=torch.int32).share_memory_()
        start = time.perf_counter()
        try:
            mp.spawn(_train, args=(2, _free_port(), hook, args.steps, same), nprocs=2)
            finished = "yes"
        except mp.ProcessExitedException as error:
            finished = f"no: {error}"
        print(f"| {hook} | {finished} | {'yes' if same.all() else 'no'} "
              f"| {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
