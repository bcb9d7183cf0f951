"""The ``mdinsim`` command line: one sub-command per step, mirroring the Mantid algorithms.

Each sub-command lives in its step's package as a module with two functions::

    def add_arguments(parser: argparse.ArgumentParser) -> None   # options from the ParameterSet
    def run(args: argparse.Namespace) -> int                      # calls the core, writes files

and is listed in :data:`COMMANDS`. Modules are imported only when their command runs (or for
``--help``), so ``mdinsim instruments`` does not pay for importing the MD stack.

Errors of the user's making (:class:`~mantid_mdinsim.errors.MdinsimError`) are printed as one
message without a traceback and give exit status 2; ``--debug`` shows the traceback. An
unexpected error (a bug) gives exit status 3, a message saying where to report it, and its
traceback in a log file (:func:`~mantid_mdinsim.errors.report_unexpected`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from . import __version__
from .errors import (Cancelled, MdinsimError, ParameterError, os_error_message,
                     report_unexpected)
from .lifetime import Terminated, end_process, interruption, terminate_as_interrupt

#: name -> (module, one-line help). The module provides add_arguments(parser) and run(args).
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("mantid_mdinsim.train.cli",
              "train a NEP model (or an ensemble) from reference energies, forces and virials"),
    "md": ("mantid_mdinsim.md.cli",
           "run molecular dynamics with a NEP model (GPUMD on a GPU, or ASE + CPUNEP on CPU)"),
    "sqw": ("mantid_mdinsim.sqw.cli",
            "compute the dynamic structure factor S(q,w) from MD trajectories"),
    "instrument": ("mantid_mdinsim.instrument.cli",
                   "apply an instrument (kinematics, resolution, corrections) to S(|Q|,w)"),
    "instruments": ("mantid_mdinsim.instrument.cli_list",
                    "list the instruments, their settings and valid ranges"),
    "harmonic": ("mantid_mdinsim.harmonic.cli",
                 "harmonic phonons of a NEP model and their incoherent INS spectrum (as AbINS)"),
    "predict": ("mantid_mdinsim.predict.cli",
                "structure + NEP model -> MD -> S(q,w) -> instrument spectrum, in one command"),
    "mantid-register": ("mantid_mdinsim.mantid.cli",
                        "make the mdinsim algorithms available in Mantid Workbench"),
}


#: Commands that end with a plot: their plotting process is forked before anything else
#: (:func:`~mantid_mdinsim.plot_process.start_early`), so that its imports overlap the
#: command's own start.
PLOTTING_COMMANDS = frozenset({"sqw"})


def _load(module_name: str):
    return importlib.import_module(module_name)


#: ``build_parser(only=NO_COMMAND)``: the sub-commands are listed but none is filled in (the
#: top-level ``mdinsim --help`` needs only their one-line help).
NO_COMMAND = ""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only``, just that sub-command is filled in (faster start-up;
    :data:`NO_COMMAND` fills in none)."""
    parser = argparse.ArgumentParser(
        prog="mdinsim",
        description="Predict inelastic neutron scattering from first principles: NEP training, "
                    "molecular dynamics, S(q,w) and instrument models. Units: meV, Angstrom, "
                    "1/Angstrom, fs, K.")
    parser.add_argument("--version", action="version", version=f"mdinsim {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            try:
                module = _load(module_name)
            except ModuleNotFoundError as error:
                if error.name is None or not module_name.startswith(error.name):
                    raise
                continue  # a step whose command is not built yet
            module.add_arguments(sub)
            sub.set_defaults(_module=module_name)
    return parser


def _message(error: MdinsimError, module) -> str:
    """The error as this command's user reads it: a parameter named by its option."""
    parameters = getattr(getattr(module, "COMMAND", None), "parameters", None)
    if isinstance(error, ParameterError) and parameters is not None and error.name in parameters:
        return error.worded_for(parameters[error.name].cli_label)
    return str(error)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((word for word in argv if not word.startswith("-")), None)
    # SIGTERM is Ctrl-C from the first line to the exit status: while the plotting helper is
    # forked, the parser built, the step imported, run, and its error reported. Before (the
    # interpreter's start, nothing started yet) and after (console_main's exit handlers, the
    # outcome decided) it kills the process as Python's default does: status -15 (143 in a
    # shell).
    with terminate_as_interrupt():
        try:
            if command in PLOTTING_COMMANDS:
                from . import plot_process

                plot_process.start_early(argv)
                try:
                    return _main(argv, command)
                finally:
                    plot_process.discard_early()
            return _main(argv, command)
        except KeyboardInterrupt as interrupt:   # before the command runs, or as it reports
            return _interrupted(command if command in COMMANDS else None, interrupt)


def _interrupted(command: str | None, interrupt: KeyboardInterrupt) -> int:
    """The message and exit status of a command ended by SIGTERM (143) or Ctrl-C (130)."""
    name = f"mdinsim {command}" if command else "mdinsim"
    if isinstance(interrupt, Terminated):
        print(f"{name}: terminated (SIGTERM); completed outputs are kept and the run resumes "
              "from its last checkpoint when started again", file=sys.stderr)
        return 143
    print(f"{name}: interrupted; completed outputs are kept and the run resumes from its last "
          "checkpoint when started again", file=sys.stderr)
    return 130


def _main(argv: list[str], command: str | None) -> int:
    # Only the sub-command named is built: importing every step's module (and building every
    # option) for `mdinsim --help` alone took seconds.
    parser = build_parser(only=command if command in COMMANDS else NO_COMMAND)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 1
    if not hasattr(args, "_module"):
        parser.error(f"the '{args.command}' command is not available in this installation")
    module = _load(args._module)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt as interrupt:
        return _interrupted(args.command, interrupt)
    except Exception as error:
        # An error raised because of a SIGTERM or Ctrl-C (lifetime.interruption: a C
        # extension's initialisation turned one into ImportError) is that interruption.
        interrupt = interruption(error)
        if interrupt is None:
            return _failed(error, args, module)
        if args.debug:
            import traceback  # only --debug shows what the interruption became

            traceback.print_exception(error)
        return _interrupted(args.command, interrupt)


def _failed(error: Exception, args: argparse.Namespace, module) -> int:
    """The message and exit status of a command that failed (re-raised with ``--debug``)."""
    if isinstance(error, Cancelled):
        print(f"mdinsim {args.command}: {error}", file=sys.stderr)
        return 130
    if args.debug:
        raise error
    if isinstance(error, MdinsimError):
        print(f"mdinsim {args.command}: error: {_message(error, module)}", file=sys.stderr)
        return 2
    # The environment (disk full, read-only folder...) rather than a bug: a message.
    known = os_error_message(error) if isinstance(error, OSError) else None
    if known is not None:
        print(f"mdinsim {args.command}: error: {known}", file=sys.stderr)
        return 2
    print(f"mdinsim {args.command}: error: {report_unexpected(error, args.command)}",
          file=sys.stderr)
    return 3


def console_main() -> None:
    """The ``mdinsim`` program (console script, ``python -m mantid_mdinsim[.cli]``): the
    command, then the end of the process without the interpreter's teardown
    (:func:`~mantid_mdinsim.lifetime.end_process`)."""
    end_process(main())


if __name__ == "__main__":
    console_main()
