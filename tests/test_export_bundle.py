"""The model bundle: its files, ``predict.py`` in a clean folder against the app and the command line, the schema
check before predicting, batches, a long table streamed in chunks, and tampered bundles refused."""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dlcore.runtime.bundle as bundles
import dlcore.runtime.inference as inference
import dlcore.runtime.loading as loading
import dlcore.runtime.streaming as streaming
from conftest import mixed_frame
from dlcore.architectures import resolve
from dlcore.prepared import prepare
from dlcore.runtime.bundle import RUN_FILES, RUNTIME_FILES, read_bundle
from dlcore.runtime.errors import DataError
from dlcore.runtime.files import csv_text
from dlcore.runtime.inference import Predictor
from dlcore.runtime.loading import read_table
from dlcore.runtime.streaming import predict_file
from dlcore.training import TrainConfig
from dlcore.workers import train_here

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
        shipped = {name for name in archive.namelist() if name.endswith(".py") and name != "predict.py"}
        # the code is the runtime package exactly (and dlcore's __init__), byte for byte
        assert shipped == {"dlcore/__init__.py", *(str(path.relative_to(ROOT)) for path in
                                                   (ROOT / "dlcore" / "runtime").rglob("*.py"))}
        for name in shipped:
            assert archive.read(name) == (ROOT / name).read_bytes()
        requirements = archive.read("requirements.txt").decode().split()
        readme = archive.read("README.md").decode()
        assert not any(name.endswith((".pkl", ".pickle")) for name in archive.namelist())
    assert {line.split("~=")[0] for line in requirements} == {"keras", "tensorflow", "numpy", "pandas", "scipy"}
    assert "python predict.py new_rows.csv" in readme and "schema.json" in readme
    members = json.loads((run / "metrics.json").read_text())["members"]
    assert members == 5 and "5 networks in one model, whose output is the mean of theirs" in readme
    assert (run / "model.zip").stat().st_size < 1_000_000 * members  # compact: under 1 MB a network


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
    assert schema["outputs"] == ["prediction", "probability_high", "probability_low", "row_in_file"]


# -- the same predictions everywhere -----------------------------------------------------------------------------

def test_predict_py_in_a_clean_folder_equals_the_app_and_the_command_line(run, bundle_dir, new_csv, tmp_path):
    assert run_python(["-c", "import dlcore"], cwd=tmp_path).returncode != 0, "the repository must not be importable"

    script = run_python(["-c", WITHOUT_EXTRAS, bundle_dir / "predict.py", new_csv, "--out", tmp_path / "script.csv",
                         "--chunk-rows", 7], cwd=tmp_path)  # streamed in 6 chunks
    assert script.returncode == 0, script.stderr[-3000:]
    assert re.fullmatch(r"wrote 40 predictions to .*script\.csv in [\d.]+ s \([\d,]+ rows/s\)",
                        script.stdout.strip().splitlines()[-1])
    assert "colour: 1 row(s) with a category not seen in training" in script.stdout
    cli = run_python(["-m", "dlcore", "predict", run / "model.zip", new_csv, "--out", tmp_path / "cli.csv"], cwd=ROOT)
    assert cli.returncode == 0, cli.stderr[-3000:]

    frame = read_table(new_csv, for_prediction=True).frame
    app = Predictor.from_bundle((run / "model.zip").read_bytes()).predict(frame)
    for other in (pd.read_csv(tmp_path / "script.csv"), pd.read_csv(tmp_path / "cli.csv")):
        assert list(other.columns) == list(app.columns) == [*frame.columns, "prediction", "probability_high",
                                                            "probability_low", "row_in_file"]
        assert len(other) == len(frame) == 40
        assert other["row_in_file"].tolist() == list(range(1, 41))  # counted on across the script's 6 chunks
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


# -- a long table, streamed -----------------------------------------------------------------------------------------

