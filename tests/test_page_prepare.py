"""The Prepare page in AppTest: the column table, per-column choices, split choices and the preview."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import churn_frame, to_csv
from dlcore.runtime.loading import read_table


def churn_csv(rows: int = 240, seed: int = 0) -> bytes:
    return to_csv(churn_frame(rows, seed, signed=True))


@pytest.fixture
def page(open_app) -> AppTest:
    app = open_app()
    app.session_state["dataset"] = read_table(churn_csv(), name="churn.csv")
    app.session_state["target"], app.session_state["task"] = "churn", "binary"
    app.switch_page("pages/prepare.py").run()
    assert not app.exception
    return app


def plan(app: AppTest) -> pd.DataFrame:
    return app.dataframe[0].value.set_index("column")


def preview(app: AppTest) -> pd.DataFrame:
    return app.dataframe[1].value


def metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_table_shows_kind_transformation_and_outputs(page):
    table = plan(page)
    assert list(table.index) == ["minutes", "plan", "international", "signed"]
    assert table["kind"].tolist() == ["numeric", "categorical", "boolean", "datetime"]
    assert table.loc["minutes", "output columns"] == "minutes, minutes_missing"
    assert "impute median" in table.loc["minutes", "transformation"]
    assert table["outputs"].tolist() == [2, 3, 1, 7]
    assert table["bytes per row"].tolist() == [8, 12, 4, 28]
    assert metrics(page)["Network inputs"] == "13"
    assert metrics(page)["Memory"] == f"{240 * 13 * 4 / 1024:,.1f} KB"
    assert list(preview(page).columns) == page.session_state["prepared"][1].preparation.feature_names
    assert len(preview(page)) == 20


def test_changing_an_encoding_changes_the_table_and_the_preview(page):
    page.selectbox(key="prepare_column").select("plan").run()
    assert any("one-hot would add up to 4 columns" in c.value for c in page.caption)
    assert "plan=basic" in preview(page).columns

    page.selectbox(key="prepare_encoding_plan").select("frequency").run()
    assert not page.exception
    assert page.session_state["column_options"] == {"plan": {"encoding": "frequency"}}
    assert plan(page).loc["plan", "outputs"] == 1
    assert "frequency" in plan(page).loc["plan", "transformation"]
    assert "plan_frequency" in preview(page).columns and "plan=basic" not in preview(page).columns


def test_numeric_scaling_and_missing_indicator(page):
    page.selectbox(key="prepare_scale_minutes").select("minmax").run()
    assert not page.exception
    assert "scale to 0–1" in plan(page).loc["minutes", "transformation"]
    training = page.session_state["prepared"][1].x_train[:, 0]
    assert training.min() == pytest.approx(0.0) and training.max() == pytest.approx(1.0)

    page.toggle(key="prepare_missing_indicator_minutes").set_value(False).run()
    assert "minutes_missing" not in preview(page).columns
    assert plan(page).loc["minutes", "outputs"] == 1


def test_excluding_a_column_and_cyclical_dates(page):
    page.selectbox(key="prepare_column").select("signed").run()
    page.toggle(key="prepare_cyclical_signed").set_value(True).run()
    assert plan(page).loc["signed", "outputs"] == 13
    assert "signed_month_sin" in preview(page).columns

    page.selectbox(key="prepare_kind_signed").select("excluded").run()
    assert not page.exception
    assert page.session_state["kinds"] == {"signed": "excluded"}
    assert plan(page).loc["signed", "transformation"] == "excluded by you"
    assert not any(name.startswith("signed") for name in preview(page).columns)


def test_time_ordered_split_and_kfold(page):
    assert page.toggle(key="prepare_kfold_on").value is False  # offered: 240 rows is small data
    page.toggle(key="prepare_kfold_on").set_value(True).run()
    assert page.session_state["kfold"] == 5
    assert any("K-fold" in i.value for i in page.info)

    page.selectbox(key="prepare_order_by").select("signed").run()
    assert not page.exception
    assert page.session_state["order_by"] == "signed"
    assert page.session_state["kfold"] == 0  # K-fold shuffles, so it is not offered with a time order
    split = page.session_state["prepared"][1].split
    assert pd.to_datetime(split.train["signed"]).max() < pd.to_datetime(split.test["signed"]).min()
    assert [metrics(page)[name] for name in ("Training rows", "Validation rows", "Test rows")] == ["172", "20", "48"]
