"""Property-based tests (hypothesis) of loading and preparation: random tables of random kinds with missing values
and odd text go through read → prepare → train (1 epoch) → predict with one finite prediction per row; a saved
preparation gives the same matrix; what is refused is refused with a DataError."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dlcore.architectures import resolve
from dlcore.decisions import check_task, decide_kinds, infer_task
from dlcore.prepared import prepare
from dlcore.runtime.errors import DataError
from dlcore.runtime.inference import Predictor
from dlcore.runtime.loading import drop_missing_target, read_table
from dlcore.runtime.preparation import Preparation
from dlcore.training import TrainConfig
from dlcore.workers import train_here

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
KINDS = ("number", "integer", "level", "yes/no", "date", "text", "empty")


@st.composite
def tables(draw):
    """A table of 12–80 rows: 1–5 input columns of random kinds, each with random gaps, and a target."""
    rows = draw(st.integers(12, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    columns = {}
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(KINDS))
        if kind == "number":
            values = rng.normal(0, draw(st.sampled_from([1e-3, 1.0, 1e6])), rows).round(3)
        elif kind == "integer":
            values = rng.integers(-5, 50, rows)
        elif kind == "level":
            levels = draw(st.lists(TEXT, min_size=1, max_size=8, unique=True))
            values = rng.choice(levels, rows)
        elif kind == "yes/no":
            values = rng.choice(["yes", "no"], rows)
        elif kind == "date":
            values = (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")).strftime(
                "%Y-%m-%d")
        elif kind == "text":
            values = [draw(TEXT) for _ in range(rows)]
        else:
            values = [None] * rows
        column = pd.Series(values, dtype=object)
        column[rng.random(rows) < draw(st.sampled_from([0.0, 0.1, 0.5]))] = None
        columns[f"c{i}_{kind}"] = column
    task = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    target = {"binary": rng.choice(["a", "b"], rows), "multiclass": rng.choice(["p", "q", "r"], rows),
              "regression": rng.normal(100, 10, rows).round(2)}[task]
    return pd.DataFrame({**columns, "target": target})


def through_the_app(frame: pd.DataFrame):
    """Read the table's CSV as an upload, then prepare it as the app does: prepared data, or a DataError."""
    dataset = read_table(frame.to_csv(index=False).encode(), name="random.csv")
    table, _ = drop_missing_target(dataset.frame, "target")
    task = infer_task(table["target"])
    check_task(table["target"], task)
    return table, prepare(table, "target", task, kinds=decide_kinds(dataset.frame))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_a_saved_preparation_gives_the_same_finite_matrix(frame):
    try:
        table, data = through_the_app(frame)
    except DataError:
        event("refused with a message")  # e.g. every input column excluded: a correct outcome
        return
    event("prepared")
    again = Preparation.from_config(json.loads(json.dumps(data.preparation.get_config())))
    x = data.preparation.transform(table)
    assert x.shape == (len(table), len(data.preparation.feature_names)) and np.isfinite(x).all()
    np.testing.assert_array_equal(again.transform(table), x)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables_train_and_predict_one_finite_prediction_per_row(tmp_path_factory, frame):
    try:
        table, data = through_the_app(frame)
    except DataError:
        event("refused with a message")
        return
    event("trained")
    folder = tmp_path_factory.mktemp("run")
    train_here(data, resolve("chollet_small", data.x_train.shape[1], len(data.x_train), data.task),
               TrainConfig(epochs=1), folder)
    new = table.drop(columns="target").sample(frac=1.0, random_state=0)
    predicted = Predictor.load(folder).predict(new)
    assert len(predicted) == len(new)
    assert predicted["prediction"].notna().all()
    if data.task == "regression":
        assert np.isfinite(predicted["prediction"].astype(float)).all()
    else:
        probabilities = predicted[[f"probability_{label}" for label in data.preparation.classes]].to_numpy()
        assert np.isfinite(probabilities).all() and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
