"""Upload: load a CSV or a bundled sample, preview it, choose the target column and the task."""

import streamlit as st

from dlcore.errors import DataError
from dlcore.loading import Dataset, read_table
from dlcore.profiling import TASKS, check_task, infer_task
from dlcore.samples import SAMPLES, sample_csv
from pages.shared import reset_from

state = st.session_state
st.caption("Start here: bring a table with one row per example and one column to predict.")

source = st.segmented_control("Data source", ["Upload a CSV", "Try a sample dataset"], default="Upload a CSV",
                              key="upload_source")
if source == "Try a sample dataset":
    name = st.selectbox("Sample dataset", list(SAMPLES), help="Bundled with scikit-learn; no download needed.")
    if st.button("Load sample", icon=":material/dataset:"):
        dataset = read_table(sample_csv(name), name=f"{name}.csv")
        if state.dataset is None or state.dataset.digest != dataset.digest:
            reset_from("dataset")
            state.dataset = dataset
            state.target = SAMPLES[name][1]
else:
    upload = st.file_uploader("CSV file", type=["csv", "tsv", "txt", "gz", "parquet"],
                              help="Comma, semicolon, tab or pipe separated; UTF-8 or Latin-1; up to 200 MB.")
    if upload is not None and state.get("upload_id") != upload.file_id:
        try:
            with st.spinner(f"Reading {upload.name}…"):
                dataset = read_table(upload.getvalue(), name=upload.name)
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
            st.stop()
        state.upload_id = upload.file_id
        if state.dataset is None or state.dataset.digest != dataset.digest:
            reset_from("dataset")
            state.dataset = dataset

dataset: Dataset | None = state.dataset
if dataset is None:
    st.info("Upload a CSV file or load a sample dataset to begin.", icon=":material/upload_file:")
    st.stop()

frame = dataset.frame
with st.container(horizontal=True):
    st.metric("Rows", f"{len(frame):,}", border=True)
    st.metric("Columns", frame.shape[1], border=True)
    st.metric("Missing cells", f"{frame.isna().mean().mean():.1%}", border=True)
for note in dataset.notes:
    st.warning(note, icon=":material/warning:")
st.dataframe(frame.head(100), height=280)

columns = [str(c) for c in frame.columns]
default = columns.index(state.target) if state.target in columns else len(columns) - 1
target = st.selectbox("Target column", columns, index=default, help="The column the model learns to predict.")
if target != state.target:
    reset_from("target")
    state.target = target
try:
    inferred = infer_task(frame[target])
except DataError as exc:
    st.error(str(exc), icon=":material/error:")
    state.target = None
    st.stop()
task = st.segmented_control("Task", TASKS, default=state.task or inferred, key=f"task_{target}",
                            help=f"Inferred from the target's values: {inferred}. Change it if that is wrong.")
task = task or inferred
try:
    check_task(frame[target], task)
except DataError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
if task != state.task:
    reset_from("task")
    state.task = task

missing = int(frame[target].isna().sum())
if missing:
    st.warning(f"{missing:,} rows have no value in {target!r}; they will be left out of training.",
               icon=":material/warning:")
st.success(f"Ready: predict **{target}** ({task}).", icon=":material/check_circle:")
st.page_link("pages/explore.py", label="Next: explore the data", icon=":material/arrow_forward:")
