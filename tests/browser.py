"""What the real-browser tests (and the browser benchmarks) share: a ``streamlit run`` server on a free port, the
system Chromium, waiting for the app's run to end, moving between pages, and a screenshot of each page for CI's
artifacts."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = (os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
            or "/usr/bin/chromium")  # the system's, or $CHROMIUM
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
APP_URL = os.environ.get("DLCORE_APP_URL")  # a server already running (CI's deployment check), else one is started
SCREENSHOTS = Path(os.environ.get("DLCORE_SCREENSHOTS") or ROOT / "tests" / "screenshots")
VIEWPORT = {"width": 1280, "height": 800}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(app_dir: Path, runs: Path, log: Path, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` of the checkout ``app_dir`` on a free port with its own runs folder, its output in
    ``log``: the process and its URL, once it answers its health check."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", "--server.address=127.0.0.1",
             f"--server.port={port}", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"],
            cwd=app_dir, env={**os.environ, "DLCORE_RUNS_DIR": str(runs)}, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"streamlit did not start:\n{log.read_text()[-3000:]}")


def serve(tmp_path_factory):
    """A generator for a module-scoped fixture: the URL of a fresh server with its own runs folder."""
    if APP_URL:
        yield APP_URL
        return
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    proc, url = start_server(ROOT, tmp_path_factory.mktemp("runs"), log)
    yield url
    proc.terminate()
    proc.wait(20)
    print(log.read_text()[-3000:])


def settled(page) -> None:
    """Wait until the app's script run has ended (Streamlit's script state on its root element), after a moment
    for a run that an action has just asked for to start."""
    page.wait_for_timeout(250)
    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_have_count(1)


def nav(page, title: str, timeout: float = 30_000) -> None:
    """Open a page from the sidebar and wait for its heading and the end of its run."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=timeout)
    settled(page)


def no_error_shown(page) -> None:
    """No exception box on the page (a traceback would be a bug, not a message)."""
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def upload(page, path, ready: str, target: str | None = None) -> None:
    """Upload the file at ``path`` on the Upload page (choosing ``target`` in the Target column box, where no
    column's name suggests it) and wait for its ``ready`` line (the target and task)."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    if target is not None:
        expect(page.get_by_text("Choose the target column")).to_be_visible()
        settled(page)
        choose_target(page, target)
    expect(page.get_by_text(ready)).to_be_visible()
    settled(page)


def choose_target(page, target: str) -> None:
    """On the Upload page: ``target`` chosen in the Target column box (opened again if a rerun that was under way
    closed its list before the option showed)."""
    box, option = page.get_by_role("combobox", name="Target column"), page.get_by_role("option", name=target,
                                                                                        exact=True)
    for _ in range(3):
        settled(page)
        box.click()
        try:
            expect(option).to_be_visible(timeout=10_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    option.click()


def load_sample(page, name: str, ready: str) -> None:
    """On the Upload page: the bundled sample ``name`` loaded, up to its ``ready`` line (the target and task)."""
    page.get_by_text("Try a sample dataset").click()
    settled(page)
    page.get_by_role("combobox", name="Sample dataset").click()
    page.get_by_role("option", name=name).click()
    settled(page)
    page.get_by_role("button", name="Load sample").click()
    expect(page.get_by_text(ready)).to_be_visible()
    settled(page)


def sample_ready_to_train(page, url: str, name: str, ready: str, epochs: int, patience: int | None = None,
                          timeout: float = 30_000) -> None:
    """A fresh session at ``url`` with the sample ``name`` loaded and the training settings saved on Model
    (``timeout``: for the Model page's first visit)."""
    page.goto(url)
    settled(page)
    load_sample(page, name, ready)
    nav(page, "Model", timeout=timeout)
    save_training_settings(page, epochs, patience)


def save_training_settings(page, epochs: int, patience: int | None = None, members: int | None = None) -> None:
    """On the Model page: the epochs (and patience, and the ensemble's members), saved."""
    page.get_by_role("spinbutton", name="Max epochs").fill(str(epochs))
    if patience is not None:
        page.get_by_role("spinbutton", name="Early-stopping patience").fill(str(patience))
    if members is not None:
        page.get_by_role("spinbutton", name="Members").fill(str(members))
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved.")).to_be_visible()


def train_to_the_end(page, timeout: float = 300_000) -> None:
    """On the Train page: Train, then wait until training has finished and the page has settled."""
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Training finished( after \d+ epochs|: \d+ networks averaged)"))).to_be_visible(
        timeout=timeout)
    settled(page)


def shot(page, journey: str, step: str) -> Path:
    """A screenshot of the whole page, ``<journey>-<step>.png`` in :data:`SCREENSHOTS` (CI keeps the folder).

    Streamlit scrolls its main area inside the window, so a "full page" screenshot would stop at the window's
    height: the window is made as tall as the page's content for the picture, at the same width, then restored."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{journey}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
    size = page.viewport_size
    height = page.evaluate('document.querySelector(\'[data-testid="stMain"]\')?.scrollHeight ?? 0')
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height, 12_000))})
    try:
        page.wait_for_timeout(300)  # charts redraw for the new size
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path
