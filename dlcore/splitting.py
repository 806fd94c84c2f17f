"""Split the rows: train, validation and test (shuffled, stratified for classes, or time-ordered), or K folds.

Every statistic of the preparation is later fitted on the training part only, so the split comes first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from dlcore.runtime.encoders import parse_dates
from dlcore.runtime.errors import DataError

KFOLD_ROWS = 2000  # under this many rows, K-fold cross-validation is suggested
TEST_SIZE, VALIDATION_SIZE = 0.2, 0.1  # of all rows, then of the rest
SEED = 42


@dataclass
class Split:
    """Train, validation and test rows of the original table."""

    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame


def split_frame(
    frame: pd.DataFrame, target: str, task: str, test_size: float = TEST_SIZE, validation_size: float = VALIDATION_SIZE,
    seed: int = SEED, order_by: str | None = None,
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
    dates = parse_dates(frame[order_by]).reset_index(drop=True)
    if dates.isna().all():
        raise DataError(f"Column {order_by!r} holds no dates to order the rows by.")
    ordered = frame.iloc[dates.sort_values(na_position="first", kind="stable").index]
    n_test = math.ceil(test_size * len(frame))
    n_val = math.ceil(validation_size * (len(frame) - n_test))
    n_train = len(frame) - n_test - n_val
    return Split(ordered.iloc[:n_train], ordered.iloc[n_train:n_train + n_val], ordered.iloc[n_train + n_val:])


def kfold_splits(frame: pd.DataFrame, target: str, task: str, k: int = 5, seed: int = SEED) -> Iterator[Split]:
    """``k`` shuffled folds (stratified for classes when every class has k rows): fold i trains on the others and
    holds out fold i as both its validation and its test part, so every row is scored once by a model that never
    trained on it."""
    if not 2 <= k <= len(frame) // 2 or len(frame) < 10:
        raise DataError(f"K-fold needs at least 10 rows and 2 ≤ k ≤ rows/2; got k={k} for {len(frame)} rows.")
    labels = frame[target].astype(str) if task != "regression" else None
    stratify = labels is not None and labels.value_counts().min() >= k
    splitter = (StratifiedKFold if stratify else KFold)(k, shuffle=True, random_state=seed)
    for train_rows, held_rows in splitter.split(frame, labels if stratify else None):
        held = frame.iloc[held_rows]
        yield Split(frame.iloc[train_rows], held, held)


def suggest_kfold(n_rows: int) -> bool:
    """K-fold cross-validation pays off for small data (Chollet: a hold-out split of few rows is too noisy)."""
    return n_rows < KFOLD_ROWS
