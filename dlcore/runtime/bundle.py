"""Read a model bundle safely: the files of a ``model.zip``, checked before anything is used.

A bundle may come from anyone (the app takes uploads), so every refusal is a :class:`~.errors.DataError` that
says why, and nothing is trusted before it is checked:

- the zip (:func:`read_bundle`) and the zip inside it, ``model.keras`` (:func:`check_keras_archive`), are checked on
  their central directory before a byte is decompressed: known names only (no ``../``, absolute paths, folders,
  symbolic links, pickles), no encryption, each member's declared size within its limit, the totals within
  :data:`MAX_BUNDLE_BYTES` and :data:`MAX_KERAS_BYTES`, and no member compressed more than :data:`MAX_RATIO` times
  (a zip bomb); then each member is read with its limit (a header that lies cannot inflate memory);
- ``config.json`` of the model may only name Keras' own classes and dlcore's registered layers, and no ``Lambda`` (or
  any other layer that carries code) before Keras sees it; Keras then loads it in safe mode, from a clean copy of
  the checked members written in a temporary folder that is removed afterwards;
- ``preparation.json`` (:meth:`.preparation.Preparation.from_config`), ``metrics.json`` (:func:`check_metrics`)
  and ``schema.json`` (:func:`check_schema_file`) are checked against what the app writes, with bounded sizes.

Part of the bundle's runtime, like :mod:`dlcore.runtime.inference`.
"""

from __future__ import annotations

import io
import json
import math
import re
import stat
import struct
import zipfile
from pathlib import Path

from dlcore.runtime.encoders import KINDS, is_number, what_is
from dlcore.runtime.errors import DataError
from dlcore.runtime.preparation import Preparation, TASKS, output_columns

RUN_FILES = ("model.keras", "preparation.json", "schema.json", "metrics.json", "history.csv", "README.md")
# the runtime package (dlcore/runtime), copied into every bundle for predict.py, with dlcore's own __init__
RUNTIME_MODULES = ("__init__", "errors", "files", "loading", "encoders/__init__", "encoders/base", "encoders/numeric",
                   "encoders/categories", "encoders/dates", "encoders/excluded", "preparation", "bundle", "inference",
                   "explain", "layers", "streaming")
RUNTIME_FILES = ("predict.py", "requirements.txt", "requirements-explain.txt", "dlcore/__init__.py",
                 *(f"dlcore/runtime/{module}.py" for module in RUNTIME_MODULES))
FORMER_RUNTIME_FILES = tuple(  # in bundles written before the runtime was a package of its own
    f"dlcore/{module}.py" for module in ("profiling", "export", "errors", "files", "loading", "encoders", "preparation",
                                         "bundle", "inference", "explain", "layers"))
BUNDLE_FILES = RUN_FILES + RUNTIME_FILES + FORMER_RUNTIME_FILES
REQUIRED_FILES = ("model.keras", "preparation.json", "metrics.json")
KERAS_FILES = ("config.json", "metadata.json", "model.weights.h5")
JSON_FILES = ("preparation.json", "schema.json", "metrics.json")
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".npy", ".pt", ".pth")
# Limits on what is read from a bundle (sizes are the declared uncompressed ones, checked before reading)
MAX_BUNDLE_BYTES = 500 * 1024 * 1024  # the zip, and all its members uncompressed
MAX_DEVICE_CHARS = 200  # metrics.json's device: "CPU (2 cores)", "GPU: NVIDIA H200"
MAX_NETWORKS = 10_000  # metrics.json's members (networks averaged) and ensemble (trials kept)
MAX_JSON_BYTES = 16 * 1024 * 1024  # each JSON file: preparation.json, schema.json, metrics.json, model.keras' config
MAX_FILE_BYTES = 16 * 1024 * 1024  # each other file: README.md, history.csv, the code files (never run)
MAX_KERAS_BYTES = 500 * 1024 * 1024  # model.keras (in the bundle), and all its members uncompressed
MAX_KERAS_MEMBER_BYTES = {"config.json": MAX_JSON_BYTES, "metadata.json": 64 * 1024,
                          "model.weights.h5": MAX_KERAS_BYTES}
