"""The warm-up of local workers (``sqw/worker_warmup.py``, imported by their forkserver) loads
every kernel a piece calls, with the types the pieces call it with, and the extended XYZ
reader (its module, ase.data, its numba parser): after it, real pieces (with and without the
self part) add no compiled signature, so no worker loads numba's cache inside a piece; and it
changes no number (pieces run the same kernels: the distributed results are
compared with in process in test_distributed.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from .harmonic import HarmonicCrystal, write_extxyz

ROOT = Path(__file__).resolve().parents[2]


def test_warm_up_loads_every_kernel_signature_a_piece_uses(tmp_path):
    crystal = HarmonicCrystal(cells=2, temperature_k=200.0, seed=3,
                              species=["Si" if i % 2 else "C" for i in range(8)])
    path = write_extxyz(tmp_path / "run.xyz", crystal.positions(np.arange(60) * 10.0),
                        crystal.cell, crystal.species, time_step_fs=10.0)
    # a fresh process: no kernel of this one is loaded yet
    completed = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.sqw.test_worker_warmup import _check; "
         "_check(sys.argv[1])", str(path)], cwd=ROOT, capture_output=True, text=True,
        timeout=240)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip().endswith("checked")


def _signatures() -> dict[str, list]:
    from numba.core.registry import CPUDispatcher

    from mantid_mdinsim.io import trajectory_parts, trajectory_text
    from mantid_mdinsim.sqw import kernels

    found = {name: list(item.signatures) for name, item in vars(kernels).items()
             if isinstance(item, CPUDispatcher) and not name.startswith("_")   # inlined
             and name != "sphere_lattice_points"}                              # q-points only
    # a later piece skips its first frames (skip_lines); plain frames are read in parts
    # (parse_part), odd ones frame by frame (parse_atom_lines)
    for name in ("parse_atom_lines", "skip_lines"):
        found[name] = list(getattr(trajectory_text, name).signatures)
    found["parse_part"] = list(trajectory_parts.parse_part.signatures)
    return found


def _check(path: str) -> None:
    from mantid_mdinsim import execution
    from mantid_mdinsim.sqw import compute_sqw

    assert not any(_signatures().values())
    import mantid_mdinsim.sqw.worker_warmup  # noqa: F401  - what the forkserver imports

    warmed = _signatures()
    assert all(warmed.values()), warmed

    class PiecesHere(execution.InProcessExecutor):
        """Runs the pieces of a cluster calculation in this process, one thread each."""

        def __init__(self):
            super().__init__(1)
            self.spec = execution.SchedulerSpec("local", 1)

    token = execution._active.set(PiecesHere())
    try:
        for incoherent in ("yes", "no"):
            compute_sqw(dict(trajectories=[path], time_step_fs=10.0, window=10,
                             q_max_inv_angstrom=3.0, q_count=40, per_q=True,
                             incoherent=incoherent))
    finally:
        execution._active.reset(token)
    assert _signatures() == warmed
    print("checked")
