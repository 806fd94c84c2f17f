"""The Results page in AppTest: charts per task, the threshold, the model tried by hand, the schema report on a new
file, and a downloaded bundle uploaded back without a trained model in the session."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import churn_frame
from dlcore.architectures import resolve
from dlcore.jobs import start_run
from dlcore.prepared import prepare
from dlcore.runs import Run
from dlcore.runtime.inference import Predictor
from dlcore.training import TrainConfig


def price_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.uniform(40, 200, rows).round(1)
    area = rng.choice(["north", "south"], rows)
    return pd.DataFrame({"size": size, "area": area, "price": 1000 * size + 20_000 * (area == "north")})


def finished_job(frame: pd.DataFrame, target: str, task: str, root, folds: int = 0) -> Run:
    """A run trained in the queue: by default the app's ensemble (five networks here)."""
    data = prepare(frame, target, task)
    arch = resolve("auto", data.x_train.shape[1], len(data.x_train))
    run = start_run(data, arch, TrainConfig(epochs=5, learning_rate=0.01, folds=folds), owner="c" * 32, root=root)
    assert run.wait(180) and run.status == "finished", run.error
    return run


@pytest.fixture(scope="module")
def churn_job(tmp_path_factory):
    return finished_job(churn_frame(300, 0, gaps=False), "churn", "binary", tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def price_job(tmp_path_factory):
    return finished_job(price_frame(300, 1), "price", "regression", tmp_path_factory.mktemp("runs"), folds=1)


def results(tmp_path, monkeypatch, job=None) -> AppTest:
    monkeypatch.setenv("DLCORE_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_file("../app.py", default_timeout=120)
    app.session_state["job"] = job
    app.run()
    app.switch_page("pages/results.py").run()
    assert not app.exception
    return app


def csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def table_with(app: AppTest, column: str) -> pd.DataFrame:
    return next(df.value for df in app.dataframe if column in df.value.columns)


def test_binary_results_show_every_chart(churn_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch, churn_job)
    titles = [chart.proto.spec for chart in app.get("plotly_chart")]
    # scores, confusion counts and shares, ROC, precision-recall, calibration, metrics across thresholds
    assert len(titles) == 7
    for fragment in ("Confusion matrix, counts", "shares of each actual class", "ROC curve", "Precision-recall",
                     "Calibration", "above a threshold"):
        assert any(fragment in spec for spec in titles), fragment
    assert [m.label for m in app.metric][-5:] == ["Accuracy", "Balanced accuracy", "Precision", "Recall", "F1"]
    assert float(app.metric[-5].value) == pytest.approx(churn_job.metrics["test"]["accuracy"], abs=5e-4)


def test_threshold_changes_the_metrics(churn_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch, churn_job)
    before = {m.label: m.value for m in app.metric[-5:]}
    app.slider(key="results_threshold").set_value(0.9).run()
    assert not app.exception
    after = {m.label: m for m in app.metric[-5:]}
    assert float(after["Recall"].value) <= float(before["Recall"])
    assert after["Recall"].delta.endswith("vs 0.5")
    assert any("The downloads use the model's 0.5" in c.value for c in app.caption)


def test_actual_against_predicted_and_only_mistakes(churn_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch, churn_job)
    table = table_with(app, "correct")
    test_rows = churn_job.test_rows()
    assert len(table) == len(test_rows)
    assert table["actual"].tolist() == test_rows["churn"].tolist()
    assert {"predicted", "probability_no", "probability_yes", "minutes", "plan"} <= set(table.columns)
    app.toggle(key="results_wrong").set_value(True).run()
    wrong = table_with(app, "correct")
    assert len(wrong) == (~table["correct"]).sum() and not wrong["correct"].any()


def test_a_row_entered_by_hand_is_predicted(churn_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch, churn_job)
    minutes = next(box for box in app.number_input if box.label == "minutes")
    plan = next(box for box in app.selectbox if box.label == "plan")
    seen = churn_job.prepared().preparation.seen
    assert minutes.value == pytest.approx(seen["minutes"]["median"])
    # shown with its own digits (a median of 0.0038 would read 0.00 at Streamlit's default two decimals), and + / −
    # step by about a hundredth of the training range
    assert minutes.proto.format == "%g"
    spread = seen["minutes"]["max"] - seen["minutes"]["min"]
    assert spread / 1000 < minutes.step <= spread / 100
    assert plan.value == seen["plan"]["levels"][0] and sorted(plan.options) == ["basic", "plus", "pro"]
    minutes.set_value(1000.0)
    plan.set_value("basic")
    app.button(key="FormSubmitter:manual_row-Predict").click().run()
    assert not app.exception
    row = pd.DataFrame([{"minutes": 1000.0, "plan": "basic", "international": seen["international"]["levels"][0]}])
    expected = Predictor.load(churn_job.run_dir).predict(row).iloc[0]
    shown = next(m for m in app.metric if m.label == "Predicted churn")
    assert shown.value == expected["prediction"]
    assert any(f"yes: {expected['probability_yes']:.3f}" in c.value for c in app.caption)
    assert any("outside the training range" in c.value for c in app.caption)  # 1000 minutes is beyond training


def test_new_file_is_checked_then_every_row_predicted(churn_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch, churn_job)
    new = churn_frame(23, 9, gaps=False).drop(columns="churn")
    new.loc[[0, 5], "plan"] = "enterprise"
    new.insert(0, "customer", range(23))
    app.file_uploader(key="predict_upload").upload("new.csv", csv(new), "text/csv").run()
    assert not app.exception
    assert any("Ignored column(s), kept in the download: customer" in info.value for info in app.info)
    assert any("every row is still predicted" in warning.value for warning in app.warning)
    report = table_with(app, "handling")
    assert report.set_index("column").loc["plan", "rows"] == 2
    predictions = [df.value for df in app.dataframe if "prediction" in df.value.columns][-1]
    assert len(predictions) == 23 and list(predictions.columns[:4]) == list(new.columns)
    assert any(c.value == "23 rows predicted." for c in app.caption)

    app.file_uploader(key="predict_upload").upload("bad.csv", csv(new.drop(columns=["plan", "minutes"])),
                                                   "text/csv").run()
    assert not app.exception
    assert "Missing column(s) the model needs: minutes, plan." in app.error[0].value


def test_regression_results(price_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch, price_job)
    specs = [chart.proto.spec for chart in app.get("plotly_chart")]
    assert len(specs) == 4
    for fragment in ("Predicted against actual price", "Errors against predictions", "Distribution of the errors"):
        assert any(fragment in spec for spec in specs), fragment
    assert not app.slider, "no threshold for regression"
    sure = table_with(app, "clear difference")  # each comparison with its interval, in the headline metric's units
    metrics = price_job.metrics
    primary, baselines = metrics["primary_metric"], metrics["baselines"]
    assert len(sure) == len(baselines) and set(sure["clear difference"]) <= {"yes", "no"}
    assert sure.iloc[:, 0].tolist() == pytest.approx(
        [metrics["test"][primary] - scores[primary] for scores in baselines.values()])
    app.toggle(key="results_worst").set_value(True).run()
    errors = table_with(app, "error")["error"].abs()
    assert errors.is_monotonic_decreasing


def test_bundle_uploaded_without_a_trained_model(churn_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch)
    assert "upload a model bundle" in app.info[0].value
    assert app.get("page_link")
    bundle = (churn_job.run_dir / "model.zip").read_bytes()
    app.file_uploader(key="bundle_upload").upload("model.zip", bundle, "application/zip").run()
    assert not app.exception
    assert app.metric[0].value == f"{churn_job.metrics['test']['accuracy']:.4g}"
    assert not app.get("plotly_chart")[1:], "no test rows in a bundle: only the scores chart"
    assert "Download model" not in [b.label for b in app.get("download_button")]

    new = churn_frame(11, 4, gaps=False).drop(columns="churn")
    app.file_uploader(key="bundle_predict_upload").upload("new.csv", csv(new), "text/csv").run()
    assert not app.exception
    predictions = table_with(app, "prediction")
    expected = Predictor.load(churn_job.run_dir).predict(new)
    assert predictions["prediction"].tolist() == expected["prediction"].tolist()
    assert [b.label for b in app.get("download_button")] == ["Download predictions (CSV)"]


@pytest.mark.parametrize("content, message", [
    (b"not a zip at all", "not a zip file"),
    ("traversal", "unexpected file(s) ../evil.py"),
])
def test_bad_bundles_get_a_clear_message(churn_job, tmp_path, monkeypatch, content, message):
    if content == "traversal":
        buffer = io.BytesIO()
        with zipfile.ZipFile(churn_job.run_dir / "model.zip") as source, zipfile.ZipFile(buffer, "w") as archive:
            for name in source.namelist():
                archive.writestr(name, source.read(name))
            archive.writestr("../evil.py", b"print('hi')")
        content = buffer.getvalue()
    app = results(tmp_path, monkeypatch)
    app.file_uploader(key="bundle_upload").upload("model.zip", content, "application/zip").run()
    assert not app.exception
    assert message in app.error[0].value


def test_a_bundle_can_replace_the_session_model(churn_job, price_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch, churn_job)
    app.segmented_control(key="results_source").set_value("bundle").run()
    assert not app.get("plotly_chart")
    app.file_uploader(key="bundle_upload").upload("model.zip", (price_job.run_dir / "model.zip").read_bytes(),
                                                  "application/zip").run()
    assert not app.exception
    assert app.metric[0].label == "Network: test MAE"
    assert any(box.label == "size" for box in app.number_input)


def test_a_run_read_back_from_its_folder_shows_its_charts(churn_job, tmp_path, monkeypatch):
    app = results(tmp_path, monkeypatch, Run(churn_job.run_dir))  # as after a refresh: everything from the folder
    assert app.metric[0].value == f"{churn_job.metrics['test']['accuracy']:.4g}"
    assert len(app.get("plotly_chart")) == 7, "the test rows are in the run folder, so every chart is drawn"
    assert [b.label for b in app.get("download_button")] == ["Download predictions (CSV)", "Download model"]
    assert {"minutes", "plan"} <= set(table_with(app, "correct").columns)


def test_the_test_split_predictions_come_from_the_run_folder_without_loading_the_model(churn_job, tmp_path,
                                                                                        monkeypatch):
    stored = churn_job.test_predictions()
    expected = Predictor.load(churn_job.run_dir).predict(churn_job.test_rows())
    pd.testing.assert_frame_equal(stored, expected)  # what the worker wrote is what the model predicts
    uploaded = churn_frame(300, 0, gaps=False)  # each prediction names its row in the uploaded file
    pd.testing.assert_frame_equal(uploaded.iloc[stored["row_in_file"] - 1],
                                  stored[uploaded.columns].set_axis(stored["row_in_file"] - 1), check_names=False)

    def unloadable(self):
        raise AssertionError("the server loaded the model")

    monkeypatch.setattr(Predictor, "model", property(unloadable))
    app = results(tmp_path, monkeypatch, churn_job)
    download = next(b for b in app.get("download_button") if b.proto.label == "Download predictions (CSV)")
    table = table_with(app, "correct")
    assert len(table) == len(stored) and table["predicted"].tolist() == stored["prediction"].tolist()
