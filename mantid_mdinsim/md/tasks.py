"""MD runs as pieces of a Dask cluster: each (temperature, run) is one task.

A task runs the backend's own ``run_job`` (the same code as in one process), so a run that is
complete is reused, and a task whose worker died is started again by Dask on another worker,
where it resumes from the run's checkpoint on the shared file system. GPUMD tasks ask for the
worker resource ``GPU=1`` (start GPU workers with ``dask worker ... --resources GPU=1``, one per
GPU); CPU and path-integral tasks ask for nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..execution import Executor, Piece, piece_progress
from ..progress import ProgressReporter


def _cpu_task(job) -> dict[str, Any]:
    from .cpu import _Control, run_job

    progress = piece_progress()
    total = max(job.protocol.total_steps, 1)

    def report(steps: int) -> None:
        # raises Cancelled when the step is cancelled: run_job checkpoints, then stops
        progress.report(steps / total, f"{job.spec.label}: step {steps}")

    return run_job(job, _Control(report, lambda: False))


def _gpumd_task(job, executable: str) -> dict[str, Any]:
    from .gpumd import run_job

    return run_job(job, Path(executable), piece_progress())


def _pimd_task(job, processes: int) -> dict[str, Any]:
    from .pimd import run_job

    return run_job(job, processes, piece_progress())


def run_on_cluster(executor: Executor, jobs: list, backend: str, path_integral: bool,
                   executable: Path | None, processes: int,
                   progress: ProgressReporter) -> list[dict[str, Any]]:
    """The summaries of ``jobs`` (CPUJob, GPUMDJob or PIJob), in job order."""
    pieces = []
    for job in jobs:
        if backend == "gpumd":
            function, args, resources = _gpumd_task, (job, str(executable)), {"GPU": 1}
        elif path_integral:
            function, args, resources = _pimd_task, (job, processes), None
        else:
            function, args, resources = _cpu_task, (job,), None
        pieces.append(Piece(key="md-" + job.spec.label.replace("/", "-"), function=function,
                            args=args, weight=float(job.protocol.total_steps),
                            resources=resources))
    inputs = [jobs[0].model_path] if jobs else []
    if executable is not None:
        inputs.append(str(executable))
    return executor.run(pieces, progress, input_files=inputs)
