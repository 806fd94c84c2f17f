"""Every page in AppTest: without data it points to the missing step, with data it works end to end."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import churn_frame, to_csv
from dlcore.baselines import naive_baseline

PAGES = ["pages/explore.py", "pages/prepare.py", "pages/baseline.py", "pages/model.py", "pages/tune.py",
         "pages/train.py", "pages/runs.py", "pages/results.py", "pages/explain.py"]


def churn_csv(rows: int = 240, seed: int = 0) -> bytes:
    return to_csv(churn_frame(rows, seed, calls=True))


@pytest.fixture
def app(open_app) -> AppTest:
    return open_app()


def target_box(app: AppTest):
    return next(box for box in app.selectbox if box.label == "Target column")


@pytest.fixture
def loaded(app) -> AppTest:
    app.file_uploader[0].upload("churn.csv", churn_csv(), "text/csv").run()
    assert not app.exception
    return app


def test_upload_page_starts_empty(app):
    assert not app.exception
    assert app.title[0].value == "Upload"
    assert "Upload a file or load a sample dataset" in app.info[0].value


@pytest.mark.parametrize("page", PAGES)
def test_pages_without_data_point_to_the_missing_step(app, page):
    app.switch_page(page).run()
    assert not app.exception
    message = app.info[0].value
    assert len(message) > 60, "a page without its prerequisite says what it will show and what is missing"
    assert any(step in message for step in ("data set is loaded", "training", "Train a model")), message
    link = app.get("page_link")[0].proto
    assert link.page in ("upload", "train") and link.label.startswith("Go to"), \
        "and links to the step that provides it"


def test_upload_infers_target_and_task(loaded):
    assert target_box(loaded).value == "churn"
    assert loaded.session_state["task"] == "binary"
    assert "Ready: predict **churn** (binary)" in loaded.success[0].value
    assert loaded.metric[0].value == "240"
    memory = next(m for m in loaded.metric if m.label == "In memory").value
    assert memory == f"{loaded.session_state['dataset'].frame.memory_usage(deep=True).sum() / 2**20:,.1f} MB"
    assert len(loaded.dataframe[0].value) == 100  # the preview


def test_changing_target_reinfers_task(loaded):
    target_box(loaded).select("minutes").run()
    assert not loaded.exception
    assert loaded.session_state["target"] == "minutes"
    assert loaded.session_state["task"] == "regression"
    assert any("have no value in 'minutes'" in w.value for w in loaded.warning)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"a,b,c\n", "no data rows"),
    (bytes(range(256)) * 8, "not a text table"),
])
def test_bad_files_get_a_clear_message(app, content, message):
    app.file_uploader[0].upload("bad.csv", content, "text/csv").run()
    assert not app.exception
    assert message in app.error[0].value
    assert app.session_state["dataset"] is None


def test_constant_target_is_refused(app):
    app.file_uploader[0].upload("c.csv", b"x,y\n1,5\n2,5\n3,5\n", "text/csv").run()
    target_box(app).select("y").run()
    assert not app.exception
    assert "single value" in app.error[0].value


def test_the_target_is_suggested_only_when_a_name_says_so_else_the_page_asks(app):
    rows = "".join(f"{i % 7}.5,{i * 3 % 11},{'yes' if i % 3 else 'no'}\n" for i in range(30))
    app.file_uploader[0].upload("plain.csv", ("price,size,sold\n" + rows).encode(), "text/csv").run()
    assert not app.exception
    assert target_box(app).value is None and app.session_state["target"] is None
    assert "Choose the target column" in app.info[0].value and not app.success
    target_box(app).select("sold").run()
    assert app.success[0].value.startswith("Ready: predict **sold** (binary)")
    target_box(app).select("price").run()  # a second change takes at once too
    assert app.session_state["target"] == "price" and app.session_state["task"] == "regression"

    named = "".join(f"{'a' if i % 2 else 'b'},{i % 5},{i * 7 % 13}\n" for i in range(30))
    app.file_uploader[0].upload("named.csv", ("Class,x,z\n" + named).encode(), "text/csv").run()
    assert target_box(app).value == "Class", "named like a target, though first"
    assert app.success[0].value.startswith("Ready: predict **Class** (binary)")


def test_sample_dataset_loads_without_upload(app):
    app.segmented_control[0].set_value("Try a sample dataset").run()
    app.selectbox[0].select("Iris flowers (multiclass)").run()
    app.button[0].click().run()
    assert not app.exception
    assert app.session_state["target"] == "species"
    assert app.session_state["task"] == "multiclass"
    app.switch_page("pages/explore.py").run()
    app.switch_page("pages/upload.py").run()
    assert app.segmented_control(key="upload_source").value == "Try a sample dataset", "back on Upload, the choice holds"
    assert app.selectbox(key="upload_sample").value == "Iris flowers (multiclass)"


def explore(app: AppTest, section: str) -> AppTest:
    app.switch_page("pages/explore.py").run()
    options = app.segmented_control(key="explore_section").options
    app.segmented_control(key="explore_section").set_value(next(o for o in options if o.startswith(section))).run()
    assert not app.exception
    return app


def test_explore_shows_nulls_histograms_and_bars(loaded):
    explore(loaded, "Distributions")
    charts = loaded.get("plotly_chart")
    # missing-values bar + 2 numeric histograms (minutes, calls) + 3 categorical bars (plan, international, churn)
    assert len(charts) == 6
    stats = loaded.dataframe[0].value
    assert set(stats.index) == {"minutes", "calls"}
    assert {"mean", "std", "50%", "skew", "zeros", "outliers"} <= set(stats.columns)


def test_explore_column_types_can_be_changed(loaded):
    explore(loaded, "Column types")
    table = loaded.dataframe[0].value.set_index("column")
    assert table.loc["minutes", "missing"] == pytest.approx(15 / 240)
    assert table.loc["plan", "use as"] == "categorical"
    assert table.loc["international", "use as"] == "boolean"
    loaded.session_state["kinds_editor"] = {"edited_rows": {3: {"use as": "excluded"}}, "added_rows": [],
                                            "deleted_rows": []}
    loaded.run()
    assert not loaded.exception
    assert loaded.session_state["kinds"] == {"calls": "excluded"}
    loaded.switch_page("pages/prepare.py").run()
    assert "calls" not in loaded.session_state["prepared"][1].preparation.input_columns


def test_explore_alert_fix_flows_into_preparation(app):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=300), "noise": rng.normal(size=300), "y": rng.normal(size=300)})
    frame["y_copy"] = frame["y"] * 3 + 1  # a transform of the target: leakage
    app.file_uploader[0].upload("leak.csv", frame[["x", "noise", "y_copy", "y"]].to_csv(index=False).encode(),
                                "text/csv").run()
    explore(app, "Alerts")
    leak = [b for b in app.button if b.label == "Exclude it"]
    assert any("y_copy" in m.value and "leakage" in m.value for m in app.markdown)
    leak[-1].click().run()
    assert app.session_state["kinds"]["y_copy"] == "excluded"
    assert any(b.label == "Applied" and b.disabled for b in app.button)


def test_prepare_lists_every_column(loaded):
    loaded.switch_page("pages/prepare.py").run()
    assert not loaded.exception
    plan = loaded.dataframe[0].value.set_index("column")
    assert set(plan.index) == {"minutes", "plan", "international", "calls"}
    assert plan.loc["plan", "outputs"] == 3
    assert plan.loc["international", "kind"] == "boolean"
    preview = loaded.dataframe[1].value
    assert list(preview.columns[:1]) == ["minutes"] and "plan=basic" in preview.columns
    rows = [m.value for m in loaded.metric]
    assert rows[:3] == ["172", "20", "48"]  # 80/20, then 10% of the training part


def test_baseline_matches_dlcore(loaded):
    loaded.switch_page("pages/baseline.py").run()
    assert not loaded.exception
    expected = naive_baseline(loaded.session_state["prepared"][1])["accuracy"]
    assert loaded.metric[0].value == f"{expected:.4g}"


def test_model_page_shows_layers_and_saves_settings(loaded):
    loaded.switch_page("pages/model.py").run()
    assert not loaded.exception
    layers = loaded.dataframe[-1].value  # after Auto's recipe
    assert layers["layer"].iloc[-1] == "output" and layers["output shape"].iloc[-1] == "(None, 1)"
    loaded.selectbox(key="model_arch").select("chollet_small").run()
    assert list(loaded.dataframe[-1].value["output shape"][1:3]) == ["(None, 64)", "(None, 64)"]
    next(entry for entry in loaded.number_input if entry.label == "Max epochs").set_value(7)
    loaded.button(key="FormSubmitter:train_settings-Save settings").click().run()
    assert loaded.session_state["train_config"].epochs == 7


def train(app: AppTest, epochs: int = 4) -> AppTest:
    app.session_state["train_config"].epochs = epochs
    app.switch_page("pages/train.py").run()
    app.button[0].click().run()
    return app


def test_training_runs_in_background_and_page_renders_meanwhile(loaded):
    train(loaded, epochs=60)
    job = loaded.session_state["job"]
    assert job.status == "running", "the click returns while the job trains"
    loaded.run()
    assert not loaded.exception
    assert loaded.get("progress"), "the live view shows progress while training"
    assert loaded.button[1].label == "Stop" and not loaded.button[1].disabled
    loaded.button[1].click().run()
    assert job.wait(60)
    assert job.status == "stopped"
    loaded.run()
    assert "Training stopped" in loaded.success[0].value


def predictions_tables(app: AppTest) -> list[pd.DataFrame]:
    """The tables of predictions on the Results page (test split, then new data), whatever is shown around them."""
    return [df.value for df in app.dataframe if "prediction" in df.value.columns]


def test_results_after_training(loaded):
    job = train(loaded).session_state["job"]  # the default: an ensemble of five, each member a job
    assert job.wait(300) and job.status == "finished", job.error
    loaded.switch_page("pages/results.py").run()
    assert not loaded.exception
    predictions = predictions_tables(loaded)[0]
    assert len(predictions) == 48
    assert {"prediction", "probability_no", "probability_yes"} <= set(predictions.columns)
    labels = [b.label for b in loaded.get("download_button")]
    assert labels == ["Download predictions (CSV)", "Download model"]

    new_rows = pd.read_csv(io.BytesIO(churn_csv(rows=31, seed=5))).drop(columns="churn")
    loaded.file_uploader(key="predict_upload").upload("new.csv", new_rows.to_csv(index=False).encode(), "text/csv").run()
    assert not loaded.exception
    assert len(predictions_tables(loaded)[1]) == 31
    assert [b.label for b in loaded.get("download_button")].count("Download predictions (CSV)") == 2

    loaded.file_uploader(key="predict_upload").upload(
        "bad.csv", new_rows.drop(columns="plan").to_csv(index=False).encode(), "text/csv").run()
    assert not loaded.exception
    assert "plan" in loaded.error[0].value


def test_kfold_chosen_on_prepare_runs_before_training(loaded):
    loaded.switch_page("pages/prepare.py").run()
    loaded.toggle(key="prepare_kfold_on").set_value(True).run()
    loaded.number_input(key="prepare_k").set_value(3).run()
    assert loaded.session_state["kfold"] == 3
    job = train(loaded, epochs=3).session_state["job"]
    assert len(list((job.run_dir / "folds").iterdir())) == 3, "one job folder per fold"
    assert job.wait(180) and job.status == "finished", job.error
    assert len(job.metrics["cross_validation"]["scores"]) == 3
    loaded.switch_page("pages/results.py").run()
    assert not loaded.exception
    assert any("3-fold cross-validation" in info.value for info in loaded.info)


def test_finished_training_reads_the_curves_in_plain_words(loaded):
    job = train(loaded, epochs=2).session_state["job"]
    assert job.wait(120) and job.status == "finished", job.error
    loaded.run()
    assert not loaded.exception
    from dlcore.training import overfitting_hints

    hints = overfitting_hints(pd.DataFrame(job.history), job.config.patience)
    assert hints and set(hints) <= {info.value for info in loaded.info}
    assert f"Trained on {job.metrics['device']}." in [caption.value for caption in loaded.caption]


def test_reading_the_same_file_again_another_way_is_profiled_again(app):
    raw = "a;b;label\n" + "".join(f"{i},{i % 7};{i % 3};{'yes' if i % 2 else 'no'}\n" for i in range(60))
    app.file_uploader[0].upload("decimals.csv", raw.encode(), "text/csv").run()
    assert app.session_state["dataset"].options.decimal == ","

    def kind_of_a() -> str:
        app.switch_page("pages/explore.py").run()
        assert not app.exception
        return app.session_state["dataset"].frame["a"].dtype.kind, next(
            c.value for c in app.caption if c.value.startswith("Kinds:"))

    assert kind_of_a() == ("f", "Kinds: 2 numeric, 1 boolean.")
    app.switch_page("pages/upload.py").run()
    next(box for box in app.selectbox if box.label == "Decimal mark").select(".")
    next(b for b in app.button if b.label == "Read again").click().run()
    assert app.session_state["dataset"].options.decimal == "."
    dtype_kind, kinds = kind_of_a()  # the same bytes and columns, read as text now: profiled again
    assert dtype_kind != "f" and kinds != "Kinds: 2 numeric, 1 boolean."


def test_no_page_has_a_bare_expression_that_streamlit_magic_would_print():
    """Streamlit's magic writes a bare ``x`` or ``x.attr`` line to the page (a bundle's model once showed up as
    ``<Functional name=auto, built=True>``); calls and docstrings are left alone."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    printed = [f"{path.name}:{node.lineno}: {ast.unparse(node)}"
               for path in [root / "app.py", *sorted((root / "pages").glob("*.py"))]
               for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.Expr) and not isinstance(node.value, (ast.Call, ast.Constant, ast.Await))]
    assert printed == []
