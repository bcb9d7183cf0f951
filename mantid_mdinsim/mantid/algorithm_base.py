"""The mixin shared by the algorithms, as ``AbinsAlgorithm`` is for Abins and Abins2D
(mantidproject/mantid ``scripts/abins/abinsalgorithm.py``).

An algorithm file is thin::

    class MDComputeSqw(MDAlgorithm, PythonAlgorithm):
        PARAMETERS = SQW_PARAMETERS            # the step's shared definitions
        STEP = "MDComputeSqw"

        def summary(self): ...
        def PyInit(self):
            self.declare_parameters()          # one property per Parameter
            self.declare_output("OutputWorkspace", "...")
        def validateInputs(self):
            return self.validate_parameters()  # the core's own checks, by property
        @user_errors_without_traceback         # Mantid's message: no trail of core files
        def PyExec(self):
            settings = self.settings()             # SqwSettings (SETTINGS), validated once
            result = self.run_core(compute, settings)  # progress, cancel, logging
            self.set_output("OutputWorkspace", result.workspaces()[0])

    AlgorithmFactory.subscribe(MDComputeSqw)

Everything Mantid-specific that they share lives here: category ``Simulation``, see-also
Abins/Abins2D, properties and their validation from the ParameterSet, progress and cancellation,
messages through ``self.log()`` (with the mdinsim version), provenance sample logs on every
output, and Spectrum/Table results turned into workspaces and groups.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable, Iterable, Mapping, Sequence

from mantid.api import (ITableWorkspaceProperty, MatrixWorkspaceProperty, PropertyMode,
                        WorkspaceGroupProperty, WorkspaceProperty)
from mantid.kernel import Direction

from .. import __version__
from ..errors import (Cancelled, MdinsimError, ParameterError, os_error_message,
                      report_unexpected)
from ..io.paths import check_output_paths
from ..parameters import Kind, Parameter, ParameterSet, StepSettings
from ..provenance import provenance_logs
from ..spectrum import Spectrum, Table
from .progress import mantid_progress
from .properties import (EnabledWhen, declare_parameters, enabled_when_of, read_parameters,
                         set_enabled_when, validation_issues)
from .values import plain
from .version import require_mantid
from .workspaces import TABLE_COMMENT_KEY, make_group, to_workspace

# Loading an algorithm file on a Mantid that is too old stops here, with the message that says
# which Mantid is needed, rather than at the first call that Mantid lacks.
require_mantid()

class ReportedError(RuntimeError):
    """An unexpected error, already reported (its traceback in a log file; message from
    :func:`~mantid_mdinsim.errors.report_unexpected`)."""


def user_errors_without_traceback(py_exec: Callable[[Any], None]) -> Callable[[Any], None]:
    """Decorator of each algorithm's ``PyExec``.

    Mantid turns an exception leaving ``PyExec`` into a message that is ``str(error)`` followed
    by a line for every frame of its traceback ("at line N in 'file'", then "caused by line N
    in 'file'"; PythonException, Framework/PythonInterface/core/src/ErrorHandling.cpp), so an
    error raised deep in the core would reach the user with a trail of the core's files. The
    errors meant for the user (MdinsimError: bad input, a failed program, disk full; and the
    already reported unexpected errors) leave here with their traceback cut: one line, this
    function's. Other exceptions keep theirs (a bug outside :meth:`MDAlgorithm.run_core`).
    """
    @functools.wraps(py_exec)
    def wrapper(self) -> None:
        try:
            py_exec(self)
        except (MdinsimError, ReportedError) as error:
            raise error.with_traceback(None) from None

    return wrapper


#: Workspace property classes by the kind of workspace an output holds.
_WORKSPACE_PROPERTIES = {
    "Workspace": WorkspaceProperty,
    "MatrixWorkspace": MatrixWorkspaceProperty,
    "TableWorkspace": ITableWorkspaceProperty,
    "WorkspaceGroup": WorkspaceGroupProperty,
}


class MDAlgorithm:
    """Mixin for ``PythonAlgorithm`` subclasses built from one step's ParameterSet.

    Class attributes set by each algorithm:

    PARAMETERS
        The step's ParameterSet (``SQW_PARAMETERS``, ...).
    SETTINGS
        The step's settings class (``SqwSettings``, ...), which :meth:`settings` builds.
    STEP
        The step name written into the provenance logs (the algorithm name).
    EXCLUDE
        Parameter names that get no property (handled by the algorithm itself).
    ENABLED_WHEN
        ``{parameter: (other parameter, value or values)}``: extra conditions for greying out
        a property (EnabledWhenProperty), beyond those the definitions carry
        (``Parameter.applies_when``, which :meth:`declare_parameters` applies itself); for a
        condition that holds in the dialog only, such as a plot that needs the optional
        output file.
    SEE_ALSO
        Related algorithms besides Abins and Abins2D.
    """

    PARAMETERS: ParameterSet
    SETTINGS: type[StepSettings] | None = None
    STEP: str = ""
    EXCLUDE: tuple[str, ...] = ()
    ENABLED_WHEN: Mapping[str, EnabledWhen] = {}
    SEE_ALSO: tuple[str, ...] = ()

    # -- identity (Mantid calls these on the instance) ------------------------------------------
    def category(self) -> str:
        return "Simulation"

    def seeAlso(self) -> list[str]:  # noqa: N802 - Mantid's name
        return [*self.SEE_ALSO, "Abins", "Abins2D"]

    def version(self) -> int:
        return 1

    # -- properties -----------------------------------------------------------------------------
    @property
    def declared_parameters(self) -> list[Parameter]:
        """The parameters that have a property, in declaration order."""
        return [p for p in self.PARAMETERS if p.name not in set(self.EXCLUDE)]

    def declare_parameters(self) -> None:
        """Declare one property per parameter (groups, validators, EnabledWhen settings from
        ``Parameter.applies_when`` and :attr:`ENABLED_WHEN`)."""
        declared = declare_parameters(self, self.PARAMETERS, self.EXCLUDE)
        conditions = {**enabled_when_of(declared), **self.ENABLED_WHEN}
        if conditions:
            set_enabled_when(self, declared, conditions)

    def declare_output(self, name: str, doc: str, kind: str = "Workspace",
                       optional: bool = False, group: str | None = "Output",
                       default: str = "") -> None:
        """Declare an output workspace property (``kind``: Workspace, MatrixWorkspace,
        TableWorkspace or WorkspaceGroup)."""
        cls = _WORKSPACE_PROPERTIES[kind]
        mode = PropertyMode.Optional if optional else PropertyMode.Mandatory
        self.declareProperty(cls(name, default, Direction.Output, mode), doc)
        if group:
            self.setPropertyGroup(name, group)

    def parameter_values(self) -> dict[str, Any]:
        """Property values by parameter name, unvalidated (None where not set)."""
        return read_parameters(self, self.declared_parameters)

    def validate_parameters(self, fixed: Mapping[str, Any] | None = None,
                            cross_check: Callable[[dict[str, Any]], None] | None = None
                            ) -> dict[str, str]:
        """``validateInputs`` issues from the core's own validation (see
        :func:`~mantid_mdinsim.mantid.properties.validation_issues`)."""
        return validation_issues(self, self.declared_parameters, self.PARAMETERS, fixed,
                                 cross_check)

    def given_parameters(self) -> dict[str, Any]:
        """Values, by parameter name, of the properties set away from their defaults: what the
        CLI's given options hold, for a core that merges presets under them (predict's
        ``demo``). A property set to its own default counts as not given (Mantid keeps no
        other record)."""
        return {name: value for name, value in self.parameter_values().items()
                if value is not None
                and not self.getProperty(self.PARAMETERS[name].property_name).isDefault}

    def resolved_parameters(self, fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The complete, validated parameter dict (``ParameterSet.resolve``); ``fixed`` gives
        values for parameters without a property. Output files (Kind.OUTPUT_FILE) are the
        property values, None where no file is wanted, not the CLI's default file names; they
        and output folders are checked to be writable (``io.paths.check_output_paths``)."""
        values = self.parameter_values()
        given = {name: value for name, value in values.items()
                 if value is not None or self.PARAMETERS[name].required}
        given.update(fixed or {})
        resolved = self.PARAMETERS.resolve(given)
        for parameter in self.declared_parameters:
            if parameter.kind is Kind.OUTPUT_FILE:
                resolved[parameter.name] = values[parameter.name]
        # A property changed from its default where it does not apply is not used: say so
        # (the dialog greys it out; a script may still set it).
        changed = {p.name: resolved[p.name] for p in self.declared_parameters
                   if not self.getProperty(p.property_name).isDefault}
        for note in self.PARAMETERS.inapplicable(changed, resolved):
            self.log().warning(f"{self.name()}: {note}")
        # Output files and folders can be written: checked before PyExec computes anything.
        check_output_paths(self.PARAMETERS, resolved)
        return resolved

    def settings(self, fixed: Mapping[str, Any] | None = None) -> StepSettings:
        """The step's settings object (:attr:`SETTINGS`) from the properties, checked as
        :meth:`resolved_parameters` checks them. Output files keep their defaults there (the
        core writes none): in Mantid a file is written only where its property names one, see
        :meth:`output_file`."""
        resolved = self.resolved_parameters(fixed)
        return self.SETTINGS.from_values({
            name: value for name, value in resolved.items()
            if name not in self.PARAMETERS or self.PARAMETERS[name].kind is not Kind.OUTPUT_FILE})

    def output_file(self, name: str) -> str | None:
        """The file an output-file property names (parameter ``name``), or None for none."""
        return self.parameter_values()[name]

    # -- running --------------------------------------------------------------------------------
    def progress_reporter(self, start: float = 0.0, end: float = 1.0):
        return mantid_progress(self, start, end)

    def run_core(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a core function with a Mantid progress reporter (``progress=``), logging
        the mdinsim version and the parameters first and the outcome after.

        A cancel (Cancelled) becomes KeyboardInterrupt, which is how Mantid's interruption
        point reports a cancelled algorithm; MdinsimError messages reach the user unchanged; an
environment OSError (disk full...) becomes a clear message, anything else a message saying
where to report it (the traceback goes to a log file, as in the CLI).
        """
        name = self.name()
        parameters = next((a.as_values() if isinstance(a, StepSettings) else a for a in args
                           if isinstance(a, (Mapping, StepSettings))), None)
        self.log().notice(f"{name}: mdinsim {__version__}")
        if parameters is not None:
            self.log().information(f"{name} parameters: "
                                   + json.dumps(parameters, default=str, sort_keys=True))
        kwargs.setdefault("progress", self.progress_reporter())
        try:
            result = function(*args, **kwargs)
        except Cancelled as cancelled:
            self.log().warning(f"{name}: {cancelled}")
            raise KeyboardInterrupt(str(cancelled)) from cancelled
        except ParameterError as error:
            # Named as the dialog names it (QMax), not by the core's name (q_max_inv_angstrom).
            declared = {p.name: p.property_name for p in self.declared_parameters}
            if error.name in declared:
                error = ParameterError(declared[error.name], error.problem, error.fix)
            self.log().error(f"{name}: {error}")
            raise error from None
        except MdinsimError as error:
            self.log().error(f"{name}: {error}")
            raise
        except OSError as error:
            known = os_error_message(error)
            if known is None:
                raise ReportedError(report_unexpected(error, name)) from None
            self.log().error(f"{name}: {known}")
            raise known from None
        except Exception as error:
            # A bug: a message saying where to report it, the traceback kept in a log file.
            message = report_unexpected(error, name)
            self.log().error(f"{name}: {message}")
            raise ReportedError(message) from None
        self.log().information(f"{name}: finished")
        return result

    # -- outputs --------------------------------------------------------------------------------
    def provenance(self, parameters: Mapping[str, Any] | StepSettings) -> dict[str, Any]:
        return provenance_logs(self.STEP or self.name(), parameters)

    def with_provenance(self, item: Spectrum | Table,
                        parameters: Mapping[str, Any] | StepSettings | None
                        ) -> Spectrum | Table:
        """``item`` with the provenance logs (version, step, parameters) where it lacks them;
        logs the core already wrote are kept."""
        if parameters is None or "mdinsim_version" in item.logs:
            return item
        logs = self.provenance(parameters)
        logs.update(item.logs)
        item.logs = logs
        return item

    def set_value(self, property_name: str, value: Any) -> None:
        """Set a (non-workspace) output property to ``value`` in a type Mantid takes
        (:func:`~.values.plain`: paths and numpy values become str and Python numbers)."""
        self.setProperty(property_name, plain(value))

    def set_output(self, property_name: str, items: Spectrum | Table | Sequence[Spectrum | Table],
                   parameters: Mapping[str, Any] | StepSettings | None = None) -> Any:
        """Set an output workspace property from a Spectrum, a Table or a list of them (a
        WorkspaceGroup whose members are named ``<output>_<item name>``). Returns the
        workspace."""
        output_name = self.getPropertyValue(property_name)
        if isinstance(items, (Spectrum, Table)):
            workspace = to_workspace(self.with_provenance(items, parameters))
        else:
            items = [self.with_provenance(item, parameters) for item in items]
            workspace = make_group(items, output_name, add_members=not self.isChild())
        self.setProperty(property_name, workspace)
        return workspace


def table_logs(workspace) -> dict[str, Any]:
    """The logs a TableWorkspace made by mdinsim carries (in its comment)."""
    try:
        return json.loads(workspace.getComment())[TABLE_COMMENT_KEY]["logs"]
    except (ValueError, KeyError, TypeError):
        return {}


def names_of(parameters: Iterable[Parameter]) -> list[str]:
    return [p.property_name for p in parameters]
