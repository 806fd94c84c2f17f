"""Look at the data: column kinds, the task a target implies, and the Explore step's numbers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dlcore.encoders import BOOLEAN_WORDS
from dlcore.encoders import KINDS as ENCODED_KINDS
from dlcore.errors import DataError

KINDS = tuple(kind for kind in ENCODED_KINDS if kind != "excluded")  # the kinds inference gives
TASKS = ("binary", "multiclass", "regression")
IMBALANCED = 0.20  # a rarest class under this share of the rows makes a classification target imbalanced
ID_NAME = re.compile(r"(^|[_\s])(id|uuid|guid|key)$|^id[_\s]", re.IGNORECASE)
DATE_LIKE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
MAX_CLASSES = 20  # whole numbers with at most this many distinct values are classes, more a quantity
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
        if unique == 2 and set(values.unique()) <= {0, 1}:
            return "boolean"
        integral = pd.api.types.is_integer_dtype(series) or bool((values % 1 == 0).all())
        if integral and ID_NAME.search(str(series.name)) and unique == len(values):
            return "identifier"
        return "numeric"
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


def decide_kinds(frame: pd.DataFrame, chosen: dict[str, str] | None = None,
                 uniques: dict[str, int] | None = None) -> dict[str, str]:
    """Every column's kind, decided once on the whole loaded table: the user's ``chosen`` kind where there is one,
    else the inferred one. Explore shows these, and the app and the command line pass them to preparation."""
    chosen, uniques = chosen or {}, uniques or {}
    return {str(name): chosen.get(str(name)) or column_kind(frame[name], uniques.get(str(name)))
            for name in frame.columns}


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
        return "multiclass" if integral and unique <= MAX_CLASSES else "regression"
    return "multiclass"


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


def profile(frame: pd.DataFrame, target: str | None = None, kinds: dict[str, str] | None = None,
            task: str | None = None) -> dict:
    """The Explore step's numbers, ready to plot and to write as JSON.

    ``overview`` (rows, columns, memory, duplicate rows, kinds), per column its dtype, kind, null
    fraction, unique count and statistics (histogram, quantiles, skew, zeros, outliers; top levels;
    date range and counts over time), the numeric correlation matrix, and with a ``target`` its
    distribution, each column against it, the task (``task`` if the user chose one, else inferred), and
    ``alerts``. ``kinds`` are the user's choices; the other columns' kinds are inferred. Work is vectorised over all rows;
    the only sampled parts (kind guesses, leakage checks) say so in ``sampled``.
    """
    from dlcore.alerts import find_alerts

    if target is not None and target not in frame.columns:
        raise DataError(f"Target column {target!r} is not in the data.")
    uniques = {str(name): int(frame[name].nunique()) for name in frame.columns}
    inferred = decide_kinds(frame, uniques=uniques)
    kinds = {**inferred, **(kinds or {})}
    row_hashes = pd.util.hash_pandas_object(frame, index=False)
    sample = frame.sample(SAMPLE_ROWS, random_state=0) if len(frame) > SAMPLE_ROWS else frame
    result = {
        "rows": int(len(frame)),
        "overview": {
            "rows": int(len(frame)), "columns": int(frame.shape[1]),
            "memory_bytes": int(frame.memory_usage(deep=True).sum()),
            "duplicate_rows": int(row_hashes.duplicated().sum()),
            "kinds": {kind: list(kinds.values()).count(kind) for kind in KINDS if kind in kinds.values()},
        },
        "columns": {name: _column_profile(frame[name], kinds[name], uniques[name]) for name in uniques},
        "correlations": _correlations(sample, kinds),
        "sampled": {"rows": len(sample), "of": len(frame),
                    "what": "correlations and the charts against the target" if len(sample) < len(frame) else ""},
    }
    if target is not None:
        if task is None:
            task = infer_task(frame[target])
        check_task(frame[target], task)
        result["target"], result["task"] = target, task
        result["target_profile"] = _target_profile(frame[target], task)
        result["against_target"] = {
            str(name): _against_target(sample[name], sample[target], kinds[str(name)], task)
            for name in frame.columns if name != target and kinds[str(name)] in ("numeric", "categorical", "boolean")
        }
    result["alerts"] = find_alerts(frame, result, inferred)
    return result


SAMPLE_ROWS = 200_000
HISTOGRAM_BINS = 30
TOP_LEVELS = 20


def _column_profile(series: pd.Series, kind: str, unique: int) -> dict:
    entry = {"dtype": str(series.dtype), "kind": kind, "null_fraction": float(series.isna().mean()),
             "unique": unique}
    if kind == "numeric" and pd.api.types.is_numeric_dtype(series):
        entry.update(_numeric_stats(series.to_numpy(dtype=float, na_value=np.nan)))
    elif kind == "datetime":
        entry.update(_datetime_stats(series))
    else:
        counts = series.value_counts(dropna=True)
        entry["top_values"] = {str(k): int(v) for k, v in counts.head(TOP_LEVELS).items()}
        if not pd.api.types.is_numeric_dtype(series) and kind in ("categorical", "text"):
            entry["numeric_share"] = _numeric_share(counts)
    return entry


def _numeric_stats(values: np.ndarray) -> dict:
    values = values[np.isfinite(values)]
    if not len(values):
        return {"stats": {}}
    q = np.percentile(values, [0, 25, 50, 75, 100])
    iqr = q[3] - q[1]
    mean, std = float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0
    skew = float(pd.Series(values).skew()) if len(values) > 2 else 0.0
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return {
        "stats": {"mean": mean, "std": std, "min": float(q[0]), "25%": float(q[1]), "50%": float(q[2]),
                  "75%": float(q[3]), "max": float(q[4])},
        "skew": _number(skew),
        "zeros": int((values == 0).sum()),
        "outliers": int(((values < q[1] - 1.5 * iqr) | (values > q[3] + 1.5 * iqr)).sum()),
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


def _datetime_stats(series: pd.Series) -> dict:
    dates = to_datetime(series).dropna()
    if dates.empty:
        return {}
    span = dates.max() - dates.min()
    period = "YS" if span > pd.Timedelta(days=3650) else "MS" if span > pd.Timedelta(days=62) else "D"
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    counts = dates.dt.to_period({"YS": "Y", "MS": "M", "D": "D"}[period]).value_counts().sort_index()
    return {"min": str(dates.min()), "max": str(dates.max()),
            "counts": {"period": period, "start": [str(p.start_time.date()) for p in counts.index],
                       "rows": counts.tolist()}}


def to_datetime(series: pd.Series) -> pd.Series:
    """Dates from a datetime or text column (ISO-like text takes pandas' fast path)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    try:
        return pd.to_datetime(series, errors="coerce")
    except (ValueError, TypeError):
        return pd.to_datetime(series, errors="coerce", format="mixed")


def _numeric_share(counts: pd.Series) -> float:
    """Share of non-missing text values that read as numbers, from the value counts (high: mixed types)."""
    levels = pd.Series(counts.index.astype(str)).str.replace(",", "", regex=False)
    numeric = pd.to_numeric(levels, errors="coerce").notna().to_numpy()
    total = counts.sum()
    return float(counts.to_numpy()[numeric].sum() / total) if total else 0.0


def _correlations(frame: pd.DataFrame, kinds: dict[str, str], limit: int = 30) -> dict:
    names = [n for n, k in kinds.items() if k == "numeric" and pd.api.types.is_numeric_dtype(frame[n])][:limit]
    if len(names) < 2:
        return {"columns": names, "matrix": []}
    matrix = frame[names].corr().round(4)
    return {"columns": names, "matrix": [[_number(v) for v in row] for row in matrix.to_numpy()]}


def _target_profile(target: pd.Series, task: str) -> dict:
    if task == "regression":
        return _numeric_stats(target.to_numpy(dtype=float, na_value=np.nan))
    counts = target.value_counts()
    return {"classes": {str(k): int(v) for k, v in counts.items()}, "minority_share": minority_share(target.dropna())}


def _target_numbers(target: pd.Series, task: str) -> tuple[np.ndarray, str]:
    """The target as numbers to average: itself (regression) or 1 for the positive/most frequent class."""
    if task == "regression":
        return target.to_numpy(dtype=float, na_value=np.nan), f"mean {target.name}"
    labels = target.astype(str)
    positive = sorted(labels.dropna().unique())[-1] if task == "binary" else labels.mode().iloc[0]
    return (labels == positive).to_numpy(dtype=float), f"share {target.name} = {positive}"


def _against_target(feature: pd.Series, target: pd.Series, kind: str, task: str) -> dict:
    keep = target.notna().to_numpy()
    feature, target = feature[keep], target[keep]
    if kind in ("categorical", "boolean"):
        y, label = _target_numbers(target, task)
        groups = pd.DataFrame({"level": feature.astype("string").fillna("(missing)").to_numpy(), "y": y})
        stats = groups.groupby("level", observed=True)["y"].agg(["mean", "size"]).sort_values("size", ascending=False)
        stats = stats.head(TOP_LEVELS)
        return {"type": "levels", "measure": label, "levels": [str(v) for v in stats.index],
                "mean": [_number(v) for v in stats["mean"]], "count": stats["size"].astype(int).tolist()}
    x = feature.to_numpy(dtype=float, na_value=np.nan)
    if task == "regression":
        y = target.to_numpy(dtype=float, na_value=np.nan)
        valid = np.isfinite(x) & np.isfinite(y)
        if valid.sum() < 2:
            return {"type": "binned", "centers": [], "mean": []}
        edges = np.unique(np.nanpercentile(x[valid], np.linspace(0, 100, 11)))
        bins = np.clip(np.searchsorted(edges, x[valid], side="right") - 1, 0, max(len(edges) - 2, 0))
        frame = pd.DataFrame({"bin": bins, "x": x[valid], "y": y[valid]}).groupby("bin").mean()
        return {"type": "binned", "centers": frame["x"].round(6).tolist(), "mean": frame["y"].round(6).tolist()}
    boxes = {}
    for label, values in pd.Series(x).groupby(target.astype(str).to_numpy()):
        values = values.dropna().to_numpy()
        if len(values):
            q1, med, q3 = np.percentile(values, [25, 50, 75])
            iqr = q3 - q1
            inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
            boxes[str(label)] = {"q1": float(q1), "median": float(med), "q3": float(q3),
                                 "low": float(inside.min()), "high": float(inside.max())}
    return {"type": "boxes", "classes": boxes}


def _number(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
