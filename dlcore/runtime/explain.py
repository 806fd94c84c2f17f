"""Explain a trained network in the user's own columns: SHAP values, and permutation importance beside them.

The explained function is the whole pipeline, raw columns → preparation → network → the probability of a class
(binary: of the second label; multiclass: of each) or the value in the target's units, so every SHAP value belongs
to an original column, and a one-hot or date column is masked as a whole.

Speed: each explained row and each background row is prepared once, column by column (every encoder's block of
output columns). ``shap.PermutationExplainer`` then sees one number per original column: the index of the row whose
value that column takes. Masking a column swaps in a background row's whole block, so an evaluation is a gather of
prepared blocks (inside the compiled graph) and one forward pass over a large batch (all of a row's permutations at
once), never a new preparation or a ``model.predict``. The permutation explainer is exactly additive: base value + sum of the SHAP
values = the prediction.

``gradient`` is the fast mode: ``shap.GradientExplainer`` (expected gradients) on the network's prepared inputs,
folded back to the original columns by summing each column's block; approximately additive.

This module is part of the model bundle's runtime (``predict.py --explain``): at module level it imports only
dlcore's runtime modules; shap and the metrics are imported where they are used.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from dlcore.runtime.encoders import CATEGORY_FEATURE
from dlcore.runtime.errors import DataError
from dlcore.runtime.inference import PREPARED_DIR, Predictor

BACKGROUND_ROWS = 100
EXPLAINED_ROWS = 200
MAX_ROWS = 5000  # rows one explanation job or command may explain
# Permutations per explained row: each costs 2 × columns + 1 evaluations, each a forward pass over the background.
# Measured on 30 columns against 40 permutations: 4 permutations gave SHAP values within 6% (mean relative error; 8
# permutations, shap's default budget there: 4.5%), the same top five columns and importances within 1.3%, in half
# the time of 8.
PERMUTATIONS = 4
GRADIENT_SAMPLES = 500  # expected-gradient samples per explained row
TOP_REASONS = 3
FORWARD_BATCH = 65_536
EXPLAINERS = {"permutation": "Permutation SHAP on the original columns (exact: the values add up to the prediction)",
              "gradient": "Gradient SHAP on the network's inputs, summed per column (fast, approximate)"}
Progress = Callable[[int, int], None]


@dataclass
class Explanation:
    """SHAP values of ``rows`` (one per row, input column and explained output) with how they were computed."""

    explainer: str
    columns: list[str]
    outputs: list[str]  # what each output is: "probability of <label>" or the target's name
    base_values: np.ndarray  # (outputs,): the mean prediction over the background rows
    values: np.ndarray  # (rows, columns, outputs)
    predictions: np.ndarray  # (rows, outputs): the pipeline's output for each explained row
    rows: pd.DataFrame  # the explained raw rows, input columns only
    background: int
    seconds: float

    def importance(self, output: int | None = None) -> pd.DataFrame:
        """Mean |SHAP| per column for one output (None: averaged over the outputs), most important first."""
        magnitude = np.abs(self.values if output is None else self.values[:, :, [output]])
        table = pd.DataFrame({"column": self.columns, "mean_abs_shap": magnitude.mean(axis=(0, 2))})
        return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)

    def table(self, output: int = 0) -> pd.DataFrame:
        """One row per explained row: its input columns, prediction, the base value and each column's SHAP value
        (the SHAP download)."""
        shap_columns = pd.DataFrame(self.values[:, :, output], columns=[f"shap_{c}" for c in self.columns])
        return pd.concat([self.rows.reset_index(drop=True),
                          pd.DataFrame({"explained": self.outputs[output], "prediction": self.predictions[:, output],
                                        "base_value": self.base_values[output]}), shap_columns], axis=1)

    def top_reasons(self, k: int = TOP_REASONS) -> pd.DataFrame:
        """Per row, the ``k`` columns that moved its prediction most (largest |SHAP|; multiclass: toward the class
        with the highest probability), as ``reason_<i>`` and ``reason_<i>_shap``."""
        output = np.argmax(self.predictions, axis=1) if len(self.outputs) > 1 else np.zeros(len(self.rows), int)
        values = self.values[np.arange(len(self.rows)), :, output]  # (rows, columns)
        order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
        names = np.asarray(self.columns, dtype=object)
        result = {}
        for i in range(order.shape[1]):
            result[f"reason_{i + 1}"] = names[order[:, i]]
            result[f"reason_{i + 1}_shap"] = values[np.arange(len(values)), order[:, i]]
        return pd.DataFrame(result)

    def additivity_gap(self) -> float:
        """Mean |base value + sum of SHAP values − prediction|: 0 (to rounding) for the permutation explainer, the
        size of the approximation for the gradient one."""
        total = self.base_values[None, :] + self.values.sum(axis=1)
        return float(np.abs(total - self.predictions).mean())

    def value_ranks(self) -> pd.DataFrame:
        """Each explained value's rank among the explained rows, 0 (lowest) to 1, for colouring the summary plot;
        missing for values that are not numbers or dates."""
        ranks = {}
        for name in self.columns:
            values = self.rows[name]
            numbers = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_datetime64_any_dtype(values) \
                else values
            if numbers.notna().sum() < max(2, 0.5 * values.notna().sum()):
                numbers = pd.to_datetime(values, errors="coerce", format="ISO8601")
            ranks[name] = numbers.rank(pct=True) if numbers.notna().sum() >= 2 else pd.Series(np.nan, values.index)
        return pd.DataFrame(ranks)

    def summary(self, values: bool = False) -> dict:
        """The command line's JSON: explainer, rows, seconds and importance (and per-row values when asked)."""
        result = {"explainer": self.explainer, "rows": len(self.rows), "background": self.background,
                  "seconds": round(self.seconds, 3), "outputs": self.outputs,
                  "importance": self.importance().to_dict("records")}
        if values:
            result["base_values"] = self.base_values.tolist()
            result["values"] = self.values.tolist()
            result["predictions"] = self.predictions.tolist()
        return result

    def to_json(self) -> dict:
        return {"explainer": self.explainer, "columns": self.columns, "outputs": self.outputs,
                "base_values": self.base_values.tolist(), "values": self.values.tolist(),
                "predictions": self.predictions.tolist(),
                "rows": json.loads(self.rows.to_json(orient="split", index=False, date_format="iso")),
                "background": self.background, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict) -> Explanation:
        rows = pd.DataFrame(data["rows"]["data"], columns=data["rows"]["columns"])
        return cls(data["explainer"], data["columns"], data["outputs"], np.asarray(data["base_values"], dtype=float),
                   np.asarray(data["values"], dtype=float), np.asarray(data["predictions"], dtype=float), rows,
                   data["background"], data["seconds"])


