"""The fitted preparation of a table: every input column through its encoder, and the target to and from the
network's form.

:class:`Preparation` has scikit-learn's shape (``fit`` on the training rows, ``transform`` any rows) and Keras'
(``get_config``/``from_config`` to and from plain JSON with a format version, no pickle). Each column's kind is
decided before (:func:`dlcore.profiling.decide_kinds`) and passed in; each column's encoding is chosen by
:func:`.encoders.fit_encoder`. Like :mod:`.encoders`, this module is part of the bundle's runtime.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from dlcore.runtime import encoders
from dlcore.runtime.encoders import Encoder, InvalidConfig, fit_encoder
from dlcore.runtime.errors import DataError

FORMAT = 2  # of get_config; format 1 (untyped column dicts, before encoder classes) is read by _upgrade_column
TASKS = ("binary", "multiclass", "regression")
ENTRIES = ("target", "task", "kinds", "options", "columns", "target_encoding")  # of get_config, besides "format"
# Bounds on a preparation read from a file (see also dlcore.runtime.encoders.MAX_LEVELS, MAX_FEATURES per column)
MAX_COLUMNS = 100_000  # columns (the loader's default limit is 20,000)
MAX_FEATURES = 100_000  # network inputs in all
MAX_CLASSES = 10_000  # class labels of a multiclass target (training allows far fewer)


def _columns(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The columns by name, taken in one pass (faster than one lookup per column on a table of thousands)."""
    return {str(name): values for name, values in frame.items()}


