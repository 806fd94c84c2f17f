"""Statistics of numeric columns computed over blocks of columns at once (sorted once per block): counts,
quantiles, moments, outliers and histograms, equal to pandas' and NumPy's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.runtime.encoders import skewness

HISTOGRAM_BINS = 30
BLOCK_CELLS = 4_000_000  # numeric columns are summarised in blocks of about this many cells (bounded memory)


def numeric_summary(frame: pd.DataFrame, names: list[str], histograms: bool = True) -> pd.DataFrame:
    """Per numeric column (rows of the result, indexed by name): ``count`` of present values, ``unique``, ``min``,
    ``25%``, ``50%``, ``75%``, ``max``, ``mean``, ``std``, ``skew``, ``zeros``, ``outliers`` (beyond 1.5 IQR),
    ``integral``, ``zero_one`` and, with ``histograms``, ``edges``/``counts`` of :data:`HISTOGRAM_BINS` bins.

    Computed with NumPy over blocks of columns at once (sorting each block once), not column by column: the
    statistics equal pandas' and NumPy's (linear quantiles, sample std, adjusted skew); infinities count as missing.
    """
    step = max(1, BLOCK_CELLS // max(len(frame), 1))
    parts = [_summarise_block(as_floats(frame, names[i:i + step]), names[i:i + step], histograms)
             for i in range(0, len(names), step)]
    return pd.concat(parts) if parts else pd.DataFrame(columns=["count", "unique"])


def as_floats(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    values = frame[names].to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isinf(values), np.nan, values)


def sorted_columns(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column of ``values`` sorted (missing values last) and its count of present values."""
    return np.sort(values, axis=0), np.sum(~np.isnan(values), axis=0)


def quantiles(ordered: np.ndarray, count: np.ndarray, q) -> np.ndarray:
    """Linear-interpolated quantiles ``q`` (0..1, as NumPy's default) of every column from :func:`sorted_columns`;
    one row per quantile, NaN for an empty column."""
    q = np.atleast_1d(np.asarray(q, dtype=float))
    position = q[:, None] * np.maximum(count - 1, 0)[None, :]
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, np.maximum(count - 1, 0)[None, :])
    columns = np.arange(ordered.shape[1])[None, :]
    below, above = ordered[low, columns], ordered[high, columns]
    result = below + (above - below) * (position - low)
    result[:, count == 0] = np.nan
    return result


def bin_codes(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each value's bin among the interior ``edges`` of its column (one row of edges per cut, one column per
    column of ``values``): the count of those edges at or below it; -1 for a missing value."""
    columns, cuts = np.ascontiguousarray(values.T), np.ascontiguousarray(edges.T)
    codes = np.empty(columns.shape, dtype=np.int64)
    for j, column in enumerate(columns):
        codes[j] = np.searchsorted(cuts[j], column, side="right")
    codes[np.isnan(columns)] = -1
    return codes.T


def _summarise_block(values: np.ndarray, names: list[str], histograms: bool) -> pd.DataFrame:
    ordered, count = sorted_columns(values)
    rows = np.arange(len(ordered))[:, None]
    present = rows < count[None, :]
    unique = np.where(count > 0, 1 + np.sum((np.diff(ordered, axis=0) != 0) & present[1:], axis=0), 0)
    q = quantiles(ordered, count, [0, 0.25, 0.5, 0.75, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(values, axis=0) / count
        std = np.where(count > 1, np.sqrt(np.nansum((values - mean) ** 2, axis=0) / (count - 1)), 0.0)
    skew = skewness(values)
    iqr = q[3] - q[1]
    summary = pd.DataFrame({
        "count": count, "unique": unique, "min": q[0], "25%": q[1], "50%": q[2], "75%": q[3], "max": q[4],
        "mean": mean, "std": std, "skew": skew, "zeros": np.sum(values == 0, axis=0),
        "outliers": np.sum((values < q[1] - 1.5 * iqr) | (values > q[3] + 1.5 * iqr), axis=0),
        "integral": np.all(np.isnan(values) | (values == np.floor(values)), axis=0),
        "zero_one": (unique == 2) & (q[0] == 0) & (q[4] == 1),
    }, index=pd.Index(names, dtype=object))
    if histograms:
        summary["edges"], summary["counts"] = _histograms(values, q[0], q[4])
    return summary


def _histograms(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[list, list]:
    """:data:`HISTOGRAM_BINS` equal bins per column from its min to its max (a constant column: ± 0.5 around it, as
    ``numpy.histogram`` does); the last bin includes the max."""
    bins = HISTOGRAM_BINS
    low, high = np.where(low == high, low - 0.5, low), np.where(low == high, high + 0.5, high)
    low, high = np.nan_to_num(low), np.nan_to_num(high, nan=1.0)
    edges = low[None, :] + (high - low)[None, :] * np.linspace(0, 1, bins + 1)[:, None]
    edges[-1] = high
    valid = ~np.isnan(values)
    index = np.clip(((values - low) * (bins / (high - low)))[valid].astype(np.int64), 0, bins - 1)
    flat = (np.broadcast_to(np.arange(values.shape[1]) * bins, values.shape)[valid]) + index
    counts = np.bincount(flat, minlength=values.shape[1] * bins).reshape(-1, bins)
    return list(edges.T), list(counts)
