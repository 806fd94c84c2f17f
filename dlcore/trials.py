"""What a tune's trial does in its worker (job kind ``trial``): reopen the study, train the trial's networks one per
fold, report every epoch to the pruner, keep the out-of-fold outputs, tell the study the result and advance the
tune."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.trial import TrialState

from dlcore.architectures import Architecture
from dlcore.ensemble import average, fold_of_rows, held_out_by_all, out_of_fold, spread_out, train_member
from dlcore.prepared import PreparedData
from dlcore.runs import JOB_FILE, MODEL_FILE, STOP_FILE, history_writer, non_test_rows
from dlcore.runtime.files import read_json, replacing, save_model, write_json
from dlcore.runtime.inference import PREPARED_DIR
from dlcore.selection import prediction_loss
from dlcore.training import TrainConfig
from dlcore.tuning import OUT_OF_FOLD_FILE, TUNE_FILE, advance, open_study

log = logging.getLogger("dlcore")

def run_trial(job_dir: Path, on_epoch=None, should_stop=None) -> dict:
    """Train one trial (job kind ``trial``): report each epoch's validation loss to the study, end when pruned,
    stopped or out of time, tell the study its best validation loss, then advance the tune (ask the next trials).
    Writes ``metrics.json``; returns it (``stopped_by_user`` when Stop ended it)."""
    job_dir = Path(job_dir).absolute()
    tune_dir = job_dir.parent.parent
    spec = read_json(job_dir / JOB_FILE)
    info = read_json(tune_dir / TUNE_FILE)
    study = open_study(tune_dir)
    trial = optuna.trial.Trial(study, spec["trial_id"])
    limit = {"deadline": info["budget"].get("deadline")}

    def out_of_time() -> bool:
        return limit["deadline"] is not None and time.time() >= limit["deadline"]

    def tune_stopped() -> bool:
        return (tune_dir / STOP_FILE).exists() or (job_dir / STOP_FILE).exists()

    outcome = {"trial": trial.number, "state": "failed", "value": None, "epochs_run": 0, "best_epoch": 0,
               "seconds": 0.0, "stopped_by_user": False, "members": 0}
    try:
        if tune_stopped() or out_of_time():
            reason = "stopped before it started" if tune_stopped() else "the time limit passed before it started"
            trial.set_user_attr("ended", reason)
            study.tell(trial.number, state=TrialState.FAIL)
            outcome.update(stopped_by_user=True, note=reason)
            return _write_outcome(job_dir, outcome)
        data = PreparedData.load(tune_dir / PREPARED_DIR)
        arch, config = Architecture.from_config(spec["architecture"]), TrainConfig.from_config(spec["config"])
        folds = fold_of_rows(data, config.folds_for(non_test_rows(data)), info["seed"])  # every trial's folds
        history = history_writer(job_dir, on_epoch)
        losses: list[float] = []

        def epoch(number: int, row: dict) -> None:  # the first member's epochs: the pruner's
            history(number, row)
            try:  # a resume may have set another time limit
                limit["deadline"] = read_json(tune_dir / TUNE_FILE)["budget"].get("deadline")
            except (ValueError, KeyError):
                pass
            losses.append(float(row["val_loss"]))
            trial.report(float(row["val_loss"]), number)
            if trial.should_prune():
                raise optuna.TrialPruned()

        def stop() -> bool:
            return bool(should_stop and should_stop()) or tune_stopped() or out_of_time()

        started = time.perf_counter()
        pruned, cut, models, outputs = False, False, [], {}
        try:
            for member in range(max(1, int(folds.max()) + 1)):
                result, held = train_member(data, folds, member, arch, config, should_stop=stop,
                                            on_epoch=epoch if member == 0 else on_epoch)
                if result.epochs_run:
                    models.append(result.model)
                    outputs[member] = held
                cut = result.stopped
                if cut:
                    break
        except optuna.TrialPruned:
            pruned = True
        seconds = time.perf_counter() - started
        value = None
        if not pruned and outputs:
            value, score = _keep_trial(job_dir, data, folds, models, outputs)
            trial.set_user_attr("out_of_fold", score)
        finite = [loss for loss in losses if math.isfinite(loss)]
        best = min(finite) if finite else None
        ended = "pruned: worse than the median of earlier trials on its first fold" if pruned else \
            ("stopped" if tune_stopped() else "cut by the time limit") if cut else ""
        for key, value_ in {"epochs": len(losses), "seconds": round(seconds, 2), "ended": ended,
                            "best_epoch": losses.index(best) + 1 if best is not None else 0,
                            "members": len(models)}.items():
            trial.set_user_attr(key, value_)
        if pruned:
            study.tell(trial.number, state=TrialState.PRUNED)
        elif value is None or not math.isfinite(value):
            trial.set_user_attr("ended", "the validation loss was never a number (the training diverged)")
            study.tell(trial.number, state=TrialState.FAIL)
            value = None
        else:
            study.tell(trial.number, value)
        outcome.update(state="pruned" if pruned else "finished" if value is not None else "failed", value=value,
                       epochs_run=len(losses), best_epoch=losses.index(best) + 1 if best is not None else 0,
                       seconds=round(seconds, 3), stopped_by_user=cut and tune_stopped(), note=ended,
                       members=len(models))
        return _write_outcome(job_dir, outcome)
    except BaseException as exc:
        if next(t.state for t in study.get_trials(deepcopy=False) if t.number == trial.number) == TrialState.RUNNING:
            trial.set_user_attr("ended", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            study.tell(trial.number, state=TrialState.FAIL)
        raise
    finally:
        try:
            advance(tune_dir, dispatching=False)  # the worker's dispatch starts them as this job ends
        except Exception:  # the next advance (a page refresh, another trial) asks them instead
            log.exception("could not advance the tune in %s", tune_dir)


def _keep_trial(job_dir: Path, data: PreparedData, folds, models: list, outputs: dict) -> tuple[float, float]:
    """Save a trial's members as one model and its out-of-fold outputs (for the ensemble selection); its
    out-of-fold loss (the study's value) and headline score."""
    save_model(average(models, data.x_train.shape[1]), job_dir / MODEL_FILE)
    held = spread_out(folds, outputs)
    with replacing(job_dir / OUT_OF_FOLD_FILE) as temporary:
        np.save(temporary, held)
    covered = held_out_by_all(held)
    targets = np.concatenate([data.y_train, data.y_val])[covered]
    loss = prediction_loss(data.task, targets, held[covered], len(data.preparation.classes))
    score = out_of_fold(data, folds, outputs)[data.primary_metric]
    return loss, float(score)


def _write_outcome(job_dir: Path, outcome: dict) -> dict:
    write_json(job_dir / "metrics.json", outcome)
    return outcome