class Preparation:
    """Per-column encoders fitted on training rows only, and the target's encoding."""

    def __init__(self, target: str, task: str, kinds: dict[str, str], options: dict[str, dict] | None = None):
        self.target = target
        self.task = task
        self.kinds = dict(kinds)
        self.options = {name: dict(opts) for name, opts in (options or {}).items()}
        self.encoders: dict[str, Encoder] = {}
        self.target_encoding: dict = {}

    def fit(self, train: pd.DataFrame, classes: list | None = None) -> Preparation:
        """Fit every input column's encoder on ``train``; ``classes`` fixes the output labels (default: those in
        train). Every input column needs its kind in ``kinds``."""
        inputs = [name for name in map(str, train.columns) if name != self.target]
        undecided = [name for name in inputs if name not in self.kinds]
        if undecided:
            raise ValueError(f"No kind was decided for column(s) {', '.join(undecided)}.")
        self.kinds = {name: self.kinds[name] for name in inputs}
        columns = _columns(train)
        self.encoders = {name: fit_encoder(columns[name], kind, self.options.get(name))
                         for name, kind in self.kinds.items()}
        if not self.feature_names:
            raise DataError("No usable input column is left after excluding identifiers, constants, free text "
                            "and the columns you excluded.")
        y = train[self.target]
        if self.task == "regression":
            self.target_encoding = {"mean": float(y.mean()), "std": encoders.std_of(y)}
        else:
            labels = classes if classes is not None else sorted(y.dropna().unique().tolist(), key=str)
            self.target_encoding = {"classes": [_plain(v) for v in labels]}
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """The checked float32 input matrix for ``frame`` (raw rows, same columns as in training)."""
        missing = [name for name in self.input_columns if name not in frame.columns]
        if missing:
            raise DataError(f"Missing column(s) the model needs: {', '.join(missing)}.")
        columns = _columns(frame)
        blocks = [self.encoders[name].transform(columns[name]) for name in self.input_columns]
        with np.errstate(over="ignore"):  # values beyond float32 become inf, which the check names
            matrix = np.column_stack(blocks).astype(np.float32)
        self.check_matrix(matrix)
        return matrix

    def read(self, values: pd.Series) -> pd.Series:
        """An input column as the model reads it: numbers, dates, or text levels (see :meth:`Encoder.read`)."""
        return self.encoders[str(values.name)].read(values)

    @property
    def seen(self) -> dict[str, dict]:
        """What the training rows held per input column: range and median, or the levels."""
        return {name: self.encoders[name].seen_ for name in self.input_columns}

    def check_matrix(self, matrix: np.ndarray) -> None:
        """Refuse a matrix that is not all-finite float32 with one column per feature name."""
        names = self.feature_names
        if matrix.dtype != np.float32 or matrix.ndim != 2 or matrix.shape[1] != len(names):
            raise DataError(f"The prepared matrix is {matrix.dtype} of shape {matrix.shape}; "
                            f"expected float32 with {len(names)} columns. This is a bug: please report it.")
        bad = np.flatnonzero(~np.isfinite(matrix).all(axis=0))
        if len(bad):
            shown = ", ".join(names[i] for i in bad[:5])
            raise DataError(f"The prepared data has missing or infinite values in {shown}: "
                            "a value is far outside the range seen in training.")

    # -- the target -------------------------------------------------------------------
    @property
    def classes(self) -> list:
        return self.target_encoding.get("classes", [])

    def encode_target(self, values: pd.Series) -> np.ndarray:
        """Class indices (classification) or the standardized target (regression)."""
        if self.task == "regression":
            enc = self.target_encoding
            return ((values.to_numpy(dtype=float) - enc["mean"]) / enc["std"]).astype(np.float32)
        index = {str(label): i for i, label in enumerate(self.classes)}
        codes = values.astype(str).map(index)
        if codes.isna().any():
            unknown = sorted(set(values[codes.isna()].astype(str)))[:5]
            raise DataError(f"Target values not seen in training: {', '.join(unknown)}.")
        return codes.to_numpy(dtype=np.int32)

    def decode_outputs(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Network outputs → (predictions in original labels/units, class probabilities or None)."""
        outputs = np.asarray(outputs, dtype=float)
        if self.task == "regression":
            enc = self.target_encoding
            return outputs.reshape(-1) * enc["std"] + enc["mean"], None
        if self.task == "binary":
            positive = outputs.reshape(-1)
            proba = np.column_stack([1.0 - positive, positive])
        else:
            proba = outputs
        labels = np.asarray(self.classes, dtype=object)
        return labels[np.argmax(proba, axis=1)], proba

    # -- description -------------------------------------------------------------------
    @property
    def input_columns(self) -> list[str]:
        """Columns the model reads (excluded ones are not required at prediction time)."""
        return [name for name, encoder in self.encoders.items() if encoder.features_]

    @property
    def feature_names(self) -> list[str]:
        return [name for encoder in self.encoders.values() for name in encoder.features_]

    @property
    def feature_types(self) -> list[str]:
        """What each input column of the network is (:meth:`dlcore.runtime.encoders.Encoder.feature_types`)."""
        return [kind for encoder in self.encoders.values() for kind in encoder.feature_types()]

    def plan(self) -> pd.DataFrame:
        """What is done to every column: column → kind → encoding → transformation → output width and names."""
        rows = [{"column": name, "kind": self.kinds[name], "encoding": encoder.title,
                 "transformation": encoder.describe(), "outputs": len(encoder.features_),
                 "output columns": _shorten(encoder.features_)}
                for name, encoder in self.encoders.items()]
        return pd.DataFrame(rows, columns=["column", "kind", "encoding", "transformation", "outputs",
                                           "output columns"])

    def footprint(self, rows: int) -> pd.DataFrame:
        """Output width and float32 memory per column: bytes per row and bytes for ``rows`` rows."""
        widths = [len(encoder.features_) for encoder in self.encoders.values()]
        per_row = [4 * width for width in widths]
        return pd.DataFrame({"column": list(self.encoders), "outputs": widths, "bytes per row": per_row,
                             "bytes": [rows * size for size in per_row]})

    def get_config(self) -> dict:
        return {"format": FORMAT, "target": self.target, "task": self.task, "kinds": self.kinds,
                "options": self.options, "columns": {name: encoder.get_config()
                                                     for name, encoder in self.encoders.items()},
                "target_encoding": self.target_encoding}

    @classmethod
    def from_config(cls, config: dict) -> Preparation:
        """A fitted preparation from :meth:`get_config`'s JSON (or format 1's), checked before anything is built
        from it: a file that is not what :meth:`get_config` writes (missing or unknown entries, wrong types, NaN,
        unknown kinds or encodings, more than :data:`MAX_COLUMNS` columns or :data:`MAX_FEATURES` network inputs)
        raises :class:`~dlcore.runtime.encoders.InvalidConfig`, which says what is wrong."""
        if not isinstance(config, dict):
            raise InvalidConfig(f"it is {encoders.what_is(config)}, not an object")
        version = config.get("format", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidConfig(f"its format is {version!r}, not a version number")
        if version > FORMAT:
            raise DataError(f"This preparation has format {version}; this version of the app reads up to {FORMAT}.")
        _check_entries(config, version)
        columns = config["columns"]
        if version == 1:
            seen = config.get("seen", {})
            if not isinstance(seen, dict):
                raise InvalidConfig(f"its seen values are {encoders.what_is(seen)}, not an object")
            columns = {name: _upgraded(name, spec, seen.get(name, {})) for name, spec in columns.items()}
        prep = cls(config["target"], config["task"], config["kinds"], config["options"])
        prep.encoders = {}
        for name, column in columns.items():
            encoder = encoders.from_config(column)
            if encoder.column != name:
                raise InvalidConfig(f"column {name[:100]!r} holds the encoder of column {encoder.column[:100]!r}")
            prep.encoders[name] = encoder
        width = len(prep.feature_names)
        if not 1 <= width <= MAX_FEATURES:
            raise InvalidConfig(f"it makes {width:,} network inputs, not 1 to {MAX_FEATURES:,}")
        prep.target_encoding = _target_encoding(config["target_encoding"], prep.task)
        return prep


# -- reading a preparation from a file ------------------------------------------------------------------------------
def _check_entries(config: dict, version: int) -> None:
    """The entries of a preparation's JSON around its columns: names, task, kinds, options and their types."""
    missing = [key for key in ENTRIES if key not in config]
    if missing:
        raise InvalidConfig(f"it lacks {', '.join(repr(key) for key in missing)}")
    if version == FORMAT:
        unexpected = [key for key in config if key not in ("format", *ENTRIES)]
        if unexpected:
            raise InvalidConfig(f"it has the unknown entry {unexpected[0][:100]!r}")
    if not isinstance(config["target"], str):
        raise InvalidConfig(f"its target is {encoders.what_is(config['target'])}, not a column name")
    if config["task"] not in TASKS:
        raise InvalidConfig(f"its task is {str(config['task'])[:100]!r}, not one of {', '.join(TASKS)}")
    columns, kinds, options = config["columns"], config["kinds"], config["options"]
    for part, value in (("columns", columns), ("kinds", kinds), ("options", options)):
        if not isinstance(value, dict):
            raise InvalidConfig(f"its {part} are {encoders.what_is(value)}, not an object")
    if not 1 <= len(columns) <= MAX_COLUMNS:
        raise InvalidConfig(f"it has {len(columns):,} columns, not 1 to {MAX_COLUMNS:,}")
    bad_kind = next((name for name, kind in kinds.items() if kind not in encoders.KINDS), None)
    if bad_kind is not None:
        raise InvalidConfig(f"column {bad_kind[:100]!r} has the unknown kind {str(kinds[bad_kind])[:100]!r} "
                            f"(known: {', '.join(encoders.KINDS)})")
    if set(kinds) != set(columns):
        other = next(iter(set(kinds) ^ set(columns)))
        raise InvalidConfig(f"its kinds and its columns do not name the same columns ({other[:100]!r})")
    for name, chosen in options.items():
        if not isinstance(chosen, dict) or not all(isinstance(key, str) and _is_scalar(value)
                                                   for key, value in chosen.items()):
            raise InvalidConfig(f"the options of column {name[:100]!r} are not an object of plain values")


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, bool)) or encoders.is_number(value)


