"""Predict with a trained model: the model bundle's runtime.

:class:`Predictor` reads a run folder or a ``model.zip`` bundle (plain JSON, and ``model.keras`` in Keras safe mode:
nothing in a bundle is unpickled or executed), checks new rows against what the training rows held
(:class:`SchemaReport`) and predicts them (:mod:`dlcore.runtime.streaming` streams a file of any length through
it). A bundle ships this package and ``predict.py``, so a raw CSV gives the app's predictions with only the
bundle's ``requirements.txt`` installed.

Every file of a bundle is checked before it is used (:mod:`dlcore.runtime.bundle`).
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dlcore.runtime import bundle
from dlcore.runtime.bundle import (
    REQUIRED_FILES,
    check_keras_archive,
    check_metrics,
    check_schema_file,
    parse_json,
    read_bundle,
    read_file,
    short_error,
)
from dlcore.runtime.encoders import InvalidConfig
from dlcore.runtime.errors import DataError
from dlcore.runtime.preparation import ROW_IN_FILE, Preparation, output_columns

PREPARED_DIR = "prepared"  # a run folder's prepared data (the training rows' Parquet among it); bundles have none
PREDICT_BATCH = 8192


@dataclass
class SchemaReport:
    """A new table against the training columns: the columns ignored and, per column, the values the model
    has not seen in training and how they are handled. No finding drops a row."""

    rows: int
    extra: list[str]
    findings: pd.DataFrame  # column, problem, rows, handling

    def summary(self) -> str:
        """A few lines for a terminal."""
        lines = [f"checked {self.rows:,} rows against the training columns"
                 + ("" if self.extra or len(self.findings) else ": every value is as in training")]
        if self.extra:
            lines.append(f"ignored column(s), kept in the output: {', '.join(self.extra)}")
        lines += [f"{f.column}: {f.rows} row(s) {f.problem}; {f.handling}" for f in self.findings.itertuples()]
        return "\n".join(lines)


class Predictor:
    """A trained model with its preparation: raw rows in, predictions in original labels/units out.

    The Keras model is loaded (safe mode) on first use, so input checks answer before TensorFlow starts.
    """

    def __init__(self, model_bytes: bytes, preparation: Preparation, metrics: dict, metrics_problem: str | None = None):
        self.model_bytes, self.preparation, self.metrics = model_bytes, preparation, metrics
        self.metrics_problem = metrics_problem  # why ``metrics`` is empty, when it was read with metrics_optional

    @classmethod
    def load(cls, path: str | Path, metrics_optional: bool = False) -> Predictor:
        """Load from a run folder, an unpacked bundle or a ``model.zip`` bundle. With ``metrics_optional``, a folder
        whose ``metrics.json`` is missing or not valid still loads, with empty ``metrics`` and ``metrics_problem``
        saying why (its model still predicts)."""
        path = Path(path)
        if path.is_dir():
            needed = [name for name in REQUIRED_FILES if not (metrics_optional and name == "metrics.json")]
            missing = [name for name in needed if not (path / name).is_file()]
            if missing:
                raise DataError(f"{path} is not a finished run or an unpacked bundle: it has no {', '.join(missing)}.")
            files = {name: read_file(path / name, bundle.MAX_KERAS_BYTES if name == "model.keras" else bundle.MAX_JSON_BYTES)
                     for name in needed}
            problem = None
            if "metrics.json" not in files:
                files["metrics.json"] = None
                if (path / "metrics.json").is_file():
                    try:
                        files["metrics.json"] = read_file(path / "metrics.json")
                    except DataError as exc:
                        problem = str(exc)
            predictor = cls.from_files(files, metrics_optional)
            predictor.metrics_problem = problem or predictor.metrics_problem
            return predictor
        if not path.is_file():
            raise DataError(f"No run folder or model bundle at {path}.")
        return cls.from_bundle(read_file(path, bundle.MAX_BUNDLE_BYTES))

    @classmethod
    def from_bundle(cls, data: bytes) -> Predictor:
        """Read a bundle's bytes safely (see :func:`read_bundle`); its code files are never run."""
        return cls.from_files(read_bundle(data))

    @classmethod
    def from_files(cls, files: dict[str, bytes | None], metrics_optional: bool = False) -> Predictor:
        """From the bytes of ``model.keras``, ``preparation.json`` and ``metrics.json`` (plain JSON only; a
        ``schema.json`` among them is checked too), each checked first (see the module's description). With
        ``metrics_optional``, ``metrics.json`` may be missing (None) or not valid: ``metrics`` is then empty and
        ``metrics_problem`` says why."""
        try:
            prep = Preparation.from_config(parse_json(files.get("preparation.json"), "preparation.json"))
        except InvalidConfig as exc:
            raise DataError(f"preparation.json is not valid: {exc.detail}.") from exc
        metrics, problem = {}, None
        try:
            if files.get("metrics.json") is None:
                raise DataError("metrics.json is missing.")
            metrics = parse_json(files["metrics.json"], "metrics.json")
            check_metrics(metrics, prep.task)
        except DataError as exc:
            if not metrics_optional:
                raise
            metrics, problem = {}, str(exc)
        if files.get("schema.json") is not None:
            check_schema_file(parse_json(files["schema.json"], "schema.json"), prep)
        if not isinstance(files.get("model.keras"), bytes):
            raise DataError("model.keras is missing.")
        return cls(files["model.keras"], prep, metrics, problem)

    @property
    def model_loaded(self) -> bool:
        """Whether :attr:`model` has been loaded (the first use imports TensorFlow and takes seconds)."""
        return "model" in vars(self)

    @cached_property
    def model(self):
        """The Keras model, loaded with ``safe_mode=True`` (no arbitrary code from the file runs) after
        :func:`check_keras_archive`, from a clean copy of its checked members in a temporary folder."""
        members = check_keras_archive(self.model_bytes)
        import keras

        import dlcore.runtime.layers  # noqa: F401  (registers dlcore's own layers, which safe mode then accepts)

        with tempfile.TemporaryDirectory() as tmp:
            model_path = Path(tmp) / "model.keras"
            with zipfile.ZipFile(model_path, "w") as clean:  # exactly what was checked, nothing else
                for name, data in members.items():
                    clean.writestr(name, data)
            del members
            try:
                model = keras.saving.load_model(model_path, safe_mode=True)
            except Exception as exc:  # Keras raises many types for a bad file
                raise DataError(f"The bundle's model.keras could not be loaded safely ({short_error(exc)}).") from exc
        prep = self.preparation
        width = len(prep.feature_names)
        if not isinstance(model, keras.Model) or len(model.inputs) != 1 or len(model.outputs) != 1:
            raise DataError("The bundle's model.keras could not be loaded: it is not a network of one input and "
                            "one output.")
        if tuple(model.input_shape) != (None, width):
            raise DataError(f"The bundle's model.keras could not be loaded: it reads {model.input_shape[1:]} inputs, "
                            f"its preparation makes {width}.")
        outputs = len(prep.classes) if prep.task == "multiclass" else 1
        if tuple(model.output_shape) != (None, outputs):
            raise DataError(f"The bundle's model.keras could not be loaded: it gives {model.output_shape[1:]} "
                            f"outputs, a {prep.task} model of this preparation gives {outputs}.")
        return model

    @property
    def output_columns(self) -> list[str]:
        return output_columns(self.preparation)

    def check_schema(self, frame: pd.DataFrame, earlier: SchemaReport | None = None) -> SchemaReport:
        """Check ``frame`` against the training columns before predicting: a missing column is refused by name;
        extra columns, unseen categories, values out of the training range or of the wrong type and missing
        values are reported with their row counts. ``earlier``, the report of the rows before ``frame`` (a table
        checked chunk by chunk), is added in: the result is the report of all the rows."""
        prep = self.preparation
        inputs = prep.input_columns
        missing = [name for name in inputs if name not in frame.columns]
        if missing:
            raise DataError(f"Missing column(s) the model needs: {', '.join(missing)}.")
        counts = pd.DataFrame([finding for name in inputs if name in prep.seen
                               for finding in _column_findings(prep, frame[name], prep.seen[name])],
                              columns=["column", "problem", "rows", "handling"])
        rows = len(frame)
        if earlier is not None:
            before = earlier.findings.set_index(["column", "problem"])["rows"]
            keys = pd.MultiIndex.from_frame(counts[["column", "problem"]])
            counts["rows"] += before.reindex(keys, fill_value=0).to_numpy()
            rows += earlier.rows
        return SchemaReport(rows, [str(c) for c in frame.columns if c not in inputs],
                            counts[counts["rows"] > 0].reset_index(drop=True))

    def predict(self, frame: pd.DataFrame, on_batch: Callable[[int, int], None] | None = None,
                first_row: int | None = None) -> pd.DataFrame:
        """``frame`` with its columns in order, plus ``prediction``, ``probability_<label>`` per class and
        ``row_in_file`` (earlier prediction columns are replaced). The row numbers count from ``first_row``; without
        it, they are the frame's index + 1, which :func:`~.loading.read_table` and a run's test rows hold as
        each row's position in its file. Predicted :data:`PREDICT_BATCH` rows at a time; ``on_batch(done, total)``
        after each batch."""
        if not len(frame):
            raise DataError("There are no rows to predict.")
        outputs = []
        for start in range(0, len(frame), PREDICT_BATCH):
            x = self.preparation.transform(frame.iloc[start:start + PREDICT_BATCH])
            try:
                outputs.append(np.asarray(self.model.predict_on_batch(x)))
            except Exception as exc:  # checked inputs the network cannot take: its preparation does not match it
                raise DataError(f"The model could not predict these rows: its preparation does not match its network "
                                f"({short_error(exc)}).") from exc
            if on_batch is not None:
                on_batch(min(start + PREDICT_BATCH, len(frame)), len(frame))
        return with_predictions(self.preparation, frame, *self.preparation.decode_outputs(np.concatenate(outputs)),
                                first_row=first_row)


