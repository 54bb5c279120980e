"""numpy's default bit generator inside compiled kernels: PCG64, one stream per scenario.

The algorithm is :mod:`simdyn._pcg64`'s, written once over ``uint64`` values: the numpy backend
runs it over the arrays of a chunk's states, and here numba compiles the same two functions for
one scenario's state at a time, so a kernel draws, for each scenario, exactly the numbers
numpy's generator for that scenario draws. The states come from
:func:`simdyn._pcg64.pcg64_states` (the compiled model passes them to the kernel); kernels step
a state with :data:`pcg64_step` and read ``Generator.random()`` from it with
:data:`pcg64_double`.
"""

from __future__ import annotations

import numba as nb

from simdyn import _pcg64

__all__ = ["pcg64_double", "pcg64_step"]

_jit = nb.njit(cache=True, error_model="numpy")

#: ``(hi, lo) = pcg64_step(shi, slo, ihi, ilo)``: one scenario's next state
pcg64_step = _jit(_pcg64.pcg64_step)
#: ``pcg64_double(hi, lo)``: ``Generator.random()`` from a state just stepped to
pcg64_double = _jit(_pcg64.pcg64_double)
