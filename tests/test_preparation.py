"""dlcore.runtime.preparation: split, then encode and standardize with training statistics only."""

import json

import numpy as np
import pandas as pd
import pytest

from dlcore.decisions import decide_kinds
from dlcore.prepared import PreparedData, prepare
from dlcore.runtime.encoders import MAX_ONEHOT_LEVELS, OTHER
from dlcore.runtime.errors import DataError
from dlcore.runtime.loading import drop_missing_target
from dlcore.runtime.preparation import Preparation
from dlcore.splitting import split_frame


def fitted(train, task="binary", kinds=None, options=None, target="y", **fit_kwargs):
    """A Preparation fitted on ``train``: the kinds decided on ``train`` as the app decides them (``kinds`` are the
    user's choices that override the inferred ones)."""
    return Preparation(target, task, decide_kinds(train, kinds), options).fit(train, **fit_kwargs)


@pytest.fixture
def train_frame():
    return pd.DataFrame({
        "x": [1.0, 2.0, 3.0, 4.0, 10.0, 4.0],
        "colour": ["red", "green", "red", "blue", "red", "green"],
        "smoker": ["yes", "no", "yes", "no", "no", "yes"],
        "when": ["2024-01-05", "2024-02-10", "2023-12-31", "2024-03-01", "2022-07-04", "2021-11-11"],
        "id": [f"u{i}" for i in range(6)],
        "c": [5, 5, 5, 5, 5, 5],
        "y": [0, 1, 0, 1, 1, 0],
    })


@pytest.fixture
def new_rows():
    return pd.DataFrame({
        "x": [3.0, np.nan, 100.0],
        "colour": ["green", "purple", None],
        "smoker": ["no", "yes", None],
        "when": ["2024-05-05", "2020-02-29", "not a date"],
        "id": ["z", "q", "r"],
        "c": [1, 2, 3],
    })


def block(prep, matrix, column):
    """The columns of ``matrix`` that come from input ``column``, by feature name."""
    names = prep.feature_names
    idx = [i for i, name in enumerate(names) if name == column or name.startswith(f"{column}=")
           or name.startswith(f"{column}_")]
    return matrix[:, idx], [names[i] for i in idx]


# -- leakage safety --------------------------------------------------------------------------------------------

def test_numeric_statistics_come_from_the_training_rows_only():
    full = pd.DataFrame({"x": [1.0, 2.0, 3.0, 6.0, 100.0, 200.0], "z": [0, 1, 0, 1, 0, 1], "y": list("ababab")})
    train, test = full.iloc[:4], full.iloc[4:]

    prep = fitted(train)

    encoder = prep.encoders["x"]
    assert encoder.fill_ == pytest.approx(2.5)
    assert encoder.scaler_["mean"] == pytest.approx(3.0)
    assert encoder.scaler_["std"] == pytest.approx(np.std([1.0, 2.0, 3.0, 6.0]))
    assert encoder.scaler_["mean"] != pytest.approx(full["x"].mean())
    # a test row is standardized with the training mean and std
    x_test = prep.transform(test)
    col = prep.feature_names.index("x")
    train_mean, train_std = train["x"].mean(), train["x"].std(ddof=0)
    assert x_test[:, col] == pytest.approx([(100.0 - train_mean) / train_std, (200.0 - train_mean) / train_std],
                                           rel=1e-6)


def test_prepare_fits_on_the_training_split_only():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.exponential(5.0, size=200), "y": rng.normal(size=200)})

    data = prepare(frame, "y", "regression", seed=7)

    encoder = data.preparation.encoders["x"]
    train = data.split.train
    assert encoder.scaler_["mean"] == pytest.approx(train["x"].mean())
    assert encoder.scaler_["std"] == pytest.approx(train["x"].std(ddof=0))
    assert encoder.fill_ == pytest.approx(train["x"].median())
    assert encoder.scaler_["mean"] != pytest.approx(frame["x"].mean())
    enc = data.preparation.target_encoding
    assert enc["mean"] == pytest.approx(train["y"].mean())
    assert enc["std"] == pytest.approx(train["y"].std(ddof=0))
    # standardized training inputs have mean 0 and std 1; the test rows do not need to
    assert data.x_train[:, 0].mean() == pytest.approx(0.0, abs=1e-5)
    assert data.x_train[:, 0].std() == pytest.approx(1.0, abs=1e-4)