class ColumnPipeline:
    """The model as a function of whole original columns (see the module's description): called with an array of
    row indices (one per column) into ``rows`` followed by ``background``, it returns the explained outputs."""

    def __init__(self, predictor: Predictor, rows: pd.DataFrame, background: pd.DataFrame):
        prep = predictor.preparation
        self.prep, self.columns = prep, prep.input_columns
        table = pd.concat([rows[self.columns], background[self.columns]], ignore_index=True)
        self.blocks = [prep.encoders[name].transform(table[name]).astype(np.float32) for name in self.columns]
        self.forward = _Forward(predictor.model, self.blocks)
        self.outputs = output_names(prep)

    def prepared(self, index: np.ndarray) -> np.ndarray:
        """The network's input matrix of rows given as indices (one per column)."""
        index = np.asarray(index, dtype=np.int64)
        return np.concatenate([block[index[:, j]] for j, block in enumerate(self.blocks)], axis=1)

    def __call__(self, index: np.ndarray) -> np.ndarray:
        return self.from_network(self.forward.gathered(index))

    def from_network(self, outputs: np.ndarray) -> np.ndarray:
        """Network outputs → explained outputs: a class's probability, every class's, or the value in units."""
        prep = self.prep
        if prep.task == "regression":
            return (outputs.reshape(-1) * prep.target_encoding["std"] + prep.target_encoding["mean"])[:, None]
        return outputs.reshape(len(outputs), -1)


