"""Sample data sets that ship with scikit-learn, so a user can try the app with no file and no network."""

from __future__ import annotations

import pandas as pd
from sklearn import datasets

SAMPLES = {
    "Breast cancer (binary)": (datasets.load_breast_cancer, "diagnosis"),
    "Iris flowers (multiclass)": (datasets.load_iris, "species"),
    "Wine cultivars (multiclass)": (datasets.load_wine, "cultivar"),
    "Diabetes progression (regression)": (datasets.load_diabetes, "progression"),
}


def load_sample(name: str) -> tuple[pd.DataFrame, str]:
    """The named sample as a table with readable labels, and its target column."""
    loader, target = SAMPLES[name]
    bunch = loader(as_frame=True)
    frame = bunch.frame.rename(columns={"target": target})
    if "target_names" in bunch:
        frame[target] = pd.Categorical.from_codes(bunch.target, list(bunch.target_names)).astype(str)
    return frame, target


def sample_csv(name: str) -> bytes:
    """The named sample written out as CSV bytes (what an upload of it would contain)."""
    frame, _ = load_sample(name)
    return frame.to_csv(index=False).encode()
