"""Large tables: time and peak memory of loading and profiling a long CSV, next to ``pandas.read_csv`` of it.

    python benchmarks/large.py [--rows 1000000]

The file is generated: ``--rows`` rows × 30 columns (16 numeric with 3 decimals, 4 whole-number counts,
6 categorical of 3 to 2,000 levels, a yes/no, an ISO date, an id and a numeric target), about 200 MB at a million
rows. Each step runs in a fresh Python process that imports first, so its figure is the step's own: seconds, and the
peak resident memory it added (VmHWM minus the resident memory before the step) as a multiple of the file's size.
The reference is ``pandas.read_csv(path)`` with its defaults, in the same run. ``memory of the table`` is the loaded
frame's own size (``memory_usage(deep=True)``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

STEP = """
import json, sys, time
sys.path.insert(0, {root!r})
import pandas as pd
from dlcore.profiling import profile
from dlcore.runtime.loading import read_table

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

path, step = {path!r}, {step!r}
frame = read_table(path).frame if step == "profile" else None
before = rss("VmRSS:")
start = time.perf_counter()
if step == "pandas.read_csv":
    result = pd.read_csv(path)
elif step == "pandas.read_csv (pyarrow)":
    result = pd.read_csv(path, engine="pyarrow")
elif step == "read_table":
    result = read_table(path).frame
else:
    result = profile(frame, "target")
seconds = time.perf_counter() - start
table = int((result if step != "profile" else frame).memory_usage(deep=True).sum())
print(json.dumps({{"seconds": seconds, "added": rss("VmHWM:") - before, "table": table}}))
"""


def generate(rows: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(i, 1 + i, rows).round(3) for i in range(16)})
    for i, scale in enumerate((3, 10, 50, 200)):
        frame[f"n{i}"] = rng.poisson(scale, rows)
    for i, levels in enumerate((3, 7, 12, 50, 400, 2000)):
        frame[f"c{i}"] = pd.Series(rng.integers(0, levels, rows)).map(lambda v, i=i: f"level_{i}_{v}")
    frame["flag"] = rng.choice(["yes", "no"], rows)
    frame["date"] = (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, rows), unit="D")
                     ).strftime("%Y-%m-%d")
    frame["id"] = np.arange(rows)
    frame["target"] = (frame["x0"] * 3 + frame["x1"] + rng.normal(0, 1, rows)).round(3)
    frame.loc[rng.random(rows) < 0.05, "x3"] = np.nan
    frame.to_csv(path, index=False)


def run_step(path: Path, step: str) -> dict:
    code = STEP.format(root=str(ROOT), path=str(path), step=step)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{step} failed: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.csv"
        generate(args.rows, path)
        size = path.stat().st_size
        results = {step: run_step(path, step) for step in
                   ("pandas.read_csv", "pandas.read_csv (pyarrow)", "read_table", "profile")}
    reference = results["pandas.read_csv"]["seconds"]
    table = [{"step": step, "seconds": round(r["seconds"], 2), "× read_csv": round(r["seconds"] / reference, 2),
              "peak added MB": round(r["added"] / 2**20), "peak / file size": round(r["added"] / size, 2),
              "memory of the table MB": round(r["table"] / 2**20)} for step, r in results.items()]
    print(f"{args.rows:,} rows × 30 columns, {size / 2**20:,.0f} MB\n")
    print(pd.DataFrame(table).to_markdown(index=False))


if __name__ == "__main__":
    main()
