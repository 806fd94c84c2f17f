"""The contract every encoding keeps: fitted on training values only, the same output after a JSON round trip, and
an answer (never NaN, never an error) for missing and unseen values. A new encoding registered in the encoders
is checked here without a new test; its own behaviour gets a test of its own."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dlcore.runtime.encoders import ENCODERS, KINDS, MAX_ONEHOT_LEVELS, encodings, fit_encoder, from_config
from dlcore.runtime.errors import DataError
from pages.shared import OPTION_LABELS


def samples(kind: str) -> tuple[pd.Series, pd.Series]:
    """Training values of a column of ``kind`` with gaps, and new values: the training ones, missing ones and
    values never seen in training (a new level, an out-of-range number, a far date, text in a number column)."""
    rng = np.random.default_rng(0)
    n = 200
    if kind == "numeric":
        train = pd.Series(rng.lognormal(3, 1, n).round(2))
        new = pd.Series(["12.5", None, "1e6", "n/a", "-3"], dtype="string")
    elif kind == "boolean":
        train = pd.Series(rng.choice(["yes", "no"], n))
        new = pd.Series(["yes", None, "maybe", "NO", "no"])
    elif kind == "datetime":
        train = pd.Series((pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), "h") * 24)
                          .strftime("%Y-%m-%d %H:%M"))
        new = pd.Series(["2023-05-01 10:00", None, "2031-12-31 23:00", "not a date", "2023-02-29"])
    else:  # categorical, text, identifier, constant, excluded: text with a number inside
        train = pd.Series(rng.choice(["ppl_1", "ppl_20", "ppl_300", "x_4"], n))
        new = pd.Series(["ppl_20", None, "ppl_999", "no number", "x_4"])
    train = train.astype(object)
    train.iloc[::9] = None
    return train.rename("column"), new.rename("column")


CASES = [(name, kind) for name, cls in ENCODERS.items() for kind in cls.kinds[:1]]


def test_every_kind_has_an_encoding_and_every_encoding_a_kind():
    assert all(encodings(kind) for kind in KINDS)
    assert all(set(cls.kinds) <= set(KINDS) and cls.title for cls in ENCODERS.values())


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[name for name, _ in CASES])
def test_fit_transform_save_load_transform(name, kind):
    train, new = samples(kind)
    encoder = fit_encoder(train, kind, {"encoding": name})
    assert encoder.name == name
    before = json.dumps(encoder.get_config(), sort_keys=True)

    out = encoder.transform(new)
    assert out.shape == (len(new), len(encoder.features_))
    assert np.isfinite(out).all(), "missing and unseen values still get numbers"
    assert json.dumps(encoder.get_config(), sort_keys=True) == before, "transforming new rows learns nothing"

    loaded = from_config(json.loads(before))
    np.testing.assert_array_equal(loaded.transform(new), out)
    np.testing.assert_array_equal(loaded.transform(train), encoder.transform(train))
    assert loaded.features_ == encoder.features_ and loaded.seen_ == encoder.seen_
    assert loaded.describe() == encoder.describe() and encoder.describe()
    assert isinstance(encoder.unseen, str) and encoder.unseen


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[name for name, _ in CASES])
def test_the_state_comes_from_the_training_values_only(name, kind):
    train, new = samples(kind)
    alone = fit_encoder(train, kind, {"encoding": name})
    with_new = fit_encoder(pd.concat([train, new], ignore_index=True), kind, {"encoding": name})
    assert fit_encoder(train, kind, {"encoding": name}).get_config() == alone.get_config(), "fitting is repeatable"
    if alone.features_:  # an excluded column has no state to learn
        assert with_new.get_config()["fitted"] != alone.get_config()["fitted"]


def test_auto_picks_one_hot_up_to_the_level_limit_then_a_learned_embedding():
    few = pd.Series([f"l{i % MAX_ONEHOT_LEVELS}" for i in range(500)], name="c")
    many = pd.Series([f"l{i % (MAX_ONEHOT_LEVELS + 1)}" for i in range(500)], name="c")
    assert fit_encoder(few, "categorical").name == "onehot"
    embedding = fit_encoder(many, "categorical")
    assert embedding.name == "embedding" and embedding.feature_types() == [f"category:{MAX_ONEHOT_LEVELS + 2}"]
    assert fit_encoder(few, "identifier").features_ == []


def test_an_unknown_kind_encoding_or_choice_is_refused_with_the_choices():
    values = pd.Series([1.0, 2.0, 3.0], name="n")
    with pytest.raises(DataError, match="Unknown column kind 'number'"):
        fit_encoder(values, "number")
    with pytest.raises(DataError, match="Unknown encoding 'onehot' for a numeric column; choose one of auto, numeric"):
        fit_encoder(values, "numeric", {"encoding": "onehot"})
    with pytest.raises(DataError, match="Unknown scale 'cubic'"):
        fit_encoder(values, "numeric", {"scale": "cubic"})


def test_options_of_another_encoding_are_ignored():
    dates = pd.Series(["2024-01-01", "2024-03-05", "2024-07-09"], name="d")
    assert fit_encoder(dates, "datetime", {"log": True}).get_config() == fit_encoder(dates, "datetime").get_config()


def test_a_foreign_config_is_refused():
    config = fit_encoder(pd.Series([1.0, 2.0], name="n"), "numeric").get_config()
    with pytest.raises(DataError, match="Unknown encoding 'pickle'"):
        from_config({**config, "encoding": "pickle"})
    with pytest.raises(DataError, match="Unexpected fitted value '__class__'"):
        from_config({**config, "fitted": {"__class__": "x"}})


def test_piecewise_linear_fills_the_bins_below_a_value_and_part_of_its_own():
    values = pd.Series(np.arange(101, dtype=float), name="age")
    values.iloc[7] = np.nan
    encoder = fit_encoder(values, "numeric", {"encoding": "piecewise_linear", "bins": 4})
    assert encoder.features_ == ["age_bin1", "age_bin2", "age_bin3", "age_bin4", "age_missing"]
    low, q1, median, q3, high = encoder.edges_
    assert (low, high) == (0.0, 100.0) and low < q1 < median < q3 < high
    out = encoder.transform(pd.Series([q1, (median + q3) / 2, 150.0, -10.0, None], name="age"))
    np.testing.assert_allclose(out[0], [1, 0, 0, 0, 0], atol=1e-12)  # exactly the first edge above the minimum
    np.testing.assert_allclose(out[1], [1, 1, 0.5, 0, 0], atol=1e-12)  # halfway through the third bin
    assert out[2, :3].tolist() == [1, 1, 1] and out[2, 3] > 1  # above the range: the last bin extrapolates
    assert out[3, 0] < 0 and out[3, 1:4].tolist() == [0, 0, 0]  # below it: the first bin does
    median_row = encoder.transform(pd.Series([values.median()], name="age"))[0]
    assert out[4, -1] == 1 and out[4, :4].tolist() == median_row[:4].tolist()  # missing: the training median
    with pytest.raises(DataError, match="bins is the number of quantile bins"):
        fit_encoder(values, "numeric", {"encoding": "piecewise_linear", "bins": 1})


def test_piecewise_linear_is_offered_for_numbers_and_chosen_through_the_preparation():
    from conftest import mixed_frame
    from dlcore.prepared import prepare

    assert encodings("numeric") == ["numeric", "piecewise_linear"]  # the default stays first
    data = prepare(mixed_frame(300, 0), "label", "binary", options={"income": {"encoding": "piecewise_linear"}})
    names = data.preparation.feature_names
    assert [name for name in names if name.startswith("income")] == [f"income_bin{i}" for i in range(1, 9)]
    plan = data.preparation.plan().set_index("column")
    assert plan.loc["income", "encoding"] == "piecewise-linear bins"
    assert plan.loc["x", "encoding"] == "number: fill, scale"


def test_every_option_an_encoder_offers_has_a_label_and_help_for_the_prepare_page():
    offered = {option for cls in ENCODERS.values() for option in cls("x").options}
    assert offered >= {"impute", "scale", "log", "min_frequency", "cyclical", "bins"}
    assert all(OPTION_LABELS[option][0] and OPTION_LABELS[option][1] for option in offered)
