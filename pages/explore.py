"""Explore: missing values, column kinds, histograms of numeric columns, bar plots of categories."""

import pandas as pd
import streamlit as st

from dlcore import plots
from pages.shared import cached_profile, require

require("dataset")
state = st.session_state
dataset = state.dataset
frame = dataset.frame
report = cached_profile(dataset.digest, frame, None)
columns = report["columns"]

st.caption("Look before you model: how much is missing, what kind each column is, how values are spread.")
if any(col["null_fraction"] for col in columns.values()):
    st.plotly_chart(plots.null_fractions(report), alt="Bar chart of the percentage of missing values per column")
else:
    st.success("No missing values in any column.", icon=":material/check_circle:")

summary = pd.DataFrame(
    [{"column": name, "dtype": col["dtype"], "kind": col["kind"], "missing": col["null_fraction"],
      "unique": col["unique"]} for name, col in columns.items()]
)
st.dataframe(summary, hide_index=True, alt="Column types, kinds, missing share and unique counts",
             column_config={"missing": st.column_config.ProgressColumn("missing", format="percent", min_value=0, max_value=1)})

numeric = [name for name, col in columns.items() if col["kind"] == "numeric"]
categorical = [name for name, col in columns.items() if col["kind"] in ("categorical", "boolean")]

st.subheader("Numeric columns")
chosen = st.multiselect("Histograms of", numeric, default=numeric[:6], key="explore_numeric")
for left, right in zip(chosen[::2], chosen[1::2] + [None]):
    cols = st.columns(2)
    for slot, name in zip(cols, (left, right)):
        if name:
            slot.plotly_chart(plots.histogram(frame, name), alt=f"Histogram of {name}")

st.subheader("Categorical columns")
chosen = st.multiselect("Bar plots of", categorical, default=categorical[:6], key="explore_categorical")
for left, right in zip(chosen[::2], chosen[1::2] + [None]):
    cols = st.columns(2)
    for slot, name in zip(cols, (left, right)):
        if name:
            slot.plotly_chart(plots.category_counts(frame, name), alt=f"Bar plot of the levels of {name}")
if not numeric and not categorical:
    st.info("No numeric or categorical columns to plot.")
