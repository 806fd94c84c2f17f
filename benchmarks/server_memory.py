"""Memory of a real ``streamlit run`` server driven through sequential trainings in headless Chromium.

    python benchmarks/server_memory.py [--runs 10] [--epochs 30] [--app-dir PATH]

Loads the sample "Breast cancer (binary)", sets the epochs on the Model page, then presses Train on the Train page
and waits for "Training finished", ``--runs`` times in one browser session. After each run (and a few seconds of
settling) it reads the server's resident memory (VmRSS from /proc); while training it samples every process whose
command line runs ``dlcore worker`` (the training workers) and keeps the largest. The growth after the first run
is what the server keeps of finished runs. ``--app-dir`` measures another checkout (e.g. an older commit from
``git worktree add``) with the same driver; the browser is the system Chromium (``$CHROMIUM`` or on the PATH).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
# the server and browser steps the tests use
from browser import CHROMIUM, CHROMIUM_ARGS, load_sample, nav, save_training_settings, start_server  # noqa: E402
SAMPLE = "Breast cancer (binary)"


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB, 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def worker_pids() -> list[int]:
    """The process ids of every running ``dlcore worker``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"dlcore worker" in (proc / "cmdline").read_bytes().replace(b"\0", b" "):
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def worker_rss_mb() -> float:
    """Resident memory of the largest running ``dlcore worker`` process, in MB."""
    return max((rss_mb(pid) for pid in worker_pids()), default=0.0)


def drive(url: str, server_pid: int, runs: int, epochs: int, chromium: str) -> list[dict]:
    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(120_000)
        page.goto(url)
        load_sample(page, SAMPLE, "Ready: predict")
        rows.append({"after": "sample loaded", "server_mb": rss_mb(server_pid), "worker_mb": 0.0, "seconds": 0.0})
        nav(page, "Model")
        save_training_settings(page, epochs, patience=epochs)
        nav(page, "Train")
        for number in range(1, runs + 1):
            started, peak_worker = time.time(), 0.0
            page.get_by_role("button", name="Train", exact=True).click()
            page.wait_for_timeout(1500)
            while not page.get_by_text("Training finished after").is_visible():
                peak_worker = max(peak_worker, worker_rss_mb())
                if time.time() - started > 600:
                    sys.exit(f"run {number} did not finish in 10 minutes")
                page.wait_for_timeout(250)
            seconds = time.time() - started
            expect(page.get_by_role("button", name="Train", exact=True)).to_be_enabled()
            page.wait_for_timeout(3000)  # let the server settle (garbage, fragment reruns)
            rows.append({"after": f"run {number}", "server_mb": rss_mb(server_pid), "worker_mb": peak_worker,
                         "seconds": seconds})
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="checkout whose app.py to serve")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(args.app_dir.resolve(), Path(tmp) / "runs", Path(tmp) / "server.log")
        try:
            rows = drive(url, server.pid, args.runs, args.epochs, CHROMIUM)
        finally:
            server.terminate()
            server.wait(30)
    print(f"app: {args.app_dir.resolve()}  sample: {SAMPLE}  epochs per run: {args.epochs}\n")
    print(f"{'after':<15}{'server RSS MB':>15}{'worker peak MB':>16}{'seconds':>9}")
    for row in rows:
        print(f"{row['after']:<15}{row['server_mb']:>15.0f}{row['worker_mb']:>16.0f}{row['seconds']:>9.1f}")
    first, last = rows[1]["server_mb"], rows[-1]["server_mb"]
    print(f"\nserver growth from run 1 to run {args.runs}: {last - first:+.0f} MB "
          f"({(last - first) / max(args.runs - 1, 1):+.1f} MB per run); target under +50 MB")


if __name__ == "__main__":
    main()