def test_missing_numeric_is_imputed_with_the_training_median():
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 10.0, np.nan], "y": [0, 1, 0, 1, 1]})
    prep = fitted(train)

    encoder = prep.encoders["x"]
    assert encoder.fill_ == pytest.approx(2.5)
    filled = np.array([1.0, 2.0, 3.0, 10.0, 2.5])
    assert encoder.scaler_["mean"] == pytest.approx(filled.mean())
    assert encoder.scaler_["std"] == pytest.approx(filled.std())
    assert prep.feature_names == ["x", "x_missing"]  # the training rows had a gap: a missing-indicator column

    x = prep.transform(pd.DataFrame({"x": [np.nan, 2.5, "n/a"]}))
    expected = (2.5 - filled.mean()) / filled.std()
    assert x[:, 0] == pytest.approx([expected] * 3, rel=1e-6)
    assert x[:, 1].tolist() == [1.0, 0.0, 1.0]
    # the new rows' own median is not used: other values next to the gap change nothing
    other = prep.transform(pd.DataFrame({"x": [np.nan, 50.0, 60.0]}))
    assert other[0, 0] == pytest.approx(expected, rel=1e-6)


# -- categorical --------------------------------------------------------------------------------------------------

def test_one_hot_columns_are_the_training_categories(train_frame, new_rows):
    prep = fitted(train_frame)

    assert prep.kinds["colour"] == "categorical"
    names = [n for n in prep.feature_names if n.startswith("colour")]
    assert sorted(names) == ["colour=blue", "colour=green", "colour=red"]
    assert sorted(prep.encoders["colour"].categories_) == ["blue", "green", "red"]

    x = prep.transform(new_rows)
    onehot, names = block(prep, x, "colour")
    assert onehot.shape == (3, 3)
    # 'green' -> one 1 in the colour=green column
    assert onehot[0].tolist() == [1.0 if n == "colour=green" else 0.0 for n in names]
    # unseen 'purple' and a missing value -> an all-zero block, no crash
    assert onehot[1].tolist() == [0.0, 0.0, 0.0]
    assert onehot[2].tolist() == [0.0, 0.0, 0.0]


def test_training_rows_one_hot_exactly(train_frame):
    prep = fitted(train_frame)
    onehot, names = block(prep, prep.transform(train_frame), "colour")
    for row, colour in zip(onehot, train_frame["colour"]):
        assert row.tolist() == [1.0 if n == f"colour={colour}" else 0.0 for n in names]


def city_frame():
    return pd.DataFrame({
        "city": ["oslo"] * 5 + ["rome"] * 4 + ["lima"] * 3 + ["kiev"] * 2 + ["nuuk"],
        "y": [0, 1] * 7 + [0],
    })


def test_more_levels_than_the_one_hot_limit_get_a_learned_embedding():
    levels = [f"c{i}" for i in range(MAX_ONEHOT_LEVELS)]
    at_limit = pd.DataFrame({"city": levels * 2, "y": [0, 1] * MAX_ONEHOT_LEVELS})
    over_limit = pd.DataFrame({"city": [*levels, "extra"] * 2, "y": [0, 1] * (MAX_ONEHOT_LEVELS + 1)})
    assert len(fitted(at_limit).feature_names) == MAX_ONEHOT_LEVELS  # up to the limit: one-hot
    over = fitted(over_limit)
    assert over.feature_names == ["city_code"]  # one level more: a code the network embeds
    assert over.feature_types == [f"category:{MAX_ONEHOT_LEVELS + 2}"]  # the levels and the unknown code
    assert over.plan().loc[0, "encoding"] == "learned embedding"


