"""Time a run's training next to a bare ``model.fit`` of the same network on the same arrays, in the same run.

    python benchmarks/training_throughput.py [--rows 100000] [--epochs 5] [--batch-size 0] [--repeat 2]

A generated binary table of ``--rows`` rows × 30 columns (24 numbers, 4 categories of 3 to 120 levels, 2 yes/no) is
prepared once (:func:`dlcore.prepared.prepare`) for the Auto network, then trained ``--epochs`` epochs two ways:

- *bare*: ``model.fit(x, y, batch_size=B, epochs=E, verbose=0)`` on the prepared training matrix, the network built
  and compiled as :func:`dlcore.training.train` builds and compiles it (same seed, optimizer, schedule and loss),
  with Keras' default of one batch per call from Python; and again with train's ``steps_per_execution``
  (:func:`dlcore.training.steps_per_execution`), which isolates what the run adds to the same compiled network;
- *run*: :func:`dlcore.workers.train_here`, the worker's whole path into a temporary run folder: validation every epoch,
  early stopping (patience = epochs, so it never ends early), the stop check, ``status.json`` with its heartbeat,
  ``history.csv`` every epoch and the best checkpoint; only its epochs are timed, not the scoring after them.

Samples/second is training rows over the median time of an epoch after the first (tracing, warm-up), each timed from
the end of the epoch before to its own end, so validation and everything the run does per epoch count; best of
``--repeat``, the three alternated (the median and the best keep out moments when other processes take the cores). The ratios are run / bare and run / bare with the
same steps per call. The device is the one TensorFlow chose (:func:`dlcore.training.training_device`).
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

from dlcore.architectures import build_model, output_head, resolve  # noqa: E402
from dlcore.workers import train_here  # noqa: E402
from dlcore.prepared import prepare  # noqa: E402
from dlcore.training import (TrainConfig, _loss, _optimizer, steps_per_execution,  # noqa: E402
                             training_device)


def generate(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.normal(0, 1 + i % 3, rows).round(3) for i in range(24)})
    for i, levels in enumerate((3, 8, 20, 120)):
        frame[f"c{i}"] = pd.Series(rng.integers(0, levels, rows)).map(lambda v, i=i: f"level{i}_{v}")
    for i in range(2):
        frame[f"flag{i}"] = rng.choice(["yes", "no"], rows)
    signal = frame["x0"] - 0.5 * frame["x1"] + (frame["c0"] == "level0_1") + 0.3 * (frame["flag0"] == "yes")
    frame["y"] = np.where(signal + rng.normal(0, 0.5, rows) > 0.2, "yes", "no")
    return frame


KINDS = {**{f"x{i}": "numeric" for i in range(24)}, **{f"c{i}": "categorical" for i in range(4)},
         **{f"flag{i}": "boolean" for i in range(2)}}


def samples_per_second(ends: list[float], rows: int) -> float:
    """Rows per second in the median epoch after the first, from the times each epoch ended."""
    return rows / float(np.median(np.diff(ends)))


def bare(data, arch, config: TrainConfig, steps_per_call: int = 1) -> float:
    """``model.fit`` of the network compiled as ``train`` compiles it, with nothing else; samples/second."""
    import keras
    import tensorflow as tf

    prep = data.preparation
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()  # as train does (it stays on for the whole process)
    head = output_head(prep.task, len(prep.classes))
    batch_size, epochs = config.batch_for(len(data.x_train)), config.epochs_for(len(data.x_train))
    model = build_model(arch, prep.feature_types, prep.task, len(prep.classes))
    steps = epochs * -(-len(data.x_train) // batch_size)
    loss = _loss(config, head, config.smoothing_for(prep.task, data.primary_metric))
    model.compile(optimizer=_optimizer(config, steps), loss=loss, metrics=head["metrics"],
                  steps_per_execution=steps_per_call)
    ends: list[float] = []
    timer = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.perf_counter()))
    model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[timer])
    return samples_per_second(ends, len(data.x_train))


def run(data, arch, config: TrainConfig) -> float:
    """A run trained by the worker's path into a temporary folder; samples/second of its epochs."""
    ends: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        train_here(data, arch, config, Path(tmp) / "run", on_epoch=lambda epoch, row: ends.append(time.perf_counter()))
    return samples_per_second(ends, len(data.x_train))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=0, help="0: the batch TrainConfig chooses for the rows")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    data = prepare(generate(args.rows), "y", "binary", kinds=KINDS)
    arch = resolve("auto", data.x_train.shape[1], len(data.x_train), data.task)
    config = TrainConfig(epochs=args.epochs, patience=args.epochs, batch_size=args.batch_size)
    batch = config.batch_for(len(data.x_train))
    calls = steps_per_execution(len(data.x_train), batch)
    ways = {"bare model.fit": lambda: bare(data, arch, config),
            f"bare model.fit, {calls} batches per call": lambda: bare(data, arch, config, calls),
            "run (dlcore train)": lambda: run(data, arch, config)}
    best = dict.fromkeys(ways, 0.0)
    for _ in range(args.repeat):  # alternated, so a slower moment of the machine hits each alike
        for name, way in ways.items():
            best[name] = max(best[name], way())
    names = list(ways)
    table = pd.DataFrame([{"training": name, "samples/s": value, "s/epoch": len(data.x_train) / value,
                           "run / this": best[names[-1]] / value} for name, value in best.items()])
    print(f"{len(data.x_train):,} training rows × {data.x_train.shape[1]} inputs ({args.rows:,} generated), "
          f"{arch.title}, batch {batch}, {args.epochs} epochs (the first not timed), best of {args.repeat}, "
          f"on {training_device()}")
    print(table.to_string(index=False, formatters={"samples/s": "{:,.0f}".format, "s/epoch": "{:.2f}".format,
                                                   "run / this": "{:.3f}".format}))


if __name__ == "__main__":
    main()
