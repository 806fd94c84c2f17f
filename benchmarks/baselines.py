"""Every baseline on every data set in ../shared/datasets: the headline test metric of each, and the seconds taken.

    python benchmarks/baselines.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcore.baselines import baselines  # noqa: E402
from dlcore.evaluation import primary_metric  # noqa: E402
from dlcore.prepared import prepare  # noqa: E402
from dlcore.runtime.loading import drop_missing_target, read_table  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
COLUMNS = ["data set", "task", "rows", "metric", "naive", "naive_median", "random", "linear", "gradient_boosting",
           "seconds"]


def run(entry: dict) -> dict:
    target, task = entry["target"], entry["task"]
    frame, _ = drop_missing_target(read_table(DATASETS / entry["file"]).frame, target)
    data = prepare(frame, target, task)
    start = time.perf_counter()
    scores = baselines(data)
    seconds = time.perf_counter() - start
    metric = primary_metric(task, data.split.train[target])
    row = {"data set": entry["file"], "task": task, "rows": len(frame), "metric": metric}
    row.update({name: round(result[metric], 4) for name, result in scores.items()})
    row["seconds"] = round(seconds, 2)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="file names to run (default: all)")
    args = parser.parse_args()
    manifest = json.loads((DATASETS / "manifest.json").read_text())
    rows = []
    for entry in manifest:
        if args.only and entry["file"] not in args.only:
            continue
        rows.append(run(entry))
        print(pd.DataFrame(rows[-1:], columns=COLUMNS).to_string(index=False), flush=True)
    table = pd.DataFrame(rows, columns=COLUMNS)
    print()
    try:
        print(table.to_markdown(index=False))
    except ImportError:  # tabulate is optional
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
