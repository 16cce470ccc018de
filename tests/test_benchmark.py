"""Query API (analysis access) and the search oracle (validation only, counted)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
from nas_bench_graph.readbench import light_read

from nasbench_meta.benchmark import MissingResultError, UnknownTaskError
from nasbench_meta.oracle import BudgetExhaustedError, Observation, SearchOracle
from nasbench_meta.spaces import UnknownArchitectureError


def test_single_queries_accept_strings_isomorphic_forms_and_keys(bench):
    upstream = light_read("citeseer")[30141]
    for arch in ("0,0,1,2|gat,gcn,sage,gcn", "0,0,2,1|gcn,gat,sage,gcn", 30141,
                 bench.space.architecture(30141)):
        assert bench.query("citeseer", arch, split="valid", seeds="mean") == upstream["valid_perf"]
        assert bench.query("citeseer", arch, split="test", seeds="mean") == upstream["perf"]


def test_split_and_seed_aggregation_must_be_explicit(bench):
    with pytest.raises(TypeError):
        bench.query("cora", 0)  # no silent default split
    with pytest.raises(TypeError):
        bench.scores("cora", split="valid")  # no silent seed aggregation
    with pytest.raises(ValueError, match="split must be one of"):
        bench.query("cora", 0, split="validation", seeds="mean")
    with pytest.raises(ValueError, match="seed aggregation"):
        bench.scores("cora", split="valid", seeds="best")


def test_batch_query_is_aligned_with_keys(bench):
    upstream = light_read("photo")
    scores = bench.scores("photo", split="test", seeds="mean")
    assert scores.shape == (26_206,)
    assert scores[bench.rows([88887])][0] == upstream[88887]["perf"]
    frame = bench.table("photo", seeds="mean")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 26_206
    assert frame.loc[12345, "valid_score"] == upstream[12345]["valid_perf"]
    assert frame.attrs["seeds"] == "mean"


def test_results_are_read_only(bench):
    with pytest.raises(ValueError):
        bench.scores("cora", split="valid", seeds="mean")[0] = 1.0


def test_unknown_task_lists_valid_ones(bench):
    with pytest.raises(UnknownTaskError, match="valid tasks: cora, citeseer"):
        bench.scores("Cora", split="valid", seeds="mean")


def test_unknown_architectures_get_clear_errors(bench):
    with pytest.raises(UnknownArchitectureError, match="unknown op"):
        bench.query("cora", "0,0,1,2|gat,gcn,sage,mlp", split="valid", seeds="mean")
    with pytest.raises(UnknownArchitectureError, match="not canonical"):
        bench.query("cora", 10300, split="valid", seeds="mean")
    with pytest.raises(UnknownArchitectureError, match="not canonical keys"):
        bench.rows([0, 10300])


def test_proteins_covers_its_op_subset_only(bench):
    assert len(bench.task_keys("proteins")) == 2021
    assert len(bench.table("proteins", seeds="mean")) == 2021
    assert np.isnan(bench.scores("proteins", split="valid", seeds="mean")).sum() == 26_206 - 2021
    with pytest.raises(MissingResultError, match="2021 architectures"):
        bench.query("proteins", "0,0,1,2|gat,gcn,sage,gcn", split="valid", seeds="mean")


def test_oracle_reveals_validation_only_and_counts_distinct_architectures(bench):
    oracle = bench.oracle("cora", budget=2)
    first = oracle.query("0,0,1,2|gat,gcn,sage,gcn")
    again = oracle.query("0,0,2,1|gcn,gat,sage,gcn")  # isomorphic: same architecture
    assert first == Observation(30141, light_read("cora")[30141]["valid_perf"], 0.0, False)
    assert again.repeated and again.key == 30141
    assert oracle.num_queries == 1
    oracle.query(0)
    with pytest.raises(BudgetExhaustedError):
        oracle.query(1)
    assert oracle.query(0).repeated  # re-queries stay free after the budget is spent
    assert [o.key for o in oracle.history] == [30141, 30141, 0, 0]


def test_oracle_holds_no_test_values(bench):
    oracle = bench.oracle("cora")
    valid = np.asarray(bench.scores("cora", split="valid", seeds="mean"))
    held: set[float] = set()
    for value in vars(oracle).values():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            held |= set(value.tolist())
        elif isinstance(value, Mapping):
            held |= {v for v in value.values() if isinstance(v, float)}
    assert held == set(valid[~np.isnan(valid)].tolist())  # validation scores and nothing else
    assert not any(isinstance(v, type(bench)) for v in vars(oracle).values())


def test_oracle_batch_keeps_what_it_revealed_before_a_bad_proposal(bench):
    oracle = bench.oracle("proteins")
    good = int(oracle.candidates[0])
    with pytest.raises(UnknownArchitectureError, match="no architecture"):
        oracle.query_batch([good, 0])  # gat (key 0) is not in the proteins op subset
    assert [o.key for o in oracle.history] == [good] and oracle.num_queries == 1


def test_oracle_candidates_respect_task_coverage(bench):
    oracle = bench.oracle("proteins")
    assert len(oracle.candidates) == 2021
    with pytest.raises(UnknownArchitectureError, match="no architecture"):
        oracle.query(0)  # gat is not in the proteins op subset


def test_oracle_can_be_built_without_a_benchmark(bench):
    keys = np.array(bench.keys)
    oracle = SearchOracle(bench.space, "custom", keys, np.linspace(0, 1, len(keys)))
    assert oracle.query(int(keys[-1])).valid_score == 1.0


def test_a_benchmark_pickles_after_use(bench):
    # Dask and process pools ship the Benchmark; its query caches must not stop that
    import pickle

    bench.oracle("cora").query(30141)
    bench.row(30141)
    again = pickle.loads(pickle.dumps(bench))
    assert again.query("cora", 30141, split="valid", seeds="mean") == bench.query("cora", 30141, split="valid", seeds="mean")
    assert again.oracle("cora").query(30141).valid_score == bench.oracle("cora").query(30141).valid_score


@pytest.mark.parametrize("budget", [0, -1, 2.5, "10", True])
def test_an_oracle_budget_must_be_a_positive_count(bench, budget):
    with pytest.raises(ValueError, match="budget must be a positive number of queries"):
        bench.oracle("cora", budget=budget)


def test_keys_that_are_not_integers_are_refused(bench):
    # 30141.9 must not be read as key 30141, nor True as key 1
    with pytest.raises(UnknownArchitectureError, match="integer table keys"):
        bench.rows([30141.9])
    assert bench.rows(np.array([30141.0, 30141], dtype=object)).tolist() == [bench.row(30141)] * 2
    with pytest.raises(UnknownArchitectureError, match="True is not an architecture"):
        bench.query("cora", True, split="valid", seeds="mean")
    assert bench.rows(np.array([30141], dtype=np.int32)).tolist() == [bench.row(30141)]


def test_unknown_names_print_their_message_as_written(bench):
    with pytest.raises(KeyError) as info:
        bench.metric("cora", "accuracy")
    assert str(info.value).startswith("unknown metric 'accuracy'; valid metrics: valid_score")
