"""Honest baselines on the test split, and the verdict: is the network worth it?

Every baseline is scored on the test split the network is scored on, with the same metrics:
``naive`` (majority class with class-prior probabilities, or the training mean; for regression also
``naive_median``), ``random`` (shuffled training labels), ``linear`` (logistic or ridge regression) and
``gradient_boosting`` (scikit-learn's HistGradientBoosting with its defaults); the last two are fitted on
the network's own prepared matrix of the non-test rows (training and validation, as the network's ensemble),
where a column of category codes (a learned embedding's input) is one-hot encoded for the linear model and a
categorical feature for gradient boosting.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from dlcore.evaluation import LOWER_IS_BETTER, METRIC_TITLES, is_better, score
from dlcore.prepared import PreparedData
from dlcore.runtime.encoders import CATEGORY_FEATURE
from dlcore.splitting import SEED

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

NAIVE_TITLES = {"binary": "Majority class", "multiclass": "Majority class", "regression": "Training mean"}
NETWORK = "network"
ONE_THREAD_ROWS = 50_000
MAX_HGB_LEVELS = 255  # HistGradientBoosting's most categories per feature; beyond, codes are used as numbers
BEST_CELL = "background-color: rgba(33, 195, 84, 0.25); font-weight: bold"


def titles(task: str) -> dict[str, str]:
    """Display names of the baselines (in the order :func:`baselines` returns them) and the network."""
    regression = task == "regression"
    names = {"naive": NAIVE_TITLES[task]}
    if regression:
        names["naive_median"] = "Training median"
    names["random"] = "Random (shuffled training " + ("values)" if regression else "labels)")
    names["linear"] = "Ridge regression" if regression else "Logistic regression"
    names["gradient_boosting"] = "Gradient boosting"
    names[NETWORK] = "Network"
    return names


def naive_baseline(data: PreparedData, statistic: str = "mean") -> dict[str, float]:
    """Majority class with class-prior probabilities (classification), or the training ``statistic``
    (``"mean"`` or ``"median"``) for every row (regression)."""
    return _scored(data, _naive(data, statistic))


def random_baseline(data: PreparedData, seed: int = SEED) -> dict[str, float]:
    """Chollet's shuffled-label baseline: the training labels (or values) shuffled with ``seed``, one per test
    row (cycled when the test split is larger), each class guess given with certainty. It has the right class
    shares but no information from the inputs: about the sum of squared class shares in accuracy."""
    return _scored(data, _random(data, seed))


def linear_baseline(data: PreparedData) -> dict[str, float]:
    """Logistic regression (classification) or ridge regression (regression) on the prepared inputs (category
    codes one-hot encoded: a code's number means nothing to a linear model)."""
    return _scored(data, _linear(data))


def gradient_boosting_baseline(data: PreparedData, seed: int = SEED) -> dict[str, float]:
    """scikit-learn's HistGradientBoosting with its defaults: the strong classical reference on tables."""
    return _scored(data, _gradient_boosting(data, seed))


def baseline_predictions(data: PreparedData, seed: int = SEED) -> dict[str, tuple]:
    """Every baseline by name (see :func:`titles`): its predictions of the test split as ``(labels, proba)`` in
    original labels and units (proba None for regression), as the network's are decoded."""
    result = {"naive": _naive(data)}
    if data.task == "regression":
        result["naive_median"] = _naive(data, "median")
    result["random"] = _random(data, seed)
    result["linear"] = _linear(data)
    result["gradient_boosting"] = _gradient_boosting(data, seed)
    return result


def baselines(data: PreparedData, seed: int = SEED, predictions: dict[str, tuple] | None = None
              ) -> dict[str, dict[str, float]]:
    """Every baseline by name (see :func:`titles`), each with the task's metrics on the test split (of its
    ``predictions`` when already made)."""
    return {name: _scored(data, predicted)
            for name, predicted in (predictions or baseline_predictions(data, seed)).items()}


def _scored(data: PreparedData, predicted: tuple) -> dict[str, float]:
    """The task's metrics of ``(labels, proba)`` on the test split."""
    prep = data.preparation
    return score(prep.task, data.test_targets, *predicted, prep.classes or None)


def _naive(data: PreparedData, statistic: str = "mean") -> tuple:
    prep = data.preparation
    y_train, n = data.train_targets, len(data.test_targets)
    if prep.task == "regression":
        return np.full(n, float(y_train.agg(statistic))), None
    train_text = y_train.astype(str)
    priors = np.array([(train_text == str(c)).mean() for c in prep.classes])
    return np.full(n, prep.classes[int(np.argmax(priors))], dtype=object), np.tile(priors, (n, 1))


def _random(data: PreparedData, seed: int) -> tuple:
    guesses = np.resize(np.random.default_rng(seed).permutation(data.y_train), len(data.x_test))
    if data.task == "regression":
        return _decoded(data, guesses)
    return _decoded(data, np.eye(len(data.preparation.classes))[guesses])


def _code_columns(data: PreparedData) -> list[int]:
    """The prepared columns that hold category codes."""
    return [i for i, kind in enumerate(data.preparation.feature_types) if kind.startswith(CATEGORY_FEATURE)]


def _linear(data: PreparedData) -> tuple:
    model = Ridge() if data.task == "regression" else LogisticRegression(max_iter=1000)
    if codes := _code_columns(data):
        model = make_pipeline(ColumnTransformer([("codes", OneHotEncoder(handle_unknown="ignore"), codes)],
                                                remainder="passthrough"), model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _fitted(data, model)


def _gradient_boosting(data: PreparedData, seed: int) -> tuple:
    """Small data is fitted on one thread: there, OpenMP threads slow it down, by 100× when the cores are busy
    (e.g. training a network meanwhile; scikit-learn issue #30662). The result is the same."""
    model = HistGradientBoostingRegressor if data.task == "regression" else HistGradientBoostingClassifier
    types = data.preparation.feature_types
    categorical = [i for i in _code_columns(data) if int(types[i].split(":")[1]) <= MAX_HGB_LEVELS] or None
    with threadpool_limits(1 if len(data.x_train) < ONE_THREAD_ROWS else None, user_api="openmp"):
        return _fitted(data, model(random_state=seed, categorical_features=categorical))


def _fitted(data: PreparedData, model) -> tuple:
    """Fit ``model`` on the encoded target of every non-test row (it needs no validation rows to stop on; the
    network's ensemble learns from them all too) and predict the test split. With a single class in those rows
    there is nothing to separate: that is the majority-class baseline."""
    x, y = np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val])
    if data.task != "regression" and np.unique(y).size < 2:
        return _naive(data)
    model.fit(x, y)
    if data.task == "regression":
        return _decoded(data, model.predict(data.x_test))
    proba = np.zeros((len(data.x_test), len(data.preparation.classes)))
    proba[:, model.classes_] = model.predict_proba(data.x_test)  # classes absent from training get 0
    return _decoded(data, proba)


