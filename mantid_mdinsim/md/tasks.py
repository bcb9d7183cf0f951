"""MD runs as pieces of a Dask cluster: each (temperature, run) is one task.

A task runs :func:`~.backends.execute` with the backend (the same code as in one process), so
a run that is complete is reused, and a task whose worker died is started again by Dask on
another worker, where it resumes from the run's checkpoint on the shared file system. GPUMD tasks ask for the
worker resource ``GPU=1`` (start GPU workers with ``dask worker ... --resources GPU=1``, one per
GPU); CPU and path-integral tasks ask for nothing.
"""

from __future__ import annotations

from typing import Any

from ..execution import Executor, Piece, piece_progress
from ..progress import ProgressReporter
from .backends import MDBackend, MDJob, execute


def _task(backend: MDBackend, job: MDJob) -> dict[str, Any]:
    # cancellation through the piece's reporter: a CPU run checkpoints, then stops
    return execute(backend, job, piece_progress())


def run_on_cluster(executor: Executor, jobs: list[MDJob], backend: MDBackend,
                   progress: ProgressReporter) -> list[dict[str, Any]]:
    """The summaries of ``jobs``, in job order."""
    pieces = [Piece(key="md-" + job.spec.label.replace("/", "-"), function=_task,
                    args=(backend, job), weight=float(job.protocol.total_steps),
                    resources=dict(backend.resources) if backend.resources else None)
              for job in jobs]
    inputs = [jobs[0].model_path] if jobs else []
    return executor.run(pieces, progress, input_files=inputs + backend.input_files())
