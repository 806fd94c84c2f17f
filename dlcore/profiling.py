"""Look at the data: column kinds, the task a target implies, and the Explore step's numbers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dlcore.errors import DataError

KINDS = ("numeric", "boolean", "categorical", "datetime", "text", "identifier", "constant")
TASKS = ("binary", "multiclass", "regression")
BOOLEAN_WORDS = {
    frozenset({"yes", "no"}): "yes",
    frozenset({"true", "false"}): "true",
    frozenset({"y", "n"}): "y",
    frozenset({"t", "f"}): "t",
}
ID_NAME = re.compile(r"(^|[_\s])(id|uuid|guid|key)$|^id[_\s]", re.IGNORECASE)
DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?$")
MAX_CLASSES = 20


def column_kind(series: pd.Series) -> str:
    """Infer one of :data:`KINDS` for a column."""
    values = series.dropna()
    unique = values.nunique()
    if unique <= 1:
        return "constant"
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        if unique == 2 and set(values.unique()) <= {0, 1}:
            return "boolean"
        integral = pd.api.types.is_integer_dtype(series) or bool((values % 1 == 0).all())
        if integral and ID_NAME.search(str(series.name)) and unique == len(values):
            return "identifier"
        return "numeric"
    text = values.astype(str)
    if frozenset(text.str.lower().unique()) in BOOLEAN_WORDS:
        return "boolean"
    sample = text.iloc[:1000]
    if sample.str.match(DATE_LIKE).mean() > 0.95:
        return "datetime"
    if len(values) >= 20 and unique == len(values) and sample.str.len().mean() < 40:
        return "identifier"
    if ID_NAME.search(str(series.name)) and unique > 0.9 * len(values):
        return "identifier"
    if unique > 0.5 * len(values) and sample.str.len().mean() >= 30:
        return "text"
    return "categorical"


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    return {str(name): column_kind(frame[name]) for name in frame.columns}


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
        return "multiclass" if integral and unique <= MAX_CLASSES else "regression"
    return "multiclass"


def check_task(target: pd.Series, task: str) -> None:
    """Refuse a task the target cannot support (e.g. regression on text labels)."""
    if task not in TASKS:
        raise DataError(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    values = target.dropna()
    if task == "regression" and not pd.api.types.is_numeric_dtype(values):
        raise DataError(f"Target column {target.name!r} is not numeric, so it cannot be a regression target.")
    if task == "binary" and values.nunique() != 2:
        raise DataError(f"Target column {target.name!r} has {values.nunique()} values, not 2: choose multiclass.")
    if task == "multiclass" and values.nunique() > 200:
        raise DataError(f"Target column {target.name!r} has {values.nunique()} values: too many classes; choose regression.")


def profile(frame: pd.DataFrame, target: str | None = None) -> dict:
    """The Explore step's numbers: per column dtype, kind, null fraction, unique count and statistics."""
    columns = {}
    for name in frame.columns:
        series = frame[name]
        kind = column_kind(series)
        entry = {
            "dtype": str(series.dtype),
            "kind": kind,
            "null_fraction": float(series.isna().mean()),
            "unique": int(series.nunique()),
        }
        if kind == "numeric":
            stats = series.describe()
            entry["stats"] = {key: _number(stats[key]) for key in ("mean", "std", "min", "25%", "50%", "75%", "max")}
        else:
            top = series.astype("string").value_counts().head(10)
            entry["top_values"] = {str(k): int(v) for k, v in top.items()}
        columns[str(name)] = entry
    result = {"rows": int(len(frame)), "columns": columns}
    if target is not None:
        if target not in frame.columns:
            raise DataError(f"Target column {target!r} is not in the data.")
        result["target"] = target
        result["task"] = infer_task(frame[target])
    return result


def _number(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
