"""Results & predictions: scores next to the baselines, the charts of the task, the model tried by hand, predictions
on the test split or a new file, and the model to download; or a model bundle downloaded earlier, uploaded back."""

import hashlib
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from dlcore import evaluation, plots
from dlcore.baselines import NETWORK, difference_table, highlight_best, score_table, titles
from dlcore.comparison import comparable_runs, leaderboard_on_test
from dlcore.evaluation import METRIC_TITLES
from dlcore.export import BUNDLE_NAME
from dlcore.runs import RESULT_STATES, Run, list_runs
from dlcore.runtime.errors import DataError
from dlcore.runtime.explain import explain, reference_row, with_reasons
from dlcore.runtime.files import csv_text
from dlcore.runtime.inference import Predictor
from dlcore.runtime.loading import read_table
from pages.shared import load_run, manual_row_form, run_background, run_heading

SOURCES = {"run": "This run's model", "bundle": "A downloaded model (.zip)"}
VERDICT = {"success": (st.success, ":material/check_circle:"), "warning": (st.warning, ":material/warning:"),
           "error": (st.error, ":material/error:")}
SHOWN_ROWS = 200
PREDICTIONS_HELP = ("Every row, not only those shown, with its prediction, for classes one probability per class, "
                    "and row_in_file: the row's number in the uploaded file, to join the predictions back.")
REASON_ROWS = 1000  # rows whose top reasons are computed on this page


def shown_run():
    """The run this page shows, as (run folder, its test rows): the run on show if it has results, or (None, None)."""
    job = st.session_state.job
    if job is None or job.status not in RESULT_STATES:
        return None, None
    return job.run_dir, job.test_rows()


def usable_test_rows(predictor: Predictor, rows: pd.DataFrame | None) -> pd.DataFrame | None:
    """The run's test rows if they hold the target and every input column, else None (with a caption)."""
    if rows is None:
        return None
    prep = predictor.preparation
    missing = [name for name in [prep.target, *prep.input_columns] if name not in rows.columns]
    if missing or not len(rows):
        st.caption("This run's test rows (prepared/test.parquet) " + (
            f"lack the column(s) {', '.join(missing[:5])}" if missing else "are empty") + ", so the charts are not "
            "shown.")
        return None
    return rows


@st.cache_resource(max_entries=4, show_spinner="Checking and loading the bundle…")
def load_bundle(digest: str, _data: bytes) -> Predictor:
    """A bundle's JSON files and its model (Keras safe mode); its code files are never run."""
    predictor = Predictor.from_bundle(_data)
    _ = predictor.model  # load it now, so a bad model.keras is refused on upload (assigned: no magic output)
    return predictor


