"""Explain: which of your columns drive the network's predictions (SHAP, with permutation importance beside it),
how each column pushes them, and one prediction taken apart. Computed by a background job, kept in the run folder."""

from functools import partial

import streamlit as st

from dlcore import plots
from dlcore.explanations import (EXPLANATIONS_FILE, explaining, explanation_status, read_explanations,
                                 start_explanation)
from dlcore.runtime.errors import DataError
from dlcore.runtime.explain import EXPLAINED_ROWS, EXPLAINERS, MAX_ROWS, explain
from dlcore.runtime.files import csv_text
from dlcore.runtime.inference import Predictor
from pages.shared import load_run, manual_row_form, require, run_background, run_heading

require("job", shows="which columns drive the predictions, and any one prediction taken apart")
state = st.session_state
run = state.job
owned = not state.shared
run_heading(run)


@st.cache_data(max_entries=8, show_spinner=False)
def explanations(run_dir: str, modified: float):
    """The run's explanations, read once per version of the file; None when missing or damaged."""
    return read_explanations(run_dir)


def run_model() -> tuple[Predictor | None, str | None]:
    """The run's model (its metrics may be missing), or None with why it cannot be loaded."""
    try:
        return load_run(str(run.run_dir)), None
    except DataError as exc:
        return None, str(exc)


def start() -> None:
    try:
        start_explanation(run, int(state.explain_rows), state.explain_explainer, owner=state.owner)
    except DataError as exc:
        state.explain_error = str(exc)


def settings() -> None:
    """How many test rows to explain and with which explainer; the Explain button queues the job."""
    test_rows = int(run.info.get("rows", {}).get("test", EXPLAINED_ROWS))
    most = max(1, min(MAX_ROWS, test_rows))
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.number_input("Test rows to explain", 1, most, min(EXPLAINED_ROWS, most), key="explain_rows",
                               help=f"A random sample of the test split (it has {test_rows:,} rows). About 200 rows "
                                    "show the patterns; more take longer.")
        st.segmented_control("Explainer", list(EXPLAINERS), default="permutation", required=True,
                                         format_func=lambda name: name.capitalize(), key="explain_explainer",
                                         help=" ".join(f"{name.capitalize()}: {text}." for name, text in
                                                       EXPLAINERS.items()))
        st.button("Explain", type="primary", icon=":material/psychology:", disabled=was_busy,
                  on_click=start, key="explain_start", help="Runs in the background with progress; the result is "
                                                            "kept with the run and shown at once on a later visit.")
    if error := state.pop("explain_error", None):
        st.error(error, icon=":material/error:")


was_busy = explaining(explanation_status(run.run_dir))


@st.fragment(run_every=1.0 if was_busy else None)
def progress() -> None:
    status = explanation_status(run.run_dir)
    if explaining(status):
        if status["state"] == "queued":
            st.info("Waiting in the queue for a free worker; it starts by itself.", icon=":material/hourglass_top:")
        else:
            done, total = status.get("progress") or (0, 1)
            st.progress(done / max(total, 1), text=f"{(status.get('phase') or 'starting').capitalize()}…")
    elif status is not None and status.get("state") == "failed":
        st.error(f"The explanation failed: {status.get('error')}", icon=":material/error:")
    if was_busy and not explaining(status):
        st.rerun()


path = run.run_dir / EXPLANATIONS_FILE
found = explanations(str(run.run_dir), path.stat().st_mtime if path.is_file() else 0.0)
if found is None:
    if path.is_file():
        st.warning(f"This run's {EXPLANATIONS_FILE} cannot be read (it is damaged)" + (
            ": explain it again." if owned else "."), icon=":material/warning:")
    if owned:
        st.caption("SHAP shows how much each of your columns moved each prediction: it explains the whole pipeline, "
                   "from your raw columns through the preparation to the network's output, so a one-hot or date "
                   "column counts as one column. The explanation runs in a background worker and is kept with the "
                   "run.")
        settings()
    elif not path.is_file():
        st.info("This shared run has not been explained yet.", icon=":material/info:")
    progress()
    st.stop()

explanation, permutation = found
predictor, model_problem = run_model()
metric = (predictor.metrics.get("primary_metric") if predictor is not None else None) or (
    str(permutation["metric"].iloc[0]) if "metric" in permutation.columns else "score")
