"""Predictor option values are checked when the predictor is built, before any fitting.

Construction only (fast), plus one CLI run that fails before fitting and one saved file whose
config was edited by hand.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from nasbench_meta.cli.main import main
from nasbench_meta.predictors import Predictor, available_predictors, get_predictor, load_predictor, predictor_class
from nasbench_meta.predictors.options import OptionTypeError, OptionValueError, rule_for_default

WHOLE_1 = "a whole number >= 1"
SHOTS_0 = "a non-empty list of whole numbers >= 0"
FRACTION = r"a number in \(0, 1\]"

# (predictor, option, value, what the message says is allowed, a wrong type?)
BAD = [
    # QA: silently broken predictors
    ("xgb-meta", "n_estimators", -3, WHOLE_1, False),
    ("xgb-meta", "n_estimators", 0, WHOLE_1, False),
    ("gp-meta", "epochs", -1, WHOLE_1, False),
    ("gp-meta", "epochs", "2", WHOLE_1, True),
    ("gp-meta", "epochs", 1.7, WHOLE_1, True),
    ("gp-meta", "features", 0, WHOLE_1, False),
    ("xgb-meta", "use_encoding", "no", "true or false", True),
    ("xgb-meta", "rows_per_episode", 0, WHOLE_1, False),
    ("xgb-meta", "n_models", 0, WHOLE_1, False),
    # QA: raw tracebacks
    ("xgb-meta", "n_estimators", "10", WHOLE_1, True),
    ("xgb-meta", "n_estimators", 10.5, WHOLE_1, True),
    ("xgb-meta", "train_shots", 5, SHOTS_0, True),
    ("gp-meta", "episodes_per_shot", 0, WHOLE_1, False),
    ("gp-meta", "lr", "fast", "a positive number", True),
    # QA: cryptic errors
    ("xgb-meta", "train_shots", [], SHOTS_0, False),
    ("gp-meta", "fit_shots", [], "a non-empty list of whole numbers >= 1", False),
    ("gp-meta", "batch_size", 0, WHOLE_1, False),
    ("xgb-meta", "train_shots", [-1, 5], SHOTS_0, False),
    # QA: runaway fit (XGBoost reads depth 0 as unlimited)
    ("xgb-meta", "max_depth", 0, WHOLE_1, False),
    # one at least per predictor, and the edges of each kind of rule
    ("weighted-rank", "temperature", 0, "a positive number", False),
    ("weighted-rank", "temperature", float("nan"), "a positive number", False),
    ("weighted-rank", "temperature", float("inf"), "a positive number", False),
    ("weighted-rank", "temperature", "0.1", "a positive number", True),
    ("weighted-rank", "temperature", True, "a positive number", True),
    ("xgb", "subsample", 1.5, FRACTION, False),
    ("xgb", "colsample_bytree", 0, FRACTION, False),
    ("xgb", "learning_rate", -0.1, "a positive number", False),
    ("xgb", "n_jobs", 0, "a whole number >= 1, or -1, or None", False),   # -1 / None: all cores
    ("xgb-src", "max_depth", 0, WHOLE_1, False),
    ("xgb-src", "n_estimators", 2.0, WHOLE_1, True),        # 2.0 is no whole number, as for seeds and epochs
    ("rf", "max_features", 0, "a positive number, or 'sqrt', or 'log2', or None", False),
    ("rf", "min_samples_leaf", 0, WHOLE_1, False),
    ("rf", "n_estimators", None, WHOLE_1, True),
    ("gin", "weight_decay", -1e-4, "a number >= 0", False),
    ("gin", "epochs", 0, WHOLE_1, False),
    ("gin", "n_models", True, WHOLE_1, True),               # a bool is no whole number
    ("gnn-meta", "steps", 0, WHOLE_1, False),
    ("gnn-meta", "query_size", 0, WHOLE_1, False),
    ("gnn-meta", "lr", 0, "a positive number", False),
    ("gnn-meta", "train_shots", [0, 5.0], SHOTS_0, True),
    ("gnn-meta", "train_shots", "0,5", SHOTS_0, True),
    ("gnn-meta", "predict_batch", 0, WHOLE_1, False),
    ("gp-meta", "fit_shots", [0, 5], "a non-empty list of whole numbers >= 1", False),
    ("gp-meta", "other_split_heads", 1, "true or false", True),
    ("gp-meta", "hidden", -256, WHOLE_1, False),
]


@pytest.mark.parametrize("name,option,value,allowed,wrong_type", BAD,
                         ids=[f"{n}-{o}={v!r}" for n, o, v, _, _ in BAD])
def test_a_bad_option_value_is_refused_on_construction(name, option, value, allowed, wrong_type):
    with pytest.raises(OptionValueError) as exc:
        get_predictor(name, **{option: value})
    message = str(exc.value)
    assert re.fullmatch(rf"{re.escape(name)} option {option} must be {allowed}, got {re.escape(repr(value))}",
                        message), message
    assert isinstance(exc.value, ValueError)                      # the CLI prints one line for it
    assert isinstance(exc.value, TypeError) == wrong_type
    assert isinstance(exc.value, OptionTypeError) == wrong_type


def test_every_registered_predictor_builds_with_its_defaults_and_checks_every_option():
    assert len(available_predictors()) >= 9
    for name in available_predictors():
        cls = predictor_class(name)
        p = get_predictor(name)
        assert p.config == cls.defaults, name
        assert json.loads(json.dumps(p.config)) == p.config, name      # what save() writes
        # every option of a built-in predictor has an explicit rule, and no rule names a missing option
        assert set(cls.option_rules) == set(cls.defaults), name


def test_every_predictor_with_options_has_a_bad_value_case_above():
    picked = {name for name, *_ in BAD}
    assert picked >= set(available_predictors()) - {"mean-rank"}   # mean-rank has no options


def test_good_values_are_accepted_and_numpy_scalars_stored_as_python_ones():
    p = get_predictor("xgb-meta", n_estimators=np.int64(5), max_depth=1, train_shots=(np.int32(0), 5),
                      use_encoding=np.bool_(False), subsample=1, learning_rate=np.float32(0.5), n_jobs=1)
    assert p.config["n_estimators"] == 5 and type(p.config["n_estimators"]) is int
    assert p.config["train_shots"] == [0, 5] and all(type(k) is int for k in p.config["train_shots"])
    assert p.config["use_encoding"] is False
    assert p.config["subsample"] == 1 and type(p.config["subsample"]) is int   # whole stays whole
    assert p.config["learning_rate"] == 0.5 and type(p.config["learning_rate"]) is float
    json.dumps(p.config)   # numpy scalars would not be JSON
    assert get_predictor("weighted-rank", temperature=1).config["temperature"] == 1.0
    # as scikit-learn reads them: an int is a count (1: one feature), a float a fraction (1.0: all);
    # configs saved before the rules keep their meaning
    assert type(get_predictor("rf", max_features=1).config["max_features"]) is int
    assert get_predictor("rf", max_features=1.0).config["max_features"] == 1.0
    for value in ("sqrt", "log2", None, 7):
        assert get_predictor("rf", max_features=value).config["max_features"] == value
    for value in (-1, None, 3):
        assert get_predictor("xgb", n_jobs=value).config["n_jobs"] == value
        assert get_predictor("rf", n_jobs=value).config["n_jobs"] == value
    assert get_predictor("gp-meta", fit_shots=[1], weight_decay=0).config["fit_shots"] == [1]
    assert get_predictor("gnn-meta", train_shots=[0]).config["train_shots"] == [0]


class MyPredictor(Predictor):
    """A user's predictor: no option_rules, so its options get the checks their defaults imply."""

    name = "my-options-test"
    defaults = {"depth": 3, "rate": 0.5, "verbose": False, "shots": [1, 2], "label": "x", "anything": None}

    def _predict(self, rows, support_rows, support_scores):
        return np.zeros(len(rows))


