"""Mantid properties declared from the shared parameter definitions (``mantid_mdinsim.parameters``).

One :class:`~mantid_mdinsim.parameters.Parameter` becomes one property of the algorithm dialog,
with the same name (``Parameter.property_name``), documentation (``Parameter.describe``),
default, bounds and choices, and the property group of ``Parameter.group``:

=====================================  ==========================================================
Parameter                              Mantid property
=====================================  ==========================================================
float / int                            ``declareProperty(name, default, validator)`` with a
                                       ``FloatBoundedValidator``/``IntBoundedValidator`` (lower
                                       bound exclusive where ``exclusive_minimum``; see
                                       :func:`~.version.set_lower_exclusive`)
float / int, mandatory                 default ``Property.EMPTY_DBL``/``EMPTY_INT`` and a
                                       ``CompositeValidator`` led by ``Float/IntMandatoryValidator``
float / int, optional (default None)   default ``EMPTY_DBL``/``EMPTY_INT``, read back as None; no
                                       upper bound on the property (EMPTY is above every bound),
                                       which ``validateInputs`` checks instead
str with choices                       ``StringListValidator``
str, mandatory                         ``StringMandatoryValidator``
bool                                   a boolean property
multiple float / int / str             ``FloatArrayProperty`` / ``IntArrayProperty`` /
                                       ``StringArrayProperty`` (array bounded and mandatory
                                       validators)
Kind.INPUT_FILE                        ``FileProperty`` Load / OptionalLoad with the extensions
Kind.INPUT_FILES                       ``MultipleFileProperty`` Load / OptionalLoad
Kind.DIRECTORY                         ``FileProperty`` OptionalDirectory (an output folder may
                                       not exist yet; a mandatory one is checked in
                                       ``validateInputs``)
Kind.OUTPUT_FILE                       ``FileProperty`` OptionalSave with an empty default: in
                                       Mantid the output workspaces are the result, a file is
                                       written only when named
=====================================  ==========================================================

:func:`validation_issues` runs the same checks as the core (``Parameter.validate`` and
``ParameterSet.resolve``) on the property values, so ``validateInputs`` gives the core's
messages, keyed by property name.

This module imports Mantid; nothing outside ``mantid_mdinsim.mantid`` and ``algorithms/`` may.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

from mantid.api import FileAction, FileProperty, MultipleFileProperty
from mantid.kernel import (CompositeValidator, Direction, EnabledWhenProperty,
                           FloatArrayBoundedValidator, FloatArrayMandatoryValidator,
                           FloatArrayProperty, FloatBoundedValidator, FloatMandatoryValidator,
                           IntArrayBoundedValidator, IntArrayMandatoryValidator, IntArrayProperty,
                           IntBoundedValidator, IntMandatoryValidator, LogicOperator, Property,
                           PropertyCriterion, StringArrayMandatoryValidator, StringArrayProperty,
                           StringListValidator, StringMandatoryValidator)

from ..errors import ParameterError
from ..parameters import Kind, Parameter, ParameterSet
from .values import plain
from .version import set_lower_exclusive

EMPTY_DBL: float = Property.EMPTY_DBL
EMPTY_INT: int = Property.EMPTY_INT

#: A condition for EnabledWhenProperty: (other parameter name, value or values). A value of
#: None means "the other property is not at its default"; several values are alternatives.
EnabledWhen = tuple[str, Any]


# -- declaring -------------------------------------------------------------------------------

def _bounded_validator(parameter: Parameter, *, array: bool, with_upper: bool):
    """The bounds of ``parameter`` as a (array) bounded validator, or None without bounds."""
    upper = parameter.maximum if with_upper else None
    if parameter.minimum is None and upper is None:
        return None
    if parameter.type is float:
        validator = FloatArrayBoundedValidator() if array else FloatBoundedValidator()
        convert = float
    else:
        validator = IntArrayBoundedValidator() if array else IntBoundedValidator()
        convert = int
    if parameter.minimum is not None:
        validator.setLower(convert(parameter.minimum))
        if parameter.exclusive_minimum:
            set_lower_exclusive(validator)
    if upper is not None:
        validator.setUpper(convert(upper))
    return validator


def _combine(*validators):
    present = [v for v in validators if v is not None]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    # CompositeValidator (AND) reports its first failing member: the mandatory check comes
    # first so that an unset value says "A value must be entered" rather than a bound.
    return CompositeValidator(present)


def _declare_number(algorithm, parameter: Parameter, doc: str) -> None:
    empty = EMPTY_DBL if parameter.type is float else EMPTY_INT
    unset = parameter.required or parameter.default is None
    default = empty if unset else plain(parameter.type(parameter.default))
    mandatory = None
    if parameter.required:
        mandatory = FloatMandatoryValidator() if parameter.type is float else IntMandatoryValidator()
    # EMPTY_DBL/EMPTY_INT exceed any upper bound: an optional unset value must not fail it.
    bounded = _bounded_validator(parameter, array=False, with_upper=not unset)
    _declare_value(algorithm, parameter, default, _combine(mandatory, bounded), doc)


def _declare_value(algorithm, parameter: Parameter, default: Any, validator, doc: str) -> None:
    """Declare a single-valued input property, with ``validator`` where there is one
    (declareProperty takes no ``validator=None``)."""
    if validator is None:
        algorithm.declareProperty(name=parameter.property_name, defaultValue=default, doc=doc,
                                  direction=Direction.Input)
    else:
        algorithm.declareProperty(name=parameter.property_name, defaultValue=default,
                                  validator=validator, doc=doc, direction=Direction.Input)


def choice_values(parameter: Parameter) -> list[str]:
    """The allowed values of a choice's property: its choices, led by "" where it may be left
    unset (optional, no default), which Mantid's ListValidator otherwise refuses."""
    unset = "" if not parameter.required and parameter.default is None else None
    return ([unset] if unset is not None else []) + list(parameter.choices)


