"""End to end in a real headless Chromium: upload a CSV, train, download predictions and the model bundle, predict with
the bundle's predict.py, and upload the bundle back."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect, sync_playwright

from browser import (CHROMIUM, CHROMIUM_ARGS, choose_target, nav, save_training_settings, serve, settled,
                     train_to_the_end, upload)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory)


def _data(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    colour = rng.choice(["red", "green", "blue"], rows)
    return pd.DataFrame({"x": x.round(3), "colour": colour, "z": rng.normal(size=rows).round(3),
                         "label": np.where(x + (colour == "red") > 0.3, "high", "low")})


CHART_POINTS = """() => {
    const trace = document.querySelector('[data-testid="stPlotlyChart"] .scatterlayer .trace');
    return trace ? trace.querySelectorAll('.point').length : 0;
}"""  # the markers drawn for the first curve of the loss chart: one per epoch


def test_a_click_during_the_first_load_of_a_fresh_server_opens_the_page(server):
    """The first test of the module, on the server's first session: the sidebar is clicked as soon as it shows."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(server)
        page.locator('[data-testid="stSidebarNav"] a', has_text="Explore").first.click()
        expect(page.get_by_text(re.compile(r"^Here you will see missing values.*once a data set is loaded"))
               ).to_be_visible(timeout=60_000)
        assert page.get_by_text("Error").count() == 0 and page.get_by_text("Traceback").count() == 0
        browser.close()


