"""Baseline: what the network must beat, from a rule that ignores the inputs to gradient boosting."""

import streamlit as st

from dlcore.baselines import NAIVE_TITLES, baselines, highlight_best, score_table, titles
from dlcore.evaluation import METRIC_TITLES
from pages.shared import prepared, require

require("dataset", "target", shows="the scores a network has to beat: majority class, shuffled labels, a linear "
                                   "model and gradient boosting")
state = st.session_state
data = prepared()
task = data.task
names = titles(task)
primary = data.primary_metric

cached = state.get("baselines")
if cached is None or cached[0] != state.prepared[0]:  # recomputed with the prepared data, as prepared() is
    with st.spinner("Fitting the baselines on the training split…"):
        cached = state.baselines = (state.prepared[0], baselines(data, seed=state.seed))
scores = cached[1]

if task == "regression":
    explanations = {
        "naive": "the training mean for every row.",
        "naive_median": "the training median for every row (a smaller MAE than the mean when values are skewed).",
        "random": "the training values shuffled: right spread, no link to the inputs.",
        "linear": "a straight-line fit of the prepared columns.",
    }
else:
    explanations = {
        "naive": "the most frequent training class for every row, with the training class shares as probabilities.",
        "random": "the training labels shuffled and given with certainty: right class shares, no link to the inputs "
                  "(Chollet's ~19% on Reuters' 46 topics); certain wrong answers make its log loss high.",
        "linear": "a weighted sum of the prepared columns turned into class probabilities.",
    }
explanations["gradient_boosting"] = ("scikit-learn's HistGradientBoosting with its defaults, the strong classical "
                                     "model for tables: a network that cannot reach it may not be worth training.")

st.caption("Every baseline is scored on the same test split as the network, with the same metrics. A network that "
           "cannot beat the naive and random ones has learned nothing; gradient boosting says whether deep learning "
           "is worth it at all.")
if primary == "roc_auc":
    st.info("The rarer class is under 20% of the rows, so accuracy flatters a model that always answers the "
            "majority class: the headline metric is ROC AUC (0.5 means no better than chance).", icon=":material/balance:")
with st.container(horizontal=True):
    st.metric(f"{NAIVE_TITLES[task]}: test {METRIC_TITLES[primary]}", f"{scores['naive'][primary]:.4g}", border=True)
    st.metric(f"{names['gradient_boosting']}: test {METRIC_TITLES[primary]}",
              f"{scores['gradient_boosting'][primary]:.4g}", border=True)
st.dataframe(highlight_best(score_table(scores, task)), alt="Baseline metrics on the test split, best highlighted")
st.markdown("\n".join(f"- **{names[name]}**: {text}" for name, text in explanations.items()))

job = state.job
same_data = job is not None and not state.shared and job.info.get("dataset") == state.dataset.name \
    and job.info.get("target") == state.target and job.info.get("rows", {}).get("test") == len(data.x_test)
if same_data and job.metrics is not None:
    st.markdown(f"**Your trained network:** {job.metrics['verdict']['text']}")
st.page_link("pages/model.py", label="Next: design the network", icon=":material/arrow_forward:")
