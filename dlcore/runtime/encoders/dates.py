"""Dates: a date column as its parts (year, month, …), the cyclical ones also as sin/cos."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.runtime.encoders.base import (CYCLES, DATE_PARTS, Encoder, date_part_problem, date_parts_of, listed,
                                          mean_of, parse_dates, register, std_of, texts)


@register
class DateParts(Encoder):
    """Year, month, quarter, week, day, weekday and season (hour when times vary), standardized; optionally the
    cyclical parts as sin/cos pairs."""

    name, title, kinds = "date_parts", "date parts", ("datetime",)
    defaults = {"cyclical": False}
    unseen = "read as missing, then filled as in training"
    fitted = {**Encoder.fitted, "parts_": lambda value: listed(value, len(DATE_PARTS) + 1, date_part_problem, 1),
              "cycles_": texts(len(CYCLES))}

    def fit(self, values: pd.Series) -> DateParts:
        parts = date_parts_of(values)
        names = list(DATE_PARTS) + (["hour"] if (parts["hour"].fillna(0) != 0).any() else [])
        self.parts_ = [[part, mean_of(parts[part]), std_of(parts[part])] for part in names]  # a list: JSON keeps order
        self.cycles_ = [part for part in CYCLES if part in names] if self.options["cyclical"] else []
        self.features_ = [f"{self.column}_{part}" for part in names] + [
            f"{self.column}_{part}_{f}" for part in self.cycles_ for f in ("sin", "cos")]
        self.seen_ = self._seen(values)
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        parts = date_parts_of(values)
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
        line = f"date parts ({', '.join(part for part, _, _ in self.parts_)}), standardized"
        return line + (f"; sin/cos cycles of {', '.join(self.cycles_)}" if self.cycles_ else "")
