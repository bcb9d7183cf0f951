"""Loads the S(q,w) kernels into the process that imports it: the forkserver of ``local:N``
workers (``compute.WORKER_MODULES``), so that every worker forked from it starts with them.

The kernels are compiled once and cached on disk by numba, but each new process still loads the
cache (its index, the machine code) on the first call of each kernel, and numpy's FFT sets up
its first transforms: about 0.3 to 0.7 processor-s, which a worker otherwise pays inside its first
piece, every worker anew (docs/scaling.md). One tiny calculation (4 atoms of 2 species, 3
q-points, window 2, with and without the self part: the types of every kernel call the real
pieces make) loads them here, once per command, while the client does its own checks and starts
the scheduler. The command still pays it (the cluster's start waits for the forkserver), once.

A failure here only means the loading happens in the first piece, as before: it is swallowed
(an exception escaping an import would stop the forkserver, and with it every worker).
"""

from __future__ import annotations

import numpy as np


def warm_up() -> None:
    """Run every kernel of a piece once on tiny inputs (types as in :func:`.pieces.
    correlate_piece`: float64 fractional positions, int64 q-point indices, one thread)."""
    from .correlation import StreamingCorrelator

    species = np.array([0, 1, 0, 1], dtype=np.int64)
    q_indices = np.array([[1, 0, 0], [0, 1, 1], [1, -1, 2]], dtype=np.int64)
    rng = np.random.default_rng(0)
    for incoherent in (False, True):
        correlator = StreamingCorrelator(species, 2, q_indices, 2, incoherent, workers=1)
        try:
            for _ in range(8):
                correlator.push(rng.random((len(species), 3)))
            correlator.finish()
            correlator.take()
        finally:
            correlator.close()


try:
    warm_up()
except Exception:  # noqa: BLE001 - see the module's docstring
    pass
