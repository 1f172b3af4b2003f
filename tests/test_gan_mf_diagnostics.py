"""benchmarks/gan_mf_diagnostics_ml100k.py on small generated data."""

import importlib.util
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sklearn_agn.datasets import make_interactions

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gan_mf_diagnostics_ml100k.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gan_mf_diagnostics", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_keep_n_cuts_only_the_chosen_rows_to_a_subset_of_n():
    diagnostics = load_script()
    X = make_interactions(40, 30, 500, random_state=0)
    before = X.copy()
    rows = np.array([0, 3, 7, 20])
    cut = diagnostics.keep_n(X, rows, 2, random_state=0)

    assert (X != before).nnz == 0  # the input is untouched
    lengths = np.diff(X.indptr)
    np.testing.assert_array_equal(np.diff(cut.indptr)[rows], np.minimum(lengths[rows], 2))
    others = np.setdiff1d(np.arange(X.shape[0]), rows)
    assert (cut[others] != X[others]).nnz == 0
    # Every kept interaction is one of the row's own.
    assert (cut.multiply(X.astype(bool)) != cut).nnz == 0
    # Another seed keeps other items.
    assert (diagnostics.keep_n(X, rows, 2, random_state=1) != cut).nnz > 0


def test_script_prints_both_tables(tmp_path, capsys):
    diagnostics = load_script()
    X = make_interactions(120, 50, 2400, random_state=0)
    coo = sp.coo_matrix(X)
    np.savetxt(tmp_path / "train.txt", np.column_stack([coo.row, coo.col, coo.data]),
               fmt="%d %d %g")
    diagnostics.main(["--data", str(tmp_path), "--seeds", "1", "--keep", "2"])
    out = capsys.readouterr().out
    for model in ("| MF |", "| generator |", "| 0.25 generator + 0.75 MF |",
                  "| 0.5 EASE + 0.5 MF |"):
        assert model in out
    for model in ("| 2 | MF | reg ", "| 2 | generator | defaults |", "| 2 | GAN + MF | "):
        assert model in out
