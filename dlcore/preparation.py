"""Engineer the data: split it, then turn every column into numbers with statistics of the training part only.

:class:`Preparation` follows scikit-learn's shape (``fit`` on the training rows, then
``transform`` any rows) and Keras' (``get_config``/``from_config`` to and from plain JSON),
so it travels with the model without pickle. Every column gets its kind's default, which
per-column ``options`` (see :data:`OPTIONS`) can change:

- numeric: impute the median, add a missing-indicator column where training values were missing,
  optionally log, then standardize (or scale to 0–1, robust-scale, or quantile-transform to a normal);
- categorical: one-hot up to ``max_categories`` levels, with rare levels grouped as ``(other)``;
  frequency encoding (each level's share of the training rows) above that;
- boolean: 0/1; datetime: year, month, quarter, week, day, weekday and season (hour when the
  times vary), optionally sin/cos cycles;
- identifier, constant, free text and columns the user excluded: left out, with the reason
  (a number inside text such as ``ppl_100`` can be extracted instead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from dlcore.errors import DataError
from dlcore.files import read_json, replacing, write_json
from dlcore.profiling import BOOLEAN_WORDS, column_kinds

KINDS = ("numeric", "boolean", "categorical", "datetime", "text", "identifier", "constant", "excluded")
MAX_CATEGORIES = 60
MIN_FREQUENCY = 0.01
N_QUANTILES = 1000
KFOLD_ROWS = 2000
MAX_MATRIX_BYTES = 2 * 1024**3
PREPARED_FILES = {"preparation": "preparation.json", "matrices": "matrices.npz"}
MATRICES = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
SPLIT_PARTS = ("train", "validation", "test")
OTHER = "(other)"
MISSING = "(missing)"
NUMBER = r"(\d+(?:\.\d+)?)"  # the first number in a text: digits, optional decimals
DATE_PARTS = ("year", "month", "quarter", "week", "day", "dayofweek", "season")
CYCLES = {"month": (1, 12), "day": (1, None), "dayofweek": (0, 7), "hour": (0, 24)}  # (first value, period)
EXCLUDED_KINDS = {
    "identifier": "identifier: unique per row, carries no pattern to learn",
    "constant": "constant: a single value carries no information",
    "text": "free text: not encoded in this version",
    "excluded": "excluded by you",
}
NUMERIC_OPTIONS = {"impute": "median", "fill_value": 0.0, "missing_indicator": True, "scale": "standardize",
                   "log": False}
OPTIONS = {
    "numeric": NUMERIC_OPTIONS,
    "categorical": {"encoding": "auto", "min_frequency": MIN_FREQUENCY, "extract_number": False},
    "datetime": {"cyclical": False},
    "text": {"extract_number": False},
    "identifier": {"extract_number": False},
}
CHOICES = {
    "impute": ("median", "mean", "mode", "constant"),
    "scale": ("standardize", "minmax", "robust", "quantile"),
    "encoding": ("auto", "onehot", "frequency"),
}
SCALE_TITLES = {"standardize": "standardize", "minmax": "scale to 0–1", "robust": "robust-scale (median, IQR)",
                "quantile": "quantile-transform to a normal"}


@dataclass
class Split:
    """Train, validation and test rows of the original table."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def split_frame(
    frame: pd.DataFrame, target: str, task: str, test_size: float = 0.2, validation_size: float = 0.1, seed: int = 42,
    order_by: str | None = None,
) -> Split:
    """Hold-out split: ``test_size`` of all rows, then ``validation_size`` of the rest.

    Shuffled and stratified for classes by default; with ``order_by`` (a date column) time-ordered
    instead: the oldest rows train, the next validate, the newest test (rows without a date train).
    """
    if len(frame) < 10:
        raise DataError(f"The data has {len(frame)} rows; at least 10 are needed to train, validate and test.")
    if order_by is not None:
        return _time_split(frame, target, order_by, test_size, validation_size)

    def cut(part: pd.DataFrame, size: float, salt: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        labels = part[target] if task != "regression" else None
        if labels is not None and (labels.value_counts().min() < 2 or labels.nunique() > size * len(part)):
            labels = None
        return train_test_split(part, test_size=size, random_state=seed + salt, stratify=labels)

    rest, test = cut(frame, test_size, 0)
    train, validation = cut(rest, validation_size, 1)
    return Split(train, validation, test)


def _time_split(frame: pd.DataFrame, target: str, order_by: str, test_size: float, validation_size: float) -> Split:
    if order_by not in frame.columns or order_by == target:
        raise DataError(f"Cannot order the rows by {order_by!r}: choose a date column other than the target.")
    dates = _parse_dates(frame[order_by]).reset_index(drop=True)
    if dates.isna().all():
        raise DataError(f"Column {order_by!r} holds no dates to order the rows by.")
    ordered = frame.iloc[dates.sort_values(na_position="first", kind="stable").index]
    n_test = math.ceil(test_size * len(frame))
    n_val = math.ceil(validation_size * (len(frame) - n_test))
    n_train = len(frame) - n_test - n_val
    return Split(ordered.iloc[:n_train], ordered.iloc[n_train:n_train + n_val], ordered.iloc[n_train + n_val:])


def suggest_kfold(n_rows: int) -> bool:
    """K-fold cross-validation pays off for small data (Chollet: a hold-out split of few rows is too noisy)."""
    return n_rows < KFOLD_ROWS


def column_options(kind: str, given: dict | None = None) -> dict:
    """A column's options: its kind's defaults updated with ``given`` (keys for other kinds are ignored)."""
    given = given or {}
    defaults = dict(OPTIONS.get(kind, {}))
    if given.get("extract_number") and "extract_number" in defaults:
        defaults.update(NUMERIC_OPTIONS)
    resolved = {key: type(default)(given.get(key, default)) for key, default in defaults.items()}
    for key, allowed in CHOICES.items():
        if key in resolved and resolved[key] not in allowed:
            raise DataError(f"Unknown {key} {resolved[key]!r}; choose one of {', '.join(allowed)}.")
    if not 0 <= resolved.get("min_frequency", 0) < 1:
        raise DataError("min_frequency is a share of the training rows, from 0 up to (not including) 1.")
    return resolved


class Preparation:
    """Per-column encoding (see the module's description), fitted on training rows only; ``seen`` keeps what the
    training rows held per input column (ranges, levels), so new rows can be checked against it."""

    def __init__(self, target: str, task: str, kinds: dict[str, str] | None = None,
                 max_categories: int = MAX_CATEGORIES, options: dict[str, dict] | None = None):
        self.target = target
        self.task = task
        self.kinds = dict(kinds) if kinds else None
        self.max_categories = max_categories
        self.options = {name: dict(opts) for name, opts in (options or {}).items()}
        self.columns: dict[str, dict] = {}
        self.seen: dict[str, dict] = {}
        self.target_encoding: dict = {}

    # -- fitting -----------------------------------------------------------------
    def fit(self, train: pd.DataFrame, classes: list | None = None) -> Preparation:
        """Learn every statistic from ``train``; ``classes`` fixes the output labels (default: those in train).

        Columns missing from ``kinds`` get the inferred kind.
        """
        given = self.kinds or {}
        unknown = sorted(set(given.values()) - set(KINDS))
        if unknown:
            raise DataError(f"Unknown column kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}.")
        inputs = [name for name in map(str, train.columns) if name != self.target]
        inferred = column_kinds(train[[name for name in inputs if name not in given]])
        self.kinds = {name: given.get(name) or inferred[name] for name in inputs}
        self.columns = {name: self._fit_column(train[name], kind, column_options(kind, self.options.get(name)))
                        for name, kind in self.kinds.items()}
        if not self.feature_names:
            raise DataError("No usable input column is left after excluding identifiers, constants, free text "
                            "and the columns you excluded.")
        self.seen = {name: _seen(self.read(train[name])) for name in self.input_columns}
        y = train[self.target]
        if self.task == "regression":
            self.target_encoding = {"mean": float(y.mean()), "std": _scale(y)}
        else:
            labels = classes if classes is not None else sorted(y.dropna().unique().tolist(), key=str)
            self.target_encoding = {"classes": [_plain(v) for v in labels]}
        return self

    def _fit_column(self, values: pd.Series, kind: str, options: dict) -> dict:
        name = str(values.name)
        if options.get("extract_number"):
            numbers = _extract_number(values)
            found = np.flatnonzero(numbers.notna())
            source = (f"the number in the text ({values.iloc[found[0]]!r} → {numbers.iloc[found[0]]:g})" if len(found)
                      else "the number in the text (none found)")
            spec = _fit_numeric(numbers, options, f"{name}_number")
            return {**spec, "kind": kind, "extract_number": True, "action": f"{source}; {spec['action']}"}
        if kind in EXCLUDED_KINDS:
            reason = EXCLUDED_KINDS[kind]
            if kind in OPTIONS and _as_text(values.dropna()).str.contains(r"\d").mean() > 0.9:
                reason += " (its values hold numbers: extract them to use them)"
            return {"kind": kind, "options": options, "action": "exclude", "reason": reason, "outputs": []}
        if kind == "numeric":
            return {"kind": kind, **_fit_numeric(_numbers(values), options, name)}
        if kind == "boolean":
            true_value = _true_value(values)
            share = float((_as_text(values).str.lower() == true_value).mean())
            action = f"1 if {true_value!r} else 0" + (f"; missing: {share:.2f}, the training share"
                                                       if values.isna().any() else "")
            return {"kind": kind, "options": options, "action": action, "true": true_value, "fill": share,
                    "outputs": [name]}
        if kind == "datetime":
            return {"kind": kind, **_fit_datetime(values, options, name)}
        return {"kind": kind, **self._fit_categorical(values, options, name)}

    def _fit_categorical(self, values: pd.Series, options: dict, name: str) -> dict:
        shares = _as_text(values).value_counts(normalize=True)
        levels = len(shares)
        encoding = options["encoding"]
        if encoding == "auto":
            encoding = "onehot" if levels <= self.max_categories else "frequency"
        if encoding == "frequency":
            encoded = _as_text(values).map(shares).astype(float)
            why = f"over {self.max_categories} levels, " if options["encoding"] == "auto" else ""
            return {"options": options, "encoding": encoding, "levels": levels,
                    "action": f"frequency: {levels:,} levels ({why}one-hot would add {levels:,} columns), "
                              "each level → its share of the training rows (unseen: 0), standardized",
                    "frequencies": {str(k): float(v) for k, v in shares.items()},
                    "mean": float(encoded.mean()), "std": _scale(encoded), "outputs": [f"{name}_frequency"]}
        kept = shares[shares >= options["min_frequency"]]
        categories = [str(c) for c in kept.index]
        grouped = levels - len(kept)
        outputs = [f"{name}={c}" for c in categories] + ([f"{name}={OTHER}"] if grouped else [])
        action = f"one-hot ({levels} levels); " + (
            f"{grouped} rare level(s) (under {options['min_frequency']:.1%} of the rows) and unseen ones as {OTHER}"
            if grouped else "unseen levels: all zeros")
        return {"options": options, "encoding": encoding, "levels": levels, "action": action,
                "categories": categories, "outputs": outputs}

    # -- transforming --------------------------------------------------------------
    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The checked float32 input matrix for ``frame`` (raw rows, same columns as in training)."""
        missing = [name for name in self.input_columns if name not in frame.columns]
        if missing:
            raise DataError(f"Missing column(s) the model needs: {', '.join(missing)}.")
        blocks = [self._transform_column(frame[name], spec) for name, spec in self.columns.items() if spec["outputs"]]
        with np.errstate(over="ignore"):  # values beyond float32 become inf, which the check names
            matrix = np.column_stack(blocks).astype(np.float32)
        self.check_matrix(matrix)
        return matrix

    def _transform_column(self, values: pd.Series, spec: dict) -> np.ndarray:
        kind = spec["kind"]
        if kind == "numeric" or spec.get("extract_number"):
            return _transform_numeric(_read(values, spec), spec)
        if kind == "boolean":
            ones = (_as_text(values).str.lower() == spec["true"]).astype(float).to_numpy()
            return np.where(values.isna().to_numpy(), spec["fill"], ones)[:, None]
        if kind == "datetime":
            return _transform_datetime(values, spec)
        text = _as_text(values)
        if spec["encoding"] == "frequency":
            shares = text.map(spec["frequencies"]).astype(float).fillna(0.0).to_numpy()
            return ((shares - spec["mean"]) / spec["std"])[:, None]
        categories = spec["categories"]
        codes = pd.Index(categories).get_indexer(text)
        matrix = np.zeros((len(values), len(spec["outputs"])))
        known = codes >= 0
        matrix[np.flatnonzero(known), codes[known]] = 1.0
        if len(spec["outputs"]) > len(categories):
            matrix[~known, -1] = 1.0
        return matrix

    def read(self, values: pd.Series) -> pd.Series:
        """An input column as the model reads it: numbers, dates (UTC), or text levels (lower-case for
        booleans); missing where a value is absent or is not of the column's type."""
        return _read(values, self.columns[str(values.name)])

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
        return [name for name, spec in self.columns.items() if spec["outputs"]]

    @property
    def feature_names(self) -> list[str]:
        return [out for spec in self.columns.values() for out in spec["outputs"]]

    def plan(self) -> pd.DataFrame:
        """What is done to every column: column → kind → transformation → output width and names."""
        rows = [{"column": name, "kind": spec["kind"], "transformation": spec.get("reason") or spec["action"],
                 "outputs": len(spec["outputs"]), "output columns": _shorten(spec["outputs"])}
                for name, spec in self.columns.items()]
        return pd.DataFrame(rows, columns=["column", "kind", "transformation", "outputs", "output columns"])

    def footprint(self, rows: int) -> pd.DataFrame:
        """Output width and float32 memory per column: bytes per row and bytes for ``rows`` rows."""
        widths = [len(spec["outputs"]) for spec in self.columns.values()]
        per_row = [4 * width for width in widths]
        return pd.DataFrame({"column": list(self.columns), "outputs": widths, "bytes per row": per_row,
                             "bytes": [rows * size for size in per_row]})

    def get_config(self) -> dict:
        return {"target": self.target, "task": self.task, "kinds": self.kinds, "max_categories": self.max_categories,
                "options": self.options, "columns": self.columns, "seen": self.seen,
                "target_encoding": self.target_encoding}

    @classmethod
    def from_config(cls, config: dict) -> Preparation:
        prep = cls(config["target"], config["task"], config["kinds"], config["max_categories"], config["options"])
        prep.columns = config["columns"]
        prep.seen = config.get("seen", {})  # absent from bundles written before schema checks
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

    def save(self, folder: str | Path) -> None:
        """Write it into ``folder`` for a worker process: the preparation as JSON, the matrices as ``.npz`` (no
        pickle) and the split's raw rows as Parquet; each file atomically."""
        folder = Path(folder)
        write_json(folder / PREPARED_FILES["preparation"], self.preparation.get_config())
        with replacing(folder / PREPARED_FILES["matrices"]) as temporary:
            np.savez(temporary, **{name: getattr(self, name) for name in MATRICES})
        for part in SPLIT_PARTS:
            with replacing(folder / f"{part}.parquet") as temporary:
                _storable(getattr(self.split, part)).to_parquet(temporary, index=False)

    @classmethod
    def load(cls, folder: str | Path) -> PreparedData:
        """What :meth:`save` wrote; arrays are read with ``allow_pickle=False``."""
        folder = Path(folder)
        preparation = Preparation.from_config(read_json(folder / PREPARED_FILES["preparation"]))
        with np.load(folder / PREPARED_FILES["matrices"], allow_pickle=False) as arrays:
            matrices = {name: arrays[name] for name in MATRICES}
        split = Split(*(pd.read_parquet(folder / f"{part}.parquet") for part in SPLIT_PARTS))
        return cls(split, preparation, **matrices)


def prepare(
    frame: pd.DataFrame, target: str, task: str, seed: int = 42, test_size: float = 0.2,
    validation_size: float = 0.1, kinds: dict[str, str] | None = None, options: dict[str, dict] | None = None,
    order_by: str | None = None,
) -> PreparedData:
    """Split ``frame`` (time-ordered by ``order_by`` if given) and fit a :class:`Preparation` on its training rows."""
    split = split_frame(frame, target, task, test_size, validation_size, seed, order_by)
    prep = Preparation(target, task, kinds, options=options).fit(split.train, classes=_classes(frame, target, task))
    return _build(split, prep)


def prepare_folds(
    frame: pd.DataFrame, target: str, task: str, k: int = 5, seed: int = 42,
    kinds: dict[str, str] | None = None, options: dict[str, dict] | None = None,
) -> list[PreparedData]:
    """K-fold cross-validation: ``k`` shuffled (stratified for classes) folds, each with its own Preparation.

    Fold i trains on the other folds and holds out fold i as both its validation and its test part,
    so every row is scored exactly once by a model that never trained on it. As in Chollet's K-fold,
    the average of the folds' scores is a validation score for choosing a model (early stopping sees
    the held-out fold), not an untouched test score.
    """
    if not 2 <= k <= len(frame) // 2 or len(frame) < 10:
        raise DataError(f"K-fold needs at least 10 rows and 2 ≤ k ≤ rows/2; got k={k} for {len(frame)} rows.")
    labels = frame[target].astype(str) if task != "regression" else None
    stratify = labels is not None and labels.value_counts().min() >= k
    splitter = StratifiedKFold(k, shuffle=True, random_state=seed) if stratify else KFold(k, shuffle=True,
                                                                                          random_state=seed)
    classes = _classes(frame, target, task)
    folds = []
    for train_rows, held_rows in splitter.split(frame, labels if stratify else None):
        train, held = frame.iloc[train_rows], frame.iloc[held_rows]
        prep = Preparation(target, task, kinds, options=options).fit(train, classes=classes)
        folds.append(_build(Split(train, held, held), prep))
    return folds


def _build(split: Split, prep: Preparation) -> PreparedData:
    """The matrices of a split, refused before they are built if they would not fit in memory."""
    rows = len(split.train) + len(split.validation) + len(split.test)
    footprint = prep.footprint(rows).sort_values("bytes", ascending=False)
    needed = int(footprint["bytes"].sum())
    if needed > MAX_MATRIX_BYTES:
        widest = ", ".join(f"{r.column} ({r.outputs:,} columns)" for r in footprint.head(3).itertuples())
        raise DataError(f"The prepared data would take {needed / 2**30:.1f} GB ({len(prep.feature_names):,} columns × "
                        f"{rows:,} rows). The widest columns are {widest}: use frequency encoding or exclude them.")
    target = prep.target
    return PreparedData(
        split, prep,
        prep.transform(split.train), prep.encode_target(split.train[target]),
        prep.transform(split.validation), prep.encode_target(split.validation[target]),
        prep.transform(split.test), prep.encode_target(split.test[target]),
    )


def _classes(frame: pd.DataFrame, target: str, task: str) -> list | None:
    return None if task == "regression" else sorted(frame[target].dropna().unique().tolist(), key=str)


# -- numeric ---------------------------------------------------------------------------------------------------
def _fit_numeric(numbers: pd.Series, options: dict, name: str) -> dict:
    method = options["impute"]
    present = numbers.dropna()
    if method == "constant" or present.empty:
        fill = options["fill_value"]
    else:
        fill = float({"median": present.median, "mean": present.mean, "mode": lambda: present.mode().iloc[0]}[method]())
    values = numbers.fillna(fill).to_numpy(dtype=float)
    if options["log"]:
        values = _log(values)
    scale = options["scale"]
    indicator = bool(options["missing_indicator"] and numbers.isna().any())
    steps = [f"impute {method} ({fill:.4g})"] + (["log"] if options["log"] else []) + [SCALE_TITLES[scale]]
    if indicator:
        steps.append("missing-indicator column")
    action = ", ".join(steps)
    if not options["log"] and len(present) > 2 and present.min() >= 0 and present.skew() > 2:
        action += " (skewed: a log transform may help)"
    return {"options": options, "action": action, "fill": fill, "scaler": _fit_scaler(values, scale),
            "outputs": [name] + ([f"{name}_missing"] if indicator else [])}


def _fit_scaler(values: np.ndarray, method: str) -> dict:
    if method == "standardize":
        return {"mean": float(values.mean()), "std": _scale(pd.Series(values))}
    if method == "minmax":
        low, high = float(values.min()), float(values.max())
        return {"min": low, "range": high - low if high > low else 1.0}
    if method == "robust":
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        return {"median": float(median), "iqr": float(q3 - q1) if q3 > q1 else 1.0}
    references = np.linspace(0.0, 100.0, min(N_QUANTILES, len(values)))
    return {"quantiles": np.maximum.accumulate(np.percentile(values, references)).tolist()}


def _transform_numeric(numbers: pd.Series, spec: dict) -> np.ndarray:
    values = numbers.fillna(spec["fill"]).to_numpy(dtype=float)
    if spec["options"]["log"]:
        values = _log(values)
    stats = spec["scaler"]
    method = spec["options"]["scale"]
    if method == "standardize":
        scaled = (values - stats["mean"]) / stats["std"]
    elif method == "minmax":
        scaled = (values - stats["min"]) / stats["range"]
    elif method == "robust":
        scaled = (values - stats["median"]) / stats["iqr"]
    else:
        scaled = _quantile_normal(values, np.asarray(stats["quantiles"]))
    if len(spec["outputs"]) == 2:
        return np.column_stack([scaled, numbers.isna().to_numpy(dtype=float)])
    return scaled[:, None]


def _quantile_normal(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Rank against the training quantiles, then take the normal's quantile (as scikit-learn's QuantileTransformer)."""
    if len(quantiles) == 1:
        return np.zeros_like(values)
    refs = np.linspace(0.0, 1.0, len(quantiles))
    ranks = 0.5 * (np.interp(values, quantiles, refs) - np.interp(-values, -quantiles[::-1], -refs[::-1]))
    bound = -ndtri(1e-7)
    return np.clip(ndtri(ranks), -bound, bound)


def _log(values: np.ndarray) -> np.ndarray:
    """sign(x)·log(1 + |x|): log1p for the skewed positives it is meant for, and defined for any number."""
    return np.sign(values) * np.log1p(np.abs(values))


def _numbers(values: pd.Series) -> pd.Series:
    """A column as floats; text such as ``3,449`` (thousands separators) reads as a number, other text as missing."""
    if not pd.api.types.is_numeric_dtype(values):
        values = values.astype("string").str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(values, errors="coerce").astype(float)


def _extract_number(values: pd.Series) -> pd.Series:
    """The first number in each value's text ('ppl_100' → 100), NaN where there is none."""
    return pd.to_numeric(_as_text(values).str.extract(NUMBER, expand=False), errors="coerce")


# -- datetime ---------------------------------------------------------------------------------------------------
def _fit_datetime(values: pd.Series, options: dict, name: str) -> dict:
    parts = _date_parts(values)
    names = list(DATE_PARTS) + (["hour"] if (parts["hour"].fillna(0) != 0).any() else [])
    stats = {p: [_mean(parts[p]), _scale(parts[p])] for p in names}
    cycles = [p for p in CYCLES if p in names] if options["cyclical"] else []
    action = f"date parts ({', '.join(names)}), standardized"
    if cycles:
        action += f"; sin/cos cycles of {', '.join(cycles)}"
    outputs = [f"{name}_{p}" for p in names] + [f"{name}_{p}_{f}" for p in cycles for f in ("sin", "cos")]
    return {"options": options, "action": action, "parts": stats, "cycles": cycles, "outputs": outputs}


def _transform_datetime(values: pd.Series, spec: dict) -> np.ndarray:
    parts = _date_parts(values)
    blocks = [(parts[p].fillna(mean) - mean).to_numpy(dtype=float)[:, None] / std
              for p, (mean, std) in spec["parts"].items()]
    for part in spec["cycles"]:
        first, period = CYCLES[part]
        angle = 2 * np.pi * (parts[part] - first).to_numpy(dtype=float) / (period or parts["days_in_month"].to_numpy())
        blocks.append(np.nan_to_num(np.column_stack([np.sin(angle), np.cos(angle)])))  # no date: the circle's centre
    return np.column_stack(blocks)


def _parse_dates(values: pd.Series) -> pd.Series:
    """Datetimes (UTC for text), NaT where a value is not a date; the common format first, then value by value."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string")
    dates = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    failed = dates.isna() & text.notna()
    if failed.any():
        dates[failed] = pd.to_datetime(text[failed], errors="coerce", utc=True, format="mixed")
    return dates


def _date_parts(values: pd.Series) -> pd.DataFrame:
    """Calendar parts as floats; season is meteorological (0 winter: Dec–Feb … 3 autumn, northern hemisphere)."""
    dates = _parse_dates(values).dt
    parts = {"year": dates.year, "month": dates.month, "quarter": dates.quarter, "week": dates.isocalendar().week,
             "day": dates.day, "dayofweek": dates.day_of_week, "season": dates.month % 12 // 3, "hour": dates.hour,
             "days_in_month": dates.days_in_month}
    return pd.DataFrame({p: v.to_numpy(dtype=float, na_value=np.nan) for p, v in parts.items()}, index=values.index)


# -- reading values -------------------------------------------------------------------------------------------------
def _read(values: pd.Series, spec: dict) -> pd.Series:
    if spec["kind"] == "numeric" or spec.get("extract_number"):
        return (_extract_number(values) if spec.get("extract_number") else _numbers(values)).astype(float)
    if spec["kind"] == "datetime":
        dates = _parse_dates(values)
        return dates.dt.tz_convert(None) if dates.dt.tz is not None else dates
    text = _as_text(values).where(values.notna())
    return text.str.lower() if spec["kind"] == "boolean" else text


def _seen(values: pd.Series) -> dict:
    """What training rows held (see :meth:`Preparation.read`): the range and median of numbers or dates,
    else the levels, most frequent first."""
    present = values.dropna()
    if pd.api.types.is_datetime64_any_dtype(values):
        return {"type": "date", **{stat: present.agg(stat).isoformat() if len(present) else None
                                   for stat in ("min", "median", "max")}}
    if pd.api.types.is_numeric_dtype(values):
        return {"type": "number", **{stat: float(present.agg(stat)) if len(present) else None
                                     for stat in ("min", "median", "max")}}
    return {"type": "level", "levels": present.value_counts().index.tolist()}


# -- small helpers ------------------------------------------------------------------------------------------------
def _as_text(values: pd.Series) -> pd.Series:
    """Values as comparable strings (1, 1.0 and "1" alike), with missing values as their own level."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.map(lambda v: str(int(v)) if float(v).is_integer() else repr(float(v)), na_action="ignore")
    return values.astype("string").fillna(MISSING).astype(str)


def _true_value(values: pd.Series) -> str:
    """The lower-cased level that encodes as 1: 'yes'/'true'/… for word pairs, else the larger level."""
    levels = set(_as_text(values.dropna()).str.lower())
    return BOOLEAN_WORDS.get(frozenset(levels)) or max(levels, default="")


def _mean(values: pd.Series) -> float:
    mean = float(values.mean())
    return mean if np.isfinite(mean) else 0.0


def _scale(values: pd.Series) -> float:
    """The standard deviation to divide by: 1 where it is zero or undefined, so nothing becomes NaN."""
    std = float(values.std(ddof=0))
    return std if np.isfinite(std) and std > 0 else 1.0


def _shorten(names: list[str], shown: int = 5) -> str:
    return ", ".join(names) if len(names) <= shown + 1 else f"{', '.join(names[:shown])}, … ({len(names)} in all)"


def _plain(value):
    """A JSON-friendly Python scalar."""
    return value.item() if isinstance(value, np.generic) else value


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its mixed-type (object) columns as text, so Parquet can store it."""
    mixed = [name for name in frame.columns if pd.api.types.is_object_dtype(frame[name])]
    return frame.astype({name: "string" for name in mixed}) if mixed else frame
