"""A corpus of bad inputs, generated here: each file gets one clear message (the app, the library) or exit status 2
with one line (the command line), or a correct result; never a traceback, a hang or silent nonsense."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlcore.decisions import check_task, decide_kinds, infer_task
from dlcore.prepared import prepare
from dlcore.runtime.errors import DataError
from dlcore.runtime.loading import drop_missing_target, read_table

ROOT = Path(__file__).resolve().parents[1]
ROWS = 60


def csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def base(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows).round(3)
    return pd.DataFrame({"x": x, "colour": rng.choice(["red", "blue"], rows), "y": np.where(x > 0, "yes", "no")})


def with_target(name: str, values) -> bytes:
    frame = base().drop(columns="y")
    frame[name] = values
    return csv(frame)


def xlsx() -> bytes:
    buffer = io.BytesIO()
    base().to_excel(buffer, index=False)
    return buffer.getvalue()


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", csv(base()))
    return buffer.getvalue()


DATES = pd.date_range("2020-01-01", periods=ROWS).strftime("%Y-%m-%d")
# name → (file bytes, target, the message a refusal gives, or None when the file must train)
CORPUS = {
    "empty": (b"", "y", "is empty"),
    "only spaces": (b"  \n \n", "y", "is empty"),
    "header only": (b"x,colour,y\n", "y", "header but no data rows"),
    "binary garbage": (bytes(range(256)) * 40, "y", "not a text table"),
    "a PNG named .csv": (b"\x89PNG\r\n\x1a\n" + bytes(300), "y", "not a text table"),
    "a zip named .csv": (zipped(), "y", "not a readable Excel"),
    "an Excel file named .csv": (xlsx(), "y", None),
    "a gzip that is not one": (b"\x1f\x8b" + b"garbage" * 10, "y", "cannot be decompressed"),
    "one enormous header line": (b"c" * (3 * 1024 * 1024) + b"\n1\n", "y", "header line is longer"),
    "too many columns": ((",".join(f"c{i}" for i in range(20_001)) + "\n" + "1," * 20_000 + "1\n").encode(), "c0",
                         "more than the 20,000"),
    "one row": (b"x,y\n1,yes\n", "y", "only one data row"),
    "one column": (b"y\nyes\nno\n", "y", "only one column"),
    "all-missing target": (with_target("y", [None] * ROWS), "y", "empty in every row"),
    "constant target": (with_target("y", ["same"] * ROWS), "y", "a single value"),
    "date target": (with_target("when", DATES), "when", "holds dates"),
    "identifier target": (with_target("customer", [f"c{i:04d}" for i in range(ROWS)]), "customer", "an identifier"),
    "free-text target": (with_target("comment", [f"a long free text comment, number {i}, in many words"
                                                 for i in range(ROWS)]), "comment", "free text"),
    "1,000-class target": (csv(pd.DataFrame({"x": np.arange(3000) % 7, "y": [f"k{i % 1000}" for i in range(3000)]})),
                           "y", "1,000 classes"),
    "an unknown target": (csv(base()), "price", "not in the data"),
    "2 rows per class": (csv(pd.DataFrame({"x": np.arange(40.0) / 2, "y": [f"k{i // 2}" for i in range(40)]})), "y",
                         None),
    "an all-missing column": (csv(base().assign(empty=None)), "y", None),
    "±infinity": (b"x,z,y\n" + b"".join(f"{v},{i},{'yes' if i % 2 else 'no'}\n".encode() for i, v in
                                       enumerate(["inf", "-inf", "1.5", "2"] * 10)), "y", None),
    "mixed types": (csv(base().assign(x=[1.5, "n/a?", "three", 4] * (ROWS // 4))), "y", None),
    "duplicate and empty headers": (b"x,x,,y\n" + b"".join(f"{i},{i * 2},{i % 3},{'yes' if i % 2 else 'no'}\n".encode()
                                                        for i in range(ROWS)), "y", None),
    "non-UTF-8 names and cells": ("café,größe,y\n".encode("cp1252") + b"".join(
        f"{i},{'é' * (i % 3)}x,{'oui' if i % 2 else 'non'}\n".encode("cp1252") for i in range(ROWS)), "y", None),
    "formula-like cells": (csv(base().assign(colour=['=HYPERLINK("http://x")', "+1+1", "-cmd", "@SUM(A1)"]
                                                    * (ROWS // 4))), "y", None),
}


def load_and_prepare(raw: bytes, target: str):
    """What Upload, Explore and Prepare do with a file, in one go."""
    dataset = read_table(raw, name="upload.csv")
    frame, _ = drop_missing_target(dataset.frame, target)
    task = infer_task(frame[target])
    check_task(frame[target], task)
    return dataset, prepare(frame, target, task, kinds=decide_kinds(dataset.frame))


@pytest.mark.parametrize("name", CORPUS)
def test_every_bad_input_is_refused_clearly_or_prepared_correctly(name):
    raw, target, message = CORPUS[name]
    started = time.perf_counter()
    if message is None:
        dataset, data = load_and_prepare(raw, target)
        for matrix in (data.x_train, data.x_val, data.x_test):
            assert np.isfinite(matrix).all()
        assert len(data.x_train) + len(data.x_val) + len(data.x_test) == len(dataset.frame)
    else:
        with pytest.raises(DataError, match=message):
            load_and_prepare(raw, target)
    assert time.perf_counter() - started < 20, "no input may take long to refuse"


def test_what_loading_fixed_is_said():
    infinite = read_table(CORPUS["±infinity"][0], name="inf.csv")
    assert infinite.frame["x"].isna().sum() == 20 and "20 infinite value(s) were treated as missing." in infinite.notes
    headers = read_table(CORPUS["duplicate and empty headers"][0], name="h.csv")
    assert list(headers.frame.columns) == ["x", "x.1", "Unnamed: 2", "y"]
    assert any("renamed" in note for note in headers.notes) and any("without a name" in note for note in headers.notes)
    latin = read_table(CORPUS["non-UTF-8 names and cells"][0], name="latin.csv")
    assert list(latin.frame.columns) == ["café", "größe", "y"] and latin.options.encoding == "cp1252"
    classes = load_and_prepare(*CORPUS["2 rows per class"][:2])[1]
    assert len(classes.preparation.classes) == 20, "every class is kept, though too rare to stratify"


def test_a_gzip_bomb_is_refused_without_filling_the_memory():
    bomb = gzip.compress(b"a,b\n" + b"0,1\n" * (60 * 1024 * 1024))  # 240 MB of text in about 250 KB
    assert len(bomb) < 1024 * 1024
    with pytest.raises(DataError, match="decompresses to more than 200 MB"):
        read_table(bomb, name="bomb.csv.gz")


# -- the command line ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [name for name, (_, _, message) in CORPUS.items() if message])
def test_the_command_line_refuses_with_one_line_and_status_2(name, tmp_path):
    raw, target, message = CORPUS[name]
    path = tmp_path / "upload.csv"
    path.write_bytes(raw)
    proc = subprocess.run([sys.executable, "-m", "dlcore", "profile", str(path), "--target", target, "--out",
                           str(tmp_path / "profile.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--out", "{file}"], "is a file"),
    (["--out", "{full}"], "holds other files"),
    (["--out", "r", "--seed", "-1"], "--seed"),
    (["--out", "r", "--seed", str(2**40)], "--seed"),
    (["--out", "r", "--epochs", "-3"], "--epochs"),
])
def test_train_refuses_bad_options_before_any_work(args, message, tmp_path):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "other.txt").write_text("x")
    data = tmp_path / "data.csv"
    data.write_bytes(csv(base()))
    args = [arg.format(file=tmp_path / "a_file", full=tmp_path / "full") for arg in args]
    proc = subprocess.run([sys.executable, "-m", "dlcore", "train", str(data), "--target", "y", *args], cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("out", ["{folder}", "/proc/no/such/place.csv"])
def test_predict_refuses_an_output_it_cannot_write(out, tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes(csv(base()))
    proc = subprocess.run([sys.executable, "-m", "dlcore", "profile", str(data), "--out",
                           out.format(folder=tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "--out" in lines[0], proc.stderr


# -- the app -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["binary garbage", "header only", "one enormous header line", "a zip named .csv"])
def test_the_upload_page_says_what_is_wrong(name, open_app):
    app = open_app(CORPUS[name][0], "upload.csv")
    assert not app.exception
    assert app.error and CORPUS[name][2] in app.error[0].value


@pytest.mark.parametrize("name", ["date target", "identifier target", "1,000-class target"])
def test_the_upload_page_refuses_a_target_no_model_can_learn(name, open_app):
    raw, target, message = CORPUS[name]
    app = open_app(raw, "upload.csv")
    next(box for box in app.selectbox if box.label == "Target column").select(target).run()
    assert not app.exception
    assert any(message in error.value for error in app.error)
    assert not any("Ready: predict" in success.value for success in app.success)
