"""Loads the S(q,w) kernels and the trajectory reader into the process that imports it: the
forkserver of ``local:N`` workers (``compute.WORKER_MODULES``), so that every worker forked from
it starts with them.

The kernels are compiled once and cached on disk by numba, but each new process still loads the
cache (its index, the machine code) on the first call of each kernel, and numpy's FFT sets up
its first transforms: about 0.3 to 0.7 processor-s, which a worker otherwise pays inside its first
piece, every worker anew (docs/scaling.md). One tiny calculation (4 atoms of 2 species, 3
q-points, window 2, with and without the self part: the types of every kernel call the real
pieces make) loads them here, once per command, while the client does its own checks and starts
the scheduler. The command still pays it (the cluster's start waits for the forkserver), once.
Likewise a piece reads its trajectory: the extended XYZ reader's module (with ase.data) and its
numba parser cost a worker's first piece about 0.1 processor-s (measured, loaded machine), which
on local:2 both pieces paid and on local:1 only the first; a tiny extended XYZ file read from
its first frame and from a later one (as a later piece starts) loads them here. Other formats
(LAMMPS dumps, NetCDF, ASE's) load their reader in the first piece, as before.

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


def warm_up_reader() -> None:
    """Read a tiny extended XYZ trajectory (2 atoms, 3 frames, in a temporary folder) the way
    :func:`.pieces.correlate_piece` reads its file: from the first frame and from a later one."""
    import tempfile
    from pathlib import Path

    from ..io.trajectory import open_trajectory

    # The last count is written "+2": the parts (parse_part) take the plain frames before it,
    # and it goes frame by frame (parse_atom_lines), as odd frames do.
    frames = "".join(f'{"+2" if k == 2 else "2"}\nTime={10.0 * k} pbc="T T T" Lattice="5.0 0.0 '
                     f'0.0 0.0 5.0 0.0 0.0 0.0 5.0" Properties=species:S:1:pos:R:3\n'
                     f'Si 0.0 0.0 {0.1 * k:.1f}\nSi 1.3 1.3 1.3\n'
                     for k in range(3))   # a repeated frame is refused
    with tempfile.TemporaryDirectory(prefix="mdinsim-warm-up-") as folder:
        path = Path(folder) / "warm_up.xyz"
        path.write_text(frames)
        for start in (0, 1):
            reader = open_trajectory(path)
            try:
                inverse_cell = np.linalg.inv(reader.cell)
                reader.estimated_frame_count()
                for positions in reader.frames(start=start):
                    positions @ inverse_cell
            finally:
                reader.close()


for _step in (warm_up, warm_up_reader):
    try:
        _step()
    except Exception:  # noqa: BLE001 - see the module's docstring
        pass
