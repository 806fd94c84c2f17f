"""The model bundle: its files, ``predict.py`` in a clean folder against the app and the command line, the schema
check before predicting, batches, and tampered bundles refused."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dlcore.bundle as bundles
import dlcore.inference as inference
from conftest import mixed_frame
from dlcore.architectures import resolve
from dlcore.errors import DataError
from dlcore.bundle import RUN_FILES, RUNTIME_FILES, RUNTIME_MODULES, read_bundle
from dlcore.inference import Predictor, predict_file
from dlcore.loading import read_table
from dlcore.prepared import prepare
from dlcore.jobs import train_here
from dlcore.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = {"income": {"log": True, "scale": "quantile"}, "code": {"encoding": "number_in_text"},
           "day": {"cyclical": True}, "city": {"encoding": "frequency"}}


# Runs a script (argv[1]) with every package the bundle's requirements.txt does not name made unimportable.
WITHOUT_EXTRAS = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("sklearn", "streamlit", "plotly", "shap", "ray", "optuna"):
            raise ImportError(name + " is not in the bundle's requirements")
sys.meta_path.insert(0, Block())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_python(args, cwd, timeout=300):
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data = prepare(mixed_frame(400, 0), "label", "binary", options=OPTIONS)
    arch = resolve("auto", data.x_train.shape[1], len(data.x_train))
    run_dir = tmp_path_factory.mktemp("bundle") / "run"
    train_here(data, arch, TrainConfig(epochs=4), run_dir)
    return run_dir


@pytest.fixture(scope="module")
def new_csv(tmp_path_factory):
    new = mixed_frame(40, 7).drop(columns="label")
    new.loc[0, "colour"] = "purple"  # unseen one-hot level
    new.loc[1, "city"] = "atlantis"  # unseen frequency level
    new.loc[2, "income"] = 1e9  # far above the training range
    new["x"] = new["x"].astype(object)
    new.loc[3, "x"] = "n/a?"  # text in a numeric column
    new.insert(0, "note", "extra")  # an extra column, kept
    path = tmp_path_factory.mktemp("new") / "new.csv"
    new.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def bundle_dir(run, tmp_path_factory):
    """The bundle unpacked in a folder outside the repository."""
    target = tmp_path_factory.mktemp("clean") / "my model"
    with zipfile.ZipFile(run / "model.zip") as archive:
        archive.extractall(target)
    return target


# -- the bundle's files ----------------------------------------------------------------------------------------

def test_bundle_holds_every_file_and_the_real_code(run):
    with zipfile.ZipFile(run / "model.zip") as archive:
        assert sorted(archive.namelist()) == sorted(RUN_FILES + RUNTIME_FILES)
        for module in RUNTIME_MODULES:
            assert archive.read(f"dlcore/{module}.py") == (ROOT / "dlcore" / f"{module}.py").read_bytes()
        requirements = archive.read("requirements.txt").decode().split()
        readme = archive.read("README.md").decode()
        assert not any(name.endswith((".pkl", ".pickle")) for name in archive.namelist())
    assert {line.split("~=")[0] for line in requirements} == {"keras", "tensorflow", "numpy", "pandas", "scipy"}
    assert "python predict.py new_rows.csv" in readme and "schema.json" in readme
    assert (run / "model.zip").stat().st_size < 1_000_000  # compact


def test_schema_describes_columns_ranges_categories_and_labels(run):
    schema = json.loads((run / "schema.json").read_text())
    columns = {column["name"]: column for column in schema["columns"]}
    assert list(columns) == ["x", "income", "colour", "city", "member", "day", "code"]
    assert columns["x"]["kind"] == "numeric" and columns["x"]["type"] == "number"
    assert columns["x"]["min"] < columns["x"]["median"] < columns["x"]["max"]
    assert sorted(columns["colour"]["levels"]) == ["blue", "green", "red"]
    assert len(columns["city"]["levels"]) == 30
    assert sorted(columns["member"]["levels"]) == ["no", "yes"]
    assert columns["day"]["type"] == "date" and columns["day"]["min"].startswith("2024-01")
    assert (columns["code"]["type"], columns["code"]["min"], columns["code"]["max"]) == ("number", 0.0, 8.0)
    assert all(column["used"] for column in columns.values())
    assert schema["target"] == {"name": "label", "task": "binary", "labels": ["high", "low"]}
    assert schema["outputs"] == ["prediction", "probability_high", "probability_low"]


# -- the same predictions everywhere -----------------------------------------------------------------------------

def test_predict_py_in_a_clean_folder_equals_the_app_and_the_command_line(run, bundle_dir, new_csv, tmp_path):
    assert run_python(["-c", "import dlcore"], cwd=tmp_path).returncode != 0, "the repository must not be importable"

    script = run_python(["-c", WITHOUT_EXTRAS, bundle_dir / "predict.py", new_csv, "--out", tmp_path / "script.csv"],
                        cwd=tmp_path)
    assert script.returncode == 0, script.stderr[-3000:]
    assert "wrote 40 predictions" in script.stdout
    assert "colour: 1 row(s) with a category not seen in training" in script.stdout
    cli = run_python(["-m", "dlcore", "predict", run / "model.zip", new_csv, "--out", tmp_path / "cli.csv"], cwd=ROOT)
    assert cli.returncode == 0, cli.stderr[-3000:]

    frame = read_table(new_csv, for_prediction=True).frame
    app = Predictor.from_bundle((run / "model.zip").read_bytes()).predict(frame)
    for other in (pd.read_csv(tmp_path / "script.csv"), pd.read_csv(tmp_path / "cli.csv")):
        assert list(other.columns) == list(app.columns) == [*frame.columns, "prediction", "probability_high",
                                                            "probability_low"]
        assert len(other) == len(frame) == 40
        assert other["prediction"].tolist() == app["prediction"].tolist()
        np.testing.assert_allclose(other[["probability_high", "probability_low"]].to_numpy(),
                                   app[["probability_high", "probability_low"]].to_numpy(), atol=1e-5, rtol=0)
        pd.testing.assert_frame_equal(other[["note", "colour", "city"]], frame[["note", "colour", "city"]])


def test_predict_py_refuses_a_missing_column_by_name(bundle_dir, new_csv, tmp_path):
    partial = tmp_path / "partial.csv"
    pd.read_csv(new_csv).drop(columns=["member", "code"]).to_csv(partial, index=False)
    proc = run_python([bundle_dir / "predict.py", partial, "--out", tmp_path / "p.csv"], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: Missing column(s) the model needs: member, code."]
    assert not (tmp_path / "p.csv").exists()


def test_an_unpacked_bundle_loads_like_the_run(run, bundle_dir, new_csv):
    frame = pd.read_csv(new_csv)
    pd.testing.assert_frame_equal(Predictor.load(bundle_dir).predict(frame), Predictor.load(run).predict(frame))


def test_predict_file_writes_and_reports(run, new_csv, tmp_path):
    lines = []
    report = predict_file(run, new_csv, tmp_path / "out" / "p.csv", echo=lines.append)
    assert len(pd.read_csv(tmp_path / "out" / "p.csv")) == 40
    assert lines[0] == report.summary() and lines[-1].startswith("wrote 40 predictions")


# -- the schema check ----------------------------------------------------------------------------------------------

def test_check_schema_reports_every_kind_of_difference(run, new_csv):
    predictor = Predictor.load(run)
    frame = read_table(new_csv, for_prediction=True).frame
    report = predictor.check_schema(frame)
    assert report.rows == 40
    assert report.extra == ["note"]
    found = {(f.column, f.problem.split(" (")[0]): f.rows for f in report.findings.itertuples()}
    assert found[("colour", "with a category not seen in training")] == 1
    assert found[("city", "with a category not seen in training")] == 1
    assert found[("income", "outside the training range")] >= 1
    assert found[("x", "not a number")] == 1
    assert found[("x", "without a value")] == frame["x"].isna().sum() > 0
    handling = dict(zip(report.findings["column"] + ":" + report.findings["problem"], report.findings["handling"]))
    assert handling["city:with a category not seen in training"] == "unknown: frequency 0"
    assert "colour: 1 row(s) with a category not seen in training" in report.summary()
    assert "ignored column(s), kept in the output: note" in report.summary()


def test_a_clean_file_has_no_findings(run):
    frame = mixed_frame(30, 0).drop(columns="label").dropna()
    report = Predictor.load(run).check_schema(frame)
    assert report.extra == [] and report.findings.empty
    assert report.summary().endswith("every value is as in training")


def test_missing_column_is_refused_with_its_name(run):
    frame = mixed_frame(10, 1).drop(columns=["label", "city"])
    predictor = Predictor.load(run)
    with pytest.raises(DataError, match="Missing column.*: city"):
        predictor.check_schema(frame)
    with pytest.raises(DataError, match="city"):
        predictor.predict(frame)


def test_unseen_categories_predict_every_row(run):
    frame = mixed_frame(25, 2).drop(columns="label")
    frame["colour"] = "ultraviolet"
    frame["city"] = [f"nowhere{i}" for i in range(25)]
    frame["member"] = "maybe"
    predictor = Predictor.load(run)
    report = predictor.check_schema(frame)
    assert set(report.findings.loc[report.findings["problem"].str.contains("category"), "column"]) == {
        "colour", "city", "member"}
    assert (report.findings.loc[report.findings["problem"].str.contains("category"), "rows"] == 25).all()
    result = predictor.predict(frame)
    assert len(result) == 25
    assert result["prediction"].isin(["high", "low"]).all()
    assert np.isfinite(result[["probability_high", "probability_low"]].to_numpy()).all()


def test_batches_give_the_same_predictions_with_progress(run, monkeypatch):
    frame = mixed_frame(50, 3).drop(columns="label")
    predictor = Predictor.load(run)
    whole = predictor.predict(frame)
    monkeypatch.setattr(inference, "PREDICT_BATCH", 16)
    seen = []
    batched = predictor.predict(frame, on_batch=lambda done, total: seen.append((done, total)))
    assert seen == [(16, 50), (32, 50), (48, 50), (50, 50)]
    pd.testing.assert_frame_equal(batched, whole, atol=1e-6)


def test_earlier_predictions_are_replaced_not_duplicated(run):
    predictor = Predictor.load(run)
    first = predictor.predict(mixed_frame(12, 4).drop(columns="label"))
    again = predictor.predict(first)
    assert list(again.columns) == list(first.columns)
    pd.testing.assert_frame_equal(again, first)


# -- tampered bundles ------------------------------------------------------------------------------------------------

def rezip(bundle: bytes, change: dict[str, bytes | None]) -> bytes:
    """The bundle with files replaced or added (``None`` removes one)."""
    files = read_bundle(bundle)
    files.update(change)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            if data is not None:
                archive.writestr(name, data)
    return buffer.getvalue()


class Boom:
    """Unpickling this would create the file: proof that nothing was unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