def test_frequency_encoding_uses_training_shares():
    train = city_frame()
    prep = fitted(train, options={"city": {"encoding": "frequency"}})

    encoder = prep.encoders["city"]
    assert encoder.frequencies_ == pytest.approx({"oslo": 5 / 15, "rome": 4 / 15, "lima": 3 / 15, "kiev": 2 / 15,
                                                  "nuuk": 1 / 15})
    assert prep.feature_names == ["city_frequency"]
    shares = train["city"].map(train["city"].value_counts(normalize=True))
    mean, std = shares.mean(), shares.std(ddof=0)

    x = prep.transform(pd.DataFrame({"city": ["rome", "lima", "atlantis", None]}))
    # unseen and missing levels have a training share of 0
    assert x[:, 0] == pytest.approx([(4 / 15 - mean) / std, (3 / 15 - mean) / std, -mean / std, -mean / std],
                                    rel=1e-6)


def test_one_hot_groups_rare_levels_as_other():
    prep = fitted(city_frame(), options={"city": {"encoding": "onehot", "min_frequency": 0.15}})

    assert prep.encoders["city"].categories_ == ["oslo", "rome", "lima"]  # kiev (2/15), nuuk (1/15): under 15%
    assert prep.feature_names == ["city=oslo", "city=rome", "city=lima", f"city={OTHER}"]

    x = prep.transform(pd.DataFrame({"city": ["rome", "kiev", "atlantis", None]}))
    assert x.tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1]]


def test_numeric_codes_as_categories_match_across_dtypes():
    train = pd.DataFrame({"code": [1, 2, 3, 1, 2, 3], "y": [0, 1, 0, 1, 0, 1]})
    prep = fitted(train, kinds={"code": "categorical"})
    assert sorted(prep.feature_names) == ["code=1", "code=2", "code=3"]
    # the same codes read as floats (a column with a gap) or as strings land in the same columns
    as_float = prep.transform(pd.DataFrame({"code": [2.0, np.nan]}))
    as_text = prep.transform(pd.DataFrame({"code": ["2", "9"]}))
    two = prep.feature_names.index("code=2")
    assert as_float[0, two] == 1.0 and as_float[0].sum() == 1.0
    assert as_float[1].sum() == 0.0
    assert as_text[0, two] == 1.0 and as_text[1].sum() == 0.0


# -- boolean and datetime ---------------------------------------------------------------------------------------------

def test_boolean_yes_no_becomes_0_1(train_frame, new_rows):
    prep = fitted(train_frame)

    assert prep.kinds["smoker"] == "boolean"
    assert prep.encoders["smoker"].true_ == "yes"
    x = prep.transform(new_rows)
    col = prep.feature_names.index("smoker")
    assert x[0, col] == 0.0  # no
    assert x[1, col] == 1.0  # yes
    assert 0.0 <= x[2, col] <= 1.0  # missing -> the training share of 'yes'
    assert x[2, col] == pytest.approx(0.5)
    train_x = prep.transform(train_frame)
    assert train_x[:, col].tolist() == [1.0 if v == "yes" else 0.0 for v in train_frame["smoker"]]


