"""Every model of a data set on the same test rows: the run on show, the other runs (networks, kept tunes) that
held out exactly those rows, and the baselines, ranked by the headline metric, each with the interval of its
difference from the run on show (a paired bootstrap on the test rows, as the verdict uses)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.baselines import judged_metric, titles
from dlcore.evaluation import LEVEL, LOWER_IS_BETTER, METRIC_TITLES, paired_differences, score
from dlcore.runs import RESULT_STATES, Run

MAX_COMPARED = 20  # the newest runs compared at most: each is a bootstrap on the test rows
THIS_RUN = "this run"


def comparable_runs(shown: Run, runs: list[Run]) -> list[Run]:
    """The runs among ``runs`` (newest first) with results, the same data set, target and task as ``shown`` and
    exactly its test rows (so their scores can be compared row by row), at most :data:`MAX_COMPARED`."""
    keys = ("dataset", "target", "task")
    mine = shown.test_rows()
    if mine is None:
        return []
    found = []
    for run in runs:
        if len(found) == MAX_COMPARED:
            break
        if run.run_dir == shown.run_dir or run.status not in RESULT_STATES or any(
                run.info.get(key) != shown.info.get(key) for key in keys):
            continue
        theirs = run.test_rows()
        if theirs is not None and theirs.shape == mine.shape and theirs.equals(mine) and run.metrics:
            found.append(run)
    return found


def _outputs(predictions: pd.DataFrame, classes: list | None) -> tuple:
    """``(labels, proba)`` of a run's stored test predictions, as :func:`~dlcore.evaluation.score` takes them."""
    labels = predictions["prediction"].to_numpy()
    if not classes:
        return labels, None
    return labels, predictions[[f"probability_{label}" for label in classes]].to_numpy(dtype=float)


def leaderboard_on_test(shown: Run, others: list[Run], classes: list | None, seed: int = 0) -> pd.DataFrame:
    """One row per model scored on ``shown``'s test rows, best first: ``shown``'s network, each of ``others``
    (:func:`comparable_runs`) whose stored test predictions cover those rows, and the baselines of ``shown``'s
    metrics. Columns: the model, its run and architecture, its test score on the headline metric, and ``shown``'s
    difference from it (this run − model) with its interval and whether that excludes 0. An empty table when
    ``shown`` has no stored test predictions."""
    metrics, predictions = shown.metrics or {}, shown.test_predictions()
    if not metrics or predictions is None:
        return pd.DataFrame()
    task, test = metrics["task"], metrics["test"]
    metric = judged_metric(test, metrics["primary_metric"])
    actual = shown.test_rows()[metrics["target"]].to_numpy()
    mine = _outputs(predictions, classes)
    compared = {}
    for run in others:
        theirs = run.test_predictions()
        if theirs is not None and len(theirs) == len(actual):
            compared[run.run_id[:8]] = (run, _outputs(theirs, classes))
    differences = paired_differences(task, metric, actual, mine, {key: outputs for key, (_, outputs)
                                                                  in compared.items()}, classes, seed=seed) \
        if compared else {}
    differences |= {name: judged for name, judged in (metrics.get("differences") or {}).items()
                    if judged.get("metric") == metric}
    names = titles(task)
    rows = [_row("Network", THIS_RUN, shown.info.get("architecture"), test.get(metric), None)]
    for key, (run, outputs) in compared.items():
        scored = score(task, actual, *outputs, classes).get(metric)
        rows.append(_row("Network", key, run.info.get("architecture"), scored, differences.get(key)))
    for name, scores in (metrics.get("baselines") or {}).items():
        rows.append(_row(names.get(name, name), "", "", scores.get(metric), differences.get(name)))
    table = pd.DataFrame(rows)
    table = table.sort_values("score", ascending=metric in LOWER_IS_BETTER, kind="stable", na_position="last")
    title = METRIC_TITLES.get(metric, metric)
    return table.rename(columns={"score": f"test {title}", "difference": f"this run − model ({title})",
                                 "interval": f"{LEVEL:.0%} interval"}).reset_index(drop=True)


def _row(model: str, run: str, architecture, value, judged: dict | None) -> dict:
    known = judged is not None and judged.get("low") is not None
    return {
        "model": model, "run": run, "architecture": architecture or "",
        "score": np.nan if value is None else float(value),
        "difference": judged["difference"] if judged else np.nan,
        "interval": f"{judged['low']:+.4g} to {judged['high']:+.4g}" if known else "",
        "clear difference": ("yes" if not judged["low"] <= 0 <= judged["high"] else "no") if known else "",
    }
