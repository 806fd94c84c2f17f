"""Numbers: a numeric column filled and scaled, the number found in a text, and piecewise-linear bins."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.runtime.encoders.base import (Encoder, FLAG_FEATURE, NUMBER, NUMBER_FEATURE, SCALE_TITLES, an_object,
                                          as_numbers, as_text, fit_scaler, flag, log_helps, mode_of, number, numbers,
                                          register, scale_with, scaler_problem, signed_log, skewness, text)
from dlcore.runtime.errors import DataError


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
            self.fill_ = float({"median": np.median, "mean": np.mean, "mode": mode_of}[method](present))
        self.scaler_ = fit_scaler(self._filled(numbers, missing), self.options["scale"])
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
        scaled = scale_with(self._filled(numbers, missing), self.options["scale"], self.scaler_)
        if self.indicator_:
            return np.column_stack([scaled, missing.astype(float)])
        return scaled[:, None]

    def read(self, values: pd.Series) -> pd.Series:
        return as_numbers(values)

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
        return scaler_problem(self.scaler_, self.options["scale"])

    def feature_types(self) -> list[str]:
        return [NUMBER_FEATURE] + [FLAG_FEATURE] * self.indicator_

    def _base_name(self) -> str:
        return self.column

    def _filled(self, numbers: np.ndarray, missing: np.ndarray) -> np.ndarray:
        filled = np.where(missing, self.fill_, numbers)
        return signed_log(filled) if self.options["log"] else filled


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
        return pd.to_numeric(as_text(values).str.extract(NUMBER, expand=False), errors="coerce").astype(float)

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
        return as_numbers(values)

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
    return bool(as_text(values.dropna()).str.contains(r"\d").mean() > 0.9)