def test_boolean_dtype_column():
    train = pd.DataFrame({"member": [True, False, True, True], "x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    prep = fitted(train)
    assert prep.kinds["member"] == "boolean"
    col = prep.feature_names.index("member")
    assert prep.transform(train)[:, col].tolist() == [1.0, 0.0, 1.0, 1.0]


def test_datetime_expands_into_date_parts(train_frame, new_rows):
    prep = fitted(train_frame)

    assert prep.kinds["when"] == "datetime"
    assert [n for n in prep.feature_names if n.startswith("when")] == [
        "when_year", "when_month", "when_quarter", "when_week", "when_day", "when_dayofweek", "when_season"
    ]
    dates = pd.to_datetime(train_frame["when"])
    train_parts = {"year": dates.dt.year, "month": dates.dt.month, "quarter": dates.dt.quarter,
                   "week": dates.dt.isocalendar().week, "day": dates.dt.day, "dayofweek": dates.dt.day_of_week,
                   "season": dates.dt.month % 12 // 3}
    x = prep.transform(new_rows)
    parts, names = block(prep, x, "when")
    # 2024-05-05 is a Sunday (dayofweek 6) in ISO week 18, quarter 2, spring (season 1)
    expected = {"year": 2024, "month": 5, "quarter": 2, "week": 18, "day": 5, "dayofweek": 6, "season": 1}
    for part, value in expected.items():
        train_part = train_parts[part].astype(float)
        assert parts[0, names.index(f"when_{part}")] == pytest.approx(
            (value - train_part.mean()) / train_part.std(ddof=0), rel=1e-5)
    # an unparseable date becomes the training mean of every part: zeros after standardization
    assert parts[2].tolist() == [0.0] * 7


# -- exclusions, plan, config -------------------------------------------------------------------------------------------

def test_identifier_and_constant_columns_are_excluded(train_frame):
    prep = fitted(train_frame)

    plan = prep.plan()
    assert list(plan.columns) == ["column", "kind", "encoding", "transformation", "outputs", "output columns"]
    assert plan["column"].tolist() == ["x", "colour", "smoker", "when", "id", "c"]
    rows = plan.set_index("column")
    assert rows.loc["id", "kind"] == "identifier"
    assert rows.loc["id", "outputs"] == 0
    assert "identifier" in rows.loc["id", "transformation"]
    assert rows.loc["c", "kind"] == "constant"
    assert rows.loc["c", "outputs"] == 0
    assert "constant" in rows.loc["c", "transformation"]
    assert rows.loc["colour", "outputs"] == 3
    assert rows.loc["colour", "encoding"] == "one-hot"
    assert rows.loc["id", "encoding"] == rows.loc["c", "encoding"] == "leave out"
    assert rows.loc["when", "outputs"] == 7
    assert int(plan["outputs"].sum()) == len(prep.feature_names)
    assert "id" not in prep.input_columns and "c" not in prep.input_columns
    assert "y" not in prep.input_columns
    assert prep.input_columns == ["x", "colour", "smoker", "when"]
    assert prep.feature_names == ["x", "colour=red", "colour=green", "colour=blue", "smoker",
                                  "when_year", "when_month", "when_quarter", "when_week", "when_day",
                                  "when_dayofweek", "when_season"]


def test_excluded_and_target_columns_are_not_needed_at_transform(train_frame, new_rows):
    prep = fitted(train_frame)
    full = prep.transform(new_rows)
    without = prep.transform(new_rows.drop(columns=["id", "c"]))
    np.testing.assert_array_equal(full, without)


def test_no_usable_column_is_refused():
    train = pd.DataFrame({"id": range(1, 31), "c": [1] * 30, "y": [0, 1] * 15})
    with pytest.raises(DataError, match="No usable input column"):
        fitted(train)


def test_every_input_column_needs_a_decided_kind(train_frame):
    kinds = decide_kinds(train_frame)
    del kinds["colour"]
    with pytest.raises(ValueError, match="colour"):
        Preparation("y", "binary", kinds).fit(train_frame)
    # the target needs no kind
    del kinds["y"]
    assert Preparation("y", "binary", {**kinds, "colour": "categorical"}).fit(train_frame).input_columns == [
        "x", "colour", "smoker", "when"]


def test_config_json_round_trip_transforms_identically(train_frame, new_rows):
    prep = fitted(train_frame)

    config = json.loads(json.dumps(prep.get_config()))
    assert config["format"] == 2
    restored = Preparation.from_config(config)

    assert restored.feature_names == prep.feature_names
    assert restored.seen == prep.seen and set(prep.seen) == set(prep.input_columns)
    assert restored.input_columns == prep.input_columns
    assert restored.classes == prep.classes == [0, 1]
    assert restored.task == "binary" and restored.target == "y"
    for frame in (train_frame, new_rows):
        np.testing.assert_array_equal(restored.transform(frame), prep.transform(frame))
    pd.testing.assert_frame_equal(restored.plan(), prep.plan())


def test_missing_input_column_is_named(train_frame, new_rows):
    prep = fitted(train_frame)
    with pytest.raises(DataError, match="colour"):
        prep.transform(new_rows.drop(columns=["colour"]))
    with pytest.raises(DataError) as info:
        prep.transform(new_rows.drop(columns=["x", "when"]))
    assert "x" in str(info.value) and "when" in str(info.value)


# -- the target ------------------------------------------------------------------------------------------------------------

def test_regression_target_round_trip():
    y = pd.Series([10.0, 20.0, 30.0, 40.0], name="y")
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": y})
    prep = fitted(train, "regression")

    assert prep.target_encoding == pytest.approx({"mean": 25.0, "std": y.std(ddof=0)})
    encoded = prep.encode_target(y)
    assert encoded.dtype == np.float32
    assert encoded == pytest.approx((y - 25.0) / y.std(ddof=0), rel=1e-6)
    predictions, proba = prep.decode_outputs(encoded.reshape(-1, 1))
    assert proba is None
    assert predictions == pytest.approx(y.to_numpy(), rel=1e-6)
    # a network output of 0 is the training mean in original units
    assert prep.decode_outputs(np.zeros((1, 1)))[0] == pytest.approx([25.0])


def test_binary_target_round_trip():
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": ["yes", "no", "no", "yes"]})
    prep = fitted(train)

    assert prep.classes == ["no", "yes"]
    codes = prep.encode_target(train["y"])
    assert codes.tolist() == [1, 0, 0, 1]
    labels, proba = prep.decode_outputs(np.array([[0.9], [0.2], [0.4], [0.7]]))
    assert labels.tolist() == ["yes", "no", "no", "yes"]
    assert proba.shape == (4, 2)
    assert proba.sum(axis=1) == pytest.approx(np.ones(4))
    assert proba[:, 1] == pytest.approx([0.9, 0.2, 0.4, 0.7])


def test_multiclass_target_round_trip():
    train = pd.DataFrame({"x": range(6), "y": ["cat", "dog", "emu", "dog", "cat", "emu"]})
    prep = fitted(train, "multiclass")

    codes = prep.encode_target(train["y"])
    assert codes.dtype == np.int32
    onehot = np.eye(len(prep.classes))[codes] * 0.8 + 0.2 / len(prep.classes)
    labels, proba = prep.decode_outputs(onehot)
    assert labels.tolist() == train["y"].tolist()
    assert proba.sum(axis=1) == pytest.approx(np.ones(6))


def test_fixed_classes_and_unknown_target_values():
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]})
    prep = fitted(train, "multiclass", classes=["a", "b", "c"])
    assert prep.classes == ["a", "b", "c"]
    assert prep.encode_target(pd.Series(["c", "a"])).tolist() == [2, 0]
    with pytest.raises(DataError, match="zebra"):
        prep.encode_target(pd.Series(["a", "zebra"]))


