"""Explore, Upload and Prepare on a wide table: alerts and charts come a page at a time, searchable and sorted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import to_csv
from pages.shared import PREVIEW_COLUMNS


@pytest.fixture
def wide(open_app):
    """A 400-column table: 60 constant columns (60 alerts), 300 numeric ones, one of which drives the target."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 300)).round(3), columns=[f"gene_{i}" for i in range(300)])
    for i in range(60):
        frame[f"flat_{i}"] = 1.0
    for i in range(39):
        frame[f"tissue_{i}"] = rng.choice(["liver", "lung", "skin"], 120)
    frame["label"] = np.where(frame["gene_42"] > 0, "tumour", "normal")
    app = open_app(to_csv(frame), "wide.csv")
    return app


def explore(app, section: str):
    app.switch_page("pages/explore.py").run()
    control = app.segmented_control(key="explore_section")
    control.set_value(next(o for o in control.options if o.startswith(section))).run()
    assert not app.exception
    return app


def alert_messages(app) -> list[str]:
    return [m.value for m in app.markdown if "badge" in m.value]


def test_alerts_come_twenty_a_page_and_can_be_filtered(wide):
    explore(wide, "Alerts")
    assert len(alert_messages(wide)) == 20
    page = wide.number_input(key="explore_alert_page")
    page.set_value(3).run()
    assert len(alert_messages(wide)) == 20 and "flat_40" in alert_messages(wide)[0]
    wide.button(key="fix_45").click().run()  # a fix on a later page is applied like any other
    assert wide.session_state["kinds"]["flat_45"] == "excluded"
    wide.pills(key="explore_alert_kinds").set_value([]).run()
    assert alert_messages(wide) == []


def test_distributions_are_searched_sorted_and_paged(wide):
    explore(wide, "Distributions")
    assert len(wide.get("plotly_chart")) == 12  # 6 histograms and 6 bar plots of the 39 categorical columns
    assert wide.number_input(key="explore_numeric_page").max == 50  # 300 numeric columns, 6 per page
    wide.text_input(key="explore_search").input("gene_4").run()
    stats = wide.dataframe[0].value
    assert list(stats.index) == ["gene_4", "gene_40", "gene_41", "gene_42", "gene_43", "gene_44"]
    assert len(wide.get("plotly_chart")) == 6  # no categorical column matches
    wide.selectbox(key="explore_order").select("strongest alone on the target").run()
    assert wide.dataframe[0].value.index[0] == "gene_42"


def test_against_the_target_lists_the_strongest_column_first(wide):
    explore(wide, "Against the target")
    assert wide.selectbox(key="explore_against").value == "gene_42"


def test_wide_previews_show_the_first_columns_and_say_so(wide):
    assert wide.dataframe[0].value.shape[1] == PREVIEW_COLUMNS
    assert any(f"first {PREVIEW_COLUMNS}" in c.value and "400" in c.value for c in wide.caption)
    wide.switch_page("pages/prepare.py").run()
    assert not wide.exception
    assert wide.dataframe[-1].value.shape[1] == PREVIEW_COLUMNS
