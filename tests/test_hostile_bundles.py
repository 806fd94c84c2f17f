"""A public deployment takes files from strangers: hostile bundles (zip tricks, bombs at every level, code in the
model's config), tampered preparation/metrics/schema files, run folders with damaged files, and CSV injection in what
the product writes. Every hostile input is made here; each is refused with a message that says why, nothing is
unpickled or run, and nothing is written outside a temporary folder."""

from __future__ import annotations

import io
import json
import pickle
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import dlcore.runtime.bundle as bundles
from conftest import churn_frame, open_run_page
from dlcore import cli
from dlcore.architectures import resolve
from dlcore.explanations import EXPLANATIONS_FILE, explain_run
from dlcore.jobs import start_run
from dlcore.prepared import prepare
from dlcore.runs import Run
from dlcore.runtime import encoders
from dlcore.runtime.bundle import check_keras_config
from dlcore.runtime.encoders import ENCODERS, MAX_FEATURES, MAX_LEVELS, InvalidConfig
from dlcore.runtime.errors import DataError
from dlcore.runtime.files import csv_text
from dlcore.runtime.inference import Predictor
from dlcore.runtime.preparation import Preparation
from dlcore.runtime.streaming import predict_file
from dlcore.training import TrainConfig
from dlcore.workers import train_here

OWNER = "f" * 32
OPTIONS = {"plan": {"encoding": "embedding"}}  # a dlcore layer (CategoryEmbedding) in the model's config
INJECTIONS = ['=HYPERLINK("http://x")', "+1+1", "-cmd", "@SUM(A1)"]


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A finished run (trained by a worker, as the app does) of a small churn table."""
    data = prepare(churn_frame(300, 0, gaps=False), "churn", "binary", options=OPTIONS)
    arch = resolve("auto", data.x_train.shape[1], len(data.x_train))
    run = start_run(data, arch, TrainConfig(epochs=3, learning_rate=0.01), owner=OWNER,
                    root=tmp_path_factory.mktemp("runs"))
    assert run.wait(180) and run.status == "finished", run.error
    return run


@pytest.fixture(scope="module")
def bundle(job) -> bytes:
    return (job.run_dir / "model.zip").read_bytes()


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """An empty working folder and temporary folder; both must be empty again after a refusal (so whatever was
    written went into a temporary folder that was removed)."""
    cwd, scratch = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    scratch.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield cwd, scratch
    assert not list(cwd.iterdir()), "nothing may be written in the working folder"
    assert not list(scratch.iterdir()), "temporary files must be removed"


# -- making hostile zips ---------------------------------------------------------------------------------------------

def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(files: dict[str, bytes | zipfile.ZipInfo], compression=zipfile.ZIP_DEFLATED, **patch) -> bytes:
    """A zip of ``files`` (a value may be a (ZipInfo, bytes) pair); ``patch``: name → {field: value} changed in the
    central directory only (a header that lies)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            if isinstance(data, tuple):
                archive.writestr(*data)
            else:
                archive.writestr(name, data)
        for info in archive.filelist:
            for field, value in patch.get(info.filename, {}).items():
                setattr(info, field, value)
    return buffer.getvalue()


def rezip(bundle: bytes, change: dict, **patch) -> bytes:
    """The bundle with files replaced or added (``None`` removes one)."""
    files = {**members(bundle), **change}
    return zipped({name: data for name, data in files.items() if data is not None}, **patch)


def with_keras(bundle: bytes, change: dict, **patch) -> bytes:
    """The bundle with its model.keras' members replaced or added (``None`` removes one)."""
    inner = {**members(members(bundle)["model.keras"]), **change}
    return rezip(bundle, {"model.keras": zipped({k: v for k, v in inner.items() if v is not None}, **patch)})


def keras_config(bundle: bytes) -> dict:
    return json.loads(members(members(bundle)["model.keras"])["config.json"])


def with_json(bundle: bytes, name: str, change) -> bytes:
    """The bundle with its JSON file ``name`` changed by ``change(value)`` (which edits it in place)."""
    value = json.loads(members(bundle)[name])
    change(value)
    return rezip(bundle, {name: json.dumps(value).encode()})


def refusal(data: bytes) -> str:
    """The message a bundle is refused with, loading it completely (model included)."""
    with pytest.raises(DataError) as caught:
        Predictor.from_bundle(data).model
    return str(caught.value)


