"""Results & predictions: test scores next to the baseline, predictions to download, and the model."""

import pandas as pd
import streamlit as st

from dlcore import plots
from dlcore.errors import DataError
from dlcore.evaluation import METRIC_TITLES, is_better
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
test, naive = metrics["test"], metrics["baselines"]["naive"]
better = is_better(primary, test[primary], naive[primary])
with st.container(horizontal=True):
    st.metric(f"Network: test {METRIC_TITLES[primary]}", f"{test[primary]:.4g}", border=True)
    st.metric(f"Naive baseline: test {METRIC_TITLES[primary]}", f"{naive[primary]:.4g}", border=True)
    st.metric("Epochs (best)", f"{metrics['epochs_run']} ({metrics['best_epoch']})", border=True)
if better:
    st.success("The network beats the naive baseline on the test split.", icon=":material/check_circle:")
else:
    st.warning("The network does not beat the naive baseline: try another architecture, more epochs or better "
               "columns.", icon=":material/warning:")
st.dataframe(pd.DataFrame({"metric": [METRIC_TITLES.get(k, k) for k in test], "network": list(test.values()),
                           "naive baseline": [naive.get(k) for k in test]}),
             hide_index=True, alt="Test metrics of the network and the naive baseline")
st.plotly_chart(plots.scores_against_baseline(test, naive, primary), alt="Network and baseline test score")

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
