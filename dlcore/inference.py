"""Predict with a trained model: the model bundle's runtime.

:class:`Predictor` reads a run folder or a ``model.zip`` bundle (plain JSON, and ``model.keras`` in Keras safe mode:
nothing in a bundle is unpickled or executed), checks new rows against what the training rows held
(:class:`SchemaReport`) and predicts them. A bundle ships this module with the few it needs (:data:`RUNTIME_MODULES`)
and ``predict.py``, so a raw CSV gives the app's predictions with only the bundle's ``requirements.txt`` installed.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dlcore.errors import DataError
from dlcore.files import write_text
from dlcore.preparation import Preparation

PREPARED_DIR = "prepared"  # a run folder's prepared data (the training rows' Parquet among it); bundles have none
RUN_FILES = ("model.keras", "preparation.json", "schema.json", "metrics.json", "history.csv", "README.md")
# copied into every bundle for predict.py: at module level they import only each other
RUNTIME_MODULES = ("__init__", "errors", "files", "loading", "encoders", "preparation", "inference", "explain",
                   "layers")
RUNTIME_FILES = ("predict.py", "requirements.txt", "requirements-explain.txt",
                 *(f"dlcore/{module}.py" for module in RUNTIME_MODULES))
FORMER_RUNTIME_FILES = ("dlcore/profiling.py", "dlcore/export.py")  # in bundles written before this runtime
BUNDLE_FILES = RUN_FILES + RUNTIME_FILES + FORMER_RUNTIME_FILES
REQUIRED_FILES = ("model.keras", "preparation.json", "metrics.json")
KERAS_FILES = ("config.json", "metadata.json", "model.weights.h5")
MAX_BUNDLE_BYTES = 500 * 1024 * 1024
PREDICT_BATCH = 8192


def output_columns(prep: Preparation) -> list[str]:
    """The columns a prediction adds: ``prediction`` and ``probability_<label>`` per class."""
    return ["prediction", *(f"probability_{label}" for label in prep.classes)]


@dataclass
class SchemaReport:
    """A new table against the training columns: the columns ignored and, per column, the values the model
    has not seen in training and how they are handled. No finding drops a row."""

    rows: int
    extra: list[str]
    findings: pd.DataFrame  # column, problem, rows, handling

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [f"checked {self.rows} rows against the training columns"
                 + ("" if self.extra or len(self.findings) else ": every value is as in training")]
        if self.extra:
            lines.append(f"ignored column(s), kept in the output: {', '.join(self.extra)}")
        lines += [f"{f.column}: {f.rows} row(s) {f.problem}; {f.handling}" for f in self.findings.itertuples()]
        return "\n".join(lines)


class Predictor:
    """A trained model with its preparation: raw rows in, predictions in original labels/units out.

    The Keras model is loaded (safe mode) on first use, so input checks answer before TensorFlow starts.
    """

    def __init__(self, model_bytes: bytes, preparation: Preparation, metrics: dict):
        self.model_bytes, self.preparation, self.metrics = model_bytes, preparation, metrics

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """Load from a run folder, an unpacked bundle or a ``model.zip`` bundle."""
        path = Path(path)
        if path.is_dir():
            missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
            if missing:
                raise DataError(f"{path} is not a finished run or an unpacked bundle: it has no {', '.join(missing)}.")
            return cls.from_files({name: (path / name).read_bytes() for name in REQUIRED_FILES})
        if not path.is_file():
            raise DataError(f"No run folder or model bundle at {path}.")
        return cls.from_bundle(path.read_bytes())

    @classmethod
    def from_bundle(cls, data: bytes) -> Predictor:
        """Read a bundle's bytes safely (see :func:`read_bundle`); its code files are never run."""
        return cls.from_files(read_bundle(data))

    @classmethod
    def from_files(cls, files: dict[str, bytes]) -> Predictor:
        """From the bytes of ``model.keras``, ``preparation.json`` and ``metrics.json`` (plain JSON only)."""
        try:
            prep = Preparation.from_config(json.loads(files["preparation.json"]))
            metrics = json.loads(files["metrics.json"])
            if metrics["task"] != prep.task or metrics["primary_metric"] not in metrics["test"]:
                raise ValueError("the metrics do not describe this model")
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"The bundle's preparation or metrics file is not valid ({exc}).") from exc
        return cls(files["model.keras"], prep, metrics)

    @cached_property
    def model(self):
        """The Keras model, loaded with ``safe_mode=True`` (no arbitrary code from the file runs)."""
        _check_keras_archive(self.model_bytes)
        import keras

        import dlcore.layers  # noqa: F401  (registers dlcore's own layers, which safe mode then accepts)

        with tempfile.TemporaryDirectory() as tmp:
            model_path = Path(tmp) / "model.keras"
            model_path.write_bytes(self.model_bytes)
            try:
                model = keras.saving.load_model(model_path, safe_mode=True)
            except Exception as exc:  # Keras raises many types for a bad file
                raise DataError(f"The bundle's model.keras could not be loaded safely ({exc}).") from exc
        width = len(self.preparation.feature_names)
        if tuple(model.input_shape) != (None, width):
            raise DataError(f"The bundle's model.keras could not be loaded: it reads {model.input_shape[1:]} inputs, "
                            f"its preparation makes {width}.")
        return model

    @property
    def output_columns(self) -> list[str]:
        return output_columns(self.preparation)

    def check_schema(self, frame: pd.DataFrame) -> SchemaReport:
        """Check ``frame`` against the training columns before predicting: a missing column is refused by name;
        extra columns, unseen categories, values out of the training range or of the wrong type and missing
        values are reported with their row counts."""
        prep = self.preparation
        inputs = prep.input_columns
        missing = [name for name in inputs if name not in frame.columns]
        if missing:
            raise DataError(f"Missing column(s) the model needs: {', '.join(missing)}.")
        findings = [finding for name in inputs if name in prep.seen
                    for finding in _column_findings(prep, frame[name], prep.seen[name])]
        return SchemaReport(len(frame), [str(c) for c in frame.columns if c not in inputs],
                            pd.DataFrame(findings, columns=["column", "problem", "rows", "handling"]))

    def predict(self, frame: pd.DataFrame, on_batch: Callable[[int, int], None] | None = None) -> pd.DataFrame:
        """``frame`` with its columns in order, plus ``prediction`` and ``probability_<label>`` per class (earlier
        prediction columns are replaced). Predicted :data:`PREDICT_BATCH` rows at a time; ``on_batch(done, total)``
        after each batch."""
        if not len(frame):
            raise DataError("There are no rows to predict.")
        outputs = []
        for start in range(0, len(frame), PREDICT_BATCH):
            x = self.preparation.transform(frame.iloc[start:start + PREDICT_BATCH])
            outputs.append(np.asarray(self.model.predict_on_batch(x)))
            if on_batch is not None:
                on_batch(min(start + PREDICT_BATCH, len(frame)), len(frame))
        labels, proba = self.preparation.decode_outputs(np.concatenate(outputs))
        replaced = [name for name in self.output_columns if name in frame.columns
                    and name not in self.preparation.input_columns]
        result = frame.drop(columns=replaced)
        result["prediction"] = labels
        if proba is not None:
            for i, label in enumerate(self.preparation.classes):
                result[f"probability_{label}"] = proba[:, i]
        return result


