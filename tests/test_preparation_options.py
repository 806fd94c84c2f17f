"""dlcore.runtime.preparation's per-column options, splits and checks: every statistic from the training rows only."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri
from sklearn.preprocessing import QuantileTransformer

from dlcore import prepared
from dlcore.decisions import decide_kinds
from dlcore.prepared import prepare, prepare_folds
from dlcore.runtime.encoders import MAX_ONEHOT_LEVELS, OTHER, fit_encoder
from dlcore.runtime.errors import DataError
from dlcore.runtime.preparation import Preparation
from dlcore.splitting import KFOLD_ROWS, split_frame, suggest_kfold

# Training rows x = 1, 2, 2, 4, 7 and a gap; the test rows are far larger, so any leak shows.
FULL = pd.DataFrame({"x": [1.0, 2.0, 2.0, 4.0, 7.0, np.nan, 300.0, 300.0, 300.0, np.nan], "y": [0, 1] * 5})
TRAIN, TEST = FULL.iloc[:6], FULL.iloc[6:]
TRAIN_VALUES = np.array([1.0, 2.0, 2.0, 4.0, 7.0])


def fitted(train: pd.DataFrame, task: str = "binary", kinds: dict | None = None,
           options: dict | None = None) -> Preparation:
    """A Preparation fitted on ``train``, with the kinds decided on ``train`` (``kinds``: the user's choices)."""
    return Preparation("y", task, decide_kinds(train, kinds), options).fit(train)


def fit(options: dict, train: pd.DataFrame = TRAIN, task: str = "binary") -> Preparation:
    return fitted(train, task, options={"x": options})


def round_trip(prep: Preparation) -> Preparation:
    return Preparation.from_config(json.loads(json.dumps(prep.get_config())))


# -- imputers ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, train_value, full_value", [
    ("median", 2.0, 5.5),
    ("mean", 3.2, 114.5),
    ("mode", 2.0, 300.0),
])
def test_imputers_use_training_statistics_only(method, train_value, full_value):
    prep = fit({"impute": method})

    encoder = prep.encoders["x"]
    assert encoder.fill_ == pytest.approx(train_value)
    assert encoder.fill_ != pytest.approx(full_value)
    filled = np.append(TRAIN_VALUES, train_value)
    assert encoder.scaler_["mean"] == pytest.approx(filled.mean())
    # a missing test value becomes the training fill, standardized with the training mean and std
    x = prep.transform(TEST)
    assert x[3, 0] == pytest.approx((train_value - filled.mean()) / filled.std(), rel=1e-6)
    assert x[0, 0] == pytest.approx((300.0 - filled.mean()) / filled.std(), rel=1e-6)


def test_constant_imputation_uses_the_chosen_value():
    prep = fit({"impute": "constant", "fill_value": -1})
    assert prep.encoders["x"].fill_ == -1.0
    filled = np.append(TRAIN_VALUES, -1.0)
    assert prep.transform(TEST)[3, 0] == pytest.approx((-1.0 - filled.mean()) / filled.std(), rel=1e-6)


# -- scalers ------------------------------------------------------------------------------------------------------

FILLED = np.append(TRAIN_VALUES, 2.0)  # the gap filled with the training median


@pytest.mark.parametrize("scale, stats, full_stats, expected_300", [
    ("standardize", {"mean": FILLED.mean(), "std": FILLED.std()}, {"mean": FULL["x"].fillna(5.5).mean()},
     (300.0 - FILLED.mean()) / FILLED.std()),
    ("minmax", {"min": 1.0, "range": 6.0}, {"range": 299.0}, (300.0 - 1.0) / 6.0),
    # sorted 1, 2, 2, 2, 4, 7: quartiles 2 and 3.5 (linear interpolation), median 2
    ("robust", {"median": 2.0, "iqr": 1.5}, {"median": 5.5}, (300.0 - 2.0) / 1.5),
    # robust scale in normal standard deviations (IQR / 1.349), then soft-clipped to about ±3
    ("robust_clip", {"median": 2.0, "iqr": 1.5 / 1.349}, {"median": 5.5},
     (298 * 1.349 / 1.5) / np.sqrt(1 + (298 * 1.349 / 1.5 / 3) ** 2)),
])
def test_scalers_use_training_statistics_only(scale, stats, full_stats, expected_300):
    prep = fit({"scale": scale})

    stored = prep.encoders["x"].scaler_
    assert stored == pytest.approx(stats)
    for key, value in full_stats.items():
        assert stored[key] != pytest.approx(value)
    x = prep.transform(TEST)
    assert x[0, 0] == pytest.approx(expected_300, rel=1e-6)


