"""Left out: an identifier, a constant or free text gives the network nothing, with the reason said."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.runtime.encoders.base import Encoder, register, text
from dlcore.runtime.encoders.numeric import NumberInText, holds_numbers


@register
class Excluded(Encoder):
    """Left out of the model, with the reason."""

    name, title, kinds = "exclude", "leave out", ("identifier", "constant", "text", "excluded")
    REASONS = {
        "identifier": "identifier: unique per row, carries no pattern to learn",
        "constant": "constant: a single value carries no information",
        "text": "free text: not encoded in this version",
        "excluded": "excluded by you",
    }
    fitted = {**Encoder.fitted, "reason_": text}
    width = 0

    def fit(self, values: pd.Series) -> Excluded:
        self.features_, self.seen_ = [], {}
        self.reason_ = self.REASONS.get(self.kind, self.REASONS["excluded"])
        if self.kind in NumberInText.kinds and holds_numbers(values):
            self.reason_ += " (its values hold numbers: the encoding 'the number in the text' uses them)"
        return self

    def transform(self, values: pd.Series) -> np.ndarray:
        return np.zeros((len(values), 0))

    def describe(self) -> str:
        return self.reason_