def _upgraded(name: str, spec, seen) -> dict:
    """A format-1 column upgraded; a missing or mistyped entry is named, not raised as a KeyError."""
    try:
        return _upgrade_column(name, spec, seen)
    except KeyError as exc:
        raise InvalidConfig(f"column {name[:100]!r} (format 1) lacks {exc.args[0]!r}") from exc
    except (TypeError, AttributeError, ValueError) as exc:
        raise InvalidConfig(f"column {name[:100]!r} (format 1) is not valid ({exc})") from exc


def _target_encoding(encoding, task: str) -> dict:
    """The target's encoding as :meth:`Preparation.fit` stores it: a finite mean and a standard deviation (not 0)
    for regression; 2 labels for binary, 2 to :data:`MAX_CLASSES` distinct ones for multiclass."""
    if not isinstance(encoding, dict):
        raise InvalidConfig(f"its target encoding is {encoders.what_is(encoding)}, not an object")
    if task == "regression":
        if set(encoding) != {"mean", "std"}:
            raise InvalidConfig("its regression target encoding is not a mean and a standard deviation")
        for key in ("mean", "std"):
            if problem := encoders.number(encoding[key]):
                raise InvalidConfig(f"its target's {key} is {problem}")
        if encoding["std"] == 0:
            raise InvalidConfig("its target's standard deviation is 0")
        return encoding
    classes = encoding.get("classes") if set(encoding) == {"classes"} else None
    least, most = (2, 2) if task == "binary" else (2, MAX_CLASSES)
    if not isinstance(classes, list) or not least <= len(classes) <= most:
        raise InvalidConfig(f"its target encoding does not list {least}" + (f" to {most:,}" if most > least else "")
                            + f" class labels, as a {task} target has")
    if not all(_is_scalar(label) and label is not None for label in classes) \
            or len({str(label) for label in classes}) < len(classes):
        raise InvalidConfig("its class labels are not distinct plain values")
    return encoding