def _column_findings(prep: Preparation, raw: pd.Series, seen: dict) -> list[dict]:
    """What one column holds that training did not, as rows of :attr:`SchemaReport.findings`."""
    name, encoder = str(raw.name), prep.encoders[str(raw.name)]
    values = encoder.read(raw)
    found = []

    def add(mask, problem: str, handling: str) -> None:
        if (rows := int(np.sum(mask))) > 0:
            found.append({"column": name, "problem": problem, "rows": rows, "handling": handling})

    add(raw.isna(), "without a value", "filled as in training")
    if seen["type"] == "level":
        add(values.notna() & ~values.isin(seen["levels"]), "with a category not seen in training", encoder.unseen)
        return found
    what = "a number" if seen["type"] == "number" else "a date"
    add(values.isna() & raw.notna(), f"not {what} (wrong type)", encoder.unseen)
    if seen["min"] is not None:
        low, high = (seen["min"], seen["max"]) if seen["type"] == "number" else \
            (pd.Timestamp(seen["min"]), pd.Timestamp(seen["max"]))
        shown = f"{low:.4g} to {high:.4g}" if seen["type"] == "number" else f"{seen['min']} to {seen['max']}"
        add((values < low) | (values > high), f"outside the training range ({shown})",
            "used as is: the model extrapolates")
    return found