def predicted(predictor: Predictor, key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Predictions for ``frame`` in batches with a progress bar, kept for the session under ``key``."""
    cache = st.session_state.setdefault("results_predictions", {})
    slot = st.empty()  # on every run, so the elements after it (the tabs) keep their place
    if key not in cache:
        if not predictor.model_loaded:
            with st.spinner("Loading the model…"):
                _ = predictor.model  # assigned: a bare expression would be shown (magic)
        try:
            result = predictor.predict(frame, on_batch=lambda done, total: slot.progress(
                done / total, text=f"Predicting… {done:,} of {total:,} rows"))
        finally:
            slot.empty()
        remember(cache, key, result)
    return cache[key]


def remember(cache: dict, key: str, predictions: pd.DataFrame) -> None:
    """Keep ``predictions`` under ``key``, and at most the four latest."""
    while len(cache) >= 4:
        cache.pop(next(iter(cache)))
    cache[key] = predictions


def test_predictions_of(predictor: Predictor, model_key: str, test_rows: pd.DataFrame) -> pd.DataFrame:
    """The run's predictions on its test rows: those its worker stored in the run folder (no model is loaded in
    the server for them), or predicted here for a run that has none."""
    cache, key = st.session_state.setdefault("results_predictions", {}), f"{model_key}:test"
    if key not in cache and (stored := st.session_state.job.test_predictions()) is not None \
            and len(stored) == len(test_rows):
        remember(cache, key, stored)
    return predicted(predictor, key, test_rows)


def show_scores(metrics: dict, whose: str, problem: str | None = None) -> None:
    """The test scores next to the baselines and the verdict; each part a metrics file lacks is named instead
    (``whose``: "This run's" or "This bundle's"; ``problem``: why there are no metrics at all)."""
    if not metrics:
        st.warning(f"{whose} scores are not shown: {problem or 'it has no metrics.'} Its model still predicts below.",
                   icon=":material/warning:")
        return
    primary, task = metrics["primary_metric"], metrics["task"]
    test, reference, judged = metrics["test"], metrics.get("baselines") or {}, metrics.get("verdict")
    names, title = titles(task), METRIC_TITLES.get(primary, primary)
    with st.container(horizontal=True):
        st.metric(f"Network: test {title}", f"{test[primary]:.4g}", border=True)
        for name, label in (("naive", "Naive baseline"), ("gradient_boosting", names["gradient_boosting"])):
            if reference.get(name, {}).get(primary) is not None:
                st.metric(f"{label}: test {title}", f"{reference[name][primary]:.4g}", border=True)
        if "epochs_run" in metrics and "best_epoch" in metrics:
            st.metric("Epochs (best)", f"{metrics['epochs_run']} ({metrics['best_epoch']})", border=True)
    lacking = [part for part, there in (("baselines", bool(reference)), ("verdict", judged is not None)) if not there]
    if lacking:
        st.info(f"{whose} metrics have no {' and no '.join(lacking)}, so " + (
            "the network's scores are shown alone." if not reference else "there is no plain-language verdict."),
            icon=":material/info:")
    if judged is not None:
        show, icon = VERDICT[judged["level"]]
        show(judged["text"], icon=icon)
    if (held := metrics.get("out_of_fold")) and held.get(primary) is not None:
        networks = metrics.get("members", 1)
        mixed = ", ".join(f"trial {item['trial']} × {item['weight']:.2f}" for item in metrics.get("ensemble", []))
        what = (f"A tuned ensemble ({mixed}; {networks} networks)" if mixed else
                f"{networks} networks averaged" if networks > 1 else "One network")
        where = "the non-test rows they held out" if networks > 1 or mixed else "the validation rows it stopped on"
        st.info(f"{what}. {METRIC_TITLES.get(primary, primary)} out of fold, on {held['rows']:,} of "
                f"{where}: {held[primary]:.4g} (a validation score; the test split above is the untouched one).",
                icon=":material/stacks:")
    if cv := metrics.get("cross_validation"):
        st.info(f"{cv['k']}-fold cross-validation, {METRIC_TITLES[cv['metric']]} on the held-out folds: "
                f"{cv['mean']:.4g} ± {cv['std']:.3g} ({', '.join(f'{s:.3g}' for s in cv['scores'])}).",
                icon=":material/splitscreen:")
    st.dataframe(highlight_best(score_table({NETWORK: test, **reference}, task)),
                 alt="Test metrics of the network and every baseline, best highlighted")
    if differences := metrics.get("differences"):
        st.caption("How sure is each comparison? The network's test score minus each model's, with the interval a "
                   "paired bootstrap gives (the test rows resampled; the same rows for both models). An interval "
                   "that includes 0 is no clear difference.")
        st.dataframe(difference_table(differences, task), alt="The network's difference from every baseline, with "
                     "its interval")
    if not reference:
        return
    scores = {NETWORK: test, **reference}
    st.plotly_chart(plots.scores_by_model({names.get(k, k): v[primary] for k, v in scores.items()
                                           if v.get(primary) is not None}, primary),
                    alt="Test score of the network and of every baseline")


@st.cache_data(max_entries=8, show_spinner="Comparing every model of this data set on the test rows…")
def test_leaderboard(run_dir: str, candidates: tuple[str, ...], classes: tuple) -> pd.DataFrame | None:
    """The leaderboard of the run at ``run_dir`` against those of ``candidates`` that held out its test rows, or
    None if none did (the table above already compares the baselines)."""
    shown = Run(run_dir)
    others = comparable_runs(shown, [Run(folder) for folder in candidates])
    return leaderboard_on_test(shown, others, list(classes) or None) if others else None


def show_leaderboard(job: Run, classes: list) -> None:
    """Every model of this data set scored on the same test rows: the session's other runs and the baselines."""
    candidates = tuple(str(run.run_dir) for run in list_runs(st.session_state.owner)
                       if run.run_dir != job.run_dir and run.status in RESULT_STATES)
    table = test_leaderboard(str(job.run_dir), candidates, tuple(classes))
    if table is None or table.empty:
        return
    st.subheader("Every model of this data set on the same test rows")
    st.caption("Your runs that held out exactly these test rows, and the baselines, best first. The difference is "
               "this run's score minus the model's, with the interval of a paired bootstrap of the test rows; an "
               "interval that includes 0 is no clear difference.")
    score, difference = (next(column for column in table.columns if column.startswith(start))
                         for start in ("test ", "this run"))
    st.dataframe(table, hide_index=True, alt="Every model of this data set on the test split, best first",
                 column_config={score: st.column_config.NumberColumn(format="%.4g"),
                                difference: st.column_config.NumberColumn(format="%+.4g")})


