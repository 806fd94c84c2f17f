"""The package installs: ``pip install .`` gives a ``dlcore`` command that works outside the repository, and the
Python range the project states is the one it is tested on."""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]


def test_this_python_is_in_the_stated_range():
    stated = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in SpecifierSet(stated)
    versions = [f"3.{minor}" for minor in range(8, 20) if f"3.{minor}" in SpecifierSet(stated)]
    readme = (ROOT / "README.md").read_text()
    assert f"Python {', '.join(versions[:-1])} or {versions[-1]}" in readme  # one range, stated as it is
    named = set(re.findall(r"Python (3\.\d+)", readme))
    assert named <= set(versions), f"the README names Python {named - set(versions)}, outside {stated}"


def test_pip_install_gives_a_dlcore_command_that_works_anywhere(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # The packages of this test's environment stand in for the dependencies (nothing is downloaded); the package
    # itself is built and installed.
    (next(venv.glob("lib/python3*/site-packages")) / "dependencies.pth").write_text("\n".join(site.getsitepackages()))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(ROOT / "dlcore", source / "dlcore", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                          "--no-cache-dir", "-q", str(source)], env=env, capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    away = tmp_path / "elsewhere"
    away.mkdir()
    pd.DataFrame({"x": range(40), "colour": ["red", "blue"] * 20, "y": [0, 1] * 20}).to_csv(away / "d.csv", index=False)
    dlcore = str(venv / "bin" / "dlcore")

    done = subprocess.run([dlcore, "profile", "d.csv", "--target", "y", "--out", "p.json"], cwd=away, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(json.loads((away / "p.json").read_text())["columns"]) == {"x", "colour", "y"}

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import dlcore; print(dlcore.__file__)"], cwd=away,
                           env=env, capture_output=True, text=True, timeout=120)
    assert Path(where.stdout.strip()).is_relative_to(venv), "the installed copy, not the checkout"

    bad = subprocess.run([dlcore, "profile", "missing.csv", "--out", "p2.json"], cwd=away, env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "missing.csv" in bad.stderr
