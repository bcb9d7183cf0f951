"""One definition per parameter, shared by the core, the command line and the Mantid algorithms.

A :class:`Parameter` holds a parameter's name (the keyword of the core function, with its unit in
the name where it has one), type, unit, default, bounds or choices and documentation. A
:class:`ParameterSet` is an ordered collection of them for one step (``SQW_PARAMETERS`` in
``mantid_mdinsim/sqw/parameters.py`` and so on). From one set:

* the core resolves and validates keyword arguments: :meth:`ParameterSet.resolve`;
* the CLI builds its options: :meth:`ParameterSet.add_to_argparse` and
  :meth:`ParameterSet.from_argparse` (each step's command through
  :class:`~mantid_mdinsim.step_cli.StepCLI`);
* the Mantid layer (``mantid_mdinsim/mantid/properties.py``) declares properties with matching
  validators, names (``mantid_name``, CamelCase), groups and EnabledWhenProperty settings.

So a bound or a default is written once and the three faces cannot drift apart. Two rules that
concern more than one value live here too:

* ``aliases`` / ``ignore_case``: other spellings of a choice (``Lagrange`` and ``tosca`` for the
  instruments ``IN1-LAGRANGE`` and ``TOSCA``); :meth:`Parameter.validate` returns the choice
  itself, so every face and the core see one name.
* ``applies_when`` (:func:`when`): a parameter that matters only when another has a value
  (``--pressure`` only for NPT equilibration). The Mantid dialog greys it out otherwise; a value
  given where it does not apply is reported by :meth:`ParameterSet.inapplicable` as a
  **warning**, not an error: it changes nothing in the run (the value is simply not used), so
  no wrong result can come of it, while refusing it would break commands and scripts that pass
  one set of options to several modes (``--backend auto`` decides the engine only at run time);
  the user is still told, so no one believes a setting acted that did not. A condition made
  with ``refuse=`` (``when("q_path", refuse="zones repeat a --q-path")``) is the exception, for
  a value that says the user expects something the run would not do (zones of a path that is
  not given): :meth:`ParameterSet.resolve` refuses it with a :class:`ParameterError`, so the
  CLI, the Python API and Mantid's ``validateInputs`` all refuse it alike.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, Mapping, Sequence, TypeVar

from .errors import ParameterError


class _Required:
    """Sentinel default of a mandatory parameter."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class Kind(str, Enum):
    """What a parameter holds, which decides its CLI option and its Mantid property type."""

    VALUE = "value"                  # a number, string or bool (or a list of them)
    INPUT_FILE = "input_file"        # an existing file (Mantid FileProperty, Load)
    INPUT_FILES = "input_files"      # one or more existing files (Mantid MultipleFileProperty)
    OUTPUT_FILE = "output_file"      # a file to write (Mantid FileProperty, Save)
    DIRECTORY = "directory"          # a folder (Mantid FileProperty, Directory / OptionalDirectory)


_TYPE_NAMES = {float: "float", int: "int", str: "str", bool: "bool"}
#: The largest magnitude of an int parameter: a signed 64-bit integer (NeXus logs, numpy).
_LARGEST_INT = 2**63 - 1