st.caption(f"{EXPLAINERS[explanation.explainer]}: {len(explanation.rows):,} test rows against "
           f"{explanation.background:,} training rows as the background, in {explanation.seconds:.1f} s. A SHAP value "
           "is how far a column moved a row's prediction away from the average prediction (the base value)."
           + (f" Approximate: base value + SHAP values miss the predictions by {explanation.additivity_gap():.3g} on "
              "average (the permutation explainer is exact)." if explanation.explainer == "gradient" else ""))
if owned:
    with st.expander("Explain again with other settings", icon=":material/refresh:"):
        settings()
progress()

output = 0
if len(explanation.outputs) > 1:
    output = st.selectbox("Class", range(len(explanation.outputs)), format_func=lambda i: explanation.outputs[i],
                          key="explain_class", help="Multiclass: each class's probability is explained on its own.")
shap_ranking = explanation.importance(output)

st.subheader("Which columns matter")
st.plotly_chart(plots.importance(shap_ranking, permutation, metric), key="explain_importance",
                alt="Mean absolute SHAP value per column beside the permutation importance on the test split")
top_shap, top_permutation = shap_ranking["column"].iloc[0], permutation["column"].iloc[0]
agree = "Both agree on the most important column" if top_shap == top_permutation else \
    f"SHAP ranks **{top_shap}** first, permutation importance **{top_permutation}**"
st.caption(f"{agree}. Permutation importance is the second opinion: how much the test score drops when a column's "
           "values are shuffled among the rows (mean of 5 shuffles, the bars show their spread).")

if not owned:
    st.caption("The per-row views show the owner's rows, so a shared run shows only the importance.")
    st.stop()

st.subheader("How each column pushes the predictions")
st.plotly_chart(plots.beeswarm(explanation, output), key="explain_beeswarm",
                alt="One dot per explained row and column: its SHAP value, coloured by the column's value")

st.subheader("One column in detail")
column = st.selectbox("Column", shap_ranking["column"].tolist(), key="explain_column",
                      help="Its value against its SHAP value for every explained row.")
st.plotly_chart(plots.dependence(explanation, column, output), key="explain_dependence",
                alt=f"Value of {column} against its SHAP value")

st.subheader("One prediction explained")
sources = {"test": "A test row", "own": "A row you enter"}
source = st.segmented_control("Row", list(sources), format_func=sources.get, default="test", required=True,
                              key="explain_row_source", help="One of the explained test rows, or values you type in.")
if source == "test":
    shown = explanation.predictions[:, output]
    row = st.selectbox("Test row", range(len(explanation.rows)), key="explain_test_row",
                       help="The explained test rows, numbered in the order they were explained.",
                       format_func=lambda i: f"{i + 1}: predicted {explanation.outputs[output]} {shown[i]:.4g}")
    st.plotly_chart(plots.waterfall(explanation, row, output), key="explain_waterfall",
                    alt="Base value, each column's contribution and the prediction of one row")
else:
    tried = state.get("tried_row")
    if tried is not None and tried[0] == str(run.run_dir):
        st.caption("The last row you tried on Results & predictions: ")
        st.dataframe(tried[1], hide_index=True, alt="The row entered on the Results page")
        if st.button("Explain this row", key="explain_tried_row", icon=":material/psychology:",
                     help="Take this row's prediction apart below."):
            state.explained_row = tried[1]
    entered = None
    if predictor is None:
        st.error(f"A row you enter cannot be explained: {model_problem}", icon=":material/error:")
    else:
        entered = manual_row_form(predictor.preparation, "explain_manual_row", f"explain_manual_{run.run_id}",
                                  "Explain", ":material/psychology:")
    if entered is not None:
        state.explained_row = entered
    if predictor is not None and (row_frame := state.get("explained_row")) is not None:
        try:
            with st.spinner("Explaining the row…"):
                single = explain(predictor, row_frame, run_background(str(run.run_dir)))
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.plotly_chart(plots.waterfall(single, 0, output), key="explain_own_waterfall",
                            alt="Base value, each column's contribution and the prediction of the row you entered")

st.download_button("Download SHAP values (CSV)", partial(csv_text, explanation.table(output)), "shap_values.csv",
                   "text/csv", icon=":material/download:", key="download_shap", on_click="ignore",
                   help="One row per explained test row: its columns, the prediction, the base value and each "
                        "column's SHAP value.")