def symlink(name: str, target: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


class Boom:
    """Unpickling this would create the file: proof that nothing was unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


# -- the bundle zip --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, why", [
    ("../x", "../x (a path out of the bundle)"),
    ("dlcore/../../x.py", "(a path out of the bundle)"),
    ("/etc/cron.d/x", "/etc/cron.d/x (an absolute path)"),
    ("C:/Windows/x", "(an absolute path)"),
    ("..\\x", "(a path out of the bundle)"),
    ("dlcore\\x.py", "(a name with a backslash or a NUL)"),
    ("model.pkl", "model.pkl (a pickle, never loaded)"),
    ("dlcore/weights.joblib", "(a pickle, never loaded)"),
    ("evil/", "evil/ (a folder)"),
    ("notes.txt", "notes.txt (not a file of a model bundle)"),
    ("dlcore/extra.py", "(not a file of a model bundle)"),
])
def test_foreign_names_are_refused_with_the_reason(bundle, sandbox, name, why):
    message = refusal(rezip(bundle, {name: b"x"}))
    assert message.startswith("This is not a model bundle: unexpected file(s) ") and why in message


def test_a_symbolic_link_is_refused(bundle, sandbox):
    message = refusal(rezip(bundle, {"README.md": symlink("README.md", b"/etc/passwd")}))
    assert "README.md (a symbolic link)" in message


def test_non_zip_bytes_and_pickles_are_refused_without_unpickling(bundle, sandbox, tmp_path):
    marker = tmp_path / "unpickled"
    assert "not a zip file" in refusal(b"just some text, not a zip")
    assert "not a zip file" in refusal(pickle.dumps(Boom(marker)))
    assert "not a zip file" in refusal(b"PK\x05\x06" + b"\x00" * 10)
    assert "preparation.json is not valid: it is a pickle" in refusal(
        rezip(bundle, {"preparation.json": pickle.dumps(Boom(marker))}))
    assert "model.keras could not be loaded: it is a pickle" in refusal(
        rezip(bundle, {"model.keras": pickle.dumps(Boom(marker))}))
    assert not marker.exists()


def test_an_encrypted_member_is_refused(bundle, sandbox):
    message = refusal(rezip(bundle, {}, **{"preparation.json": {"flag_bits": 0x1}}))
    assert message == "This is not a model bundle: preparation.json is encrypted."


def test_declared_sizes_and_ratios_are_checked_before_reading(bundle, sandbox):
    # a member that declares more than its limit (the header lies: nothing that big is read)
    message = refusal(rezip(bundle, {}, **{"metrics.json": {"file_size": 10 * 2**30}}))
    assert message == ("This is not a model bundle: metrics.json declares 10.0 GB uncompressed, more than the 16 MB "
                       "allowed.")
    # a bomb: a few KB that inflate to 12 MB
    message = refusal(rezip(bundle, {"history.csv": b"0" * (12 * 2**20)}))
    assert "history.csv is compressed" in message and "(a zip bomb)" in message
    # a header that declares less than there is: only the declared bytes are inflated, and the CRC refuses them
    message = refusal(rezip(bundle, {"README.md": b"a" * 5000}, **{"README.md": {"file_size": 10}}))
    assert "README.md cannot be read" in message


def test_a_zip_of_many_members_is_refused_before_it_is_listed(sandbox):
    message = refusal(zipped({f"f{i}": b"" for i in range(5000)}, zipfile.ZIP_STORED))
    assert message == "This is not a model bundle: it holds more than a bundle's files (5,000 files, more than 64)."


def test_an_oversized_bundle_is_refused(bundle, sandbox, monkeypatch):
    monkeypatch.setattr(bundles, "MAX_BUNDLE_BYTES", len(bundle) - 1)
    assert refusal(bundle) == f"The bundle is larger than {bundles._size(len(bundle) - 1)}."


# -- model.keras, the zip in the zip ------------------------------------------------------------------------------

def test_model_keras_that_is_not_a_zip_is_refused(bundle, sandbox):
    assert refusal(rezip(bundle, {"model.keras": b"not a zip"})) == (
        "The bundle's model.keras could not be loaded: it is not a Keras archive.")


def test_nested_bombs_are_refused(bundle, sandbox):
    # the weights declare 10 GB in model.keras' directory (a real small zip with a patched size)
    message = refusal(with_keras(bundle, {}, **{"model.weights.h5": {"file_size": 10 * 2**30}}))
    assert message == ("The bundle's model.keras could not be loaded: model.weights.h5 declares 10.0 GB uncompressed, "
                       "more than the 500 MB allowed.")
    # the weights inflate from a few KB to 20 MB
    message = refusal(with_keras(bundle, {"model.weights.h5": bytes(20 * 2**20)}))
    assert "model.weights.h5 is compressed" in message and "(a zip bomb)" in message
    # model.keras itself declares more than allowed in the bundle
    message = refusal(rezip(bundle, {}, **{"model.keras": {"file_size": 10 * 2**30}}))
    assert "model.keras declares 10.0 GB uncompressed, more than the 500 MB allowed" in message
    # the config declares more than a JSON file may be
    message = refusal(with_keras(bundle, {}, **{"config.json": {"file_size": 2**30}}))
    assert "config.json declares 1.0 GB uncompressed, more than the 16 MB allowed" in message


def test_model_keras_with_foreign_members_is_refused(bundle, sandbox):
    message = refusal(with_keras(bundle, {"../../x.py": b"x"}))
    assert message.startswith("The bundle's model.keras could not be loaded: it is not a plain Keras archive")
    assert "../../x.py" in message
    inner = members(members(bundle)["model.keras"])
    message = refusal(with_keras(bundle, {"config.json": None},
                                 **{"model.weights.h5": {"external_attr": (stat.S_IFLNK | 0o777) << 16}}))
    assert "no config.json" in message
    message = refusal(rezip(bundle, {"model.keras": zipped({**inner, "metadata.json": symlink("metadata.json",
                                                                                                b"/etc/passwd")})}))
    assert "metadata.json (a symbolic link)" in message


def layers_of(config: dict) -> list[dict]:
    """Every layer of a Keras model config, those of the models nested in it (an ensemble's members) included."""
    found = []
    for layer in config["config"]["layers"]:
        found.append(layer)
        if isinstance(layer.get("config"), dict) and "layers" in layer["config"]:
            found += layers_of(layer)
    return found


def lambda_config(bundle: bytes) -> bytes:
    """The bundle's model with a Dropout, inside one of the ensemble's members, turned into a Lambda."""
    config = keras_config(bundle)
    layer = next(layer for layer in layers_of(config) if layer["class_name"] == "Dropout")
    layer["class_name"] = "Lambda"
    layer["config"]["function"] = {"class_name": "__lambda__", "config": {"code": "4wAAAAA="}}
    return json.dumps(config).encode()


def test_a_lambda_layer_is_refused_before_keras_sees_it(bundle, sandbox):
    message = refusal(with_keras(bundle, {"config.json": lambda_config(bundle)}))
    assert message == ("The bundle's model.keras could not be loaded: its config.json names a Lambda layer, which holds "
                       "code; only Keras' own classes and dlcore's layers are loaded.")


def test_keras_safe_mode_refuses_a_lambda_too(tmp_path):
    """The second defense: a real Lambda model, which Keras' safe mode refuses on its own."""
    import keras

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        keras.saving.load_model(tmp_path / "lambda.keras", safe_mode=True)
    with pytest.raises(DataError, match="names a Lambda layer"):
        bundles.check_keras_archive((tmp_path / "lambda.keras").read_bytes())


@pytest.mark.parametrize("change, why", [
    ({"module": "os", "class_name": "system", "registered_name": None}, "the class os.system from outside Keras"),
    ({"module": "evil.layers", "class_name": "Evil", "registered_name": "evil>Evil"},
     "the class evil.layers.Evil from outside Keras"),
    ({"module": "keras.layers", "class_name": "Dense", "registered_name": "evil>Dense"},
     "the custom class 'evil>Dense', which is not one of dlcore's layers"),
    ({"module": "dlcore.runtime.layers", "class_name": "Backdoor", "registered_name": "dlcore>Backdoor"},
     "the class dlcore.runtime.layers.Backdoor, which is not one of dlcore's layers"),
    ({"module": None, "class_name": "Dense", "registered_name": None}, "the class 'Dense' without its module"),
    ({"module": "keras.layers", "class_name": "TFSMLayer", "registered_name": None}, "a TFSMLayer layer"),
])
def test_unknown_classes_are_refused(bundle, sandbox, change, why):
    config = keras_config(bundle)
    config["config"]["layers"][-1].update(change)
    message = refusal(with_keras(bundle, {"config.json": json.dumps(config).encode()}))
    assert why in message and "only Keras' own classes and dlcore's layers are loaded" in message


def test_the_real_configs_pass_and_deep_nesting_does_not(bundle):
    check_keras_config(keras_config(bundle))  # Keras' classes and dlcore's layers: accepted
    names = {layer["class_name"] for layer in layers_of(keras_config(bundle))}
    assert {"Columns", "CategoryEmbedding", "Functional", "Average"} <= names  # the members, nested, and their mean
    deep = {"class_name": "Functional", "module": "keras", "config": {}}
    node = deep["config"]
    for _ in range(100):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(DataError, match="nested more than 64 levels"):
        check_keras_config(deep)
    with pytest.raises(DataError, match="does not describe a Keras model"):
        check_keras_config([1, 2])


def test_the_registered_layers_are_dlcores():
    import keras

    import dlcore.runtime.layers as layers

    assert bundles.DLCORE_PACKAGE == layers.PACKAGE
    defined = {name for name, value in vars(layers).items()
               if isinstance(value, type) and issubclass(value, keras.layers.Layer) and value.__module__ == layers.__name__}
    assert defined == set(bundles.DLCORE_LAYERS)
    for name in bundles.DLCORE_LAYERS:
        assert keras.saving.get_registered_object(f"{layers.PACKAGE}>{name}") is getattr(layers, name)


def test_loading_writes_only_into_a_removed_temporary_folder(job, bundle, sandbox, tmp_path):
    """Keras reads a clean copy of the checked members in a temporary folder, removed afterwards (the sandbox checks
    the working and temporary folders), whether the model loads or is refused after loading."""
    assert len(Predictor.from_bundle(bundle).predict(churn_frame(4, 2))) == 4
    other = prepare(churn_frame(120, 3)[["minutes", "churn"]], "churn", "binary")
    train_here(other, resolve("auto", other.x_train.shape[1], 120), TrainConfig(epochs=1), tmp_path / "other")
    message = refusal(rezip(bundle, {"model.keras": (tmp_path / "other" / "model.keras").read_bytes()}))
    assert message.startswith("The bundle's model.keras could not be loaded: it reads (") and message.endswith(
        "inputs, its preparation makes 3.")


def test_a_model_whose_outputs_do_not_fit_the_preparation_is_refused(bundle, sandbox):
    three = with_json(bundle, "preparation.json", lambda c: c.update(
        task="multiclass", target_encoding={"classes": ["no", "yes", "maybe"]}))
    three = with_json(three, "metrics.json", lambda m: m.update(task="multiclass"))
    assert refusal(rezip(three, {"schema.json": None})) == (
        "The bundle's model.keras could not be loaded: it gives (1,) outputs, a multiclass model of this "
        "preparation gives 3.")


# -- tampered preparation.json ---------------------------------------------------------------------------------------

def column(config: dict, encoding: str) -> dict:
    return next(c for c in config["columns"].values() if c["encoding"] == encoding)


TAMPERED_PREPARATIONS = [
    (lambda c: c.pop("task"), "preparation.json is not valid: it lacks 'task'."),
    (lambda c: c.update(task="astrology"), "its task is 'astrology', not one of binary, multiclass, regression"),
    (lambda c: c.update(kinds=["numeric"]), "its kinds are a list, not an object"),
    (lambda c: c.update(columns="x"), "its columns are a text, not an object"),
    (lambda c: c["kinds"].update(minutes="wizard"), "column 'minutes' has the unknown kind 'wizard'"),
    (lambda c: c["kinds"].pop("plan"), "its kinds and its columns do not name the same columns ('plan')"),
    (lambda c: c.update(extra=[1, 2]), "it has the unknown entry 'extra'"),
    (lambda c: c.update(format=99), "This preparation has format 99; this version of the app reads up to 2."),
    (lambda c: c.update(format="2"), "its format is '2', not a version number"),
    (lambda c: c["columns"]["minutes"].update(encoding="magic"), "Unknown encoding 'magic' for column 'minutes'"),
    (lambda c: c["columns"]["minutes"].update(column="plan"), "column 'minutes' holds the encoder of column 'plan'"),
    (lambda c: c["columns"]["minutes"]["fitted"].update(fill_=float("nan")),
     "column 'minutes': fitted value 'fill_' is NaN, not a finite number"),
    (lambda c: c["columns"]["minutes"]["fitted"]["scaler_"].update(std=float("inf")),
     "column 'minutes': the scaling statistic 'std' (scaler_) is infinite, not a finite number"),
    (lambda c: c["columns"]["minutes"]["fitted"]["scaler_"].update(std=0),
     "the scaling statistic 'std' (scaler_) is 0"),
    (lambda c: c["columns"]["minutes"]["fitted"].pop("scaler_"), "column 'minutes': numeric lacks its fitted value"),
    (lambda c: c["columns"]["minutes"]["fitted"].update(__class___=1), "Unexpected fitted value '__class___' for column 'minutes'"),
    (lambda c: c["columns"]["minutes"]["options"].update(scale={"a": [1, {"b": 2}]}),
     "column 'minutes': option 'scale' is an object, not a text"),
    (lambda c: c["columns"]["minutes"]["options"].update(scale="cube"), "Unknown scale 'cube'"),
    (lambda c: c["columns"]["minutes"]["options"].update(shell="rm"), "numeric has no option 'shell'"),
    (lambda c: c["columns"]["minutes"]["fitted"].update(seen_=[[[]]]), "fitted value 'seen_' is a list, not an object"),
    (lambda c: c["columns"]["minutes"]["fitted"]["seen_"].update(min="low"), "its min is a text, not a number"),
    (lambda c: c["columns"]["minutes"]["fitted"].update(features_=[f"f{i}" for i in range(MAX_FEATURES + 1)]),
     f"fitted value 'features_' is a list of {MAX_FEATURES + 1:,} items, not 0 to {MAX_FEATURES:,}"),
    (lambda c: c["columns"]["minutes"]["fitted"].update(features_=["minutes", "minutes_missing"]),
     "column 'minutes': 2 input columns (features_) where it makes 1"),
    (lambda c: c["columns"]["international"]["fitted"].update(true_=None),
     "fitted value 'true_' is null, not a text"),
    (lambda c: c["columns"]["plan"]["fitted"].update(categories_=["basic", 7]),
     "fitted value 'categories_' is a list whose item 2 is a number, not a text"),
    (lambda c: c["columns"]["plan"]["fitted"]["seen_"].update(levels=[f"l{i}" for i in range(MAX_LEVELS + 1)]),
     f"a list of {MAX_LEVELS + 1:,} items, not 0 to {MAX_LEVELS:,}"),
    (lambda c: c["target_encoding"].update(classes=["no", "yes", "maybe"]),
     "its target encoding does not list 2 class labels, as a binary target has"),
    (lambda c: c.update(target_encoding={"classes": ["no", "no"]}), "its class labels are not distinct plain values"),
]


@pytest.mark.parametrize("change, message", TAMPERED_PREPARATIONS)
def test_a_tampered_preparation_is_refused_with_what_is_wrong(bundle, sandbox, change, message):
    assert message in refusal(with_json(bundle, "preparation.json", change))


def test_millions_of_one_hot_levels_are_refused_without_building_them(bundle, sandbox):
    config = json.loads(members(bundle)["preparation.json"])
    plan = config["columns"]["plan"]
    levels = [f"l{i}" for i in range(1_200_000)]
    plan.update(encoding="onehot", options={"min_frequency": 0.0})
    plan["fitted"] = {"features_": [f"plan={level}" for level in levels], "seen_": {}, "levels_": len(levels),
                      "categories_": levels, "other_": False}
    data = json.dumps(config).encode()
    assert len(data) > bundles.MAX_JSON_BYTES
    assert refusal(rezip(bundle, {"preparation.json": data})) == (
        f"This is not a model bundle: preparation.json declares {bundles._size(len(data))} uncompressed, more than "
        "the 16 MB allowed.")
    with pytest.raises(InvalidConfig, match=f"a list of 1,200,000 items, not 0 to {MAX_FEATURES:,}"):
        Preparation.from_config(config)  # the preparation's own bound, for a folder's files


def test_preparation_that_is_not_json_is_refused(bundle, sandbox):
    assert "preparation.json is not valid: it is not JSON" in refusal(rezip(bundle, {"preparation.json": b"{nope"}))
    assert "preparation.json is not valid: it is not JSON" in refusal(
        rezip(bundle, {"preparation.json": b"[" * 100_000}))  # too deep for the parser
    assert "preparation.json is not valid: it is a list, not an object" in refusal(
        rezip(bundle, {"preparation.json": b"[]"}))


def test_every_encoder_declares_what_fit_sets():
    """The contract behind the validator: each class declares exactly the fitted attributes its fit sets, and a
    fitted encoder of every registered encoding reads back as it was written."""
    frame = churn_frame(200, 1, calls=True, signed=True)
    frame["code"] = [f"c_{i % 9}" for i in range(len(frame))]
    frame["id"] = [f"id{i}" for i in range(len(frame))]
    columns = {"numeric": "minutes", "piecewise_linear": "minutes", "onehot": "plan", "embedding": "plan",
               "frequency": "plan", "boolean": "international", "date_parts": "signed", "exclude": "id",
               "number_in_text": "code"}
    assert set(columns) == set(ENCODERS)
    for name, column_name in columns.items():
        data = prepare(frame, "churn", "binary", options={column_name: {"encoding": name}})
        config = json.loads(json.dumps(data.preparation.get_config()))
        assert config["columns"][column_name]["encoding"] == name
        for column_config in config["columns"].values():
            assert set(column_config["fitted"]) == set(ENCODERS[column_config["encoding"]].fitted)
        assert Preparation.from_config(config).get_config() == config


# -- tampered metrics.json and schema.json ---------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("test"), "metrics.json is not valid: it lacks 'test'."),
    (lambda m: m.update(task="regression"), "it describes a regression model, its preparation a binary one"),
    (lambda m: m["test"].update(accuracy=float("nan")), "its test scores are NaN for accuracy, not a number"),
    (lambda m: m["test"].update(accuracy=float("inf")), "its test accuracy is infinite, not a finite number"),
    (lambda m: m["test"].update(accuracy="0.9"), "its test scores are a text for accuracy, not a number"),
    (lambda m: m.update(primary_metric="__import__"), "its primary metric '__import__' is not a known metric"),
    (lambda m: m["test"].update(evil=1.0), "its test scores are an unknown metric 'evil'"),
    (lambda m: m["baselines"].update(naive="x"), "the scores of its naive baseline are a text, not an object"),
    (lambda m: m["baselines"].update(oracle={}), "its baselines are not an object of naive"),
    (lambda m: m["verdict"].update(level="party"), "its verdict is not a level (success, warning, error) with a text"),
    (lambda m: m.update(differences={"oracle": {}}), "its differences from the baselines are not an object of naive"),
    (lambda m: m.update(differences={"naive": {"metric": "accuracy", "difference": 0.1, "level": 0.95, "rows": 9,
                                               "low": "x", "high": 0.2}}),
     "its differences from the baselines are not each a metric"),
    (lambda m: m.update(epochs_run="many"), "its epochs_run is a text, not a count of epochs"),
    (lambda m: m.update(cross_validation={"k": 5, "scores": [[]]}), "its cross_validation is not k, a metric"),
    (lambda m: m.update(stopped_by_user="no"), "its stopped_by_user is a text, not true/false"),
    (lambda m: m.update(device=["GPU"]), "its device is a list, not a device name of at most 200 characters"),
    (lambda m: m.update(members=0), "its members is a number, not a count of networks up to 10000"),
    (lambda m: m.update(members=True), "its members is true/false, not a count of networks"),
    (lambda m: m.update(out_of_fold=["0.9"]), "its out_of_fold is not a count of rows with the task's scores"),
    (lambda m: m.update(out_of_fold={"rows": 10, "accuracy": "high"}), "its out_of_fold is not a count of rows"),
    (lambda m: m.update(ensemble=[{"trial": "0", "weight": 1.0}]), "its ensemble is not a list of trials with"),
    (lambda m: m.update(ensemble=[{"trial": 0, "weight": float("nan")}]), "its ensemble is not a list of trials"),
])
def test_tampered_metrics_are_refused_with_what_is_wrong(bundle, sandbox, change, message):
    assert message in refusal(with_json(bundle, "metrics.json", change))


