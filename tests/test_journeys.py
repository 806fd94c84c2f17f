"""Whole journeys in a real headless Chromium against ``streamlit run``, as a user makes them, with a screenshot of
every page (``tests/screenshots/``, kept by CI)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from contextlib import contextmanager

import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright

from browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, nav, no_error_shown, serve, settled, shot


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory)


@contextmanager
def browser_page():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(accept_downloads=True, viewport=VIEWPORT)
        page.set_default_timeout(60_000)
        try:
            yield page
        finally:
            browser.close()


def load_sample(page, name: str, ready: str) -> None:
    page.get_by_text("Try a sample dataset").click()
    settled(page)
    page.get_by_role("combobox", name="Sample dataset").click()
    page.get_by_role("option", name=name).click()
    settled(page)
    page.get_by_role("button", name="Load sample").click()
    expect(page.get_by_text(ready)).to_be_visible()
    settled(page)


def save_training_settings(page, epochs: int, patience: int | None = None) -> None:
    page.get_by_role("spinbutton", name="Max epochs").fill(str(epochs))
    if patience is not None:
        page.get_by_role("spinbutton", name="Early-stopping patience").fill(str(patience))
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved.")).to_be_visible()


def download(page, button: str):
    settled(page)
    with page.expect_download() as done:
        page.get_by_role("button", name=button).filter(visible=True).click()
    return done.value.path()


def test_journey_1_a_sample_through_every_page_to_the_downloads(server):
    with browser_page() as page:
        page.goto(server)
        settled(page)
        shot(page, "1", "00 upload empty")
        load_sample(page, "Breast cancer (binary)", "Ready: predict diagnosis (binary)")
        shot(page, "1", "01 upload")
        for number, title in enumerate(["Explore", "Prepare", "Baseline", "Model"], start=2):
            nav(page, title, timeout=120_000)
            no_error_shown(page)
            shot(page, "1", f"{number:02d} {title}")
        save_training_settings(page, epochs=8)

        nav(page, "Train")
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.get_by_text(re.compile(r"Training finished after \d+ epochs"))).to_be_visible(timeout=300_000)
        settled(page)
        no_error_shown(page)
        shot(page, "1", "06 train")
        nav(page, "Runs")
        expect(page.get_by_text("Show in Results")).to_be_visible()
        shot(page, "1", "07 runs")

        nav(page, "Results & predictions", timeout=120_000)
        no_error_shown(page)
        shot(page, "1", "08 results")
        right = page.get_by_text(re.compile(r"\d+ of \d+ test rows predicted right")).inner_text()
        test_rows = int(re.search(r"of (\d+) test rows", right).group(1))
        predictions = pd.read_csv(download(page, "Download predictions (CSV)"))
        assert len(predictions) == test_rows and 100 < test_rows < 130  # a fifth of the 569 rows
        assert {"diagnosis", "prediction", "probability_malignant", "probability_benign"} <= set(predictions.columns)
        assert set(predictions["prediction"]) <= {"malignant", "benign"}
        probabilities = predictions[["probability_malignant", "probability_benign"]].sum(axis=1)
        assert probabilities.sub(1).abs().max() < 1e-4
        assert (predictions["prediction"] == predictions["diagnosis"]).mean() > 0.85  # the network learned

        with zipfile.ZipFile(download(page, "Download model")) as bundle:
            assert {"model.keras", "preparation.json", "schema.json", "metrics.json", "predict.py",
                    "requirements.txt", "README.md"} <= set(bundle.namelist())
            schema = json.loads(bundle.read("schema.json"))
            metrics = json.loads(bundle.read("metrics.json"))
        assert len(schema["columns"]) == 30 and schema["target"]["name"] == "diagnosis"
        assert metrics["rows"]["test"] == test_rows

        nav(page, "Explain")
        no_error_shown(page)
        shot(page, "1", "09 explain")
        nav(page, "Tune")
        no_error_shown(page)
        shot(page, "1", "10 tune")


def test_journey_5_a_refresh_during_training_returns_to_the_same_run(server):
    with browser_page() as page:
        page.goto(server)
        settled(page)
        load_sample(page, "Iris flowers (multiclass)", "Ready: predict species (multiclass)")
        nav(page, "Model")
        save_training_settings(page, epochs=200, patience=200)
        nav(page, "Train")
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.get_by_text(re.compile(r"Epoch [1-9]\d* of at most"))).to_be_visible(timeout=120_000)
        address = page.url
        assert "run=" in address, "the run is in the address, so a refresh or a bookmark finds it"

        page.reload()
        expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Stop")).to_be_enabled(timeout=60_000)  # still training, still ours
        assert page.url.split("run=")[1].split("&")[0] == address.split("run=")[1].split("&")[0]
        shot(page, "5", "train after a refresh")
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text(re.compile(r"Training stopped after \d+ epochs"))).to_be_visible(timeout=120_000)
        no_error_shown(page)
