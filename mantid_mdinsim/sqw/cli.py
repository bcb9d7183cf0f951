"""``mdinsim sqw``: S(q,w) from MD trajectories, written as processed NeXus plus a PNG.

Example::

    mdinsim sqw run1.xyz run2.xyz --time-step-fs 14 --window 400 --q-max 12 --q-count 2000 \\
        --output si_300K.nxs

An interrupted run started again with the same arguments resumes from ``<output>.checkpoint``.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path

from .. import execution, plot_process
from ..progress import ProgressReporter
from ..step_cli import StepCLI
from . import WORKER_MODULES
from .parameters import SQW_PARAMETERS, SqwSettings


def _compute(settings: SqwSettings, progress: ProgressReporter) -> tuple[list[Path], str]:
    """S(q,w) computed (resumed from ``<output>.checkpoint.npz`` where one is left) and
    written; returns the files written and the trajectory warnings."""
    # The plotting process was forked when the command line started (plot_process.start_early,
    # before numba's threads), importing matplotlib while the options are checked, the core
    # imported and S(q,w) computed.
    if not settings.plot:
        plot_process.discard_early()
    with plot_process.claim() if settings.plot else nullcontext() as plotter:
        # local:N: the workers' forkserver loads the kernels while this process imports
        # compute (after the plotting process's fork: Dask loads here)
        execution.prepare(settings.scheduler, settings.threads_per_worker, WORKER_MODULES)
        from .compute import compute_sqw  # heavy (numba, scipy): only when the command runs

        output = Path(settings.output)
        checkpoint = output.with_name(output.name + ".checkpoint.npz")
        result = compute_sqw(settings, progress, checkpoint=checkpoint)
        return (result.save(output, plot=settings.plot, plotter=plotter),
                result.logs.get("trajectory_warnings", ""))


def _report(outcome: tuple[list[Path], str]) -> None:
    written, warnings = outcome
    if warnings:
        print(f"mdinsim sqw: warning: {warnings}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)


COMMAND = StepCLI("sqw", SQW_PARAMETERS, settings_type=SqwSettings, compute=_compute,
                  report=_report, description=(
                      "Compute the dynamic structure factor S(q,w) of MD trajectories "
                      "(coherent and incoherent parts, partials per species, "
                      "neutron/X-ray/electron weights), averaged over |Q| shells or per "
                      "q-point. Output: a processed NeXus file (Mantid) with S(|Q|,E) in "
                      "1/meV per atom (times fm^2 for neutron weights) against energy "
                      "transfer E in meV (DeltaE, positive = neutron energy loss; classical, "
                      "so symmetric), and a PNG colour map. Units: fs, frames, 1/Angstrom (2 "
                      "pi included), meV."))
add_arguments = COMMAND.add_arguments
run = COMMAND.run
