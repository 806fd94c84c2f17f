"""The Explain page in AppTest: the explanation runs as a job and is kept in the run folder, its charts, the class
of a multiclass network, one row explained (a test row or one entered by hand), the SHAP download, and a shared run
that shows only the importance."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from conftest import driver_frame, open_run_page
from dlcore.architectures import resolve
from dlcore.explanations import EXPLANATIONS_FILE, explain_run
from dlcore.jobs import start_run
from dlcore.prepared import prepare
from dlcore.training import TrainConfig

OWNER = "e" * 32


def finished_run(task: str, root, folds: int = 0):
    """A run trained in the queue: by default the app's ensemble (five networks here)."""
    data = prepare(driver_frame(task, 300, 3), "y", task)
    arch = resolve("auto", data.x_train.shape[1], len(data.x_train))
    run = start_run(data, arch, TrainConfig(epochs=30, learning_rate=0.01, folds=folds), owner=OWNER, root=root)
    assert run.wait(180) and run.status == "finished", run.error
    return run


@pytest.fixture(scope="module")
def multiclass_run(tmp_path_factory):
    """A finished multiclass network, explained already (40 test rows)."""
    run = finished_run("multiclass", tmp_path_factory.mktemp("runs"), folds=1)
    explain_run(run.run_dir, rows=40)
    return run


def explain_page(run, monkeypatch, shared: bool = False) -> AppTest:
    return open_run_page("pages/explain.py", run, OWNER, monkeypatch, shared)


def charts(app) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def test_explaining_runs_as_a_job_kept_in_the_run_folder(tmp_path, monkeypatch):
    run = finished_run("binary", tmp_path / "runs")
    app = explain_page(run, monkeypatch)
    assert not charts(app), "nothing to show before the run is explained"
    app.number_input(key="explain_rows").set_value(30)
    app.button(key="explain_start").click().run()
    assert not app.exception and not app.error
    assert (run.run_dir / "explain" / "status.json").is_file()
    deadline = time.monotonic() + 180
    while not (run.run_dir / EXPLANATIONS_FILE).is_file() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert json.loads((run.run_dir / EXPLANATIONS_FILE).read_text())["explanation"]["explainer"] == "permutation"
    app.run()
    assert not app.exception
    assert len(charts(app)) == 4 and any("30 test rows" in c.value for c in app.caption)
    assert charts(app)[0]["data"][0]["y"][-1] == "driver"  # the driver is the top bar
    # a revisit reads explanations.json: nothing is computed again
    assert len(charts(explain_page(run, monkeypatch))) == 4


def test_every_view_and_the_class_of_a_multiclass_network(multiclass_run, monkeypatch):
    app = explain_page(multiclass_run, monkeypatch)
    titles = [chart["layout"]["title"]["text"] for chart in charts(app)]
    assert titles[0].startswith("Columns by importance")
    assert any(title.startswith("How each column pushes") for title in titles)
    assert any(title.startswith("driver: its value against") for title in titles)
    assert any(title.startswith("Why this row's") for title in titles)
    importance = charts(app)[0]["data"][0]
    assert importance["y"][-1] == "driver"  # the driver is the top bar
    assert any("40 test rows" in c.value for c in app.caption)
    assert app.selectbox(key="explain_class").options == ["probability of high", "probability of low",
                                                          "probability of mid"]
    app.selectbox(key="explain_class").set_value(2).run()
    assert not app.exception
    assert any("probability of mid" in chart["layout"]["title"]["text"] for chart in charts(app))

    assert app.get("download_button")[0].proto.label == "Download SHAP values (CSV)"


def test_a_row_entered_by_hand_is_explained(multiclass_run, monkeypatch):
    app = explain_page(multiclass_run, monkeypatch)
    app.segmented_control(key="explain_row_source").set_value("own").run()
    app.number_input(key=f"explain_manual_{multiclass_run.run_id}_driver").set_value(2.5)
    app.button[-1].click().run()  # the form's Explain
    assert not app.exception
    waterfall = [chart for chart in charts(app) if chart["data"][0]["type"] == "waterfall"]
    assert waterfall and "driver = 2.5" in waterfall[0]["data"][0]["y"][1]


def test_a_shared_run_shows_only_the_importance(multiclass_run, monkeypatch):
    app = explain_page(multiclass_run, monkeypatch, shared=True)
    assert len(charts(app)) == 1
    assert not [b for b in app.button if b.key == "explain_start"]
    assert not app.get("download_button")


def results_page(run, monkeypatch) -> AppTest:
    return open_run_page("pages/results.py", run, OWNER, monkeypatch)


def test_predictions_download_gains_each_rows_top_reasons(multiclass_run, monkeypatch):
    app = results_page(multiclass_run, monkeypatch)
    test_rows = multiclass_run.test_rows()
    app.toggle(key=f"reasons_{multiclass_run.run_dir}:test").set_value(True).run()
    assert not app.exception
    table = next(df.value for df in app.dataframe if "reason_1" in df.value.columns)
    assert len(table) == min(len(test_rows), 200)
    assert set(table["reason_1"]) <= set(multiclass_run.prepared().preparation.input_columns)
    assert (table["reason_1"] == "driver").mean() > 0.7

    new = driver_frame("multiclass", 12, 8).drop(columns="y")
    app.file_uploader(key="predict_upload").upload("new.csv", new.to_csv(index=False).encode(), "text/csv").run()
    app.toggle(key=next(t.key for t in app.toggle if t.key.startswith("reasons_") and not t.key.endswith(":test")))\
        .set_value(True).run()
    assert not app.exception
    new_table = [df.value for df in app.dataframe if "reason_1" in df.value.columns][-1]
    assert len(new_table) == 12 and list(new_table.columns[:5]) == list(new.columns)


def test_the_row_tried_on_results_is_explained_on_explain(multiclass_run, monkeypatch):
    app = results_page(multiclass_run, monkeypatch)
    next(box for box in app.number_input if box.label == "driver").set_value(-2.0)
    app.button(key="FormSubmitter:manual_row-Predict").click().run()
    assert any(link.proto.label.startswith("Why this prediction?") for link in app.get("page_link"))
    app.switch_page("pages/explain.py").run()
    app.segmented_control(key="explain_row_source").set_value("own").run()
    app.button(key="explain_tried_row").click().run()
    assert not app.exception
    waterfall = [chart for chart in charts(app) if chart["data"][0]["type"] == "waterfall"]
    assert waterfall and "driver = -2.0" in waterfall[0]["data"][0]["y"][1]
