"""S(q,w) from MD trajectories: the core of MDComputeSqw and ``mdinsim sqw``.

Public surface::

    from mantid_mdinsim.sqw import SQW_PARAMETERS, SqwSettings, compute_sqw

    settings = SqwSettings.from_values(trajectories=["run1.xyz", "run2.xyz"], time_step_fs=10.0,
                                       window=400, q_max_inv_angstrom=10.0)
    result = compute_sqw(settings, progress)   # or compute_sqw({...values by name...})
    result.workspaces()     # Spectrum (S(|Q|,E), partials, S(E)) and Table (q-points) objects
    result.save("sqw.nxs")  # processed NeXus + sqw.png

The pieces, one module each: :mod:`.qpoints` (commensurate q-points), :mod:`.weights`
(neutron/X-ray/electron weights), :mod:`.correlation` (the streaming FFT correlator, whose
:class:`~.correlation.CorrelationSums` merge by addition), :mod:`.kernels` (numba),
:mod:`.averaging` (Fourier transform, |Q| shells), :mod:`.compute` (the driver) and :mod:`.cli`.
Trajectory readers live in :mod:`mantid_mdinsim.io.trajectory`.

Units: time fs, |q| 1/Angstrom (2 pi included), energy meV (positive = neutron energy loss),
S(q,E) in 1/meV per atom times the weight unit (fm^2 for neutrons).
"""

import importlib

from .parameters import SQW_PARAMETERS, SqwSettings

#: What a piece imports: loaded once for all local workers (execution.prepare_local_workers).
#: Here, not in the heavy compute module, so that the command starts loading them before it
#: imports compute (docs/scaling.md).
WORKER_MODULES = ("mantid_mdinsim.sqw.pieces", "mantid_mdinsim.sqw.worker_warmup")

#: Public name -> module: imported on first use (numba, scipy, torch are heavy), so that the
#: parameter definitions (``mdinsim sqw --help``) start fast.
_LAZY = {"compute_sqw": "compute", "SqwResult": "compute", "CorrelationSums": "correlation",
         "StreamingCorrelator": "correlation", "QPoints": "qpoints",
         "spherical_qpoints": "qpoints", "path_qpoints": "qpoints", "file_qpoints": "qpoints",
         "ScatteringWeights": "weights", "scattering_weights": "weights"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SQW_PARAMETERS", "SqwSettings", "compute_sqw", "SqwResult", "CorrelationSums",
    "StreamingCorrelator",
    "QPoints", "spherical_qpoints", "path_qpoints", "file_qpoints", "ScatteringWeights",
    "scattering_weights",
]
