"""The report of a benchmark run: markdown tables, CSV, JSON and the quartile chart."""

import json

import numpy as np

from ._protocol import CUTOFFS

__all__ = ["REPORTED", "format_tables", "plot_quartiles", "write_csv", "write_json"]

REPORTED = [f"{m}@{k}" for k in CUTOFFS for m in ("precision", "recall", "ndcg", "mrr")]
# Beyond accuracy, on the top 20 of every user (sklearn_agn.metrics.beyond_accuracy_metrics).
BEYOND_ACCURACY = [f"{m}@{max(CUTOFFS)}" for m in ("coverage", "novelty", "arp", "long_tail",
                                                    "gini")]


def _cell(values, signed=False):
    """``mean ± std`` of a list of numbers, or the number alone (with its sign if ``signed``)."""
    values = np.asarray(values, dtype=float)
    mean = f"{values.mean():+.4f}" if signed else f"{values.mean():.4f}"
    if values.size == 1:
        return mean
    return f"{mean} ± {values.std():.4f}"


def _label(contribution):
    return f"{contribution['method']} − {contribution['over']}"


def _tried(row):
    if row["space_size"] is None:
        return f"{row['settings_tried']} drawn"
    return f"{row['settings_tried']} of {row['space_size']}"


def _gap(groups):
    """Largest minus smallest NDCG@20 of a list of activity groups."""
    values = [group["ndcg@20"] for group in groups]
    return max(values) - min(values)


def _group_tables(report, contributions):
    """A table of NDCG@20 per group, and the largest gap, for each grouping of users."""
    names = list(report.get("groups", {}))
    if not names:
        return []
    added = [row for row in contributions if row.get("groups")]

    def cells(value):
        """One cell per method, then per contribution: ``value(seed's results)`` over seeds."""
        return " | ".join([_cell([value(runs) for runs in report["groups"][name]])
                           for name in names]
                          + [_cell([value(runs) for runs in row["groups"]], signed=True)
                             for row in added])

    lines = []
    for grouping, first in report["groups"][names[0]][0].items():
        lines += ["", f"NDCG@20 by {grouping} (mean ± std over seeds; largest gap: highest "
                  "group minus lowest):", "",
                  f"| {grouping} | users | " + " | ".join(names + [_label(row) for row in added])
                  + " |", "|---" * (2 + len(names) + len(added)) + "|"]
        for label, n_users in first["n_users"].items():
            lines.append(f"| {label} | {n_users} | "
                         + cells(lambda runs: runs[grouping]["by_group"][label]) + " |")
        lines.append("| largest gap | | " + cells(lambda runs: runs[grouping]["difference"])
                     + " |")
    return lines


