"""Upload: load a file or a bundled sample, check how it was read, join a second table, choose the target."""

import streamlit as st

from dlcore.decisions import TASKS, check_task, infer_task, suggest_target
from dlcore.joins import join_tables
from dlcore.runtime.errors import DataError
from dlcore.runtime.loading import ENCODINGS, Dataset, ReadOptions, read_table
from dlcore.samples import SAMPLES, sample_csv
from pages.shared import preview, reset_from

FILE_TYPES = ["csv", "tsv", "txt", "gz", "parquet", "xlsx"]
DELIMITER_NAMES = {None: "detect", ",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
state = st.session_state
st.caption("Start here: bring a table with one row per example and one column to predict.")


def load(raw: bytes, name: str, options: ReadOptions | None = None) -> None:
    """Read ``raw`` and make it the current data set (downstream choices reset when the content changes)."""
    try:
        with st.spinner(f"Reading {name}…"):
            dataset = read_table(raw, name=name, options=options)
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    state.raw = (raw, name)
    if state.dataset is None or state.dataset.digest != dataset.digest or state.dataset.options != dataset.options:
        reset_from("dataset")
        state.dataset = dataset


def keep(widget: str) -> None:
    """Copy a widget's value to a key of its own, which outlives the widget while another page is on show."""
    state[f"{widget}_kept"] = state[widget]


source = st.segmented_control("Data source", ["Upload a file", "Try a sample dataset"],
                              default=state.get("upload_source_kept", "Upload a file"), key="upload_source",
                              on_change=keep, args=("upload_source",),
                              help="Your own table, or a small public one bundled with the app to see the whole "
                                   "workflow first.")
if source == "Try a sample dataset":
    samples = list(SAMPLES)
    name = st.selectbox("Sample dataset", samples, index=samples.index(state.get("upload_sample_kept", samples[0])),
                        key="upload_sample", on_change=keep, args=("upload_sample",),
                        help="Bundled with scikit-learn; no download needed.")
    if st.button("Load sample", icon=":material/dataset:", help="Load it as if it were uploaded; its target is "
                                                                 "chosen for you."):
        load(sample_csv(name), f"{name}.csv")
        state.target = state.target or SAMPLES[name][1]
else:
    upload = st.file_uploader("CSV, Excel or Parquet file", type=FILE_TYPES,
                              help="Comma, semicolon, tab or pipe separated text (UTF-8 or Latin-1, may be .gz), "
                                   ".xlsx or Parquet; up to 200 MB.")
    if upload is not None and state.get("upload_id") != upload.file_id:
        state.upload_id = upload.file_id
        load(upload.getvalue(), upload.name)

dataset: Dataset | None = state.dataset
if dataset is None:
    st.info("Upload a file or load a sample dataset to begin.", icon=":material/upload_file:")
    st.stop()

frame = dataset.frame
with st.container(horizontal=True):
    st.metric("Rows", f"{len(frame):,}", border=True)
    st.metric("Columns", frame.shape[1], border=True)
    st.metric("Missing cells", f"{frame.isna().mean().mean():.1%}", border=True)
    st.metric("In memory", f"{dataset.memory_bytes / 2**20:,.1f} MB", border=True,
              help="What the loaded table takes in this app's memory.")
st.caption(f"Read as {dataset.describe_format()}.")
for note in dataset.notes:
    st.warning(note, icon=":material/warning:")

if dataset.options.format == "csv" and state.get("raw"):
    with st.expander("How the file was read", icon=":material/settings:"):
        opts = dataset.options
        with st.form("read_options", border=False):
            cols = st.columns(4)
            delimiter = cols[0].selectbox("Delimiter", list(DELIMITER_NAMES), format_func=DELIMITER_NAMES.get,
                                          index=list(DELIMITER_NAMES).index(opts.delimiter),
                                          help="The character between values on a line; detected from the file.")
            decimal = cols[1].selectbox("Decimal mark", [".", ","], index=[".", ","].index(opts.decimal),
                                        help="A comma for files from much of Europe (1,5 for one and a half).")
            encoding = cols[2].selectbox("Encoding", ["utf-8-sig", *ENCODINGS],
                                         index=["utf-8-sig", *ENCODINGS].index(opts.encoding),
                                         help="How the text is stored; change it if accented letters look wrong.")
            header_row = cols[3].number_input("Header on line", 1, 100, value=opts.header_row + 1,
                                              help="The line with the column names; lines above it are skipped.")
            if st.form_submit_button("Read again", icon=":material/refresh:",
                                     help="Read the same file with these settings."):
                load(*state.raw, ReadOptions(format="csv", delimiter=delimiter, decimal=decimal, encoding=encoding,
                                             header_row=int(header_row) - 1))
                st.rerun()

preview(frame.head(100), "The first 100 rows of the data set", height=280)

with st.expander("Join a second table", icon=":material/join:"):
    st.caption("Add columns from another table that shares a key column, like the books' Rossmann sales + stores.")
    second = st.file_uploader("Second table", type=FILE_TYPES, key="join_upload",
                              help="The same kinds of file as above; it must share a column name with the first.")
    if second is not None:
        try:
            other = read_table(second.getvalue(), name=second.name).frame
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            shared_columns = [c for c in frame.columns if c in other.columns]
            if not shared_columns:
                st.error("The two tables share no column name to join on.", icon=":material/error:")
            else:
                keys = st.multiselect("Key column(s)", shared_columns, default=shared_columns[:1],
                                      help="Rows are matched where these columns hold the same values.")
                how = st.segmented_control("Keep", ["left", "inner"], default="left",
                                           format_func={"left": "every row of the first table",
                                                        "inner": "only rows with a match"}.get,
                                           help="A row of the first table without a match keeps empty new columns, "
                                                "or is dropped.")
                if st.button("Join", icon=":material/join:", disabled=not keys,
                             help="Add the second table's other columns; the row counts before and after are shown."):
                    try:
                        joined, report = join_tables(frame, other, keys, how or "left")
                    except DataError as exc:
                        st.error(str(exc), icon=":material/error:")
                    else:
                        reset_from("dataset")
                        state.dataset = dataset.derive(joined, f"Joined {second.name} on {', '.join(keys)}: "
                                                       + report.message())
                        st.rerun()

columns = [str(c) for c in frame.columns]
if st.session_state.get("target_column") not in columns:  # a new table: the sample's target, or a name's suggestion
    st.session_state.target_column = state.target if state.target in columns else suggest_target(frame)
target = st.selectbox("Target column", columns, index=None, key="target_column",
                      placeholder="Choose the column to predict",
                      help="The column the model learns to predict. Suggested only when one column's name says so "
                           "(target, label, class, outcome, …).")
if target is None:
    st.info("Choose the target column: what the model should learn to predict. No column's name says which, and "
            "tables keep it first, last or anywhere, so the app does not guess.", icon=":material/target:")
    st.stop()
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
