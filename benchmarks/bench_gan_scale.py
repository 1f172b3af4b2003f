"""GANAugmenter on 100,000 items: one epoch's time and memory, transform throughput.

For each number of users (default 2,000 and 8,000; ~50 interactions each, from
``make_interactions``), a fresh subprocess fits ``GANAugmenter(max_iter=1)``
with its default networks (generator 100,000 -> 400 -> 100,000, discriminator
2 x 100,000 -> 125 -> 1, Adam) and ``batch_size=128``, then transforms every
row with ``sparse_threshold`` above every row's length, so every row is scored
and augmented (the worst case). Reported: epoch time, transform rows/s, the
resident memory before and at the peak of each phase, the model's size
(parameters + gradients + Adam's two moments), ``batch_size x n_items`` and,
for contrast, what one dense ``n_users x n_items`` float32 matrix would take.

Memory must follow the model and ``batch_size x n_items``, not ``n_users x
n_items``: the peaks should barely move between the two user counts. Training
scores only each batch's observed and sampled items (``batch_size x`` the
batch's distinct items, see ``negatives_per_interaction``), so the epoch time
should grow with the interactions, not with ``n_users x n_items``; inference
still scores every item, ``batch_size x n_items`` at a time.

Usage, from the repository root::

    python benchmarks/bench_gan_scale.py
    python benchmarks/bench_gan_scale.py --users 2000 8000 --batch-size 128
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_predict import PeakRSS, max_rss_bytes  # noqa: E402

N_ITEMS = 100_000
PER_USER = 50


def child(n_users, batch_size):
    from sklearn_agn import GANAugmenter
    from sklearn_agn.datasets import make_interactions

    X = make_interactions(n_users, N_ITEMS, n_users * PER_USER, random_state=0)
    aug = GANAugmenter(max_iter=1, batch_size=batch_size, sparse_threshold=10**9,
                       device="cpu", random_state=0)
    with PeakRSS(interval=0.01) as fit_peak:
        start = time.perf_counter()
        aug.fit(X)
        fit_seconds = time.perf_counter() - start
    with PeakRSS(interval=0.01) as transform_peak:
        start = time.perf_counter()
        X_aug = aug.transform(X)
        transform_seconds = time.perf_counter() - start
    n_params = sum(p.numel() for p in aug.generator_.parameters())
    # The discriminator is not kept after fit: count it from the architecture.
    d_params = 2 * N_ITEMS * 125 + 125 + 125 + 1
    print(json.dumps({
        "n_users": n_users, "nnz": int(X.nnz), "generated": int(X_aug.nnz - X.nnz),
        "fit_s": fit_seconds, "transform_s": transform_seconds,
        "fit_before_mb": fit_peak.baseline / 2**20, "fit_peak_mb": fit_peak.peak / 2**20,
        "tr_before_mb": transform_peak.baseline / 2**20,
        "tr_peak_mb": transform_peak.peak / 2**20,
        "max_rss_mb": max_rss_bytes() / 2**20,
        "train_state_mb": 4 * (n_params + d_params) * 4 / 2**20,
        "batch_mb": batch_size * N_ITEMS * 4 / 2**20,
        "dense_mb": n_users * N_ITEMS * 4 / 2**20,
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[2_000, 8_000])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)

    import torch

    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), {os.cpu_count()} "
          f"CPUs, load average {os.getloadavg()[0]:.1f} at start")
    results = []
    for n_users in args.users:
        out = subprocess.run([sys.executable, __file__, "--child", str(n_users),
                              str(args.batch_size)], check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(f"  {n_users} users: epoch {r['fit_s']:.0f} s, transform {r['transform_s']:.1f} s",
              flush=True)
    print(f"\n{N_ITEMS} items, batch_size={args.batch_size}, default networks, 1 epoch "
          "(d_steps=2 + g_steps=4 passes over the rows)\n")
    print("| users | interactions | epoch (s) | RSS before fit (MB) | peak RSS in fit (MB) "
          "| transform rows/s | peak RSS in transform (MB) | process max RSS (MB) "
          "| model+grads+Adam (MB) | batch x items (MB) | dense users x items (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['n_users']} | {r['nnz']} | {r['fit_s']:.0f} | {r['fit_before_mb']:.0f} "
              f"| {r['fit_peak_mb']:.0f} | {r['n_users'] / r['transform_s']:.0f} "
              f"| {r['tr_peak_mb']:.0f} | {r['max_rss_mb']:.0f} | {r['train_state_mb']:.0f} "
              f"| {r['batch_mb']:.0f} | {r['dense_mb']:.0f} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (shared machine).")


if __name__ == "__main__":
    main()
