"""Benchmark command: the CFGAN paper's protocol on any train/test triplet files.

Usage::

    python -m sklearn_agn.benchmark --train TRAIN --test TEST [options]

Protocol (Chae et al., CIKM 2018, and ``shared/data/README.md``):

1. Every method's hyper-parameters are chosen by NDCG@20 on a validation
   split that holds out ``--val-size`` of each user's TRAIN interactions
   (``holdout_split``, seed ``--val-seed``). ``--budget`` settings (64) are
   drawn from each method's search space (``--gan-budget``, 16, for the CFGAN
   generator, which trains a GAN per setting) by scikit-learn's ``ParameterSampler``
   (seed ``--val-seed``; all of them when a space of lists has fewer). The
   spaces are wide, log-uniform where the scale depends on the data, and the
   output names every choice that lies on the edge of its range. GAN + MF is
   tuned on top of MF: MF's chosen setting is fixed and only the GAN's
   parameters are searched, the first setting augmenting nobody (MF's model
   exactly), so that GAN + MF's validation score is never below MF's.
2. The chosen setting is refitted on all of TRAIN, with ``--seeds`` seeds for
   stochastic methods, and every user's unobserved items are ranked once
   against TEST: precision, recall, NDCG and MRR at 5 and 20, fit time,
   and beyond accuracy (coverage, novelty, popularity, long tail, Gini) at 20.
3. A second table splits the test users into quartiles of their number of
   TRAIN interactions (users who share a count stay together, so ties can
   merge quartiles) and gives NDCG@20 per quartile for the stochastic
   methods: MF, the CFGAN generator alone, and GAN + MF.
4. The GAN's contribution, GAN + MF minus MF seed by seed, is a row of
   the tables and a column of the quartile table.

TEST is never used to choose anything. Progress (bars over each method's
settings and refits, a GAN's epochs and losses, a line per setting) goes to
stderr unless ``--quiet``.

For scripts that rank models of their own as the protocol does,
:func:`top_k` ranks a matrix of scores (seen items excluded) and
:func:`activity_groups` gives NDCG@20 per quartile of users' activity.

The package's modules: ``_methods``
(:class:`Method`, which the warm and cold-start protocols read, and what
is benchmarked here, with the spaces), ``_search`` (drawing settings, range edges), ``_protocol``
(tuning, refit, scoring), ``_report`` (tables, files, chart) and ``_cli``
(the command line).
"""

from .._base import top_k
from ._cli import main
from ._methods import METHODS, Method
from ._protocol import activity_groups, run_benchmark
from ._report import format_tables, plot_quartiles

__all__ = ["Method", "METHODS", "run_benchmark", "format_tables", "plot_quartiles", "main",
           "activity_groups", "top_k"]
