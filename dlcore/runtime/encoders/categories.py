"""Categories: one-hot, a learned embedding, frequency, and 0/1 for a two-valued column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.runtime.encoders.base import (BOOLEAN_WORDS, CATEGORY_FEATURE, Encoder, FLAG_FEATURE, MAX_FEATURES,
                                          MAX_LEVELS, MAX_ONEHOT_LEVELS, MIN_FREQUENCY, OTHER, as_text, count, flag,
                                          levels_problem, number, register, shares, std_of, text, texts)
from dlcore.runtime.errors import DataError


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
        shares = as_text(values).value_counts(normalize=True)
        self.levels_ = len(shares)
        self.categories_ = [str(level) for level in shares[shares >= self.options["min_frequency"]].index]
        self.other_ = len(self.categories_) < self.levels_
        self.features_ = [f"{self.column}={level}" for level in self.categories_] + (
            [f"{self.column}={OTHER}"] if self.other_ else [])
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        codes = pd.Index(self.categories_).get_indexer(as_text(values))
        matrix = np.zeros((len(values), len(self.features_)))
        known = codes >= 0
        matrix[np.flatnonzero(known), codes[known]] = 1.0
        if self.other_:
            matrix[~known, -1] = 1.0
        return matrix

    def feature_types(self) -> list[str]:
        return [FLAG_FEATURE] * len(self.features_)

    def check_fitted(self) -> str | None:
        return levels_problem(self) or (
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
        shares = as_text(values).value_counts(normalize=True)
        self.levels_ = len(shares)
        self.categories_ = [str(level) for level in shares[shares >= self.options["min_frequency"]].index]
        self.features_ = [f"{self.column}_code"]
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        return (pd.Index(self.categories_).get_indexer(as_text(values)) + 1.0)[:, None]

    def feature_types(self) -> list[str]:
        return [f"{CATEGORY_FEATURE}:{len(self.categories_) + 1}"]

    def check_fitted(self) -> str | None:
        return levels_problem(self) or super().check_fitted()

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
        text = as_text(values)
        shares = text.value_counts(normalize=True)
        self.levels_ = len(shares)
        self.frequencies_ = {str(level): float(share) for level, share in shares.items()}
        encoded = text.map(shares).astype(float)
        self.mean_, self.std_ = float(encoded.mean()), std_of(encoded)
        self.features_ = [f"{self.column}_frequency"]
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        shares = as_text(values).map(self.frequencies_).astype(float).fillna(0.0).to_numpy()
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