def _decoded(data: PreparedData, predicted: np.ndarray) -> tuple:
    """Standardized values (regression) or one probability column per class, decoded to original labels/units as
    the network's outputs are."""
    prep = data.preparation
    return prep.decode_outputs(predicted[:, 1] if prep.task == "binary" else predicted)


def judged_metric(network: dict[str, float], metric: str) -> str:
    """The metric a verdict judges by: ``metric``, or the network's first one when it has no score for it (e.g. ROC
    AUC when the test split lacks a class)."""
    return metric if metric in network else next(iter(network))


def verdict(network: dict[str, float], baseline_scores: dict[str, dict[str, float]], metric: str, task: str,
            predictions=None, differences: dict[str, dict] | None = None) -> dict:
    """Is deep learning worth it here? Compares the network's test scores with the baselines' on ``metric``.

    Returns the ``best`` model's name and its ``margin`` over the ``runner_up``; ``beats_naive`` (better than
    every naive baseline); ``collapsed`` (a classifier whose ``predictions`` are one class for every test row);
    a ``level`` (``success``, ``warning`` or ``error``) and the ``text`` in plain words. Ties go to the baseline, and
    the text says it is a tie. With ``differences`` (:func:`~dlcore.evaluation.paired_differences` of the network
    against each baseline), ``clear``: whether the interval of the network's difference from the model it is judged
    against (the best baseline, or the runner-up when the network is best) excludes 0; when it does not, the text
    says there is no clear difference. ``disagree``: the other metrics on which that comparison goes the other way
    (none on a tie; the text then says which metrics set the two apart)."""
    metric = judged_metric(network, metric)
    names, title = titles(task), METRIC_TITLES.get(metric, metric)
    scores = {name: s[metric] for name, s in baseline_scores.items() if metric in s} | {NETWORK: network[metric]}
    lower = metric in LOWER_IS_BETTER
    ranked = sorted(scores, key=lambda name: scores[name] if lower else -scores[name])  # stable: ties keep order
    best, runner_up = ranked[0], ranked[1]
    margin = abs(scores[best] - scores[runner_up])
    naive = [name for name in ranked if name.startswith("naive")]
    beats_naive = all(is_better(metric, scores[NETWORK], scores[name]) for name in naive)
    classes = np.unique(np.asarray(predictions).astype(str)) if predictions is not None else []
    collapsed = task != "regression" and len(classes) == 1

    def number(value: float) -> str:
        """4 significant digits, and a large value whole with thousands separators (10,880, not 1.088e+04)."""
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.4g}"

    def shown(name: str) -> str:
        return f"{names[name]} ({number(scores[name])})"

    def difference(a: str, b: str) -> str:
        """|a − b| to the decimals the scores are shown with (4 significant digits): 0.0088, not 0.008772."""
        largest = max(abs(scores[a]), abs(scores[b]), 1e-12)
        return number(round(abs(scores[a] - scores[b]), max(0, 3 - int(np.floor(np.log10(largest))))))

    tied = best != NETWORK and np.isclose(scores[best], scores[NETWORK], rtol=0, atol=1e-12)
    rival = runner_up if best == NETWORK else best
    judged = (differences or {}).get(rival)
    clear = None if judged is None or judged.get("low") is None else not judged["low"] <= 0 <= judged["high"]
    others = [m for m in network if m != metric and m in baseline_scores.get(rival, {})]
    network_wins = is_better(metric, scores[NETWORK], scores[rival])
    apart = [m for m in others if not np.isclose(network[m], baseline_scores[rival][m], rtol=0, atol=1e-12)]
    ahead = [m for m in apart if is_better(m, network[m], baseline_scores[rival][m])]
    disagree = [] if tied else [m for m in apart if (m in ahead) != network_wins]  # a tie has no side to disagree with
    if clear is False and not tied:
        sentences = [f"The network and {names[rival]} are not clearly different on the test split: {title} "
                     f"{number(scores[NETWORK])} against {number(scores[rival])}, a difference whose "
                     f"{judged['level']:.0%} interval ({_signed(judged['low'])} to {_signed(judged['high'])}, "
                     f"{judged['rows']:,} test rows resampled) includes no difference at all."]
    elif best == NETWORK:
        sentences = [f"The network is the best model on the test split: {title} {number(scores[NETWORK])}, ahead of "
                     f"the best baseline, {shown(runner_up)}, by {difference(NETWORK, runner_up)}."]
    elif tied:
        sentences = [f"The network and {names[best]} tie as the best models on the test split: {title} "
                     f"{number(scores[best])}."]
    else:
        sentences = [f"{names[best]} is the best model on the test split: {title} {number(scores[best])}, against "
                     f"the network's {number(scores[NETWORK])} (a gap of {difference(best, NETWORK)})."]
    if clear is True:
        sentences.append(f"The {judged['level']:.0%} interval of the difference is {_signed(judged['low'])} to "
                         f"{_signed(judged['high'])} ({judged['rows']:,} test rows resampled): a clear difference.")
    if tied and apart:
        sides = [f"{word} on {', '.join(METRIC_TITLES.get(m, m) for m in group)}"
                 for word, group in (("better", ahead), ("worse", [m for m in apart if m not in ahead])) if group]
        sentences.append(f"Beyond the tie, the network does {' and '.join(sides)} than {names[rival]}.")
    if disagree:
        better, worse = ("better", "worse") if not network_wins else ("worse", "better")
        sentences.append(f"The metrics disagree: on {', '.join(METRIC_TITLES.get(m, m) for m in disagree)} the "
                         f"network does {better} than {names[rival]}, not {worse}.")
    if collapsed:
        sentences.append(f"The network has collapsed: it answers “{classes[0]}” for every test row, as a rule that "
                         "ignores the inputs would.")
    if not beats_naive:
        sentences.append(f"The network does not beat the naive baseline, {shown(naive[0])}: it has learned nothing "
                         "useful from the inputs.")
    elif tied:
        sentences.append(f"The network beats the naive baseline and only matches {names[best]}: on this data the "
                         "simpler classical model does as well.")
    elif clear is False:
        sentences.append(f"The network beats the naive baseline; against {names[rival]} the test split cannot "
                         "tell: the simpler model is as good a choice here.")
    elif best != NETWORK:
        sentences.append(f"The network beats the naive baseline but not {names[best]}: on this data a classical "
                         "model is the better choice.")
    else:
        sentences.append("Deep learning pays off on this data.")
    if collapsed or not beats_naive:
        sentences.append("Try a lower learning rate, another architecture, more epochs or better columns.")
    level = "error" if collapsed else "success" if best == NETWORK and beats_naive and clear is not False \
        else "warning"
    return {"metric": metric, "best": best, "runner_up": runner_up, "margin": float(margin),
            "beats_naive": beats_naive, "collapsed": collapsed, "level": level, "text": " ".join(sentences),
            "versus": rival, "clear": clear, "disagree": disagree,
            **({"interval": {key: judged[key] for key in ("difference", "low", "high", "level", "rows")}}
               if judged is not None else {})}


