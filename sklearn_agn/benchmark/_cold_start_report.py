"""The cold-start report: its markdown tables, and reports of disjoint seeds merged."""

from ._report import _cell

__all__ = ["format_tables", "merge_reports"]


def _table(title, header, rows, columns):
    """A markdown table: one line per method, ``mean ± std`` over seeds of each column."""
    lines = [title, "", "| method | " + " | ".join(header) + " |", "|---" * (len(header) + 1)
             + "|"]
    for row in rows:
        lines.append(f"| {row['method']} | "
                     + " | ".join(_cell([run[key] for run in row["runs"]]) for key in columns)
                     + " |")
    return lines


def format_tables(report):
    """The markdown tables of a report."""
    lines = _table("Item cold start: cold-test items only",
                   ["Recall@20", "NDCG@20", "fit time (s)"], report["results"],
                   ["recall@20", "ndcg@20", "fit_time"])
    lines += [""] + _table("All items (warm + cold-test), same users, 20% of their warm "
                           "interactions held out",
                           ["NDCG@20", "warm NDCG@20", "cold share of top 20"],
                           report["all_items"], ["ndcg@20", "warm_ndcg@20", "cold_share@20"])
    if report.get("user_cold_start"):
        lines += [""] + _table("User cold start: cold-test users (empty rows), all items",
                               ["Recall@20", "NDCG@20"], report["user_cold_start"],
                               ["recall@20", "ndcg@20"])
    notes = [f"- {row['method']}: {note}" for row in report["results"]
             for note in row.get("notes", [])]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines)


def merge_reports(reports):
    """One report from reports of the same command on disjoint seed ranges."""
    merged = {key: value for key, value in reports[0].items()}
    for table in ("results", "all_items", "user_cold_start"):
        if table not in merged:
            continue
        rows = {}
        for report in reports:
            for row in report[table]:
                merged_row = rows.setdefault(row["method"], {"method": row["method"], "runs": []})
                merged_row["runs"].extend(row["runs"])
                # Each report's search (one per first seed), and its note, once.
                for key in ("notes", "search"):
                    if key in row:
                        entries = merged_row.setdefault(key, [])
                        entries += [entry for entry in row[key] if entry not in entries]
        for row in rows.values():
            row["runs"].sort(key=lambda r: r["seed"])
        merged[table] = list(rows.values())
    merged["command"] = [report["command"] for report in reports]
    merged["wall_time_s"] = [report["wall_time_s"] for report in reports]
    return merged