@dataclass(frozen=True)
class AppliesWhen:
    """The condition under which a parameter applies: ``parameter`` has one of ``values``, or,
    with ``values`` None, ``parameter`` is set (see :meth:`holds`)."""

    parameter: str
    values: tuple[Any, ...] | None = None
    #: Why a value given where the condition does not hold is refused (an error, not a
    #: warning); None: a warning (see the module's docstring).
    refuse: str | None = None

    def holds(self, other: "Parameter", value: Any) -> bool:
        """Whether the condition holds when the other parameter (``other``) has ``value``.

        "Set" means not None and, for a value, not its default; a file counts as set whenever
        it is named (the CLI's default output file names one, in Mantid it is optional), as
        Mantid's ``IsNotDefault`` sees it in the dialog.
        """
        if self.values is None:
            if value is None:
                return False
            if other.kind is not Kind.VALUE:
                return True
            default = list(other.default) if isinstance(other.default, tuple) else other.default
            return (list(value) if isinstance(value, tuple) else value) != default
        return value in self.values

    def describe(self, other: "Parameter") -> str:
        """``--equilibration / Equilibration is npt or pimd_npt`` (both faces' names)."""
        names = f"{other.cli_flag} / {other.property_name}"
        if self.values is None:
            return f"{names} is set"
        return f"{names} is " + " or ".join(other.format_value(v) for v in self.values)

    def refusal(self, parameter: "Parameter", value: Any, other: "Parameter") -> ParameterError:
        """The error for ``parameter`` given as ``value`` where this (refusing) condition does
        not hold: what was given, :attr:`refuse`, and the two ways out."""
        if self.values is None:
            fix = f"give {other.cli_flag} too, or leave {parameter.cli_flag} out"
        else:
            fix = (f"leave {parameter.cli_flag} out, or give {other.cli_flag} "
                   + " or ".join(other.format_value(v) for v in self.values))
        return ParameterError(parameter.name, f"{parameter.format_value(value)} is given, but "
                              f"{self.refuse}", fix)


def when(parameter: str, *values: Any, refuse: str | None = None) -> AppliesWhen:
    """``when("equilibration", "npt", "pimd_npt")``: applies only for those values;
    ``when("q_path")``: applies only when ``q_path`` is set. With ``refuse`` (the reason), a
    value given where the condition does not hold is an error rather than a warning."""
    return AppliesWhen(parameter, tuple(values) if values else None, refuse)


def canonical_spelling(value: str, choices: Sequence[str],
                       aliases: Iterable[tuple[str, str]] = (),
                       ignore_case: bool = False) -> str | None:
    """The one of ``choices`` that ``value`` names: itself, an ``(alias, choice)`` alias, or
    either in another case with ``ignore_case``; None if it names none."""
    if value in choices:
        return value
    spellings = [(choice, choice) for choice in choices] + list(aliases)
    fold = str.lower if ignore_case else str
    return next((choice for spelling, choice in spellings if fold(spelling) == fold(value)),
                None)


