"""Results & predictions: test scores next to the baselines with a verdict, predictions to download, and the model."""

import streamlit as st

from dlcore import plots
from dlcore.baselines import NETWORK, highlight_best, score_table, titles
from dlcore.errors import DataError
from dlcore.evaluation import METRIC_TITLES
from dlcore.export import BUNDLE_NAME, Predictor
from dlcore.loading import read_table
from pages.shared import require

require("job")
job = st.session_state.job
metrics = job.metrics
primary = metrics["primary_metric"]


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def load_predictor(run_dir: str) -> Predictor:
    return Predictor.load(run_dir)


predictor = load_predictor(str(job.run_dir))
test, reference, judged = metrics["test"], metrics["baselines"], metrics["verdict"]
naive, boosting = reference["naive"], reference["gradient_boosting"]
with st.container(horizontal=True):
    st.metric(f"Network: test {METRIC_TITLES[primary]}", f"{test[primary]:.4g}", border=True)
    st.metric(f"Naive baseline: test {METRIC_TITLES[primary]}", f"{naive[primary]:.4g}", border=True)
    st.metric(f"{titles(metrics['task'])['gradient_boosting']}: test {METRIC_TITLES[primary]}",
              f"{boosting[primary]:.4g}", border=True)
    st.metric("Epochs (best)", f"{metrics['epochs_run']} ({metrics['best_epoch']})", border=True)
VERDICT = {"success": (st.success, ":material/check_circle:"), "warning": (st.warning, ":material/warning:"),
           "error": (st.error, ":material/error:")}
show, icon = VERDICT[judged["level"]]
show(judged["text"], icon=icon)
if cv := metrics.get("cross_validation"):
    st.info(f"{cv['k']}-fold cross-validation, {METRIC_TITLES[cv['metric']]} on the held-out folds: "
            f"{cv['mean']:.4g} ± {cv['std']:.3g} ({', '.join(f'{s:.3g}' for s in cv['scores'])}).",
            icon=":material/splitscreen:")
st.dataframe(highlight_best(score_table({NETWORK: test, **reference}, metrics["task"])),
             alt="Test metrics of the network and every baseline, best highlighted")
names = titles(metrics["task"])
st.plotly_chart(plots.scores_by_model({NETWORK: test[primary], **{names.get(k, k): v[primary] for k, v in reference.items()
                                                                   if v.get(primary) is not None}}, primary),
                alt="Test score of the network and of every baseline")

st.subheader("Predictions")
on_test, on_new = st.tabs(["Test split", "New data"])
with on_test:
    predictions = predictor.predict(job.data.split.test)
    st.dataframe(predictions.head(200), alt="Predictions on the test split")
    st.download_button("Download predictions (CSV)", predictions.to_csv(index=False), "test_predictions.csv",
                       "text/csv", icon=":material/download:", key="download_test_predictions")
with on_new:
    upload = st.file_uploader("CSV file to predict", type=["csv", "tsv", "txt", "gz", "parquet"], key="predict_upload",
                              help=f"Needs the training columns: {', '.join(predictor.preparation.input_columns)}.")
    if upload is not None:
        try:
            new = predictor.predict(read_table(upload.getvalue(), name=upload.name, for_prediction=True).frame)
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.caption(f"{len(new):,} rows predicted.")
            st.dataframe(new.head(200), alt="Predictions on the uploaded file")
            st.download_button("Download predictions (CSV)", new.to_csv(index=False), "predictions.csv", "text/csv",
                               icon=":material/download:", key="download_new_predictions")

st.subheader("Model")
bundle = (job.run_dir / BUNDLE_NAME).read_bytes()
st.caption(f"One zip ({len(bundle) / 1024:.0f} KB): the Keras model, its preparation as JSON, metrics and history. "
           f"Predict with it later: `python -m dlcore predict {BUNDLE_NAME} new.csv --out predictions.csv`.")
st.download_button("Download model", bundle, BUNDLE_NAME, "application/zip", icon=":material/deployed_code:",
                   key="download_model")
