"""The README's commands, run as a newcomer would copy them: the command-line examples on a small table, the
benchmark scripts' arguments, and the set-up and test commands, which CI runs on a fresh machine."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def readme_commands(prefix: str) -> list[str]:
    """The README's command lines that start with ``prefix``, as written, with its optional ``[...]`` parts and
    trailing comments left out (what a reader types first)."""
    lines = [line.strip() for block in bash_blocks() for line in block.splitlines()]
    commands = [re.sub(r"\s+#.*$", "", line) for line in lines if line.startswith(prefix)]
    return [re.sub(r"\s*\[[^\]]*\]", "", command).strip() for command in commands]


def price_table(rows: int, seed: int) -> pd.DataFrame:
    """A small house-price table: numbers, a category with a few levels and a date."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(40, 200, rows).round(1)
    rooms = rng.integers(1, 7, rows)
    district = rng.choice(["north", "south", "centre"], rows)
    built = pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 25_000, rows), unit="D")
    price = 1_500 * area + 8_000 * rooms + np.where(district == "centre", 60_000, 0) + rng.normal(0, 10_000, rows)
    return pd.DataFrame({"area": area, "rooms": rooms, "district": district, "built": built.strftime("%Y-%m-%d"),
                         "price": price.round(0)})


def test_the_command_line_examples_run_as_written(tmp_path):
    """Every ``python -m dlcore`` line of the README, in its order, on ``data.csv`` and ``new.csv``."""
    commands = readme_commands("python -m dlcore")
    assert [shlex.split(c)[3] for c in commands] == ["train", "train", "predict", "predict", "explain", "tune",
                                                     "profile"], commands
    price_table(240, 0).to_csv(tmp_path / "data.csv", index=False)
    price_table(30, 1).drop(columns="price").to_csv(tmp_path / "new.csv", index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # "from the repository": the checkout's dlcore
    env.pop("RAY_ADDRESS", None)
    assert "[--epochs " in README and "[--folds K]" in README
    for command in commands:
        words = shlex.split(command)[1:]
        if words[2] in ("train", "tune"):  # documented options, so that the networks are quick
            words += ["--epochs", "12", *(["--folds", "2"] if words[2] == "tune" else [])]
        done = subprocess.run([sys.executable, *words], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, (command, done.stderr[-2000:])

    run = tmp_path / "runs" / "price"
    with zipfile.ZipFile(run / "model.zip") as bundle:
        assert {"model.keras", "predict.py", "schema.json"} <= set(bundle.namelist())
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == 30 and {"prediction", "reason_1", "reason_3"} <= set(predictions.columns)
    why = json.loads((tmp_path / "why.json").read_text())
    assert {item["column"] for item in why["importance"]} == {"area", "rooms", "district", "built"}
    assert (run / "tune" / "study.journal").stat().st_size > 0
    assert json.loads((run / "metrics.json").read_text())["task"] == "regression"
    again = tmp_path / "runs" / "price-again"  # trained from the first run's settings.json alone
    assert (again / "preparation.json").read_text() == (run / "preparation.json").read_text()
    profile = json.loads((tmp_path / "profile.json").read_text())
    assert set(profile["columns"]) == {"area", "rooms", "district", "built", "price"}


def test_every_benchmark_the_readme_names_exists_and_takes_its_arguments():
    """The benchmarks need ../shared/datasets and minutes to hours, so they are not run here; each command's script
    is there and parses the arguments the README gives it."""
    named = re.findall(r"python (benchmarks/\w+\.py)((?: \[?--[\w-]+(?: \d+)?\]?)*)", README)
    scripts = {script for script, _ in named}
    assert scripts == {f"benchmarks/{path.name}" for path in (ROOT / "benchmarks").glob("*.py")}, scripts
    for script, arguments in named:
        arguments = arguments.replace("[", "").replace("]", "").split()
        done = subprocess.run([sys.executable, script, *arguments, "--help"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0 and "usage" in done.stdout, (script, arguments, done.stderr[-1000:])


@pytest.mark.parametrize("command", [
    "python -m venv .venv && . .venv/bin/activate",
    "pip install -r requirements.txt && streamlit run app.py",
    "pip install -r requirements-test.txt && python -m pytest",
])
def test_the_set_up_and_test_commands_are_those_ci_runs(command):
    """The README's two set-up commands and the test command, word for word in ``.ci/run``, which runs them on a
    fresh machine (the app's server started as the deployment check)."""
    assert command in README
    if "streamlit run" in command:
        assert 'pip" install -q -r requirements.txt' in CI and 'streamlit" run app.py' in CI
    else:
        assert command.replace("pip install -r", "pip install -q -r") in CI


def test_every_dlcore_module_has_its_paragraph():
    modules = {path.stem for path in (ROOT / "dlcore").rglob("*.py") if not path.stem.startswith("__")} | {
        path.parent.name for path in (ROOT / "dlcore").rglob("*/__init__.py")}  # the packages in dlcore
    described = set(re.findall(r"\*\*`(\w+)`\*\*", README.split("How the code is organised")[1]))
    assert described == modules, (modules - described, described - modules)