# -- splitting ----------------------------------------------------------------------------------------------------------------

def classification_frame(n=1000, positive_share=0.3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[: int(n * positive_share)] = 1
    rng.shuffle(y)
    return pd.DataFrame({"x": rng.normal(size=n), "y": y})


def test_split_sizes_default():
    frame = classification_frame(1000)
    split = split_frame(frame, "y", "binary")

    assert len(split.test) == 200
    assert len(split.validation) == 80
    assert len(split.train) == 720
    ids = [set(part.index) for part in (split.train, split.validation, split.test)]
    assert ids[0].isdisjoint(ids[1]) and ids[0].isdisjoint(ids[2]) and ids[1].isdisjoint(ids[2])
    assert set().union(*ids) == set(frame.index)


def test_split_sizes_custom_regression():
    frame = pd.DataFrame({"x": np.arange(500.0), "y": np.arange(500.0) * 2})
    split = split_frame(frame, "y", "regression", test_size=0.4, validation_size=0.5)
    assert (len(split.train), len(split.validation), len(split.test)) == (150, 150, 200)


def test_stratified_split_keeps_class_ratios():
    frame = classification_frame(1000, positive_share=0.3)
    split = split_frame(frame, "y", "binary", seed=5)
    for part in (split.train, split.validation, split.test):
        assert part["y"].mean() == pytest.approx(0.3, abs=0.01)


def test_same_seed_same_split_different_seed_different_split():
    frame = classification_frame(300)
    a = split_frame(frame, "y", "binary", seed=1)
    b = split_frame(frame, "y", "binary", seed=1)
    c = split_frame(frame, "y", "binary", seed=2)
    for first, second in zip((a.train, a.validation, a.test), (b.train, b.validation, b.test)):
        assert first.index.tolist() == second.index.tolist()
    assert set(a.test.index) != set(c.test.index)
    assert set(a.train.index) != set(c.train.index)


def test_split_refuses_tiny_data():
    with pytest.raises(DataError, match="at least 10"):
        split_frame(classification_frame(9), "y", "binary")


def test_split_of_rare_classes_does_not_crash():
    frame = pd.DataFrame({"x": np.arange(40.0), "y": ["a"] * 37 + ["b", "c", "d"]})
    split = split_frame(frame, "y", "multiclass")
    assert len(split.train) + len(split.validation) + len(split.test) == 40


# -- prepare -------------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_prepare_produces_clean_float32_matrices(task):
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({
        "amount": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 10, n)),
        "colour": rng.choice(["red", "green", "blue", None], n),
        "member": rng.choice(["yes", "no"], n),
        "day": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "ref": [f"R{i:05d}" for i in range(n)],
        "y": {"binary": rng.choice(["a", "b"], n), "multiclass": rng.choice(["a", "b", "c"], n),
              "regression": rng.normal(size=n) * 100}[task],
    })

    data = prepare(frame, "y", task, seed=3)

    assert data.task == task
    width = len(data.preparation.feature_names)
    # amount and its missing indicator, colour (3 levels + missing), member, 7 day parts; ref excluded
    assert width == 2 + 4 + 1 + 7
    for x, y, part in ((data.x_train, data.y_train, data.split.train),
                       (data.x_val, data.y_val, data.split.validation),
                       (data.x_test, data.y_test, data.split.test)):
        assert x.dtype == np.float32
        assert x.shape == (len(part), width)
        assert np.isfinite(x).all()
        assert y.shape == (len(part),)
        if task == "regression":
            assert y.dtype == np.float32
        else:
            assert y.dtype == np.int32
            assert set(y) <= set(range(len(data.preparation.classes)))
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == n


def test_the_split_rows_keep_their_place_in_the_file_through_the_run_folder(tmp_path):
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=60), "y": rng.normal(size=60)})
    frame.loc[[2, 7, 30], "y"] = np.nan  # dropped: the later rows' positions no longer count from 0 without gaps
    kept, dropped = drop_missing_target(frame, "y")
    prepare(kept, "y", "regression").save(tmp_path)

    test = PreparedData.load(tmp_path).split.test
    assert dropped == 3 and len(test) == 12
    assert not set(test.index) & {2, 7, 30}
    pd.testing.assert_frame_equal(test, frame.loc[test.index])  # the index is each row's position in the file
