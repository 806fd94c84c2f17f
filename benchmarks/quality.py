"""Quality of our network against the defaults of CatBoost, LightGBM, HistGradientBoosting and an MLP, per data set.

    pip install -r requirements-bench.txt && python benchmarks/quality.py
    python benchmarks/quality.py --sets biopsy,glass --models auto,catboost --epochs 20 [--tune 10]
                                 [--max-rows 50000] [--markdown] [--json FILE] [--fresh] [--cache-network]

Every data set in ../shared/datasets/manifest.json, on ONE fixed split each: dlcore's own (20% test, 10% of the
rest validation, stratified for classes, ``--seed``, default dlcore's). Models:
- ``auto``: the network exactly as ``python -m dlcore train`` fits it (the Auto architecture, TrainConfig's
  defaults; ``--epochs`` caps its epochs for quick checks);
- ``tune``: with ``--tune N``, a tune of N trials as ``python -m dlcore tune`` runs it, then the best trial's
  settings trained as a normal run (its seconds: the whole search and that training);
- ``catboost``, ``lightgbm``, ``hgb`` (scikit-learn's HistGradientBoosting): their defaults, with a seed, quiet
  (CatBoost on every core, writing no catboost_info folder);
- ``mlp``: scikit-learn's MLPClassifier/MLPRegressor, defaults but ``max_iter=1000`` (at the default 200 it often
  stops before it converges);
- ``naive``: the majority class with the training class shares as probabilities, or the training mean.
Seconds are those of fitting (the network: building and training it).

Fair by construction:
- The data is what the app sees: dlcore reads the file, decides the column kinds on the whole table and drops rows
  without a target; a table of more than ``--max-rows`` rows (only flights.csv.gz) is sampled to it first.
- All models are scored on the same test rows by the same function (dlcore.evaluation.score), and none fits on them.
  The network fits on the training rows and early-stops on the validation rows, as in the app; the other models
  do not use a validation set, so they fit on the training and validation rows together.
- The network and the MLP get dlcore's prepared matrices. The gradient-boosting models get the columns the network
  reads, in the form they take natively: numbers as floats (text such as 3,449 read as dlcore reads it), yes/no
  columns as 0/1, dates as year, month, day and weekday, and categories as pandas categories with the levels of
  their fitting rows (unseen levels: missing), which LightGBM and HistGradientBoosting take natively and CatBoost
  as text ``cat_features`` (missing: a level of its own). HistGradientBoosting takes at most 255 levels: levels
  rarer than the 255 most frequent read as missing. Identifiers, constants and free text are left out, as they
  are for the network. Every model fits the target as the network does: class indices, or standardized values.

Primary score: ROC AUC (binary; positive class: the later of the sorted classes), accuracy (multiclass), R²
(regression). A model's normalized score = (score - naive) / (best gradient-boosting default - naive), the best
default being the highest of CatBoost, LightGBM and HistGradientBoosting: 0 is the naive baseline, 1 the best
default. The mean and the minimum over the data sets close the report.

Each result (data set, model, rows, seed) is cached in benchmarks/.cache/quality.json and reused unless ``--fresh``;
the networks' results only with ``--cache-network``, as they change whenever dlcore does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dlcore.architectures import resolve  # noqa: E402
from dlcore.baselines import naive_baseline  # noqa: E402
from dlcore.encoders import MISSING  # noqa: E402
from dlcore.evaluation import score  # noqa: E402
from dlcore.loading import drop_missing_target, read_table  # noqa: E402
from dlcore.prepared import PreparedData, prepare  # noqa: E402
from dlcore.profiling import decide_kinds  # noqa: E402
from dlcore.splitting import SEED  # noqa: E402
from dlcore.training import TrainConfig, train  # noqa: E402

DATASETS = ROOT.parent / "shared" / "datasets"
CACHE = ROOT / "benchmarks" / ".cache" / "quality.json"
METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "r2"}
BOOSTERS = ("catboost", "lightgbm", "hgb")
NETWORKS = ("auto", "tune")
MODELS = ("auto", "tune", *BOOSTERS, "mlp")
DATE_PARTS = ("year", "month", "day", "day_of_week")
HGB_MAX_LEVELS = 255
MLP_MAX_ITER = 1000


def load(entry: dict, max_rows: int, seed: int) -> PreparedData:
    """The data set as the app prepares it, sampled to ``max_rows`` rows before the split."""
    dataset = read_table(DATASETS / entry["file"])
    kinds = decide_kinds(dataset.frame)
    frame, _ = drop_missing_target(dataset.frame, entry["target"])
    if len(frame) > max_rows:
        frame = frame.sample(max_rows, random_state=seed)
    return prepare(frame, entry["target"], entry["task"], seed=seed, kinds=kinds)


def scored(data: PreparedData, outputs: np.ndarray) -> dict:
    """Test metrics of outputs in the network's form (positive-class probability, class probabilities, or
    standardized values), decoded as the network's are."""
    labels, proba = data.preparation.decode_outputs(outputs)
    return score(data.task, data.test_targets, labels, proba, data.preparation.classes or None)