def _declare_string(algorithm, parameter: Parameter, doc: str) -> None:
    default = "" if parameter.required or parameter.default is None else str(parameter.default)
    validator = None
    if parameter.choices:
        # An empty value of a mandatory choice reads "Select a value" (ListValidator); an
        # optional one without a default (unset: the core decides) allows the empty value.
        validator = StringListValidator(choice_values(parameter))
    elif parameter.required:
        validator = StringMandatoryValidator()
    _declare_value(algorithm, parameter, default, validator, doc)


def _declare_array(algorithm, parameter: Parameter, doc: str) -> None:
    default = ([] if parameter.required or parameter.default is None
               else plain(list(parameter.default)))
    if parameter.type is str:
        mandatory = StringArrayMandatoryValidator() if parameter.required else None
        validator = mandatory  # choices of each element are checked in validateInputs
        cls = StringArrayProperty
    else:
        if parameter.type is float:
            mandatory = FloatArrayMandatoryValidator() if parameter.required else None
            cls = FloatArrayProperty
            default = [float(v) for v in default]
        else:
            mandatory = IntArrayMandatoryValidator() if parameter.required else None
            cls = IntArrayProperty
            default = [int(v) for v in default]
        validator = _combine(mandatory, _bounded_validator(parameter, array=True,
                                                            with_upper=True))
    if validator is None:
        prop = cls(parameter.property_name, default, direction=Direction.Input)
    else:
        prop = cls(parameter.property_name, default, validator, Direction.Input)
    algorithm.declareProperty(prop, doc)


def _declare_file(algorithm, parameter: Parameter, doc: str) -> None:
    extensions = list(parameter.extensions)
    if parameter.kind is Kind.INPUT_FILES:
        action = FileAction.Load if parameter.required else FileAction.OptionalLoad
        algorithm.declareProperty(MultipleFileProperty(parameter.property_name, action,
                                                       extensions), doc)
        return
    default = ""
    if parameter.kind is Kind.INPUT_FILE:
        action = FileAction.Load if parameter.required else FileAction.OptionalLoad
        if parameter.default is not None and not parameter.required:
            default = str(parameter.default)
    elif parameter.kind is Kind.DIRECTORY:
        action = FileAction.OptionalDirectory
    else:  # Kind.OUTPUT_FILE
        action = FileAction.OptionalSave
    algorithm.declareProperty(FileProperty(parameter.property_name, default, action, extensions,
                                           Direction.Input), doc)


def declare_parameter(algorithm, parameter: Parameter, group: str | None = None) -> None:
    """Declare the property of ``parameter`` on ``algorithm`` (a PythonAlgorithm in PyInit)."""
    doc = parameter.describe()
    if parameter.kind is Kind.OUTPUT_FILE:
        doc += " Optional here: the output workspaces hold the result."
    if parameter.kind is not Kind.VALUE:
        _declare_file(algorithm, parameter, doc)
    elif parameter.multiple:
        _declare_array(algorithm, parameter, doc)
    elif parameter.type is bool:
        default = False if parameter.required or parameter.default is None else parameter.default
        algorithm.declareProperty(name=parameter.property_name, defaultValue=bool(default),
                                  doc=doc, direction=Direction.Input)
    elif parameter.type in (int, float):
        _declare_number(algorithm, parameter, doc)
    else:
        _declare_string(algorithm, parameter, doc)
    group = group or parameter.group
    if group:
        algorithm.setPropertyGroup(parameter.property_name, group)


def declare_parameters(algorithm, parameters: ParameterSet | Iterable[Parameter],
                       exclude: Iterable[str] = ()) -> list[Parameter]:
    """Declare every parameter not in ``exclude`` (parameter names); return those declared."""
    skipped = set(exclude)
    declared = [p for p in parameters if p.name not in skipped]
    for parameter in declared:
        declare_parameter(algorithm, parameter)
    return declared


def _criterion(parameters: Mapping[str, Parameter], other: str, value: Any):
    other_property = parameters[other].property_name
    if value is None:
        return EnabledWhenProperty(other_property, PropertyCriterion.IsNotDefault)
    if isinstance(value, bool):
        # A boolean property's string value is "1" or "0" (PropertyWithValue<bool>).
        return EnabledWhenProperty(other_property, PropertyCriterion.IsEqualTo,
                                   "1" if value else "0")
    return EnabledWhenProperty(other_property, PropertyCriterion.IsEqualTo, str(value))