def test_upload_train_and_download(server, tmp_path):
    train_csv = tmp_path / "train.csv"
    _data(1500, 0).to_csv(train_csv, index=False)
    new_rows = _data(57, 1).drop(columns="label")
    new_csv = tmp_path / "new.csv"
    new_rows.to_csv(new_csv, index=False)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(accept_downloads=True)
        page.set_default_timeout(60_000)
        page.goto(server)
        upload(page, train_csv, "Ready: predict label (binary)")

        nav(page, "Model")
        save_training_settings(page, epochs=40, patience=40, members=1)  # one network's live curves

        nav(page, "Train")
        page.get_by_role("button", name="Train", exact=True).click()
        points_seen = set()  # how many epochs the live loss chart shows, sampled while it trains
        deadline = time.time() + 180
        while not page.get_by_text("Training finished").is_visible() and time.time() < deadline:
            points_seen.add(page.evaluate(CHART_POINTS))
            page.wait_for_timeout(250)
        expect(page.get_by_text("Training finished")).to_be_visible()
        assert len(points_seen - {0}) >= 2, f"the chart should update at least twice while training: {points_seen}"
        expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(3)  # loss, metric, learning rate
        expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()  # the page has settled

        nav(page, "Results & predictions")
        settled(page)
        with page.expect_download() as test_download:
            page.get_by_role("button", name="Download predictions (CSV)").click()
        test_predictions = pd.read_csv(test_download.value.path())
        assert len(test_predictions) == 300  # the 20% test split of 1,500 rows
        assert {"prediction", "probability_high", "probability_low"} <= set(test_predictions.columns)

        page.get_by_role("tab", name="New data").click()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(new_csv))
        expect(page.get_by_text("57 rows predicted.")).to_be_visible(timeout=60_000)  # the server loads TensorFlow
        settled(page)
        with page.expect_download() as new_download:
            page.get_by_role("button", name="Download predictions (CSV)").filter(visible=True).click()
        predictions = pd.read_csv(new_download.value.path())
        assert len(predictions) == len(new_rows)
        assert list(predictions.columns[:3]) == list(new_rows.columns)
        assert predictions["prediction"].isin(["high", "low"]).all()
        pd.testing.assert_frame_equal(predictions[new_rows.columns], new_rows)

        with page.expect_download() as model_download:
            page.get_by_role("button", name="Download model").click()
        bundle = Path(model_download.value.path()).read_bytes()
        unpacked = tmp_path / "bundle"
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            assert {"model.keras", "preparation.json", "schema.json", "metrics.json", "predict.py",
                    "requirements.txt"} <= set(archive.namelist())
            schema = json.loads(archive.read("schema.json"))
            archive.extractall(unpacked)
        assert [c["name"] for c in schema["columns"]] == ["x", "colour", "z"]
        assert schema["target"]["labels"] == ["high", "low"]
        _assert_same_predictions(_predict_with_script(unpacked, new_csv, tmp_path), predictions)

        # the bundle uploaded back predicts the same, with no code from it run
        page.get_by_text("A downloaded model (.zip)").click()
        page.locator('.st-key-bundle_upload [data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            {"name": "model.zip", "mimeType": "application/zip", "buffer": bundle})
        expect(page.get_by_text("A model of label (binary)")).to_be_visible()
        settled(page)
        expect(page.get_by_text("57 rows predicted.")).to_have_count(0)  # the run's file is not the bundle's
        page.locator('.st-key-bundle_predict_upload [data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            str(new_csv))
        expect(page.get_by_text("57 rows predicted.")).to_be_visible()
        settled(page)  # the button of the finished run: its CSV is made when it is clicked
        with page.expect_download() as again_download:
            page.get_by_role("button", name="Download predictions (CSV)").click()
        _assert_same_predictions(pd.read_csv(again_download.value.path()), predictions)
        browser.close()


def test_runs_survive_sidebar_clicks_and_refreshes_and_a_forged_session_sees_none(server, tmp_path):
    """The session lives in a cookie the server issued: a sidebar click drops nothing, F5 on any page brings the
    runs back, no address names the session, and a made-up cookie starts an empty session."""
    train_csv = tmp_path / "refresh.csv"
    _data(400, 2).to_csv(train_csv, index=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(60_000)
        # requests to any other host (the app works offline; the icon ships with it), and answers of 404 (but
        # Streamlit's own probes of a deep link's base path, /explore/_stcore/health before /_stcore/health)
        elsewhere, missing = [], []
        page.on("request", lambda request: None if request.url.removeprefix("blob:").startswith(server)
                or request.url.startswith("data:") else elsewhere.append(request.url))
        page.on("response", lambda response: missing.append(response.url)
                if response.status == 404 and "/_stcore/" not in response.url else None)
        page.goto(server)
        upload(page, train_csv, "Ready: predict label (binary)")
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text("Target label (binary)")).to_be_visible()
        for target, task in (("x", "regression"), ("label", "binary")):  # the sidebar follows each change at once
            choose_target(page, target)
            expect(page.get_by_text(f"Ready: predict {target} ({task})")).to_be_visible()
            settled(page)
            expect(sidebar.get_by_text(f"Target {target} ({task})")).to_be_visible()
        nav(page, "Model")
        save_training_settings(page, epochs=2, patience=2, members=1)
        nav(page, "Train")
        train_to_the_end(page)

        nav(page, "Explore")  # the sidebar's link: Streamlit drops the address's query, the app names the run again
        expect(page).to_have_url(re.compile(r"/explore\?run=[0-9a-f]{32}$"))
        page.reload()
        nav(page, "Runs")
        expect(page.get_by_text("No runs yet")).to_have_count(0)
        expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(1)
        page.reload()  # F5 on Runs itself
        expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
        settled(page)
        expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(1)
        nav(page, "Results & predictions")
        page.reload()
        expect(page.get_by_role("heading", name="Results & predictions", exact=True)).to_be_visible()
        settled(page)
        expect(page.get_by_role("button", name="Download model")).to_be_visible()
        expect(page.get_by_text(re.compile(r"Run [0-9a-f]{8} · data set refresh\.csv · target label \(binary\)"))
               ).to_be_visible()  # the page names the run on show
        expect(sidebar.get_by_text("refresh.csv")).to_be_visible()  # the run brought its data set back
        nav(page, "Train")
        expect(page.get_by_text("not loaded")).to_have_count(0)
        expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()
        assert "session" not in page.url, page.url

        other_csv = tmp_path / "other.csv"  # a second file loaded: the run on show says it is of the first
        _data(100, 3).to_csv(other_csv, index=False)
        nav(page, "Upload")
        upload(page, other_csv, "Ready: predict label (binary)")
        nav(page, "Results & predictions")
        expect(page.get_by_text("This run was trained on refresh.csv, not on the loaded other.csv")).to_be_visible()
        cookie = next(c for c in context.cookies() if c["name"] == "dlcore_session")
        assert cookie["sameSite"] == "Strict" and re.fullmatch(r"[0-9a-f]{32}\.[0-9a-f]{64}", cookie["value"])

        assert not elsewhere and not missing, (elsewhere[:5], missing[:5])

        forged = browser.new_context()  # a value the server never issued, and a link that names the run
        secret = cookie["value"].split(".")[0]
        forged.add_cookies([{**cookie, "value": f"{secret}.{'0' * 64}"}])
        guest = forged.new_page()
        guest.set_default_timeout(60_000)
        guest.goto(server.rstrip("/") + "/runs")
        expect(guest.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
        settled(guest)
        expect(guest.get_by_text("No runs yet")).to_be_visible()
        browser.close()


def _predict_with_script(bundle: Path, data: Path, tmp_path: Path) -> pd.DataFrame:
    """The bundle's predict.py, run outside the repository without it on the path."""
    out = tmp_path / "script_predictions.csv"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(bundle / "predict.py"), str(data), "--out", str(out)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return pd.read_csv(out)


def _assert_same_predictions(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    np.testing.assert_allclose(got.filter(like="probability_").to_numpy(),
                               expected.filter(like="probability_").to_numpy(), atol=1e-5, rtol=0)
