"""A run's explanation as a job and a file: ``<run>/explain`` is the job's folder, ``explanations.json`` what it
wrote (SHAP values of test rows and permutation importance on the test split), read back and checked."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dlcore.evaluation import LOWER_IS_BETTER, score
from dlcore.prepared import PreparedData
from dlcore.jobs import default_backend, dispatch, enqueue
from dlcore.runs import JOB_FILE, STATUS_FILE, Run, read_status
from dlcore.runtime.errors import DataError
from dlcore.runtime.explain import (EXPLAINED_ROWS, EXPLAINERS, MAX_ROWS, ColumnPipeline, Explanation, Progress,
                                    background_of, explain)
from dlcore.runtime.files import read_json, write_json
from dlcore.runtime.inference import PREPARED_DIR, Predictor

EXPLAIN_DIR = "explain"  # the explanation job's folder inside a run folder
EXPLANATIONS_FILE = "explanations.json"
PERMUTATION_REPEATS = 5


def start_explanation(run: Run, rows: int, explainer: str = "permutation", owner: str = "",
                      backend: str | None = None) -> Path:
    """Queue a job that explains ``rows`` test rows of a finished run (:func:`explain_job`); its
    folder ``<run>/explain`` holds the job's status and progress, the run folder gets ``explanations.json``."""
    if explainer not in EXPLAINERS or not 1 <= rows <= MAX_ROWS:
        raise DataError(f"Explain 1 to {MAX_ROWS:,} rows with one of {', '.join(EXPLAINERS)}.")
    root, job_dir = run.run_dir.parent, run.run_dir / EXPLAIN_DIR
    if explaining(explanation_status(run.run_dir)):
        raise DataError("This run is being explained already.")
    try:
        write_json(job_dir / JOB_FILE, {"version": 1, "kind": "explain", "rows": int(rows), "explainer": explainer})
        write_json(job_dir / STATUS_FILE, {"state": "queued", "queued": time.time()})
    except OSError as exc:
        raise DataError(f"The run folder {run.run_dir} cannot be written ({exc.strerror or exc}).") from exc
    enqueue(root, [f"{run.run_id}/{EXPLAIN_DIR}"], run.run_id, owner, backend or default_backend(), "train")
    dispatch(root)
    return job_dir


def explain_run(run_dir: Path, rows: int = EXPLAINED_ROWS, explainer: str = "permutation", seed: int = 0,
                on_progress: Progress | None = None, on_phase: Callable[[str], None] | None = None) -> dict:
    """Explain ``rows`` test rows of a finished run with a background of training rows; write and return
    ``explanations.json``: the explanation, permutation importance on the whole test split, and the rows' places
    in the test split."""
    if not 1 <= rows <= MAX_ROWS:
        raise DataError(f"Explain between 1 and {MAX_ROWS:,} rows; asked for {rows:,}.")
    run_dir = Path(run_dir)
    predictor = Predictor.load(run_dir)
    data = PreparedData.load(run_dir / PREPARED_DIR)
    test = data.split.test
    chosen = test.sample(rows, random_state=seed) if len(test) > rows else test
    explanation = explain(predictor, chosen, background_of(run_dir, seed), explainer, seed, on_progress)
    if on_phase is not None:
        on_phase("measuring permutation importance on the test split")
    importance = permutation_importance(predictor, test, data.test_targets, seed=seed)
    result = {"explanation": explanation.to_json(), "permutation_importance": importance.to_dict("records"),
              "test_rows": [test.index.get_loc(label) for label in chosen.index]}
    write_json(run_dir / EXPLANATIONS_FILE, result)
    return result


def explain_job(job_dir: Path, on_progress: Progress | None = None,
                on_phase: Callable[[str], None] | None = None) -> dict:
    """What a worker does with an explanation job (:func:`start_explanation`): explain the run in the
    folder above ``job_dir`` as its ``job.json`` asks; returns a short summary."""
    spec = read_json(Path(job_dir) / JOB_FILE)
    result = explain_run(Path(job_dir).parent, int(spec.get("rows", EXPLAINED_ROWS)),
                         spec.get("explainer", "permutation"), int(spec.get("seed", 0)), on_progress, on_phase)
    explanation = result["explanation"]
    return {"explainer": explanation["explainer"], "rows": len(explanation["values"]),
            "seconds": explanation["seconds"]}


def read_explanations(run_dir: Path) -> tuple[Explanation, pd.DataFrame] | None:
    """What :func:`explain_run` wrote, or None if the run has not been explained or the file is damaged (unreadable,
    or its parts do not fit together)."""
    path = Path(run_dir) / EXPLANATIONS_FILE
    if not path.is_file():
        return None
    try:
        data = read_json(path)
        explanation, permutation = Explanation.from_json(data["explanation"]), pd.DataFrame(
            data["permutation_importance"])
    except (ValueError, KeyError, TypeError):
        return None
    rows, columns, outputs = len(explanation.rows), len(explanation.columns), len(explanation.outputs)
    fits = (rows and columns and outputs and explanation.explainer in EXPLAINERS
            and explanation.values.shape == (rows, columns, outputs)
            and explanation.predictions.shape == (rows, outputs) and explanation.base_values.shape == (outputs,)
            and isinstance(explanation.background, int) and isinstance(explanation.seconds, (int, float))
            and {"column", "drop", "spread"} <= set(permutation.columns) and len(permutation) > 0
            and np.isfinite(explanation.values).all())
    return (explanation, permutation) if fits else None


def explanation_status(run_dir: Path) -> dict | None:
    """The status of the run's explanation job, or None if it was never asked for."""
    job_dir = Path(run_dir) / EXPLAIN_DIR
    return read_status(job_dir) if (job_dir / STATUS_FILE).is_file() else None


def explaining(status: dict | None) -> bool:
    """Whether an explanation job with this status is waiting or running."""
    return status is not None and status.get("state") in ("queued", "running")


def permutation_importance(predictor: Predictor, rows: pd.DataFrame, targets: pd.Series,
                           repeats: int = PERMUTATION_REPEATS, seed: int = 0) -> pd.DataFrame:
    """The drop in the task's primary metric on ``rows`` when one column is shuffled (mean and spread over
    ``repeats`` shuffles), most important first. Each column is prepared once and shuffled as a block."""
    prep = predictor.preparation
    metric = predictor.metrics["primary_metric"]
    pipeline = ColumnPipeline(predictor, rows, rows.iloc[:0])
    n, columns = len(rows), len(pipeline.columns)
    index = np.repeat(np.arange(n)[:, None], columns, axis=1)

    def scored(order: np.ndarray) -> float:
        labels, proba = prep.decode_outputs(pipeline.forward.gathered(order))
        return score(prep.task, targets, labels, proba, prep.classes or None)[metric]

    reference = scored(index)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    rng = np.random.default_rng(seed)
    drops = []
    for j in range(columns):
        column_drops = []
        for _ in range(repeats):
            shuffled = index.copy()
            shuffled[:, j] = rng.permutation(n)
            column_drops.append(sign * (reference - scored(shuffled)))
        drops.append(column_drops)
    drops = np.asarray(drops)
    table = pd.DataFrame({"column": pipeline.columns, "drop": drops.mean(axis=1), "spread": drops.std(axis=1)})
    return table.sort_values("drop", ascending=False, ignore_index=True).assign(metric=metric)
