"""Whole journeys in a real headless Chromium against ``streamlit run``, as a user makes them, with a screenshot of
every page (``tests/screenshots/``, kept by CI)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright

from browser import (CHROMIUM, CHROMIUM_ARGS, ROOT, VIEWPORT, load_sample, nav, no_error_shown, sample_ready_to_train,
                     save_training_settings, serve, settled, shot, train_to_the_end, upload)


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
        train_to_the_end(page)
        no_error_shown(page)
        expect(page.get_by_text(re.compile(r"5 networks averaged into one model"))).to_be_visible()  # the default
        expect(page.get_by_role("figure", name="Validation loss per epoch of each member of the ensemble")
               ).to_be_visible()
        shot(page, "1", "06 train")
        nav(page, "Runs")
        expect(page.get_by_role("button", name="Show in Results")).to_be_visible()
        shot(page, "1", "07 runs")

        nav(page, "Results & predictions", timeout=120_000)
        no_error_shown(page)
        expect(page.get_by_text(re.compile(r"5 networks averaged\. Accuracy out of fold, on \d+ of the non-test rows"))
               ).to_be_visible()
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
        sample_ready_to_train(page, server, "Iris flowers (multiclass)", "Ready: predict species (multiclass)",
                              epochs=200, patience=200)
        nav(page, "Train")
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.get_by_text(re.compile(r"Epoch [1-9]\d* of at most"))).to_be_visible(timeout=120_000)
        address = page.url
        assert "run=" in address, "the run is in the address, so a refresh or a bookmark finds it"

        page.reload()
        expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Stop")).to_be_enabled(timeout=60_000)  # still training, still ours
        expect(page.get_by_text("not loaded")).to_have_count(0)  # the run brought its data set back
        expect(page.locator('[data-testid="stSidebar"]').get_by_text("Target species (multiclass)")).to_be_visible()
        assert page.url.split("run=")[1].split("&")[0] == address.split("run=")[1].split("&")[0]
        shot(page, "5", "train after a refresh")
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text(re.compile(r"Training stopped after \d+ epochs"))).to_be_visible(timeout=120_000)
        no_error_shown(page)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label`` and wait for the app's run."""
    settled(page)
    box = page.get_by_role("combobox", name=label)
    if box.get_attribute("value") == option:
        return
    box.click()
    box.press_sequentially(option)  # a select box filters its options as one types
    expect(page.get_by_role("option", name=option, exact=True)).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value(option)
    settled(page)


def classification_csv(path, rows: int = 1200, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    frame = pd.DataFrame({"id": np.arange(rows) + 1000, "x": x.round(3), "colour": colour,
                          "z": rng.lognormal(size=rows).round(3),
                          "label": np.where(x + (colour == "red") > 0.3, "high", "low")})
    frame.to_csv(path, index=False)
    return frame


def test_journey_2_a_kind_and_a_preparation_changed_a_preset_and_an_early_stop(server, tmp_path):
    classification_csv(tmp_path / "customers.csv")
    with browser_page() as page:
        page.goto(server)
        settled(page)
        upload(page, tmp_path / "customers.csv", "Ready: predict label (binary)")

        nav(page, "Prepare", timeout=120_000)
        choose(page, "Column", "id")
        choose(page, "Kind", "excluded")  # an identifier is not a feature
        choose(page, "Column", "z")
        page.locator("label").filter(has_text="Log transform").click()
        expect(page.get_by_role("switch", name="Log transform")).to_be_checked()
        settled(page)
        no_error_shown(page)
        shot(page, "2", "prepare with a change")

        nav(page, "Model")
        choose(page, "Architecture", "Small data, 2×64 ReLU")
        save_training_settings(page, epochs=200, patience=200, members=1)  # one network, stopped by hand
        shot(page, "2", "model with a preset")

        nav(page, "Train")
        page.get_by_role("button", name="Train", exact=True).click()
        expect(page.get_by_text(re.compile(r"Epoch ([2-9]|\d\d+) of at most"))).to_be_visible(timeout=120_000)
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_text(re.compile(r"Training stopped after \d+ epochs"))).to_be_visible(timeout=120_000)
        settled(page)
        shot(page, "2", "train stopped")

        nav(page, "Runs")
        expect(page.get_by_role("button", name="Show in Results")).to_be_enabled()  # the stopped run was kept
        shot(page, "2", "runs")
        page.get_by_role("button", name="Show in Results").click()
        expect(page.get_by_role("heading", name="Results & predictions", exact=True)).to_be_visible(timeout=120_000)
        with zipfile.ZipFile(download(page, "Download model")) as bundle:
            schema = json.loads(bundle.read("schema.json"))
            preparation = json.loads(bundle.read("preparation.json"))
            metrics = json.loads(bundle.read("metrics.json"))
    assert [c["name"] for c in schema["columns"] if c["used"]] == ["x", "colour", "z"]
    assert next(c for c in schema["columns"] if c["name"] == "id")["kind"] == "excluded"
    assert preparation["columns"]["z"]["options"]["log"] is True and not preparation["columns"]["x"]["options"]["log"]
    assert metrics["architecture"]["name"] == "chollet_small"
    assert metrics["stopped_by_user"] is True and metrics["epochs_run"] < 200 and metrics["members"] == 1