def _upgrade_column(name: str, spec: dict, seen: dict) -> dict:
    """A format-1 column (an untyped dict from before the encoder classes) as an encoder's config."""
    kind, outputs = spec["kind"], spec["outputs"]
    fitted = {"features_": outputs, "seen_": seen}
    if not outputs:
        return {"encoding": "exclude", "column": name, "kind": kind, "options": {},
                "fitted": {**fitted, "reason_": spec["reason"]}}
    if kind == "numeric" or spec.get("extract_number"):
        options = {key: spec["options"][key] for key in encoders.Numeric.defaults}
        fitted.update(fill_=spec["fill"], scaler_=spec["scaler"], indicator_=len(outputs) == 2,
                      skewed_="may help" in spec["action"])
        if spec.get("extract_number"):
            example = re.match(r"the number in the text \((.*?)\); ", spec["action"])
            fitted["example_"] = example.group(1) if example else ""
            return {"encoding": "number_in_text", "column": name, "kind": kind, "options": options, "fitted": fitted}
        return {"encoding": "numeric", "column": name, "kind": kind, "options": options, "fitted": fitted}
    if kind == "boolean":
        fitted.update(true_=spec["true"], fill_=spec["fill"], missing_="missing" in spec["action"])
        return {"encoding": "boolean", "column": name, "kind": kind, "options": {}, "fitted": fitted}
    if kind == "datetime":
        fitted.update(parts_=[[part, *stats] for part, stats in spec["parts"].items()], cycles_=spec["cycles"])
        return {"encoding": "date_parts", "column": name, "kind": kind, "options": spec["options"], "fitted": fitted}
    if spec["encoding"] == "frequency":
        fitted.update(levels_=spec["levels"], frequencies_=spec["frequencies"], mean_=spec["mean"], std_=spec["std"])
        return {"encoding": "frequency", "column": name, "kind": kind, "options": {}, "fitted": fitted}
    fitted.update(levels_=spec["levels"], categories_=spec["categories"],
                  other_=len(outputs) > len(spec["categories"]))
    return {"encoding": "onehot", "column": name, "kind": kind,
            "options": {"min_frequency": spec["options"]["min_frequency"]}, "fitted": fitted}


def _shorten(names: list[str], shown: int = 5) -> str:
    return ", ".join(names) if len(names) <= shown + 1 else f"{', '.join(names[:shown])}, … ({len(names)} in all)"


def _plain(value):
    """A JSON-friendly Python scalar."""
    return value.item() if isinstance(value, np.generic) else value


ROW_IN_FILE = "row_in_file"  # the predicted row's number among its file's data rows (1 = the first after the header)


def output_columns(prep: Preparation) -> list[str]:
    """The columns a prediction adds: ``prediction``, ``probability_<label>`` per class and :data:`ROW_IN_FILE`,
    last, so a prediction joins back to the row it came from."""
    return ["prediction", *(f"probability_{label}" for label in prep.classes), ROW_IN_FILE]