def test_soft_clipping_keeps_small_values_and_bounds_outliers():
    prep = fit({"scale": "robust_clip"})
    x = prep.transform(pd.DataFrame({"x": [2.0, 2.1, 1e9, -1e9]}))[:, 0]
    assert x[0] == 0.0 and x[1] == pytest.approx(0.1 * 1.349 / 1.5, rel=1e-3)  # near the median: as scaled
    assert 2.99 < x[2] <= 3.0 and -3.0 <= x[3] < -2.99  # far away: at most ±3
    assert "soft-clip" in prep.plan().loc[0, "transformation"]


def test_quantile_transform_uses_training_quantiles_only():
    prep = fit({"scale": "quantile"})

    quantiles = prep.encoders["x"].scaler_["quantiles"]
    assert quantiles == pytest.approx([1.0, 2.0, 2.0, 2.0, 4.0, 7.0])  # six training rows: every value a quantile
    x = prep.transform(pd.DataFrame({"x": [3.0, 300.0, 0.0]}))
    # 3 lies between the quantiles 2 (rank 0.6) and 4 (rank 0.8): rank 0.7; beyond the training range: clipped
    assert x[:, 0] == pytest.approx([ndtri(0.7), -ndtri(1e-7), ndtri(1e-7)], rel=1e-6)


def test_quantile_transform_matches_scikit_learn_and_survives_json():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.lognormal(0, 1, 1500), "y": rng.integers(0, 2, 1500)})
    new = pd.DataFrame({"x": np.concatenate([rng.lognormal(0, 1, 200), [-5.0, 1e6]])})

    prep = fit({"scale": "quantile"}, train)

    assert len(prep.encoders["x"].scaler_["quantiles"]) == 1000
    reference = QuantileTransformer(n_quantiles=1000, output_distribution="normal").fit(train[["x"]])
    inside = new["x"].between(train["x"].min(), train["x"].max()).to_numpy()
    np.testing.assert_allclose(prep.transform(new)[inside, 0], reference.transform(new[["x"]])[inside, 0],
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(round_trip(prep).transform(new), prep.transform(new))


# -- missing indicator and log ------------------------------------------------------------------------------------

def test_missing_indicator_marks_the_gaps():
    prep = fit({})
    assert prep.feature_names == ["x", "x_missing"]
    assert prep.transform(TRAIN)[:, 1].tolist() == [0, 0, 0, 0, 0, 1]
    assert prep.transform(TEST)[:, 1].tolist() == [0, 0, 0, 1]


def test_missing_indicator_can_be_turned_off_and_needs_gaps_in_training():
    assert fit({"missing_indicator": False}).feature_names == ["x"]
    complete = fit({}, TRAIN.dropna())
    assert complete.feature_names == ["x"]  # no gap in training: no indicator, test gaps are still imputed
    assert np.isfinite(complete.transform(TEST)).all()


def test_log_transform():
    prep = fit({"log": True})

    logged = np.log1p(FILLED)
    assert prep.encoders["x"].scaler_ == pytest.approx({"mean": logged.mean(), "std": logged.std()})
    x = prep.transform(pd.DataFrame({"x": [300.0, -3.0]}))
    assert x[0, 0] == pytest.approx((np.log1p(300.0) - logged.mean()) / logged.std(), rel=1e-6)
    # defined for any number: sign(x)·log(1 + |x|)
    assert x[1, 0] == pytest.approx((-np.log1p(3.0) - logged.mean()) / logged.std(), rel=1e-6)
    assert "log" in prep.plan().set_index("column").loc["x", "transformation"]


def test_skewed_positive_column_gets_a_log_hint():
    rng = np.random.default_rng(1)
    train = pd.DataFrame({"x": rng.lognormal(0, 1.5, 300), "y": rng.integers(0, 2, 300)})
    assert "log transform may help" in fit({}, train).plan().loc[0, "transformation"]
    assert "may help" not in fit({"log": True}, train).plan().loc[0, "transformation"]


# -- categorical -----------------------------------------------------------------------------------------------------

def many_levels(n_rows: int = 400, n_levels: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"shop": [f"s{i}" for i in rng.integers(0, n_levels, n_rows)],
                         "y": rng.integers(0, 2, n_rows)})


