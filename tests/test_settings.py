"""One settings file: settings.json round-trips every option, every run folder holds one, and a broken one is refused
in one line."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlcore.architectures import PRESETS, custom
from dlcore.runtime.errors import DataError
from dlcore.settings import FORMAT, DataSettings, Settings
from dlcore.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def every_option() -> Settings:
    """Settings where every field differs from its default."""
    data = DataSettings("label", "binary", {"format": "csv", "delimiter": ";", "decimal": ",", "encoding": "latin-1",
                                            "header_row": 1},
                        {"x": "numeric", "code": "categorical", "when": "datetime"},
                        {"x": {"log": True, "scale": "robust"}, "code": {"encoding": "onehot"}}, 7, 0.25, 0.15,
                        "when", 5)
    training = TrainConfig(epochs=12, batch_size=64, learning_rate=0.003, patience=5, seed=7, class_weights=True,
                           optimizer="rmsprop", schedule="plateau", loss="binary_crossentropy", weight_decay=0.0,
                           beta_2=0.99, clipnorm=0.5, label_smoothing=0.05, folds=3)
    defaults = TrainConfig()
    assert all(getattr(training, name) != getattr(defaults, name) for name in training.get_config())
    assert all(getattr(data, f.name) != f.default for f in dataclasses.fields(DataSettings)
               if f.default is not dataclasses.MISSING)
    return Settings(data, custom([{"units": 32, "activation": "relu", "dropout": 0.1},
                                    {"units": 16, "activation": "tanh", "l2": 1e-4}]), training)


def test_settings_round_trip_every_option_through_json():
    settings = every_option()
    assert Settings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings
    for preset in PRESETS.values():
        with_preset = dataclasses.replace(settings, architecture=preset)
        assert Settings.from_dict(with_preset.to_dict()) == with_preset
    auto = Settings(DataSettings("y"))
    assert Settings.from_dict(auto.to_dict()) == auto and auto.to_dict()["format"] == FORMAT


def test_flags_override_the_file_and_the_seed_is_one_for_split_and_weights():
    settings = every_option().replace(target="other", epochs=3, seed=11)
    assert (settings.data.target, settings.training.epochs) == ("other", 3)
    assert settings.data.seed == settings.training.seed == 11
    assert settings.data.options == every_option().data.options  # the rest is kept


@pytest.mark.parametrize("broken, reason", [
    ({"data": {"target": "y"}, "format": 99}, "format 99"),
    ({"format": FORMAT}, "no \"data\" section"),
    ({"format": FORMAT, "data": {"target": "y", "colour": 1}}, "not valid"),
    ({"format": FORMAT, "data": {"target": "y", "task": "ranking"}}, "task must be one of"),
    ({"format": FORMAT, "data": {"target": "y", "test_size": 1.5}}, "between 0 and 1"),
    ({"format": FORMAT, "data": {"target": "y"}, "training": {"optimizer": "sgd-ish"}}, "Unknown optimizer"),
    ({"format": FORMAT, "data": {"target": "y"}, "training": {"epochs": "many"}}, "not valid"),
    ({"format": FORMAT, "data": {"target": "y"}, "architecture": {"layers": "wide"}}, "not valid"),
])
def test_a_broken_settings_file_is_refused_with_its_reason(broken, reason):
    with pytest.raises(DataError, match=reason):
        Settings.from_dict(broken)


def test_the_command_line_refuses_a_broken_settings_file_in_one_line(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x,y\n" + "".join(f"{(i * 7) % 13 + 0.5},{i % 2}\n" for i in range(40)))
    config = tmp_path / "settings.json"
    config.write_text('{"format": 1, "data": {"target": "y", "test_size": 3}}')
    env = {**os.environ}
    env.pop("PYTHONPATH", None)
    for extra in (["--config", str(config)], []):
        proc = subprocess.run([sys.executable, "-m", "dlcore", "train", str(data), "--out", str(tmp_path / "run"),
                               *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "between 0 and 1" in subprocess.run(
        [sys.executable, "-m", "dlcore", "train", str(data), "--out", str(tmp_path / "run"), "--config", str(config)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120).stderr
    huge = Settings(DataSettings("y"), custom([{"units": 1_000_000}]))  # refused before anything is built
    config.write_text(json.dumps(huge.to_dict()))
    proc = subprocess.run([sys.executable, "-m", "dlcore", "train", str(data), "--out", str(tmp_path / "run"),
                           "--config", str(config)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "1000000 units; use 1 to 8192" in proc.stderr and not (tmp_path / "run").exists()
