"""The Baseline and Results pages in AppTest: every baseline in a table, computed once, and the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dlcore.baselines import baselines, score_table

BINARY_ROWS = ["Majority class", "Random (shuffled training labels)", "Logistic regression", "Gradient boosting"]


def shop_csv(rows: int = 200, seed: int = 0) -> bytes:
    """``bought`` follows a rule on ``visits`` and ``plan``; ``spend`` is a number to predict as well."""
    rng = np.random.default_rng(seed)
    visits = rng.normal(10, 3, rows).round(1)
    plan = rng.choice(["free", "basic", "pro"], rows)
    frame = pd.DataFrame({
        "visits": visits,
        "plan": plan,
        "spend": (20 + 4 * visits + 30 * (plan == "pro") + rng.normal(0, 2, rows)).round(2),
        "bought": np.where((visits > 11) | (plan == "pro"), "yes", "no"),
    })
    return frame.to_csv(index=False).encode()


@pytest.fixture
def loaded(open_app) -> AppTest:
    app = open_app(shop_csv(), "shop.csv", target="bought")
    assert app.session_state["target"] == "bought"
    return app


def test_baseline_page_shows_every_baseline(loaded):
    loaded.switch_page("pages/baseline.py").run()
    assert not loaded.exception

    table = loaded.dataframe[0].value
    assert list(table.index) == BINARY_ROWS
    assert list(table.columns) == ["Accuracy", "Balanced accuracy", "F1 (macro)", "Log loss", "ROC AUC"]
    data = loaded.session_state["prepared"][1]
    expected = score_table(baselines(data, seed=42), "binary")
    pd.testing.assert_frame_equal(table, expected, check_exact=False, rtol=1e-9)
    assert table.loc["Logistic regression", "Accuracy"] > table.loc["Majority class", "Accuracy"] + 0.2
    assert [m.label for m in loaded.metric] == ["Majority class: test Accuracy", "Gradient boosting: test Accuracy"]
    assert loaded.metric[1].value == f"{expected.loc['Gradient boosting', 'Accuracy']:.4g}"
    explained = loaded.markdown[-1].value
    assert all(f"**{row}**" in explained for row in BINARY_ROWS)


def test_baselines_are_computed_once_per_prepared_data(loaded):
    loaded.switch_page("pages/baseline.py").run()
    first = loaded.session_state["baselines"]
    loaded.run()
    assert loaded.session_state["baselines"] is first, "a rerun reuses the fitted baselines"

    loaded.session_state["seed"] = 7
    loaded.run()
    assert not loaded.exception
    second = loaded.session_state["baselines"]
    assert second[0] == loaded.session_state["prepared"][0] != first[0]
    assert second[1] == baselines(loaded.session_state["prepared"][1], seed=7)


def test_baseline_page_for_regression_adds_the_median(loaded):
    next(box for box in loaded.selectbox if box.label == "Target column").select("spend").run()
    assert loaded.session_state["task"] == "regression"
    loaded.switch_page("pages/baseline.py").run()
    assert not loaded.exception

    table = loaded.dataframe[0].value
    assert list(table.index) == ["Training mean", "Training median", "Random (shuffled training values)",
                                 "Ridge regression", "Gradient boosting"]
    assert list(table.columns) == ["MAE", "RMSE", "R²", "MAPE"]
    assert table.loc["Ridge regression", "MAE"] < table.loc["Training mean", "MAE"] / 2
    assert loaded.metric[0].label == "Training mean: test MAE"


def test_results_show_baselines_and_the_verdict(loaded):
    loaded.session_state["train_config"].epochs = 3
    loaded.switch_page("pages/train.py").run()
    loaded.button[0].click().run()
    job = loaded.session_state["job"]
    assert job.wait(120) and job.status == "finished", job.error

    loaded.switch_page("pages/results.py").run()
    assert not loaded.exception
    metrics, judged = job.metrics, job.metrics["verdict"]
    table = loaded.dataframe[0].value
    assert list(table.index) == ["Network", *BINARY_ROWS]
    assert table.loc["Network", "Accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert table.loc["Gradient boosting", "ROC AUC"] == pytest.approx(metrics["baselines"]["gradient_boosting"]["roc_auc"])
    shown = {"success": loaded.success, "warning": loaded.warning, "error": loaded.error}[judged["level"]]
    assert [element.value for element in shown] == [judged["text"]]
    assert [m.label for m in loaded.metric][:3] == ["Network: test Accuracy", "Naive baseline: test Accuracy",
                                                    "Gradient boosting: test Accuracy"]

    loaded.switch_page("pages/baseline.py").run()
    assert not loaded.exception
    assert any(judged["text"] in m.value for m in loaded.markdown), "the Baseline page repeats the verdict"