def auto_scores(data: PreparedData, seed: int, epochs: int | None) -> tuple[dict, float]:
    """The network as ``python -m dlcore train`` fits it (Auto architecture, TrainConfig's defaults): test metrics
    and training seconds."""
    import keras  # noqa: F401  (loaded before the clock starts, so the first data set's seconds do not include it)

    arch = resolve("auto", data.x_train.shape[1], len(data.x_train), data.task)
    config = TrainConfig(seed=seed) if epochs is None else TrainConfig(seed=seed, epochs=epochs)
    start = time.perf_counter()
    result = train(data, arch, config)
    seconds = time.perf_counter() - start
    return scored(data, result.model.predict(data.x_test, verbose=0)), seconds


def tune_scores(data: PreparedData, seed: int, trials: int) -> tuple[dict, float]:
    """Tune as ``python -m dlcore tune`` does (its trials as worker processes of a local queue in a temporary runs
    folder), then the best trial's settings trained as a normal run: test metrics and the seconds of it all."""
    import tempfile

    from dlcore.jobs import start_tune
    from dlcore.tuning import advance

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as root:
        tune = start_tune(data, trials, config=TrainConfig(seed=seed), root=Path(root), backend="local")
        while not tune.done:
            advance(tune.tune_dir)
            time.sleep(1)
        arch, config, _ = tune.best_settings()
    result = train(data, arch, config)
    seconds = time.perf_counter() - start
    return scored(data, result.model.predict(data.x_test, verbose=0)), seconds


