"""Time ``python -m dlcore predict`` and a bundle's ``predict.py`` on a long CSV, next to a plain read and predict of
the same file, in the same run.

    python benchmarks/prediction.py [--rows 1000000] [--chunk-rows N] [--folds K]

A generated binary table of 30 columns (24 numbers, some with gaps; 4 categories of 3 to 60 levels; 2 yes/no) trains
the default model (Auto, 3 epochs, 5,000 rows: by default an ensemble of 5 members; ``--folds 1``: one network); a
CSV of ``--rows`` new rows of those columns is then predicted, each way in a child process of its own:

- *reference*: ``pandas.read_csv`` of the file and a bare ``model.predict`` of the already-prepared matrix (batches of
  ``PREDICT_BATCH``): the least any prediction of the file costs. Its seconds are the read and
  the predict only (not the start, the loading of the model or the preparation);
- *dlcore predict*: ``python -m dlcore predict RUN FILE --out F``, which streams the file in chunks;
- *bundle predict.py*: the run's ``model.zip`` unpacked in a folder of its own, ``python predict.py FILE --out F``.

The table gives each one's seconds (the whole child, start included, for the two commands), rows per second, peak
resident memory (the child's ``VmHWM``, Linux), its time as a multiple of the reference's and, for the commands, the end
of the line they print (their own time, from before the model is loaded, and rows per second).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcore.runtime.inference import PREDICT_BATCH, Predictor  # noqa: E402

PIECE_ROWS = 100_000  # rows generated and written at a time


def generate(rows: int, seed: int) -> pd.DataFrame:
    """The 30 columns (see the module's description) and the target ``y``, decided by x0, x1 and c0."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(0, 1 + i % 3, rows).round(3) for i in range(24)})
    frame.loc[rng.random(rows) < 0.03, ["x2", "x5"]] = np.nan
    for i, levels in enumerate((3, 8, 20, 60)):
        frame[f"c{i}"] = pd.Series(rng.integers(0, levels, rows)).map(lambda v, i=i: f"level{i}_{v}")
    for i in range(2):
        frame[f"flag{i}"] = rng.choice(["yes", "no"], rows)
    signal = frame["x0"] - 0.5 * frame["x1"] + (frame["c0"] == "level0_1")
    frame["y"] = np.where(signal + rng.normal(0, 0.5, rows) > 0, "yes", "no")
    return frame


def write_rows(path: Path, rows: int) -> None:
    """``rows`` new rows (without the target) as CSV, written a piece at a time."""
    with open(path, "w", newline="") as out:
        for number, start in enumerate(range(0, rows, PIECE_ROWS)):
            piece = generate(min(PIECE_ROWS, rows - start), 1 + number).drop(columns="y")
            out.write(piece.to_csv(index=False, header=number == 0))


def train(run_dir: Path, folds: int) -> int:
    """The model, trained into ``run_dir``: its number of members."""
    from dlcore.architectures import resolve
    from dlcore.prepared import prepare
    from dlcore.training import TrainConfig
    from dlcore.workers import train_here

    data = prepare(generate(5000, 0), "y", "binary")
    metrics = train_here(data, resolve("auto", data.x_train.shape[1], len(data.x_train)),
                         TrainConfig(epochs=3, folds=folds), run_dir)
    return metrics["members"]


def reference(run_dir: Path, path: Path) -> None:
    """The reference, in its child process: prints the seconds of the read and of the predict as JSON."""
    predictor = Predictor.load(run_dir)
    model = predictor.model
    start = time.perf_counter()
    frame = pd.read_csv(path)
    read = time.perf_counter() - start
    x = predictor.preparation.transform(frame)
    model.predict(x[:PREDICT_BATCH], batch_size=PREDICT_BATCH, verbose=0)  # compiled before it is timed
    start = time.perf_counter()
    model.predict(x, batch_size=PREDICT_BATCH, verbose=0)
    print(json.dumps({"read": read, "predict": time.perf_counter() - start}))


def measured(command: list, cwd: Path, log: Path) -> tuple[float, float, str]:
    """Run ``command`` as a child: its seconds, peak resident MB and standard output; stops on a failure.

    The peak is the child's ``VmHWM``, read every 50 ms: its ``ru_maxrss`` would count this process's memory too, as
    Linux starts a child (vfork, then exec) in its parent's memory."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    peak = 0
    with open(log, "w") as out, open(log.with_suffix(".err"), "w") as err:
        start = time.perf_counter()
        child = subprocess.Popen([str(part) for part in command], cwd=cwd, env=env, stdout=out, stderr=err)
        while child.poll() is None:
            peak = max(peak, high_water_kb(child.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - start
    if child.returncode:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{log.with_suffix('.err').read_text()[-3000:]}")
    return seconds, peak / 1024, log.read_text()


def high_water_kb(pid: int) -> int:
    """The peak resident memory of a running process so far (0 once it has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, help="passed to both commands (default: theirs)")
    parser.add_argument("--folds", type=int, default=0, metavar="K", help="members (default: the default, 5 here)")
    parser.add_argument("--reference", nargs=2, type=Path, metavar=("RUN", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        return reference(*args.reference)

    chunks = ["--chunk-rows", args.chunk_rows] if args.chunk_rows else []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        members = train(tmp / "run", args.folds)
        data = tmp / f"rows_{args.rows}.csv"
        write_rows(data, args.rows)
        print(f"trained the model and wrote {args.rows:,} rows ({data.stat().st_size / 2**20:,.0f} MB) in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        with zipfile.ZipFile(tmp / "run" / "model.zip") as archive:
            archive.extractall(tmp / "bundle")
        (tmp / "elsewhere").mkdir()

        _, ref_mb, output = measured([sys.executable, Path(__file__).resolve(), "--reference", tmp / "run", data],
                                     ROOT, tmp / "reference.log")
        ref = json.loads(output.strip().splitlines()[-1])
        ref_seconds = ref["read"] + ref["predict"]
        results = [{"way": f"reference: read_csv {ref['read']:.1f} s + model.predict {ref['predict']:.1f} s",
                    "seconds": ref_seconds, "peak MB": ref_mb, "its own last line": ""}]
        for way, command, cwd in (
                ("dlcore predict", [sys.executable, "-m", "dlcore", "predict", tmp / "run", data, "--out",
                                    tmp / "cli.csv", *chunks], ROOT),
                ("bundle predict.py", [sys.executable, tmp / "bundle" / "predict.py", data, "--out",
                                       tmp / "bundle.csv", *chunks], tmp / "elsewhere")):
            seconds, mb, output = measured(command, cwd, tmp / f"{way.split()[0]}.log")
            last = output.strip().splitlines()[-1]
            results.append({"way": way, "seconds": seconds, "peak MB": mb,
                            "its own last line": last[last.rindex(" in "):]})
        written = sum(1 for _ in open(tmp / "cli.csv")) - 1
        assert written == args.rows, f"dlcore predict wrote {written:,} rows of {args.rows:,}"

    table = pd.DataFrame(results)
    table["rows/s"] = args.rows / table["seconds"]
    table["× reference time"] = table["seconds"] / ref_seconds
    table = table[["way", "seconds", "rows/s", "peak MB", "× reference time", "its own last line"]]
    print(f"{args.rows:,} rows × 30 columns, a model of {members} network(s) averaged, {os.cpu_count()} CPU cores")
    formats = {"seconds": "{:.1f}".format, "rows/s": "{:,.0f}".format, "peak MB": "{:,.0f}".format,
               "× reference time": "{:.1f}×".format}
    shown = table.assign(**{name: table[name].map(form) for name, form in formats.items()})
    try:
        print(shown.to_markdown(index=False, disable_numparse=True, colalign=["left"] + ["right"] * 4 + ["left"]))
    except ImportError:  # to_markdown needs tabulate
        print(shown.to_string(index=False))


if __name__ == "__main__":
    main()