def _signed(value: float) -> str:
    """A difference with its sign, to 2 significant digits: +0.012, −0.0031."""
    return f"{value:+.2g}".replace("-", "−")


def difference_table(differences: dict[str, dict], task: str) -> pd.DataFrame:
    """Per baseline (rows, by title): the network's test score minus its, on the headline metric, the interval of
    that difference (paired bootstrap), and whether the interval excludes 0 (a clear difference)."""
    rows = []
    for name, judged in differences.items():
        known = judged.get("low") is not None
        rows.append({
            "model": titles(task).get(name, name),
            f"network − model ({METRIC_TITLES.get(judged['metric'], judged['metric'])})": judged["difference"],
            f"{judged['level']:.0%} interval": f"{_signed(judged['low'])} to {_signed(judged['high'])}" if known
            else "not known",
            "clear difference": ("yes" if not judged["low"] <= 0 <= judged["high"] else "no") if known else "—",
        })
    return pd.DataFrame(rows).set_index("model")


def score_table(scores: dict[str, dict[str, float]], task: str) -> pd.DataFrame:
    """Models × metrics: one row per model, one column per metric, both by their display titles."""
    table = pd.DataFrame.from_dict(scores, orient="index")
    table.index = [titles(task).get(name, name) for name in table.index]
    return table.rename(columns=METRIC_TITLES)


def highlight_best(table: pd.DataFrame) -> Styler:
    """A :func:`score_table` with the best value of every metric highlighted (lowest for errors and losses)."""
    lower_titles = {METRIC_TITLES[m] for m in LOWER_IS_BETTER}
    lower = [column for column in table.columns if column in lower_titles]
    higher = [column for column in table.columns if column not in lower_titles]
    return (table.style.format(precision=4)
            .highlight_max(subset=higher, props=BEST_CELL)
            .highlight_min(subset=lower, props=BEST_CELL))
