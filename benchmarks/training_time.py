"""Time ``python -m dlcore train`` with its defaults (the cross-fitted ensemble, K chosen from the data's size) next
to one network (``--folds 1``) on the same file, in the same run.

    python benchmarks/training_time.py [--rows 10000,30000,100000]

For each size, a generated binary table of that many rows × 30 columns (:func:`training_throughput.generate`: 24
numbers, 4 categories of 3 to 120 levels, 2 yes/no) is written as CSV and trained from the command line twice, each
in a child process timed from start to exit (reading, preparing, training, scoring, baselines and the bundle): with
the defaults, and with ``--folds 1`` as the reference. The table gives the networks averaged, the seconds, the ratio
to the reference and the test ROC AUC of each, and the out-of-fold rows and score the default reports.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training_throughput import generate  # noqa: E402


def timed_train(data: Path, out: Path, *options: str) -> tuple[float, dict]:
    """Seconds of ``python -m dlcore train`` in a child process, and its ``metrics.json``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dlcore", "train", str(data), "--target", "y", "--out", str(out), *options],
                   cwd=ROOT, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, json.loads((out / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,30000,100000", help="comma-separated table sizes")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in map(int, args.rows.split(",")):
            data = Path(folder) / f"t{size}.csv"
            generate(size).to_csv(data, index=False)
            one_seconds, one = timed_train(data, Path(folder) / f"one{size}", "--folds", "1")
            seconds, default = timed_train(data, Path(folder) / f"default{size}")
            rows.append({"rows": size, "networks": default["members"], "seconds": round(seconds, 1),
                         "one network (reference) s": round(one_seconds, 1), "× reference": round(seconds / one_seconds, 2),
                         "test ROC AUC": round(default["test"]["roc_auc"], 4),
                         "one network's test ROC AUC": round(one["test"]["roc_auc"], 4),
                         "out-of-fold rows": default["out_of_fold"]["rows"],
                         "out-of-fold ROC AUC": round(default["out_of_fold"]["roc_auc"], 4)})
            print(f"{size:,} rows: {rows[-1]}", file=sys.stderr, flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
