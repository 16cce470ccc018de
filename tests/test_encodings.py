"""Encodings the predictors consume."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from nasbench_meta.encodings import adjacency_features, bag_of_values, one_hot, pyg_batch, pyg_graphs
from nasbench_meta.spaces import UnknownArchitectureError


def test_one_hot_is_injective_with_one_hot_per_entry(bench):
    x = one_hot(bench.space, bench.keys)
    assert x.shape == (26_206, 4 * 4 + 4 * 9)
    assert np.all(x.sum(axis=1) == 8)
    assert len(np.unique(x, axis=0)) == 26_206


def test_adjacency_has_one_input_per_computing_node_and_leaves_feed_output(bench):
    keys = bench.keys[:: 97]
    adjacency, features = adjacency_features(bench.space, keys)
    assert adjacency.shape == (len(keys), 6, 6)
    assert np.all(adjacency[:, :, 1:5].sum(axis=1) == 1)  # each node reads exactly one input
    for a in adjacency:
        leaves = [i for i in range(1, 5) if a[i, 1:5].sum() == 0]
        assert sorted(np.nonzero(a[:, 5])[0].tolist()) == leaves
    assert np.all(features.sum(axis=2) == 1)


def test_pyg_batch_equals_batching_the_single_graphs(bench):
    keys = bench.keys[100:400]
    expected = Batch.from_data_list(pyg_graphs(bench.space, keys))
    batch = pyg_batch(bench.space, keys)
    assert batch.num_graphs == len(keys)
    for name in ("x", "edge_index", "batch", "ptr"):
        assert torch.equal(getattr(batch, name), getattr(expected, name)), name
    assert batch.key.tolist() == keys.tolist()


@pytest.mark.parametrize("key", [10, 88888, 19, 10**6, -1])
def test_encodings_refuse_keys_that_are_not_canonical(bench, key):
    # 10 is architecture 1 written another way (another encoding), 88888 is outside the space,
    # the others decode to nothing: each is one clear error, as adjacency_features gives
    for encode in (one_hot, bag_of_values, adjacency_features):
        with pytest.raises(UnknownArchitectureError, match=f"{key}"):
            encode(bench.space, np.array([1, key]))
    assert one_hot(bench.space, [1]).shape == (1, 52)


def test_no_keys_encode_to_empty_arrays():
    # an empty support set (K = 0) crashed every encoding ("cannot reshape array of size 0")
    from nasbench_meta.spaces import NasBenchGraphSpace

    space, none = NasBenchGraphSpace(), np.array([], dtype=np.int64)
    assert one_hot(space, none).shape == (0, one_hot(space, space.keys()[:1]).shape[1])
    assert bag_of_values(space, none).shape == (0, bag_of_values(space, space.keys()[:1]).shape[1])
    assert adjacency_features(space, none)[0].shape[0] == 0 and pyg_graphs(space, none) == []
    with pytest.raises(ValueError, match="pyg_batch needs at least one key"):
        pyg_batch(space, none)