def test_metric_and_baseline_names_are_those_the_app_writes():
    from dlcore.baselines import NETWORK, titles
    from dlcore.evaluation import METRIC_TITLES

    assert set(bundles.METRIC_NAMES) == set(METRIC_TITLES)
    assert set(bundles.BASELINE_NAMES) == (set(titles("regression")) | set(titles("binary"))) - {NETWORK}


@pytest.mark.parametrize("change, message", [
    (lambda s: s["columns"].pop(), "schema.json is not valid: it lists 2 columns, the preparation 3."),
    (lambda s: s["columns"][0].update(name="other"), "its columns are not the preparation's (expected 'minutes')"),
    (lambda s: s["columns"][0].update(kind=["numeric"]), "column 'minutes' has no known kind"),
    (lambda s: s.update(target="churn"), "it is not an object of columns, target and outputs"),
    (lambda s: s["target"].update(task="regression"), "its target is not the preparation's"),
])
def test_a_tampered_schema_is_refused(bundle, sandbox, change, message):
    assert message in refusal(with_json(bundle, "schema.json", change))
    assert "schema.json is not valid: it is not JSON" in refusal(rezip(bundle, {"schema.json": b"\xff\xfe"}))


def test_the_format1_bundle_passes_every_check():
    predictor = Predictor.load(Path(__file__).parent / "fixtures" / "format1_model.zip")
    assert predictor.model.output_shape == (None, 1)