def output_names(prep) -> list[str]:
    """What each explained output is."""
    if prep.task == "regression":
        return [prep.target]
    if prep.task == "binary":
        return [f"probability of {prep.classes[1]}"]
    return [f"probability of {label}" for label in prep.classes]


def explain(predictor: Predictor, rows: pd.DataFrame, background: pd.DataFrame, explainer: str = "permutation",
            seed: int = 0, on_progress: Progress | None = None, permutations: int = PERMUTATIONS) -> Explanation:
    """SHAP values of ``rows`` (raw, with the training columns) against ``background`` rows (a sample of the
    training rows, :data:`BACKGROUND_ROWS` by default); ``on_progress(done, total)`` after each batch of rows."""
    import shap

    if explainer not in EXPLAINERS:
        raise DataError(f"Unknown explainer {explainer!r}; choose one of {', '.join(EXPLAINERS)}.")
    if not len(rows):
        raise DataError("There are no rows to explain.")
    if not len(background):
        raise DataError("The explanation needs at least one background row.")
    predictor.check_schema(rows)  # a missing column is refused by name
    started = time.perf_counter()
    pipeline = ColumnPipeline(predictor, rows, background)
    n, columns = len(rows), len(pipeline.columns)
    explained = np.repeat(np.arange(n)[:, None], columns, axis=1).astype(float)
    behind = np.repeat(np.arange(n, n + len(background))[:, None], columns, axis=1).astype(float)
    predictions = pipeline(explained)
    if explainer == "permutation":
        masker = shap.maskers.Independent(behind, max_samples=len(behind))
        shap_explainer = shap.PermutationExplainer(pipeline, masker, seed=seed)
        evals = permutations * (2 * columns + 1)
        chunks, values, base = np.array_split(np.arange(n), max(1, n // 10)), [], None
        done = 0
        for chunk in chunks:
            result = shap_explainer(explained[chunk], max_evals=evals, batch_size=evals, silent=True)
            values.append(np.asarray(result.values).reshape(len(chunk), columns, -1))
            base = np.asarray(result.base_values).reshape(len(chunk), -1)[0]
            done += len(chunk)
            if on_progress is not None:
                on_progress(done, n)
        values = np.concatenate(values)
    else:
        values, base = _gradient_values(pipeline, explained, behind, seed)
        if on_progress is not None:
            on_progress(n, n)
    return Explanation(explainer, pipeline.columns, pipeline.outputs, np.asarray(base, dtype=float), values,
                       predictions, rows[pipeline.columns].reset_index(drop=True), len(background),
                       time.perf_counter() - started)


def _gradient_values(pipeline: ColumnPipeline, explained: np.ndarray, behind: np.ndarray,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Expected gradients on the prepared inputs, summed over each original column's block of inputs."""
    import warnings

    import shap

    model = pipeline.forward.model
    if any(kind.startswith(CATEGORY_FEATURE) for kind in pipeline.prep.feature_types):
        raise DataError("The gradient explainer cannot see through the learned embeddings of category codes (a code "
                        "has no gradient); use the permutation explainer.")
    x, reference = pipeline.prepared(explained), pipeline.prepared(behind)
    try:
        with warnings.catch_warnings():  # Keras notes that shap passes the input as a list
            warnings.simplefilter("ignore", UserWarning)
            raw = shap.GradientExplainer(model, reference).shap_values(x, nsamples=GRADIENT_SAMPLES, rseed=seed)
    except Exception as exc:  # shap raises many types for layers it cannot differentiate
        raise DataError(f"The gradient explainer does not support this network ({exc}); use permutation.") from exc
    raw = np.asarray(raw, dtype=float)
    raw = raw.reshape(len(x), x.shape[1], -1) if raw.shape[:2] == x.shape else np.moveaxis(raw, 0, -1)
    widths = np.cumsum([0] + [block.shape[1] for block in pipeline.blocks])
    values = np.stack([raw[:, a:b].sum(axis=1) for a, b in zip(widths[:-1], widths[1:])], axis=1)
    base = pipeline.from_network(pipeline.forward(reference)).mean(axis=0)
    if pipeline.prep.task == "regression":
        values = values * pipeline.prep.target_encoding["std"]
    return values, base


def reference_row(predictor: Predictor) -> pd.DataFrame:
    """One typical row from what the training rows held (medians of numbers and dates, the most frequent level):
    the background when no training rows are at hand (a bundle holds none of them)."""
    row = {}
    for name, seen in predictor.preparation.seen.items():
        if seen.get("type") == "level":
            row[name] = seen["levels"][0] if seen["levels"] else None
        else:
            row[name] = seen.get("median")
    return pd.DataFrame([row])


def with_reasons(predictions: pd.DataFrame, reasons: pd.DataFrame) -> pd.DataFrame:
    """The predictions table with each row's top reasons (:meth:`Explanation.top_reasons`) added."""
    reasons = reasons.set_axis(predictions.index)
    return pd.concat([predictions.drop(columns=[c for c in reasons.columns if c in predictions.columns]), reasons],
                     axis=1)


# -- in a run folder ------------------------------------------------------------------------------------------------
def background_of(run_dir: Path, seed: int = 0) -> pd.DataFrame:
    """:data:`BACKGROUND_ROWS` training rows of a run (sampled with ``seed``)."""
    try:
        train = pd.read_parquet(Path(run_dir) / PREPARED_DIR / "train.parquet")
    except (OSError, ValueError) as exc:
        raise DataError(f"{run_dir} has no training rows to explain against ({exc}).") from exc
    return train.sample(min(BACKGROUND_ROWS, len(train)), random_state=seed)


def background_for(model: str | Path, predictor: Predictor, seed: int = 0) -> pd.DataFrame:
    """The background of a run folder's explanations (its training rows), or, for a bundle, which holds none of
    its training rows, the typical row (:func:`reference_row`)."""
    if (Path(model) / PREPARED_DIR / "train.parquet").is_file():
        return background_of(model, seed)
    return reference_row(predictor)


def predict_with_reasons(predictor: Predictor, background: pd.DataFrame, frame: pd.DataFrame,
                         predictions: pd.DataFrame, echo=print, done: int = 0) -> pd.DataFrame:
    """``predictions`` of ``frame`` with each row's top three reasons (``predict --explain``) against ``background``
    (:func:`background_for`), explained in batches of :data:`MAX_ROWS` rows with a line of progress for each, which
    counts the ``done`` rows of earlier chunks too."""
    parts = []
    for start in range(0, len(frame), MAX_ROWS):
        parts.append(explain(predictor, frame.iloc[start:start + MAX_ROWS], background).top_reasons())
        echo(f"explained {done + min(start + MAX_ROWS, len(frame)):,} rows")
    return with_reasons(predictions, pd.concat(parts, ignore_index=True))


class _Forward:
    """The Keras model as compiled functions over batches of :data:`FORWARD_BATCH` rows: on an input matrix, and on
    row indices whose columns' prepared blocks are gathered inside the compiled graph (faster than building the
    matrix in NumPy)."""

    def __init__(self, model, blocks: list[np.ndarray]):
        import tensorflow as tf

        self.model = model
        constants = [tf.constant(block) for block in blocks]
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True,
                                 input_signature=[tf.TensorSpec([None, model.input_shape[1]], tf.float32)])
        self._gathered = tf.function(
            lambda index: model(tf.concat([tf.gather(block, index[:, j]) for j, block in enumerate(constants)],
                                          axis=1), training=False),
            input_signature=[tf.TensorSpec([None, len(blocks)], tf.int32)])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._batched(self._call, np.asarray(x, dtype=np.float32))

    def gathered(self, index: np.ndarray) -> np.ndarray:
        return self._batched(self._gathered, np.asarray(index, dtype=np.int32))

    @staticmethod
    def _batched(function, values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(function(values[start:start + FORWARD_BATCH]))
                               for start in range(0, max(len(values), 1), FORWARD_BATCH)])