@dataclass(frozen=True)
class Parameter:
    """The single definition of one parameter.

    Attributes
    ----------
    name
        Keyword of the core function, snake_case, with its unit when it has one
        (``time_step_fs``, ``q_max_inv_angstrom``).
    type
        ``float``, ``int``, ``str`` or ``bool``; the element type when ``multiple`` is true.
    doc
        One or two sentences for ``--help`` and the Mantid dialog; say the unit in words.
    unit
        Unit symbol shown in help and dialogs (``"fs"``, ``"meV"``, ``"1/Angstrom"``, ``"K"``,
        ``"frames"``), or ``None`` for dimensionless values.
    default
        Default value, or :data:`REQUIRED`. ``None`` means "optional, not set".
    minimum, maximum
        Inclusive bounds for numbers (each element when ``multiple``).
    exclusive_minimum
        Whether ``minimum`` itself is forbidden (a time step must be > 0, not >= 0).
    choices
        Allowed string values.
    multiple
        The value is a list (``--temperature 300 900``; a Mantid array property).
    kind
        See :class:`Kind`.
    flag
        CLI option name when it differs from ``--`` + name with dashes (``--q-max``).
    mantid_name
        Mantid property name when it differs from the CamelCase of ``name``.
    group
        Property group in the Mantid dialog and argument group in ``--help``.
    extensions
        File extensions for file parameters (``[".xyz", ".traj"]``), used by Mantid's
        FileProperty and in messages.
    cli_positional
        A positional argument on the command line rather than an option.
    aliases
        ``(alias, choice)`` pairs: other names accepted for a choice; :meth:`validate` returns
        the choice.
    ignore_case
        Choices and aliases are matched ignoring case (the CLI then lists them in the help
        rather than letting argparse refuse other spellings).
    metavar
        The word for the value in ``--help`` and messages (``--instrument NAME``).
    allow_empty
        A list option that may be given with no value on the command line (``--ensemble``
        alone: an empty list, which that parameter reads as "the demo's own").
    applies_when
        The parameter applies only under this condition (:func:`when`): greyed out in the
        Mantid dialog otherwise, and a warning when given where it does not apply.
    """

    name: str
    type: type
    doc: str
    unit: str | None = None
    default: Any = REQUIRED
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] | None = None
    multiple: bool = False
    kind: Kind = Kind.VALUE
    flag: str | None = None
    mantid_name: str | None = None
    group: str | None = None
    extensions: tuple[str, ...] = ()
    cli_positional: bool = False
    aliases: tuple[tuple[str, str], ...] = ()
    ignore_case: bool = False
    metavar: str | None = None
    allow_empty: bool = False
    applies_when: AppliesWhen | None = None

    def __post_init__(self) -> None:
        if self.kind is Kind.INPUT_FILES:
            object.__setattr__(self, "multiple", True)
        if self.type not in _TYPE_NAMES:
            raise TypeError(f"parameter {self.name}: unsupported type {self.type!r}")
        if self.choices is not None and self.type is not str:
            raise TypeError(f"parameter {self.name}: choices need type str")
        if (self.aliases or self.ignore_case) and self.choices is None:
            raise TypeError(f"parameter {self.name}: aliases and ignore_case need choices")
        for alias, choice in self.aliases:
            if choice not in self.choices:
                raise TypeError(f"parameter {self.name}: alias {alias} of unknown {choice}")
        if self.default is not REQUIRED and self.default is not None:
            # A definition whose own default fails its bounds is a programming error.
            self.validate(self.default)

    # -- names -------------------------------------------------------------------------------
    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def cli_label(self) -> str:
        """How an error names it on the command line: the option, or a positional's NAME."""
        return self.name.upper() if self.cli_positional else self.cli_flag

    @property
    def property_name(self) -> str:
        """The Mantid property name (CamelCase of ``name`` unless given)."""
        if self.mantid_name:
            return self.mantid_name
        return "".join(part[:1].upper() + part[1:] for part in self.name.split("_"))

    @property
    def annotation(self) -> Any:
        """The type of the parameter's value in a settings object (:class:`StepSettings`): its
        type, a tuple of it when ``multiple``, or None too when the default is None
        (``tuple[int, ...] | None``)."""
        value_type = tuple[self.type, ...] if self.multiple else self.type
        return value_type | None if self.default is None else value_type

    def describe(self) -> str:
        """Documentation with unit, bounds and default, for ``--help`` and dialogs."""
        text = self.doc.rstrip(".") + "."
        if self.unit:
            text += f" Unit: {self.unit}."
        bounds = self.bounds_text()
        if bounds:
            text += f" Allowed: {bounds}."
        if not self.required and self.default is not None and self.kind is Kind.VALUE:
            text += f" Default: {self.format_value(self.default)}."
        return text

    def bounds_text(self) -> str:
        if self.choices:
            return ", ".join(self.choices)
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        return " and ".join(parts)

    def format_value(self, value: Any) -> str:
        if self.multiple and isinstance(value, (list, tuple)):
            return " ".join(self.format_value_one(v) for v in value)
        return self.format_value_one(value)

    def format_value_one(self, value: Any) -> str:
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    # -- validation --------------------------------------------------------------------------
    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to the parameter's type, or raise :class:`ParameterError`.

        ``None`` is accepted for optional parameters whose default is ``None``.
        """
        if value is None:
            if self.default is None:
                return None
            raise ParameterError(self.name, "a value is required",
                                 f"give {self.cli_flag} / {self.property_name}")
        if self.multiple:
            if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
                value = [value]
            values = [self._validate_one(v) for v in value]
            if not values and self.required:
                raise ParameterError(self.name, "at least one value is required")
            return values
        return self._validate_one(value)

    def canonical_choice(self, value: str) -> str | None:
        """The choice ``value`` names (itself, or through an alias or another case), or None."""
        return canonical_spelling(value, self.choices, self.aliases, self.ignore_case)

    def _validate_one(self, value: Any) -> Any:
        value = self._convert(value)
        if self.choices is not None:
            value = self.canonical_choice(value) or value
        if self.choices is not None and value not in self.choices:
            raise ParameterError(self.name, f"'{value}' is not one of the allowed values",
                                 "choose one of: " + ", ".join(self.choices))
        if self.type in (int, float):
            unit = f" {self.unit}" if self.unit else ""
            if self.minimum is not None:
                too_small = value <= self.minimum if self.exclusive_minimum else value < self.minimum
                if too_small:
                    raise ParameterError(self.name, f"{value:g}{unit} is out of range",
                                         f"it must be {self.bounds_text()}{unit}")
            if self.maximum is not None and value > self.maximum:
                raise ParameterError(self.name, f"{value:g}{unit} is out of range",
                                     f"it must be {self.bounds_text()}{unit}")
        return value

    def _empty_fix(self, what: str) -> str:
        return f"give {what}" + ("" if self.required else f", or leave {self.cli_flag} out")

    def _convert(self, value: Any) -> Any:
        if self.kind is not Kind.VALUE:
            if isinstance(value, Path):
                return str(value)
            if not isinstance(value, str):
                raise ParameterError(self.name, f"expected a path, got {value!r}")
            if not value.strip():
                # `--output ""` (an unset shell variable) named the current folder and ended
                # in an internal error; Mantid reads an empty optional property as None first.
                raise ParameterError(self.name, "the file or folder name is empty",
                                     self._empty_fix("a name"))
            return value
        if self.type is str and isinstance(value, str) and not value.strip():
            # `--q-path ""` was read as no path: the zones given with it were silently dropped.
            raise ParameterError(self.name, "the value is empty", self._empty_fix("a value"))
        try:
            if self.type is bool:
                if isinstance(value, str):
                    lowered = value.strip().lower()
                    if lowered in ("1", "true", "yes", "on"):
                        return True
                    if lowered in ("0", "false", "no", "off"):
                        return False
                    raise ValueError(value)
                return bool(value)
            if self.type is int:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError(value)
                converted = int(value)
                if abs(converted) <= _LARGEST_INT:
                    return converted
            elif self.type is float:
                converted = float(value)
                if math.isfinite(converted):
                    return converted
            else:
                return str(value)
        except (TypeError, ValueError):
            raise ParameterError(self.name, f"{value!r} is not a valid {_TYPE_NAMES[self.type]}",
                                 f"give {'an' if self.type is int else 'a'} "
                                 f"{_TYPE_NAMES[self.type]}"
                                 + (f" in {self.unit}" if self.unit else "")) from None
        if self.type is int:
            # Logs, seeds and array sizes are 64-bit: --seed 1e23 ran the whole computation
            # and then failed writing its log (OverflowError).
            raise ParameterError(self.name, f"{value} is beyond the whole numbers this "
                                 f"parameter can take (64-bit: at most {_LARGEST_INT} in size)",
                                 "give a smaller number")
        # NaN passes no bound and inf no computation (--q-max inf gave a LinAlgError): every
        # physical parameter needs a finite number.
        raise ParameterError(self.name, f"{value!r} is not a valid float: not a finite number",
                             "give a finite number" + (f" in {self.unit}" if self.unit else ""))


@dataclass(frozen=True)
class ParameterSet:
    """An ordered set of parameters: the signature of one step."""

    title: str
    parameters: tuple[Parameter, ...]
    _by_name: dict[str, Parameter] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {}
        for parameter in self.parameters:
            if parameter.name in by_name:
                raise ValueError(f"{self.title}: parameter {parameter.name} defined twice")
            by_name[parameter.name] = parameter
        object.__setattr__(self, "_by_name", by_name)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters if not p.required}

    def merged(self, title: str, *others: "ParameterSet | Sequence[Parameter]") -> "ParameterSet":
        """A new set with the parameters of ``others`` appended (for ``predict``)."""
        parameters = list(self.parameters)
        seen = set(self.names())
        for other in others:
            for parameter in other:
                if parameter.name not in seen:
                    parameters.append(parameter)
                    seen.add(parameter.name)
        return ParameterSet(title, tuple(parameters))

    def with_conditions(self, conditions: Mapping[str, AppliesWhen]) -> "ParameterSet":
        """A new set whose parameters named in ``conditions`` carry that ``applies_when``."""
        unknown = sorted(set(conditions) - set(self._by_name)) + sorted(
            {c.parameter for c in conditions.values()} - set(self._by_name))
        if unknown:
            raise ValueError(f"{self.title}: condition on unknown parameter {unknown[0]}")
        return ParameterSet(self.title, tuple(
            replace(p, applies_when=conditions[p.name]) if p.name in conditions else p
            for p in self.parameters))

    def subset(self, names: Iterable[str], title: str | None = None) -> "ParameterSet":
        return ParameterSet(title or self.title, tuple(self[n] for n in names))

    def inapplicable(self, given: Mapping[str, Any],
                     context: Mapping[str, Any] | None = None) -> list[str]:
        """Warnings for values in ``given`` whose ``applies_when`` does not hold.

        ``context`` holds the values the conditions look at (the resolved set); by default the
        defaults overridden by ``given``. A given value equal to the default, or a condition on
        a parameter outside this set, gives no warning. See the module's docstring for why this
        is a warning rather than an error.
        """
        notes = []
        for parameter, _, condition, other in self._not_applying(given, context):
            if condition.refuse is None:
                notes.append(f"{parameter.cli_flag} / {parameter.property_name} is not used: it "
                             f"applies only when {condition.describe(other)}")
        return notes

    def check_refused(self, given: Mapping[str, Any],
                      context: Mapping[str, Any] | None = None) -> None:
        """Raise :class:`ParameterError` for the first value in ``given`` whose refusing
        condition (``when(..., refuse=...)``) does not hold (arguments as
        :meth:`inapplicable`)."""
        for parameter, value, condition, other in self._not_applying(given, context):
            if condition.refuse is not None:
                raise condition.refusal(parameter, value, other)

    def _not_applying(self, given: Mapping[str, Any], context: Mapping[str, Any] | None
                      ) -> Iterator[tuple[Parameter, Any, AppliesWhen, Parameter]]:
        """(parameter, value, condition, other parameter) of each value given (not None, not
        the default) whose condition does not hold."""
        values = {**self.defaults(), **dict(context if context is not None else given)}
        for name, value in given.items():
            parameter = self._by_name.get(name)
            condition = parameter.applies_when if parameter is not None else None
            if condition is None or condition.parameter not in self._by_name:
                continue
            default = parameter.default
            if value is None or value == (list(default) if isinstance(default, tuple)
                                          else default):
                continue
            other = self._by_name[condition.parameter]
            if not condition.holds(other, values.get(condition.parameter)):
                yield parameter, value, condition, other

    def resolve(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Validate ``values`` and fill defaults; return a complete dict by parameter name.

        Unknown names, missing mandatory parameters and values a refusing ``applies_when``
        rules out (:meth:`check_refused`) raise :class:`ParameterError`.
        """
        given = dict(values or {})
        given.update(kwargs)
        unknown = sorted(set(given) - set(self._by_name))
        if unknown:
            raise ParameterError(unknown[0], f"not a parameter of {self.title}",
                                 "known parameters: " + ", ".join(self.names()))
        resolved = {}
        for parameter in self.parameters:
            if parameter.name in given:
                resolved[parameter.name] = parameter.validate(given[parameter.name])
            elif parameter.required:
                raise ParameterError(parameter.name, "a value is required",
                                     f"give {parameter.cli_flag} / {parameter.property_name}")
            else:
                default = parameter.default
                resolved[parameter.name] = list(default) if isinstance(default, tuple) else default
        self.check_refused({name: resolved[name] for name in given}, resolved)
        return resolved

    # -- command line ------------------------------------------------------------------------
    def add_to_argparse(self, parser: argparse.ArgumentParser) -> None:
        """Add one option per parameter, in argument groups named after ``group``."""
        groups: dict[str | None, Any] = {}
        for parameter in self.parameters:
            target = parser
            if parameter.group:
                if parameter.group not in groups:
                    groups[parameter.group] = parser.add_argument_group(parameter.group)
                target = groups[parameter.group]
            kwargs: dict[str, Any] = {"help": parameter.describe().replace("%", "%%")}
            if parameter.cli_positional:
                names = [parameter.name]
                if parameter.multiple:
                    kwargs["nargs"] = "+"
            else:
                names = [parameter.cli_flag]
                kwargs["dest"] = parameter.name
                kwargs["default"] = argparse.SUPPRESS
                kwargs["required"] = parameter.required
            if parameter.kind is not Kind.VALUE:
                kwargs["metavar"] = {Kind.DIRECTORY: "DIR"}.get(parameter.kind, "FILE")
                if parameter.kind is Kind.INPUT_FILES and not parameter.cli_positional:
                    kwargs["nargs"] = "*" if parameter.allow_empty else "+"
            elif parameter.type is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                if parameter.choices and not (parameter.aliases or parameter.ignore_case):
                    kwargs["choices"] = parameter.choices
                elif parameter.unit:
                    kwargs["metavar"] = parameter.unit.upper().replace("/", "_PER_")
                # Other spellings are mapped to the choice by validate(), so argparse must
                # not refuse them; the help lists the choices (describe()).
                if parameter.metavar:
                    kwargs["metavar"] = parameter.metavar
                if parameter.multiple and not parameter.cli_positional:
                    kwargs["nargs"] = "*" if parameter.allow_empty else "+"
                # Conversion and bounds are checked by validate() so that the CLI and the core
                # give the same message; argparse only splits the words.
            target.add_argument(*names, **kwargs)

    def from_argparse(self, namespace: argparse.Namespace) -> dict[str, Any]:
        """The validated parameter dict from parsed arguments."""
        given = {name: value for name, value in vars(namespace).items() if name in self._by_name}
        return self.resolve(given)