# -- the command line ------------------------------------------------------------------------------------------------

def test_the_command_line_refuses_hostile_bundles_in_one_line(bundle, sandbox, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    churn_frame(5, 3).drop(columns="churn").to_csv(rows, index=False)
    hostile = {"slip.zip": rezip(bundle, {"../x": b"x"}),
               "bomb.zip": with_keras(bundle, {}, **{"model.weights.h5": {"file_size": 10 * 2**30}}),
               "lambda.zip": with_keras(bundle, {"config.json": lambda_config(bundle)}),
               "nan.zip": with_json(bundle, "metrics.json", lambda m: m["test"].update(accuracy=float("nan")))}
    for name, data in hostile.items():
        (tmp_path / name).write_bytes(data)
        for command in (["predict", tmp_path / name, rows, "--out", tmp_path / "out.csv"],
                        ["explain", tmp_path / name, rows, "--out", tmp_path / "out.json"]):
            assert cli.main([str(part) for part in command]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0], err
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "out.json").exists()


def test_an_unpacked_bundle_with_an_oversized_file_is_refused(bundle, tmp_path, monkeypatch):
    folder = tmp_path / "unpacked"
    folder.mkdir()
    for name, data in members(bundle).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    monkeypatch.setattr(bundles, "MAX_JSON_BYTES", 100)
    with pytest.raises(DataError, match="preparation.json is larger than 1 KB"):
        Predictor.load(folder)


