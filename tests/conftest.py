"""Shared fixtures and data factories: small generated tables that tests of every layer train, prepare and upload.

Factories are plain functions (``from conftest import churn_frame``), so module-scoped fixtures can call them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import dlcore.logs

dlcore.logs.ENABLED = False  # pytest captures the descriptors itself; the app's filter must not take them over


def churn_frame(rows: int = 240, seed: int = 0, *, calls: bool = False, signed: bool = False,
                gaps: bool = True) -> pd.DataFrame:
    """Phone customers: minutes, plan, international (yes/no), optionally calls (0-8) and a signing date; churn is
    'yes' for the heavy users and the basic plan. With ``gaps`` every 17th minutes value is missing."""
    rng = np.random.default_rng(seed)
    minutes = rng.normal(200, 50, rows).round(1)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    frame = pd.DataFrame({"minutes": minutes, "plan": plan, "international": rng.choice(["yes", "no"], rows)})
    if calls:
        frame["calls"] = rng.integers(0, 9, rows)
    if signed:
        frame["signed"] = rng.permutation(pd.date_range("2021-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"))
    frame["churn"] = np.where((minutes > 220) | (plan == "basic"), "yes", "no")
    if gaps:
        frame.loc[::17, "minutes"] = np.nan
    return frame


def mixed_frame(n: int, seed: int) -> pd.DataFrame:
    """One column for every encoding: numbers with gaps (x), skewed numbers (income), a one-hot category (colour),
    a 30-level category (city), a yes/no boolean (member), dates (day), codes with a number inside (code), and a
    binary label decided by x and colour."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], n)
    frame = pd.DataFrame({
        "x": x.round(4),
        "income": rng.lognormal(10, 1, n).round(2),
        "colour": colour,
        "city": rng.choice([f"city{i}" for i in range(30)], n),
        "member": rng.choice(["yes", "no"], n),
        "day": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "code": [f"ppl_{v}" for v in rng.integers(0, 9, n)],
        "label": np.where(x + (colour == "red") > 0.3, "high", "low"),
    })
    frame["day"] = frame["day"].dt.strftime("%Y-%m-%d")
    frame.loc[::13, "x"] = np.nan
    return frame


def driver_frame(task: str, rows: int = 400, seed: int = 0, *, categorical: bool = False) -> pd.DataFrame:
    """One column drives the target, four do not: ``driver`` (numbers; with ``categorical``, the levels a-e of
    ``group`` drive it instead), ``noise1``, ``noise2`` (numbers), ``colour`` (levels) and ``day`` (dates). The target
    ``y``: yes/no (binary), low/mid/high (multiclass) or about 3 × driver (regression)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(list("abcde"), rows)
    driver = rng.normal(size=rows) if not categorical else pd.Series(group).map(
        {"a": -1.5, "b": -0.8, "c": 0.0, "d": 0.8, "e": 1.5}).to_numpy() + rng.normal(0, 0.05, rows)
    frame = pd.DataFrame({
        "noise1": rng.normal(size=rows).round(3),
        ("group" if categorical else "driver"): group if categorical else driver.round(4),
        "noise2": rng.uniform(0, 100, rows).round(2),
        "colour": rng.choice(["red", "green", "blue"], rows),
        "day": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D")).strftime("%Y-%m-%d"),
    })
    if task == "binary":
        frame["y"] = np.where(driver > 0, "yes", "no")
    elif task == "multiclass":
        frame["y"] = np.select([driver < -0.45, driver > 0.45], ["low", "high"], "mid")
    else:
        frame["y"] = (3 * driver + rng.normal(0, 0.1, rows)).round(3)
    return frame


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def open_run_page(page: str, run, owner: str, monkeypatch, shared: bool = False,
                  runs_dir=None) -> AppTest:
    """The app on ``page`` with ``run`` on show, as the session of ``owner`` (or, ``shared``, through a share link)."""
    monkeypatch.setenv("DLCORE_RUNS_DIR", str(runs_dir or run.run_dir.parent))
    app = AppTest.from_file("../app.py", default_timeout=120)
    app.session_state["job"] = run
    app.session_state["owner"] = owner
    app.session_state["shared"] = shared
    app.run()
    app.switch_page(page).run()
    assert not app.exception
    return app


@pytest.fixture
def open_app(tmp_path, monkeypatch):
    """Open the app as a new browser session would; with ``csv`` bytes, upload them on the Upload page first."""
    monkeypatch.setenv("DLCORE_RUNS_DIR", str(tmp_path / "runs"))

    def open_(csv: bytes | None = None, name: str = "data.csv", target: str | None = None) -> AppTest:
        """``target``: chosen in the Target column box (the app suggests one only when a name says so)."""
        app = AppTest.from_file("../app.py", default_timeout=120).run()
        if csv is not None:
            app.file_uploader[0].upload(name, csv, "text/csv").run()
            assert not app.exception
        if target is not None:
            next(box for box in app.selectbox if box.label == "Target column").select(target).run()
            assert not app.exception
        return app

    return open_
