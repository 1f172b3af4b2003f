"""GANAugmenter training cost and quality, one code tree against another (issue 21 item 1).

Two measurements, each run in a fresh subprocess per code tree (``--before``
is a path to put first on ``PYTHONPATH``, e.g. an export of ``HEAD``; the
"after" tree is this repository):

- ``speed``: ``GANAugmenter`` with its default networks and sampling on a
  ``make_interactions`` matrix of 5,551 users x 16,980 items and 205,000
  interactions (the size of the tag-described dataset of the issue):
  seconds per epoch, and the time of a full default fit (40 epochs) where
  ``--epochs`` says so (an estimate from the epoch time otherwise).
- ``quality``: on the CFGAN split of MovieLens 100K (``train.txt`` only, never
  the test file), a validation split ``holdout_split(train, 0.2,
  random_state=1)``; ``GANAugmenter`` with its defaults per seed; NDCG@20 of
  the generator's ranking of unobserved items (what ``CFGANRecommender``
  ranks) and of ``MFRecommender()`` fitted on the augmented rows (GAN + MF).

Usage, from the repository root (one thread: the machine is shared)::

    git archive HEAD sklearn_agn | tar -x -C /tmp/gan_before
    OMP_NUM_THREADS=1 python benchmarks/bench_gan_sampled.py speed --before /tmp/gan_before
    OMP_NUM_THREADS=1 python benchmarks/bench_gan_sampled.py quality --before /tmp/gan_before
    OMP_NUM_THREADS=1 python benchmarks/bench_gan_sampled.py speed --epochs 1 1 --set zr_ratio=0.0 pm_ratio=0.0
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ML100K = ROOT.parent / "shared" / "data" / "ml100k-cfgan" / "train.txt"
SPEED_SHAPE = (5_551, 16_980, 205_000)


def speed(epochs, params):
    from sklearn_agn import GANAugmenter
    from sklearn_agn.datasets import make_interactions

    X = make_interactions(*SPEED_SHAPE, random_state=0)
    aug = GANAugmenter(max_iter=epochs, device="cpu", random_state=0, **params)
    start = time.perf_counter()
    aug.fit(X)
    seconds = time.perf_counter() - start
    return {"nnz": int(X.nnz), "epochs": epochs, "fit_s": seconds, "epoch_s": seconds / epochs}


def quality(seeds, params):
    import numpy as np

    from sklearn_agn import GANAugmenter, MFRecommender
    from sklearn_agn.datasets import load_triplets
    from sklearn_agn.metrics import ndcg_at_k
    from sklearn_agn.model_selection import holdout_split

    X_fit, X_val = holdout_split(load_triplets(ML100K), 0.2, random_state=1)
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        aug = GANAugmenter(device="cpu", random_state=seed, **params).fit(X_fit)
        fit_s = time.perf_counter() - start
        scores = aug.score_items(X_fit)
        scores[X_fit.nonzero()] = -np.inf
        ranked = np.argsort(-scores, axis=1, kind="stable")[:, :20]
        X_aug = aug.transform(X_fit)
        mf = MFRecommender(k=20, random_state=seed).fit(X_aug)
        rows.append({
            "seed": seed, "fit_s": fit_s,
            "generator": float(ndcg_at_k(X_val, ranked, 20)),
            "gan_mf": float(mf.score(X_aug, X_val)),
        })
    return rows


def run(tree, part, arg, params):
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, __file__, "--child", part, str(arg), json.dumps(params)],
                         env=env,
                         check=True, capture_output=True, text=True, cwd="/tmp")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["speed", "quality"], nargs="?")
    parser.add_argument("--before", type=Path, help="code tree to compare with (put on PYTHONPATH)")
    parser.add_argument("--epochs", type=int, nargs=2, default=[2, 40], metavar=("BEFORE", "AFTER"),
                        help="epochs of the speed fits, before and after (default 2 and 40)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="GANAugmenter parameters of every fit, as Python literals "
                             "(e.g. zr_ratio=0.0 batch_size=512)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        part, arg, params = args.child
        fit = speed if part == "speed" else lambda n, params: quality(range(n), params)
        result = fit(int(arg), json.loads(params))
        print(json.dumps(result))
        return

    trees = ([("before", args.before)] if args.before else []) + [("after", ROOT)]
    params = {name: ast.literal_eval(value)
              for name, value in (item.split("=", 1) for item in args.set)}
    if args.part == "speed" and "max_iter" in params:
        parser.error("the speed fits take their epochs from --epochs, not --set max_iter")
    print(f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"load average {os.getloadavg()[0]:.1f} at start; GANAugmenter defaults"
          + (f" but {params}" if params else ""), flush=True)
    if args.part == "speed":
        epochs = dict(zip(["before", "after"], args.epochs)) if args.before else {"after": args.epochs[1]}
        print("\n| code | users x items, interactions | epochs run | s / epoch | 40-epoch fit (s) |")
        print("|---|---|---:|---:|---:|")
        for name, tree in trees:
            r = run(tree, "speed", epochs[name], params)
            full = f"{r['fit_s']:.0f}" if r["epochs"] == 40 else f"~{40 * r['epoch_s']:.0f} (est.)"
            print(f"| {name} | {SPEED_SHAPE[0]} x {SPEED_SHAPE[1]}, {r['nnz']} | {r['epochs']} "
                  f"| {r['epoch_s']:.1f} | {full} |", flush=True)
    else:
        if not ML100K.exists():
            sys.exit(f"{ML100K} not found")
        print("\n| code | seed | fit (s) | generator NDCG@20 | GAN + MF NDCG@20 |")
        print("|---|---:|---:|---:|---:|")
        for name, tree in trees:
            rows = run(tree, "quality", args.seeds, params)
            for r in rows:
                print(f"| {name} | {r['seed']} | {r['fit_s']:.0f} | {r['generator']:.4f} "
                      f"| {r['gan_mf']:.4f} |")
            for key in ("generator", "gan_mf"):
                values = [r[key] for r in rows]
                mean = sum(values) / len(values)
                sd = (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5
                print(f"| {name} | mean ± sd | | {key}: {mean:.4f} ± {sd:.4f} | |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (shared machine).")


if __name__ == "__main__":
    main()
