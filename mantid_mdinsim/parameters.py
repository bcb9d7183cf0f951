"""One definition per parameter, shared by the core, the command line and the Mantid algorithms.

A :class:`Parameter` holds a parameter's name (the keyword of the core function, with its unit in
the name where it has one), type, unit, default, bounds or choices and documentation. A
:class:`ParameterSet` is an ordered collection of them for one step (``SQW_PARAMETERS`` in
``mantid_mdinsim/sqw/parameters.py`` and so on). From one set:

* the core resolves and validates keyword arguments: :meth:`ParameterSet.resolve`;
* the CLI builds its options: :meth:`ParameterSet.add_to_argparse` and
  :meth:`ParameterSet.from_argparse`;
* the Mantid layer (``mantid_mdinsim/mantid/properties.py``) declares properties with matching
  validators, names (``mantid_name``, CamelCase) and groups.

So a bound or a default is written once and the three faces cannot drift apart.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

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

    def __post_init__(self) -> None:
        if self.kind is Kind.INPUT_FILES:
            object.__setattr__(self, "multiple", True)
        if self.type not in _TYPE_NAMES:
            raise TypeError(f"parameter {self.name}: unsupported type {self.type!r}")
        if self.choices is not None and self.type is not str:
            raise TypeError(f"parameter {self.name}: choices need type str")
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
    def property_name(self) -> str:
        """The Mantid property name (CamelCase of ``name`` unless given)."""
        if self.mantid_name:
            return self.mantid_name
        return "".join(part[:1].upper() + part[1:] for part in self.name.split("_"))

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

    def _validate_one(self, value: Any) -> Any:
        value = self._convert(value)
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

    def _convert(self, value: Any) -> Any:
        if self.kind is not Kind.VALUE:
            if isinstance(value, Path):
                return str(value)
            if not isinstance(value, str):
                raise ParameterError(self.name, f"expected a path, got {value!r}")
            return value
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
                return int(value)
            if self.type is float:
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

    def subset(self, names: Iterable[str], title: str | None = None) -> "ParameterSet":
        return ParameterSet(title or self.title, tuple(self[n] for n in names))

    def resolve(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Validate ``values`` and fill defaults; return a complete dict by parameter name.

        Unknown names and missing mandatory parameters raise :class:`ParameterError`.
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
                    kwargs["nargs"] = "+"
            elif parameter.type is bool:
                kwargs["action"] = argparse.BooleanOptionalAction
            else:
                if parameter.choices:
                    kwargs["choices"] = parameter.choices
                elif parameter.unit:
                    kwargs["metavar"] = parameter.unit.upper().replace("/", "_PER_")
                if parameter.multiple and not parameter.cli_positional:
                    kwargs["nargs"] = "+"
                # Conversion and bounds are checked by validate() so that the CLI and the core
                # give the same message; argparse only splits the words.
            target.add_argument(*names, **kwargs)

    def from_argparse(self, namespace: argparse.Namespace) -> dict[str, Any]:
        """The validated parameter dict from parsed arguments."""
        given = {name: value for name, value in vars(namespace).items() if name in self._by_name}
        return self.resolve(given)
