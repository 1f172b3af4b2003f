"""The stream benchmark's report: its markdown tables and its chart over time."""

import numpy as np

from ._stream_protocol import K

__all__ = ["format_stream_table", "plot_stream"]


def format_stream_table(report):
    """Markdown table of the overall results of :func:`replay_stream`."""
    reference = report["strategies"].get("refit", {}).get("overall")
    lines = ["| strategy | NDCG@10 | Recall@10 | NDCG@10 new users | NDCG@10 returning "
             "| update time (s) | per batch (s) | NDCG vs refit | time vs refit |",
             "|---|---|---|---|---|---|---|---|---|"]
    n_batches = len(report["batches"])
    for name, result in report["strategies"].items():
        overall = result["overall"]
        if reference:
            vs_ndcg = f"{overall['ndcg@10'] / reference['ndcg@10']:.1%}"
            vs_time = (f"{overall['update_time'] / reference['update_time']:.1%}"
                       if reference["update_time"] > 0 else "n/a")
        else:
            vs_ndcg = vs_time = "n/a"
        lines.append(f"| {name} | {overall['ndcg@10']:.4f} | {overall['recall@10']:.4f} | "
                     f"{overall['ndcg@10 new users']:.4f} | "
                     f"{overall['ndcg@10 returning users']:.4f} | {overall['update_time']:.2f} | "
                     f"{overall['update_time'] / max(n_batches, 1):.3f} | {vs_ndcg} | {vs_time} |")
    beyond = [f"{m}@{K}" for m in ("coverage", "novelty", "arp", "long_tail", "gini")]
    rows = [(name, result["overall"]) for name, result in report["strategies"].items()
            if beyond[0] in result["overall"]]
    if rows:
        lines += ["", "Beyond accuracy, every top 10 of the stream: catalogue coverage, novelty "
                  "(bits), average recommended popularity (users), long-tail share, Gini of "
                  "exposure (popularity on the initial part):", "",
                  "| strategy | " + " | ".join(beyond) + " |", "|---" * (len(beyond) + 1) + "|"]
        lines += [f"| {name} | " + " | ".join(f"{overall[m]:.4f}" for m in beyond) + " |"
                  for name, overall in rows]
    return "\n".join(lines)


def plot_stream(report, path, window=7):
    """NDCG@10 per batch over time, one line per strategy (needs matplotlib).

    Batch values are noisy (few users a day): each line is their moving
    average over ``window`` batches, weighted by the batches' evaluated users.
    """
    try:
        # A Figure of its own, not pyplot's: no GUI backend, nothing left open.
        from matplotlib.figure import Figure
    except ImportError as exc:  # optional dependency
        raise ImportError("--plot needs matplotlib: pip install 'sklearn-agn[plot]'") from exc
    starts = np.array([b["start"] for b in report["batches"]], dtype="datetime64[s]")
    weights = np.array([b["evaluated"] for b in report["batches"]], dtype=np.float64)
    kernel = np.ones(window)
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    for name, result in report["strategies"].items():
        values = np.nan_to_num(np.asarray(result["ndcg@10"], dtype=np.float64)) * weights
        with np.errstate(invalid="ignore", divide="ignore"):
            smooth = np.convolve(values, kernel, "same") / np.convolve(weights, kernel, "same")
        ax.plot(starts, smooth, label=f"{name} ({result['overall']['ndcg@10']:.3f})")
    ax.set_xlabel("batch start")
    ax.set_ylabel("NDCG@10 (moving average)")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