def enabled_when_of(parameters: Iterable[Parameter]) -> dict[str, EnabledWhen]:
    """The EnabledWhen conditions the definitions carry (``Parameter.applies_when``), for
    conditions on a parameter that is declared too."""
    parameters = list(parameters)
    declared = {p.name for p in parameters}
    return {p.name: (p.applies_when.parameter, p.applies_when.values)
            for p in parameters
            if p.applies_when is not None and p.applies_when.parameter in declared}


def set_enabled_when(algorithm, parameters: Iterable[Parameter],
                     conditions: Mapping[str, EnabledWhen]) -> None:
    """Grey out settings that apply only with another setting (EnabledWhenProperty).

    ``conditions`` maps a parameter name to ``(other parameter name, value)``; a tuple or list
    of values enables the setting for any of them (conditions joined with LogicOperator.Or).
    """
    by_name = {p.name: p for p in parameters}
    for name, (other, value) in conditions.items():
        if name not in by_name or other not in by_name:
            raise KeyError(f"EnabledWhen condition {name} <- {other}: not a declared parameter")
        values = list(value) if isinstance(value, (tuple, list)) else [value]
        setting = _criterion(by_name, other, values[0])
        for alternative in values[1:]:
            setting = EnabledWhenProperty(setting, _criterion(by_name, other, alternative),
                                          LogicOperator.Or)
        algorithm.setPropertySettings(by_name[name].property_name, setting)


# -- reading ---------------------------------------------------------------------------------

def _unset_allowed(parameter: Parameter) -> bool:
    return parameter.required or parameter.default is None


def _flatten_files(value: Any) -> list[str]:
    """MultipleFileProperty's value: a list whose items are a path or a list of paths (files
    joined with '+'); mdinsim takes every file as one input, in order."""
    if isinstance(value, str):
        return [value] if value else []
    files: list[str] = []
    for item in value:
        files.extend(_flatten_files(item))
    return files


def read_parameter(algorithm, parameter: Parameter) -> Any:
    """The property's value as the core expects it (None where it is not set)."""
    prop = algorithm.getProperty(parameter.property_name)
    value = prop.value
    if parameter.kind is Kind.INPUT_FILES:
        files = _flatten_files(value)
        return files if files or not _unset_allowed(parameter) else None
    if parameter.kind is Kind.OUTPUT_FILE:
        # An empty output file means "write no file" (the workspaces are the result).
        return value or None
    if parameter.kind is not Kind.VALUE:
        return value if value or not _unset_allowed(parameter) else None
    if parameter.multiple:
        items = [parameter.type(v) if parameter.type is not str else str(v) for v in value]
        if not items and parameter.default is None:
            return None
        return items
    if parameter.type is bool:
        return bool(value)
    if parameter.type is float:
        return None if value == EMPTY_DBL and _unset_allowed(parameter) else float(value)
    if parameter.type is int:
        return None if value == EMPTY_INT and _unset_allowed(parameter) else int(value)
    if value == "" and _unset_allowed(parameter):
        return None
    return str(value)


def read_parameters(algorithm, parameters: Iterable[Parameter]) -> dict[str, Any]:
    """Values by parameter name, not yet validated (see :func:`validation_issues`)."""
    return {p.name: read_parameter(algorithm, p) for p in parameters}


def _message(error: ParameterError) -> str:
    return error.problem + (f" ({error.fix})" if error.fix else "")


def validation_issues(algorithm, parameters: Sequence[Parameter],
                      parameter_set: ParameterSet | None = None,
                      fixed: Mapping[str, Any] | None = None,
                      cross_check: Callable[[dict[str, Any]], None] | None = None
                      ) -> dict[str, str]:
    """``validateInputs`` issues (property name -> message) from the core's own validation.

    Each declared parameter is checked with ``Parameter.validate``; when all pass, the whole set
    is resolved with ``parameter_set.resolve`` (``fixed`` supplies values of parameters that are
    not properties) and ``cross_check(resolved)`` may raise ParameterError for combinations.
    Issues about parameters without a property go to the first declared property.
    """
    issues: dict[str, str] = {}
    values = read_parameters(algorithm, parameters)
    names = {p.name: p.property_name for p in parameters}
    for parameter in parameters:
        if parameter.kind is Kind.OUTPUT_FILE and values[parameter.name] is None:
            continue  # no file wanted
        try:
            parameter.validate(values[parameter.name])
        except ParameterError as error:
            issues[parameter.property_name] = _message(error)
    if issues:
        return issues
    try:
        resolved = values
        if parameter_set is not None:
            given = {k: v for k, v in values.items() if v is not None or
                     parameter_set[k].required}
            given.update(fixed or {})
            resolved = parameter_set.resolve(given)
        if cross_check is not None:
            cross_check(resolved)
    except ParameterError as error:
        target = names.get(error.name) or (parameters[0].property_name if parameters else "")
        issues[target] = _message(error)
    return issues