@pytest.mark.parametrize("option,value,allowed", [
    ("depth", 2.0, "a whole number"), ("depth", "3", "a whole number"), ("depth", True, "a whole number"),
    ("rate", "fast", "a finite number"), ("rate", float("nan"), "a finite number"),
    ("rate", float("-inf"), "a finite number"), ("rate", False, "a finite number"),
    ("verbose", 1, "true or false"), ("verbose", "no", "true or false"),
    ("shots", 5, "a list"), ("label", 3, "a string"),
])
def test_a_user_predictor_gets_the_checks_its_defaults_imply(option, value, allowed):
    with pytest.raises(OptionValueError,
                       match=rf"^my-options-test option {option} must be {allowed}, got {re.escape(repr(value))}$"):
        MyPredictor(**{option: value})


def test_a_user_predictor_takes_values_of_its_defaults_types():
    p = MyPredictor(depth=np.int16(-4), rate=2, verbose=np.bool_(True), shots=(), label="y", anything={"a": 1})
    assert p.config == {"depth": -4, "rate": 2.0, "verbose": True, "shots": [], "label": "y", "anything": {"a": 1}}
    assert MyPredictor().config == MyPredictor.defaults
    assert rule_for_default(None) is None


def test_a_user_predictor_can_declare_its_own_rules():
    from nasbench_meta.predictors.options import whole

    class Bounded(MyPredictor):
        name = "my-bounded-options-test"
        option_rules = {"depth": whole(1, 10, none=True)}

    assert Bounded(depth=None).config["depth"] is None
    with pytest.raises(OptionValueError, match=r"depth must be a whole number from 1 to 10, or None, got 11$"):
        Bounded(depth=11)
    with pytest.raises(OptionValueError, match=r"rate must be a finite number, got 'x'$"):   # the others: generic
        Bounded(rate="x")


def test_the_cli_refuses_a_bad_value_in_one_line_before_fitting(bench_root, tmp_path, capsys):
    out = tmp_path / "p.npz"
    assert main(["predictors", "train", "--predictor", "xgb-meta", "--holdout", "cora", "--seed", "0",
                 "--out", str(out), "--root", str(bench_root), "--config", '{"n_estimators": "10"}']) == 2
    err = capsys.readouterr().err
    assert err == "nasbench-meta: error: xgb-meta option n_estimators must be a whole number >= 1, got '10'\n"
    assert not out.exists()


def test_a_saved_file_with_a_bad_value_fails_clearly_on_load(bench, tmp_path):
    good = get_predictor("weighted-rank").fit(bench, ["citeseer", "pubmed"], split="valid", seed=0).save(
        tmp_path / "good.npz")
    with np.load(good) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header["config"]["temperature"] = -1
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez_compressed(bad, **arrays)
    with pytest.raises(ValueError) as exc:
        load_predictor(bad)
    message = str(exc.value)
    assert str(bad) in message and "\n" not in message
    assert "weighted-rank option temperature must be a positive number, got -1" in message
    assert "predictors train" in message
    assert load_predictor(good).config == {"temperature": 0.1}


def test_rf_refuses_a_fraction_above_one_before_any_fit():
    with pytest.raises(OptionValueError, match="max_features must be a fraction in .0, 1. when a float"):
        get_predictor("rf", max_features=1.5)   # scikit-learn refuses it only once fitting has begun
