"""Seeds: every random choice takes an explicit one, checked where it enters the API.

An unseeded draw cannot be repeated, and a float or a string that happens to convert would be
recorded as a seed it is not, so both are refused with an error that says what to pass.
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import numpy as np

MAX_SEED = 2**63 - 1   # what numpy, torch and the int64 columns of the results files all take


def check_seed(seed: Any, what: str = "seed") -> int:
    """``seed`` as an int when it is a whole number in 0 .. 2**63 - 1 (numpy integers too)."""
    if seed is None:
        raise TypeError(f"{what} is None: pass an integer seed (0 .. 2**63 - 1), "
                        "so that the random draw can be repeated and is recorded")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{what} must be an integer from 0 to 2**63 - 1, got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"{what} must be from 0 to 2**63 - 1, got {seed}")
    return int(seed)


def check_seed_list(seeds: Iterable[Any], what: str = "seeds") -> list[int]:
    """A non-empty list of distinct seeds (each checked by ``check_seed``)."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"{what} must be a list of integer seeds such as [0, 1, 2], got {seeds!r}")
    checked = [check_seed(s, what[:-1] if what.endswith("s") else what) for s in seeds]
    if not checked:
        raise ValueError(f"give at least one seed in {what}")
    repeated = sorted({s for s in checked if checked.count(s) > 1})
    if repeated:
        raise ValueError(f"{what} lists seed(s) {repeated} more than once; each seed is one run")
    return checked


@contextmanager
def torch_random_stream(seed: "int | None" = None) -> Iterator[None]:
    """Torch's global random stream for the block only, seeded with ``seed`` (None: as it is): the
    caller's state (CPU and every CUDA device) is restored afterwards, so training, fitting or
    loading never shifts a user's own torch random numbers. Inside the block the stream is the one
    ``torch.manual_seed(seed)`` gives, so results are the same as seeding globally."""
    import torch  # here: seeds are checked in places that never touch torch

    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.manual_seed(seed)
        yield


@contextmanager
def global_random_streams(seed: int) -> Iterator[None]:
    """numpy's and Python's global random streams seeded from ``seed`` for the block, the caller's
    restored afterwards: code that draws from ``np.random`` or ``random`` instead of the generator
    it was given still repeats itself for a seed, and leaves the caller's draws as they were."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    np.random.seed(np.random.SeedSequence(seed).generate_state(1)[0])   # legacy seeds stop at 2**32
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