def format_tables(report):
    """The tables of a :func:`run_benchmark` report, in markdown, and the chosen settings.

    Parameters
    ----------
    report : dict
        What :func:`run_benchmark` returns.

    Returns
    -------
    str
        The test metrics per method, NDCG@20 per group of users' train
        activity and per group of each of the run's ``user_groups``, each
        with the largest gap between groups, and each method's chosen
        setting, with the choices that lie on the edge of their range. A
        method built on top of another (GAN + MF on MF) adds a row, and a
        column to the group tables, ``"GAN + MF − MF (iALS)"``: its figures
        minus the other method's, seed by seed (mean ± std of the
        differences; in a gap row, negative means the step narrows the gap).
    """
    contributions = report["contributions"]
    lines = ["| method | " + " | ".join(REPORTED) + " | fit time (s) | settings tried |",
             "|---" * (len(REPORTED) + 3) + "|"]
    for row in report["results"]:
        cells = [_cell([run[name] for run in row["runs"]]) for name in REPORTED]
        fit = _cell([run["fit_time"] for run in row["runs"]])
        lines.append(f"| {row['method']} | " + " | ".join(cells) + f" | {fit} | {_tried(row)} |")
    for row in contributions:
        cells = [_cell([run[name] for run in row["runs"]], signed=True)
                 for name in REPORTED + ["fit_time"]]
        lines.append(f"| {_label(row)} | " + " | ".join(cells) + " | |")
    beyond = [row for row in report["results"] if BEYOND_ACCURACY[0] in row["runs"][0]]
    if beyond:
        lines += ["", "Beyond accuracy, top 20 of every user: catalogue coverage, novelty "
                  "(bits), average recommended popularity (users), long-tail share, Gini "
                  "of exposure:", "",
                  "| method | " + " | ".join(BEYOND_ACCURACY) + " |",
                  "|---" * (len(BEYOND_ACCURACY) + 1) + "|"]
        for row in beyond:
            cells = [_cell([run[name] for run in row["runs"]]) for name in BEYOND_ACCURACY]
            lines.append(f"| {row['method']} | " + " | ".join(cells) + " |")
        for row in contributions:
            cells = [_cell([run[name] for run in row["runs"]], signed=True)
                     for name in BEYOND_ACCURACY]
            lines.append(f"| {_label(row)} | " + " | ".join(cells) + " |")
    names = list(report["quartiles"])
    if names:
        lines += ["", "NDCG@20 by quartile of users' train interactions (mean ± std over "
                  "seeds; users who share a count stay in one quartile):", ""]
        first = report["quartiles"][names[0]][0]
        added = [row for row in contributions if row["quartiles"]]
        lines += ["| quartile | users | train interactions | "
                  + " | ".join(names + [_label(row) for row in added]) + " |",
                  "|---" * (3 + len(names) + len(added)) + "|"]
        for g, info in enumerate(first):
            cells = [_cell([runs[g]["ndcg@20"] for runs in report["quartiles"][name]])
                     for name in names]
            cells += [_cell([runs[g]["ndcg@20"] for runs in row["quartiles"]], signed=True)
                      for row in added]
            lines.append(f"| {info['quartile']} | {info['users']} | "
                         f"{info['train_interactions']} | " + " | ".join(cells) + " |")
        if len(first) > 1:
            cells = [_cell([_gap(runs) for runs in report["quartiles"][name]]) for name in names]
            # Gap minus gap, seed by seed (not the spread of the per-group differences).
            cells += [_cell([_gap(runs) - _gap(other) for runs, other in zip(
                report["quartiles"][row["method"]], report["quartiles"][row["over"]])],
                signed=True) for row in added]
            lines.append("| largest gap | | | " + " | ".join(cells) + " |")
    lines += _group_tables(report, contributions)
    lines += ["", "Settings chosen on validation:", ""]
    edges = []
    for row in report["results"]:
        lines.append(f"- {row['method']}: {row['params']} (validation NDCG@20 "
                     f"{row['validation_ndcg@20']:.4f})")
        edges += [f"- {row['method']}: {name} = {row['params'][name]!r} ({where})"
                  for name, where in row["at_edge"].items()]
    if edges:
        lines += ["", "Choices on the edge of their range (the best setting may lie "
                  "beyond it: widen the space):", "", *edges]
    return "\n".join(lines)


def write_csv(report, path):
    """One line per method and seed: the test metrics and the fit time."""
    with open(path, "w") as fh:
        fh.write("method," + ",".join(REPORTED) + ",fit_time\n")
        for row in report["results"]:
            for run in row["runs"]:
                fh.write(row["method"] + "," + ",".join(f"{run[n]:.6f}" for n in REPORTED)
                         + f",{run['fit_time']:.3f}\n")


def write_json(report, path):
    """The whole report, as JSON."""
    with open(path, "w") as fh:
        json.dump(report, fh, indent=2, default=str)


def plot_quartiles(report, path):
    """Bar chart of NDCG@20 per quartile of users' train activity (needs matplotlib).

    Parameters
    ----------
    report : dict
        What :func:`run_benchmark` returns.
    path : str or path-like
        Where to save the figure; the format follows the extension.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # optional dependency
        raise ImportError("--plot needs matplotlib: pip install 'sklearn-agn[plot]'") from exc
    names = list(report["quartiles"])
    labels = [g["quartile"] for g in report["quartiles"][names[0]][0]] if names else []
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        values = np.array([[g["ndcg@20"] for g in run] for run in report["quartiles"][name]])
        ax.bar(np.arange(len(labels)) + i * width, values.mean(axis=0), width,
               yerr=values.std(axis=0), label=name)
    ax.set_xticks(np.arange(len(labels)) + width * (len(names) - 1) / 2, labels)
    ax.set_xlabel("users by number of train interactions (Q1 = sparsest)")
    ax.set_ylabel("NDCG@20")
    if names:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
