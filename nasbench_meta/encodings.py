"""Architecture encodings for predictors, generic over search spaces.

- ``one_hot``: every entry of every space column one-hot encoded and concatenated
  (NAS-Bench-Graph: 4 links x 4 + 4 ops x 9 = 52 features).
- ``bag_of_values``: how often each value of each space column occurs, order ignored
  (NAS-Bench-Graph: 4 link values + 9 ops = 13 features).
- ``adjacency_features``: the DAG as a dense adjacency matrix plus one-hot node features.
- ``pyg_graphs`` / ``pyg_batch``: the DAG as ``torch_geometric`` graphs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nasbench_meta.spaces import SearchSpace, UnknownArchitectureError
from nasbench_meta.spaces.base import as_keys

if TYPE_CHECKING:  # torch is imported where graphs are built: one_hot users need not pay for it
    from torch_geometric.data import Batch, Data


def _canonical(space: SearchSpace, keys: np.ndarray) -> np.ndarray:
    """``keys`` as int64, refused unless each is a canonical key of ``space`` (as ``space.graphs`` does).

    ``arch_columns`` decodes any integer: a non-canonical key would get another encoding than the
    same architecture's canonical key, and a key outside the space a made-up one or an IndexError.
    """
    keys = as_keys(keys)
    known = np.isin(keys, space.keys())  # ~0.1 ms for all 26,206 NAS-Bench-Graph keys
    if not known.all():
        raise UnknownArchitectureError(
            f"{int((~known).sum())} key(s) are not canonical keys of the {space.name} space "
            f"(e.g. {keys[~known][:5].tolist()}); canonicalise with space.key(...)")
    return keys


def _columns(space: SearchSpace, keys: np.ndarray) -> "list[tuple[np.ndarray, int]]":
    """Each space column as (N, positions) int64 values with its cardinality."""
    attrs = space.column_attrs()
    return [(values.reshape(len(values), int(np.prod(values.shape[1:]))).astype(np.int64),   # N = 0 too
             int(attrs[name]["cardinality"]))
            for name, values in space.arch_columns(_canonical(space, keys)).items()]


def one_hot(space: SearchSpace, keys: np.ndarray) -> np.ndarray:
    """(N, F) float32 one-hot encoding of canonical keys."""
    parts = []
    for values, size in _columns(space, keys):
        encoded = np.zeros((values.shape[0], values.shape[1], size), dtype=np.float32)
        np.put_along_axis(encoded, values[..., None], 1.0, axis=2)
        parts.append(encoded.reshape(len(values), values.shape[1] * size))   # (0, F) for no keys too
    return np.concatenate(parts, axis=1)


def bag_of_values(space: SearchSpace, keys: np.ndarray) -> np.ndarray:
    """(N, F) float32 fraction of positions of each space column holding each of its values."""
    parts = []
    for values, size in _columns(space, keys):
        counts = np.stack([(values == v).sum(1) for v in range(size)], axis=1)
        parts.append(counts.astype(np.float32) / values.shape[1])
    return np.concatenate(parts, axis=1)


def adjacency_features(space: SearchSpace, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adjacency (N, V, V) with A[i, u, v] = 1 for an edge u -> v, and node features (N, V, T)."""
    graphs = space.graphs(keys)
    vocab = len(space.node_vocabulary())
    num_nodes = max((len(nodes) for nodes, _ in graphs), default=0)   # no keys: (0, 0, 0) and (0, 0, T)
    adjacency = np.zeros((len(graphs), num_nodes, num_nodes), dtype=np.float32)
    features = np.zeros((len(graphs), num_nodes, vocab), dtype=np.float32)
    for i, (nodes, edges) in enumerate(graphs):
        adjacency[i, edges[0], edges[1]] = 1.0
        features[i, np.arange(len(nodes)), nodes] = 1.0
    return adjacency, features


def pyg_graphs(space: SearchSpace, keys: np.ndarray) -> "list[Data]":
    """One ``Data`` per key: ``x`` one-hot node types, ``edge_index``, ``key``."""
    import torch
    from torch_geometric.data import Data

    graphs = space.graphs(keys)
    if not graphs:
        return []
    sizes = [len(nodes) for nodes, _ in graphs]
    nodes = torch.from_numpy(np.concatenate([n for n, _ in graphs]))
    xs = torch.nn.functional.one_hot(nodes, len(space.node_vocabulary())).float().split(sizes)
    edge_tensors: dict[int, torch.Tensor] = {}  # spaces may share edge arrays between graphs
    keys = torch.as_tensor(np.array(keys, dtype=np.int64))
    out = []
    for i, (x, (_, edges)) in enumerate(zip(xs, graphs)):
        if id(edges) not in edge_tensors:
            edge_tensors[id(edges)] = torch.from_numpy(np.array(edges))
        out.append(Data(x=x, edge_index=edge_tensors[id(edges)], key=keys[i:i + 1]))
    return out


def pyg_batch(space: SearchSpace, keys: np.ndarray) -> "Batch":
    """All keys as one disjoint-union ``Batch`` (built directly, much faster than from_data_list)."""
    import torch
    from torch_geometric.data import Batch

    graphs = space.graphs(keys)
    if not graphs:   # numpy's "need at least one array to concatenate" otherwise
        raise ValueError("pyg_batch needs at least one key: a batch of no graphs has nothing to hold")
    sizes = np.array([len(nodes) for nodes, _ in graphs])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    nodes = torch.from_numpy(np.concatenate([n for n, _ in graphs]))
    edges = torch.from_numpy(np.concatenate([e + off for (_, e), off in zip(graphs, offsets)], axis=1))
    batch = torch.repeat_interleave(torch.arange(len(graphs)), torch.from_numpy(sizes))
    x = torch.nn.functional.one_hot(nodes, len(space.node_vocabulary())).float()
    return Batch(x=x, edge_index=edges, batch=batch, ptr=torch.from_numpy(offsets),
                 key=torch.as_tensor(np.array(keys, dtype=np.int64)))
