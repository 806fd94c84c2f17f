"""How often Upload's default target is right: the rule (dlcore.profiling.suggest_target) on every table of
../shared/datasets/manifest.json, against the target the manifest names, and the positional guesses beside it.

    python benchmarks/default_target.py [--markdown]

Per table: the manifest's target, the rule's suggestion (or "asks" when no column's name says which), and whether the
first or the last column is the target. The summary counts, for the rule, right / asks / wrong; for a positional guess,
right / wrong (it never asks).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcore.decisions import suggest_target  # noqa: E402
from dlcore.runtime.loading import read_table  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args()
    rows = []
    for entry in json.loads((DATASETS / "manifest.json").read_text()):
        frame = read_table(DATASETS / entry["file"]).frame
        columns = [str(c) for c in frame.columns]
        suggested = suggest_target(frame)
        rows.append({"data set": entry["file"].split(".")[0], "target": entry["target"],
                     "rule": suggested or "asks",
                     "rule is": "asks" if suggested is None else "right" if suggested == entry["target"] else "wrong",
                     "first column": columns[0] == entry["target"], "last column": columns[-1] == entry["target"]})
    table = pd.DataFrame(rows)
    counts = table["rule is"].value_counts()
    summary = pd.DataFrame({
        "right": [int(counts.get("right", 0)), int(table["first column"].sum()), int(table["last column"].sum())],
        "asks": [int(counts.get("asks", 0)), 0, 0],
        "wrong": [int(counts.get("wrong", 0)), int((~table["first column"]).sum()), int((~table["last column"]).sum())],
    }, index=["rule (a target's name, else ask)", "first column", "last column (the former default)"])
    for frame, index in ((table, False), (summary, True)):
        print(frame.to_markdown(index=index) if args.markdown else frame.to_string(index=index), end="\n\n")
    print(f"{len(table)} tables")


if __name__ == "__main__":
    main()
