"""Join a second table to the loaded one on key columns, with the row counts that say what the join did."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dlcore.runtime.errors import DataError


@dataclass
class JoinReport:
    """Row counts around a join, so a user sees what the join did to the table."""

    left_rows: int
    right_rows: int
    result_rows: int
    unmatched_left: int
    duplicate_right_keys: int

    def message(self) -> str:
        text = f"{self.left_rows:,} rows joined with {self.right_rows:,} → {self.result_rows:,} rows."
        if self.unmatched_left:
            text += f" {self.unmatched_left:,} rows found no match."
        if self.duplicate_right_keys:
            text += (f" The second table repeats {self.duplicate_right_keys:,} key value(s), so some rows were "
                     "duplicated.")
        return text


def join_tables(left: pd.DataFrame, right: pd.DataFrame, on: list[str], how: str = "left"
                ) -> tuple[pd.DataFrame, JoinReport]:
    """Join a second table on key column(s) (``inner`` or ``left``), as in the books' Rossmann train + store."""
    if how not in ("inner", "left"):
        raise DataError(f"Unknown join {how!r}: choose inner or left.")
    missing = [c for c in on if c not in left.columns or c not in right.columns]
    if not on or missing:
        raise DataError(f"Key column(s) {', '.join(missing) or '(none)'} must be in both tables.")
    try:
        merged = left.merge(right, on=on, how=how, suffixes=("", "_2"), indicator=True)
    except (ValueError, TypeError) as exc:
        raise DataError(f"The tables cannot be joined on {', '.join(on)}: {exc}.") from exc
    keys = left[on].merge(right[on].drop_duplicates(), on=on, how="left", indicator=True)
    report = JoinReport(
        left_rows=len(left), right_rows=len(right), result_rows=len(merged),
        unmatched_left=int((keys["_merge"] == "left_only").sum()),
        duplicate_right_keys=int(right.duplicated(subset=on).sum()),
    )
    return merged.drop(columns="_merge"), report