MAX_RATIO = 100  # uncompressed / compressed size of a member above RATIO_FLOOR (deflate peaks near 1,000: a bomb)
RATIO_FLOOR = 1024 * 1024
MAX_MEMBERS = 64  # members a zip may list (a bundle has about 20, model.keras 3), checked before they are listed
MAX_DIRECTORY_BYTES = 1024 * 1024  # a zip's central directory (about 100 bytes per member)
MAX_CONFIG_DEPTH = 64  # nesting of model.keras' config.json
# Keras classes that carry code (Python or a serialized module) or read other files: refused in any model
CODE_LAYERS = frozenset({"Lambda", "__lambda__", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"})
DLCORE_LAYERS = ("Columns", "PeriodicEmbedding", "CategoryEmbedding", "EnsembleAdapter", "EnsembleHead", "MemberMean")
DLCORE_PACKAGE = "dlcore"  # dlcore.runtime.layers.PACKAGE (that module imports Keras, so it is not imported here)
# The metric names dlcore.evaluation writes, and the baselines dlcore.baselines scores (metrics.json)
METRIC_NAMES = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "mae", "rmse", "r2", "mape",
                "precision", "recall", "f1")
BASELINE_NAMES = ("naive", "naive_median", "random", "linear", "gradient_boosting")
VERDICT_LEVELS = ("success", "warning", "error")




def read_bundle(data: bytes) -> dict[str, bytes]:
    """The bundle's files by name, each checked before it is read (see the module's description): known names only,
    no folders of its own, no ``../`` or absolute paths, no symbolic links, pickles or encrypted members, sizes and
    compression ratios within their limits; anything that is not a clean bundle is refused with a clear message."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise DataError(f"The bundle is larger than {_size(MAX_BUNDLE_BYTES)}.")
    with _open_zip(data, "This is not a model bundle: it is not a zip file", "This is not a model bundle: it holds "
                   "more than a bundle's files", MAX_MEMBERS) as (archive, infos):
        infos = [info for info in infos if info.filename != "dlcore/"]  # the code folder, as some zip tools list it
        refused = [f"{info.filename[:100]} ({why})" for info in infos if (why := _refused_name(info, BUNDLE_FILES))]
        if refused:
            raise DataError(f"This is not a model bundle: unexpected file(s) {', '.join(refused[:3])}.")
        names = [info.filename for info in infos]
        if len(set(names)) < len(names):
            raise DataError("This is not a model bundle: a file name appears twice.")
        missing = [name for name in REQUIRED_FILES if name not in names]
        if missing:
            raise DataError(f"This is not a model bundle: missing {', '.join(missing)}.")
        limits = {info.filename: MAX_KERAS_BYTES if info.filename == "model.keras" else
                  MAX_JSON_BYTES if info.filename in JSON_FILES else MAX_FILE_BYTES for info in infos}
        _check_members(infos, limits, MAX_BUNDLE_BYTES, "This is not a model bundle", "The bundle unpacks to")
        return {info.filename: _read_member(archive, info, limits[info.filename], "This is not a model bundle")
                for info in infos}


def check_keras_archive(data: bytes) -> dict[str, bytes]:
    """A ``.keras`` file is a zip of a JSON config, its metadata and HDF5 weights; refuse anything else before Keras
    opens it (names, sizes, ratios, encryption, links, and every class its config names: :func:`check_keras_config`).
    Returns its checked members."""
    what = "The bundle's model.keras could not be loaded"
    if data[:1] == b"\x80":
        raise DataError(f"{what}: it is a pickle, not a Keras archive (it was not unpickled).")
    with _open_zip(data, f"{what}: it is not a Keras archive", f"{what}: it is not a plain Keras archive",
                   MAX_MEMBERS) as (archive, infos):
        names = [info.filename for info in infos]
        unexpected = [name for name in names if name not in KERAS_FILES]
        if unexpected or "config.json" not in names or len(set(names)) < len(names):
            raise DataError(f"{what}: it is not a plain Keras archive "
                            f"({', '.join(n[:100] for n in unexpected[:3]) or 'no config.json, or a name twice'}).")
        refused = [f"{info.filename} ({why})" for info in infos if (why := _refused_name(info, KERAS_FILES))]
        if refused:
            raise DataError(f"{what}: it is not a plain Keras archive ({', '.join(refused)}).")
        _check_members(infos, MAX_KERAS_MEMBER_BYTES, MAX_KERAS_BYTES, what, "Its members unpack to")
        members = {info.filename: _read_member(archive, info, MAX_KERAS_MEMBER_BYTES[info.filename], what)
                   for info in infos}
    check_keras_config(parse_json(members["config.json"], "model.keras' config.json"))
    return members


def check_keras_config(config) -> None:
    """Refuse a model config that names a class Keras' safe mode should never see: a ``Lambda`` (or another layer
    that carries code, :data:`CODE_LAYERS`), a class of a module outside Keras' own, a registered name other than
    dlcore's layers (:data:`DLCORE_LAYERS`), or nesting deeper than :data:`MAX_CONFIG_DEPTH`."""
    what = "The bundle's model.keras could not be loaded"
    if not isinstance(config, dict) or "class_name" not in config:
        raise DataError(f"{what}: its config.json does not describe a Keras model.")
    stack = [(config, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise DataError(f"{what}: its config.json is nested more than {MAX_CONFIG_DEPTH} levels deep.")
        if isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        if "class_name" in node and (problem := _class_problem(node)):
            raise DataError(f"{what}: its config.json names {problem}; only Keras' own classes and dlcore's "
                            "layers are loaded.")
        stack.extend((value, depth + 1) for value in node.values())


def _class_problem(node: dict) -> str | None:
    """What is wrong with one serialized object of a Keras config (``module``, ``class_name``, ``registered_name``),
    or None."""
    name, module, registered = node.get("class_name"), node.get("module"), node.get("registered_name")
    if not isinstance(name, str) or not isinstance(module, (str, type(None))) \
            or not isinstance(registered, (str, type(None))):
        return "a class that is not a name"
    if name in CODE_LAYERS or (isinstance(registered, str) and registered.split(">")[-1] in CODE_LAYERS):
        return f"a {name if name in CODE_LAYERS else registered} layer, which holds code"
    if module is None:  # Keras' own markers, such as __keras_tensor__
        return None if name.startswith("__") and name.endswith("__") and registered is None else \
            f"the class {name[:100]!r} without its module"
    if module == DLCORE_PACKAGE or module.startswith(DLCORE_PACKAGE + "."):
        if name in DLCORE_LAYERS and registered in (None, f"{DLCORE_PACKAGE}>{name}"):
            return None
        return f"the class {module[:100]}.{name[:100]}, which is not one of dlcore's layers"
    if module == "builtins" and name == "function" and registered in (None, "function"):
        return None  # a Keras function (activation, loss) by name: Keras looks it up among its own
    if module != "keras" and not module.startswith("keras."):
        return f"the class {module[:100]}.{name[:100]} from outside Keras"
    if registered not in (None, name):
        if registered.startswith(f"{DLCORE_PACKAGE}>") and registered.split(">", 1)[1] in DLCORE_LAYERS:
            return None
        return f"the custom class {registered[:100]!r}, which is not one of dlcore's layers"
    return None


def _differences_problem(differences) -> str | None:
    """What is wrong with ``differences`` (:func:`dlcore.evaluation.paired_differences` of known baselines), or
    None."""
    if not isinstance(differences, dict) or any(name not in BASELINE_NAMES for name in differences):
        return f"not an object of {', '.join(BASELINE_NAMES)}"
    for judged in differences.values():
        if not isinstance(judged, dict) or judged.get("metric") not in METRIC_NAMES \
                or not is_number(judged.get("difference"), finite=True) \
                or not is_number(judged.get("level"), finite=True) or not 0 < judged["level"] < 1 \
                or isinstance(judged.get("rows"), bool) or not isinstance(judged.get("rows"), int) \
                or any(judged.get(key) is not None and not is_number(judged.get(key), finite=True)
                       for key in ("low", "high")) or (judged.get("low") is None) != (judged.get("high") is None):
            return "not each a metric, a finite difference, an interval (or none) at a level, and rows"
    return None


def check_metrics(metrics, task: str) -> None:
    """Refuse a ``metrics.json`` that does not describe a model of ``task`` as the app writes it: the task, a known
    primary metric with a finite test score, and test scores (numbers, not NaN). ``baselines``, ``verdict``,
    ``cross_validation``, epochs, and the rest may be missing (the Results page says so), but where present they must
    be of their types."""
    def invalid(detail: str):
        return DataError(f"metrics.json is not valid: {detail}.")

    if not isinstance(metrics, dict):
        raise invalid(f"it is {what_is(metrics)}, not an object")
    missing = [key for key in ("task", "primary_metric", "test") if key not in metrics]
    if missing:
        raise invalid(f"it lacks {', '.join(repr(key) for key in missing)}")
    if metrics["task"] not in TASKS:
        raise invalid(f"its task is {str(metrics['task'])[:100]!r}, not one of {', '.join(TASKS)}")
    if metrics["task"] != task:
        raise invalid(f"it describes a {metrics['task']} model, its preparation a {task} one")
    if (problem := _scores_problem(metrics["test"])) is not None:
        raise invalid(f"its test scores are {problem}")
    primary = metrics["primary_metric"]
    if primary not in METRIC_NAMES or primary not in metrics["test"]:
        raise invalid(f"its primary metric {str(primary)[:100]!r} is not a known metric with a test score")
    if not is_number(metrics["test"][primary], finite=True):
        raise invalid(f"its test {primary} is {what_is(metrics['test'][primary])}, not a finite number")
    if "baselines" in metrics:
        baselines = metrics["baselines"]
        if not isinstance(baselines, dict) or any(name not in BASELINE_NAMES for name in baselines):
            raise invalid(f"its baselines are not an object of {', '.join(BASELINE_NAMES)}")
        for name, scores in baselines.items():
            if (problem := _scores_problem(scores)) is not None:
                raise invalid(f"the scores of its {name} baseline are {problem}")
    if "differences" in metrics and (problem := _differences_problem(metrics["differences"])) is not None:
        raise invalid(f"its differences from the baselines are {problem}")
    if "verdict" in metrics:
        verdict = metrics["verdict"]
        if not isinstance(verdict, dict) or verdict.get("level") not in VERDICT_LEVELS \
                or not isinstance(verdict.get("text"), str):
            raise invalid(f"its verdict is not a level ({', '.join(VERDICT_LEVELS)}) with a text")
    for key in ("epochs_run", "best_epoch"):
        if key in metrics and (isinstance(metrics[key], bool) or not isinstance(metrics[key], int)
                               or metrics[key] < 0):
            raise invalid(f"its {key} is {what_is(metrics[key])}, not a count of epochs")
    for key in ("recovered_from_checkpoint", "stopped_by_user", "collapsed"):
        if key in metrics and not isinstance(metrics[key], bool):
            raise invalid(f"its {key} is {what_is(metrics[key])}, not true/false")
    device = metrics.get("device")
    if device is not None and not (isinstance(device, str) and len(device) <= MAX_DEVICE_CHARS):
        raise invalid(f"its device is {what_is(device)}, not a device name of at most {MAX_DEVICE_CHARS} characters")
    if "members" in metrics and not (isinstance(metrics["members"], int) and not isinstance(metrics["members"], bool)
                                     and 1 <= metrics["members"] <= MAX_NETWORKS):
        raise invalid(f"its members is {what_is(metrics['members'])}, not a count of networks up to {MAX_NETWORKS}")
    if metrics.get("out_of_fold") is not None:
        held = metrics["out_of_fold"]
        rows = held.get("rows") if isinstance(held, dict) else None
        if not (isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0) or \
                _scores_problem({k: v for k, v in held.items() if k != "rows"}) is not None:
            raise invalid("its out_of_fold is not a count of rows with the task's scores")
    if metrics.get("ensemble") is not None:
        chosen = metrics["ensemble"]
        if not (isinstance(chosen, list) and len(chosen) <= MAX_NETWORKS and all(
                isinstance(item, dict) and isinstance(item.get("trial"), int) and not isinstance(item["trial"], bool)
                and is_number(item.get("weight"), finite=True)
                and (item.get("out_of_fold") is None or is_number(item["out_of_fold"], finite=False))
                for item in chosen)):
            raise invalid("its ensemble is not a list of trials with their weights and out-of-fold scores")
    if metrics.get("cross_validation") is not None:
        cv = metrics["cross_validation"]
        scores = cv.get("scores") if isinstance(cv, dict) else None
        if not (isinstance(cv, dict) and isinstance(cv.get("k"), int) and not isinstance(cv["k"], bool)
                and 2 <= cv["k"] <= 100 and cv.get("metric") in METRIC_NAMES
                and all(is_number(cv.get(key), finite=True) for key in ("mean", "std"))
                and isinstance(scores, list) and len(scores) <= 100
                and all(is_number(score, finite=True) for score in scores)):
            raise invalid("its cross_validation is not k, a metric, a mean, a standard deviation and the scores")


def _scores_problem(scores) -> str | None:
    if not isinstance(scores, dict):
        return f"{what_is(scores)}, not an object"
    for name, value in scores.items():
        if name not in METRIC_NAMES:
            return f"an unknown metric {name[:100]!r}"
        if value is not None and not is_number(value, finite=False):
            return f"{what_is(value)} for {name}, not a number"
    return None


def check_schema_file(schema, prep: Preparation) -> None:
    """Refuse a ``schema.json`` (informative: the app predicts from the preparation) that is not what
    :func:`dlcore.export.schema` writes for this preparation: the same columns in order, each with its kind, and the
    same target."""
    def invalid(detail: str):
        return DataError(f"schema.json is not valid: {detail}.")

    if not isinstance(schema, dict) or not isinstance(schema.get("columns"), list) \
            or not isinstance(schema.get("target"), dict) or not isinstance(schema.get("outputs"), list):
        raise invalid("it is not an object of columns, target and outputs")
    columns = schema["columns"]
    if len(columns) != len(prep.encoders):
        raise invalid(f"it lists {len(columns):,} columns, the preparation {len(prep.encoders):,}")
    for column, name in zip(columns, prep.encoders):
        if not isinstance(column, dict) or column.get("name") != name:
            raise invalid(f"its columns are not the preparation's (expected {name[:100]!r})")
        if column.get("kind") not in KINDS or not isinstance(column.get("used", False), bool):
            raise invalid(f"column {name[:100]!r} has no known kind")
    target = schema["target"]
    if target.get("name") != prep.target or target.get("task") != prep.task:
        raise invalid("its target is not the preparation's")
    if not all(isinstance(output, str) for output in schema["outputs"]) or len(schema["outputs"]) > len(
            output_columns(prep)):
        raise invalid("its outputs are not names of the prediction's columns")


# -- reading zips and JSON that anyone may have written ---------------------------------------------------------------
def parse_json(data: bytes | None, name: str):
    """The JSON value in ``data`` (at most :data:`MAX_JSON_BYTES`), or a message that says why not; a pickle is
    named as such (and never unpickled)."""
    if data is None:
        raise DataError(f"{name} is missing.")
    if len(data) > MAX_JSON_BYTES:
        raise DataError(f"{name} is not valid: it is larger than {_size(MAX_JSON_BYTES)}.")
    if data[:1] == b"\x80":
        raise DataError(f"{name} is not valid: it is a pickle, not JSON (it was not unpickled).")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DataError(f"{name} is not valid: it is not JSON ({short_error(exc)}).") from exc


def read_file(path: Path, limit: int = MAX_JSON_BYTES) -> bytes:
    """A file of a run folder, an unpacked bundle or a bundle, if it is no larger than ``limit``."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise DataError(f"{path.name} is larger than {_size(limit)}, more than a model's file can be.")
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise DataError(f"{path.name} cannot be read ({exc.strerror or exc}).") from exc
    if len(data) > limit:
        raise DataError(f"{path.name} is larger than {_size(limit)}, more than a model's file can be.")
    return data


class _open_zip:
    """``with _open_zip(data, refusal, crowded, most) as (archive, infos)``: a zip whose central directory is checked
    first (at most ``most`` members and :data:`MAX_DIRECTORY_BYTES`, no zip64, so even listing it is bounded).
    ``refusal`` starts the message for what is not a zip, ``crowded`` the one for too many members."""

    def __init__(self, data: bytes, refusal: str, crowded: str, most: int):
        self.data, self.refusal, self.crowded, self.most = data, refusal, crowded, most

    def __enter__(self):
        _check_directory(self.data, self.refusal, self.crowded, self.most)
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(self.data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
            raise DataError(f"{self.refusal}.") from exc
        infos = self.archive.infolist()
        if len(infos) > self.most:
            self.archive.close()
            raise DataError(f"{self.crowded} ({len(infos):,} files, more than {self.most}).")
        return self.archive, infos

    def __exit__(self, *exc):
        self.archive.close()
        return False


def _check_directory(data: bytes, refusal: str, crowded: str, most: int) -> None:
    """Read a zip's end record (as :mod:`zipfile` finds it) and refuse zip64, more than ``most`` members or a central
    directory over :data:`MAX_DIRECTORY_BYTES` before :mod:`zipfile` lists it."""
    record = b"PK\x05\x06"
    end = len(data) - 22 if data[-22:-18] == record and data[-2:] == b"\x00\x00" else \
        data.rfind(record, max(0, len(data) - 22 - 65535))
    if end < 0 or len(data) - end < 22:
        raise DataError(f"{refusal}.")
    _, _, _, entries, total, size, _, _ = struct.unpack("<4s4H2LH", data[end:end + 22])
    if end >= 20 and data[end - 20:end - 16] == b"PK\x06\x07":
        raise DataError(f"{crowded} (a zip64 archive, for more files or bytes than a model has).")
    if max(entries, total) > most:
        raise DataError(f"{crowded} ({max(entries, total):,} files, more than {most}).")
    if size > MAX_DIRECTORY_BYTES:
        raise DataError(f"{crowded} (its list of files is larger than {_size(MAX_DIRECTORY_BYTES)}).")


def _refused_name(info: zipfile.ZipInfo, allowed: tuple[str, ...]) -> str | None:
    """Why a member may not be part of a bundle or a model.keras, whose files are ``allowed`` (by its name and file
    type), or None."""
    name, mode = info.filename, info.external_attr >> 16
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in parts:
        return "a path out of the bundle"
    if "\\" in name or "\x00" in name:
        return "a name with a backslash or a NUL"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if info.is_dir() or stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return "not a plain file"
    if name.lower().endswith(PICKLE_SUFFIXES):
        return "a pickle, never loaded"
    if name not in allowed:
        return "not a file of a model bundle"
    return None


def _check_members(infos: list[zipfile.ZipInfo], limits: dict[str, int], total: int, what: str,
                   totalling: str) -> None:
    """Refuse, from the declared sizes alone, a member over its limit or compressed more than :data:`MAX_RATIO`
    times, members over ``total`` in all, encrypted members and compression methods zipfile cannot read."""
    for info in infos:
        if info.flag_bits & 0x1:
            raise DataError(f"{what}: {info.filename} is encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            raise DataError(f"{what}: {info.filename} is compressed with an unknown method.")
        if info.file_size > limits[info.filename]:
            raise DataError(f"{what}: {info.filename} declares {_size(info.file_size)} uncompressed, more than the "
                            f"{_size(limits[info.filename])} allowed.")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise DataError(f"{what}: {info.filename} is compressed {info.file_size / max(info.compress_size, 1):,.0f} "
                            f"times, more than the {MAX_RATIO} allowed (a zip bomb).")
    if sum(info.file_size for info in infos) > total:
        raise DataError(f"{totalling} more than {_size(total)}.")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str) -> bytes:
    """A member's bytes, reading at most ``limit`` + 1 of them (a header that lies about the size cannot inflate
    memory: zipfile also stops at the declared size and checks the CRC)."""
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, NotImplementedError, ValueError) as exc:
        raise DataError(f"{what}: {info.filename} cannot be read ({short_error(exc)}).") from exc
    if len(data) > limit:
        raise DataError(f"{what}: {info.filename} unpacks to more than {_size(limit)}.")
    return data


def _size(size: int) -> str:
    """A byte count for a message: 500 MB, 16 MB, 64 KB, 10.0 GB."""
    if size >= 2**30:
        return f"{size / 2**30:.1f} GB"
    return f"{math.ceil(size / 2**20)} MB" if size >= 2**20 else f"{math.ceil(size / 2**10)} KB"


def short_error(exc: BaseException, limit: int = 300) -> str:
    """An exception's message for a refusal: one line, at most ``limit`` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "…"
