"""Look at the data: the Explore step's numbers (per column, against the target, associations and alerts), on the
kinds and task :mod:`dlcore.decisions` gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.alerts import find_alerts
from dlcore.decisions import (KINDS, check_task, decide_kinds, infer_task, minority_share, number_columns,
                              suggest_target)
from dlcore.runtime.errors import DataError
from dlcore.statistics import BLOCK_CELLS, as_floats, bin_codes, numeric_summary, quantiles, sorted_columns


def profile(frame: pd.DataFrame, target: str | None = None, kinds: dict[str, str] | None = None,
            task: str | None = None) -> dict:
    """The Explore step's numbers, ready to plot and to write as JSON.

    ``overview`` (rows, columns, memory, duplicate rows, kinds), per column its dtype, kind, null
    fraction, unique count and statistics (histogram, quantiles, skew, zeros, outliers; top levels;
    date range and counts over time), the numeric correlation matrix, and with a ``target`` its
    distribution, each column against it, the task (``task`` if the user chose one, else inferred), and
    ``alerts``; without one, ``suggested_target`` (:func:`suggest_target`: a column's name, or None). ``kinds``
    are the user's choices; the other columns' kinds are inferred. Work is vectorised over all rows and, for numeric
    columns, over all columns at once; the sampled parts say so in ``sampled``.
    """
    if target is not None and target not in frame.columns:
        raise DataError(f"Target column {target!r} is not in the data.")
    numbers = number_columns(frame)
    summary = numeric_summary(frame, numbers).to_dict("index")
    uniques = {str(n): int(summary[str(n)]["unique"]) if str(n) in summary else int(frame[n].nunique())
               for n in frame.columns}
    inferred = decide_kinds(frame, facts=summary, uniques=uniques)
    kinds = {**inferred, **(kinds or {})}
    nulls = frame.isna().mean()
    sample = frame.sample(SAMPLE_ROWS, random_state=0) if len(frame) > SAMPLE_ROWS else frame
    result = {
        "rows": int(len(frame)),
        "overview": {
            "rows": int(len(frame)), "columns": int(frame.shape[1]),
            "memory_bytes": int(frame.memory_usage(deep=True).sum()),
            "duplicate_rows": int(pd.util.hash_pandas_object(frame, index=False).duplicated().sum()),
            "kinds": {kind: list(kinds.values()).count(kind) for kind in KINDS if kind in kinds.values()},
        },
        "columns": {name: _column_profile(frame, name, kinds[name], uniques[name], float(nulls.iloc[i]),
                                          summary.get(name))
                    for i, name in enumerate(uniques)},
        "correlations": _correlations(sample, [n for n in numbers if kinds[n] == "numeric"]),
        "sampled": {"rows": len(sample), "of": len(frame),
                    "what": "correlations and the charts against the target" if len(sample) < len(frame) else ""},
    }
    if target is None:
        result["suggested_target"] = suggest_target(frame)
    else:
        if task is None:
            task = infer_task(frame[target])
        check_task(frame[target], task)
        result["target"], result["task"] = target, task
        result["target_profile"] = _target_profile(frame[target], task)
        features = [str(n) for n in frame.columns if n != target]
        result["against_target"] = _against_target(sample, target, {n: kinds[n] for n in features}, task, numbers)
        result["association"] = _association(frame, target, task, inferred)
    result["alerts"] = find_alerts(result, inferred)
    return result


SAMPLE_ROWS = 200_000
TOP_LEVELS = 20
COLUMN_ORDERS = ("table order", "most missing", "most skewed", "strongest alone on the target")


def order_columns(report: dict, names: list[str], order: str = COLUMN_ORDERS[0], search: str = "") -> list[str]:
    """``names`` whose name contains ``search`` (any case), in one of :data:`COLUMN_ORDERS`: as in the table, by
    share missing, by absolute skewness, or by how well each alone predicts the target (``association``; the
    columns it does not score go last)."""
    needle = search.strip().lower()
    names = [name for name in names if needle in name.lower()]
    columns, scores = report["columns"], report.get("association", {}).get("scores", {})
    keys = {"table order": None, "most missing": lambda n: -columns[n]["null_fraction"],
            "most skewed": lambda n: -abs(columns[n].get("skew") or 0.0),
            "strongest alone on the target": lambda n: -scores.get(n, -np.inf)}
    if order not in keys:
        raise ValueError(f"Unknown order {order!r}; choose one of {', '.join(COLUMN_ORDERS)}.")
    return names if keys[order] is None else sorted(names, key=keys[order])


def _column_profile(frame: pd.DataFrame, name: str, kind: str, unique: int, null_fraction: float, numbers) -> dict:
    entry = {"dtype": str(frame.dtypes[name]), "kind": kind, "null_fraction": null_fraction, "unique": unique}
    if kind == "numeric" and numbers is not None:
        entry.update(_numeric_entry(numbers))
        return entry
    series = frame[name]
    if kind == "datetime":
        entry.update(_datetime_stats(series))
    else:
        counts = series.value_counts(dropna=True)
        entry["top_values"] = {str(k): int(v) for k, v in counts.head(TOP_LEVELS).items()}
        if not pd.api.types.is_numeric_dtype(series) and kind in ("categorical", "text"):
            entry["numeric_share"] = _numeric_share(counts)
    return entry


def _numeric_entry(numbers: dict) -> dict:
    """One column's row of :func:`numeric_summary` as the profile's JSON."""
    if not numbers["count"]:
        return {"stats": {}}
    return {
        "stats": {key: float(numbers[key]) for key in ("mean", "std", "min", "25%", "50%", "75%", "max")},
        "skew": _number(numbers["skew"]),
        "zeros": int(numbers["zeros"]),
        "outliers": int(numbers["outliers"]),
        "histogram": {"edges": numbers["edges"].tolist(), "counts": numbers["counts"].tolist()},
    }


def _numeric_stats(values: np.ndarray) -> dict:
    """:func:`_numeric_entry` of one array of numbers (the regression target's distribution)."""
    frame = pd.DataFrame({"values": values})
    return _numeric_entry(numeric_summary(frame, ["values"]).to_dict("index")["values"])


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


def _correlations(frame: pd.DataFrame, numbers: list[str], limit: int = 30) -> dict:
    names = numbers[:limit]
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


def _against_target(sample: pd.DataFrame, target: str, kinds: dict[str, str], task: str, numbers: list[str]) -> dict:
    """Every numeric, categorical and boolean column against the target: box statistics per class or the target's
    mean over deciles (the ``numbers`` columns, all at once), the target's mean per level (the others)."""
    if sample[target].isna().any():
        sample = sample.loc[sample[target].notna()]
    numbers = [n for n in numbers if kinds.get(n) == "numeric"]
    relations = _numbers_against_target(sample, numbers, target, task)
    for name, kind in kinds.items():
        if kind in ("numeric", "categorical", "boolean") and name not in relations:
            relations[name] = _levels_against_target(sample[name], sample[target], task)
    return {name: relations[name] for name in kinds if name in relations}


def _levels_against_target(feature: pd.Series, target: pd.Series, task: str) -> dict:
    y, label = _target_numbers(target, task)
    groups = pd.DataFrame({"level": feature.astype("string").fillna("(missing)").to_numpy(), "y": y})
    stats = groups.groupby("level", observed=True)["y"].agg(["mean", "size"]).sort_values("size", ascending=False)
    stats = stats.head(TOP_LEVELS)
    return {"type": "levels", "measure": label, "levels": [str(v) for v in stats.index],
            "mean": [_number(v) for v in stats["mean"]], "count": stats["size"].astype(int).tolist()}


def _numbers_against_target(sample: pd.DataFrame, names: list[str], target: str, task: str) -> dict:
    step = max(1, BLOCK_CELLS // max(len(sample), 1))
    relations = {}
    for i in range(0, len(names), step):
        block, values = names[i:i + step], as_floats(sample, names[i:i + step])
        if task == "regression":
            relations.update(_binned_means(values, block, sample[target].to_numpy(dtype=float, na_value=np.nan)))
        else:
            relations.update(_class_boxes(values, block, sample[target].astype(str).to_numpy()))
    return relations


def _binned_means(values: np.ndarray, names: list[str], y: np.ndarray) -> dict:
    """The mean of each column and of ``y`` within the column's deciles (rows where both are present)."""
    values = np.where(np.isfinite(y)[:, None], values, np.nan)
    edges = quantiles(*sorted_columns(values), np.linspace(0, 1, 11))
    codes = bin_codes(values, edges[1:-1])
    valid = codes >= 0
    flat = (np.arange(len(names))[None, :] * 10 + codes)[valid]
    size = len(names) * 10
    count = np.bincount(flat, minlength=size).reshape(-1, 10)
    x_sum = np.bincount(flat, weights=values[valid], minlength=size).reshape(-1, 10)
    y_sum = np.bincount(flat, weights=np.broadcast_to(y[:, None], values.shape)[valid], minlength=size).reshape(-1, 10)
    relations = {}
    for j, name in enumerate(names):
        filled = count[j] > 0 if count[j].sum() >= 2 else np.zeros(10, dtype=bool)
        relations[name] = {"type": "binned", "centers": np.round(x_sum[j][filled] / count[j][filled], 6).tolist(),
                           "mean": np.round(y_sum[j][filled] / count[j][filled], 6).tolist()}
    return relations


def _class_boxes(values: np.ndarray, names: list[str], labels: np.ndarray) -> dict:
    """Box statistics (quartiles, whiskers at 1.5 IQR) of each column within each class of ``labels``."""
    relations = {name: {"type": "boxes", "classes": {}} for name in names}
    for label in sorted(set(labels)):
        rows = values[labels == label]
        ordered, count = sorted_columns(rows)
        q1, median, q3 = quantiles(ordered, count, [0.25, 0.5, 0.75])
        iqr = q3 - q1
        inside = (rows >= q1 - 1.5 * iqr) & (rows <= q3 + 1.5 * iqr)
        low = np.where(inside, rows, np.inf).min(axis=0)
        high = np.where(inside, rows, -np.inf).max(axis=0)
        for j in np.flatnonzero(count):
            relations[names[j]]["classes"][str(label)] = {"q1": float(q1[j]), "median": float(median[j]),
                                                         "q3": float(q3[j]), "low": float(low[j]),
                                                         "high": float(high[j])}
    return relations


def _association(frame: pd.DataFrame, target: str, task: str, kinds: dict[str, str]) -> dict:
    """How well each feature alone predicts the target on held-out rows: ``scores`` (R² for regression, else
    accuracy), its ``measure``, and the ``baseline`` accuracy of always the majority class. Explore sorts columns by
    it; a near-perfect score is a leakage alert (e.g. a transform of the target).

    Each feature is cut into bins (quantiles, or its levels) on one half of a sample; the other half is
    predicted by its bin's mean (regression) or majority class (classification). Numeric columns are scored
    together, a block of columns at a time.
    """
    sample = frame.loc[frame[target].notna()]
    if len(sample) > 50_000:
        sample = sample.sample(50_000, random_state=0)
    if len(sample) < 40:
        return {"measure": "R²" if task == "regression" else "accuracy", "baseline": None, "scores": {}}
    order = np.random.default_rng(0).permutation(len(sample))
    fit, held = order[: len(order) // 2], order[len(order) // 2:]
    regression = task == "regression"
    if regression:
        y = sample[target].to_numpy(dtype=float)
    else:
        labels = sample[target].astype(str).to_numpy()
        majority_share = pd.Series(labels[held]).value_counts(normalize=True).iloc[0]
        y = pd.factorize(labels)[0]
    features = [n for n, k in kinds.items() if n != target and k in ("numeric", "categorical", "boolean", "datetime")]
    candidates = set(features)
    numbers = [n for n in number_columns(sample) if n in candidates]
    bins = max(2, min(50, len(fit) // 5))
    scores = {}
    step = max(1, BLOCK_CELLS // len(sample))
    for i in range(0, len(numbers), step):
        block = numbers[i:i + step]
        values = sample[block].to_numpy(dtype=float, na_value=np.nan)
        edges = quantiles(*sorted_columns(values[fit]), np.linspace(0, 1, bins + 1))
        codes = bin_codes(values, edges[1:-1])
        scores.update(zip(block, _held_out_scores(codes, y, fit, held, regression)))
    for name in features:
        if name not in scores:
            codes = pd.factorize(sample[name].astype("string").fillna("(missing)"))[0]
            scores[name] = _held_out_scores(codes[:, None], y, fit, held, regression)[0]
    return {"measure": "R²" if regression else "accuracy", "baseline": None if regression else float(majority_share),
            "scores": {name: float(scores[name]) for name in features}}


def _held_out_scores(codes: np.ndarray, y: np.ndarray, fit: np.ndarray, held: np.ndarray,
                     regression: bool) -> np.ndarray:
    """For each column of bin ``codes`` (-1 missing, its own bin): R² (regression) or accuracy of predicting the
    ``held`` rows' ``y`` by the mean (or majority class) of their bin among the ``fit`` rows; a bin no fit row
    fell in predicts the fit rows' mean (or most frequent class)."""
    codes = codes + 1
    width = int(codes.max()) + 1
    offset = np.arange(codes.shape[1])[None, :] * width
    fit_codes, held_codes = (codes[fit] + offset).ravel(), (codes[held] + offset).ravel()
    size = codes.shape[1] * width
    y_fit = np.broadcast_to(y[fit][:, None], codes[fit].shape).ravel()
    seen = np.bincount(fit_codes, minlength=size) > 0
    if regression:
        sums = np.bincount(fit_codes, weights=y_fit, minlength=size)
        counts = np.bincount(fit_codes, minlength=size)
        means = np.where(seen, sums / np.maximum(counts, 1), y[fit].mean())
        pred = means[held_codes].reshape(len(held), -1)
        total = ((y[held] - y[held].mean()) ** 2).sum()
        return 1 - ((y[held][:, None] - pred) ** 2).sum(axis=0) / total if total > 0 else np.zeros(codes.shape[1])
    classes = int(y.max()) + 1
    table = np.bincount(fit_codes * classes + y_fit, minlength=size * classes).reshape(size, classes)
    majority = np.where(seen, table.argmax(axis=1), np.bincount(y[fit], minlength=classes).argmax())
    pred = majority[held_codes].reshape(len(held), -1)
    return (pred == y[held][:, None]).mean(axis=0)


def _number(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