@pytest.mark.parametrize("name", ["../evil.py", "dlcore/../../evil.py", "/tmp/evil", "model.pkl", "history.pickle",
                                  "dlcore/extra.py", "dlcore/sub/export.py"])
def test_bundle_with_a_foreign_file_is_refused(run, name):
    with pytest.raises(DataError, match="unexpected file"):
        Predictor.from_bundle(rezip((run / "model.zip").read_bytes(), {name: b"x"}))


def test_pickle_in_place_of_the_model_is_refused_without_unpickling(run, tmp_path):
    marker = tmp_path / "unpickled"
    predictor = Predictor.from_bundle(rezip((run / "model.zip").read_bytes(), {"model.keras": pickle.dumps(Boom(marker))}))
    with pytest.raises(DataError, match="could not be loaded"):
        predictor.model
    assert not marker.exists()


def test_pickle_in_place_of_json_is_refused(run, tmp_path):
    marker = tmp_path / "unpickled"
    with pytest.raises(DataError, match="not valid"):
        Predictor.from_bundle(rezip((run / "model.zip").read_bytes(), {"preparation.json": pickle.dumps(Boom(marker))}))
    assert not marker.exists()


def test_a_keras_archive_with_extra_members_is_refused(run):
    bundle = (run / "model.zip").read_bytes()
    keras_files = read_bundle(rezip(bundle, {}))["model.keras"]
    with zipfile.ZipFile(io.BytesIO(keras_files)) as inner:
        members = {name: inner.read(name) for name in inner.namelist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        for name, data in {**members, "assets/payload.pkl": b"x"}.items():
            inner.writestr(name, data)
    predictor = Predictor.from_bundle(rezip(bundle, {"model.keras": buffer.getvalue()}))
    with pytest.raises(DataError, match="not a plain Keras archive"):
        predictor.model


def test_a_model_that_does_not_match_its_preparation_is_refused(run, tmp_path):
    other = prepare(mixed_frame(100, 5)[["x", "label"]], "label", "binary")
    train_here(other, resolve("auto", other.x_train.shape[1], 100), TrainConfig(epochs=1), tmp_path / "other")
    bundle = rezip((run / "model.zip").read_bytes(), {"model.keras": (tmp_path / "other" / "model.keras").read_bytes()})
    with pytest.raises(DataError, match="could not be loaded"):
        Predictor.from_bundle(bundle).model


def test_code_in_an_uploaded_bundle_is_never_run(run, tmp_path):
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').close()\n".encode()
    bundle = rezip((run / "model.zip").read_bytes(),
                   {name: code for name in RUNTIME_FILES if name.endswith(".py")})
    result = Predictor.from_bundle(bundle).predict(mixed_frame(5, 6))
    assert len(result) == 5
    assert not marker.exists()


def test_not_a_zip_and_oversized_bundles_are_refused(run, monkeypatch):
    with pytest.raises(DataError, match="not a zip file"):
        Predictor.from_bundle(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DataError, match="not a zip file"):
        Predictor.from_bundle(pickle.dumps({"model": 1}))
    bundle = (run / "model.zip").read_bytes()
    monkeypatch.setattr(bundles, "MAX_BUNDLE_BYTES", len(bundle) - 1)
    with pytest.raises(DataError, match="larger than"):
        Predictor.from_bundle(bundle)


def test_a_name_twice_is_refused(run):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in read_bundle((run / "model.zip").read_bytes()).items():
            archive.writestr(name, data)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("preparation.json", b"{}")
    with pytest.raises(DataError, match="appears twice"):
        read_bundle(buffer.getvalue())


def test_metrics_of_another_model_are_refused(run):
    bundle = (run / "model.zip").read_bytes()
    metrics = json.loads(read_bundle(bundle)["metrics.json"])
    with pytest.raises(DataError, match="not valid"):
        Predictor.from_bundle(rezip(bundle, {"metrics.json": json.dumps({**metrics, "task": "regression"}).encode()}))


def test_a_bundle_from_before_the_encoder_classes_predicts_as_it_did():
    """tests/fixtures/format1_model.zip was written by the release before encoder classes (preparation format 1,
    every encoding and excluded kinds), with its predictions of format1_rows.csv saved beside it."""
    fixtures = ROOT / "tests" / "fixtures"
    predictor = Predictor.load(fixtures / "format1_model.zip")
    rows = pd.read_csv(fixtures / "format1_rows.csv")
    expected = pd.read_csv(fixtures / "format1_predictions.csv")
    pd.testing.assert_frame_equal(predictor.predict(rows), expected, check_dtype=False, atol=1e-6)
    assert predictor.preparation.get_config()["format"] == 2
    encodings = predictor.preparation.plan().set_index("column")["encoding"]
    assert encodings.to_dict() == {"x": "number: fill, scale", "income": "number: fill, scale", "colour": "one-hot",
                                   "city": "frequency", "member": "0/1", "day": "date parts",
                                   "code": "the number in the text", "row_id": "leave out", "note": "leave out",
                                   "flag": "0/1"}
    report = predictor.check_schema(rows)
    assert "colour: 1 row(s) with a category not seen in training; unknown: counted as (other)" in report.summary()
