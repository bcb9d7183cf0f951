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

import abc
from pathlib import Path

from ..errors import ExternalProgramError, ParameterError
from ..external import find_executable
from ..progress import ProgressReporter

#: Files a finished run leaves in its folder.
EXPECTED_OUTPUTS = ("nep.txt", "loss.out", "energy_train.out", "force_train.out")


def last_generation(loss_path: Path) -> int:
    """The generation of the last row of a ``loss.out`` (0 when there is none yet)."""
    try:
        with open(loss_path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        words = line.split()
        if words and not words[0].startswith("#"):
            try:
                return int(float(words[0]))
            except ValueError:
                continue
    return 0


class TrainingBackend(abc.ABC):
    """Trains one model in a run folder (see the module docstring)."""

    name: str = ""

    @abc.abstractmethod
    def run(self, run_directory: Path, generations: int, progress: ProgressReporter,
            resume: bool = False, label: str = "", time_limit_s: float | None = None) -> None:
        """Train in ``run_directory`` for ``generations``; raise ExternalProgramError on
        failure. ``resume`` is set when the folder holds an interrupted run of the same inputs;
        ``label`` starts the progress messages; ``time_limit_s`` (wall seconds) ends the run
        early, keeping its best model, where the backend can (neppo; GPUMD's nep ignores it).
        """

    def describe(self) -> str:
        return self.name


def select_backend(name: str, nep_executable: str | None = None, threads: int = 0,
                   patience: int = 0) -> TrainingBackend:
    """The backend for ``name`` (``auto``: GPUMD's nep where found, neppo otherwise);
    ``threads`` and ``patience`` (early stopping, in loss rows) apply to neppo."""
    from .gpumd_nep import GpumdNep  # the backends import this module (their base class)
    from .neppo_backend import Neppo  # (as above)

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
