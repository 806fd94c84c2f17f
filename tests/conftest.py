"""Shared fixtures: a fresh app session in AppTest, with its runs written under the test's temporary folder."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture
def open_app(tmp_path, monkeypatch):
    """Open the app as a new browser session would; with ``csv`` bytes, upload them on the Upload page first."""
    monkeypatch.setenv("DLCORE_RUNS_DIR", str(tmp_path / "runs"))

    def open_(csv: bytes | None = None, name: str = "data.csv") -> AppTest:
        app = AppTest.from_file("../app.py", default_timeout=120).run()
        if csv is not None:
            app.file_uploader[0].upload(name, csv, "text/csv").run()
            assert not app.exception
        return app

    return open_
