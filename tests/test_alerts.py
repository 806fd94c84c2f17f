"""Alerts: each kind fires on data made to trigger it, stays quiet on clean data, and its fix is recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlcore.alerts import apply_fix
from dlcore.profiling import profile

RNG = np.random.default_rng(0)


def kinds_of(frame: pd.DataFrame, target: str | None = None) -> dict[str, set]:
    found: dict[str, set] = {}
    for alert in profile(frame, target)["alerts"]:
        found.setdefault(alert["kind"], set()).add(alert["column"])
    return found


def clean(rows: int = 400) -> pd.DataFrame:
    return pd.DataFrame({"a": RNG.normal(size=rows), "b": RNG.normal(size=rows),
                         "c": RNG.choice(["x", "y", "z"], rows), "y": RNG.choice(["p", "q"], rows)})


def test_clean_data_has_no_alerts():
    assert kinds_of(clean(), "y") == {}


def test_each_alert_kind_fires():
    frame = clean()
    frame["const"] = 1
    frame["row_id"] = [f"r{i}" for i in range(len(frame))]
    frame["mostly_missing"] = np.where(RNG.random(len(frame)) < 0.5, np.nan, 1.0)
    frame.loc[frame.index[:100], "mostly_missing"] = 2.0
    frame["many_levels"] = [f"lvl{i % 80}" for i in range(len(frame))]
    frame["skewed"] = RNG.lognormal(0, 1.5, len(frame))
    frame["a_twin"] = frame["a"] * 2 + 0.001 * RNG.normal(size=len(frame))
    frame["mixed"] = [str(i) if i % 5 else "n/a-ish" for i in range(len(frame))]
    frame["leak"] = frame["y"].map({"p": 0.0, "q": 1.0}) + 0.01 * RNG.normal(size=len(frame))
    found = kinds_of(pd.concat([frame, frame.head(3)], ignore_index=True), "y")
    assert found["constant"] == {"const"}
    assert "row_id" in found["identifier"]
    assert "mostly_missing" in found["high_missing"]
    assert "many_levels" in found["high_cardinality"]
    assert "skewed" in found["skewed"]
    assert found["correlated"] == {"a_twin"}
    assert found["mixed_types"] == {"mixed"}
    assert found["duplicates"] == {None}
    assert found["leakage"] == {"leak"}


def test_identifier_and_imbalance():
    frame = pd.DataFrame({"customer_id": np.arange(500), "x": RNG.normal(size=500),
                          "y": np.where(np.arange(500) < 40, "rare", "common")})
    found = kinds_of(frame, "y")
    assert found["identifier"] == {"customer_id"}
    assert found["imbalance"] == {"y"}


def test_strong_but_honest_feature_is_not_leakage():
    x = RNG.normal(size=2000)
    frame = pd.DataFrame({"x": x, "y": x + RNG.normal(0, 0.6, 2000)})  # R² about 0.74
    assert "leakage" not in kinds_of(frame, "y")


def test_target_transform_is_leakage_for_regression():
    y = RNG.lognormal(3, 0.5, 3000)
    frame = pd.DataFrame({"log_y": np.log(y), "x": RNG.normal(size=3000), "y": y})
    assert kinds_of(frame, "y")["leakage"] == {"log_y"}


def test_alert_fixes_record_kinds_and_options():
    kinds, options = {}, {}
    apply_fix({"action": "exclude"}, "a", kinds, options)
    apply_fix({"action": "kind", "value": "numeric"}, "b", kinds, options)
    apply_fix({"action": "option", "value": {"log": True}}, "c", kinds, options)
    assert kinds == {"a": "excluded", "b": "numeric"}
    assert options == {"c": {"log": True}}


@pytest.mark.parametrize("kind, action", [("leakage", "exclude"), ("skewed", "option"), ("mixed_types", "kind"),
                                          ("duplicates", "drop_duplicates"), ("imbalance", "class_weights")])
def test_every_alert_kind_has_its_fix(kind, action):
    frame = pd.DataFrame({"x": RNG.lognormal(0, 2, 600), "m": [str(i) if i % 4 else "bad" for i in range(600)],
                          "y": np.where(np.arange(600) < 50, "rare", "common")})
    frame["leak"] = (frame["y"] == "rare").astype(float) + 0.001 * RNG.normal(size=600)
    frame = pd.concat([frame, frame.head(2)], ignore_index=True)
    alerts = [a for a in profile(frame, "y")["alerts"] if a["kind"] == kind]
    assert alerts and alerts[0]["fix"]["action"] == action and alerts[0]["fix"]["label"]
