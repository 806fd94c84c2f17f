"""Prepare: the split and what is done to every column, fitted on the training rows only."""

import pandas as pd
import streamlit as st

from pages.shared import prepared, require

require("dataset", "target")
state = st.session_state

st.caption("Every statistic (medians, means, standard deviations, category lists) is learned from the "
           "training split only, so the test score stays honest.")
with st.container(horizontal=True, vertical_alignment="bottom"):
    st.number_input("Test share", 0.05, 0.5, value=state.test_size, step=0.05, key="prepare_test_size",
                    on_change=lambda: state.update(test_size=state.prepare_test_size))
    st.number_input("Validation share (of the rest)", 0.05, 0.5, value=state.validation_size, step=0.05,
                    key="prepare_validation_size",
                    on_change=lambda: state.update(validation_size=state.prepare_validation_size))
    st.number_input("Seed", 0, 2**31 - 1, value=state.seed, step=1, key="prepare_seed",
                    on_change=lambda: state.update(seed=state.prepare_seed))

data = prepared()
with st.container(horizontal=True):
    st.metric("Training rows", f"{len(data.x_train):,}", border=True)
    st.metric("Validation rows", f"{len(data.x_val):,}", border=True)
    st.metric("Test rows", f"{len(data.x_test):,}", border=True)
    st.metric("Network inputs", data.x_train.shape[1], border=True)

st.subheader("What is done to every column")
st.dataframe(data.preparation.plan(), hide_index=True, alt="Column, kind, transformation and output width")
st.subheader("Prepared training data (first 20 rows)")
st.dataframe(pd.DataFrame(data.x_train[:20], columns=data.preparation.feature_names).round(3),
             alt="The first prepared training rows")
st.page_link("pages/baseline.py", label="Next: the baseline to beat", icon=":material/arrow_forward:")
