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
from .parameters import PREDICT_PARAMETERS

_POSITIONAL = "structure"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Predict what an inelastic neutron scattering instrument measures for a structure with "
        "a NEP model: molecular dynamics (GPUMD on a GPU, or ASE + CPUNEP on CPU), S(q,w) "
        "weighted by neutron scattering lengths, then the instrument's kinematics, resolution "
        "and the quantum correction; optionally the harmonic (AbINS-style) spectrum of the same "
        "model beside it and a measured spectrum over it. Writes processed NeXus files of each "
        "stage, prediction.png and report.json/report.txt in --output-dir. Units: K, fs, ps, "
        "meV, 1/Angstrom.")
    PREDICT_PARAMETERS.subset([n for n in PREDICT_PARAMETERS.names() if n != _POSITIONAL]
                              ).add_to_argparse(parser)
    # The structure is positional but optional: --demo supplies one.
    parser.add_argument(_POSITIONAL, nargs="?", default=argparse.SUPPRESS, metavar="STRUCTURE",
                        help=PREDICT_PARAMETERS[_POSITIONAL].describe().replace("%", "%%"))
    # Instrument names are matched ignoring case and with aliases by the core.
    for action in parser._actions:
        if action.dest == "instrument":
            action.choices = None
            action.metavar = "NAME"
        elif action.dest == "ensemble":
            action.nargs = "*"   # --ensemble alone: the demo's own ensemble
    parser.epilog = ("Examples: mdinsim predict --demo si-tosca --output-dir demo; "
                     "mdinsim predict si.cif --model nep.txt --supercell 4 4 4 --instrument "
                     "ARCS --ei 100 --temperature 300 --output-dir si_arcs --harmonic. "
                     "'mdinsim instruments' lists the instruments and their settings.")


def run(args: argparse.Namespace) -> int:
    from .core import predict
    from .report import report_text

    # Only the options given on the command line (argparse leaves the others out), so that a
    # demo's values are overridden by them alone; the core validates everything.
    given = {name: value for name, value in vars(args).items() if name in PREDICT_PARAMETERS}
    with terminal_progress("mdinsim predict") as progress:
        result = predict(given, progress)
    sys.stdout.write(report_text(result.report))
    return 0
