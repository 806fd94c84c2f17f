"""Wide tables: loading, profiling and the Upload/Explore/Prepare pages next to ``pandas.read_csv`` of the same file.

    python benchmarks/wide.py [--shapes 1000x5000 1000x10000] [--pages upload explore prepare]

Each file is generated: ``rows`` × ``columns`` numeric columns (normal values, 4 decimals, 2% missing in one column in
ten) and a binary target. Per file it measures, best of ``--repeat``: ``pandas.read_csv`` (the reference), dlcore's
``read_table``, ``profile`` with the target, and every page in ``--pages`` as the app runs it (``AppTest``, the data
set and target already chosen, so the figure is the page's own script time once the file is loaded): its first visit
(nothing cached: Explore profiles, Prepare prepares) and a later one. Ratios are against the reference measured in
the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DLCORE_RUNS_DIR", tempfile.mkdtemp(prefix="wide-runs-"))

from dlcore.profiling import profile  # noqa: E402
from dlcore.runtime.loading import read_table  # noqa: E402
from profiling import best_of  # noqa: E402  (benchmarks/profiling.py)


def generate(rows: int, columns: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(rows, columns)).round(4)
    values[rng.random((rows, columns)) < 0.02 * (np.arange(columns) % 10 == 0)] = np.nan
    frame = pd.DataFrame(values, columns=[f"g{i}" for i in range(columns)])
    frame["target"] = np.where(values[:, 0] + np.nan_to_num(values[:, 1]) > 0, "yes", "no")
    frame.to_csv(path, index=False)


def page_seconds(path: Path, page: str) -> tuple[float, float]:
    """A first (cold: nothing cached) and a second visit of ``page`` with the file loaded and the target chosen, as
    the app runs them."""
    from streamlit.testing.v1 import AppTest

    from dlcore.decisions import infer_task
    from pages import shared

    shared._profile.clear()
    dataset = read_table(path)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    app.session_state["dataset"] = dataset
    app.session_state["target"] = "target"
    app.session_state["task"] = infer_task(dataset.frame["target"])
    app.run()
    seconds = []
    for _ in range(2):
        app.switch_page("pages/upload.py" if page != "upload" else "pages/explore.py").run()
        start = time.perf_counter()
        app.switch_page(f"pages/{page}.py").run()
        seconds.append(time.perf_counter() - start)
        if app.exception:
            raise RuntimeError(f"{page}: {app.exception[0].message}")
    return seconds[0], seconds[1]


def measure(path: Path, repeat: int, pages: list[str]) -> dict:
    reference = best_of(repeat, lambda: pd.read_csv(path))
    loaded = {}
    load = best_of(repeat, lambda: loaded.update(data=read_table(path)))
    frame = loaded["data"].frame
    prof = best_of(repeat, lambda: profile(frame, "target"))
    row = {"rows × columns": f"{frame.shape[0]:,} × {frame.shape[1] - 1:,}", "MB": round(path.stat().st_size / 2**20, 1),
           "read_csv s": round(reference, 2), "load s": round(load, 2), "profile s": round(prof, 2),
           "(load + profile) / read_csv": round((load + prof) / reference, 1)}
    for page in pages:
        cold, warm = page_seconds(path, page)
        row[f"{page} first / again s"] = f"{cold:.2f} / {warm:.2f}"
        row[f"{page} first / read_csv"] = round(cold / reference, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["1000x5000", "1000x10000"])
    parser.add_argument("--pages", nargs="*", default=["upload", "explore", "prepare"])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    table = []
    with tempfile.TemporaryDirectory() as folder:
        for shape in args.shapes:
            rows, columns = map(int, shape.split("x"))
            path = Path(folder) / f"wide_{rows}x{columns}.csv"
            generate(rows, columns, path)
            table.append(measure(path, args.repeat, args.pages))
            print(table[-1], file=sys.stderr, flush=True)
    print(pd.DataFrame(table).to_markdown(index=False))


if __name__ == "__main__":
    main()
