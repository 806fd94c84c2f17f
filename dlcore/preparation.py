"""The fitted preparation of a table: every input column through its encoder, and the target to and from the
network's form.

:class:`Preparation` has scikit-learn's shape (``fit`` on the training rows, ``transform`` any rows) and Keras'
(``get_config``/``from_config`` to and from plain JSON with a format version, no pickle). Each column's kind is
decided before (:func:`dlcore.profiling.decide_kinds`) and passed in; each column's encoding is chosen by
:func:`dlcore.encoders.fit_encoder`. Like :mod:`dlcore.encoders`, this module is part of the bundle's runtime.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dlcore import encoders
from dlcore.encoders import Encoder, fit_encoder
from dlcore.errors import DataError

FORMAT = 2  # of get_config; format 1 (untyped column dicts, before encoder classes) is read by _upgrade_column


class Preparation:
    """Per-column encoders fitted on training rows only, and the target's encoding."""

    def __init__(self, target: str, task: str, kinds: dict[str, str], options: dict[str, dict] | None = None):
        self.target = target
        self.task = task
        self.kinds = dict(kinds)
        self.options = {name: dict(opts) for name, opts in (options or {}).items()}
        self.encoders: dict[str, Encoder] = {}
        self.target_encoding: dict = {}

    def fit(self, train: pd.DataFrame, classes: list | None = None) -> Preparation:
        """Fit every input column's encoder on ``train``; ``classes`` fixes the output labels (default: those in
        train). Every input column needs its kind in ``kinds``."""
        inputs = [name for name in map(str, train.columns) if name != self.target]
        undecided = [name for name in inputs if name not in self.kinds]
        if undecided:
            raise ValueError(f"No kind was decided for column(s) {', '.join(undecided)}.")
        self.kinds = {name: self.kinds[name] for name in inputs}
        self.encoders = {name: fit_encoder(train[name], kind, self.options.get(name))
                         for name, kind in self.kinds.items()}
        if not self.feature_names:
            raise DataError("No usable input column is left after excluding identifiers, constants, free text "
                            "and the columns you excluded.")
        y = train[self.target]
        if self.task == "regression":
            self.target_encoding = {"mean": float(y.mean()), "std": encoders._std(y)}
        else:
            labels = classes if classes is not None else sorted(y.dropna().unique().tolist(), key=str)
            self.target_encoding = {"classes": [_plain(v) for v in labels]}
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The checked float32 input matrix for ``frame`` (raw rows, same columns as in training)."""
        missing = [name for name in self.input_columns if name not in frame.columns]
        if missing:
            raise DataError(f"Missing column(s) the model needs: {', '.join(missing)}.")
        blocks = [self.encoders[name].transform(frame[name]) for name in self.input_columns]
        with np.errstate(over="ignore"):  # values beyond float32 become inf, which the check names
            matrix = np.column_stack(blocks).astype(np.float32)
        self.check_matrix(matrix)
        return matrix

    def read(self, values: pd.Series) -> pd.Series:
        """An input column as the model reads it: numbers, dates, or text levels (see :meth:`Encoder.read`)."""
        return self.encoders[str(values.name)].read(values)

    @property
    def seen(self) -> dict[str, dict]:
        """What the training rows held per input column: range and median, or the levels."""
        return {name: self.encoders[name].seen_ for name in self.input_columns}

    def check_matrix(self, matrix: np.ndarray) -> None:
        """Refuse a matrix that is not all-finite float32 with one column per feature name."""
        names = self.feature_names
        if matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape[1] != len(names):
            raise DataError(f"The prepared matrix is {matrix.dtype} of shape {matrix.shape}; "
                            f"expected float32 with {len(names)} columns. This is a bug: please report it.")
        bad = np.flatnonzero(~np.isfinite(matrix).all(axis=0))
        if len(bad):
            shown = ", ".join(names[i] for i in bad[:5])
            raise DataError(f"The prepared data has missing or infinite values in {shown}: "
                            "a value is far outside the range seen in training.")

    # -- the target -------------------------------------------------------------------
    @property
    def classes(self) -> list:
        return self.target_encoding.get("classes", [])

    def encode_target(self, values: pd.Series) -> np.ndarray:
        """Class indices (classification) or the standardized target (regression)."""
        if self.task == "regression":
            enc = self.target_encoding
            return ((values.to_numpy(dtype=float) - enc["mean"]) / enc["std"]).astype(np.float32)
        index = {str(label): i for i, label in enumerate(self.classes)}
        codes = values.astype(str).map(index)
        if codes.isna().any():
            unknown = sorted(set(values[codes.isna()].astype(str)))[:5]
            raise DataError(f"Target values not seen in training: {', '.join(unknown)}.")
        return codes.to_numpy(dtype=np.int32)

    def decode_outputs(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Network outputs → (predictions in original labels/units, class probabilities or None)."""
        outputs = np.asarray(outputs, dtype=float)
        if self.task == "regression":
            enc = self.target_encoding
            return outputs.reshape(-1) * enc["std"] + enc["mean"], None
        if self.task == "binary":
            positive = outputs.reshape(-1)
            proba = np.column_stack([1.0 - positive, positive])
        else:
            proba = outputs
        labels = np.asarray(self.classes, dtype=object)
        return labels[np.argmax(proba, axis=1)], proba

    # -- description -------------------------------------------------------------------
    @property
    def input_columns(self) -> list[str]:
        """Columns the model reads (excluded ones are not required at prediction time)."""
        return [name for name, encoder in self.encoders.items() if encoder.features_]

    @property
    def feature_names(self) -> list[str]:
        return [name for encoder in self.encoders.values() for name in encoder.features_]

    @property
    def feature_types(self) -> list[str]:
        """What each input column of the network is (:meth:`dlcore.encoders.Encoder.feature_types`)."""
        return [kind for encoder in self.encoders.values() for kind in encoder.feature_types()]

    def plan(self) -> pd.DataFrame:
        """What is done to every column: column → kind → encoding → transformation → output width and names."""
        rows = [{"column": name, "kind": self.kinds[name], "encoding": encoder.title,
                 "transformation": encoder.describe(), "outputs": len(encoder.features_),
                 "output columns": _shorten(encoder.features_)}
                for name, encoder in self.encoders.items()]
        return pd.DataFrame(rows, columns=["column", "kind", "encoding", "transformation", "outputs",
                                           "output columns"])

    def footprint(self, rows: int) -> pd.DataFrame:
        """Output width and float32 memory per column: bytes per row and bytes for ``rows`` rows."""
        widths = [len(encoder.features_) for encoder in self.encoders.values()]
        per_row = [4 * width for width in widths]
        return pd.DataFrame({"column": list(self.encoders), "outputs": widths, "bytes per row": per_row,
                             "bytes": [rows * size for size in per_row]})

    def get_config(self) -> dict:
        return {"format": FORMAT, "target": self.target, "task": self.task, "kinds": self.kinds,
                "options": self.options, "columns": {name: encoder.get_config()
                                                     for name, encoder in self.encoders.items()},
                "target_encoding": self.target_encoding}

    @classmethod
    def from_config(cls, config: dict) -> Preparation:
        version = config.get("format", 1)
        if version > FORMAT:
            raise DataError(f"This preparation has format {version}; this version of the app reads up to {FORMAT}.")
        prep = cls(config["target"], config["task"], config["kinds"], config["options"])
        columns = config["columns"]
        if version == 1:
            columns = {name: _upgrade_column(name, spec, config.get("seen", {}).get(name, {}))
                       for name, spec in columns.items()}
        prep.encoders = {name: encoders.from_config(column) for name, column in columns.items()}
        prep.target_encoding = config["target_encoding"]
        return prep


