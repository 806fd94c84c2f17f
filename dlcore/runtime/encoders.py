"""One class per encoding: how one raw column becomes some of the network's input columns.

Every encoder has scikit-learn's shape: options go to the constructor, :meth:`Encoder.fit` learns its state from
the training rows only (attributes ending in ``_``), :meth:`Encoder.transform` turns any rows into a float matrix
with one column per name in ``features_``; and Keras' ``get_config``/:func:`from_config`, to and from plain JSON,
so a fitted encoder travels with the model without pickle. :meth:`Encoder.read` gives the column as the encoder
reads it (numbers, dates or levels), ``seen_`` what the training rows held, ``unseen`` how a value never seen in
training is handled, and :meth:`Encoder.describe` a line for the Prepare page.

:data:`ENCODERS` is the registry, encoding name → class, in order of preference; :func:`fit_encoder` is the only
place that chooses an encoder for a column's kind ("auto": the first registered for the kind whose ``suits``
accepts the training values). A new encoding is a new class here, registered with :func:`register`, declaring its
fitted attributes' checks in ``fitted``: :func:`from_config` reads a config from a file (a bundle may come from anyone)
only after checking them, with bounded lengths (:data:`MAX_LEVELS`, :data:`MAX_FEATURES`), and refuses anything else
with :class:`InvalidConfig`, which names the column and what is wrong.

Hand-written, and why: each transform is a few lines of arithmetic on statistics stored as numbers (medians,
scales, level lists, quantiles), because scikit-learn's fitted transformers can only be saved by pickling them,
which a bundle must never need. The quantile-to-normal mapping follows scikit-learn's ``QuantileTransformer``;
piecewise-linear encoding has no scikit-learn or Keras counterpart (``KBinsDiscretizer`` only gives bin indicators).
This module imports nothing of dlcore but its errors: it is part of the model bundle's runtime.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtri

from dlcore.runtime.errors import DataError

KINDS = ("numeric", "boolean", "categorical", "datetime", "text", "identifier", "constant", "excluded")
AUTO = "auto"
MAX_ONEHOT_LEVELS = 50  # more levels than this: a learned embedding by default (and Explore's alert)
MIN_FREQUENCY = 0.01
SKEWED = 2.0  # |skewness| above this: a skewed column (a log transform helps the positive, right-skewed ones)
N_QUANTILES = 1000
OTHER = "(other)"
MISSING = "(missing)"
NUMBER = r"(\d+(?:\.\d+)?)"  # the first number in a text: digits, optional decimals
BOOLEAN_WORDS = {
    frozenset({"yes", "no"}): "yes",
    frozenset({"true", "false"}): "true",
    frozenset({"y", "n"}): "y",
    frozenset({"t", "f"}): "t",
}
DATE_PARTS = ("year", "month", "quarter", "week", "day", "dayofweek", "season")
CYCLES = {"month": (1, 12), "day": (1, None), "dayofweek": (0, 7), "hour": (0, 24)}  # (first value, period)
SCALE_TITLES = {"standardize": "standardize", "minmax": "scale to 0–1", "robust": "robust-scale (median, IQR)",
                "robust_clip": "robust-scale, then soft-clip outliers", "quantile": "quantile-transform to a normal"}
NUMBER_FEATURE, FLAG_FEATURE, CATEGORY_FEATURE = "number", "flag", "category"
CLIP_BOUND = 3.0  # robust scaling's soft clip: values approach ±3 (robust standard deviations)
# Bounds on a fitted encoder read from a file (a bundle may come from anyone): far above what training makes, low
# enough that a tampered file cannot make the app allocate absurd memory.
MAX_LEVELS = 1_000_000  # levels one column may list (categories_, frequencies_, the levels in seen_)
MAX_FEATURES = 100_000  # network inputs one column may make (features_); dlcore.runtime.preparation bounds their total
ENCODERS: dict[str, type[Encoder]] = {}


# -- what a fitted encoder read from a file must hold ---------------------------------------------------------------
class InvalidConfig(DataError):
    """A preparation read from a file that is not what :meth:`Encoder.get_config` writes; ``detail`` says what."""

    def __init__(self, detail: str):
        super().__init__(f"The preparation is not valid: {detail}.")
        self.detail = detail


def what_is(value) -> str:
    """How a refusal names a JSON value's type: "null", "NaN", "a text", "a list", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, float) and not np.isfinite(value):
        return "NaN" if np.isnan(value) else "infinite"
    return {str: "a text", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def is_number(value, finite: bool = True) -> bool:
    """A JSON number (not true/false); ``finite``: not NaN or infinite, else only not NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return bool(np.isfinite(value)) if finite else not (isinstance(value, float) and np.isnan(value))


def text(value) -> str | None:
    """A check (as every fitted attribute declares one): None when ``value`` is valid, else what is wrong."""
    return None if isinstance(value, str) else f"{what_is(value)}, not a text"


def flag(value) -> str | None:
    return None if isinstance(value, bool) else f"{what_is(value)}, not true/false"


def number(value) -> str | None:
    return None if is_number(value) else f"{what_is(value)}, not a finite number"


def an_object(value) -> str | None:
    return None if isinstance(value, dict) else f"{what_is(value)}, not an object"


def count(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LEVELS:
        return f"{what_is(value) if not isinstance(value, int) else value}, not a count from 0 to {MAX_LEVELS:,}"
    return None


def texts(limit: int):
    """A check: a list of at most ``limit`` texts."""
    def check(value) -> str | None:
        return _listed(value, limit, text)
    return check


def numbers(least: int, limit: int, increasing: bool = False, strictly: bool = False):
    """A check: a list of ``least`` to ``limit`` finite numbers, optionally (strictly) increasing."""
    def check(value) -> str | None:
        if problem := _listed(value, limit, number, least):
            return problem
        steps = np.diff(np.asarray(value, dtype=float))
        if (strictly and (steps <= 0).any()) or (increasing and (steps < 0).any()):
            return "a list of numbers that does not increase"
        return None
    return check


def shares(value) -> str | None:
    """Level → its share of the training rows (a finite number from 0 to 1), at most :data:`MAX_LEVELS` levels."""
    if not isinstance(value, dict):
        return f"{what_is(value)}, not an object of levels"
    if len(value) > MAX_LEVELS:
        return f"{len(value):,} levels, more than the {MAX_LEVELS:,} allowed"
    bad = next((level for level, share in value.items() if not is_number(share) or not 0 <= share <= 1), None)
    return None if bad is None else f"the share of level {bad!r} is {what_is(value[bad])}, not a number from 0 to 1"


def seen(value) -> str | None:
    """What the training rows held (:meth:`Encoder._seen`): nothing (a left-out column), levels, or the range and
    median of numbers (not NaN) or dates (ISO texts), each of which may be null."""
    if not isinstance(value, dict):
        return f"{what_is(value)}, not an object"
    if not value:
        return None
    kind = value.get("type")
    if kind == "level":
        if set(value) != {"type", "levels"}:
            return "levels seen in training without their list, or with other entries"
        return _listed(value["levels"], MAX_LEVELS, text)
    if kind not in ("number", "date") or set(value) != {"type", "min", "median", "max"}:
        return "not the levels, or the min, median and max, of the training values"
    for stat in ("min", "median", "max"):
        found = value[stat]
        if found is None:
            continue
        if kind == "number" and not is_number(found, finite=False):
            return f"its {stat} is {what_is(found)}, not a number"
        if kind == "date":
            if not isinstance(found, str):
                return f"its {stat} is {what_is(found)}, not a date"
            try:
                pd.Timestamp(found)
            except (ValueError, TypeError, OverflowError):
                return f"its {stat} {found[:40]!r} is not a date"
    return None


def _listed(value, limit: int, check, least: int = 0) -> str | None:
    if not isinstance(value, list):
        return f"{what_is(value)}, not a list"
    if not least <= len(value) <= limit:
        return f"a list of {len(value):,} items, not {least:,} to {limit:,}"
    for i, item in enumerate(value):
        if problem := check(item):
            return f"a list whose item {i + 1} is {problem}"
    return None


def _option_problem(value, default) -> str | None:
    """An option read from a file must have its default's type (a whole number for an int, any finite number for a
    float)."""
    if isinstance(default, bool):
        return flag(value)
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else f"{what_is(value)}, not a whole number"
    if isinstance(default, float):
        return number(value)
    return text(value)


def register(cls: type[Encoder]) -> type[Encoder]:
    """Add an encoder class to :data:`ENCODERS` under its ``name``."""
    ENCODERS[cls.name] = cls
    return cls


def encodings(kind: str) -> list[str]:
    """The encodings of a column kind, the default first."""
    return [name for name, cls in ENCODERS.items() if kind in cls.kinds]


def fit_encoder(values: pd.Series, kind: str, options: dict | None = None) -> Encoder:
    """The encoder for a column of ``kind`` with its ``options`` (``encoding`` names one of :func:`encodings`, or
    "auto"; the other options are the encoder's own, and options of other encodings are ignored), fitted on the
    training ``values``."""
    if kind not in KINDS:
        raise DataError(f"Unknown column kind {kind!r}; choose from {', '.join(KINDS)}.")
    options = dict(options or {})
    name = options.pop("encoding", AUTO)
    allowed = encodings(kind)
    if name == AUTO:
        cls = next(ENCODERS[n] for n in allowed if ENCODERS[n].suits(values))
    elif name in allowed:
        cls = ENCODERS[name]
    else:
        raise DataError(f"Unknown encoding {name!r} for a {kind} column; choose one of {', '.join([AUTO, *allowed])}.")
    chosen = {key: value for key, value in options.items() if key in cls.defaults}
    return cls(str(values.name), kind, **chosen).fit(values)


def from_config(config: dict) -> Encoder:
    """A fitted encoder from :meth:`Encoder.get_config`'s JSON, checked first: the encoding is known, each option
    has its default's type, and every fitted attribute the class declares (:attr:`Encoder.fitted`) is there, of its
    type and within its bounds, and they agree with each other (:meth:`Encoder.check_fitted`). Anything else raises
    :class:`InvalidConfig`, which names the column and what is wrong."""
    if not isinstance(config, dict):
        raise InvalidConfig(f"a column is {what_is(config)}, not an object")
    column = config.get("column")
    if not isinstance(column, str):
        raise InvalidConfig(f"a column's name is {what_is(column)}, not a text")
    where = f"column {column[:100]!r}"
    name = config.get("encoding")
    if not isinstance(name, str) or name not in ENCODERS:
        raise InvalidConfig(f"Unknown encoding {name!r} for {where} (known: {', '.join(ENCODERS)})"
                            if isinstance(name, str) else f"{where}: its encoding is {what_is(name)}, not a text")
    cls = ENCODERS[name]
    kind = config.get("kind", "")
    if kind not in ("", *KINDS):
        raise InvalidConfig(f"{where} has the unknown kind {kind!r}" if isinstance(kind, str)
                            else f"{where}: its kind is {what_is(kind)}, not a text")
    options, fitted = config.get("options"), config.get("fitted")
    for part, value in (("options", options), ("fitted values", fitted)):
        if not isinstance(value, dict):
            raise InvalidConfig(f"{where}: its {part} are {what_is(value)}, not an object")
    for key, value in options.items():
        if key not in cls.defaults:
            raise InvalidConfig(f"{where}: {name} has no option {key!r}")
        if problem := _option_problem(value, cls.defaults[key]):
            raise InvalidConfig(f"{where}: option {key!r} is {problem}")
    unexpected = [key for key in fitted if key not in cls.fitted]
    missing = [key for key in cls.fitted if key not in fitted]
    if unexpected or missing:
        raise InvalidConfig(f"Unexpected fitted value {unexpected[0]!r} for {where} ({name} has no such value)"
                            if unexpected else f"{where}: {name} lacks its fitted value {missing[0]!r}")
    for key, check in cls.fitted.items():
        if problem := check(fitted[key]):
            raise InvalidConfig(f"{where}: fitted value {key!r} is {problem}")
    try:
        encoder = cls(column, kind, **options)
    except DataError as exc:
        raise InvalidConfig(f"{where}: {str(exc).rstrip('.')}") from exc
    for key, value in fitted.items():
        setattr(encoder, key, value)
    if problem := encoder.check_fitted():
        raise InvalidConfig(f"{where}: {problem}")
    return encoder


def choice_title(value: str) -> str:
    """How the Prepare page shows an option's value: an encoding's or a scaling's title."""
    if value in ENCODERS:
        return ENCODERS[value].title
    return {AUTO: "auto", **SCALE_TITLES}.get(value, str(value))


def log_helps(skew: float, minimum: float) -> bool:
    """A log transform evens out a right-skewed column of values that are not negative."""
    return minimum >= 0 and skew > SKEWED


class Encoder:
    """The base of every encoding; subclasses set the class attributes and the four methods."""

    name: ClassVar[str]
    title: ClassVar[str]  # what the Prepare page calls it
    kinds: ClassVar[tuple[str, ...]]  # the column kinds it encodes
    defaults: ClassVar[dict] = {}  # option → default
    choices: ClassVar[dict[str, tuple]] = {}  # option → allowed values
    unseen: ClassVar[str] = "unknown"  # how a value never seen in training is handled
    # fitted attribute → its check (None when valid, else what is wrong), as :func:`from_config` reads them
    fitted: ClassVar[dict] = {"features_": texts(MAX_FEATURES), "seen_": seen}
    width: ClassVar[int | None] = None  # the number of features_, where it is fixed

    def __init__(self, column: str, kind: str = "", **options):
        self.column, self.kind = column, kind
        self.options = {key: type(default)(options.get(key, default)) for key, default in self.defaults.items()}
        for key, allowed in self.choices.items():
            if self.options[key] not in allowed:
                raise DataError(f"Unknown {key} {self.options[key]!r}; choose one of {', '.join(map(str, allowed))}.")

    @classmethod
    def suits(cls, values: pd.Series) -> bool:
        """Whether "auto" may choose this encoding for these training values."""
        return True

    def visible_options(self) -> list[str]:
        """The options that matter with the current choices (the Prepare page offers these)."""
        return list(self.defaults)

    def fit(self, values: pd.Series) -> Encoder:
        """Learn the state from training ``values``; sets ``features_`` and ``seen_``."""
        raise NotImplementedError

    def transform(self, values: pd.Series) -> np.ndarray:
        """A float matrix: one row per value, one column per name in ``features_``."""
        raise NotImplementedError

    def read(self, values: pd.Series) -> pd.Series:
        """The column as this encoder reads it; missing where a value is absent or not of the expected type."""
        return _as_text(values).where(values.notna())

    def describe(self) -> str:
        """What is done to the column, in a line."""
        raise NotImplementedError

    def feature_types(self) -> list[str]:
        """What each output column is, for the network: ``number`` (a scaled quantity, which a numeric embedding
        may expand), ``flag`` (0/1 or a bounded share, used as it is) or ``category:<n>`` (a code from 0 to n − 1
        that a learned embedding looks up)."""
        return [NUMBER_FEATURE] * len(self.features_)

    def check_fitted(self) -> str | None:
        """Whether the fitted attributes (each of its declared type) agree with each other and the options, as
        :meth:`fit` leaves them: None, or what is wrong."""
        if self.width is not None and len(self.features_) != self.width:
            return f"{len(self.features_):,} input columns (features_) where {self.name} makes {self.width}"
        return None

    def get_config(self) -> dict:
        fitted = {key: value for key, value in vars(self).items() if key.endswith("_")}
        return {"encoding": self.name, "column": self.column, "kind": self.kind, "options": self.options,
                "fitted": fitted}

    def _seen(self, values: pd.Series) -> dict:
        """What the training rows held, as :meth:`read` gives it: range and median of numbers or dates, or the
        levels, most frequent first."""
        read = self.read(values)
        present = read.dropna()
        if pd.api.types.is_datetime64_any_dtype(read):
            return {"type": "date", **{stat: present.agg(stat).isoformat() if len(present) else None
                                       for stat in ("min", "median", "max")}}
        if pd.api.types.is_numeric_dtype(read):
            return {"type": "number", **{stat: float(present.agg(stat)) if len(present) else None
                                         for stat in ("min", "median", "max")}}
        return {"type": "level", "levels": present.value_counts().index.tolist()}


@register
class Numeric(Encoder):
    """Impute, add a missing-indicator column where training values were missing, optionally log, then scale."""

    name, title, kinds = "numeric", "number: fill, scale", ("numeric",)
    defaults = {"impute": "median", "fill_value": 0.0, "missing_indicator": True, "scale": "standardize",
                "log": False}
    choices = {"impute": ("median", "mean", "mode", "constant"), "scale": tuple(SCALE_TITLES)}
    unseen = "read as missing, then filled as in training"
    fitted = {**Encoder.fitted, "fill_": number, "scaler_": an_object, "indicator_": flag, "skewed_": flag}

    def fit(self, values: pd.Series) -> Numeric:
        numbers = self.read(values).to_numpy()
        missing = np.isnan(numbers)
        present = numbers[~missing]
        method = self.options["impute"]
        if method == "constant" or not len(present):
            self.fill_ = self.options["fill_value"]
        else:
            self.fill_ = float({"median": np.median, "mean": np.mean, "mode": _mode}[method](present))
        self.scaler_ = _fit_scaler(self._filled(numbers, missing), self.options["scale"])
        self.indicator_ = bool(self.options["missing_indicator"] and missing.any())
        self.skewed_ = bool(not self.options["log"] and len(present) > 2
                            and log_helps(float(skewness(present)), float(present.min())))
        base = self._base_name()
        self.features_ = [base] + ([f"{base}_missing"] if self.indicator_ else [])
        self.seen_ = {"type": "number", **{stat: float(fn(present)) if len(present) else None
                                           for stat, fn in (("min", np.min), ("median", np.median), ("max", np.max))}}
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        numbers = self.read(values).to_numpy()
        missing = np.isnan(numbers)
        scaled = _scale_with(self._filled(numbers, missing), self.options["scale"], self.scaler_)
        if self.indicator_:
            return np.column_stack([scaled, missing.astype(float)])
        return scaled[:, None]

    def read(self, values: pd.Series) -> pd.Series:
        return _numbers(values)

    def describe(self) -> str:
        steps = [f"impute {self.options['impute']} ({self.fill_:.4g})"] + (["log"] if self.options["log"] else [])
        steps.append(SCALE_TITLES[self.options["scale"]])
        if self.indicator_:
            steps.append("missing-indicator column")
        return ", ".join(steps) + (" (skewed: a log transform may help)" if self.skewed_ else "")

    def visible_options(self) -> list[str]:
        return [key for key in self.defaults if key != "fill_value" or self.options["impute"] == "constant"]

    def check_fitted(self) -> str | None:
        if len(self.features_) != 1 + self.indicator_:
            return f"{len(self.features_):,} input columns (features_) where it makes {1 + self.indicator_}"
        return _scaler_problem(self.scaler_, self.options["scale"])

    def feature_types(self) -> list[str]:
        return [NUMBER_FEATURE] + [FLAG_FEATURE] * self.indicator_

    def _base_name(self) -> str:
        return self.column

    def _filled(self, numbers: np.ndarray, missing: np.ndarray) -> np.ndarray:
        filled = np.where(missing, self.fill_, numbers)
        return _log(filled) if self.options["log"] else filled


@register
class OneHot(Encoder):
    """One 0/1 column per level; levels rarer than ``min_frequency`` (and unseen ones) share an (other) column."""

    name, title, kinds = "onehot", "one-hot", ("categorical",)
    defaults = {"min_frequency": MIN_FREQUENCY}
    fitted = {**Encoder.fitted, "levels_": count, "categories_": texts(MAX_FEATURES), "other_": flag}

    def __init__(self, column: str, kind: str = "", **options):
        super().__init__(column, kind, **options)
        if not 0 <= self.options["min_frequency"] < 1:
            raise DataError("min_frequency is a share of the training rows, from 0 up to (not including) 1.")

    @classmethod
    def suits(cls, values: pd.Series) -> bool:
        return values.nunique() <= MAX_ONEHOT_LEVELS

    @property
    def unseen(self) -> str:
        return "unknown: counted as (other)" if self.other_ else "unknown: all its one-hot columns 0"

    def fit(self, values: pd.Series) -> OneHot:
        shares = _as_text(values).value_counts(normalize=True)
        self.levels_ = len(shares)
        self.categories_ = [str(level) for level in shares[shares >= self.options["min_frequency"]].index]
        self.other_ = len(self.categories_) < self.levels_
        self.features_ = [f"{self.column}={level}" for level in self.categories_] + (
            [f"{self.column}={OTHER}"] if self.other_ else [])
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        codes = pd.Index(self.categories_).get_indexer(_as_text(values))
        matrix = np.zeros((len(values), len(self.features_)))
        known = codes >= 0
        matrix[np.flatnonzero(known), codes[known]] = 1.0
        if self.other_:
            matrix[~known, -1] = 1.0
        return matrix

    def feature_types(self) -> list[str]:
        return [FLAG_FEATURE] * len(self.features_)

    def check_fitted(self) -> str | None:
        return _levels_problem(self) or (
            None if len(self.features_) == len(self.categories_) + self.other_ else
            f"{len(self.features_):,} input columns (features_) for {len(self.categories_):,} categories"
            + (" and (other)" if self.other_ else ""))

    def describe(self) -> str:
        grouped = self.levels_ - len(self.categories_)
        return f"one-hot ({self.levels_} levels); " + (
            f"{grouped} rare level(s) (under {self.options['min_frequency']:.1%} of the rows) and unseen ones as "
            f"{OTHER}" if grouped else "unseen levels: all zeros")


@register
class Embedding(Encoder):
    """Each level becomes a code (1, 2, … by frequency; levels rarer than ``min_frequency`` and unseen ones share 0)
    that the network maps to a small learned vector: one input column for any number of levels."""

    name, title, kinds = "embedding", "learned embedding", ("categorical",)
    defaults = {"min_frequency": 0.001}
    unseen = "unknown: code 0, shared with the rare levels"
    fitted = {**Encoder.fitted, "levels_": count, "categories_": texts(MAX_LEVELS)}
    width = 1

    def __init__(self, column: str, kind: str = "", **options):
        super().__init__(column, kind, **options)
        if not 0 <= self.options["min_frequency"] < 1:
            raise DataError("min_frequency is a share of the training rows, from 0 up to (not including) 1.")

    def fit(self, values: pd.Series) -> Embedding:
        shares = _as_text(values).value_counts(normalize=True)
        self.levels_ = len(shares)
        self.categories_ = [str(level) for level in shares[shares >= self.options["min_frequency"]].index]
        self.features_ = [f"{self.column}_code"]
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        return (pd.Index(self.categories_).get_indexer(_as_text(values)) + 1.0)[:, None]

    def feature_types(self) -> list[str]:
        return [f"{CATEGORY_FEATURE}:{len(self.categories_) + 1}"]

    def check_fitted(self) -> str | None:
        return _levels_problem(self) or super().check_fitted()

    def describe(self) -> str:
        rare = self.levels_ - len(self.categories_)
        return (f"learned embedding: {len(self.categories_):,} levels, each a code the network maps to a learned "
                f"vector; {rare:,} rare level(s) and unseen ones share code 0")


@register
class Frequency(Encoder):
    """Each level becomes its share of the training rows (unseen: 0), standardized: one column for any number
    of levels."""

    name, title, kinds = "frequency", "frequency", ("categorical",)
    unseen = "unknown: frequency 0"
    fitted = {**Encoder.fitted, "levels_": count, "frequencies_": shares, "mean_": number, "std_": number}
    width = 1

    def fit(self, values: pd.Series) -> Frequency:
        text = _as_text(values)
        shares = text.value_counts(normalize=True)
        self.levels_ = len(shares)
        self.frequencies_ = {str(level): float(share) for level, share in shares.items()}
        encoded = text.map(shares).astype(float)
        self.mean_, self.std_ = float(encoded.mean()), _std(encoded)
        self.features_ = [f"{self.column}_frequency"]
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        shares = _as_text(values).map(self.frequencies_).astype(float).fillna(0.0).to_numpy()
        return ((shares - self.mean_) / self.std_)[:, None]

    def check_fitted(self) -> str | None:
        return "a standard deviation (std_) of 0" if self.std_ == 0 else super().check_fitted()

    def describe(self) -> str:
        return (f"frequency: {self.levels_:,} levels (one-hot would add {self.levels_:,} columns), each level → its "
                "share of the training rows (unseen: 0), standardized")


@register
class Boolean(Encoder):
    """1 for the 'true' level ('yes', 'true', … or the larger of two levels), else 0; missing: the training share."""

    name, title, kinds = "boolean", "0/1", ("boolean",)
    fitted = {**Encoder.fitted, "true_": text, "fill_": number, "missing_": flag}
    width = 1

    @property
    def unseen(self) -> str:
        return f"read as not {self.true_!r} (0)"

    def fit(self, values: pd.Series) -> Boolean:
        levels = set(self.read(values).dropna())
        self.true_ = BOOLEAN_WORDS.get(frozenset(levels)) or max(levels, default="")
        self.fill_ = float((self.read(values) == self.true_).fillna(False).mean())
        self.missing_ = bool(values.isna().any())
        self.features_ = [self.column]
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        ones = (self.read(values) == self.true_).fillna(False).astype(float).to_numpy()
        return np.where(values.isna().to_numpy(), self.fill_, ones)[:, None]

    def read(self, values: pd.Series) -> pd.Series:
        return super().read(values).str.lower()

    def feature_types(self) -> list[str]:
        return [FLAG_FEATURE]

    def describe(self) -> str:
        return f"1 if {self.true_!r} else 0" + (f"; missing: {self.fill_:.2f}, the training share"
                                                 if self.missing_ else "")


@register
class DateParts(Encoder):
    """Year, month, quarter, week, day, weekday and season (hour when times vary), standardized; optionally the
    cyclical parts as sin/cos pairs."""

    name, title, kinds = "date_parts", "date parts", ("datetime",)
    defaults = {"cyclical": False}
    unseen = "read as missing, then filled as in training"
    fitted = {**Encoder.fitted, "parts_": lambda value: _listed(value, len(DATE_PARTS) + 1, _date_part, 1),
              "cycles_": texts(len(CYCLES))}

    def fit(self, values: pd.Series) -> DateParts:
        parts = _date_parts(values)
        names = list(DATE_PARTS) + (["hour"] if (parts["hour"].fillna(0) != 0).any() else [])
        self.parts_ = [[part, _mean(parts[part]), _std(parts[part])] for part in names]  # a list: JSON keeps order
        self.cycles_ = [part for part in CYCLES if part in names] if self.options["cyclical"] else []
        self.features_ = [f"{self.column}_{part}" for part in names] + [
            f"{self.column}_{part}_{f}" for part in self.cycles_ for f in ("sin", "cos")]
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        parts = _date_parts(values)
        blocks = [(parts[part].fillna(mean) - mean).to_numpy(dtype=float)[:, None] / std
                  for part, mean, std in self.parts_]
        for part in self.cycles_:
            first, period = CYCLES[part]
            angle = 2 * np.pi * (parts[part] - first).to_numpy(dtype=float) / (
                period or parts["days_in_month"].to_numpy())
            blocks.append(np.nan_to_num(np.column_stack([np.sin(angle), np.cos(angle)])))  # no date: the centre
        return np.column_stack(blocks)

    def check_fitted(self) -> str | None:
        names = [part for part, _, _ in self.parts_]
        if len(set(names)) < len(names) or any(part not in names or part not in CYCLES for part in self.cycles_):
            return "date parts (parts_, cycles_) that repeat, or cycles of parts it does not have"
        width = len(names) + 2 * len(self.cycles_)
        if len(self.features_) != width:
            return f"{len(self.features_):,} input columns (features_) where its parts make {width}"
        return None

    def read(self, values: pd.Series) -> pd.Series:
        dates = parse_dates(values)
        return dates.dt.tz_convert(None) if dates.dt.tz is not None else dates

    def describe(self) -> str:
        text = f"date parts ({', '.join(part for part, _, _ in self.parts_)}), standardized"
        return text + (f"; sin/cos cycles of {', '.join(self.cycles_)}" if self.cycles_ else "")


@register
class Excluded(Encoder):
    """Left out of the model, with the reason."""

    name, title, kinds = "exclude", "leave out", ("identifier", "constant", "text", "excluded")
    REASONS = {
        "identifier": "identifier: unique per row, carries no pattern to learn",
        "constant": "constant: a single value carries no information",
        "text": "free text: not encoded in this version",
        "excluded": "excluded by you",
    }
    fitted = {**Encoder.fitted, "reason_": text}
    width = 0

    def fit(self, values: pd.Series) -> Excluded:
        self.features_, self.seen_ = [], {}
        self.reason_ = self.REASONS.get(self.kind, self.REASONS["excluded"])
        if self.kind in NumberInText.kinds and holds_numbers(values):
            self.reason_ += " (its values hold numbers: the encoding 'the number in the text' uses them)"
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        return np.zeros((len(values), 0))

    def describe(self) -> str:
        return self.reason_


@register
class NumberInText(Numeric):
    """The first number in each value's text ('ppl_100' → 100), then as a numeric column."""

    name, title, kinds = "number_in_text", "the number in the text", ("categorical", "text", "identifier")
    fitted = {**Numeric.fitted, "example_": text}

    def fit(self, values: pd.Series) -> NumberInText:
        super().fit(values)
        numbers = self.read(values)
        found = np.flatnonzero(numbers.notna())
        self.example_ = f"{values.iloc[found[0]]!r} → {numbers.iloc[found[0]]:g}" if len(found) else "none found"
        return self

    def read(self, values: pd.Series) -> pd.Series:
        return pd.to_numeric(_as_text(values).str.extract(NUMBER, expand=False), errors="coerce").astype(float)

    def describe(self) -> str:
        return f"the number in the text ({self.example_}); {super().describe()}"

    def _base_name(self) -> str:
        return f"{self.column}_number"


@register
class PiecewiseLinear(Encoder):
    """Piecewise-linear encoding (Gorishniy et al., 2022): quantile bins of the training values, each value as how
    far it fills each bin (1 for bins below it, its share of its own bin, 0 above), so a network can bend its
    response at every bin edge. Missing values take the training median, with an indicator column."""

    name, title, kinds = "piecewise_linear", "piecewise-linear bins", ("numeric",)
    defaults = {"bins": 8, "missing_indicator": True}
    unseen = "read as missing, then filled as in training"
    fitted = {**Encoder.fitted, "fill_": number, "edges_": numbers(2, 65, strictly=True), "indicator_": flag}

    def __init__(self, column: str, kind: str = "", **options):
        super().__init__(column, kind, **options)
        if not 2 <= self.options["bins"] <= 64:
            raise DataError("bins is the number of quantile bins, from 2 to 64.")

    def fit(self, values: pd.Series) -> PiecewiseLinear:
        numbers = self.read(values)
        present = numbers.dropna()
        self.fill_ = float(present.median()) if len(present) else 0.0
        quantiles = np.quantile(numbers.fillna(self.fill_), np.linspace(0, 1, self.options["bins"] + 1))
        self.edges_ = np.unique(quantiles).tolist()
        if len(self.edges_) == 1:  # a single value: one bin around it
            self.edges_ = [self.edges_[0] - 0.5, self.edges_[0] + 0.5]
        self.indicator_ = bool(self.options["missing_indicator"] and numbers.isna().any())
        self.features_ = [f"{self.column}_bin{i + 1}" for i in range(len(self.edges_) - 1)] + (
            [f"{self.column}_missing"] if self.indicator_ else [])
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        numbers = self.read(values)
        edges = np.asarray(self.edges_)
        filled = numbers.fillna(self.fill_).to_numpy(dtype=float)[:, None]
        fill = (filled - edges[:-1]) / (edges[1:] - edges[:-1])
        fill[:, 1:] = np.maximum(fill[:, 1:], 0.0)  # the first bin extends below the training range, the last above
        fill[:, :-1] = np.minimum(fill[:, :-1], 1.0)
        if self.indicator_:
            return np.column_stack([fill, numbers.isna().to_numpy(dtype=float)])
        return fill

    def read(self, values: pd.Series) -> pd.Series:
        return _numbers(values)

    def feature_types(self) -> list[str]:
        return [FLAG_FEATURE] * len(self.features_)

    def check_fitted(self) -> str | None:
        width = len(self.edges_) - 1 + self.indicator_
        if len(self.features_) != width:
            return f"{len(self.features_):,} input columns (features_) where its bins make {width}"
        return None

    def describe(self) -> str:
        return (f"piecewise-linear over {len(self.edges_) - 1} quantile bins of the training values "
                f"({self.edges_[0]:.4g} to {self.edges_[-1]:.4g}); missing: the median ({self.fill_:.4g})"
                + (", with a missing-indicator column" if self.indicator_ else ""))


def holds_numbers(values: pd.Series) -> bool:
    """Whether nearly every value's text holds a number (then :class:`NumberInText` can use the column)."""
    return bool(_as_text(values.dropna()).str.contains(r"\d").mean() > 0.9)


def _levels_problem(encoder) -> str | None:
    if len(encoder.categories_) > encoder.levels_:
        return f"more categories ({len(encoder.categories_):,}) than levels (levels_: {encoder.levels_:,})"
    return None


def _date_part(value) -> str | None:
    """One of :attr:`DateParts.parts_`: [part, mean, standard deviation (not 0)]."""
    if (not isinstance(value, list) or len(value) != 3 or value[0] not in (*DATE_PARTS, "hour")
            or number(value[1]) or number(value[2]) or value[2] == 0):
        return "not a date part with its mean and standard deviation"
    return None


SCALER_STATS = {"standardize": ("mean", "std"), "minmax": ("min", "range"), "robust": ("median", "iqr"),
                "robust_clip": ("median", "iqr"), "quantile": ("quantiles",)}  # what _fit_scaler stores


def _scaler_problem(stats: dict, method: str) -> str | None:
    """Whether ``stats`` is what :func:`_fit_scaler` stores for ``method``: its numbers, finite, the divisor not 0,
    or 1 to :data:`N_QUANTILES` increasing quantiles."""
    if set(stats) != set(SCALER_STATS[method]):
        return f"the scaling statistics (scaler_) are not those of {method!r}: {', '.join(SCALER_STATS[method])}"
    if method == "quantile":
        problem = numbers(1, N_QUANTILES, increasing=True)(stats["quantiles"])
        return f"the quantiles (scaler_) are {problem}" if problem else None
    for key in SCALER_STATS[method]:
        if problem := number(stats[key]):
            return f"the scaling statistic {key!r} (scaler_) is {problem}"
    divisor = stats[SCALER_STATS[method][1]]
    return f"the scaling statistic {SCALER_STATS[method][1]!r} (scaler_) is 0" if divisor == 0 else None


# -- numbers ----------------------------------------------------------------------------------------------------
def _fit_scaler(values: np.ndarray, method: str) -> dict:
    if method == "standardize":
        return {"mean": float(values.mean()), "std": _std(values)}
    if method == "minmax":
        low, high = float(values.min()), float(values.max())
        return {"min": low, "range": high - low if high > low else 1.0}
    if method in ("robust", "robust_clip"):
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        spread = q3 - q1 if q3 > q1 else _std(values)
        if method == "robust_clip":  # the IQR of a normal distribution is 1.349 standard deviations
            spread /= 1.349 if q3 > q1 else 1.0
        return {"median": float(median), "iqr": float(spread)}
    references = np.linspace(0.0, 100.0, min(N_QUANTILES, len(values)))
    return {"quantiles": np.maximum.accumulate(np.percentile(values, references)).tolist()}


def _scale_with(values: np.ndarray, method: str, stats: dict) -> np.ndarray:
    if method == "standardize":
        return (values - stats["mean"]) / stats["std"]
    if method == "minmax":
        return (values - stats["min"]) / stats["range"]
    if method == "robust":
        return (values - stats["median"]) / stats["iqr"]
    if method == "robust_clip":
        robust = (values - stats["median"]) / stats["iqr"]
        return robust / np.sqrt(1 + (robust / CLIP_BOUND) ** 2)
    return _quantile_normal(values, np.asarray(stats["quantiles"]))


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
    if values.dtype == np.float64:
        return values
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    values = values.astype("string").str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(values, errors="coerce").astype(float)


def _mode(values: np.ndarray) -> float:
    """The most frequent value (the smallest of those tied), as pandas' ``mode``."""
    levels, counts = np.unique(values, return_counts=True)
    return float(levels[counts.argmax()])


def skewness(values: np.ndarray) -> np.ndarray:
    """Skewness along the first axis, missing values ignored: the adjusted Fisher–Pearson coefficient pandas'
    ``skew`` gives, 0 for a constant and for fewer than 3 values."""
    values = np.asarray(values, dtype=float)
    count = np.sum(~np.isnan(values), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = np.where(np.isnan(values), 0.0, values - np.nansum(values, axis=0) / count)
        squares = centred * centred
        m2, m3 = np.sum(squares, axis=0), np.sum(squares * centred, axis=0)
        skew = count * np.sqrt(count - 1) / (count - 2) * m3 / m2 ** 1.5
    return np.where((count > 2) & (m2 > 1e-14 * np.maximum(count, 1)), skew, 0.0)


# -- dates ------------------------------------------------------------------------------------------------------
def parse_dates(values: pd.Series) -> pd.Series:
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
    dates = parse_dates(values).dt
    parts = {"year": dates.year, "month": dates.month, "quarter": dates.quarter, "week": dates.isocalendar().week,
             "day": dates.day, "dayofweek": dates.day_of_week, "season": dates.month % 12 // 3, "hour": dates.hour,
             "days_in_month": dates.days_in_month}
    return pd.DataFrame({p: v.to_numpy(dtype=float, na_value=np.nan) for p, v in parts.items()}, index=values.index)


# -- small helpers ------------------------------------------------------------------------------------------------
def _as_text(values: pd.Series) -> pd.Series:
    """Values as comparable strings (1, 1.0 and "1" alike), with missing values as their own level."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.map(lambda v: str(int(v)) if float(v).is_integer() else repr(float(v)), na_action="ignore")
    return values.astype("string").fillna(MISSING).astype(str)


def _mean(values: pd.Series) -> float:
    mean = float(values.mean())
    return mean if np.isfinite(mean) else 0.0


def _std(values) -> float:
    """The standard deviation to divide by: 1 where it is zero or undefined, so nothing becomes NaN."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    std = float(values.std()) if len(values) else np.nan
    return std if np.isfinite(std) and std > 0 else 1.0