# -- CSV injection -----------------------------------------------------------------------------------------------------

def injected_rows() -> pd.DataFrame:
    rows = churn_frame(8, 5, gaps=False).drop(columns="churn")
    rows["minutes"] = [-12.5, -0.25, 3.0, 250.5, -1e3, 0.0, 7.0, -3.0]
    rows.insert(0, "note", [*INJECTIONS, "plain", "-3.5", "+1,200", None])
    rows.loc[1, "plan"] = "=cmd|'/c calc'!A1"  # an unseen level of an input column
    return rows


def assert_neutralised(path_or_text, rows: pd.DataFrame) -> None:
    text = Path(path_or_text).read_text() if isinstance(path_or_text, Path) else path_or_text
    back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert back["note"].tolist()[:4] == ["'" + cell for cell in INJECTIONS]
    assert back["note"].tolist()[4:7] == ["plain", "-3.5", "+1,200"]  # text that reads as a number stays
    assert back["plan"][1] == "'=cmd|'/c calc'!A1"
    assert back["minutes"].astype(float).tolist() == rows["minutes"].tolist()  # numbers, negatives included
    assert not any(cell.startswith("'") for cell in back["minutes"])
    assert back["probability_yes"].astype(float).between(0, 1).all()


def test_predictions_written_by_the_command_line_are_neutralised(job, tmp_path, capsys):
    rows = injected_rows()
    rows.to_csv(tmp_path / "rows.csv", index=False)
    assert cli.main(["predict", str(job.run_dir / "model.zip"), str(tmp_path / "rows.csv"), "--out",
                     str(tmp_path / "out.csv")]) == 0
    assert_neutralised(tmp_path / "out.csv", rows)
    predict_file(job.run_dir, tmp_path / "rows.csv", tmp_path / "again.csv", echo=lambda line: None)
    assert_neutralised(tmp_path / "again.csv", rows)


