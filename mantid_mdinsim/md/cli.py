"""``mdinsim md``: molecular dynamics with a NEP model (the MDRunGPUMD algorithm's command).

    mdinsim md STRUCTURE --model NEP.txt --temperature K [K ...] --output-dir DIR [options]

Options come from :data:`~mantid_mdinsim.md.parameters.MD_PARAMETERS`; ``mdinsim md --help``
lists them with units and defaults.
"""

from __future__ import annotations

import argparse
import sys

from .. import execution
from ..progress import terminal_progress
from ..step_cli import StepCLI
from . import WORKER_MODULES
from .parameters import MD_PARAMETERS, MDSettings

COMMAND = StepCLI("md", MD_PARAMETERS)
add_arguments = COMMAND.add_arguments


def _format(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def run(args: argparse.Namespace) -> int:
    settings = MDSettings.from_values(COMMAND.settings(args))
    # local:N: the workers' forkserver loads calorine while this process imports the core
    execution.prepare(settings.scheduler, settings.threads_per_worker, WORKER_MODULES)
    from .core import run_md  # the core's libraries load only when it runs

    with terminal_progress("mdinsim md") as progress:
        result = run_md(settings, progress)
    print(f"backend: {result.backend}; {len(result.runs)} run(s) in {result.output_dir}")
    for run in result.runs:
        print(f"  {run['label']}: U = {run['mean_squared_displacement_angstrom2']:.5f} A^2, "
              f"T = {_format(run['mean_temperature_k'], '.1f')} K, "
              f"P = {_format(run['mean_pressure_gpa'], '.3f')} GPa, "
              f"V = {_format(run['mean_volume_angstrom3'], '.2f')} A^3, "
              f"drift = {_format(run['energy_drift_ev_per_atom_per_ps'], '.2e')} eV/atom/ps, "
              f"{run['number_of_frames']} frames -> {run['trajectory_path']}")
    for note in result.warnings:
        print(f"mdinsim md: warning: {note}", file=sys.stderr)
    return 0
