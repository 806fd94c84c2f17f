"""Engineer the data: split it, then encode and standardize with statistics of the training split only.

:class:`Preparation` follows scikit-learn's shape (``fit`` on the training rows, then
``transform`` any rows) and Keras' (``get_config``/``from_config`` to and from plain JSON),
so it travels with the model without pickle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from dlcore.errors import DataError
from dlcore.profiling import BOOLEAN_WORDS, column_kinds

MAX_CATEGORIES = 30
OTHER = "(other)"
MISSING = "(missing)"
DATE_PARTS = ("year", "month", "day", "dayofweek")
EXCLUDED_KINDS = {
    "identifier": "identifier: unique per row, carries no pattern to learn",
    "constant": "constant: a single value carries no information",
    "text": "free text: not encoded in this version",
}


@dataclass
class Split:
    """Train, validation and test rows of the original table."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def split_frame(
    frame: pd.DataFrame, target: str, task: str, test_size: float = 0.2, validation_size: float = 0.1, seed: int = 42
) -> Split:
    """Shuffled hold-out split: ``test_size`` of all rows, then ``validation_size`` of the rest (stratified for classes)."""
    if len(frame) < 10:
        raise DataError(f"The data has {len(frame)} rows; at least 10 are needed to train, validate and test.")

    def cut(part: pd.DataFrame, size: float, salt: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        labels = part[target] if task != "regression" else None
        if labels is not None and (labels.value_counts().min() < 2 or labels.nunique() > size * len(part)):
            labels = None
        return train_test_split(part, test_size=size, random_state=seed + salt, stratify=labels)

    rest, test = cut(frame, test_size, 0)
    train, validation = cut(rest, validation_size, 1)
    return Split(train, validation, test)


class Preparation:
    """Per-column encoding (one-hot, 0/1, date parts) and standardization, fitted on training rows only."""

    def __init__(self, target: str, task: str, kinds: dict[str, str] | None = None, max_categories: int = MAX_CATEGORIES):
        self.target = target
        self.task = task
        self.kinds = dict(kinds) if kinds else None
        self.max_categories = max_categories
        self.columns: dict[str, dict] = {}
        self.target_encoding: dict = {}

    # -- fitting -----------------------------------------------------------------
    def fit(self, train: pd.DataFrame, classes: list | None = None) -> Preparation:
        """Learn every statistic from ``train``; ``classes`` fixes the output labels (default: those in train)."""
        kinds = self.kinds or column_kinds(train)
        self.kinds = {name: kinds.get(name, "categorical") for name in map(str, train.columns) if name != self.target}
        self.columns = {name: self._fit_column(train[name], kind) for name, kind in self.kinds.items()}
        if not self.feature_names:
            raise DataError("No usable input column is left after excluding identifiers and constants.")
        y = train[self.target]
        if self.task == "regression":
            self.target_encoding = {"mean": float(y.mean()), "std": _scale(y)}
        else:
            labels = classes if classes is not None else sorted(y.dropna().unique().tolist(), key=str)
            self.target_encoding = {"classes": [_plain(v) for v in labels]}
        return self

    def _fit_column(self, values: pd.Series, kind: str) -> dict:
        if kind in EXCLUDED_KINDS:
            return {"kind": kind, "action": "exclude", "reason": EXCLUDED_KINDS[kind], "outputs": []}
        name = str(values.name)
        if kind == "numeric":
            numbers = pd.to_numeric(values, errors="coerce")
            median = float(numbers.median()) if numbers.notna().any() else 0.0
            filled = numbers.fillna(median)
            return {"kind": kind, "action": "impute median, standardize", "median": median,
                    "mean": float(filled.mean()), "std": _scale(filled), "outputs": [name]}
        if kind == "boolean":
            true_value = _true_value(values)
            share = float((_as_text(values).str.lower() == true_value).mean())
            return {"kind": kind, "action": f"1 if {true_value!r} else 0", "true": true_value,
                    "fill": share, "outputs": [name]}
        if kind == "datetime":
            parts = _date_parts(values)
            stats = {p: [float(parts[p].mean()), _scale(parts[p])] for p in DATE_PARTS}
            return {"kind": kind, "action": "date parts (year, month, day, weekday), standardize", "parts": stats,
                    "outputs": [f"{name}_{p}" for p in DATE_PARTS]}
        counts = _as_text(values).value_counts()
        categories = [str(c) for c in counts.index[: self.max_categories]]
        outputs = [f"{name}={c}" for c in categories]
        action = "one-hot"
        if len(counts) > len(categories):
            outputs.append(f"{name}={OTHER}")
            action = f"one-hot of the {len(categories)} most frequent levels, the rest as {OTHER}"
        return {"kind": "categorical", "action": action, "categories": categories, "outputs": outputs}

    # -- transforming --------------------------------------------------------------
    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The float32 input matrix for ``frame`` (raw rows, same columns as in training)."""
        missing = [name for name in self.input_columns if name not in frame.columns]
        if missing:
            raise DataError(f"Missing column(s) the model needs: {', '.join(missing)}.")
        blocks = [self._transform_column(frame[name], spec) for name, spec in self.columns.items() if spec["outputs"]]
        matrix = np.column_stack(blocks).astype(np.float32)
        return np.nan_to_num(matrix, nan=0.0, posinf=0.0, neginf=0.0)

    def _transform_column(self, values: pd.Series, spec: dict) -> np.ndarray:
        kind = spec["kind"]
        if kind == "numeric":
            numbers = pd.to_numeric(values, errors="coerce").fillna(spec["median"]).to_numpy(dtype=float)
            return ((numbers - spec["mean"]) / spec["std"])[:, None]
        if kind == "boolean":
            ones = (_as_text(values).str.lower() == spec["true"]).astype(float).to_numpy()
            return np.where(values.isna().to_numpy(), spec["fill"], ones)[:, None]
        if kind == "datetime":
            parts = _date_parts(values)
            return np.column_stack([(parts[p].fillna(mean) - mean).to_numpy(dtype=float) / std
                                    for p, (mean, std) in spec["parts"].items()])
        text = _as_text(values)
        categories = spec["categories"]
        onehot = pd.Categorical(text, categories=categories)
        codes = onehot.codes
        width = len(spec["outputs"])
        matrix = np.zeros((len(values), width))
        known = codes >= 0
        matrix[np.flatnonzero(known), codes[known]] = 1.0
        if width > len(categories):
            matrix[~known, -1] = 1.0
        return matrix

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
        return [name for name, spec in self.columns.items() if spec["outputs"]]

    @property
    def feature_names(self) -> list[str]:
        return [out for spec in self.columns.values() for out in spec["outputs"]]

    def plan(self) -> pd.DataFrame:
        """What was done to every column: column → kind → transformation → output columns."""
        rows = [{"column": name, "kind": spec["kind"], "transformation": spec.get("reason") or spec["action"],
                 "outputs": len(spec["outputs"])} for name, spec in self.columns.items()]
        return pd.DataFrame(rows, columns=["column", "kind", "transformation", "outputs"])

    def get_config(self) -> dict:
        return {"target": self.target, "task": self.task, "kinds": self.kinds, "max_categories": self.max_categories,
                "columns": self.columns, "target_encoding": self.target_encoding}

    @classmethod
    def from_config(cls, config: dict) -> Preparation:
        prep = cls(config["target"], config["task"], config["kinds"], config["max_categories"])
        prep.columns = config["columns"]
        prep.target_encoding = config["target_encoding"]
        return prep


@dataclass
class PreparedData:
    """A split table, the preparation fitted on its training rows, and the matrices for the network."""

    split: Split
    preparation: Preparation
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def task(self) -> str:
        return self.preparation.task


def prepare(
    frame: pd.DataFrame, target: str, task: str, seed: int = 42, test_size: float = 0.2,
    validation_size: float = 0.1, kinds: dict[str, str] | None = None,
) -> PreparedData:
    """Split ``frame`` and fit a :class:`Preparation` on its training rows (the app's and CLI's defaults)."""
    split = split_frame(frame, target, task, test_size, validation_size, seed)
    classes = None if task == "regression" else sorted(frame[target].dropna().unique().tolist(), key=str)
    prep = Preparation(target, task, kinds).fit(split.train, classes=classes)
    return PreparedData(
        split, prep,
        prep.transform(split.train), prep.encode_target(split.train[target]),
        prep.transform(split.validation), prep.encode_target(split.validation[target]),
        prep.transform(split.test), prep.encode_target(split.test[target]),
    )


def _as_text(values: pd.Series) -> pd.Series:
    """Values as comparable strings (1, 1.0 and "1" alike), with missing values as their own level."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.map(lambda v: str(int(v)) if float(v).is_integer() else repr(float(v)), na_action="ignore")
    return values.astype("string").fillna(MISSING).astype(str)


def _true_value(values: pd.Series) -> str:
    """The lower-cased level that encodes as 1: 'yes'/'true'/… for word pairs, else the larger level."""
    levels = set(_as_text(values.dropna()).str.lower())
    return BOOLEAN_WORDS.get(frozenset(levels)) or max(levels)


def _date_parts(values: pd.Series) -> pd.DataFrame:
    dates = pd.to_datetime(values, errors="coerce", format="mixed") if not pd.api.types.is_datetime64_any_dtype(values) else values
    return pd.DataFrame({"year": dates.dt.year, "month": dates.dt.month, "day": dates.dt.day,
                         "dayofweek": dates.dt.dayofweek}, dtype=float)


def _scale(values: pd.Series) -> float:
    """The standard deviation to divide by: 1 where it is zero or undefined, so nothing becomes NaN."""
    std = float(values.std(ddof=0))
    return std if np.isfinite(std) and std > 0 else 1.0


def _plain(value):
    """A JSON-friendly Python scalar."""
    return value.item() if isinstance(value, np.generic) else value
