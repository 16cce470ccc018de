"""Predictors on the real NAS-Bench-Graph tables: learning, save/load, clear errors (tiny configs)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from nasbench_meta.cli.main import main
from nasbench_meta.predictors import (NotFittedError, UnsupportedTaskError, available_predictors, fit_for_task,
                                      get_predictor, load_predictor, predict_task, predict_with, register,
                                      sample_support)
from nasbench_meta.spaces import UnknownArchitectureError

SOURCES = ["citeseer", "cs", "photo"]  # small meta-training pool keeps the suite fast
TARGET = "physics"
# One thread each: with models this small, thread start-up and OpenMP spin-waiting cost more than
# they save, and on a loaded CI machine two spinning threads per fit slow the suite down 10-100x.
TINY = {
    "xgb-meta": {"n_estimators": 40, "train_shots": [0, 20], "episodes_per_shot": 1, "rows_per_episode": 800,
                 "n_jobs": 1},
    "gnn-meta": {"hidden": 16, "layers": 2, "steps": 40, "query_size": 128, "train_shots": [0, 20]},
    "gp-meta": {"hidden": 64, "features": 16, "epochs": 4, "fit_shots": [20], "episodes_per_shot": 2},
    "gin": {"hidden": 16, "layers": 2, "epochs": 40},
    "xgb": {"n_estimators": 50, "n_jobs": 1},
    "xgb-src": {"n_estimators": 50, "n_jobs": 1},
    "rf": {"n_estimators": 30, "n_jobs": 1},
}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The GNN predictors train tiny models here: one intra-op thread (restored afterwards)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def held_out_spearman(bench, task: str, series) -> float:
    """Spearman on the architectures the predictor did not see measured (on the series' split)."""
    unseen = ~series.index.isin(series.attrs["support_keys"])
    true = bench.scores(task, split=series.attrs["split"], seeds="mean")[bench.rows(series.index[unseen])]
    return spearmanr(series.values[unseen], true).statistic


_FITTED: dict = {}


def fitted(name: str, bench, seed: int = 0):
    """Fit once per (name, seed) for the whole module: predicting never changes a fitted predictor."""
    if (name, seed) not in _FITTED:
        _FITTED[name, seed] = get_predictor(name, **TINY.get(name, {})).fit(bench, SOURCES, split="valid", seed=seed)
    return _FITTED[name, seed]


def test_registry_lists_every_kind_of_predictor():
    names = available_predictors()
    for name in ("mean-rank", "weighted-rank", "xgb", "rf", "gin", "xgb-src", "xgb-meta", "gnn-meta", "gp-meta"):
        assert name in names
    with pytest.raises(LookupError, match="available: mean-rank"):
        get_predictor("xgboost")
    with pytest.raises(TypeError, match="options"):
        get_predictor("xgb", depth=3)


@pytest.mark.parametrize("name, shots, floor", [
    ("mean-rank", 0, 0.4), ("weighted-rank", 50, 0.4), ("xgb-meta", 0, 0.4), ("xgb-meta", 20, 0.4),
    ("gnn-meta", 20, 0.3), ("gp-meta", 0, 0.4), ("gp-meta", 20, 0.4), ("xgb", 50, 0.25), ("rf", 50, 0.25), ("gin", 50, 0.2), ("xgb-src", 50, 0.35),
])
def test_predictors_learn_the_held_out_task(bench, name, shots, floor):
    # Chance is a Spearman of 0 (|rho| < 0.02 for ~26k archs); these are fixed-seed real runs.
    series = predict_with(fitted(name, bench), bench, TARGET, shots=shots, seed=0, split="valid")
    assert len(series) == len(bench.task_keys(TARGET))
    assert held_out_spearman(bench, TARGET, series) > floor


@pytest.mark.parametrize("split, other_split_heads", [("valid", False), ("test", True)])
def test_gp_meta_learns_with_or_without_the_other_split_heads(bench, split, other_split_heads):
    # the other split's ranks only shape the features: either way, and fitted on either split, it
    # predicts the held-out task's scores on the split it was fitted on
    p = get_predictor("gp-meta", **{**TINY["gp-meta"], "other_split_heads": other_split_heads})
    p.fit(bench, SOURCES, split=split, seed=0)
    series = predict_with(p, bench, TARGET, shots=20, seed=0, split=split)
    assert held_out_spearman(bench, TARGET, series) > 0.4


def test_weighted_rank_uses_the_support_set(bench):
    # cora agrees with citeseer/pubmed only: weighting by agreement with 100 measured archs helps
    p = fit_for_task("weighted-rank", bench, "cora", seed=0, split="valid")
    zero = held_out_spearman(bench, "cora", predict_with(p, bench, "cora", shots=0, seed=0, split="valid"))
    hundred = held_out_spearman(bench, "cora", predict_with(p, bench, "cora", shots=100, seed=0, split="valid"))
    assert hundred > zero + 0.1


@pytest.mark.parametrize("name", ["mean-rank", "weighted-rank", "xgb", "xgb-src", "xgb-meta", "gnn-meta", "gp-meta",
                                  "gin"])
def test_save_load_reproduces_predictions_exactly(bench, tmp_path, name):
    p = fitted(name, bench, seed=0)
    support = sample_support(bench, TARGET, shots=20, seed=1)
    kwargs = dict(support_keys=support, support_scores=bench.scores(TARGET, split="valid", seeds="mean")[bench.rows(support)])
    keys = bench.keys[::7]
    before = p.predict(keys, **kwargs)
    loaded = load_predictor(p.save(tmp_path / f"{name}.npz"))
    assert loaded.fit_info == p.fit_info == {**loaded.fit_info, "source_tasks": SOURCES, "seed": 0, "split": "valid"}
    assert loaded.config == p.config
    np.testing.assert_array_equal(loaded.predict(keys, **kwargs), before)


def test_fit_and_predict_are_deterministic_for_a_seed(bench):
    # a second fit with the same seed gives bit-identical predictions
    again = get_predictor("xgb-meta", **TINY["xgb-meta"]).fit(bench, SOURCES, split="valid", seed=0)
    a = predict_with(fitted("xgb-meta", bench), bench, "cora", shots=10, seed=5, split="valid")
    b = predict_with(again, bench, "cora", shots=10, seed=5, split="valid")
    np.testing.assert_array_equal(a.values, b.values)
    assert a.attrs["support_keys"] == b.attrs["support_keys"]


def test_predict_task_fits_on_every_other_complete_task(bench):
    a = predict_task("weighted-rank", bench, "cora", shots=10, seed=5, split="valid")
    b = predict_task("weighted-rank", bench, "cora", shots=10, seed=5, split="valid")
    np.testing.assert_array_equal(a.values, b.values)
    assert a.attrs["support_keys"] == b.attrs["support_keys"] == sample_support(bench, "cora", shots=10, seed=5).tolist()
    assert "cora" not in a.attrs["fit_info"]["source_tasks"]
    assert set(a.attrs["fit_info"]["source_tasks"]) == set(bench.tasks) - {"cora", "proteins"}


def test_support_sets_are_nested_across_shots(bench):
    small, large = sample_support(bench, "cora", shots=10, seed=2), sample_support(bench, "cora", shots=50, seed=2)
    assert list(small) == list(large[:10])
    assert len(set(large)) == 50


def test_meta_predictor_transfers_to_proteins(bench):
    # Proteins covers 2,021 architectures of another op set: a valid target, never a source.
    series = predict_task("mean-rank", bench, "proteins", shots=0, seed=0, split="valid")
    assert len(series) == 2021 == len(bench.task_keys("proteins"))


def test_clear_errors(bench, tmp_path):
    with pytest.raises(UnsupportedTaskError, match="proteins covers 2021 of 26206"):
        get_predictor("xgb-meta").fit(bench, ["cora", "proteins"], split="valid", seed=0)
    with pytest.raises(KeyError, match="unknown task 'imagenet'"):
        get_predictor("mean-rank").fit(bench, ["cora", "imagenet"], split="valid", seed=0)
    with pytest.raises(ValueError, match="at least 2 source tasks"):
        get_predictor("mean-rank").fit(bench, ["cora"], split="valid", seed=0)
    with pytest.raises(ValueError, match="split must be"):
        get_predictor("mean-rank").fit(bench, SOURCES, split="train", seed=0)
    p = get_predictor("xgb")
    with pytest.raises(NotFittedError, match="call fit"):
        p.predict(bench.keys[:3], support_keys=[], support_scores=[])
    p.fit(bench, [], split="valid", seed=0)
    with pytest.raises(ValueError, match="needs at least 2 of them, got 0") as err:
        p.predict(bench.keys[:3], support_keys=[], support_scores=[])
    suggested = str(err.value).split("needs at most that many (")[1].rstrip(")").split(", ")
    assert "gp-meta" in suggested and not {"xgb", "xgb-src", "rf", "gin"} & set(suggested)  # each one works at K = 0
    mean_rank = fitted("mean-rank", bench)
    with pytest.raises(UnknownArchitectureError, match="not canonical keys"):
        mean_rank.predict([123456789], support_keys=[], support_scores=[])
    with pytest.raises(ValueError, match="2 support keys but 1"):
        mean_rank.predict(bench.keys[:3], support_keys=bench.keys[:2], support_scores=[0.5])
    with pytest.raises(ValueError, match="NaN"):
        mean_rank.predict(bench.keys[:3], support_keys=bench.keys[:1], support_scores=[float("nan")])
    with pytest.raises(ValueError, match="shots must be between 0 and 2021"):
        predict_task("mean-rank", bench, "proteins", shots=5000, seed=0, split="valid")
    bogus = tmp_path / "bogus.npz"
    bogus.write_bytes(b"not a predictor")
    with pytest.raises(ValueError, match="not a readable nasbench-meta predictor file"):
        load_predictor(bogus)
    with pytest.raises(FileNotFoundError, match="predictors train"):
        load_predictor(tmp_path / "missing.npz")


def test_a_failed_save_keeps_the_previous_file(bench, tmp_path):
    path = fitted("mean-rank", bench).save(tmp_path / "p.npz")
    before = path.read_bytes()
    with pytest.raises(NotFittedError):
        get_predictor("mean-rank").save(path)
    assert path.read_bytes() == before


def _rewrite_npz(src, dst, edit) -> None:
    """Copy a predictor file with ``edit(header, arrays)`` applied (a hand-damaged file)."""
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(bytes(arrays["header"]).decode())
    edit(header, arrays)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with open(dst, "wb") as f:
        np.savez(f, **arrays)


def test_damaged_predictor_files_fail_with_the_fix(bench, bench_root, tmp_path, capsys):
    good = fitted("xgb-meta", bench).save(tmp_path / "good.npz")
    raw = good.read_bytes()
    damaged = {"truncated.npz": raw[: len(raw) // 2], "empty.npz": b"", "random.npz": bytes(range(256)) * 8}
    for name, content in damaged.items():
        (tmp_path / name).write_bytes(content)
    _rewrite_npz(good, tmp_path / "no-fit-info.npz", lambda h, a: h.pop("fit_info"))
    _rewrite_npz(good, tmp_path / "no-booster.npz", lambda h, a: a.pop("state/booster_0"))
    _rewrite_npz(good, tmp_path / "bad-booster.npz", lambda h, a: a.__setitem__("state/booster_0", a["keys"][:9].astype(np.uint8)))
    _rewrite_npz(good, tmp_path / "bad-option.npz", lambda h, a: h["config"].__setitem__("bogus", 1))
    for name in [*damaged, "no-fit-info.npz", "no-booster.npz", "bad-booster.npz", "bad-option.npz"]:
        with pytest.raises(ValueError, match="predictors train") as exc:
            load_predictor(tmp_path / name)
        assert str(tmp_path / name) in str(exc.value) and "\n" not in str(exc.value), name
        assert main(["predictors", "predict", "--model", str(tmp_path / name), "--task", "cora", "--shots", "5",
                     "--seed", "0", "--root", str(bench_root)]) == 2   # one line, no traceback
        assert "error:" in capsys.readouterr().err
    assert good.read_bytes() == raw
    # a wrong option on the command line is one clear line too
    assert main(["predictors", "predict", "--predictor", "mean-rank", "--task", "cora", "--shots", "5", "--seed", "0",
                 "--root", str(bench_root), "--config", '{"bogus": 1}']) == 2
    assert "mean-rank has no option(s) ['bogus']" in capsys.readouterr().err


def test_xgb_meta_ensemble_gives_member_spread(bench):
    p = get_predictor("xgb-meta", **{**TINY["xgb-meta"], "n_estimators": 10, "n_models": 2, "subsample": 0.5}).fit(
        bench, SOURCES, split="valid", seed=0)
    members = p.predict_members(np.arange(100), np.array([], dtype=np.int64), np.array([]))
    assert members.shape == (2, 100)
    assert members.std(0).mean() > 0


def test_gp_meta_is_least_uncertain_where_it_has_measured(bench):
    p = fitted("gp-meta", bench)
    support = sample_support(bench, TARGET, shots=20, seed=3)
    scores = bench.scores(TARGET, split="valid", seeds="mean")[bench.rows(support)]
    others = bench.keys[~np.isin(bench.keys, support)][::50]
    measured = p.predict_std(support, support_keys=support, support_scores=scores)
    unmeasured = p.predict_std(others, support_keys=support, support_scores=scores)
    prior = p.predict_std(others, support_keys=[], support_scores=[])
    assert measured.mean() < unmeasured.mean() <= prior.mean()
    assert np.all(np.isfinite(unmeasured))


def test_predict_with_refuses_a_predictor_fitted_on_the_target(bench):
    # fitted on citeseer/cs/photo: scoring citeseer with it would leak the target
    p = fitted("mean-rank", bench)
    with pytest.raises(ValueError, match="mean-rank was fitted on citeseer .* leak the target. Fit one without it"):
        predict_with(p, bench, "citeseer", shots=0, seed=0, split="valid")
    assert len(predict_with(p, bench, "cora", shots=0, seed=0, split="valid")) == len(bench.keys)  # not a source
    assert len(p.predict(bench.task_keys("citeseer"), support_keys=[], support_scores=[])) == len(bench.keys)


@pytest.mark.parametrize("seed, error, message", [
    (None, TypeError, "seed is None: pass an integer"), (1.7, TypeError, "integer from 0"),
    (True, TypeError, "integer from 0"), (-1, ValueError, "from 0 to 2"), (2**63, ValueError, "from 0 to 2"),
])
def test_seeds_are_checked_where_they_enter(bench, seed, error, message):
    p = fitted("mean-rank", bench)
    calls = [lambda: sample_support(bench, "cora", shots=3, seed=seed),
             lambda: predict_with(p, bench, "cora", shots=3, seed=seed, split="valid"),
             lambda: predict_task("mean-rank", bench, "cora", shots=3, seed=seed, split="valid"),
             lambda: fit_for_task("mean-rank", bench, "cora", seed=seed, split="valid"),
             lambda: get_predictor("mean-rank").fit(bench, SOURCES, split="valid", seed=seed)]
    for call in calls:
        with pytest.raises(error, match=message):
            call()


def test_numpy_integer_seeds_are_recorded_as_ints(bench):
    p = get_predictor("mean-rank").fit(bench, SOURCES, split="valid", seed=np.int64(3))
    series = predict_with(p, bench, "cora", shots=3, seed=np.uint32(4), split="valid")
    assert type(p.fit_info["seed"]) is int and type(series.attrs["seed"]) is int
    assert series.attrs["support_keys"] == sample_support(bench, "cora", shots=3, seed=4).tolist()


def test_predict_task_has_no_default_split(bench):
    with pytest.raises(TypeError, match="split"):
        predict_task("mean-rank", bench, "cora", shots=0, seed=0)


def test_rf_predictions_repeat_exactly_with_parallel_fitting(bench, tmp_path):
    # default n_jobs=2: a parallel predict summed the trees in thread order and differed at 1e-16
    p = get_predictor("rf", n_estimators=30).fit(bench, [], split="valid", seed=0)
    assert p.config["n_jobs"] == 2
    support = sample_support(bench, "cora", shots=50, seed=0)
    kwargs = dict(support_keys=support, support_scores=bench.scores("cora", split="valid", seeds="mean")[bench.rows(support)])
    first = p.predict(bench.keys, **kwargs)
    for again in (p, p, load_predictor(p.save(tmp_path / "rf.npz"))):
        assert np.array_equal(again.predict(bench.keys, **kwargs), first)


def test_a_subclass_returning_the_wrong_scores_fails_by_name(bench):
    from nasbench_meta.predictors import Predictor

    class Short(Predictor):
        name = "short"

        def _predict(self, rows, support_rows, support_scores):
            return np.zeros(3)

    class Holes(Short):
        name = "holes"

        def _predict(self, rows, support_rows, support_scores):
            return np.where(rows % 2 == 0, 0.5, np.nan)

    class Words(Short):
        name = "words"

        def _predict(self, rows, support_rows, support_scores):
            return ["high"] * len(rows)

    class Nameless(Predictor):   # forgot `name = "..."`

        def _predict(self, rows, support_rows, support_scores):
            return np.zeros(len(rows))

    with pytest.raises(ValueError, match=r"Short._predict \(short\) returned shape \(3,\) for 10 rows"):
        Short().fit(bench, [], split="valid", seed=0).predict(bench.keys[:10], support_keys=[], support_scores=[])
    with pytest.raises(ValueError, match=r"Holes._predict \(holes\) returned 5 NaN or infinite score\(s\) of 10"):
        Holes().fit(bench, [], split="valid", seed=0).predict(bench.keys[:10], support_keys=[], support_scores=[])
    with pytest.raises(ValueError, match=r"Words._predict \(words\) returned list of <U4, not numbers"):  # one line
        Words().fit(bench, [], split="valid", seed=0).predict(bench.keys[:10], support_keys=[], support_scores=[])
    with pytest.raises(TypeError, match="Nameless has no name: set a class attribute name = "):
        Nameless()
    with pytest.raises(TypeError, match="Nameless has no name"):
        register(Nameless)


@pytest.mark.parametrize("name", ["gin", "gnn-meta", "gp-meta"])
def test_torch_predictors_leave_the_callers_random_stream_alone(bench, tmp_path, name):
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    p = get_predictor(name, **TINY[name]).fit(bench, SOURCES, split="valid", seed=0)
    support = sample_support(bench, TARGET, shots=20, seed=1)
    scores = bench.scores(TARGET, split="valid", seeds="mean")[bench.rows(support)]
    before = p.predict(bench.keys[::50], support_keys=support, support_scores=scores)
    loaded = load_predictor(p.save(tmp_path / f"{name}.npz"))
    assert torch.equal(torch.rand(3), expected)   # fit, predict and load did not move the stream
    torch.manual_seed(99)                          # and the caller's stream does not move the predictions
    np.testing.assert_array_equal(loaded.predict(bench.keys[::50], support_keys=support, support_scores=scores), before)


def test_options_and_source_tasks_that_cannot_work_are_refused(bench):
    with pytest.raises(ValueError, match="temperature must be a positive number, got 0"):
        get_predictor("weighted-rank", temperature=0)    # all-NaN predictions otherwise
    with pytest.raises(TypeError, match=r"list of task names, e.g. \['cora'\]"):
        get_predictor("mean-rank").fit(bench, "cora", split="valid", seed=0)   # not tasks c, o, r, a


def test_a_predictor_class_works_where_a_name_does(bench):
    from nasbench_meta.predictors.transfer import MeanRank

    by_class = predict_task(MeanRank, bench, "cora", shots=0, seed=0, split="valid")
    by_name = predict_task("mean-rank", bench, "cora", shots=0, seed=0, split="valid")
    assert by_class.equals(by_name) and isinstance(get_predictor(MeanRank), MeanRank)


def test_a_single_task_predictor_is_never_taken_for_a_leak(bench):
    # rf ignores its source tasks: fitting it with cora among them leaks nothing
    from nasbench_meta.predictors.base import complete_tasks

    rf = get_predictor("rf").fit(bench, complete_tasks(bench), split="valid", seed=0)
    series = predict_with(rf, bench, "cora", shots=10, seed=0, split="valid")
    assert series.attrs["meta"] is False and len(series) == len(bench.task_keys("cora"))


def test_keys_must_be_whole_numbers_everywhere(bench):
    p = get_predictor("mean-rank").fit(bench, ["citeseer", "pubmed"], split="valid", seed=0)
    with pytest.raises(UnknownArchitectureError, match="integer table keys, got \\[30141.9\\]"):
        p.predict([30141.9], support_keys=[], support_scores=[])        # would have answered for key 30141
    none = {"support_keys": [], "support_scores": []}
    assert p.predict(np.array([30141.0], dtype=object), **none).tolist() == p.predict([30141], **none).tolist()


def test_state_a_predictor_file_cannot_hold_is_refused_on_save(bench, tmp_path):
    # A dict in _state() was pickled into the file, which load (no pickles) then called damaged;
    # a lambda gave numpy's pickling traceback.
    from nasbench_meta.predictors import Predictor

    class ObjectState(Predictor):
        name = "object-state"

        def _predict(self, rows, support_rows, support_scores):
            return rows.astype(float)

        def _state(self):
            return {"names": np.array(["a", "b"]), "tags": {"a": 1}}

    fitted = ObjectState().fit(bench, [], split="valid", seed=0)
    with pytest.raises(ValueError, match=r"ObjectState._state\(\)\['tags'\] is dict, which a predictor file cannot "
                                         "hold"):
        fitted.save(tmp_path / "p.npz")
    assert not (tmp_path / "p.npz").exists()


def test_options_json_cannot_hold_are_refused_when_made(bench):
    # np.arange(3) for an option whose default is None passed, then save() failed after the fit
    from nasbench_meta.predictors import Predictor
    from nasbench_meta.predictors.options import OptionValueError

    class Loose(Predictor):
        name = "loose"
        defaults = {"anything": None}

        def _predict(self, rows, support_rows, support_scores):
            return rows.astype(float)

    with pytest.raises(OptionValueError, match="loose options must be JSON data"):
        Loose(anything=np.arange(3))
    assert Loose(anything=[0, 1, 2]).config == {"anything": [0, 1, 2]}


@pytest.mark.parametrize("name, option, config", [
    ("xgb-meta", "train_shots", {"train_shots": [5, 30000], "n_estimators": 1}),
    ("gp-meta", "fit_shots", {"fit_shots": [26206], "epochs": 1}),
    ("gnn-meta", "train_shots", {"train_shots": [26200], "steps": 1}),
])
def test_support_sizes_no_source_task_can_draw_fail_before_fitting(bench, name, option, config):
    # numpy's "Cannot take a larger sample than population" came mid-fit, reported as the user's code
    from nasbench_meta.predictors.options import OptionValueError

    with pytest.raises(OptionValueError, match=f"{name} option {option} holds .*26206 architectures"):
        get_predictor(name, **config).fit(bench, ["citeseer", "pubmed"], split="valid", seed=0)


def test_scores_must_be_numbers_and_the_support_set_stays_the_callers(bench):
    # numeric strings and booleans were taken as scores; a _predict writing into support_scores
    # changed the caller's array
    from nasbench_meta.predictors import Predictor

    class Returns(Predictor):
        name = "returns"
        defaults = {"kind_of_value": "str"}

        def _predict(self, rows, support_rows, support_scores):
            support_scores[:] = 0.0
            return [str(r) for r in rows] if self.config["kind_of_value"] == "str" else rows % 2 == 0

    keys, support = bench.keys[:10], np.array([0.5, 0.7])
    for value, dtype in (("str", "<U"), ("bool", "bool")):
        with pytest.raises(ValueError, match=f"returned .* of {dtype}.*not numbers"):
            Returns(kind_of_value=value).fit(bench, [], split="valid", seed=0).predict(
                keys, support_keys=bench.keys[20:22], support_scores=support)
    assert support.tolist() == [0.5, 0.7]


@pytest.mark.parametrize("attribute, value, message", [
    ("scale", "banana", "scale must be"), ("kind", "whatever", "kind must be"), ("min_support", -3, "min_support must be"),
])
def test_class_attributes_the_toolkit_reads_are_checked(attribute, value, message):
    from nasbench_meta.predictors import Predictor

    cls = type("Odd", (Predictor,), {"name": "odd", attribute: value,
                                     "_predict": lambda self, rows, support_rows, support_scores: rows * 1.0})
    with pytest.raises(TypeError, match=f"Odd.{message}"):
        cls()
