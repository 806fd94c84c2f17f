"""Train and predict with ``python -m dlcore`` on every data set in ../shared/datasets, next to a reference.

For each data set: the network's test score against the naive baseline (does it beat it?), and its
training time as a ratio to scikit-learn's HistGradientBoosting fitted on the same prepared matrix in
the same run (absolute seconds on shared machines are noisy; the ratio is what to quote).

    python benchmarks/datasets.py [--epochs N] [--only NAME ...]
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
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcore.evaluation import is_better  # noqa: E402
from dlcore.prepared import prepare  # noqa: E402
from dlcore.runtime.loading import drop_missing_target, read_table  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"


def reference_seconds(path: Path, target: str, task: str) -> float:
    frame, _ = drop_missing_target(read_table(path).frame, target)
    data = prepare(frame, target, task)
    model = HistGradientBoostingRegressor() if task == "regression" else HistGradientBoostingClassifier()
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train)
    return time.perf_counter() - start


def run(entry: dict, epochs: int, work: Path) -> dict:
    path, target, task = DATASETS / entry["file"], entry["target"], entry["task"]
    run_dir, predictions = work / entry["file"], work / f"{entry['file']}.predictions.csv"
    cli = [sys.executable, "-m", "dlcore"]
    train = subprocess.run([*cli, "train", str(path), "--target", target, "--task", task, "--out", str(run_dir),
                            "--epochs", str(epochs)], cwd=ROOT, capture_output=True, text=True)
    if train.returncode:
        return {"data set": entry["file"], "task": task, "result": f"train failed: {train.stderr.strip()[-200:]}"}
    predict = subprocess.run([*cli, "predict", str(run_dir), str(path), "--out", str(predictions)],
                             cwd=ROOT, capture_output=True, text=True)
    rows_out = len(pd.read_csv(predictions)) if predict.returncode == 0 else None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    primary = metrics["primary_metric"]
    network, naive = metrics["test"][primary], metrics["baselines"]["naive"][primary]
    return {
        "data set": entry["file"], "task": task, "rows": entry["rows"], "metric": primary,
        "network": round(network, 4), "naive": round(naive, 4),
        "beats naive": is_better(primary, network, naive),
        "epochs (best)": f"{metrics['epochs_run']} ({metrics['best_epoch']})",
        "train s": round(metrics["seconds"], 1),
        "× HGB fit time": round(metrics["seconds"] / reference_seconds(path, target, task), 1),
        "predict rows in = out": rows_out == len(read_table(path).frame),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--only", nargs="*", help="file names to run (default: all)")
    args = parser.parse_args()
    manifest = json.loads((DATASETS / "manifest.json").read_text())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in manifest:
            if args.only and entry["file"] not in args.only:
                continue
            rows.append(run(entry, args.epochs, Path(tmp)))
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    print()
    print(pd.DataFrame(rows).to_markdown(index=False) if _has_tabulate() else pd.DataFrame(rows).to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