def test_predictions_as_csv_text_are_neutralised(bundle):
    rows = injected_rows()
    assert_neutralised(csv_text(Predictor.from_bundle(bundle).predict(rows)), rows)


# -- the pages: missing or damaged parts degrade one view --------------------------------------------------------------

def open_page(page: str, run, runs_dir: Path, monkeypatch) -> AppTest:
    return open_run_page(page, run, OWNER, monkeypatch, runs_dir=runs_dir)


def copied(job, tmp_path) -> Run:
    target = tmp_path / "runs" / job.run_dir.name
    shutil.copytree(job.run_dir, target)
    return Run(target)


def texts_of(app: AppTest) -> list[str]:
    return [element.value for kind in ("info", "warning", "error", "caption") for element in getattr(app, kind)]


def predictions_table(app: AppTest) -> pd.DataFrame:
    return [df.value for df in app.dataframe if "prediction" in df.value.columns][-1]


def test_a_bundle_without_baselines_verdict_history_or_schema_still_predicts(bundle, tmp_path, monkeypatch):
    bare = with_json(bundle, "metrics.json", lambda m: (m.pop("baselines"), m.pop("verdict"), m.pop("epochs_run")))
    bare = rezip(bare, {"history.csv": None, "schema.json": None})
    app = open_page("pages/results.py", None, tmp_path / "runs", monkeypatch)
    app.file_uploader(key="bundle_upload").upload("model.zip", bare, "application/zip").run()
    assert not app.exception and not app.error
    assert any("This bundle's metrics have no baselines and no verdict" in text for text in texts_of(app))
    assert app.metric[0].label == "Network: test Accuracy"
    new = churn_frame(9, 4, gaps=False).drop(columns="churn")
    app.file_uploader(key="bundle_predict_upload").upload("new.csv", new.to_csv(index=False).encode(), "text/csv").run()
    assert not app.exception and not app.error
    expected = Predictor.from_bundle(bundle).predict(new)
    assert predictions_table(app)["prediction"].tolist() == expected["prediction"].tolist()
    assert [b.label for b in app.get("download_button")] == ["Download predictions (CSV)"]


