"""``mdinsim predict``: structure + NEP model -> MD -> S(q,w) -> instrument spectrum, one command.

    mdinsim predict STRUCTURE --model NEP.txt --instrument NAME --temperature K \\
        --output-dir DIR [--experiment FILE] [--harmonic] [step options]
    mdinsim predict --demo si-tosca --output-dir demo

Options come from :data:`~mantid_mdinsim.predict.parameters.PREDICT_PARAMETERS` (the steps'
own definitions, merged); ``mdinsim predict --help`` lists them with units and defaults. The
command prints the report (also in ``DIR/report.txt``); an interrupted run started again with the
same folder skips what is done.
"""

from __future__ import annotations

import argparse
import sys

from ..progress import terminal_progress
from ..step_cli import StepCLI
from .parameters import PREDICT_PARAMETERS

COMMAND = StepCLI(
    "predict", PREDICT_PARAMETERS, description=(
        "Predict what an inelastic neutron scattering instrument measures for a structure with "
        "a NEP model: molecular dynamics (GPUMD on a GPU, or ASE + CPUNEP on CPU), S(q,w) "
        "weighted by neutron scattering lengths, then the instrument's kinematics, resolution "
        "and the quantum correction; optionally the harmonic (AbINS-style) spectrum of the same "
        "model beside it and a measured spectrum over it. Writes processed NeXus files of each "
        "stage, prediction.png and report.json/report.txt in --output-dir. Units: K, fs, ps, "
        "meV, 1/Angstrom."),
    epilog=("Examples: mdinsim predict --demo si-tosca --output-dir demo; "
            "mdinsim predict si.cif --model nep.txt --supercell 4 4 4 --instrument "
            "ARCS --ei 100 --temperature 300 --output-dir si_arcs --harmonic. "
            "'mdinsim instruments' lists the instruments and their settings."),
    # The structure is positional but optional: --demo supplies one.
    optional_positional="structure")
add_arguments = COMMAND.add_arguments


def run(args: argparse.Namespace) -> int:
    # Every step's libraries load only when the command runs (not for --help).
    from .core import predict, resolve_settings  # the steps load only when it runs
    from .report import report_text  # (as above)

    # Only the options given on the command line (argparse leaves the others out), so that a
    # demo's values are overridden by them alone; the core validates everything.
    given = COMMAND.given(args)
    settings = resolve_settings(given)
    resolved = settings.as_values()
    COMMAND.warn_inapplicable({name: resolved[name] for name in given}, resolved)
    with terminal_progress("mdinsim predict") as progress:
        result = predict(settings, progress)
    sys.stdout.write(report_text(result.report))
    return 0