def tree_features(data: PreparedData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The columns the network reads, from the raw split, in the types tree models take natively: (the training
    and validation rows, the test rows)."""
    prep = data.preparation
    parts = [pd.concat([data.split.train, data.split.validation]), data.split.test]
    fit, test = {}, {}
    for name in prep.input_columns:
        kind = prep.kinds[name]
        for columns, frame in zip((fit, test), parts):
            values = prep.read(frame[name])
            if kind == "datetime":
                columns.update({f"{name}_{part}": getattr(values.dt, part).astype(float) for part in DATE_PARTS})
            elif kind == "boolean":
                columns[name] = values.eq(prep.encoders[name].true_).astype(float).where(values.notna())
            elif kind == "categorical":
                columns[name] = values
            else:
                columns[name] = values.astype(float)
        if kind == "categorical":
            levels = fit[name].value_counts().index  # most frequent first
            for columns in (fit, test):
                known = columns[name].where(columns[name].isin(levels))
                columns[name] = pd.Series(pd.Categorical(known, categories=levels), index=known.index)
    return pd.DataFrame(fit), pd.DataFrame(test)


def fit_targets(data: PreparedData) -> np.ndarray:
    """The encoded target (class indices, standardized values) of the training and validation rows."""
    return np.concatenate([data.y_train, data.y_val])


def fitted_scores(data: PreparedData, model, x_fit, x_test) -> tuple[dict, float]:
    """Fit ``model`` on the training and validation rows; its test metrics and fitting seconds."""
    start = time.perf_counter()
    model.fit(x_fit, fit_targets(data))
    seconds = time.perf_counter() - start
    if data.task == "regression":
        return scored(data, np.asarray(model.predict(x_test)).reshape(-1)), seconds
    proba = np.zeros((len(x_test), len(data.preparation.classes)))
    proba[:, np.asarray(model.classes_).astype(int)] = model.predict_proba(x_test)  # a class absent from fitting: 0
    return scored(data, proba[:, 1] if data.task == "binary" else proba), seconds


def booster_scores(name: str, data: PreparedData, seed: int) -> tuple[dict, float]:
    import catboost  # requirements-bench.txt: imported here, so --help works without them
    import lightgbm

    x_fit, x_test = tree_features(data)
    regression = data.task == "regression"
    categorical = list(x_fit.select_dtypes("category").columns)
    if name == "catboost":
        x_fit, x_test = (x.astype({c: object for c in categorical}).fillna({c: MISSING for c in categorical})
                         for x in (x_fit, x_test))
        model = (catboost.CatBoostRegressor if regression else catboost.CatBoostClassifier)(
            verbose=0, random_seed=seed, thread_count=-1, cat_features=categorical, allow_writing_files=False)
    elif name == "lightgbm":
        model = (lightgbm.LGBMRegressor if regression else lightgbm.LGBMClassifier)(random_state=seed, verbose=-1)
    else:
        for x in (x_fit, x_test):
            for column in categorical:
                x[column] = x[column].cat.set_categories(x[column].cat.categories[:HGB_MAX_LEVELS])
        model = (HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier)(
            random_state=seed, categorical_features="from_dtype")
    return fitted_scores(data, model, x_fit, x_test)


def mlp_scores(data: PreparedData, seed: int) -> tuple[dict, float]:
    model = (MLPRegressor if data.task == "regression" else MLPClassifier)(random_state=seed, max_iter=MLP_MAX_ITER)
    return fitted_scores(data, model, np.vstack([data.x_train, data.x_val]), data.x_test)


def run_model(name: str, data: PreparedData, args) -> tuple[dict, float]:
    if name == "auto":
        return auto_scores(data, args.seed, args.epochs)
    if name == "tune":
        return tune_scores(data, args.seed, args.tune)
    if name == "mlp":
        return mlp_scores(data, args.seed)
    return booster_scores(name, data, args.seed)


def normalized(value: float, naive: float, best: float) -> float:
    return (value - naive) / (best - naive) if best > naive else float("nan")


def run_set(entry: dict, models: list[str], args, cache: dict) -> dict:
    stem, task = entry["file"].split(".")[0], entry["task"]
    metric = METRIC[task]
    data = load(entry, args.max_rows, args.seed)
    rows = len(data.split.train) + len(data.split.validation) + len(data.split.test)
    record = {"data set": stem, "rows": rows, "task": task, "metric": metric, "results": {}}
    record["results"]["naive"] = {"metrics": naive_baseline(data), "seconds": 0.0}
    for name in models:
        key = f"{stem}|{name}|{rows}|{args.seed}"
        if name == "auto":
            key += f"|epochs={args.epochs}"
        elif name == "tune":
            key += f"|trials={args.tune}|epochs={args.epochs}"
        cacheable = name not in NETWORKS or args.cache_network
        cached = cacheable and not args.fresh and key in cache
        if cached:
            result = cache[key]
        else:
            try:
                metrics, seconds = run_model(name, data, args)
                result = {"metrics": metrics, "seconds": seconds}
            except Exception as exc:  # one model failing must not lose the others' results
                result = {"error": f"{type(exc).__name__}: {exc}"}
            if cacheable and "error" not in result:
                cache[key] = result
                CACHE.parent.mkdir(parents=True, exist_ok=True)
                CACHE.write_text(json.dumps(cache, indent=1))
        record["results"][name] = result
        if "error" in result:
            shown = result["error"]
        else:
            shown = f"{metric} {result['metrics'].get(metric, float('nan')):.4f} in {result['seconds']:.1f}s"
        print(f"{stem}: {name} {shown}{' (cached)' if cached else ''}", file=sys.stderr, flush=True)
    value = {name: r["metrics"].get(metric, float("nan")) if "metrics" in r else float("nan")
             for name, r in record["results"].items()}
    best = max((value[name] for name in BOOSTERS if name in value), default=float("nan"))
    record["best booster"] = best
    record["normalized"] = {name: normalized(value[name], value["naive"], best)
                            for name in (*NETWORKS, "mlp") if name in value}
    return record


def table(records: list[dict]) -> pd.DataFrame:
    rows = []
    for record in records:
        row = {key: record[key] for key in ("data set", "rows", "task", "metric")}
        for name, result in record["results"].items():
            row[name] = result["metrics"].get(record["metric"], np.nan) if "metrics" in result else np.nan
            if name != "naive":
                row[f"{name} s"] = result.get("seconds", np.nan)
        row.update({f"{name} norm": value for name, value in record["normalized"].items()})
        rows.append(row)
    return pd.DataFrame(rows).round(4)


def summary(records: list[dict]) -> pd.DataFrame:
    scores = pd.DataFrame([record["normalized"] for record in records])
    return pd.DataFrame({"mean": scores.mean(), "min": scores.min(), "data sets": scores.count()}).round(4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", help="data sets by file stem, comma-separated (default: all in the manifest)")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of {', '.join(MODELS)}")
    parser.add_argument("--epochs", type=int, help="cap the network's epochs (default: TrainConfig's)")
    parser.add_argument("--tune", type=int, metavar="N", help="also score a tune of N trials (then its best trained as a run)")
    parser.add_argument("--max-rows", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the raw results as JSON")
    parser.add_argument("--fresh", action="store_true", help="ignore cached results")
    parser.add_argument("--cache-network", action="store_true", help="cache the networks' results too")
    args = parser.parse_args()

    manifest = json.loads((DATASETS / "manifest.json").read_text())
    stems = [entry["file"].split(".")[0] for entry in manifest]
    chosen = args.sets.split(",") if args.sets else stems
    models = args.models.split(",")
    unknown = sorted(set(chosen) - set(stems)) + sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown data set(s) or model(s): {', '.join(unknown)}")
    if "tune" in models and args.tune is None:
        models.remove("tune")
    cache = json.loads(CACHE.read_text()) if CACHE.is_file() else {}

    records = []
    for entry, stem in zip(manifest, stems):
        if stem not in chosen:
            continue
        try:
            records.append(run_set(entry, models, args, cache))
        except Exception as exc:  # e.g. a file that fails to load: report it, go on with the others
            print(f"{stem}: FAILED {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    if not records:
        sys.exit("No data set could be run.")

    results, normalized_scores = table(records), summary(records)
    for shown in (results, normalized_scores) if len(normalized_scores) else (results,):
        print(shown.to_markdown(index=shown is normalized_scores) if args.markdown
              else shown.to_string(index=shown is normalized_scores), end="\n\n")
    print("normalized score = (score - naive) / (best of CatBoost, LightGBM, HistGradientBoosting - naive)")
    if args.json:
        import catboost
        import lightgbm

        settings = {"seed": args.seed, "max_rows": args.max_rows, "epochs": args.epochs, "tune_trials": args.tune,
                    "mlp_max_iter": MLP_MAX_ITER, "versions": {"catboost": catboost.__version__,
                    "lightgbm": lightgbm.__version__, "scikit-learn": sklearn.__version__}}
        args.json.write_text(json.dumps({"settings": settings, "data sets": records,
                                         "normalized": normalized_scores.to_dict(orient="index")}, indent=1))


if __name__ == "__main__":
    main()