def test_a_run_without_metrics_shows_the_rest(job, tmp_path, monkeypatch):
    run = copied(job, tmp_path / "missing")
    (run.run_dir / "metrics.json").unlink()
    app = open_page("pages/results.py", run, run.run_dir.parent, monkeypatch)
    assert any("This run's scores are not shown: metrics.json is missing." in text for text in texts_of(app))
    assert len(app.get("plotly_chart")) == 6, "the test split's charts are still drawn"
    assert [b.label for b in app.get("download_button")] == ["Download predictions (CSV)", "Download model"]

    run = copied(job, tmp_path / "damaged")
    (run.run_dir / "metrics.json").write_text('{"task": "binary", "test": NaN')
    app = open_page("pages/results.py", run, run.run_dir.parent, monkeypatch)
    assert any("This run's scores are not shown: metrics.json is not valid: it is not JSON" in text
               for text in texts_of(app))


def test_a_run_with_damaged_test_rows_and_no_bundle_shows_the_rest(job, tmp_path, monkeypatch):
    run = copied(job, tmp_path)
    (run.run_dir / "prepared" / "test.parquet").write_bytes(b"PAR1 damaged")
    (run.run_dir / "model.zip").unlink()
    app = open_page("pages/results.py", run, tmp_path / "runs", monkeypatch)
    assert not app.error
    assert "This run's folder has no test rows, so the charts are not shown." in texts_of(app)
    assert "This run's folder has no model.zip to download." in texts_of(app)
    assert app.metric[0].value == f"{job.metrics['test']['accuracy']:.4g}"

    pd.DataFrame({"other": [1, 2]}).to_parquet(run.run_dir / "prepared" / "test.parquet")
    app = open_page("pages/results.py", run, tmp_path / "runs", monkeypatch)
    assert any("test rows (prepared/test.parquet) lack the column(s) churn, minutes" in t for t in texts_of(app))


