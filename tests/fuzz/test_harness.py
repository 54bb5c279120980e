"""The fuzz harness counts a case's own memory, not the address space it inherits."""

from __future__ import annotations

import mmap

import numpy as np

from tests.fuzz.harness import Tally, run_case

_MB = 2**20


def _allocate(n_bytes: int) -> None:
    a = np.ones(n_bytes // 8)  # touched: really allocated
    assert a.sum() > 0


def test_a_case_over_its_memory_budget_is_a_memory_blow_up() -> None:
    tally = Tally()
    run_case(lambda: _allocate(400 * _MB), "big", tally, seconds=20, memory=200 * _MB)
    assert tally.memory == 1
    assert tally.clean == 0


def test_address_space_the_parent_mapped_does_not_count_against_a_case() -> None:
    # the parent maps 1 GiB it never touches (as loaded compiled kernels do); a case that
    # allocates 100 MB within a 200 MB budget passes
    reserved = mmap.mmap(-1, 2**30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        tally = Tally()
        run_case(lambda: _allocate(100 * _MB), "small", tally, seconds=20, memory=200 * _MB)
        assert tally.clean == 1, tally.examples
    finally:
        reserved.close()
