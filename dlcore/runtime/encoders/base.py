"""What every encoder shares: the column kinds and limits, the checks of a fitted encoder read from a file, the
registry of encodings with the one function that chooses among them, the :class:`Encoder` base class and the
arithmetic the encodings share (scaling, dates, text)."""

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
# the order in which "auto" tries the encodings of a kind (an encoding not named here comes last)
PREFERENCE = ("numeric", "onehot", "embedding", "frequency", "boolean", "date_parts", "exclude", "number_in_text",
              "piecewise_linear")


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
        return listed(value, limit, text)
    return check


def numbers(least: int, limit: int, increasing: bool = False, strictly: bool = False):
    """A check: a list of ``least`` to ``limit`` finite numbers, optionally (strictly) increasing."""
    def check(value) -> str | None:
        if problem := listed(value, limit, number, least):
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
        return listed(value["levels"], MAX_LEVELS, text)
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


def listed(value, limit: int, check, least: int = 0) -> str | None:
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
    """The encodings of a column kind in order of :data:`PREFERENCE`, the default first."""
    ranked = sorted(ENCODERS, key=lambda name: PREFERENCE.index(name) if name in PREFERENCE else len(PREFERENCE))
    return [name for name in ranked if kind in ENCODERS[name].kinds]


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
        return as_text(values).where(values.notna())

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


def levels_problem(encoder) -> str | None:
    if len(encoder.categories_) > encoder.levels_:
        return f"more categories ({len(encoder.categories_):,}) than levels (levels_: {encoder.levels_:,})"
    return None


def date_part_problem(value) -> str | None:
    """One of :attr:`DateParts.parts_`: [part, mean, standard deviation (not 0)]."""
    if (not isinstance(value, list) or len(value) != 3 or value[0] not in (*DATE_PARTS, "hour")
            or number(value[1]) or number(value[2]) or value[2] == 0):
        return "not a date part with its mean and standard deviation"
    return None


SCALER_STATS = {"standardize": ("mean", "std"), "minmax": ("min", "range"), "robust": ("median", "iqr"),
                "robust_clip": ("median", "iqr"), "quantile": ("quantiles",)}  # what fit_scaler stores


def scaler_problem(stats: dict, method: str) -> str | None:
    """Whether ``stats`` is what :func:`fit_scaler` stores for ``method``: its numbers, finite, the divisor not 0,
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
def fit_scaler(values: np.ndarray, method: str) -> dict:
    if method == "standardize":
        return {"mean": float(values.mean()), "std": std_of(values)}
    if method == "minmax":
        low, high = float(values.min()), float(values.max())
        return {"min": low, "range": high - low if high > low else 1.0}
    if method in ("robust", "robust_clip"):
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        spread = q3 - q1 if q3 > q1 else std_of(values)
        if method == "robust_clip":  # the IQR of a normal distribution is 1.349 standard deviations
            spread /= 1.349 if q3 > q1 else 1.0
        return {"median": float(median), "iqr": float(spread)}
    references = np.linspace(0.0, 100.0, min(N_QUANTILES, len(values)))
    return {"quantiles": np.maximum.accumulate(np.percentile(values, references)).tolist()}


def scale_with(values: np.ndarray, method: str, stats: dict) -> np.ndarray:
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


def signed_log(values: np.ndarray) -> np.ndarray:
    """sign(x)·log(1 + |x|): log1p for the skewed positives it is meant for, and defined for any number."""
    return np.sign(values) * np.log1p(np.abs(values))


def as_numbers(values: pd.Series) -> pd.Series:
    """A column as floats; text such as ``3,449`` (thousands separators) reads as a number, other text as missing."""
    if values.dtype == np.float64:
        return values
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    values = values.astype("string").str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(values, errors="coerce").astype(float)


def mode_of(values: np.ndarray) -> float:
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


def date_parts_of(values: pd.Series) -> pd.DataFrame:
    """Calendar parts as floats; season is meteorological (0 winter: Dec–Feb … 3 autumn, northern hemisphere)."""
    dates = parse_dates(values).dt
    parts = {"year": dates.year, "month": dates.month, "quarter": dates.quarter, "week": dates.isocalendar().week,
             "day": dates.day, "dayofweek": dates.day_of_week, "season": dates.month % 12 // 3, "hour": dates.hour,
             "days_in_month": dates.days_in_month}
    return pd.DataFrame({p: v.to_numpy(dtype=float, na_value=np.nan) for p, v in parts.items()}, index=values.index)


# -- small helpers ------------------------------------------------------------------------------------------------
def as_text(values: pd.Series) -> pd.Series:
    """Values as comparable strings (1, 1.0 and "1" alike), with missing values as their own level."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.map(lambda v: str(int(v)) if float(v).is_integer() else repr(float(v)), na_action="ignore")
    return values.astype("string").fillna(MISSING).astype(str)


def mean_of(values: pd.Series) -> float:
    mean = float(values.mean())
    return mean if np.isfinite(mean) else 0.0


def std_of(values) -> float:
    """The standard deviation to divide by: 1 where it is zero or undefined, so nothing becomes NaN."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    std = float(values.std()) if len(values) else np.nan
    return std if np.isfinite(std) and std > 0 else 1.0
