"""Baseline: the naive model's test score, the bar the network has to clear."""

import pandas as pd
import streamlit as st

from dlcore.baselines import NAIVE_TITLES, naive_baseline
from dlcore.evaluation import METRIC_TITLES, primary_metric
from pages.shared import prepared, require

require("dataset", "target")
data = prepared()
task = data.task
scores = naive_baseline(data)
primary = primary_metric(task, data.split.train[data.preparation.target])

if task == "regression":
    st.caption("Predict the training mean for every row: a network that cannot beat this has learned nothing.")
else:
    st.caption("Predict the most frequent training class for every row: a network that cannot beat this has "
               "learned nothing.")
if primary == "roc_auc":
    st.info("The rarer class is under 20% of the rows, so accuracy flatters a model that always answers the "
            "majority class: the headline metric is ROC AUC (0.5 means no better than chance).", icon=":material/balance:")
st.metric(f"{NAIVE_TITLES[task]}: test {METRIC_TITLES[primary]}", f"{scores[primary]:.4g}", border=True)
st.dataframe(pd.DataFrame({"metric": [METRIC_TITLES.get(k, k) for k in scores], "naive baseline": list(scores.values())}),
             hide_index=True, alt="Naive baseline metrics on the test split")
st.page_link("pages/model.py", label="Next: design the network", icon=":material/arrow_forward:")