def test_high_cardinality_defaults_to_a_learned_embedding_with_unseen_levels_as_code_0():
    train = many_levels()
    prep = fitted(train)
    encoder = prep.encoders["shop"]
    assert encoder.name == "embedding" and encoder.levels_ == train["shop"].nunique() > MAX_ONEHOT_LEVELS
    by_frequency = train["shop"].value_counts().index.tolist()
    assert encoder.categories_ == by_frequency  # min_frequency 0.001 of 400 rows keeps every level
    x = prep.transform(pd.DataFrame({"shop": [by_frequency[0], by_frequency[5], "never-seen", None]}))
    assert x[:, 0].tolist() == [1.0, 6.0, 0.0, 0.0]
    assert prep.feature_types == [f"category:{len(by_frequency) + 1}"]
    np.testing.assert_array_equal(round_trip(prep).transform(train), prep.transform(train))
    assert "learned embedding" in prep.plan().loc[0, "transformation"]


def test_frequency_encoding_of_many_levels_with_unseen_levels():
    train = many_levels()
    prep = fitted(train, options={"shop": {"encoding": "frequency"}})

    encoder = prep.encoders["shop"]
    assert encoder.name == "frequency" and encoder.levels_ == train["shop"].nunique() > MAX_ONEHOT_LEVELS
    assert prep.feature_names == ["shop_frequency"]
    shares = train["shop"].value_counts(normalize=True)
    assert encoder.frequencies_ == pytest.approx(shares.to_dict())
    encoded = train["shop"].map(shares)
    mean, std = encoded.mean(), encoded.std(ddof=0)
    assert (encoder.mean_, encoder.std_) == pytest.approx((mean, std))

    new = pd.DataFrame({"shop": ["s3", "never-seen", None]})
    x = prep.transform(new)
    assert x[:, 0] == pytest.approx([(shares["s3"] - mean) / std, -mean / std, -mean / std], rel=1e-6)
    np.testing.assert_array_equal(round_trip(prep).transform(new), x)
    assert "frequency" in prep.plan().loc[0, "transformation"]


def test_one_hot_can_be_chosen_and_frequency_can_be_forced():
    train = many_levels()
    onehot = fitted(train, options={"shop": {"encoding": "onehot", "min_frequency": 0}})
    assert len(onehot.feature_names) == train["shop"].nunique() > MAX_ONEHOT_LEVELS
    small = pd.DataFrame({"c": list("aabbc") * 4, "y": [0, 1] * 10})
    assert fitted(small).feature_names == ["c=a", "c=b", "c=c"]  # few levels: one-hot by default
    assert fitted(small, options={"c": {"encoding": "frequency"}}).feature_names == ["c_frequency"]


