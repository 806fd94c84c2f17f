"""The decisions made once about a table, that profiling, preparation, alerts and training all follow: each column's
kind, the task a target implies (and whether it can be learned), the suggested target, and their thresholds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dlcore.runtime.encoders import BOOLEAN_WORDS
from dlcore.runtime.encoders import KINDS as ENCODED_KINDS
from dlcore.runtime.errors import DataError
from dlcore.runtime.preparation import TASKS
from dlcore.statistics import numeric_summary

KINDS = tuple(kind for kind in ENCODED_KINDS if kind != "excluded")  # the kinds inference gives
IMBALANCED = 0.20  # a rarest class under this share of the rows makes a classification target imbalanced
ID_NAME = re.compile(r"(^|[_\s])(id|uuid|guid|key)$|^id[_\s]", re.IGNORECASE)
# Names that say "this is what to predict" in tables of any field (a whole name, any case).
TARGET_NAME = re.compile(r"^(target|label|class|outcome|response|y|churn|survived|diagnosis|spam|fraud|default)$",
                         re.IGNORECASE)
DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
MIN_ROW_NUMBERS = 20  # consecutive unique whole numbers in at least this many rows: a row number, an identifier
MAX_NUMBER_CLASSES = 20  # whole numbers with at most this many distinct values are classes, more a quantity
MAX_TARGET_CLASSES = 100  # the most classes a classification target may have


def column_kind(series: pd.Series, unique: int | None = None) -> str:
    """Infer one of :data:`KINDS` for a column (work is done on its distinct values, so it stays fast);
    ``unique`` is its count of distinct values when the caller already has it."""
    values = series.dropna()
    unique = values.nunique() if unique is None else unique
    if unique <= 1:
        return "constant"
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        zero_one = unique == 2 and set(values.unique()) <= {0, 1}
        integral = pd.api.types.is_integer_dtype(series) or bool((values % 1 == 0).all())
        return _number_kind(series.name, unique, len(values), zero_one, integral,
                            float(values.max()) - float(values.min()), len(series))
    if unique <= 4 and frozenset(str(v).lower() for v in values.unique()) in BOOLEAN_WORDS:
        return "boolean"
    sample = values.iloc[:1000].astype(str)
    if sample.str.match(DATE_LIKE).mean() > 0.95:
        return "datetime"
    if len(values) >= 20 and unique == len(values) and sample.str.len().mean() < 40:
        return "identifier"
    if ID_NAME.search(str(series.name)) and unique > 0.9 * len(values):
        return "identifier"
    if unique > 0.5 * len(values) and sample.str.len().mean() >= 30:
        return "text"
    return "categorical"


def _number_kind(name, unique: int, count: int, zero_one: bool, integral: bool, span: float, rows: int) -> str:
    """The kind of a numeric column of ``unique`` (≥ 2) distinct values among ``count`` present ones of ``rows``,
    ``span`` apart from the least to the greatest: an identifier when whole numbers unique per row are named like an
    id, or are a row number (consecutive, in any order: their span is one less than their count)."""
    if zero_one:
        return "boolean"
    if integral and unique == count and (ID_NAME.search(str(name))
                                         or count == rows >= MIN_ROW_NUMBERS and span == count - 1):
        return "identifier"
    return "numeric"


def number_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of numbers (not booleans, not dates), read off the dtypes: those :func:`numeric_summary`
    works on together."""
    return [str(name) for name, dtype in frame.dtypes.items()
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)]


def decide_kinds(frame: pd.DataFrame, chosen: dict[str, str] | None = None, facts: dict | None = None,
                 uniques: dict[str, int] | None = None) -> dict[str, str]:
    """Every column's kind, decided once on the whole loaded table: the user's ``chosen`` kind where there is one,
    else the inferred one. Explore shows these, and the app and the command line pass them to preparation.
    Numeric columns are judged together from ``facts`` (:func:`numeric_summary` as a dict by column, computed here
    unless given), so a table of thousands of columns stays fast; ``uniques`` are the other columns' distinct
    counts when the caller has them."""
    chosen, uniques = chosen or {}, uniques or {}
    if facts is None:
        facts = numeric_summary(frame, [n for n in number_columns(frame) if n not in chosen],
                                histograms=False).to_dict("index")
    kinds = {}
    for name in map(str, frame.columns):
        if name in chosen:
            kinds[name] = chosen[name]
        elif name in facts:
            fact = facts[name]
            kinds[name] = "constant" if fact["unique"] <= 1 else _number_kind(
                name, int(fact["unique"]), int(fact["count"]), bool(fact["zero_one"]),
                bool(fact["integral"]), float(fact["max"]) - float(fact["min"]), len(frame))
        else:
            kinds[name] = column_kind(frame[name], uniques.get(name))
    return kinds



def minority_share(labels) -> float:
    """The rarest class's share of ``labels``."""
    counts = pd.Series(np.asarray(labels).astype(str)).value_counts()
    return float(counts.min() / counts.sum())


def infer_task(target: pd.Series) -> str:
    """binary, multiclass or regression, read off the target's values."""
    values = target.dropna()
    unique = values.nunique()
    if unique < 2:
        raise DataError(
            f"Target column {target.name!r} has {'a single value' if unique else 'no values'}; "
            "there is nothing to predict. Choose another target."
        )
    if unique == 2:
        return "binary"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        integral = bool((values % 1 == 0).all())
        return "multiclass" if integral and unique <= MAX_NUMBER_CLASSES else "regression"
    return "multiclass"


def suggest_target(frame: pd.DataFrame) -> str | None:
    """The column to predict when its name says so: the one column named like a target (target, label, class,
    outcome, …) that a model can learn. None when no name, or more than one, says so: then ask, rather than guess
    from the column's position (the target is the first column of some tables, the last of others)."""
    named = []
    for name in frame.columns:
        if TARGET_NAME.match(str(name).strip()):
            try:
                check_task(frame[name], infer_task(frame[name]))
            except DataError:
                continue
            named.append(str(name))
    return named[0] if len(named) == 1 else None


def check_task(target: pd.Series, task: str) -> None:
    """Refuse a target no model can learn, with what to do instead: dates, identifiers, free text, a task the values
    cannot support (e.g. regression on text labels), or more classes than :data:`MAX_TARGET_CLASSES`."""
    if task not in TASKS:
        raise DataError(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    name, values = target.name, target.dropna()
    kind = column_kind(target)
    if kind == "datetime":
        raise DataError(f"Target column {name!r} holds dates: a model predicts a number or a category, not a date. "
                        "Choose another target (or a number computed from the date).")
    if kind == "identifier" or kind == "text" and task != "regression":
        what = "an identifier: every row has its own value" if kind == "identifier" else "free text"
        raise DataError(f"Target column {name!r} is {what}, so there are no classes to learn. Choose another target.")
    if task == "regression" and not pd.api.types.is_numeric_dtype(values):
        raise DataError(f"Target column {name!r} is not numeric, so it cannot be a regression target.")
    if task == "binary" and values.nunique() != 2:
        raise DataError(f"Target column {name!r} has {values.nunique()} values, not 2: choose multiclass.")
    if task == "multiclass" and values.nunique() > MAX_TARGET_CLASSES:
        numeric = pd.api.types.is_numeric_dtype(values)
        raise DataError(f"Target column {name!r} has {values.nunique():,} classes, more than the {MAX_TARGET_CLASSES} "
                        f"a model here can learn (about {len(values) / values.nunique():.1f} rows per class). "
                        + ("Choose regression, or group the values." if numeric else
                           "Group the labels into fewer classes, or choose another target."))

