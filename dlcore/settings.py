"""A run's settings as one file, ``settings.json``: how the table is read and prepared, the network and its training.
The app, the command line (``--config``) and every run folder share it, and :func:`prepare_table` is the one path
from a table and its data settings to prepared data, so the same file, settings and seed give the same model."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from dlcore.architectures import Architecture
from dlcore.decisions import check_task, decide_kinds, infer_task
from dlcore.prepared import PreparedData, prepare
from dlcore.runtime.errors import DataError
from dlcore.runtime.files import write_json
from dlcore.runtime.loading import ReadOptions, drop_missing_target
from dlcore.runtime.preparation import TASKS
from dlcore.splitting import SEED, TEST_SIZE, VALIDATION_SIZE
from dlcore.training import TrainConfig

FORMAT = 1  # of settings.json; a file of a newer format is refused, not guessed at
SETTINGS_FILE = "settings.json"
MAX_SETTINGS_BYTES = 16 * 2**20  # a settings file holds a kind per column: bounded, read whole


@dataclass(frozen=True)
class DataSettings:
    """What is done to the table before training: how it is read, the target and task, each column's kind and
    options (Prepare) and the split. A column without a kind here gets the one decided on the whole table."""

    target: str
    task: str | None = None  # None: inferred from the target
    read: dict = field(default_factory=dict)  # ReadOptions' fields; a missing or None value is detected
    kinds: dict = field(default_factory=dict)  # column -> kind (profiling.KINDS)
    options: dict = field(default_factory=dict)  # column -> its Prepare options (encoding, log, …)
    seed: int = SEED  # of the split (and, in the app, of the weights)
    test_size: float = TEST_SIZE
    validation_size: float = VALIDATION_SIZE
    order_by: str | None = None  # a date column: split by time instead of shuffling
    kfold: int | None = None  # the app's K-fold cross-validation beside the run (None: none)

    def read_options(self) -> ReadOptions:
        known = ReadOptions().get_config()
        return ReadOptions(**{key: value for key, value in self.read.items() if key in known})


@dataclass(frozen=True)
class Settings:
    """A whole run's settings: the data's, the network (None: Auto, sized from the data) and its training."""

    data: DataSettings
    architecture: Architecture | None = None
    training: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "data": asdict(self.data),
                "architecture": None if self.architecture is None else self.architecture.get_config(),
                "training": self.training.get_config()}

    @classmethod
    def from_dict(cls, config: dict) -> Settings:
        """From :meth:`to_dict`; anything else is a :class:`DataError` that says what is wrong."""
        if not isinstance(config, dict) or not isinstance(config.get("data"), dict):
            raise DataError("The settings are not a dlcore settings file (no \"data\" section).")
        if config.get("format") != FORMAT:
            raise DataError(f"The settings file has format {config.get('format')!r}; this version reads format "
                            f"{FORMAT}.")
        try:
            data = DataSettings(**config["data"])
            architecture = config.get("architecture")
            built = cls(data, None if architecture is None else Architecture.from_config(architecture),
                        TrainConfig.from_config(config.get("training") or {}))
            problems = built.problems()
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise DataError(f"The settings file is not valid ({exc}).") from exc
        if problems:
            raise DataError(f"The settings file is not valid: {problems[0]}")
        return built

    def problems(self) -> list[str]:
        """Why these settings cannot train, in words (none when they can)."""
        data, found = self.data, list(self.training.problems())
        if not isinstance(data.target, str) or not data.target:
            found.append("The target must be a column name.")
        if data.task is not None and data.task not in TASKS:
            found.append(f"The task must be one of {', '.join(TASKS)}, not {data.task!r}.")
        if not all(isinstance(part, dict) for part in (data.read, data.kinds, data.options)):
            found.append("read, kinds and options must each map names to values.")
        if not (0 < data.test_size < 1 and 0 < data.validation_size < 1):
            found.append("test_size and validation_size must be between 0 and 1.")
        return found

    def replace(self, **changes) -> Settings:
        """These settings with some of the data's (``target``, ``task``, ``seed``) or the training's fields
        changed, as the command line's flags override a settings file."""
        data = {key: changes.pop(key) for key in list(changes) if key in DataSettings.__dataclass_fields__}
        training = {"seed": data["seed"]} if "seed" in data else {}
        training |= {key: changes.pop(key) for key in list(changes) if key in TrainConfig.__dataclass_fields__}
        architecture = changes.pop("architecture", self.architecture)
        if changes:
            raise TypeError(f"unknown settings: {', '.join(changes)}")
        return Settings(dataclasses.replace(self.data, **data), architecture,
                        dataclasses.replace(self.training, **training))

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / SETTINGS_FILE
        write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        """The settings in the file at ``path`` (a ``settings.json`` or a run folder holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / SETTINGS_FILE
        if path.stat().st_size > MAX_SETTINGS_BYTES:
            raise DataError(f"{path} is larger than {MAX_SETTINGS_BYTES // 2**20} MB: not a settings file.")
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path} is not a JSON settings file ({exc}).") from exc
        return cls.from_dict(config)


def prepare_table(frame: pd.DataFrame, settings: DataSettings, on_dropped=None) -> PreparedData:
    """The prepared data of a loaded table under ``settings``: kinds decided once on the whole table (those the
    settings hold kept), rows without a target left out (``on_dropped(count)`` is told how many), the task inferred
    unless given and checked, then the split and the preparation fitted on the training rows."""
    rows, dropped = drop_missing_target(frame, settings.target)  # refuses a target that is not in the table
    known = {name: kind for name, kind in settings.kinds.items() if name in frame.columns}
    kinds = known if len(known) == frame.shape[1] else {**decide_kinds(frame), **known}
    if dropped and on_dropped is not None:
        on_dropped(dropped)
    task = settings.task or infer_task(rows[settings.target])
    check_task(rows[settings.target], task)
    return prepare(rows, settings.target, task, seed=settings.seed, test_size=settings.test_size,
                   validation_size=settings.validation_size, kinds=kinds, options=settings.options,
                   order_by=settings.order_by)


def settings_of(data: PreparedData, arch: Architecture, config: TrainConfig,
                given: DataSettings | None = None) -> Settings:
    """The settings a run folder keeps: how the table was read and split from ``given`` (the app's or the command
    line's; without them, the defaults and the training's seed), and the target, task, kinds and options as the
    preparation used them, the network as built and the training as run."""
    prep = data.preparation
    base = given or DataSettings(prep.target, seed=config.seed)
    return Settings(dataclasses.replace(base, target=prep.target, task=prep.task, kinds=dict(prep.kinds),
                                        options={name: dict(opts) for name, opts in prep.options.items()}),
                    arch, config)