def predict_file(model: str | Path, data: str | Path, out: str | Path, echo=print, explain: bool = False
                 ) -> SchemaReport:
    """Check and predict every row of the table at ``data`` with a run folder or bundle, and write the CSV ``out``:
    ``python -m dlcore predict`` and a bundle's ``predict.py``. With ``explain``, each row's three most influential
    columns are added (needs shap). ``echo`` gets the report's summary and a last line."""
    from dlcore.loading import read_table

    predictor = Predictor.load(model)
    frame = read_table(data, for_prediction=True).frame
    report = predictor.check_schema(frame)
    echo(report.summary())
    result = predictor.predict(frame)
    if explain:
        try:
            import shap  # noqa: F401
        except ImportError as exc:
            raise DataError(f"Explaining needs shap ({exc.name} is not installed): pip install shap") from exc
        from dlcore.explain import predict_with_reasons

        result = predict_with_reasons(predictor, model, frame, result, echo)
    out = Path(out)
    write_text(out, result.to_csv(index=False))
    echo(f"wrote {len(result)} predictions to {out}")
    return report


def read_bundle(data: bytes) -> dict[str, bytes]:
    """The bundle's files by name: size-limited, known names only (no folders of its own, no ``../``, no pickle);
    anything that is not a clean bundle is refused with a clear message."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise DataError(f"The bundle is larger than {MAX_BUNDLE_BYTES // 2**20} MB.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise DataError("This is not a model bundle: it is not a zip file.") from exc
    with archive:
        names = [name for name in archive.namelist() if name != "dlcore/"]
        unexpected = [name for name in names if name not in BUNDLE_FILES]
        if unexpected:
            raise DataError(f"This is not a model bundle: unexpected file(s) {', '.join(unexpected[:3])}.")
        if len(set(names)) < len(names):
            raise DataError("This is not a model bundle: a file name appears twice.")
        missing = [name for name in REQUIRED_FILES if name not in names]
        if missing:
            raise DataError(f"This is not a model bundle: missing {', '.join(missing)}.")
        if sum(info.file_size for info in archive.infolist()) > MAX_BUNDLE_BYTES:
            raise DataError(f"The bundle unpacks to more than {MAX_BUNDLE_BYTES // 2**20} MB.")
        try:
            return {name: archive.read(name) for name in names}
        except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:  # corrupt or encrypted members
            raise DataError(f"This is not a model bundle: a file in it cannot be read ({exc}).") from exc


def _check_keras_archive(data: bytes) -> None:
    """A ``.keras`` file is a zip of a JSON config and HDF5 weights; refuse anything else before Keras opens it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise DataError("The bundle's model.keras could not be loaded: it is not a Keras archive.") from exc
    unexpected = [name for name in names if name not in KERAS_FILES]
    if unexpected or "config.json" not in names:
        raise DataError("The bundle's model.keras could not be loaded: it is not a plain Keras archive "
                        f"({', '.join(unexpected[:3]) or 'no config.json'}).")