def show_evaluation(predictor: Predictor, predictions: pd.DataFrame, actual: pd.Series) -> None:
    prep = predictor.preparation
    st.subheader("Evaluation on the test split")
    if prep.task == "regression":
        compared = evaluation.compare(actual, predictions, prep.task)
        left, right = st.columns(2)
        left.plotly_chart(plots.predicted_vs_actual(compared, prep.target), alt="Predicted against actual values")
        right.plotly_chart(plots.residuals(compared, prep.target), alt="Errors against predicted values")
        st.plotly_chart(plots.error_histogram(compared, prep.target), alt="Histogram of the errors")
        return
    classes = prep.classes
    proba = predictions[[f"probability_{c}" for c in classes]].to_numpy()
    labels = predictions["prediction"].to_numpy()
    if prep.task == "binary":
        positive = str(classes[1])
        threshold = st.slider(f"Probability threshold: predict {positive!r} above", 0.05, 0.95, 0.5, 0.05,
                              key="results_threshold",
                              help="The model predicts at 0.5. A higher threshold predicts the positive class less "
                                   "often: fewer false alarms (precision up), more misses (recall down).")
        at = evaluation.threshold_metrics(actual, proba[:, 1], classes, threshold)
        base = evaluation.threshold_metrics(actual, proba[:, 1], classes, 0.5)
        with st.container(horizontal=True):
            for name, value in at.items():
                st.metric(METRIC_TITLES[name], f"{value:.3f}", f"{value - base[name]:+.3f} vs 0.5" if threshold != 0.5
                          else None, border=True)
        if threshold != 0.5:
            st.caption(f"The downloads use the model's 0.5; for {threshold:.2f}, predict {positive!r} where "
                       f"`probability_{positive}` is above {threshold:.2f}.")
        labels = evaluation.at_threshold(proba[:, 1], classes, threshold)
    left, right = st.columns(2)
    for column, normalize in ((left, False), (right, True)):
        column.plotly_chart(plots.confusion_matrix(evaluation.confusion(actual, labels, classes, normalize), normalize),
                            alt="Confusion matrix of actual against predicted classes")
    if prep.task == "multiclass":
        st.dataframe(evaluation.per_class(actual, labels, classes), alt="Precision, recall and F1 of each class",
                     column_config={name: st.column_config.NumberColumn(format="%.3f")
                                    for name in ("precision", "recall", "F1")})
    left, right = st.columns(2)
    left.plotly_chart(plots.roc_curves(evaluation.roc_curves(actual, proba, classes)), alt="ROC curves with AUC")
    right.plotly_chart(plots.precision_recall_curves(evaluation.precision_recall_curves(actual, proba, classes)),
                       alt="Precision-recall curves")
    left, right = st.columns(2)
    left.plotly_chart(plots.calibration(evaluation.calibration(actual, proba, classes)), alt="Calibration plot")
    if prep.task == "binary":
        right.plotly_chart(plots.threshold_metrics(evaluation.threshold_table(actual, proba[:, 1], classes),
                                                   threshold, positive), alt="Metrics across probability thresholds")


def show_actual_vs_predicted(predictor: Predictor, predictions: pd.DataFrame, test_rows: pd.DataFrame,
                             inputs: bool = True) -> None:
    """Actual against predicted per test row; with ``inputs``, the row's input columns too."""
    prep = predictor.preparation
    compared = evaluation.compare(test_rows[prep.target], predictions, prep.task)
    parts = [compared, predictions[predictor.output_columns[1:]]] + ([test_rows[prep.input_columns]] if inputs else [])
    table = pd.concat(parts, axis=1)
    if prep.task == "regression":
        if st.toggle("Largest errors first", key="results_worst", help="Sort the rows by the size of their error."):
            table = table.iloc[np.argsort(-compared["error"].abs().to_numpy(), kind="stable")]
        st.caption(f"Mean absolute error on these {len(table):,} rows: {compared['error'].abs().mean():.4g}.")
    else:
        if st.toggle("Only wrong predictions", key="results_wrong", help="Show only the rows the model got wrong."):
            table = table[~table["correct"]]
        st.caption(f"{int(compared['correct'].sum()):,} of {len(compared):,} test rows predicted right.")
    st.dataframe(table.head(SHOWN_ROWS), alt="Actual against predicted values on test rows")