def test_rare_levels_are_grouped_by_default():
    train = pd.DataFrame({"c": ["a"] * 120 + ["b"] * 79 + ["rare"], "y": [0, 1] * 100})
    prep = fitted(train)

    assert prep.encoders["c"].categories_ == ["a", "b"]  # 'rare' is 0.5% of the rows, under the 1% default
    assert prep.feature_names == ["c=a", "c=b", f"c={OTHER}"]
    x = prep.transform(pd.DataFrame({"c": ["rare", "b", "unseen"]}))
    assert x.tolist() == [[0, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert "1 rare level" in prep.plan().loc[0, "transformation"]


# -- datetime ---------------------------------------------------------------------------------------------------------

def dates_frame(when: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"when": when, "y": [0, 1] * (len(when) // 2)})


def parts(prep: Preparation, x: np.ndarray) -> dict[str, np.ndarray]:
    """The date parts back in their own units (undoing the training standardization), and the raw sin/cos."""
    stats = {part: (mean, std) for part, mean, std in prep.encoders["when"].parts_}  # the training mean and std
    out = {}
    for i, name in enumerate(prep.feature_names):
        part = name.removeprefix("when_")
        out[part] = x[:, i] * stats[part][1] + stats[part][0] if part in stats else x[:, i]
    return out


def test_date_expansion_quarter_week_season():
    train = dates_frame(["2024-12-30", "2024-07-15", "2023-04-02", "2022-10-10"])
    prep = fitted(train)

    got = parts(prep, prep.transform(train))
    # 2024-12-30 is the Monday of ISO week 1 of 2025; seasons: 0 winter, 1 spring, 2 summer, 3 autumn
    assert got["year"] == pytest.approx([2024, 2024, 2023, 2022], abs=1e-4)
    assert got["quarter"] == pytest.approx([4, 3, 2, 4], abs=1e-4)
    assert got["week"] == pytest.approx([1, 29, 13, 41], abs=1e-4)
    assert got["dayofweek"] == pytest.approx([0, 0, 6, 0], abs=1e-4)
    assert got["season"] == pytest.approx([0, 2, 1, 3], abs=1e-4)
    assert "when_hour" not in prep.feature_names  # dates without times


def test_cyclical_encoding_and_hours():
    train = dates_frame(["2024-12-30 06:00", "2024-07-15 18:00", "2023-04-02 00:00", "2022-10-10 12:00"])
    prep = fitted(train, options={"when": {"cyclical": True}})
    assert prep.encoders["when"].cycles_ == ["month", "day", "dayofweek", "hour"]

    assert prep.feature_names[-8:] == ["when_month_sin", "when_month_cos", "when_day_sin", "when_day_cos",
                                       "when_dayofweek_sin", "when_dayofweek_cos", "when_hour_sin", "when_hour_cos"]
    got = parts(prep, prep.transform(train))
    assert got["hour"] == pytest.approx([6, 18, 0, 12], abs=1e-4)
    # December is 11/12 of the way round, close to January; day 30 of 31; Monday; 06:00 a quarter of the day
    assert got["month_sin"][0] == pytest.approx(np.sin(2 * np.pi * 11 / 12), abs=1e-6)
    assert got["month_cos"][0] == pytest.approx(np.cos(2 * np.pi * 11 / 12), abs=1e-6)
    assert got["day_sin"][0] == pytest.approx(np.sin(2 * np.pi * 29 / 31), abs=1e-6)
    assert (got["dayofweek_sin"][0], got["dayofweek_cos"][0]) == pytest.approx((0.0, 1.0), abs=1e-6)
    assert (got["hour_sin"][0], got["hour_cos"][0]) == pytest.approx((1.0, 0.0), abs=1e-6)
    # a missing date sits at the centre of every circle
    missing = prep.transform(pd.DataFrame({"when": [None]}))
    assert missing[0, -8:].tolist() == [0.0] * 8


# -- text with a number, excluded columns, kinds -----------------------------------------------------------------------

def people(n: int = 30) -> pd.DataFrame:
    return pd.DataFrame({"person": [f"ppl_{i * 10}" for i in range(n)], "x": np.arange(n) / 2,
                         "y": [0, 1] * (n // 2)})


def test_identifier_is_excluded_with_a_hint_to_extract_its_number():
    prep = fitted(people())
    assert prep.kinds["person"] == "identifier"
    assert prep.feature_names == ["x"]
    assert "the number in the text" in prep.plan().set_index("column").loc["person", "transformation"]


def test_number_extraction_from_ppl_100_strings():
    train = people()
    prep = fitted(train, options={"person": {"encoding": "number_in_text"}})

    assert prep.feature_names[0] == "person_number"
    numbers = np.arange(30) * 10.0
    assert prep.encoders["person"].scaler_ == pytest.approx({"mean": numbers.mean(), "std": numbers.std()})
    x = prep.transform(pd.DataFrame({"person": ["ppl_100", "ppl_7", "nobody"], "x": [0.0, 0.0, 0.0]}))
    median = np.median(numbers)
    assert x[:, 0] == pytest.approx([(100 - numbers.mean()) / numbers.std(), (7 - numbers.mean()) / numbers.std(),
                                     (median - numbers.mean()) / numbers.std()], rel=1e-6)
    assert "'ppl_0' → 0" in prep.plan().loc[0, "transformation"]


def test_excluded_kind():
    options = {"person": {"encoding": "number_in_text"}}
    prep = fitted(people(), kinds={"x": "excluded"}, options=options)
    assert prep.kinds == {"person": "identifier", "x": "excluded"}  # columns the user did not choose: inferred
    plan = prep.plan().set_index("column")
    assert plan.loc["x", "transformation"] == "excluded by you"
    assert plan.loc["x", "outputs"] == 0
    assert prep.input_columns == ["person"]
    assert prep.transform(pd.DataFrame({"person": ["ppl_3"]})).shape == (1, 1)


def test_every_kind_with_options_round_trips_through_json():
    rng = np.random.default_rng(2)
    n = 200
    frame = pd.DataFrame({
        "amount": np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(3, 1, n)),
        "colour": rng.choice(["red", "green", "blue", None], n),
        "member": rng.choice(["yes", "no", None], n),
        "day": pd.date_range("2020-01-01", periods=n, freq="37h").strftime("%Y-%m-%d %H:%M"),
        "ref": [f"R{i:05d}" for i in range(n)],
        "note": [f"a long free text comment number {i} about this row" for i in range(n)],
        "c": 1,
        "dropped": rng.normal(size=n),
        "y": rng.normal(size=n),
    })
    options = {"amount": {"impute": "mean", "scale": "quantile", "log": True}, "colour": {"encoding": "frequency"},
               "day": {"cyclical": True}, "ref": {"encoding": "number_in_text"}}
    kinds = decide_kinds(frame, {"dropped": "excluded"})  # decided on the whole table, as the app does
    prep = Preparation("y", "regression", kinds, options).fit(frame.iloc[:150])

    assert prep.kinds == {"amount": "numeric", "colour": "categorical", "member": "boolean", "day": "datetime",
                          "ref": "identifier", "note": "text", "c": "constant", "dropped": "excluded"}
    restored = round_trip(prep)
    new = frame.iloc[150:].assign(colour="purple", member="maybe", day="not a date", ref="none")
    for rows in (frame, new):
        np.testing.assert_array_equal(restored.transform(rows), prep.transform(rows))
    pd.testing.assert_frame_equal(restored.plan(), prep.plan())
    assert restored.seen == prep.seen
    assert np.isfinite(prep.transform(new)).all()  # unseen levels and garbage never crash


def test_bad_kinds_and_options_are_refused():
    with pytest.raises(DataError, match="Unknown column kind 'fancy'"):
        Preparation("y", "binary", kinds={"x": "fancy"}).fit(TRAIN)
    with pytest.raises(DataError, match="Unknown scale 'zscore'; choose one of standardize, minmax"):
        fit({"scale": "zscore"})
    with pytest.raises(DataError, match="Unknown scale 'cubic'"):
        fit_encoder(TRAIN["x"], "numeric", {"scale": "cubic"})
    with pytest.raises(DataError, match="Unknown impute 'max'"):
        fit_encoder(TRAIN["x"], "numeric", {"impute": "max"})
    levels = pd.Series(list("aabbc") * 4, name="c")
    with pytest.raises(DataError, match="min_frequency is a share of the training rows"):
        fit_encoder(levels, "categorical", {"min_frequency": 1.5})
    with pytest.raises(DataError, match="min_frequency"):
        fitted(pd.DataFrame({"c": levels, "y": [0, 1] * 10}), options={"c": {"min_frequency": 1.5}})
    with pytest.raises(DataError, match="Unknown encoding 'onehot' for a numeric column"):
        fit({"encoding": "onehot"})


def test_options_of_another_kind_are_ignored():
    # a column whose kind changed keeps working: options that belong to another encoding change nothing
    train = dates_frame(["2024-12-30", "2024-07-15", "2023-04-02", "2022-10-10"])
    plain = fitted(train)
    with_log = fitted(train, options={"when": {"log": True, "scale": "cubic", "min_frequency": 1.5}})
    assert with_log.feature_names == plain.feature_names
    np.testing.assert_array_equal(with_log.transform(train), plain.transform(train))
    pd.testing.assert_frame_equal(with_log.plan(), plain.plan())
    assert fit_encoder(train["when"], "datetime", {"log": True}).options == {"cyclical": False}


# -- splits ------------------------------------------------------------------------------------------------------------

def dated(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    when = pd.date_range("2015-01-01", periods=n, freq="D").strftime("%Y-%m-%d").to_numpy()
    return pd.DataFrame({"when": rng.permutation(when), "x": rng.normal(size=n), "y": rng.integers(0, 2, n)})


def test_time_ordered_split():
    frame = dated()
    frame.loc[:4, "when"] = None  # rows without a date train
    split = split_frame(frame, "y", "binary", order_by="when")

    assert (len(split.train), len(split.validation), len(split.test)) == (720, 80, 200)
    dates = [pd.to_datetime(part["when"]) for part in (split.train, split.validation, split.test)]
    assert dates[0].max() <= dates[1].min() and dates[1].max() <= dates[2].min()
    assert dates[0].isna().sum() == 5
    data = prepare(frame, "y", "binary", order_by="when")
    assert data.split.test.index.tolist() == split.test.index.tolist()
    with pytest.raises(DataError, match="order"):
        split_frame(frame, "y", "binary", order_by="x")


def test_kfold_fits_each_fold_on_its_own_training_part():
    frame = dated(300)
    folds = prepare_folds(frame, "y", "binary", k=5, seed=3)

    assert len(folds) == 5
    held = [fold.split.validation.index for fold in folds]
    assert sorted(np.concatenate(held).tolist()) == frame.index.tolist()  # every row held out exactly once
    for fold in folds:
        assert fold.split.test is fold.split.validation
        assert set(fold.split.train.index).isdisjoint(fold.split.validation.index)
        assert fold.preparation.encoders["x"].scaler_["mean"] == pytest.approx(fold.split.train["x"].mean())
        assert fold.split.validation["y"].mean() == pytest.approx(frame["y"].mean(), abs=0.03)  # stratified
        assert fold.x_val.shape == (60, len(fold.preparation.feature_names))
    assert len({fold.preparation.encoders["x"].scaler_["mean"] for fold in folds}) == 5
    with pytest.raises(DataError, match="K-fold"):
        prepare_folds(frame, "y", "binary", k=1)


def test_kfold_is_suggested_for_small_data():
    assert suggest_kfold(KFOLD_ROWS - 1) and suggest_kfold(300)
    assert not suggest_kfold(KFOLD_ROWS)


# -- checks and estimates ----------------------------------------------------------------------------------------------

def test_matrix_check():
    prep = fit({})
    good = prep.transform(TRAIN)
    prep.check_matrix(good)
    with pytest.raises(DataError, match="x_missing"):
        prep.check_matrix(np.where(np.arange(2) == 1, np.nan, good).astype(np.float32))
    with pytest.raises(DataError, match="float32"):
        prep.check_matrix(good.astype(np.float64))
    with pytest.raises(DataError, match="2 columns"):
        prep.check_matrix(good[:, :1])
    # a value beyond float32 after scaling is refused with the column's name, never passed on as inf
    with pytest.raises(DataError, match="far outside"):
        prep.transform(pd.DataFrame({"x": [1e300]}))


def test_footprint_and_memory_guard(monkeypatch):
    frame = dated(200).assign(colour=lambda f: np.where(f["x"] > 0, "red", "blue"))
    data = prepare(frame, "y", "binary")
    footprint = data.preparation.footprint(1000).set_index("column")
    assert footprint["outputs"].to_dict() == {"when": 7, "x": 1, "colour": 2}
    assert footprint.loc["when", "bytes per row"] == 28
    assert footprint.loc["colour", "bytes"] == 8000
    monkeypatch.setattr(prepared, "MAX_MATRIX_BYTES", 1000)
    with pytest.raises(DataError, match="would take"):
        prepare(frame, "y", "binary")


def test_regression_predictions_come_back_in_original_units():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=100), "y": rng.normal(1000, 250, 100)})
    data = prepare(frame, "y", "regression")
    assert abs(data.y_train.mean()) < 1e-5  # standardized for training
    predictions, _ = data.preparation.decode_outputs(data.y_test[:, None])
    assert predictions == pytest.approx(data.split.test["y"].to_numpy(), rel=1e-5)


def test_text_numbers_with_thousands_separators_read_as_numbers():
    train = pd.DataFrame({"n": ["1,200", "3,449", "oops", "500"], "y": [1.0, 2.0, 3.0, 4.0]})
    prep = fitted(train, "regression", kinds={"n": "numeric"})
    assert prep.encoders["n"].fill_ == 1200.0  # the median of 500, 1200 and 3449; "oops" is missing
