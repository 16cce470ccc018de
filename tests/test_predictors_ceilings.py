"""Zero-shot reference points: hindsight source subsets and validation/test agreement."""
from __future__ import annotations

import json

import pytest
from scipy.stats import spearmanr

from nasbench_meta.cli.main import main
from nasbench_meta.predictors import predict_task
from nasbench_meta.predictors.ceilings import subset_spearman, transfer_ceiling
from nasbench_meta.predictors.features import source_ranks

SOURCES = ["citeseer", "pubmed", "cs", "photo"]


@pytest.fixture(scope="module")
def cora(bench):
    return transfer_ceiling(bench, "cora", split="valid", sources=SOURCES)


def test_mean_rank_reference_is_the_mean_rank_predictor(bench):
    ceiling = transfer_ceiling(bench, "cora", split="valid")   # every other complete task
    series = predict_task("mean-rank", bench, "cora", shots=0, seed=0, split="valid")
    valid = bench.scores("cora", split="valid", seeds="mean")[bench.rows(series.index.to_numpy())]
    assert ceiling.mean_rank == pytest.approx(spearmanr(series.to_numpy(), valid).statistic, abs=1e-6)  # float32 ranks


def test_hindsight_subset_is_the_best_of_all_subsets(bench, cora):
    assert cora.best_subset_spearman >= cora.best_single_spearman >= -1
    assert cora.best_subset_spearman >= cora.mean_rank
    ranks = source_ranks(bench, SOURCES, split="valid")
    target = bench.scores("cora", split="valid", seeds="mean")
    chosen = [SOURCES.index(t) for t in cora.best_subset]
    assert subset_spearman(ranks, target, chosen) == pytest.approx(cora.best_subset_spearman)
    # citation networks resemble cora most: the best single source is one of them
    assert cora.best_single in ("citeseer", "pubmed")
    assert cora.best_single_spearman == pytest.approx(
        spearmanr(ranks[:, SOURCES.index(cora.best_single)], target).statistic)


def test_split_agreement_is_the_valid_test_spearman(bench, cora):
    valid = bench.scores("cora", split="valid", seeds="mean")
    test = bench.scores("cora", split="test", seeds="mean")
    assert cora.split_agreement == pytest.approx(spearmanr(valid, test).statistic)


def test_bad_sources_are_refused(bench):
    with pytest.raises(ValueError, match="is the target"):
        transfer_ceiling(bench, "cora", split="valid", sources=["cora", "pubmed"])
    with pytest.raises(ValueError, match="between 1 and"):
        transfer_ceiling(bench, "cora", split="valid", sources=[])
    with pytest.raises(KeyError, match="imagenet"):
        transfer_ceiling(bench, "imagenet", split="valid", sources=SOURCES)


def test_cli_prints_the_references(bench_root, capsys):
    assert main(["predictors", "ceilings", "--holdout", "citeseer", "--split", "test",
                 "--root", str(bench_root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (row,) = out["tasks"]
    assert out["split"] == "test" and row["task"] == "citeseer" and "citeseer" not in row["sources"]
    assert row["best_subset_spearman"] >= row["mean_rank"]
    assert main(["predictors", "ceilings", "--holdout", "citeseer", "--split", "test", "--root", str(bench_root)]) == 0
    assert "with the held-out task's test scores" in capsys.readouterr().out   # the table said no split
