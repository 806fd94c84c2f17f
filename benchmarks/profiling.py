"""Time loading + profiling next to plain ``pandas.read_csv`` of the same file, in the same run.

    python benchmarks/profiling.py [--rows 1000000]

Files: ../shared/datasets/flights.csv.gz (336,776 rows × 19) and a generated file of ``--rows`` rows
× 20 columns (12 numeric, 4 categorical, a yes/no, a date, an id and a numeric target). The ratio
column is (dlcore load + profile) / (pandas.read_csv), both measured here, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcore.profiling import profile  # noqa: E402
from dlcore.runtime.loading import read_table  # noqa: E402

FLIGHTS = ROOT.parent / "shared" / "datasets" / "flights.csv.gz"


def generate(rows: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(i, 1 + i, rows).round(4) for i in range(12)})
    for i, levels in enumerate((3, 12, 50, 400)):
        frame[f"c{i}"] = pd.Series(rng.integers(0, levels, rows)).map(lambda v, i=i: f"level_{i}_{v}")
    frame["flag"] = rng.choice(["yes", "no"], rows)
    frame["date"] = (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")).strftime("%Y-%m-%d")
    frame["id"] = np.arange(rows)
    frame["target"] = (frame["x0"] * 3 + frame["x1"] + rng.normal(0, 1, rows)).round(3)
    frame.loc[rng.random(rows) < 0.05, "x3"] = np.nan
    frame.to_csv(path, index=False)


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(path: Path, target: str, repeat: int) -> dict:
    reference = best_of(repeat, lambda: pd.read_csv(path))
    loaded = {}
    load = best_of(repeat, lambda: loaded.update(data=read_table(path)))
    frame = loaded["data"].frame
    prof = best_of(repeat, lambda: profile(frame, target))
    return {"file": path.name, "rows": len(frame), "columns": frame.shape[1],
            "pandas.read_csv s": round(reference, 2), "dlcore load s": round(load, 2),
            "dlcore profile s": round(prof, 2), "(load + profile) / read_csv": round((load + prof) / reference, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = []
    if FLIGHTS.is_file():
        rows.append(measure(FLIGHTS, "arr_delay", args.repeat))
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / f"generated_{args.rows}.csv"
        generate(args.rows, generated)
        rows.append(measure(generated, "target", args.repeat))
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
