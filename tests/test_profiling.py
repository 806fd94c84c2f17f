"""dlcore.profiling: column kinds, the task a target implies, and the Explore step's numbers."""

import json

import numpy as np
import pandas as pd
import pytest

from dlcore import profiling, statistics
from dlcore.decisions import KINDS, check_task, column_kind, decide_kinds, infer_task
from dlcore.profiling import profile
from dlcore.runtime.errors import DataError

SENTENCES = [
    f"Customer {i} wrote that the delivery was slow but the product itself works well enough" for i in range(30)
]


@pytest.mark.parametrize(
    "series, kind",
    [
        (pd.Series([1.5, 2.25, 3.0, 4.75, 2.0, 8.5], name="price"), "numeric"),
        (pd.Series([3, 7, 1, 9, 4, 4, 12], name="count"), "numeric"),
        (pd.Series([0, 1, 1, 0, 1], name="flag"), "boolean"),
        (pd.Series([0.0, 1.0, np.nan, 1.0], name="flag"), "boolean"),
        (pd.Series(["yes", "no", "no", "yes", None], name="smoker"), "boolean"),
        (pd.Series(["Yes", "No", "No"], name="smoker"), "boolean"),
        (pd.Series(["true", "false", "true"], name="member"), "boolean"),
        (pd.Series([True, False, True, True], name="member"), "boolean"),
        (pd.Series(["red", "green", "blue", "red", "green"] * 4, name="colour"), "categorical"),
        (pd.Series(["2024-01-05", "2024-02-10", "2023-12-31", "2024-03-01"], name="when"), "datetime"),
        (pd.Series(["2024-01-05 10:30", "2024-02-10 08:00:15", "2023-12-31T23:59"], name="when"), "datetime"),
        (pd.to_datetime(pd.Series(["2024-01-05", "2024-02-10", "2023-06-01"], name="when")), "datetime"),
        (pd.Series([f"ORD-{i:05d}" for i in range(30)], name="order"), "identifier"),
        (pd.Series(range(1, 51), name="id"), "identifier"),
        (pd.Series(range(1, 51), name="customer_id"), "identifier"),
        (pd.Series([f"A{i}" for i in range(10)], name="user id"), "identifier"),
        (pd.Series([7, 7, 7, 7], name="c"), "constant"),
        (pd.Series(["x", None, "x"], name="c"), "constant"),
        (pd.Series([np.nan, np.nan], name="c"), "constant"),
        (pd.Series(SENTENCES, name="review"), "text"),
    ],
    ids=[
        "float", "int-many", "int-01", "float-01-nan", "yes-no", "Yes-No", "true-false", "bool-dtype",
        "categorical", "iso-date", "iso-datetime", "datetime64", "unique-strings", "int-named-id",
        "int-named-customer_id", "string-named-user-id", "constant", "constant-with-nan", "all-missing",
        "free-text",
    ],
)
def test_column_kind(series, kind):
    assert column_kind(series) == kind
    assert kind in KINDS


def test_unique_integers_not_named_like_an_id_stay_numeric():
    assert column_kind(pd.Series(range(1, 101, 2), name="count")) == "numeric"
    # 'valid' and 'paid' end in "id" but are not id columns
    assert column_kind(pd.Series(range(1, 101, 2), name="paid")) == "numeric"
    assert column_kind(pd.Series(range(1, 101, 2), name="valid")) == "numeric"