# -- typed settings -----------------------------------------------------------------------------
class StepSettings:
    """Base of each step's frozen, typed settings (``SqwSettings`` and so on).

    A step declares its settings once, as a frozen dataclass whose fields are exactly the
    parameters of its :class:`ParameterSet` (checked when the first instance is built, so the two
    cannot drift apart)::

        @dataclass(frozen=True)
        class SqwSettings(StepSettings, parameters=SQW_PARAMETERS):
            trajectories: tuple[str, ...]
            time_step_fs: float
            ...

    Every face builds it the same way: :meth:`from_values` validates (bounds, choices,
    aliases, required values) and fills the defaults, through the one :meth:`ParameterSet.resolve`;
    the core receives the object and reads attributes, so a misspelt setting fails when the
    module is imported (a missing attribute), not half-way through a run. Lists become tuples, so
    settings are hashable, picklable and cannot be changed behind the core's back.
    """

    PARAMETERS: ClassVar[ParameterSet]

    def __init_subclass__(cls, parameters: ParameterSet | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if parameters is not None:
            cls.PARAMETERS = parameters

    def __post_init__(self) -> None:
        type(self)._check_fields()

    @classmethod
    def _check_fields(cls) -> None:
        # Run lazily (dataclass() decorates after __init_subclass__): fields == parameters.
        if cls.__dict__.get("_fields_checked"):
            return
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        expected = cls.PARAMETERS.names()
        if sorted(names) != sorted(expected):
            missing = sorted(set(expected) - set(names))
            extra = sorted(set(names) - set(expected))
            raise TypeError(f"{cls.__name__}: fields differ from the parameters of "
                            f"{cls.PARAMETERS.title} (missing {missing}, extra {extra})")
        if names != expected:
            # The order is that of the logs and provenance written from as_values().
            raise TypeError(f"{cls.__name__}: fields are not in the order of the parameters "
                            f"of {cls.PARAMETERS.title} ({', '.join(expected)})")
        cls._fields_checked = True

    @classmethod
    def from_values(cls: type[_S], values: Mapping[str, Any] | None = None,
                    **kwargs: Any) -> _S:
        """Validate ``values`` (and ``kwargs``), fill defaults, and build the settings.

        An instance of the class itself is accepted as ``values`` (then ``kwargs`` override it).
        """
        cls._check_fields()
        if isinstance(values, StepSettings):
            values = values.as_values()
        resolved = cls.PARAMETERS.resolve(values, **kwargs)
        return cls(**{name: _frozen(value) for name, value in resolved.items()})

    def replace(self: _S, **changes: Any) -> _S:
        """A copy with ``changes`` applied, validated like :meth:`from_values`."""
        return type(self).from_values(self.as_values(), **changes)

    def as_values(self, exclude: Iterable[str] = ()) -> dict[str, Any]:
        """The settings by parameter name, lists as lists (for logs, provenance, the CLI);
        without the names in ``exclude``."""
        left_out = set(exclude)
        return {f.name: _thawed(getattr(self, f.name))
                for f in fields(self) if f.name not in left_out}  # type: ignore[arg-type]

    def values_of(self, names: Iterable[str]) -> dict[str, Any]:
        """The values of ``names`` by name, in that order, lists as lists (what a function
        taking a few of the settings as keywords gets)."""
        values = self.as_values()
        return {name: values[name] for name in names}

    def given(self) -> dict[str, Any]:
        """The settings that differ from their defaults (what a user set)."""
        defaults = self.PARAMETERS.defaults()
        return {name: value for name, value in self.as_values().items()
                if name not in defaults or _frozen(defaults[name]) != _frozen(value)}


_S = TypeVar("_S", bound=StepSettings)


def settings_dataclass(cls: type[_S]) -> type[_S]:
    """Make ``cls`` (a :class:`StepSettings` class given ``parameters=``) the frozen dataclass
    whose fields are those parameters, in their order, typed by :attr:`Parameter.annotation`.

    For a set merged from other steps' (``PredictSettings``: MD, S(q,w), instrument and
    harmonic parameters), whose fields written out would repeat each step's own settings class;
    a step's own settings declare their fields explicitly, for the reader. The class stays a
    class statement in its module, so pickle finds it by name::

        @settings_dataclass
        class PredictSettings(StepSettings, parameters=PREDICT_PARAMETERS):
            ...
    """
    if cls.__dict__.get("__annotations__"):
        raise TypeError(f"{cls.__name__}: fields come from its parameters; declare none")
    shadowed = [p.name for p in cls.PARAMETERS if hasattr(cls, p.name)]
    if shadowed:
        raise TypeError(f"{cls.__name__}: parameter {shadowed[0]} would hide an attribute")
    cls.__annotations__ = {p.name: p.annotation for p in cls.PARAMETERS}
    return dataclass(frozen=True)(cls)


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _thawed(value: Any) -> Any:
    return [_thawed(v) for v in value] if isinstance(value, tuple) else value
