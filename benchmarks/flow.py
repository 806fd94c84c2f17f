"""The whole flow in a real browser on a long table: page-switch times, and the memory of the server and its workers.

    python benchmarks/flow.py [--rows 100000] [--epochs 5] [--app-dir PATH]

Generates ``--rows`` rows × 30 columns (the table of ``benchmarks/large.py``), starts ``streamlit run`` and drives the
system Chromium through it: upload the file, then each page in the sidebar's order (Explore, Prepare, Baseline,
Model, Train: train for ``--epochs`` epochs, Results: download the test predictions, Explain: explain 50 rows), and
then every page once more. A page switch is timed from the click on the sidebar link until the page's heading is
shown and the app's run has ended (Streamlit's script state on the app's root element, watched from the click). The first visit of a page does its
work (profiling, preparation, baselines); the second is what moving around costs. The reference is a switch between
two pages before any data is loaded, in the same run. Memory: the resident memory of the server plus every running
``dlcore worker``, sampled every 0.2 s for the whole flow; the peak is the figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from large import generate  # noqa: E402
from server_memory import ROOT, rss_mb, worker_pids  # noqa: E402  (it puts tests/ on the path for browser)
from browser import CHROMIUM, CHROMIUM_ARGS, save_training_settings, start_server  # noqa: E402

PAGES = ["Explore", "Prepare", "Baseline", "Model", "Train", "Results & predictions", "Explain"]


class MemorySampler(threading.Thread):
    """The largest sum of the server's and the workers' resident memory seen while it runs."""

    def __init__(self, server_pid: int):
        super().__init__(daemon=True)
        self.server_pid, self.peak, self.peak_workers, self.running = server_pid, 0.0, 0.0, True

    def run(self) -> None:
        while self.running:
            workers = sum(rss_mb(pid) for pid in worker_pids())
            self.peak = max(self.peak, rss_mb(self.server_pid) + workers)
            self.peak_workers = max(self.peak_workers, workers)
            time.sleep(0.2)


WATCH_RUN = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    window.__dlcoreRan = false;
    window.__dlcoreWatch?.disconnect();
    window.__dlcoreWatch = new MutationObserver(() => {
        if (app.getAttribute('data-test-script-state') === 'running') window.__dlcoreRan = true;
    });
    window.__dlcoreWatch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
RUN_DONE = """() => window.__dlcoreRan && document.querySelector('[data-testid="stApp"]')
    .getAttribute('data-test-script-state') === 'notRunning'"""


def settle(page) -> None:
    """Wait until the app's run has ended (Streamlit's own script state on the app's root element)."""
    page.wait_for_function("""() => document.querySelector('[data-testid="stApp"]')
        ?.getAttribute('data-test-script-state') === 'notRunning'""", timeout=600_000)


def switch(page, title: str) -> float:
    """Seconds from the click on the sidebar link until the page's run has ended with its heading shown (a run
    must have started after the click: the app root's script state went to running and back)."""
    page.evaluate(WATCH_RUN)
    start = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    page.wait_for_function(RUN_DONE, timeout=600_000, polling=20)
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible(timeout=600_000)
    return time.perf_counter() - start


def drive(url: str, csv: Path, epochs: int, chromium: str) -> dict:
    times: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(accept_downloads=True, viewport={"width": 1280, "height": 800})
        page.set_default_timeout(600_000)
        page.goto(url)
        settle(page)
        reference = [switch(page, title) for title in ("Explore", "Upload", "Explore", "Upload")]
        start = time.perf_counter()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
        expect(page.get_by_text("Ready: predict")).to_be_visible()
        settle(page)
        times["Upload (reading the file)"] = [time.perf_counter() - start]
        for visit in range(2):
            for title in PAGES:
                times.setdefault(title, []).append(switch(page, title))
                if visit == 0 and title == "Model":
                    save_training_settings(page, epochs)
                if visit == 0 and title == "Train":
                    page.get_by_role("button", name="Train", exact=True).click()
                    expect(page.get_by_text("Training finished")).to_be_visible(timeout=1_800_000)
                    settle(page)
                if visit == 0 and title == "Results & predictions":
                    with page.expect_download():
                        page.get_by_role("button", name="Download predictions (CSV)").click()
                if visit == 0 and title == "Explain":
                    page.get_by_role("spinbutton", name="Test rows to explain").fill("50")
                    page.get_by_role("button", name="Explain", exact=True).click()
                    expect(page.get_by_text("test rows against")).to_be_visible(timeout=1_800_000)
                    settle(page)
        browser.close()
    return {"reference": statistics.median(reference), "times": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="checkout whose app.py to serve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / f"table_{args.rows}.csv"
        generate(args.rows, csv)
        size_mb = csv.stat().st_size / 2**20
        server, url = start_server(args.app_dir.resolve(), Path(tmp) / "runs", Path(tmp) / "server.log")
        sampler = MemorySampler(server.pid)
        sampler.start()
        try:
            result = drive(url, csv, args.epochs, CHROMIUM)
        finally:
            sampler.running = False
            server.terminate()
            server.wait(30)
    reference = result["reference"]
    print(f"{args.rows:,} rows × 30 columns ({size_mb:.0f} MB), "
          f"{args.epochs} epochs; reference switch with no data: {reference:.2f} s\n")
    print("| page | first visit s | again s | again / reference |\n|:--|--:|--:|--:|")
    for title, seconds in result["times"].items():
        again = f"{seconds[1]:.2f}" if len(seconds) > 1 else ""
        ratio = f"{seconds[1] / reference:.1f}" if len(seconds) > 1 else ""
        print(f"| {title} | {seconds[0]:.2f} | {again} | {ratio} |")
    print(f"\npeak memory of the server and its workers: {sampler.peak:,.0f} MB "
          f"(workers alone at most {sampler.peak_workers:,.0f} MB); target under 1,536 MB")


if __name__ == "__main__":
    main()