def long_rows(rows: int = 2000) -> pd.DataFrame:
    """New rows whose findings fall in different chunks (of 300 rows): unseen levels, values far out of range, text
    in a number column, gaps; and a text column with formula-like cells."""
    new = mixed_frame(rows, 11).drop(columns="label")
    new["x"] = new["x"].astype(object)
    new.loc[[5, 1250], "colour"] = "purple"
    new.loc[1999, "city"] = "atlantis"
    new.loc[[700, 1400], "income"] = 1e9
    new.loc[1801, "x"] = "n/a?"
    new.insert(0, "note", ["@cmd" if i % 500 == 7 else "ok" for i in range(rows)])
    return new


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long.csv"
    long_rows().to_csv(path, index=False)
    return path


def counting_predictions(monkeypatch) -> list[int]:
    """The rows of every call of :meth:`Predictor.predict` from now on."""
    calls, predict = [], Predictor.predict
    monkeypatch.setattr(Predictor, "predict", lambda self, frame, on_batch=None, first_row=None:
                        calls.append(len(frame)) or predict(self, frame, on_batch, first_row))
    return calls


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".xlsx"])
def test_a_long_table_streams_in_chunks_as_the_whole_table_predicts(run, long_csv, tmp_path, monkeypatch, suffix):
    path = tmp_path / f"long{suffix}"
    if suffix == ".csv.gz":
        path.write_bytes(gzip.compress(long_csv.read_bytes()))
    elif suffix != ".csv":
        rows = read_table(long_csv, for_prediction=True).frame
        rows.to_parquet(path) if suffix == ".parquet" else rows.to_excel(path, index=False)
    else:
        path = long_csv
    frame = read_table(path, for_prediction=True).frame
    predictor = Predictor.load(run)
    whole, expected = predictor.predict(frame), predictor.check_schema(frame)
    calls, lines = counting_predictions(monkeypatch), []

    report = predict_file(run, path, tmp_path / "p.csv", echo=lines.append, chunk_rows=300)

    assert calls == [300] * 6 + [200]  # Excel is read whole, then predicted in the same chunks
    assert pd.read_csv(tmp_path / "p.csv")["row_in_file"].tolist() == list(range(1, 2001))
    streamed = pd.read_csv(tmp_path / "p.csv", keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(streamed, pd.read_csv(io.StringIO(csv_text(whole)), keep_default_na=False,
                                                        na_values=[""]), atol=1e-6)
    assert streamed["note"].value_counts().to_dict() == {"ok": 1996, "'@cmd": 4}  # neutralised in every chunk
    # the check is counted over every chunk: the same report as the whole table's, given once
    assert report.rows == 2000 and report.extra == ["note"]
    pd.testing.assert_frame_equal(report.findings, expected.findings)
    found = {(f.column, f.problem.split(" (")[0]): f.rows for f in report.findings.itertuples()}
    assert found[("colour", "with a category not seen in training")] == 2
    assert found[("city", "with a category not seen in training")] == 1
    assert found[("income", "outside the training range")] >= 2
    assert found[("x", "without a value")] == frame["x"].isna().sum() > 7
    assert lines[0] == report.summary() == expected.summary() and len(lines) == 2
    assert re.fullmatch(r"wrote 2,000 predictions to .*p\.csv in [\d.]+ s \([\d,]+ rows/s\)", lines[1])


def test_default_chunks_give_the_whole_tables_predictions_to_the_bit(run, long_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(inference, "PREDICT_BATCH", 256)
    monkeypatch.setattr(streaming, "PREDICT_BATCH", 256)
    monkeypatch.setattr(loading, "CHUNK_CELLS", 600 * 8)  # 600 rows of the 8 columns: chunks of 512, two batches
    whole = Predictor.load(run).predict(read_table(long_csv, for_prediction=True).frame)
    calls = counting_predictions(monkeypatch)
    predict_file(run, long_csv, tmp_path / "p.csv", echo=lambda line: None)
    assert calls == [512, 512, 512, 464]
    assert (tmp_path / "p.csv").read_text() == csv_text(whole)


def test_a_bad_line_late_in_the_table_leaves_no_half_written_file(run, long_csv, tmp_path, monkeypatch):
    lines = long_csv.read_text().splitlines()
    lines[1500] += ",surplus"  # data row 1,500, in the fifth chunk
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out" / "p.csv"
    out.parent.mkdir()
    out.write_text("earlier predictions\n")
    calls = counting_predictions(monkeypatch)
    with pytest.raises(DataError, match=r"^bad\.csv could not be read after its first 1,200 rows: .*line 1501"):
        predict_file(run, tmp_path / "bad.csv", out, echo=lambda line: None, chunk_rows=300)
    assert calls == [300] * 4  # four chunks were predicted and written before the bad one
    assert out.read_text() == "earlier predictions\n"
    assert [path.name for path in out.parent.iterdir()] == ["p.csv"]  # and no temporary file is left


def test_a_streamed_table_is_held_to_the_column_and_header_limits_not_the_size_limits(run, long_csv, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.setattr(loading, "MAX_BYTES", 1000)
    monkeypatch.setattr(loading, "MAX_CELLS", 100)
    with pytest.raises(DataError, match="larger than"):
        read_table(long_csv, for_prediction=True)
    predict_file(run, long_csv, tmp_path / "p.csv", echo=lambda line: None)
    assert len(pd.read_csv(tmp_path / "p.csv")) == 2000
    monkeypatch.setattr(loading, "MAX_COLUMNS", 5)
    with pytest.raises(DataError, match="8 columns, more than the 5"):
        predict_file(run, long_csv, tmp_path / "q.csv", echo=lambda line: None)
    monkeypatch.setattr(loading, "MAX_HEADER_BYTES", 10)
    with pytest.raises(DataError, match="header line is longer than"):
        predict_file(run, long_csv, tmp_path / "q.csv", echo=lambda line: None)
    with pytest.raises(DataError, match="--chunk-rows must be 1 or more"):
        predict_file(run, long_csv, tmp_path / "q.csv", echo=lambda line: None, chunk_rows=0)
    assert not (tmp_path / "q.csv").exists()


def test_a_stream_is_read_as_the_whole_file_is(tmp_path):
    frame = pd.DataFrame({"price": [f"{1000 + 7 * i:,}.5" for i in range(90)], "rate": [i / 8 for i in range(90)],
                          "city": ["Zürich", "Genève", "?"] * 30})
    path = tmp_path / "semi.csv"
    path.write_bytes(frame.to_csv(index=False, sep=";", decimal=",").encode("cp1252"))
    whole = read_table(path, for_prediction=True)
    options, chunks = loading.stream_table(path, 25)
    chunks = list(chunks)
    assert options == whole.options and (options.delimiter, options.decimal, options.encoding) == (";", ",", "cp1252")
    assert [len(chunk) for chunk in chunks] == [25, 25, 25, 15]
    pd.testing.assert_frame_equal(pd.concat(chunks), whole.frame)


def test_explained_predictions_stream_too(run, tmp_path):
    mixed_frame(12, 8).drop(columns="label").to_csv(tmp_path / "rows.csv", index=False)
    lines = []
    predict_file(run, tmp_path / "rows.csv", tmp_path / "p.csv", echo=lines.append, explain=True, chunk_rows=8)
    table = pd.read_csv(tmp_path / "p.csv")
    assert len(table) == 12 and table["reason_1"].notna().all()
    assert list(table.columns[-6:]) == ["reason_1", "reason_1_shap", "reason_2", "reason_2_shap", "reason_3",
                                        "reason_3_shap"]
    assert [line for line in lines if line.startswith("explained")] == ["explained 8 rows", "explained 12 rows"]


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
    predicted = predictor.predict(rows)
    assert predicted.pop("row_in_file").tolist() == list(range(1, len(rows) + 1))  # the column added since
    pd.testing.assert_frame_equal(predicted, expected, check_dtype=False, atol=1e-6)
    assert predictor.preparation.get_config()["format"] == 2
    encodings = predictor.preparation.plan().set_index("column")["encoding"]
    assert encodings.to_dict() == {"x": "number: fill, scale", "income": "number: fill, scale", "colour": "one-hot",
                                   "city": "frequency", "member": "0/1", "day": "date parts",
                                   "code": "the number in the text", "row_id": "leave out", "note": "leave out",
                                   "flag": "0/1"}
    report = predictor.check_schema(rows)
    assert "colour: 1 row(s) with a category not seen in training; unknown: counted as (other)" in report.summary()