def show_manual_form(predictor: Predictor, model_key: str) -> None:
    prep = predictor.preparation
    frame = manual_row_form(prep, "manual_row", f"manual_{model_key}", "Predict", ":material/play_arrow:")
    if frame is None:
        return
    try:
        report = predictor.check_schema(frame)
        result = predictor.predict(frame).iloc[0]
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    shown = f"{result['prediction']:.4g}" if prep.task == "regression" else str(result["prediction"])
    st.metric(f"Predicted {prep.target}", shown, border=True)
    if prep.classes:
        st.caption("Probabilities: " + " · ".join(f"{c}: {result[f'probability_{c}']:.3f}" for c in prep.classes))
    for finding in report.findings.itertuples():
        st.caption(f":material/warning: {finding.column}: {finding.problem}; {finding.handling}.")
    st.session_state.tried_row = (model_key, frame)
    if source == "run":
        st.page_link("pages/explain.py", label="Why this prediction? Explain this row", icon=":material/psychology:")


def with_reasons_option(predictor: Predictor, key: str, frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """``predictions`` with each row's top three reasons (SHAP) added when the user asks, computed with progress.
    SHAP compares each row with training rows of the run, or with a bundle's typical row (it holds no training
    rows)."""
    if not st.toggle("Add each row's three most influential columns (SHAP)", key=f"reasons_{key}",
                     help="Adds reason_1 to reason_3: the columns that moved each row's prediction most, with their "
                          f"SHAP values. For up to {REASON_ROWS:,} rows here; the command line's `predict --explain` "
                          "takes any number."):
        return predictions
    if len(frame) > REASON_ROWS:
        st.info(f"{len(frame):,} rows are more than the {REASON_ROWS:,} explained here: use `python -m dlcore predict "
                "MODEL DATA --out FILE --explain`.", icon=":material/info:")
        return predictions
    cache = st.session_state.setdefault("results_reasons", {})
    if key not in cache:
        slot = st.empty()
        try:
            background = run_background(str(run_dir)) if source == "run" else reference_row(predictor)
            explanation = explain(predictor, frame, background, on_progress=lambda done, total: slot.progress(
                done / total, text=f"Explaining… {done:,} of {total:,} rows"))
        except DataError as exc:
            st.error(str(exc), icon=":material/error:")
            return predictions
        finally:
            slot.empty()
        while len(cache) >= 4:
            cache.pop(next(iter(cache)))
        cache[key] = with_reasons(predictions, explanation.top_reasons())
    return cache[key]


def show_report(report) -> None:
    if report.extra:
        st.info(f"Ignored column(s), kept in the download: {', '.join(report.extra)}.", icon=":material/info:")
    if len(report.findings):
        st.warning(f"Values unlike the training data in {report.findings['column'].nunique()} column(s); every row is "
                   "still predicted, each as the table says.", icon=":material/warning:")
        st.dataframe(report.findings, hide_index=True, alt="Checks of the file against the training columns")
    else:
        st.success("Every value is of the kind and range seen in training.", icon=":material/check_circle:")


def show_new_data(predictor: Predictor, model_key: str) -> None:
    """Predictions on a file the user uploads; the run's and a bundle's uploaders are separate widgets, so a file
    chosen for one model is never predicted by the other unasked."""
    upload = st.file_uploader("CSV file to predict", type=["csv", "tsv", "txt", "gz", "parquet"],
                              key="predict_upload" if source == "run" else "bundle_predict_upload",
                              help=f"Needs the training columns: {', '.join(predictor.preparation.input_columns)}.")
    if upload is None:
        return
    try:
        frame = read_table(upload.getvalue(), name=upload.name, for_prediction=True).frame
        report = predictor.check_schema(frame)
        show_report(report)
        new = predicted(predictor, f"{model_key}:{upload.file_id}", frame)
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.caption(f"{len(new):,} rows predicted.")
    new = with_reasons_option(predictor, f"{model_key}:{upload.file_id}", frame, new)
    st.dataframe(new.head(SHOWN_ROWS), alt="Predictions on the uploaded file")
    st.download_button("Download predictions (CSV)", partial(csv_text, new), "predictions.csv", "text/csv",
                       icon=":material/download:", key="download_new_predictions", on_click="ignore",
                       help=PREDICTIONS_HELP)


run_dir, test_rows = shown_run()
if run_dir is None:
    st.info("Train a model first, or upload a model bundle (model.zip) downloaded earlier to predict with it.",
            icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    source = "bundle"
else:
    source = st.segmented_control("Model", list(SOURCES), format_func=SOURCES.get, default="run", required=True,
                                  help="The run on show, or a model.zip downloaded earlier from this app.",
                                  key="results_source")

shared = st.session_state.shared and source == "run"
if source == "run":
    run_heading(st.session_state.job)
    try:
        predictor = load_run(str(run_dir))  # its metrics.json may be missing or damaged: the model still predicts
    except DataError as exc:
        st.error(f"This run's model cannot be loaded: {exc}", icon=":material/error:")
        st.stop()
    model_key = str(run_dir)
    if shared:
        st.caption("A shared run, read-only: its scores, charts and model; predictions on its test split come "
                   "without the rows' input columns.")
    if predictor.metrics.get("recovered_from_checkpoint"):
        st.caption("The training process of this run ended unexpectedly; these are the scores of its best "
                   "checkpoint.")
    if test_rows is None:
        st.caption("This run's folder has no test rows, so the charts are not shown.")
    test_rows = usable_test_rows(predictor, test_rows)
else:
    bundle_upload = st.file_uploader("Model bundle", type=["zip"], key="bundle_upload",
                                     help=f"The {BUNDLE_NAME} from Download model. Only its JSON files and the Keras "
                                          "model (safe mode) are read; its code files are never run.")
    if bundle_upload is None:
        st.stop()
    data = bundle_upload.getvalue()
    model_key = hashlib.sha256(data).hexdigest()
    try:
        predictor = load_bundle(model_key, data)
    except DataError as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    test_rows = None
    st.caption(f"A model of **{predictor.preparation.target}** ({predictor.preparation.task}); the scores are those "
               "it was saved with. The test rows are not in a bundle, so the charts are not shown.")

show_scores(predictor.metrics, "This run's" if source == "run" else "This bundle's", predictor.metrics_problem)
if source == "run" and not shared and predictor.metrics:
    show_leaderboard(st.session_state.job, predictor.preparation.classes)
test_predictions = None
if test_rows is not None:
    try:
        test_predictions = test_predictions_of(predictor, model_key, test_rows)  # test rows: a run's only
    except DataError as exc:  # a damaged model.keras in the run folder
        st.error(str(exc), icon=":material/error:")
        st.stop()
    if shared:  # the owner's input rows stay private: only the target and the predictions
        test_predictions = test_predictions[[predictor.preparation.target, *predictor.output_columns]]
    show_evaluation(predictor, test_predictions, test_rows[predictor.preparation.target])

st.subheader("Test the model manually")
if test_rows is not None:
    show_actual_vs_predicted(predictor, test_predictions, test_rows, inputs=not shared)
show_manual_form(predictor, model_key)

st.subheader("Predictions")
if test_rows is None:
    show_new_data(predictor, model_key)
else:
    on_test, on_new = st.tabs(["Test split", "New data"])
    with on_test:
        test_predictions = with_reasons_option(predictor, f"{model_key}:test", test_rows, test_predictions)
        st.dataframe(test_predictions.head(SHOWN_ROWS), alt="Predictions on the test split")
        st.download_button("Download predictions (CSV)", partial(csv_text, test_predictions),
                           "test_predictions.csv", "text/csv", icon=":material/download:",
                           key="download_test_predictions", on_click="ignore", help=PREDICTIONS_HELP)
    with on_new:
        show_new_data(predictor, model_key)

if source == "run":
    st.subheader("Model")
    try:
        bundle = (run_dir / BUNDLE_NAME).read_bytes()
    except OSError:
        st.warning(f"This run's folder has no {BUNDLE_NAME} to download.", icon=":material/warning:")
        st.stop()
    st.caption(f"One zip ({len(bundle) / 1024:,.0f} KB): the Keras model, its preparation as JSON, the schema of the "
               "training columns, metrics, history, a README, and `predict.py`, which predicts on a raw CSV with only "
               f"its `requirements.txt` installed: `python predict.py new.csv --out predictions.csv`. Upload it here "
               f"later, or run `python -m dlcore predict {BUNDLE_NAME} new.csv --out predictions.csv`.")
    st.download_button("Download model", bundle, BUNDLE_NAME, "application/zip", icon=":material/deployed_code:",
                       key="download_model", on_click="ignore", help="The zip described above; nothing in it is "
                                                                    "pickled or needs this app to run.")