def with_predictions(prep: Preparation, frame: pd.DataFrame, labels, proba, first_row: int | None = None
                     ) -> pd.DataFrame:
    """``frame`` with the prediction columns of ``labels`` and ``proba`` (decoded outputs for its rows, in order)
    added, as :meth:`Predictor.predict` returns them."""
    replaced = [name for name in output_columns(prep) if name in frame.columns and name not in prep.input_columns]
    result = frame.drop(columns=replaced)
    result["prediction"] = labels
    if proba is not None:
        for i, label in enumerate(prep.classes):
            result[f"probability_{label}"] = proba[:, i]
    counted = first_row is None and pd.api.types.is_integer_dtype(frame.index)
    result[ROW_IN_FILE] = frame.index + 1 if counted else np.arange(len(frame)) + (first_row or 1)
    return result


def _column_findings(prep: Preparation, raw: pd.Series, seen: dict) -> list[dict]:
    """What one column holds that training did not, as rows of :attr:`SchemaReport.findings`: every check, in
    order, with its count of rows (none included)."""
    name, encoder = str(raw.name), prep.encoders[str(raw.name)]
    values = encoder.read(raw)
    found = []

    def add(mask, problem: str, handling: str) -> None:
        found.append({"column": name, "problem": problem, "rows": int(np.sum(mask)), "handling": handling})

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
