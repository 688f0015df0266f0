"""Print the targets table (markdown) from asv's saved results.

    python scripts/targets_table.py [RESULTS.json]

RESULTS.json is one file asv wrote, asv_bench/results/<machine>/<commit>-<env>.json
(default: the newest one there). The targets are the ``track_`` benchmarks of
asv_bench/benchmarks/targets.py; each one's limit is the ``Limit:`` line of its
docstring, read from the benchmarks.json that asv writes beside the machine
folders.
"""

import argparse
import ast
import datetime
import json
import pathlib
import re
import sys

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "asv_bench" / "results"
LIMIT = re.compile(r"^\s*Limit:\s*(<=|>=)\s*([0-9.eE+-]+)\s*$", re.M)


def docstring(code):
    """The docstring of the method in asv's stored source of a benchmark."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("track_"):
            return ast.get_docstring(node) or ""
    return ""


def _param(text):
    try:
        return str(ast.literal_eval(text))
    except (ValueError, SyntaxError):
        return text


def rows(results, benchmarks):
    """(target, limit, measured, verdict) for every targets.* benchmark."""
    columns = results["result_columns"]
    out = []
    for name, entry in results["results"].items():
        meta = benchmarks.get(name)
        if not name.startswith("targets.") or meta is None:
            continue
        entry = dict(zip(columns, entry))
        doc = docstring(meta["code"])
        what = doc.split("\n")[0]
        m = LIMIT.search(doc)
        op, limit = (m.group(1), float(m.group(2))) if m else (None, None)
        unit = "" if meta.get("unit") == "ratio" else " " + meta.get("unit", "")
        values = entry["result"]
        combos = [[]]
        for names, vals in zip(meta["param_names"], entry["params"] or []):
            combos = [c + [f"{names}={_param(v)}"] for c in combos for v in vals]
        for combo, value in zip(combos, values):
            target = what + (f" ({', '.join(combo)})" if combo else "")
            if value is None or value != value:  # failed, skipped
                measured, verdict = "n/a", "n/a"
            else:
                measured = f"{value:.3g}{unit}"
                ok = limit is not None and (value <= limit if op == "<=" else value >= limit)
                verdict = "pass" if ok else "**fail**"
            out.append((target, f"{op} {limit:g}{unit}" if m else "?", measured, verdict))
    return out


def table(path):
    path = pathlib.Path(path)
    results = json.loads(path.read_text())
    benchmarks = json.loads((path.parent.parent / "benchmarks.json").read_text())
    columns = results["result_columns"]
    started = [v[columns.index("started_at")] for v in results["results"].values()
               if len(v) > columns.index("started_at") and v[columns.index("started_at")]]
    date = datetime.datetime.fromtimestamp(max(started or [results["date"]]) / 1000,
                                           datetime.timezone.utc)
    p = results["params"]
    lines = [f"Commit {results['commit_hash'][:8]}, run {date:%Y-%m-%d %H:%M} UTC, machine "
             f"{p.get('machine', '?')} ({p.get('cpu', '?')}, {p.get('num_cpu', '?')} CPUs)", "",
             "| target | limit | measured | |", "|---|---|---|---|"]
    lines += [f"| {t} | {lim} | {v} | {ok} |" for t, lim, v, ok in rows(results, benchmarks)]
    return "\n".join(lines)


def newest(root=RESULTS):
    files = [f for f in root.glob("*/*.json") if f.name != "machine.json"]
    if not files:
        sys.exit(f"no asv results under {root}: run asv with --set-commit-hash first")
    return max(files, key=lambda f: json.loads(f.read_text())["date"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="?", help="an asv results file (default: the newest)")
    args = ap.parse_args(argv)
    print(table(args.results or newest()))


if __name__ == "__main__":
    main()
