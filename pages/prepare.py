"""Prepare: the split and what is done to every column, fitted on the training rows only; change any choice."""

import pandas as pd
import streamlit as st

from dlcore.runtime.encoders import AUTO, ENCODERS, KINDS, choice_title, encodings
from dlcore.splitting import KFOLD_ROWS, suggest_kfold
from pages.shared import OPTION_LABELS, column_kinds, current_profile, prepared, preview, require


require("dataset", "target", shows="how every column is encoded and scaled, learned from the training rows only")
state = st.session_state
rows = int(state.dataset.frame[state.target].notna().sum())


def size(n_bytes: int) -> str:
    return f"{n_bytes / 2**20:,.1f} MB" if n_bytes >= 2**20 / 10 else f"{n_bytes / 1024:,.1f} KB"


def choose_kind(name: str) -> None:
    state.kinds = {**state.kinds, name: state[f"prepare_kind_{name}"]}


def choose(name: str, setting: str) -> None:
    chosen = {**state.column_options.get(name, {}), setting: state[f"prepare_{setting}_{name}"]}
    state.column_options = {**state.column_options, name: chosen}


def option(name: str, setting: str, value, choices: tuple = ()) -> None:
    """A widget for one option of column ``name`` (a choice, a switch or a number, by its value); changing it
    stores the choice in ``column_options``."""
    label, help_text = OPTION_LABELS.get(setting, (setting, None))
    common = {"key": f"prepare_{setting}_{name}", "on_change": choose, "args": (name, setting), "help": help_text}
    if choices:
        st.selectbox(label, choices, index=choices.index(value), format_func=choice_title,
                     **common)
    elif isinstance(value, bool):
        st.toggle(label, value=value, **common)
    elif isinstance(value, int):
        st.number_input(label, value=value, step=1, **common)
    else:
        st.number_input(label, value=float(value), step=0.005, format="%.3f", **common)


st.caption("Every statistic (medians, scales, category lists, quantiles) is learned from the training rows "
           "only, so the test score stays honest. Change how any column is prepared below.")
target = state.target
kinds = {name: kind for name, kind in column_kinds().items() if name != target}
dates = [name for name, kind in kinds.items() if kind == "datetime"]
if state.order_by not in dates:
    state.order_by = None
with st.container(horizontal=True, vertical_alignment="bottom"):
    st.number_input("Test share", 0.05, 0.5, value=state.test_size, step=0.05, key="prepare_test_size", width=160,
                    on_change=lambda: state.update(test_size=state.prepare_test_size),
                    help="Rows held out until the end to score every model honestly.")
    st.number_input("Validation share (of the rest)", 0.05, 0.5, value=state.validation_size, step=0.05,
                    key="prepare_validation_size", width=220,
                    on_change=lambda: state.update(validation_size=state.prepare_validation_size),
                    help="Of the rows left after the test split: watched during training for early stopping.")
    st.number_input("Seed", 0, 2**31 - 1, value=state.seed, step=1, key="prepare_seed", width=160,
                    on_change=lambda: state.update(seed=state.prepare_seed),
                    help="The same seed gives the same split (and, on Train, the same model).")
    st.selectbox("Split", [None, *dates], index=[None, *dates].index(state.order_by),
                 format_func=lambda c: "Shuffled (stratified for classes)" if c is None else f"Time-ordered by {c}",
                 key="prepare_order_by", on_change=lambda: state.update(order_by=state.prepare_order_by),
                 width="stretch",
                 help="Time-ordered: the oldest rows train, the newest test, as a forecast would be used.")
if suggest_kfold(rows) and state.order_by is None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        use = st.toggle("K-fold cross-validation", value=bool(state.get("kfold")), key="prepare_kfold_on",
                        help=f"Under {KFOLD_ROWS:,} rows one hold-out split is a noisy judge: K-fold trains k "
                             "models, each validated on the fold it did not see, and averages their scores (Chollet).")
        k = st.number_input("Folds (k)", 2, 10, value=state.get("kfold") or 5, key="prepare_k", disabled=not use,
                            width=160, help="How many models K-fold trains; 5 is usual.")
    state.kfold = int(k) if use else 0
else:
    state.kfold = 0

summary = st.container()
data = prepared()
prep = data.preparation

st.subheader("Change how a column is prepared")
column = st.selectbox("Column", list(kinds), key="prepare_column", help="The column whose preparation to change.")
if column:
    encoder = prep.encoders[column]
    names = encodings(kinds[column])
    with st.container(horizontal=True, vertical_alignment="bottom", border=True):
        st.selectbox("Kind", KINDS, index=KINDS.index(kinds[column]), key=f"prepare_kind_{column}",
                     on_change=choose_kind, args=(column,), help="'excluded' leaves the column out of the model.")
        if len(names) > 1:
            option(column, "encoding", state.column_options.get(column, {}).get("encoding", AUTO), (AUTO, *names))
        for setting in encoder.visible_options():
            option(column, setting, encoder.options[setting], encoder.choices.get(setting, ()))
    st.caption(f"{ENCODERS[encoder.name].title.capitalize()}: {encoder.describe()}.")
    if encoder.name in ("onehot", "frequency"):
        levels = current_profile()["columns"][column]["unique"]
        st.caption(f"Before building: one-hot would add up to {levels + 1:,} columns ({size((levels + 1) * 4 * rows)} "
                   f"for {rows:,} rows of float32); frequency encoding adds 1 ({size(4 * rows)}).")
total_rows = len(data.x_train) + len(data.x_val) + len(data.x_test)
footprint = prep.footprint(total_rows)
with summary:
    with st.container(horizontal=True):
        st.metric("Training rows", f"{len(data.x_train):,}", border=True)
        st.metric("Validation rows", f"{len(data.x_val):,}", border=True)
        st.metric("Test rows", f"{len(data.x_test):,}", border=True)
        st.metric("Network inputs", data.x_train.shape[1], border=True)
        st.metric("Memory", size(footprint["bytes"].sum()), border=True,
                  help=f"float32: {4 * data.x_train.shape[1]:,} bytes per row, all splits together.")
    if state.kfold:
        st.info(f"K-fold with {state.kfold} folds: each fold gets its own preparation, fitted on the other "
                f"{state.kfold - 1} folds, and is validated on the fold it held out. The table and preview below "
                "show the hold-out split.", icon=":material/info:")
    st.subheader("What is done to every column")
    table = prep.plan().assign(**{"bytes per row": footprint["bytes per row"]})
    st.dataframe(table, hide_index=True, column_config={"transformation": st.column_config.TextColumn(width="large")},
                 alt="Column, kind, transformation, output width and names, bytes per row")
    st.caption(f"Checked: every split is a finite float32 matrix with {len(prep.feature_names):,} columns, "
               "one per output name.")

st.subheader("Prepared training data (first 20 rows)")
preview(pd.DataFrame(data.x_train[:20], columns=prep.feature_names).round(3), "The first prepared training rows")
st.page_link("pages/baseline.py", label="Next: the baseline to beat", icon=":material/arrow_forward:")
