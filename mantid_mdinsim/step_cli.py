"""One builder for every step's command line: options from the step's ParameterSet.

A step's ``cli.py`` declares its command once::

    def _compute(settings: SqwSettings, progress):  # the work, behind the progress bar
        from .compute import compute_sqw          # heavy: imported when the command runs
        ...
        return written

    def _report(written): ...                     # printed once the bar is gone

    COMMAND = StepCLI("sqw", SQW_PARAMETERS, settings_type=SqwSettings, compute=_compute,
                      report=_report, description="...", epilog="...")
    add_arguments = COMMAND.add_arguments          # what mantid_mdinsim.cli calls
    run = COMMAND.run                              # settings, progress bar, compute, report

The options, their help, the aliases of a choice and the "applies only when" warnings all come
from the :class:`~mantid_mdinsim.parameters.Parameter` definitions, so no command touches
argparse's internals and the rules are those the core and the Mantid algorithms use.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, Callable

from .io.paths import check_output_paths
from .parameters import ParameterSet, StepSettings
from .progress import ProgressReporter, terminal_progress


@dataclass(frozen=True)
class StepCLI:
    """The command line of one step.

    Attributes
    ----------
    command
        The sub-command (``sqw``), for messages.
    parameters
        The step's definitions; one option (or positional argument) each.
    description, epilog
        Text of ``--help`` (the description defaults to the sub-command's one-line help).
    optional_positional
        The name of a positional parameter that may be left out (``predict``'s STRUCTURE,
        which ``--demo`` supplies); the core reports it when it is missing.
    settings_type
        The step's :class:`~mantid_mdinsim.parameters.StepSettings` class, which
        :meth:`settings` builds (its parameters have the same names as ``parameters``; they
        may be less strict, as the instrument step's, whose files the command line requires
        and the Python API does not).
    compute, report
        What :meth:`run` does with the settings: ``compute(settings, progress)`` behind the
        progress bar (``mdinsim <command>``), then ``report(outcome)`` with what it returned,
        once the bar is gone (a summary on stdout). Commands with a ``run`` of their own leave
        them out.
    """

    command: str
    parameters: ParameterSet
    description: str | None = None
    epilog: str | None = None
    optional_positional: str | None = None
    settings_type: type[StepSettings] | None = None
    compute: Callable[[Any, ProgressReporter], Any] | None = None
    report: Callable[[Any], None] | None = None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        if self.description:
            parser.description = self.description
        if self.epilog:
            parser.epilog = self.epilog
        names = [n for n in self.parameters.names() if n != self.optional_positional]
        self.parameters.subset(names).add_to_argparse(parser)
        if self.optional_positional:
            parameter = self.parameters[self.optional_positional]
            parser.add_argument(parameter.name, nargs="?", default=argparse.SUPPRESS,
                                metavar=parameter.metavar or parameter.name.upper(),
                                help=parameter.describe().replace("%", "%%"))

    def given(self, args: argparse.Namespace) -> dict[str, Any]:
        """The values given on the command line (argparse leaves the others out), unvalidated."""
        return {name: value for name, value in vars(args).items() if name in self.parameters}

    def resolve(self, args: argparse.Namespace) -> dict[str, Any]:
        """The validated parameters by name (defaults filled in); warns of values that do not
        apply; checks that the output files and folders can be written, before anything runs."""
        given = self.given(args)
        resolved = self.parameters.resolve(given)
        self.warn_inapplicable({name: resolved[name] for name in given}, resolved)
        check_output_paths(self.parameters, resolved)
        return resolved

    def settings(self, args: argparse.Namespace) -> Any:
        """The step's settings object (``settings_type``), validated as :meth:`resolve` does.

        A command declared without ``settings_type`` gets the dict of :meth:`resolve` (kept
        while the md, train and predict steps move to their settings objects)."""
        resolved = self.resolve(args)
        if self.settings_type is None:
            return resolved
        return self.settings_type.from_values(resolved)

    def run(self, args: argparse.Namespace) -> int:
        """The command: settings from ``args``, then :attr:`compute` with a progress bar, then
        :attr:`report`. Returns the exit status (0)."""
        settings = self.settings(args)
        with terminal_progress(f"mdinsim {self.command}") as progress:
            outcome = self.compute(settings, progress)
        if self.report is not None:
            self.report(outcome)
        return 0

    def warn_inapplicable(self, given: dict[str, Any],
                          context: dict[str, Any] | None = None) -> None:
        """Print a warning for each value given where it does not apply (see
        :meth:`ParameterSet.inapplicable` for why a warning, not an error)."""
        for note in self.parameters.inapplicable(given, context):
            print(f"mdinsim {self.command}: warning: {note}", file=sys.stderr)