def test_a_row_number_is_an_identifier_whatever_its_name_or_order():
    """Consecutive whole numbers, one per row (1..n, 0..n-1, or shuffled): a row number, which a model would
    memorise (e.g. the row order carries the class)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"rownames": range(1, 61), "index0": range(60), "shuffled": rng.permutation(60) + 1000,
                          "gappy": list(range(1, 60)) + [99], "floats": np.arange(60) + 0.5,
                          "y": rng.choice(["a", "b"], 60)})
    kinds = decide_kinds(frame)
    assert [kinds[c] for c in ("rownames", "index0", "shuffled")] == ["identifier"] * 3
    assert kinds["gappy"] == kinds["floats"] == "numeric"
    assert column_kind(frame["rownames"]) == "identifier"
    assert column_kind(pd.Series(range(1, 11), name="n")) == "numeric", "too few rows to tell"
    assert column_kind(pd.Series([*range(1, 30), None], name="n")) == "numeric", "a missing value: not a row number"
    report = profile(frame, "y")
    assert report["columns"]["rownames"]["kind"] == "identifier"
    assert any(a["column"] == "rownames" and a["kind"] == "identifier" for a in report["alerts"])


def test_non_unique_integers_named_id_are_numeric():
    assert column_kind(pd.Series([1, 2, 2, 3, 4, 5], name="id")) == "numeric"


def test_kinds_are_decided_for_every_column_and_the_users_choice_wins():
    frame = pd.DataFrame({"a": [1.5, 2.5, 3.5], "b": ["x", "y", "x"], "c": [1, 1, 1]})
    assert decide_kinds(frame) == {"a": "numeric", "b": "categorical", "c": "constant"}
    assert decide_kinds(frame, {"a": "categorical"}) == {"a": "categorical", "b": "categorical", "c": "constant"}


# -- tasks ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "values, task",
    [
        ([0, 1, 1, 0, 1], "binary"),
        (["spam", "ham", "spam"], "binary"),
        ([True, False, False], "binary"),
        ([5, 9, 5, 9], "binary"),
        (["a", "b", "c", "a"], "multiclass"),
        ([1, 2, 3, 1, 2, 3], "multiclass"),
        ([0.5, 1.25, 3.3, 4.1, 2.2], "regression"),
        (list(range(50)), "regression"),
        ([1.0, 2.0, 3.0, 2.0], "multiclass"),
    ],
    ids=["int-binary", "string-binary", "bool", "two-ints", "string-labels", "few-ints", "float",
         "int-many-values", "integral-floats"],
)
def test_infer_task(values, task):
    assert infer_task(pd.Series(values, name="y")) == task


def test_infer_task_integer_threshold():
    assert infer_task(pd.Series(list(range(20)) * 2, name="y")) == "multiclass"
    assert infer_task(pd.Series(list(range(21)) * 2, name="y")) == "regression"


def test_infer_task_ignores_missing_values():
    assert infer_task(pd.Series(["a", None, "b", np.nan], name="y")) == "binary"


@pytest.mark.parametrize(
    "values, words",
    [([4, 4, 4], "a single value"), (["x", "x", None], "a single value"), ([np.nan, np.nan], "no values")],
)
def test_infer_task_refuses_single_valued_target(values, words):
    with pytest.raises(DataError) as info:
        infer_task(pd.Series(values, name="outcome"))
    assert words in str(info.value)
    assert "'outcome'" in str(info.value)


def test_check_task_refuses_regression_on_strings():
    with pytest.raises(DataError, match="not numeric"):
        check_task(pd.Series(["low", "mid", "high"], name="grade"), "regression")


def test_check_task_accepts_valid_choices():
    check_task(pd.Series([1.5, 2.5, 3.5], name="y"), "regression")
    check_task(pd.Series([0, 1, 0], name="y"), "binary")
    check_task(pd.Series(["a", "b", "c"], name="y"), "multiclass")
    check_task(pd.Series([0, 1, 0], name="y"), "regression")  # numbers may be regressed on


@pytest.mark.parametrize(
    "values, task, words",
    [
        ([1, 2, 3], "binary", "not 2"),
        ([i % 150 for i in range(600)], "multiclass", "150 classes, more than the 100.*Choose regression"),
        ([f"l{i % 150}" for i in range(600)], "multiclass", "Group the labels into fewer classes"),
        ([1, 2, 3], "clustering", "Unknown task"),
        (pd.date_range("2020-01-01", periods=50).strftime("%Y-%m-%d").tolist(), "multiclass", "holds dates"),
        ([f"c{i:04d}" for i in range(50)], "multiclass", "an identifier"),
        ([f"a long comment of free text, number {i}, with many words" for i in range(50)], "multiclass",
         "free text"),
    ],
)
def test_check_task_refusals(values, task, words):
    with pytest.raises(DataError, match=words):
        check_task(pd.Series(values, name="y"), task)


# -- profile ------------------------------------------------------------------------------------------------

@pytest.fixture
def small_frame():
    return pd.DataFrame({
        "x": [1.0, 2.0, 3.0, None],
        "colour": ["red", "blue", "red", "red"],
        "y": [0, 1, 0, 1],
    })


def test_profile_numbers(small_frame):
    report = profile(small_frame)

    assert report["rows"] == 4
    assert list(report["columns"]) == ["x", "colour", "y"]
    assert "task" not in report

    x = report["columns"]["x"]
    assert x["dtype"] == "float64"
    assert x["kind"] == "numeric"
    assert x["null_fraction"] == pytest.approx(0.25)
    assert x["unique"] == 3
    assert x["stats"] == pytest.approx(
        {"mean": 2.0, "std": 1.0, "min": 1.0, "25%": 1.5, "50%": 2.0, "75%": 2.5, "max": 3.0}
    )

    colour = report["columns"]["colour"]
    assert colour["kind"] == "categorical"
    assert colour["null_fraction"] == 0.0
    assert colour["unique"] == 2
    assert colour["top_values"] == {"red": 3, "blue": 1}
    assert "stats" not in colour

    y = report["columns"]["y"]
    assert y["kind"] == "boolean"
    assert y["unique"] == 2
    assert y["top_values"] == {"0": 2, "1": 2}


def test_profile_with_target_adds_task(small_frame):
    report = profile(small_frame, target="y")
    assert report["target"] == "y"
    assert report["task"] == "binary"


def test_profile_is_json_serialisable(small_frame):
    frame = small_frame.assign(single=[5.0, None, None, None])  # std of one value is NaN
    report = json.loads(json.dumps(profile(frame, target="y")))
    assert report["columns"]["single"]["kind"] == "constant"
    assert report["columns"]["x"]["stats"]["max"] == 3.0


def test_profile_statistics_ignore_missing_values():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 6.0], "b": [3.0, np.nan, np.nan, np.nan], "c": ["x", "y", "x", None]})
    report = profile(frame)
    a = report["columns"]["a"]["stats"]
    assert a["mean"] == pytest.approx(3.0)
    assert a["std"] == pytest.approx(np.std([1.0, 2.0, 6.0], ddof=1))
    assert a["min"] == 1.0 and a["max"] == 6.0
    assert report["columns"]["b"]["kind"] == "constant"
    assert report["columns"]["b"]["null_fraction"] == pytest.approx(0.75)
    assert report["columns"]["c"]["null_fraction"] == pytest.approx(0.25)
    assert report["columns"]["c"]["unique"] == 2


def test_profile_refuses_unknown_target(small_frame):
    with pytest.raises(DataError, match="'nope'"):
        profile(small_frame, target="nope")


def test_mixed_case_yes_no_is_boolean():
    assert column_kind(pd.Series(["yes", "no", "Yes", "NO"] * 5, name="flag")) == "boolean"


def test_profile_overview_histograms_dates_and_target_relations():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "x": rng.normal(size=500), "zeros": np.where(np.arange(500) < 100, 0.0, 1.0 + np.arange(500)),
        "level": rng.choice(["a", "b", "c"], 500),
        "day": pd.date_range("2021-01-01", periods=500, freq="D").strftime("%Y-%m-%d"),
        "y": rng.choice(["no", "yes"], 500),
    })
    frame = pd.concat([frame, frame.head(4)], ignore_index=True)
    report = profile(frame, "y")
    assert report["overview"]["rows"] == 504 and report["overview"]["duplicate_rows"] == 4
    x = report["columns"]["x"]
    assert sum(x["histogram"]["counts"]) == 504 and len(x["histogram"]["edges"]) == 31
    assert x["stats"]["50%"] == pytest.approx(frame["x"].median())
    assert report["columns"]["zeros"]["zeros"] == 104  # 100 + the 4 repeated first rows
    day = report["columns"]["day"]
    assert day["kind"] == "datetime" and day["counts"]["period"] == "MS" and sum(day["counts"]["rows"]) == 504
    assert report["target_profile"]["classes"] == frame["y"].value_counts().to_dict()
    level = report["against_target"]["level"]
    assert level["type"] == "levels" and sum(level["count"]) == 504
    expected = (frame.loc[frame["level"] == level["levels"][0], "y"] == "yes").mean()
    assert level["mean"][0] == pytest.approx(expected)
    assert report["against_target"]["x"]["type"] == "boxes"
    assert report["correlations"]["columns"] == ["x", "zeros"]
    assert report["sampled"]["what"] == ""


def test_user_kinds_override_the_guess():
    frame = pd.DataFrame({"code": [1, 2, 3, 1, 2, 3] * 5, "y": np.arange(30.0)})
    assert profile(frame, kinds={"code": "categorical"})["columns"]["code"]["kind"] == "categorical"


# -- wide tables: statistics of all numeric columns at once ----------------------------------------------------

def numeric_table(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "normal": rng.normal(5, 2, rows), "skewed": rng.lognormal(0, 1.2, rows),
        "counts": rng.integers(0, 7, rows), "ones": np.ones(rows), "flags": rng.integers(0, 2, rows).astype(float),
        "sparse": np.where(rng.random(rows) < 0.7, np.nan, rng.normal(size=rows)), "empty": np.full(rows, np.nan),
        "order_id": np.arange(rows), "pair": np.where(rng.random(rows) < 0.5, 3.0, np.nan),
    })
    frame.loc[::17, "normal"] = np.nan
    return frame


def test_numeric_summary_equals_pandas_and_numpy_column_by_column():
    frame = numeric_table()
    summary = statistics.numeric_summary(frame, list(frame.columns)).to_dict("index")
    for name in frame.columns:
        values = frame[name].dropna().to_numpy(dtype=float)
        got = summary[name]
        assert got["count"] == len(values) and got["unique"] == frame[name].nunique()
        if not len(values):
            continue
        for key, q in (("min", 0), ("25%", 25), ("50%", 50), ("75%", 75), ("max", 100)):
            assert got[key] == pytest.approx(np.percentile(values, q))
        assert got["mean"] == pytest.approx(values.mean())
        assert got["std"] == pytest.approx(frame[name].std() if len(values) > 1 else 0.0)
        assert got["skew"] == pytest.approx(frame[name].skew() if len(values) > 2 and values.std() else 0.0)
        assert got["zeros"] == (values == 0).sum()
        counts, edges = np.histogram(values, bins=statistics.HISTOGRAM_BINS)
        assert got["counts"].tolist() == counts.tolist() and np.allclose(got["edges"], edges)


def test_kinds_decided_together_equal_kinds_decided_one_column_at_a_time():
    frame = numeric_table().assign(word=lambda f: np.where(f["counts"] > 3, "high", "low"))
    assert decide_kinds(frame) == {name: column_kind(frame[name]) for name in frame.columns}
    assert decide_kinds(frame)["order_id"] == "identifier" and decide_kinds(frame)["flags"] == "boolean"


def test_summary_in_blocks_equals_summary_at_once(monkeypatch):
    frame = numeric_table()
    whole = statistics.numeric_summary(frame, list(frame.columns))
    monkeypatch.setattr(statistics, "BLOCK_CELLS", 2 * len(frame))  # two columns per block
    pd.testing.assert_frame_equal(statistics.numeric_summary(frame, list(frame.columns)), whole)


def test_a_wide_table_is_profiled_with_every_column():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(200, 2000)), columns=[f"g{i}" for i in range(2000)])
    frame["y"] = np.where(frame["g7"] + 0.1 * rng.normal(size=200) > 0, "a", "b")
    report = profile(frame, "y")
    assert len(report["columns"]) == 2001 and len(report["against_target"]) == 2000
    assert all(sum(report["columns"][f"g{i}"]["histogram"]["counts"]) == 200 for i in range(2000))
    strongest = profiling.order_columns(report, [f"g{i}" for i in range(2000)], "strongest alone on the target")
    assert strongest[0] == "g7"


def test_association_scores_the_driver_first_for_each_task():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"noise": rng.normal(size=600), "driver": rng.normal(size=600),
                          "level": rng.choice(list("abcd"), 600)})
    frame["value"] = 3 * frame["driver"] + 0.3 * rng.normal(size=600)
    frame["label"] = np.where(frame["driver"] > 0.3, "yes", "no")
    for target, drop in (("value", "label"), ("label", "value")):
        report = profile(frame.drop(columns=drop), target)
        scores = report["association"]["scores"]
        assert max(scores, key=scores.get) == "driver"
        assert report["association"]["measure"] == ("R²" if target == "value" else "accuracy")


def test_columns_are_searched_and_ordered():
    frame = numeric_table()
    report = profile(frame, "normal")
    names = list(report["columns"])
    assert profiling.order_columns(report, names, search="ID") == ["order_id"]
    missing = profiling.order_columns(report, names, "most missing")
    assert missing[:3] == ["empty", "sparse", "pair"]
    assert profiling.order_columns(report, ["normal", "skewed", "counts"], "most skewed")[0] == "skewed"
    with pytest.raises(ValueError, match="Unknown order"):
        profiling.order_columns(report, names, "by colour")
