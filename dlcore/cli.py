"""``python -m dlcore train|tune|predict|profile|explain|worker``: the app's pipeline with the app's defaults.

Bad input ends with exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

from dlcore.architectures import ARCHITECTURE_NAMES
from dlcore.logs import VERBOSE_ENV, quiet_native_logs
from dlcore.runtime.errors import DataError

BAD_INPUT = 2
INTERRUPTED = 130


MAX_SEED = 2**31 - 1


def _whole(highest: int, lowest: str = "0"):
    """An argparse type: a whole number from 0 (read as ``lowest``) to ``highest``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not 0 <= value <= highest:
            raise argparse.ArgumentTypeError(f"{value} is not from {lowest} to {highest:,}")
        return value

    return parse


_seed = _whole(MAX_SEED)  # a seed every library takes


def _folds(text: str) -> int:
    """Networks of an ensemble (dlcore.training, imported only when the flag is given)."""
    from dlcore.training import MAX_FOLDS

    return _whole(MAX_FOLDS, "0 (chosen from the data's size)")(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m dlcore", description="No-code deep learning on tabular data, from the command line.")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's own log lines")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train a network on DATA and write a run folder")
    train.add_argument("data", type=Path, help="CSV (or .csv.gz, Parquet) file")
    train.add_argument("--target", help="column to predict (required without --config)")
    train.add_argument("--out", required=True, type=Path, help="run folder to write")
    train.add_argument("--config", type=Path, metavar="SETTINGS",
                       help="a settings.json (Model's Download settings, or any run folder's): how the file is read "
                            "and prepared, the network and its training, as in the app; the flags given override it")
    train.add_argument("--task", choices=["binary", "multiclass", "regression"], help="default: inferred from the target")
    train.add_argument("--arch", choices=ARCHITECTURE_NAMES,
                       help="network architecture (default: auto, or the settings')")
    train.add_argument("--epochs", type=int,
                       help="maximum epochs; early stopping may end sooner (default: 0, sized from the data)")
    train.add_argument("--seed", type=_seed, help="random seed for the split and the weights (default: the app's)")
    train.add_argument("--folds", type=_folds, metavar="K",
                       help="members of the cross-fitted ensemble: K networks, each trained on K-1 folds of the "
                            "non-test rows and stopped on the last, averaged into one model; 1: a single network "
                            "(default: 0, chosen from the data's size)")
    train.add_argument("--backend", choices=["local", "ray"],
                       help="local: train in this process; ray: as a job on the Ray cluster at $RAY_ADDRESS, with the "
                            "run folder on storage every node shares (default: ray if $RAY_ADDRESS is set)")

    tune = commands.add_parser("tune", help="search networks and training settings with Optuna, then train the best "
                                            "into a run folder")
    tune.add_argument("data", type=Path, help="CSV (or .csv.gz, Parquet) file")
    tune.add_argument("--target", help="column to predict (required without --config)")
    tune.add_argument("--config", type=Path, metavar="SETTINGS",
                      help="a settings.json: how the file is read and prepared, and the training settings the "
                           "search starts from; the flags given override it")
    tune.add_argument("--out", required=True, type=Path,
                      help="run folder to write: the best network's run, with the study in RUN_DIR/tune (run the "
                           "same command again to resume the study)")
    tune.add_argument("--trials", type=int, default=20,
                      help="trials that should end, finished or pruned, counting those of the study so far "
                           "(default: 20)")
    tune.add_argument("--minutes", type=float,
                      help="time limit: no trial starts after it and trials still training stop (default: none)")
    tune.add_argument("--task", choices=["binary", "multiclass", "regression"], help="default: inferred from the target")
    tune.add_argument("--epochs", type=int,
                      help="maximum epochs of each trial; early stopping and pruning may end sooner (default: 0, "
                           "sized from the data)")
    tune.add_argument("--seed", type=_seed, help="random seed for the split, the weights and the search (default: the "
                                               "app's)")
    tune.add_argument("--folds", type=_folds, metavar="K",
                      help="networks of each trial, one per fold of the non-test rows, which score it out of fold "
                           "(default: 0, chosen from the data's size, as train's)")
    tune.add_argument("--backend", choices=["local", "ray"],
                      help="local: each trial in a worker process, as many at once as $DLCORE_MAX_JOBS allows; ray: as "
                           "jobs on the Ray cluster at $RAY_ADDRESS (default: ray if $RAY_ADDRESS is set)")

    predict = commands.add_parser("predict", help="check DATA against the training columns, then predict every row")
    predict.add_argument("model", type=Path, help="run folder written by train, its model.zip, or an unpacked bundle")
    predict.add_argument("data", type=Path, help="CSV (or .csv.gz, Parquet, Excel) file with the training columns")
    predict.add_argument("--out", required=True, type=Path, help="predictions CSV to write")
    predict.add_argument("--explain", action="store_true",
                         help="add each row's three most influential columns (SHAP): reason_1..3 and their values")
    predict.add_argument("--chunk-rows", type=int, help="rows read, predicted and written at a time; fewer take less "
                                                        "memory (default: sized to the table's width)")

    explain = commands.add_parser("explain", help="SHAP values of rows of DATA in the original columns, as JSON")
    explain.add_argument("model", type=Path, help="run folder written by train, its model.zip, or an unpacked bundle")
    explain.add_argument("data", type=Path, help="CSV (or .csv.gz, Parquet) file with the training columns")
    explain.add_argument("--out", required=True, type=Path, help="JSON file to write")
    explain.add_argument("--rows", type=int, default=200,
                         help="explain a random sample of this many rows (all when DATA has fewer; default: 200)")
    explain.add_argument("--explainer", choices=["permutation", "gradient"], default="permutation",
                         help="permutation: exact, additive (default); gradient: faster, approximate")
    explain.add_argument("--values", action="store_true", help="also write every row's SHAP values")
    explain.add_argument("--seed", type=_seed, default=0, help="seed of the row sample and the explainer (default: 0)")

    profile = commands.add_parser("profile", help="the Explore step's numbers as JSON")
    profile.add_argument("data", type=Path, help="CSV (or .csv.gz, Parquet) file")
    profile.add_argument("--target", help="target column (adds the inferred task)")
    profile.add_argument("--out", required=True, type=Path, help="JSON file to write")

    worker = commands.add_parser("worker", help="run one queued job folder, then the jobs waiting after it (started "
                                                "by the app's job runner)")
    worker.add_argument("job", type=Path, help="job folder written by the app or by train")
    worker.add_argument("--root", type=Path, help="runs folder whose queue to advance when the job ends")
    worker.add_argument("--evaluate", action="store_true", help="score the run's best checkpoint instead of training")
    worker.add_argument("--backend", choices=["local", "ray"], default="local",
                        help="the backend whose waiting jobs this worker takes after its own (default: local)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.verbose:
        os.environ[VERBOSE_ENV] = "1"
    quiet_native_logs()
    try:
        _check_outputs(args)
        return {"train": _train, "tune": _tune, "predict": _predict, "profile": _profile, "explain": _explain,
                "worker": _worker}[args.command](args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return BAD_INPUT
    except OSError as exc:  # a path that cannot be read or written: the user's input, in one line
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return INTERRUPTED


def _check_outputs(args) -> None:
    """Refuse an ``--out`` that cannot be written before any work: a run folder that is a file or a folder of
    something else, an output file that is a folder, a place without write permission."""
    out = getattr(args, "out", None)
    if out is None:
        return
    out = Path(out)
    if args.command in ("train", "tune"):
        if out.exists() and not out.is_dir():
            raise DataError(f"--out {out} is a file; give a folder for the run (it is created).")
        if out.is_dir() and any(out.iterdir()) and not (out / "run.json").is_file() and not (out / "tune").is_dir():
            raise DataError(f"--out {out} is a folder that holds other files; give a new or empty folder, or an "
                            "earlier run's folder to replace.")
        folder = out if out.is_dir() else out.parent
    else:
        if out.is_dir():
            raise DataError(f"--out {out} is a folder; give a file name to write.")
        folder = out.parent
    existing = next((f for f in [folder, *folder.parents] if f.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"--out {out} cannot be written: {existing} is not a folder you may write to.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"--out {out} cannot be written: {exc.strerror or exc}.") from exc


def _prepared_file(args):
    """The file of ``train`` and ``tune`` prepared as the app prepares it (:func:`dlcore.settings.prepare_table`),
    under the settings of ``--config`` with the flags given on top; and those settings, the file's read options as
    detected."""
    import dataclasses

    from dlcore.runtime.loading import read_table
    from dlcore.settings import DataSettings, Settings, prepare_table

    if args.epochs is not None and args.epochs < 0:
        raise DataError("--epochs must be 0 (sized from the data) or more.")
    if args.config is not None:
        settings = Settings.load(args.config)
    elif args.target is None:
        raise DataError("--target is required: name the column to predict (or give --config with a settings file).")
    else:
        settings = Settings(DataSettings(args.target))
    flags = {"target": args.target, "task": args.task, "seed": args.seed, "epochs": args.epochs, "folds": args.folds}
    settings = settings.replace(**{name: value for name, value in flags.items() if value is not None})
    dataset = read_table(args.data, options=settings.data.read_options())
    target = settings.data.target
    data = prepare_table(dataset.frame, settings.data,
                         on_dropped=lambda count: print(f"dropped {count} rows with a missing {target!r}"))
    if settings.data.kfold:
        print(f"the settings' {settings.data.kfold}-fold cross-validation runs in the app; this trains the "
              "delivered model")
    return data, Settings(dataclasses.replace(settings.data, read=dataset.options.get_config()),
                          settings.architecture, settings.training)


def _train_into(out: Path, data, arch, config, dataset: str, backend: str, data_settings=None) -> int:
    """Train ``arch`` on ``data`` into the run folder ``out`` (here, or on Ray), printing each epoch, then the test
    score next to the naive baseline, the verdict and the bundle."""
    from dlcore.jobs import JobFailed, submit
    from dlcore.runs import run_info, write_job
    from dlcore.workers import train_here

    info = run_info(data, arch, config, dataset=dataset)
    epochs = info["max_epochs"]

    def progress(epoch: int, row: dict) -> None:
        shown = "  ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch")
        print(f"epoch {epoch}/{epochs}  {shown}", flush=True)

    def member(number: int, of: int) -> None:
        print(f"member {number} of {of}: trains on {of - 1} of {of} folds of the non-test rows, stops on the other",
              flush=True)

    try:
        if backend == "local":
            metrics = train_here(data, arch, config, out, info, on_epoch=progress, on_member=member,
                                 data_settings=data_settings)
        else:
            metrics = _follow(submit(write_job(out, data, arch, config, info, data_settings=data_settings),
                                     root=out.parent, backend="ray"),
                              progress, member)
    except JobFailed as exc:
        print(f"error: training failed: {exc} (see {out / 'worker.log'})", file=sys.stderr)
        return 1
    return _report(out, metrics)


def _report(out: Path, metrics: dict) -> int:
    """Print a delivered run's out-of-fold and test scores, the verdict and the bundle."""
    from dlcore.export import BUNDLE_NAME

    primary = metrics["primary_metric"]
    held = metrics["out_of_fold"]
    print(f"{metrics['members']} network(s) averaged; {primary}={held[primary]:.4g} out of fold on "
          f"{held['rows']:,} non-test rows")
    print(f"test {primary}={metrics['test'][primary]:.4g} (naive baseline {metrics['baselines']['naive'][primary]:.4g}); "
          f"trained on {metrics['device']}; wrote {out}")
    print(metrics["verdict"]["text"])
    bundle = out / BUNDLE_NAME
    print(f"model bundle: {bundle} ({bundle.stat().st_size / 1024:,.0f} KB)")
    return 0


def _train(args) -> int:
    from dlcore.architectures import resolve, validate
    from dlcore.jobs import default_backend

    data, settings = _prepared_file(args)
    arch = settings.architecture
    if args.arch is not None or arch is None:
        arch = resolve(args.arch or "auto", data.x_train.shape[1], len(data.x_train), data.task)
    config = settings.training
    validate(arch, config, data.task, len(data.preparation.classes))  # a settings file's network, bounded
    members = config.folds_for(len(data.x_train) + len(data.x_val))
    print(f"{data.task} on {data.preparation.target!r}: {len(data.x_train)} training rows, {data.x_train.shape[1]} "
          f"features, {arch.title}, {members} member(s)")
    signal.signal(signal.SIGTERM, _interrupt)  # a terminated train leaves its folder marked failed
    return _train_into(args.out, data, arch, config, args.data.name, args.backend or default_backend(),
                       settings.data)


def _follow(run, progress, on_member) -> dict:
    """Print each epoch of a run training elsewhere (each member's, for an ensemble) as it arrives; its metrics
    once it ends."""
    from dlcore.jobs import JobFailed, dispatch
    from dlcore.runs import RESULT_STATES

    members = len(run.member_dirs)
    shown = [0] * members if members else [0]
    while True:
        done = run.done
        histories = [frame.to_dict("records") for frame in run.member_histories()] if members else [run.history]
        for number, history in enumerate(histories, 1):
            for row in history[shown[number - 1]:]:
                if members and shown[number - 1] == 0:
                    on_member(number, members)
                progress(int(row["epoch"]), row)
                shown[number - 1] += 1
        if done:
            if run.status not in RESULT_STATES:
                raise JobFailed(run.error)
            return run.metrics
        dispatch(run.run_dir.parent)  # starts its jobs as slots free up, and notices a worker that died
        time.sleep(0.5)


def _tune(args) -> int:
    from dlcore import tuning
    from dlcore.jobs import default_backend
    from dlcore.tuning import start_tune

    if not 1 <= args.trials <= tuning.MAX_TRIALS:
        raise DataError(f"--trials must be from 1 to {tuning.MAX_TRIALS:,}.")
    if args.minutes is not None and not args.minutes > 0:
        raise DataError("--minutes must be more than 0.")
    data, settings = _prepared_file(args)
    task = data.task
    out = args.out.absolute()
    backend = args.backend or default_backend()
    limit = f" or {args.minutes:g} minutes" if args.minutes else ""
    print(f"{task} on {data.preparation.target!r}: {len(data.x_train)} training rows, {data.x_train.shape[1]} "
          f"features; tuning {args.trials} trials{limit}, study in {out / 'tune' / tuning.STUDY_FILE}", flush=True)
    earlier: set[int] = set()
    if (out / "tune" / tuning.TUNE_FILE).is_file():
        earlier = {trial.number for trial in tuning.Tune(out / "tune").trials()
                   if trial.state != tuning.TrialState.RUNNING}
        print(f"resuming the study in {out / 'tune'}: its {len(earlier)} ended trials count towards --trials",
              flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a terminated tune stops its trials; the same command resumes it
    tune = start_tune(data, args.trials, args.minutes, settings.training,
                      dataset=args.data.name, root=out.parent, backend=backend, tune_dir=out / "tune")
    try:
        _follow_tune(tune, earlier, data.primary_metric)
    except KeyboardInterrupt:
        tune.stop()
        raise
    print("leaderboard (best first; out-of-fold loss and headline score):")
    print(_leaderboard_text(tune.leaderboard()))
    chosen = tune.selection()
    if chosen is None:
        print("error: no trial finished, so there is no network to keep (see the notes above and "
              f"{out / 'tune' / tuning.TRIALS_DIR}/*/worker.log)", file=sys.stderr)
        return 1
    mixed = ", ".join(f"trial {item['trial']} × {item['weight']:.2f}" for item in chosen["ensemble"])
    default = " (just the default trial: the search found nothing better)" if chosen["default_only"] else ""
    primary = data.primary_metric
    print(f"ensemble selection: {mixed}{default}; out of fold {primary}={chosen['out_of_fold'][primary]:.4g} on "
          f"{chosen['out_of_fold']['rows']:,} rows; keeping it in {out}", flush=True)
    return _keep_into(out, tune, backend)


def _keep_into(out: Path, tune, backend: str) -> int:
    """Deliver the tune's selected ensemble as the run folder ``out`` (here, or as a job on Ray)."""
    from dlcore.jobs import JobFailed, submit
    from dlcore.runs import Run
    from dlcore.tuning import write_kept
    from dlcore.workers import work

    write_kept(tune, out)
    if backend == "local":
        metrics = work(out)
        if metrics is None:
            print(f"error: keeping the ensemble failed: {Run(out).error}", file=sys.stderr)
            return 1
    else:
        try:
            metrics = _follow(submit(out, root=out.parent, backend="ray"), lambda *_: None, lambda *_: None)
        except JobFailed as exc:
            print(f"error: keeping the ensemble failed: {exc}", file=sys.stderr)
            return 1
    return _report(out, metrics)


def _follow_tune(tune, earlier: set[int], data_metric: str) -> None:
    """Advance the tune and print each trial as it ends (but the ``earlier`` ones), with its out-of-fold loss and
    ``data_metric``, until the tune is done."""
    from dlcore.tuning import advance

    shown = set(earlier)
    while True:
        advance(tune.tune_dir)
        done = tune.done
        for trial in tune.trials():
            state = tune.trial_state(trial)
            if state in ("finished", "pruned", "failed") and trial.number not in shown:
                shown.add(trial.number)
                attrs = trial.user_attrs
                value = f"out-of-fold loss {trial.value:.4g}" if trial.value is not None else "no value"
                if attrs.get("out_of_fold") is not None:
                    value += f", {data_metric} {attrs['out_of_fold']:.4g}"
                epochs = f" after {attrs['epochs']} epochs ({attrs.get('seconds', 0):.1f} s)" if "epochs" in attrs else ""
                note = f"; {attrs['ended']}" if attrs.get("ended") else ""
                params = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
                print(f"trial {trial.number}: {state}, {value}{epochs}{note}  {params}", flush=True)
        if done:
            return
        time.sleep(0.5)


def _leaderboard_text(table) -> str:
    formats = {"out-of-fold loss": "{:.4g}", "out-of-fold score": "{:.4g}", "dropout": "{:.3f}", "l2": "{:.2e}", "learning_rate": "{:.2e}",
               "weight_decay": "{:.2e}"}
    return table.to_string(index=False, formatters={name: form.format for name, form in formats.items()
                                                    if name in table}, na_rep="")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _worker(args) -> int:
    from dlcore.workers import work

    signal.signal(signal.SIGTERM, _interrupt)
    return 0 if work(args.job, args.root, args.evaluate, backend=args.backend,
                     logs=args.backend == "local") is not None else 1


def _predict(args) -> int:
    from dlcore.runtime.streaming import predict_file

    predict_file(args.model, args.data, args.out, explain=args.explain, chunk_rows=args.chunk_rows)
    return 0


def _explain(args) -> int:
    from dlcore.runtime.explain import MAX_ROWS, background_for, explain
    from dlcore.runtime.files import write_json
    from dlcore.runtime.inference import Predictor
    from dlcore.runtime.loading import read_table

    if not 1 <= args.rows <= MAX_ROWS:
        raise DataError(f"--rows must be from 1 to {MAX_ROWS:,}.")
    predictor = Predictor.load(args.model)
    frame = read_table(args.data, for_prediction=True).frame
    rows = frame.sample(args.rows, random_state=args.seed).sort_index() if len(frame) > args.rows else frame
    background = background_for(args.model, predictor, args.seed)
    explanation = explain(predictor, rows, background, args.explainer, args.seed,
                          on_progress=lambda done, total: print(f"explained {done} of {total} rows", flush=True))
    summary = explanation.summary(values=args.values)
    if args.values:
        summary["row_index"] = [int(i) if isinstance(i, (int, np.integer)) else str(i) for i in rows.index]
    write_json(args.out, summary)
    top = ", ".join(explanation.importance()["column"].head(3))
    print(f"explained {len(rows)} rows with {args.explainer} SHAP against {len(background)} background row(s) in "
          f"{explanation.seconds:.1f} s; most important: {top}; wrote {args.out}")
    return 0


def _profile(args) -> int:
    from dlcore.profiling import profile
    from dlcore.runtime.loading import read_table

    dataset = read_table(args.data)
    report = profile(dataset.frame, args.target)
    report["format"] = {**dataset.options.get_config(), "description": dataset.describe_format(), "notes": dataset.notes}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"profiled {report['rows']} rows × {len(report['columns'])} columns into {args.out}")
    return 0
