"""Smoke tests: every script in examples/ runs as it is and prints its result.

Each script runs in a fresh interpreter (``sys.executable``), from a temporary
working directory, with matplotlib's non-interactive Agg backend; the test
checks the exit code and a line of the output that only a complete run prints.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TIMEOUT = 180  # seconds; every example takes well under 30 s alone

# script -> (regex a complete run prints, optional modules the script needs)
EXPECTED = {
    "quickstart.py": (r"the GAN's contribution on test: [+-]\d\.\d{4} NDCG@10 \(standard error "
                      r"\d\.\d{4} over \d+ users\): \w", ()),
    "grid_search_gan_mf.py": (r"best_params_: \{.*\}\n(.|\n)*GAN \+ MF +\(GAN n_generated=",
                              ()),
    "cold_start.py": (r"\n +all +\d+( +\d\.\d{3}){4}\n", ()),
    "plot_gan_history.py": (r"history plot saved to ", ("matplotlib",)),
    "recommend_by_id.py": (r"newcomer \(saw sku-000, sku-001, sku-002\): sku-", ("pandas",)),
    "online_partial_fit.py": (r"after one partial_fit on \d+ users' feedback: \d+", ()),
    "online_loop.py": (r"after feedback and partial_fit, newcomer gets: sku-", ("pandas",)),
    "recommend_new_items.py": (
        r"new items ranked from their tags: NDCG@10 \d\.\d{3} \(random order: \d\.\d{3}\)",
        ("pandas",)),
    "spark_als.py": (r"newcomer \(saw sku-000, sku-001, sku-002\): sku-", ("pyspark", "pandas")),
}


def _run(script, *args, cwd):
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    # Run against this checkout even when the package is not installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # One torch/BLAS thread unless the caller chose: examples are smoke-tested,
    # not benchmarked, and several threads per process thrash a small shared
    # machine (test runs in parallel, CI runners).
    env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )


def test_every_example_is_covered():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts, f"no example found in {EXAMPLES}"
    assert sorted(EXPECTED) == scripts, "add the new example to EXPECTED"


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(script, tmp_path):
    pattern, needs = EXPECTED[script]
    for module in needs:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{script} needs {module}")
    args = [str(tmp_path / "history.png")] if script == "plot_gan_history.py" else []
    result = _run(script, *args, cwd=tmp_path)
    assert result.returncode == 0, (
        f"{script} exited with {result.returncode}\n--- stdout ---\n{result.stdout[-3000:]}"
        f"\n--- stderr ---\n{result.stderr[-3000:]}"
    )
    assert re.search(pattern, result.stdout), (
        f"{script} did not print {pattern!r}; stdout:\n{result.stdout[-3000:]}"
    )
    if script == "plot_gan_history.py":
        assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