def test_journey_3_a_regression_with_a_date_column_explained(server, tmp_path):
    rng = np.random.default_rng(3)
    rows = 900
    day = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
    size = rng.uniform(40, 200, rows).round(1)
    area = rng.choice(["north", "south", "east"], rows)
    price = 1000 * size + 30_000 * (area == "north") + 40 * (day - day.min()).days + rng.normal(0, 5000, rows)
    pd.DataFrame({"sold": day.strftime("%Y-%m-%d"), "size": size, "area": area, "price": price.round(0)}).to_csv(
        tmp_path / "houses.csv", index=False)
    with browser_page() as page:
        page.goto(server)
        settled(page)
        upload(page, tmp_path / "houses.csv", "Ready: predict price (regression)", target="price")
        nav(page, "Explore", timeout=120_000)
        expect(page.get_by_text(re.compile(r"Kinds: .*1 datetime"))).to_be_visible()
        nav(page, "Model")
        save_training_settings(page, epochs=15)
        nav(page, "Train")
        train_to_the_end(page)

        nav(page, "Explain")
        page.get_by_role("spinbutton", name="Test rows to explain").fill("40")
        page.get_by_role("button", name="Explain", exact=True).click()
        expect(page.get_by_text("test rows against")).to_be_visible(timeout=300_000)
        settled(page)
        no_error_shown(page)
        shot(page, "3", "explain")
        importance = page.get_by_role("figure").first
        expect(importance).to_be_visible()
        shap_values = pd.read_csv(download(page, "Download SHAP values (CSV)"))
    assert len(shap_values) == 40
    assert {"shap_sold", "shap_size", "shap_area"} <= set(shap_values.columns)  # the date is one column
    assert shap_values["shap_size"].abs().mean() > shap_values["shap_sold"].abs().mean() / 10


def test_journey_4_a_bundle_uploaded_back_predicts_a_new_file_with_its_schema_report(server, tmp_path):
    frame = classification_csv(tmp_path / "train.csv", rows=600).drop(columns="id")
    frame.to_csv(tmp_path / "train.csv", index=False)
    done = subprocess.run([sys.executable, "-m", "dlcore", "train", str(tmp_path / "train.csv"), "--target", "label",
                           "--epochs", "5", "--out", str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    new = frame.drop(columns="label").head(25).copy()
    new.loc[:4, "colour"] = "purple"  # a category training never saw
    new.to_csv(tmp_path / "unseen.csv", index=False)
    new.drop(columns="z").to_csv(tmp_path / "missing.csv", index=False)

    with browser_page() as page:
        page.goto(server)
        settled(page)
        nav(page, "Results & predictions")
        page.locator('.st-key-bundle_upload [data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            str(tmp_path / "run" / "model.zip"))
        expect(page.get_by_text("A model of label (binary)")).to_be_visible(timeout=60_000)  # the model is loaded
        predict = page.locator('.st-key-bundle_predict_upload [data-testid="stFileUploaderDropzoneInput"]')
        predict.set_input_files(str(tmp_path / "missing.csv"))
        expect(page.get_by_text("Missing column(s) the model needs: z.")).to_be_visible()
        settled(page)
        shot(page, "4", "a file without a column")
        predict.set_input_files(str(tmp_path / "unseen.csv"))
        expect(page.get_by_text("25 rows predicted.")).to_be_visible(timeout=60_000)
        expect(page.get_by_text(re.compile(r"Values unlike the training data in 1 column"))).to_be_visible()
        settled(page)
        no_error_shown(page)
        shot(page, "4", "schema report")
        predictions = pd.read_csv(download(page, "Download predictions (CSV)"))
    assert len(predictions) == 25 and predictions["prediction"].isin(["high", "low"]).all()
    assert predictions["colour"].head(5).tolist() == ["purple"] * 5


def test_journey_6_a_tune_of_three_trials(server):
    with browser_page() as page:
        sample_ready_to_train(page, server, "Wine cultivars (multiclass)", "Ready: predict cultivar (multiclass)",
                              epochs=10)
        nav(page, "Tune")
        page.get_by_role("spinbutton", name="Trials").fill("3")
        page.get_by_role("spinbutton", name="Trials").press("Tab")
        settled(page)
        page.get_by_role("button", name="Tune", exact=True).click()
        expect(page.get_by_text(re.compile(r"3 of 3 trials ended"))).to_be_visible(timeout=480_000)
        expect(page.get_by_text(re.compile(r"Best so far: trial \d+"))).to_be_visible()
        settled(page)
        no_error_shown(page)
        shot(page, "6", "tune")
        expect(page.get_by_text(re.compile(r"Ensemble selection: trial \d+ × [01]\.\d\d"))).to_be_visible()
        page.get_by_role("button", name="Keep the best").click()
        expect(page.get_by_text(re.compile(r"The ensemble of trial\(s\) [\d, ]+ is a normal run now"))).to_be_visible(
            timeout=60_000)
