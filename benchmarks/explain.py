"""Time dlcore's SHAP explanation next to the naive call, in the same run.

    python benchmarks/explain.py [--rows 200] [--columns 30] [--naive-rows 20] [--folds K]

A generated binary table (8,000 rows; ``--columns`` columns: two thirds numbers, the rest categories and yes/no)
trains the default model (Auto, 30 epochs: by default an ensemble of 5 members; ``--folds 1``: one network). Both
explainers then explain ``--rows`` test rows against 100 training rows:

- *naive*: ``shap.PermutationExplainer`` with its default settings on a function that rebuilds the masked raw rows
  and calls ``preparation.transform`` and ``model.predict`` on them, as a first attempt would (shap masks numbers
  only, so each column is masked as the index of the row whose value it takes); timed on ``--naive-rows`` rows,
  its rows/s is what it would keep up over more;
- *dlcore permutation* and *dlcore gradient*: ``dlcore.runtime.explain.explain``, the permutation explainer also
  with
  shap's default budget (500 evaluations: as many permutations as fit), which isolates the speed-up of the
  implementation from that of the smaller budget.

The table gives seconds, rows/second and the speed-up over the naive call (rows/s ratio).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcore.architectures import resolve  # noqa: E402
from dlcore.prepared import prepare  # noqa: E402
from dlcore.runtime.explain import PERMUTATIONS, background_of, explain  # noqa: E402
from dlcore.runtime.inference import Predictor  # noqa: E402
from dlcore.training import TrainConfig  # noqa: E402
from dlcore.workers import train_here  # noqa: E402


def generate(rows: int, columns: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    numbers = max(1, 2 * columns // 3)
    frame = pd.DataFrame({f"x{i}": rng.normal(0, 1 + i % 3, rows).round(3) for i in range(numbers)})
    for i in range(columns - numbers):
        if i % 3 == 2:
            frame[f"flag{i}"] = rng.choice(["yes", "no"], rows)
        else:
            frame[f"c{i}"] = pd.Series(rng.integers(0, 4 + 3 * i, rows)).map(lambda v, i=i: f"level{i}_{v}")
    signal = frame["x0"] - 0.5 * frame["x1"] + (frame.get("c0", pd.Series("", index=frame.index)) == "c0_1")
    frame["y"] = np.where(signal + rng.normal(0, 0.5, rows) > 0, "yes", "no")
    return frame


def naive(predictor: Predictor, rows: pd.DataFrame, background: pd.DataFrame) -> float:
    """Seconds for the first attempt: raw rows rebuilt, prepared and predicted on every call shap makes."""
    import shap

    prep, model = predictor.preparation, predictor.model
    columns = prep.input_columns
    table = pd.concat([rows[columns], background[columns]], ignore_index=True)

    def pipeline(index: np.ndarray) -> np.ndarray:
        index = index.astype(int)
        frame = pd.DataFrame({name: table[name].to_numpy()[index[:, j]] for j, name in enumerate(columns)})
        return model.predict(prep.transform(frame), verbose=0).reshape(len(frame), -1)[:, 0]

    explained = np.repeat(np.arange(len(rows))[:, None], len(columns), axis=1).astype(float)
    behind = np.repeat(np.arange(len(rows), len(table))[:, None], len(columns), axis=1).astype(float)
    explainer = shap.PermutationExplainer(pipeline, shap.maskers.Independent(behind, max_samples=len(behind)))
    start = time.perf_counter()
    explainer(explained, silent=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--columns", type=int, default=30)
    parser.add_argument("--naive-rows", type=int, default=20)
    parser.add_argument("--folds", type=int, default=0, metavar="K", help="members (default: the default, 5 here)")
    args = parser.parse_args()

    frame = generate(8000, args.columns)
    data = prepare(frame, "y", "binary")
    arch = resolve("auto", data.x_train.shape[1], len(data.x_train))
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        members = train_here(data, arch, TrainConfig(epochs=30, folds=args.folds), run_dir)["members"]
        predictor = Predictor.load(run_dir)
        background = background_of(run_dir)
        test = data.split.test.sample(args.rows, random_state=0)
        explain(predictor, test.head(2), background)  # start TensorFlow and compile the forward pass once
        results = []
        seconds = naive(predictor, test.head(args.naive_rows), background)
        reference = args.naive_rows / seconds
        results.append({"explainer": "naive: shap on transform + model.predict", "rows": args.naive_rows,
                        "seconds": seconds, "rows/s": reference})
        default_budget = 500 // (2 * args.columns + 1)
        for name, title, permutations in (("permutation", "dlcore permutation, 500 evaluations", default_budget),
                                          ("permutation", f"dlcore permutation ({PERMUTATIONS} permutations)",
                                           PERMUTATIONS),
                                          ("gradient", "dlcore gradient", PERMUTATIONS)):
            explanation = explain(predictor, test, background, name, permutations=permutations)
            results.append({"explainer": title, "rows": args.rows, "seconds": explanation.seconds,
                            "rows/s": args.rows / explanation.seconds})
    table = pd.DataFrame(results)
    table["speed-up"] = table["rows/s"] / reference
    print(f"{args.columns} columns ({data.x_train.shape[1]} network inputs), {arch.title} × {members} member(s), "
          "background 100 rows, the naive call with shap's default budget of 500 evaluations per row")
    print(table.to_string(index=False, formatters={"seconds": "{:.2f}".format, "rows/s": "{:.1f}".format,
                                                   "speed-up": "{:.1f}×".format}))


if __name__ == "__main__":
    main()