@pytest.fixture(scope="module")
def explained(job, tmp_path_factory):
    """The run with an explanation of 20 test rows, copied into its own runs folder."""
    root = tmp_path_factory.mktemp("explained")
    shutil.copytree(job.run_dir, root / job.run_dir.name)
    explain_run(root / job.run_dir.name, rows=20)
    return root / job.run_dir.name


def test_explain_with_a_damaged_explanation_or_no_metrics(explained, tmp_path, monkeypatch):
    target = tmp_path / "runs" / explained.name
    shutil.copytree(explained, target)
    run = Run(target)
    (target / "metrics.json").unlink()
    app = open_page("pages/explain.py", run, tmp_path / "runs", monkeypatch)
    assert not app.error
    assert len(app.get("plotly_chart")) == 4, "the explanation is shown without the run's metrics"
    assert [b.label for b in app.get("download_button")] == ["Download SHAP values (CSV)"]

    data = json.loads((target / EXPLANATIONS_FILE).read_text())
    data["explanation"]["values"] = data["explanation"]["values"][:3]  # parts that no longer fit together
    (target / EXPLANATIONS_FILE).write_text(json.dumps(data))
    app = open_page("pages/explain.py", run, tmp_path / "runs", monkeypatch)
    assert "This run's explanations.json cannot be read (it is damaged): explain it again." in texts_of(app)
    assert app.button(key="explain_start") is not None and not app.get("plotly_chart")

    (target / EXPLANATIONS_FILE).write_text("{not json")
    app = open_page("pages/explain.py", run, tmp_path / "runs", monkeypatch)
    assert "This run's explanations.json cannot be read (it is damaged): explain it again." in texts_of(app)


def test_the_shap_download_is_neutralised(explained):
    from dlcore.explanations import read_explanations

    explanation, _ = read_explanations(explained)
    explanation.rows.loc[explanation.rows.index[0], "plan"] = "=1+1"
    text = csv_text(explanation.table(0))
    assert "'=1+1" in text and "\n=1+1" not in text and ",=1+1" not in text
    assert np.isfinite(pd.read_csv(io.StringIO(text))["shap_minutes"]).all()


def test_an_encoder_config_read_alone_is_checked():
    assert encoders.from_config(ENCODERS["exclude"]("id", "identifier").fit(pd.Series([1, 2])).get_config())
    with pytest.raises(InvalidConfig, match="a column is a list, not an object"):
        encoders.from_config([])
    with pytest.raises(InvalidConfig, match="exclude lacks its fitted value 'reason_'"):
        encoders.from_config({"encoding": "exclude", "column": "id", "kind": "identifier", "options": {},
                              "fitted": {"features_": [], "seen_": {}}})
