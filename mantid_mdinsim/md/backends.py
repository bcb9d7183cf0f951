"""MD engines behind one contract: :class:`MDJob` says what to run, :class:`MDBackend` how.

An :class:`MDJob` is one (temperature, run index) of the protocol: the structure (the
supercell), the model file, the protocol in steps, the run's seed and folder and the provenance
to record. It is plain, picklable data, so it crosses to a worker process (``processes``) or a
Dask worker (:mod:`.tasks`) as it is.

An :class:`MDBackend` runs jobs in four acts, driven the same way for every engine by
:func:`execute`:

1. ``collect``: the summary of the job's run where it is already complete (nothing to do);
2. ``prepare``: the run's folders and inputs;
3. ``resume``: continue an interrupted run from its checkpoint (None where there is none);
4. ``run``: run the job from its start.

``run_all`` runs a list of jobs in this process (or its own pool) with progress. The engines:
:class:`~.cpu.CPUBackend` (ASE + calorine's CPUNEP, ``md/cpu.py``),
:class:`~.gpumd.GPUMDBackend` (the ``gpumd`` executable, ``md/gpumd.py``) and
:class:`~.pimd.IPIBackend` (i-PI path integrals on CPU, ``md/pimd.py``); the step chooses one in
:func:`mantid_mdinsim.md.core.make_backend`. A new engine goes into its own module here, with
a class that implements this protocol (:class:`RunFolderBackend` gives the shared parts), and
one line in that factory.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Protocol as TypingProtocol, Sequence

from ase import Atoms

from ..atomistic.inputs import MIN_ATOM_DISTANCE_ANGSTROM
from ..progress import ProgressReporter, ensure_progress
from . import outputs
from .protocol import Protocol, RunSpec
from .summary import completed_run, run_summary, write_summary


@dataclass(frozen=True, eq=False)
class MDJob:
    """One independent run: what to run, as plain picklable data."""

    spec: RunSpec
    protocol: Protocol
    #: The structure to simulate (the supercell), with its cell.
    atoms: Atoms
    model_path: str
    #: Provenance recorded in the run's summary.json.
    logs: Mapping[str, Any]
    #: Atoms closer than this (Angstrom) stop a CPU run (0: no check); see guards.py.
    min_atom_distance_angstrom: float = MIN_ATOM_DISTANCE_ANGSTROM

    @property
    def directory(self) -> Path:
        return self.spec.directory

    @property
    def label(self) -> str:
        return self.spec.label


class MDBackend(TypingProtocol):
    """How one engine runs :class:`MDJob` s (see the module documentation)."""

    #: The ``backend`` of a run's summary.json (``cpu``, ``gpumd``, ``cpu-ipi``).
    name: ClassVar[str]
    #: Dask worker resources one run needs (``{"GPU": 1}``), or None.
    resources: ClassVar[Mapping[str, float] | None]

    def input_files(self) -> list[str]:
        """Files besides the job's own that a worker must see (an executable)."""

    def collect(self, job: MDJob) -> dict[str, Any] | None:
        """The summary of the job's run where it is complete, else None."""

    def prepare(self, job: MDJob) -> None:
        """Create the run's folders and inputs."""

    def resume(self, job: MDJob, progress: ProgressReporter) -> dict[str, Any] | None:
        """Continue an interrupted run from its checkpoint and return its summary; None
        where there is nothing to resume from."""

    def run(self, job: MDJob, progress: ProgressReporter) -> dict[str, Any]:
        """Run the job from its start; return its summary."""

    def run_all(self, jobs: Sequence[MDJob],
                progress: ProgressReporter) -> list[dict[str, Any]]:
        """Run (or resume, or reuse) every job; their summaries in job order."""


def execute(backend: MDBackend, job: MDJob,
            progress: ProgressReporter | None = None) -> dict[str, Any]:
    """Run (or resume, or skip when complete) one job with ``backend``; return its summary."""
    progress = ensure_progress(progress)
    summary = backend.collect(job)
    if summary is not None:
        return summary
    backend.prepare(job)
    summary = backend.resume(job, progress)
    return summary if summary is not None else backend.run(job, progress)


class RunFolderBackend:
    """The parts every backend shares: the run folder's final files and the summary."""

    name: ClassVar[str] = ""
    resources: ClassVar[Mapping[str, float] | None] = None

    def input_files(self) -> list[str]:
        return []

    def trajectory_name(self, job: MDJob) -> str:
        """The file name of the finished trajectory in the run's folder."""
        return outputs.TRAJECTORY_NAME

    def collect(self, job: MDJob) -> dict[str, Any] | None:
        return completed_run(job.directory, self.trajectory_name(job))[3]

    def run_all(self, jobs: Sequence[MDJob],
                progress: ProgressReporter) -> list[dict[str, Any]]:
        """One job after the other, each with the whole machine (a GPU, or every core)."""
        progress = ensure_progress(progress)
        return [execute(self, job, progress.sub(index / len(jobs), (index + 1) / len(jobs)))
                for index, job in enumerate(jobs)]

    def publish(self, job: MDJob, thermo: Mapping[str, Any], msd: Mapping[str, Any],
                wall_s: float, work: Path | None = None, work_done: str | None = None,
                thermo_written: bool = False, **summary_fields: Any) -> dict[str, Any]:
        """The last act of a run: thermo.csv, the trajectory from its ``.partial`` file and
        the engine's work folder under their final names, then summary.json, whose presence
        marks the run complete (:meth:`collect`). ``thermo_written``: thermo.csv is in place
        already (the CPU backend appends its rows as it goes). Returns the summary."""
        directory = job.directory
        trajectory_path = directory / self.trajectory_name(job)
        thermo_path = directory / outputs.THERMO_NAME
        if not thermo_written:
            outputs.write_thermo_csv(thermo_path, thermo)
        os.replace(outputs.partial_path(trajectory_path), trajectory_path)
        if work is not None and work_done is not None:
            done = directory / work_done
            if done.exists():
                shutil.rmtree(done)
            os.replace(work, done)
        summary = run_summary(spec=job.spec, protocol=job.protocol, backend=self.name,
                              symbols=job.atoms.get_chemical_symbols(),
                              thermo=thermo, msd=msd, wall_s=wall_s, logs=job.logs,
                              trajectory_name=trajectory_path.name, **summary_fields)
        write_summary(directory / outputs.SUMMARY_NAME, summary)
        return summary
