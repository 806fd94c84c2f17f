"""Training options reached from the Explore alerts: class weights for an imbalanced target."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlcore.architectures import resolve
from dlcore.prepared import prepare
from dlcore.training import TrainConfig, train


def test_class_weights_make_the_network_predict_the_rare_class_more_often():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 2))
    rare = (x[:, 0] + 0.5 * rng.normal(size=1200)) > 1.4  # about 10% of rows, only partly predictable
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": np.where(rare, "rare", "common")})
    data = prepare(frame, "y", "binary")
    arch = resolve("chollet_small", data.x_train.shape[1], len(data.x_train))
    predicted_rare = {}
    for weighted in (False, True):
        result = train(data, arch, TrainConfig(epochs=15, patience=15, class_weights=weighted))
        labels, _ = data.preparation.decode_outputs(result.model.predict(data.x_test, verbose=0))
        predicted_rare[weighted] = int((labels == "rare").sum())
    assert predicted_rare[True] > predicted_rare[False]


def test_kfold_cross_validation_scores_every_fold(tmp_path):
    import json

    from dlcore.prepared import prepare_folds
    from dlcore.jobs import start_run

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 3))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": np.where(x[:, 0] + x[:, 1] > 0, "hi", "lo")})
    data = prepare(frame, "y", "binary")
    folds = prepare_folds(frame, "y", "binary", k=3)
    arch = resolve("chollet_small", data.x_train.shape[1], len(data.x_train))
    run = start_run(data, arch, TrainConfig(epochs=4), folds=folds, root=tmp_path)
    assert run.wait(240) and run.status == "finished", run.error
    cv = json.loads((run.run_dir / "metrics.json").read_text())["cross_validation"]
    assert cv["k"] == 3 and cv["metric"] == "accuracy" and len(cv["scores"]) == 3
    assert cv["mean"] == np.mean(cv["scores"]) and all(0.5 < s <= 1 for s in cv["scores"])
