"""Deliver the model: the run's files and the downloadable ``model.zip`` bundle.

A bundle holds plain files: ``model.keras`` (loaded with Keras safe mode), ``preparation.json``,
``schema.json`` (what the training columns held), ``metrics.json``, ``history.csv`` and a ``README.md``;
and, to predict without the app, ``predict.py`` with its ``requirements.txt`` and a copy of the
prediction runtime (:mod:`dlcore.runtime`: the app's own reading, encoding and
predicting code, so a raw CSV gives the app's predictions, and nothing of training or profiling).
"""

from __future__ import annotations

import io
import json
import zipfile
from importlib import metadata
from pathlib import Path

import pandas as pd

from dlcore.runtime.bundle import RUN_FILES, RUNTIME_FILES
from dlcore.runtime.files import save_model, write_bytes, write_text
from dlcore.runtime.preparation import output_columns
from dlcore.runtime.preparation import Preparation

BUNDLE_NAME = "model.zip"
REQUIREMENTS = ("keras", "tensorflow", "numpy", "pandas", "scipy")
EXPLAIN_REQUIREMENTS = ("shap",)  # predict.py --explain

PREDICT_SCRIPT = '''"""Predict every row of a table with this model: python predict.py new_rows.csv --out predictions.csv

Needs only the packages in requirements.txt (--explain also needs those in requirements-explain.txt). The dlcore/
folder next to this file is a copy of the app's code that reads a table and prepares it, so the predictions are the
app's. A CSV (or .csv.gz, Parquet) file of any length is read in chunks, in bounded memory.
"""

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dlcore.runtime.errors import DataError  # noqa: E402
from dlcore.runtime.streaming import predict_file  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="Predict every row of a table with this model bundle.")
    parser.add_argument("data", type=Path, help="CSV (or .csv.gz, Parquet, Excel) file with the training columns")
    parser.add_argument("--out", type=Path, default=Path("predictions.csv"), help="CSV file to write")
    parser.add_argument("--explain", action="store_true",
                        help="add each row's three most influential columns (SHAP; pip install -r requirements-explain.txt)")
    parser.add_argument("--chunk-rows", type=int,
                        help="rows read, predicted and written at a time; fewer take less memory (default: sized "
                             "to the table's width)")
    args = parser.parse_args()
    try:
        predict_file(HERE, args.data, args.out, explain=args.explain, chunk_rows=args.chunk_rows)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def write_run(run_dir: Path, model, preparation: Preparation, metrics: dict, history: pd.DataFrame) -> Path:
    """Write the run's files and the bundle into ``run_dir``, each atomically; returns the bundle's path."""
    run_dir = Path(run_dir)
    save_model(model, run_dir / "model.keras")
    texts = {
        "preparation.json": json.dumps(preparation.get_config(), indent=1),
        "schema.json": json.dumps(schema(preparation), indent=1),
        "metrics.json": json.dumps(metrics, indent=1),
        "history.csv": history.to_csv(index=False),
        "README.md": _readme(preparation, metrics),
    }
    for name, text in texts.items():
        write_text(run_dir / name, text)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in RUN_FILES:
            archive.write(run_dir / name, name)
        for name, data in _runtime_files().items():
            archive.writestr(name, data)
    write_bytes(run_dir / BUNDLE_NAME, buffer.getvalue())
    return run_dir / BUNDLE_NAME


def schema(prep: Preparation) -> dict:
    """What the model expects: every training column in order with its kind, whether the model uses it and
    what the training rows held (range and median, or levels), the target with its labels, and the outputs."""
    seen = prep.seen
    columns = [{"name": name, "kind": prep.kinds[name], "used": bool(encoder.features_), **seen.get(name, {})}
               for name, encoder in prep.encoders.items()]
    target = {"name": prep.target, "task": prep.task, **({"labels": prep.classes} if prep.classes else {})}
    return {"columns": columns, "target": target, "outputs": output_columns(prep)}


def _runtime_files() -> dict[str, bytes]:
    package = Path(__file__).resolve().parent
    modules = {name: (package.parent / name).read_bytes() for name in RUNTIME_FILES if name.startswith("dlcore/")}
    return {"predict.py": PREDICT_SCRIPT.encode(), "requirements.txt": _requirements(REQUIREMENTS).encode(),
            "requirements-explain.txt": ("-r requirements.txt\n" + _requirements(EXPLAIN_REQUIREMENTS)).encode(),
            **modules}


def _requirements(names: tuple[str, ...]) -> str:
    """The packages predict.py needs: from the version this model was trained with, within its major version."""
    lines = []
    for name in names:
        try:
            major, minor = metadata.version(name).split(".")[:2]
            lines.append(f"{name}~={major}.{minor}")
        except metadata.PackageNotFoundError:
            lines.append(name)
    return "\n".join(lines) + "\n"


def _networks(metrics: dict) -> str:
    """What ``model.keras`` holds when it is more than one network."""
    members = metrics.get("members", 1)
    if members < 2:
        return ""
    how = "a weighted mean of the kept trials" if metrics.get("ensemble") else "the mean"
    return f"{members} networks in one model, whose output is {how} of theirs; "


def _readme(prep: Preparation, metrics: dict) -> str:
    primary = metrics["primary_metric"]
    outputs = "`prediction`" + (", `probability_<label>` per class" if prep.classes else "") + \
        " and `row_in_file` (the row's number among the file's data rows, 1 = the first after the header)"
    return (
        f"# Model for `{prep.target}` ({prep.task})\n\n"
        f"Test {primary}: {metrics['test'][primary]:.4g} (naive baseline: {metrics['baselines']['naive'][primary]:.4g}).\n\n"
        f"{metrics['verdict']['text']}\n\n"
        "## Predict\n\n"
        "    pip install -r requirements.txt\n"
        "    python predict.py new_rows.csv --out predictions.csv\n\n"
        "A CSV (or .csv.gz, Parquet) file of any length is read, predicted and written in chunks, in bounded memory "
        "(`--chunk-rows N` sets their rows).\n\n"
        "With `--explain` (after `pip install -r requirements-explain.txt`) each row also gets `reason_1` to `reason_3`: "
        "the three columns that moved its prediction most, with their SHAP values, measured against a typical "
        "training row (medians and most frequent levels; the bundle holds no training rows).\n\n"
        f"The table needs the input columns {', '.join(prep.input_columns)}; other columns are ignored and kept. "
        f"The output has every column of the table in its order, plus {outputs}, one row per input row. "
        "First the table is checked against `schema.json`: a missing column is refused; unseen categories, "
        "values outside the training range and values of the wrong type are reported and handled as unknown "
        "or missing, never dropped.\n\n"
        "The app (Results & predictions: upload this zip) and `python -m dlcore predict model.zip new_rows.csv "
        "--out predictions.csv` take this bundle too.\n\n"
        "## Files\n\n"
        "- `model.keras`: the Keras network (`keras.saving.load_model(path, safe_mode=True)`); "
        f"{_networks(metrics)}it reads the prepared matrix, not raw columns.\n"
        "- `preparation.json`: how each raw column becomes the network's inputs, with statistics of the training rows.\n"
        "- `schema.json`: the training columns (kinds, ranges, categories) and the target's labels.\n"
        "- `metrics.json`, `history.csv`: test scores next to the baselines, and the loss per epoch.\n"
        "- `predict.py`, `requirements.txt`, `requirements-explain.txt`, `dlcore/`: a copy of the app's code that reads, "
        "prepares, predicts and explains a table.\n"
    )
