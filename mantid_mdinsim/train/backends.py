"""What a training backend is, and which one runs.

A backend trains one model in a run folder laid out as for GPUMD's ``nep`` (``nep.in``,
``train.xyz``, optional ``test.xyz``) and leaves ``nep`` output there: ``nep.txt``, ``loss.out``,
``energy_*.out``, ``force_*.out``, ``virial_*.out``, ``stress_*.out``. Both backends do, so
everything downstream (metrics, parity data, ensembles) reads one format:

* :class:`~mantid_mdinsim.train.gpumd_nep.GpumdNep`: GPUMD's ``nep`` executable (GPU);
* :class:`~mantid_mdinsim.train.neppo_backend.Neppo`: neppo, NEP4 by gradient descent in PyTorch
  (CPU), which writes the same files.

Progress comes from the rows of ``loss.out`` (one per ``output_interval`` generations), read while
the trainer runs as a separate process (so that a cancel can stop it).
"""

from __future__ import annotations

from ..errors import ExternalProgramError, ParameterError
from ..external import find_executable
from .gpumd_nep import GpumdNep
from .neppo_backend import Neppo
# The contract, offered here too (the backends' surface).
from .training_backend import EXPECTED_OUTPUTS, TrainingBackend, last_generation  # noqa: F401


def select_backend(name: str, nep_executable: str | None = None, threads: int = 0,
                   patience: int = 0) -> TrainingBackend:
    """The backend for ``name`` (``auto``: GPUMD's nep where found, neppo otherwise);
    ``threads`` and ``patience`` (early stopping, in loss rows) apply to neppo."""
    if name == "neppo":
        return Neppo(threads=threads, patience=patience)
    executable = find_executable("nep", nep_executable)
    if name == "gpumd":
        if executable is None:
            raise ExternalProgramError(
                "backend gpumd: GPUMD's nep executable was not found (give --nep-executable, "
                "set $MDINSIM_NEP or put nep on PATH; on a machine without a GPU use "
                "--backend neppo)")
        return GpumdNep(executable)
    if name == "auto":
        return (GpumdNep(executable) if executable is not None
                else Neppo(threads=threads, patience=patience))
    raise ParameterError("backend", f"unknown backend '{name}'", "choose auto, gpumd or neppo")