def _upgrade_column(name: str, spec: dict, seen: dict) -> dict:
    """A format-1 column (an untyped dict from before the encoder classes) as an encoder's config."""
    kind, outputs = spec["kind"], spec["outputs"]
    fitted = {"features_": outputs, "seen_": seen}
    if not outputs:
        return {"encoding": "exclude", "column": name, "kind": kind, "options": {},
                "fitted": {**fitted, "reason_": spec["reason"]}}
    if kind == "numeric" or spec.get("extract_number"):
        options = {key: spec["options"][key] for key in encoders.Numeric.defaults}
        fitted.update(fill_=spec["fill"], scaler_=spec["scaler"], indicator_=len(outputs) == 2,
                      skewed_="may help" in spec["action"])
        if spec.get("extract_number"):
            example = re.match(r"the number in the text \((.*?)\); ", spec["action"])
            fitted["example_"] = example.group(1) if example else ""
            return {"encoding": "number_in_text", "column": name, "kind": kind, "options": options, "fitted": fitted}
        return {"encoding": "numeric", "column": name, "kind": kind, "options": options, "fitted": fitted}
    if kind == "boolean":
        fitted.update(true_=spec["true"], fill_=spec["fill"], missing_="missing" in spec["action"])
        return {"encoding": "boolean", "column": name, "kind": kind, "options": {}, "fitted": fitted}
    if kind == "datetime":
        fitted.update(parts_=[[part, *stats] for part, stats in spec["parts"].items()], cycles_=spec["cycles"])
        return {"encoding": "date_parts", "column": name, "kind": kind, "options": spec["options"], "fitted": fitted}
    if spec["encoding"] == "frequency":
        fitted.update(levels_=spec["levels"], frequencies_=spec["frequencies"], mean_=spec["mean"], std_=spec["std"])
        return {"encoding": "frequency", "column": name, "kind": kind, "options": {}, "fitted": fitted}
    fitted.update(levels_=spec["levels"], categories_=spec["categories"],
                  other_=len(outputs) > len(spec["categories"]))
    return {"encoding": "onehot", "column": name, "kind": kind,
            "options": {"min_frequency": spec["options"]["min_frequency"]}, "fitted": fitted}


def _shorten(names: list[str], shown: int = 5) -> str:
    return ", ".join(names) if len(names) <= shown + 1 else f"{', '.join(names[:shown])}, … ({len(names)} in all)"


def _plain(value):
    """A JSON-friendly Python scalar."""
    return value.item() if isinstance(value, np.generic) else value
