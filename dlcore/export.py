"""Deliver the model: the run's files, the downloadable ``model.zip`` bundle, and predictions from it.

A bundle holds only plain files: ``model.keras`` (loaded with Keras safe mode),
``preparation.json``, ``metrics.json``, ``history.csv`` and a ``README.md``. Nothing
in it is unpickled or executed.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from dlcore.errors import DataError
from dlcore.preparation import Preparation

BUNDLE_NAME = "model.zip"
BUNDLE_FILES = ("model.keras", "preparation.json", "metrics.json", "history.csv", "README.md")
MAX_BUNDLE_BYTES = 500 * 1024 * 1024
PREDICT_BATCH = 8192


def write_run(run_dir: Path, model, preparation: Preparation, metrics: dict, history: pd.DataFrame) -> Path:
    """Write the run's files and the bundle into ``run_dir``; returns the bundle's path."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    model.save(run_dir / "model.keras")
    (run_dir / "preparation.json").write_text(json.dumps(preparation.get_config(), indent=1))
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    history.to_csv(run_dir / "history.csv", index=False)
    (run_dir / "README.md").write_text(_bundle_readme(preparation, metrics))
    bundle = run_dir / BUNDLE_NAME
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in BUNDLE_FILES:
            archive.write(run_dir / name, name)
    return bundle


def _bundle_readme(prep: Preparation, metrics: dict) -> str:
    primary = metrics["primary_metric"]
    return (
        f"# Model for `{prep.target}` ({prep.task})\n\n"
        f"Test {primary}: {metrics['test'][primary]:.4g} (naive baseline: {metrics['baselines']['naive'][primary]:.4g}).\n\n"
        f"{metrics['verdict']['text']}\n\n"
        f"Input columns: {', '.join(prep.input_columns)}.\n\n"
        "Predict on a CSV with the same columns:\n\n"
        "    python -m dlcore predict model.zip new_rows.csv --out predictions.csv\n"
    )


class Predictor:
    """A trained model with its preparation: raw rows in, predictions in original labels/units out.

    The Keras model is loaded (safe mode) on first use, so input checks answer before TensorFlow starts.
    """

    def __init__(self, model_bytes: bytes, preparation: Preparation, metrics: dict):
        self.model_bytes, self.preparation, self.metrics = model_bytes, preparation, metrics

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """Load from a run folder or a ``model.zip`` bundle."""
        path = Path(path)
        if path.is_dir():
            bundle = path / BUNDLE_NAME
            if not bundle.is_file():
                raise DataError(f"{path} is not a finished run: it has no {BUNDLE_NAME}.")
            path = bundle
        if not path.is_file():
            raise DataError(f"No run folder or model bundle at {path}.")
        return cls.from_bundle(path.read_bytes())

    @classmethod
    def from_bundle(cls, data: bytes) -> Predictor:
        """Read a bundle's bytes safely: size-limited, known file names only, plain JSON."""
        files = read_bundle(data)
        try:
            prep = Preparation.from_config(json.loads(files["preparation.json"]))
            metrics = json.loads(files["metrics.json"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"The bundle's preparation or metrics file is not valid ({exc}).") from exc
        return cls(files["model.keras"], prep, metrics)

    @cached_property
    def model(self):
        """The Keras model, loaded with ``safe_mode=True`` (no arbitrary code from the file runs)."""
        import keras

        with tempfile.TemporaryDirectory() as tmp:
            model_path = Path(tmp) / "model.keras"
            model_path.write_bytes(self.model_bytes)
            try:
                return keras.saving.load_model(model_path, safe_mode=True)
            except Exception as exc:  # Keras raises many types for a bad file
                raise DataError(f"The bundle's model.keras could not be loaded safely ({exc}).") from exc

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with its columns in order, plus ``prediction`` and ``probability_<label>`` per class."""
        x = self.preparation.transform(frame)
        if not len(x):
            raise DataError("There are no rows to predict.")
        outputs = np.concatenate(
            [np.asarray(self.model.predict_on_batch(x[i:i + PREDICT_BATCH])) for i in range(0, len(x), PREDICT_BATCH)]
        )
        labels, proba = self.preparation.decode_outputs(outputs)
        result = frame.copy()
        result["prediction"] = labels
        if proba is not None:
            for i, label in enumerate(self.preparation.classes):
                result[f"probability_{label}"] = proba[:, i]
        return result


def read_bundle(data: bytes) -> dict[str, bytes]:
    """The bundle's files by name; anything that is not a clean bundle is refused with a clear message."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise DataError(f"The bundle is larger than {MAX_BUNDLE_BYTES // 2**20} MB.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DataError("This is not a model bundle: it is not a zip file.") from exc
    with archive:
        names = archive.namelist()
        unexpected = [n for n in names if n not in BUNDLE_FILES]
        if unexpected:
            raise DataError(f"This is not a model bundle: unexpected file(s) {', '.join(unexpected[:3])}.")
        missing = [n for n in ("model.keras", "preparation.json", "metrics.json") if n not in names]
        if missing:
            raise DataError(f"This is not a model bundle: missing {', '.join(missing)}.")
        if sum(info.file_size for info in archive.infolist()) > MAX_BUNDLE_BYTES:
            raise DataError(f"The bundle unpacks to more than {MAX_BUNDLE_BYTES // 2**20} MB.")
        return {name: archive.read(name) for name in names}
