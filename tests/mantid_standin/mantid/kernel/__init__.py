"""Stand-in for ``mantid.kernel`` (tests only; see tests/mantid_standin/README.md).

Mirrors the exports in ``Framework/PythonInterface/mantid/kernel/src/Exports/`` and the C++
behaviour in ``Framework/Kernel/`` of mantidproject/mantid, for the subset this project uses.
"""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

# ------------------------------------------------------------------------------------------
# Direction, empty values, Property
# ------------------------------------------------------------------------------------------


class Direction(enum.IntEnum):
    """Mirrors the ``Direction`` enum exported in kernel/src/Exports/Property.cpp."""

    Input = 0
    Output = 1
    InOut = 2


# Framework/Kernel/inc/MantidKernel/EmptyValues.h: EMPTY_DBL() is
# std::numeric_limits<double>::max() / 2 (not the maximum itself), EMPTY_INT() the int maximum;
# exported as Property.EMPTY_DBL / EMPTY_INT (kernel/src/Exports/Property.cpp).
EMPTY_DBL = sys.float_info.max / 2
EMPTY_INT = 2147483647


#: The release whose Python API this stand-in mirrors (tests may change it to check how the
#: layer meets an older Mantid).
VERSION = "6.13.0"


def version_str() -> str:
    """Mirrors ``version_str`` (kernel/src/Exports/MantidVersion.cpp)."""
    return VERSION


class Logger:
    """Mirrors ``Logger`` (kernel/src/Exports/Logger.cpp). Messages are kept in
    ``Logger.messages`` as (logger name, priority, text) so tests can read them."""

    messages: list[tuple[str, str, str]] = []

    def __init__(self, name: str):
        self._name = name

    def _log(self, priority: str, message: str) -> None:
        if not isinstance(message, str):
            raise TypeError("Logger methods take a str message")
        Logger.messages.append((self._name, priority, message))

    def fatal(self, message: str) -> None:
        self._log("fatal", message)

    def error(self, message: str) -> None:
        self._log("error", message)

    def warning(self, message: str) -> None:
        self._log("warning", message)

    def notice(self, message: str) -> None:
        self._log("notice", message)

    def information(self, message: str) -> None:
        self._log("information", message)

    def debug(self, message: str) -> None:
        self._log("debug", message)


logger = Logger("Python")

# ------------------------------------------------------------------------------------------
# Validators (Framework/Kernel/inc/MantidKernel/{BoundedValidator,ListValidator,
# MandatoryValidator,ArrayBoundedValidator,CompositeValidator}.h)
# ------------------------------------------------------------------------------------------


class IValidator:
    """Mirrors ``IValidator`` (kernel/src/Exports/IValidator.cpp): ``isValid`` returns an empty
    string or the message shown to the user."""

    value_type: tuple[type, ...] = (object,)

    def isValid(self, value: Any) -> str:  # noqa: N802 (Mantid's name)
        return self._check(value)

    def _check(self, value: Any) -> str:
        return ""

    def allowedValues(self) -> list[str]:  # noqa: N802
        return []


def _format_number(value: float | int) -> str:
    """C++ ``std::ostream << double`` with the default precision (6 significant digits)."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{value:g}"


class _Bounded(IValidator):
    _type: type = float

    def __init__(self, lower: Any = None, upper: Any = None, exclusive: bool = False):
        self._lower = None if lower is None else self._type(lower)
        self._upper = None if upper is None else self._type(upper)
        self._lower_exclusive = bool(exclusive) and lower is not None
        self._upper_exclusive = bool(exclusive) and upper is not None

    def setLower(self, lower):  # noqa: N802
        self._lower = self._type(lower)

    def setUpper(self, upper):  # noqa: N802
        self._upper = self._type(upper)

    def setBounds(self, lower, upper):  # noqa: N802
        self.setLower(lower)
        self.setUpper(upper)

    def setLowerExclusive(self, exclusive: bool):  # noqa: N802
        self._lower_exclusive = bool(exclusive)

    def setUpperExclusive(self, exclusive: bool):  # noqa: N802
        self._upper_exclusive = bool(exclusive)

    def setExclusive(self, exclusive: bool):  # noqa: N802
        self.setLowerExclusive(exclusive)
        self.setUpperExclusive(exclusive)

    def hasLower(self):  # noqa: N802
        return self._lower is not None

    def hasUpper(self):  # noqa: N802
        return self._upper is not None

    def lower(self):
        return self._lower if self._lower is not None else self._type()

    def upper(self):
        return self._upper if self._upper is not None else self._type()

    def isLowerExclusive(self):  # noqa: N802
        return self._lower_exclusive

    def isUpperExclusive(self):  # noqa: N802
        return self._upper_exclusive

    def _check(self, value):
        # BoundedValidator::checkValidity, message for message.
        error = ""
        if self._lower is not None and (value < self._lower
                                        or (value == self._lower and self._lower_exclusive)):
            error += (f"Selected value {_format_number(value)} is "
                      f"{'<=' if self._lower_exclusive else '<'} the lower bound "
                      f"({_format_number(self._lower)})")
        if self._upper is not None and (value > self._upper
                                        or (value == self._upper and self._upper_exclusive)):
            error += (f"Selected value {_format_number(value)} is "
                      f"{'>=' if self._upper_exclusive else '>'} the upper bound "
                      f"({_format_number(self._upper)})")
        return error


class FloatBoundedValidator(_Bounded):
    """Mirrors ``FloatBoundedValidator`` (kernel/src/Exports/BoundedValidator.cpp)."""

    _type = float
    value_type = (float,)


class IntBoundedValidator(_Bounded):
    """Mirrors ``IntBoundedValidator`` (kernel/src/Exports/BoundedValidator.cpp)."""

    _type = int
    value_type = (int,)


class _ArrayBounded(IValidator):
    _scalar: type = FloatBoundedValidator

    def __init__(self, lower: Any = None, upper: Any = None, exclusive: bool = False):
        self._bounded = self._scalar(lower, upper, exclusive)

    def __getattr__(self, name):
        # hasLower, setLowerExclusive, ... delegate to the element validator, as in C++.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._bounded, name)

    def _check(self, value):
        # ArrayBoundedValidator::checkValidity: "At index i: <message>" for each failure.
        error = ""
        for index, item in enumerate(value):
            message = self._bounded.isValid(item)
            if message:
                error += f"At index {index}: {message}"
        return error


class FloatArrayBoundedValidator(_ArrayBounded):
    """Mirrors ``FloatArrayBoundedValidator`` (kernel/src/Exports/ArrayBoundedValidator.cpp)."""

    _scalar = FloatBoundedValidator


class IntArrayBoundedValidator(_ArrayBounded):
    """Mirrors ``IntArrayBoundedValidator`` (kernel/src/Exports/ArrayBoundedValidator.cpp)."""

    _scalar = IntBoundedValidator


class StringListValidator(IValidator):
    """Mirrors ``StringListValidator`` (kernel/src/Exports/ListValidator.cpp,
    Framework/Kernel/inc/MantidKernel/ListValidator.h)."""

    def __init__(self, values=()):
        self._values = [str(v) for v in values]

    def addAllowedValue(self, value: str):  # noqa: N802
        if value not in self._values:
            self._values.append(str(value))

    def allowedValues(self):  # noqa: N802
        return list(self._values)

    def _check(self, value):
        if value in self._values:
            return ""
        if value == "":
            return "Select a value"
        return f'The value "{value}" is not in the list of allowed values'


class _Mandatory(IValidator):
    """MandatoryValidator<T>: "A value must be entered for this parameter" when empty
    (EMPTY_DBL / EMPTY_INT for numbers, "" for strings, [] for arrays)."""

    _empty: Any = None

    def _check(self, value):
        if isinstance(value, (list, tuple, np.ndarray)):
            empty = len(value) == 0
        else:
            empty = value == self._empty
        return "A value must be entered for this parameter" if empty else ""


class FloatMandatoryValidator(_Mandatory):
    """Mirrors ``FloatMandatoryValidator`` (kernel/src/Exports/MandatoryValidator.cpp)."""

    _empty = EMPTY_DBL


class IntMandatoryValidator(_Mandatory):
    """Mirrors ``IntMandatoryValidator`` (kernel/src/Exports/MandatoryValidator.cpp)."""

    _empty = EMPTY_INT


class StringMandatoryValidator(_Mandatory):
    """Mirrors ``StringMandatoryValidator`` (kernel/src/Exports/MandatoryValidator.cpp)."""

    _empty = ""


class FloatArrayMandatoryValidator(_Mandatory):
    """Mirrors ``FloatArrayMandatoryValidator`` (kernel/src/Exports/MandatoryValidator.cpp)."""


class IntArrayMandatoryValidator(_Mandatory):
    """Mirrors ``IntArrayMandatoryValidator`` (kernel/src/Exports/MandatoryValidator.cpp)."""


class StringArrayMandatoryValidator(_Mandatory):
    """Mirrors ``StringArrayMandatoryValidator`` (kernel/src/Exports/MandatoryValidator.cpp)."""


class CompositeRelation(enum.IntEnum):
    """Mirrors ``CompositeRelation`` (kernel/src/Exports/CompositeValidator.cpp)."""

    AND = 0
    OR = 1


class CompositeValidator(IValidator):
    """Mirrors ``CompositeValidator`` (kernel/src/Exports/CompositeValidator.cpp): with AND the
    first failing member's message is returned (CompositeValidator::checkAll)."""

    def __init__(self, validators=(), relation: CompositeRelation = CompositeRelation.AND):
        self._validators = []
        for index, validator in enumerate(validators):
            if not isinstance(validator, IValidator):
                raise ValueError(f"Cannot extract Validator from element {index}")
            self._validators.append(validator)
        self._relation = relation

    def add(self, other: IValidator):
        self._validators.append(other)

    def allowedValues(self):  # noqa: N802
        for validator in self._validators:
            if validator.allowedValues():
                return validator.allowedValues()
        return []

    def _check(self, value):
        messages = [v.isValid(value) for v in self._validators]
        if self._relation == CompositeRelation.AND:
            return next((m for m in messages if m), "")
        if any(not m for m in messages):
            return ""
        return "Invalid value: " + " or ".join(messages)


# ------------------------------------------------------------------------------------------
# Properties (Framework/Kernel/inc/MantidKernel/PropertyWithValue.tcc, ArrayProperty.h)
# ------------------------------------------------------------------------------------------


class IPropertySettings:
    """Mirrors ``IPropertySettings`` (kernel/src/Exports/IPropertySettings.cpp)."""

    def isEnabled(self, algorithm) -> bool:  # noqa: N802
        return True


class PropertyCriterion(enum.IntEnum):
    """Mirrors ``PropertyCriterion`` (kernel/src/Exports/EnabledWhenProperty.cpp)."""

    IsDefault = 0
    IsNotDefault = 1
    IsEqualTo = 2
    IsNotEqualTo = 3
    IsMoreOrEqual = 4


class LogicOperator(enum.IntEnum):
    """Mirrors ``LogicOperator`` (kernel/src/Exports/EnabledWhenProperty.cpp)."""

    And = 0
    Or = 1
    Xor = 2


class EnabledWhenProperty(IPropertySettings):
    """Mirrors ``EnabledWhenProperty`` (kernel/src/Exports/EnabledWhenProperty.cpp,
    Framework/Kernel/src/EnabledWhenProperty.cpp): enable a property in the dialog depending
    on another property's value (compared as its string value)."""

    def __init__(self, otherPropName, when, value: str = "", *rest):  # noqa: N803
        if isinstance(otherPropName, EnabledWhenProperty):
            # (conditionObjOne, conditionObjTwo, operator)
            self._combined = (otherPropName, when, value)
            return
        self._combined = None
        if not isinstance(when, PropertyCriterion):
            raise TypeError("when must be a PropertyCriterion")
        self.other = str(otherPropName)
        self.when = when
        self.value = str(value)

    def isEnabled(self, algorithm) -> bool:  # noqa: N802
        if self._combined is not None:
            one, two, operator = self._combined
            a, b = one.isEnabled(algorithm), two.isEnabled(algorithm)
            return {LogicOperator.And: a and b, LogicOperator.Or: a or b,
                    LogicOperator.Xor: a != b}[operator]
        prop = algorithm.getProperty(self.other)
        if self.when == PropertyCriterion.IsDefault:
            return prop.isDefault
        if self.when == PropertyCriterion.IsNotDefault:
            return not prop.isDefault
        if self.when == PropertyCriterion.IsEqualTo:
            return prop.valueAsStr == self.value
        if self.when == PropertyCriterion.IsNotEqualTo:
            return prop.valueAsStr != self.value
        return float(prop.valueAsStr) >= float(self.value)


class Property:
    """Mirrors ``Property`` (kernel/src/Exports/Property.cpp) and ``PropertyWithValue<T>``
    (Framework/Kernel/inc/MantidKernel/PropertyWithValue.tcc): a typed value, a default, a
    validator, a direction, documentation, a group and settings.

    Setting an invalid value raises ``ValueError`` with the validator's message and keeps the
    old value (PropertyWithValue::operator= throws std::invalid_argument, which Python sees as
    ValueError). Values that fail their validator at declaration (an empty mandatory value)
    are allowed then and reported by ``isValid`` when the algorithm executes.
    """

    EMPTY_DBL = EMPTY_DBL
    EMPTY_INT = EMPTY_INT

    _cpp_type = "string"

    def __init__(self, name: str, default: Any, validator: IValidator | None = None,
                 direction: int = Direction.Input):
        self.name = name
        self._validator = validator or IValidator()
        self.direction = int(direction)
        self.documentation = ""
        self._group = ""
        self.settings = None
        self._value = self._convert(default)
        self._default = self._value
        self.units = ""

    # -- type handling ----------------------------------------------------------------------
    def _convert(self, value: Any) -> Any:
        return value

    def _from_string(self, text: str) -> Any:
        return text

    def _to_string(self, value: Any) -> str:
        return str(value)

    # -- the Python interface -----------------------------------------------------------------
    @property
    def value(self) -> Any:
        return self._value

    @property
    def type(self) -> str:
        return self._cpp_type

    @property
    def isValid(self) -> str:  # noqa: N802
        return self._validator.isValid(self._value)

    @property
    def isDefault(self) -> bool:  # noqa: N802
        return self._equal(self._value, self._default)

    @staticmethod
    def _equal(a, b) -> bool:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.array_equal(np.asarray(a), np.asarray(b))
        return a == b

    @property
    def getDefault(self) -> str:  # noqa: N802
        return self._to_string(self._default)

    @property
    def valueAsStr(self) -> str:  # noqa: N802
        return self._to_string(self._value)

    @property
    def allowedValues(self) -> list[str]:  # noqa: N802
        return self._validator.allowedValues()

    @property
    def getGroup(self) -> str:  # noqa: N802
        return self._group

    def setDocumentation(self, doc: str) -> None:  # noqa: N802
        self.documentation = doc

    def _set(self, value: Any) -> None:
        """PropertyWithValue::operator=: validate, keep the old value on failure."""
        old = self._value
        self._value = value
        problem = self.isValid
        if problem:
            self._value = old
            raise ValueError(problem)

    def _set_from_python(self, value: Any) -> None:
        self._set(self._convert(value))

    def _set_from_string(self, text: str) -> None:
        try:
            value = self._from_string(text.strip())
        except (TypeError, ValueError):
            raise ValueError(f'Could not set property {self.name}. Can not convert "{text}" '
                             f"to {self.type}") from None
        self._set(value)


class _BoolProperty(Property):
    _cpp_type = "boolean"

    def _convert(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"No registered converter was able to produce a C++ rvalue of type "
                            f"bool from this Python object of type {type(value).__name__}")
        return bool(value)

    def _from_string(self, text):
        lowered = text.lower()
        if lowered in ("1", "true"):
            return True
        if lowered in ("0", "false"):
            return False
        raise ValueError(text)

    def _to_string(self, value):
        return "1" if value else "0"


class _IntProperty(Property):
    _cpp_type = "number"

    def _convert(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"No registered converter was able to produce a C++ rvalue of type "
                            f"int from this Python object of type {type(value).__name__}")
        return int(value)

    def _from_string(self, text):
        return int(text)


class _FloatProperty(Property):
    _cpp_type = "number"

    def _convert(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)):
            raise TypeError(f"No registered converter was able to produce a C++ rvalue of type "
                            f"double from this Python object of type {type(value).__name__}")
        return float(value)

    def _from_string(self, text):
        return float(text)

    def _to_string(self, value):
        return repr(float(value))


class _StringProperty(Property):
    _cpp_type = "string"

    def _convert(self, value):
        if not isinstance(value, str):
            raise TypeError(f"No registered converter was able to produce a C++ rvalue of type "
                            f"std::string from this Python object of type "
                            f"{type(value).__name__}")
        return value


class _ArrayProperty(Property):
    """Mirrors ``ArrayProperty<T>`` (kernel/src/Exports/ArrayProperty.cpp): ``value`` is a numpy
    array (a list for strings); string values are comma separated."""

    _element: type = float
    _cpp_type = "dbl list"

    def __init__(self, name: str, *args, **kwargs):
        # Overloads: (name, direction), (name, validator, direction), (name, values, validator,
        # direction) with values a list, an ndarray or a comma-separated string.
        values: Any = []
        validator = None
        direction = kwargs.pop("direction", Direction.Input)
        if "values" in kwargs:
            values = kwargs.pop("values")
        if "validator" in kwargs:
            validator = kwargs.pop("validator")
        if kwargs:
            raise TypeError(f"unexpected arguments {sorted(kwargs)}")
        positional = list(args)
        if positional and isinstance(positional[0], (list, tuple, np.ndarray, str)):
            values = positional.pop(0)
        if positional and (positional[0] is None or isinstance(positional[0], IValidator)):
            validator = positional.pop(0)
        if positional:
            direction = positional.pop(0)
        if isinstance(values, str):
            values = self._from_string(values)
        super().__init__(name, values, validator, direction)

    def _convert(self, value):
        if isinstance(value, str):
            return self._from_string(value)
        if not isinstance(value, (list, tuple, np.ndarray)):
            value = [value]
        items = []
        for item in value:
            if self._element is str:
                if not isinstance(item, str):
                    raise TypeError("Cannot convert element to str")
                items.append(item)
            elif self._element is int:
                if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
                    raise TypeError(f"Cannot convert {item!r} to int")
                items.append(int(item))
            else:
                if isinstance(item, (bool, np.bool_)) or not isinstance(
                        item, (int, float, np.integer, np.floating)):
                    raise TypeError(f"Cannot convert {item!r} to double")
                items.append(float(item))
        if self._element is str:
            return items
        return np.asarray(items, dtype=self._element)

    def _from_string(self, text):
        parts = [p.strip() for p in text.split(",") if p.strip()]
        return self._convert([self._element(p) for p in parts])

    def _to_string(self, value):
        return ",".join(_format_number(v) if self._element is not str else v for v in value)


class FloatArrayProperty(_ArrayProperty):
    """Mirrors ``FloatArrayProperty`` (kernel/src/Exports/ArrayProperty.cpp)."""

    _element = float
    _cpp_type = "dbl list"


class IntArrayProperty(_ArrayProperty):
    """Mirrors ``IntArrayProperty`` (kernel/src/Exports/ArrayProperty.cpp)."""

    _element = int
    _cpp_type = "int list"


class StringArrayProperty(_ArrayProperty):
    """Mirrors ``StringArrayProperty`` (kernel/src/Exports/ArrayProperty.cpp)."""

    _element = str
    _cpp_type = "str list"


class _DictProperty(Property):
    """PropertyManagerProperty made from a dict (kernel/src/Registry/MappingTypeHandler.cpp)."""

    _cpp_type = "Dictionary"


def _factory_array(name: str, items: list, validator, direction) -> Property:
    """``PropertyWithValueFactory::isArray`` (kernel/src/Registry/PropertyWithValueFactory.cpp):
    the array type follows the *first* item; an empty sequence and a first boolean raise
    RuntimeError (std::runtime_error), any other first item ValueError (std::invalid_argument).
    The SequenceTypeHandler then converts every item to that C++ type."""
    if not items:
        raise RuntimeError("Cannot have a sequence type of length zero in a mapping type.")
    first = items[0]
    if isinstance(first, bool):
        raise RuntimeError("Unable to support extracting arrays of booleans.")
    if isinstance(first, int):  # PyLong_Check: int and its subclasses (bool was caught above)
        return IntArrayProperty(name, items, validator=validator, direction=direction)
    if isinstance(first, float):  # PyFloat_Check: np.float64 subclasses float and passes
        return FloatArrayProperty(name, items, validator=validator, direction=direction)
    if isinstance(first, (str, bytes)):
        return StringArrayProperty(name, [v.decode() if isinstance(v, bytes) else v
                                          for v in items], validator=validator,
                                   direction=direction)
    raise ValueError(f"Cannot create PropertyWithValue from Python type {type(items).__name__} "
                     f"containing items of type {type(first).__name__}. No converter registered "
                     "in PropertyWithValueFactory.")


def property_from_python_value(name: str, value: Any, validator: IValidator | None = None,
                               direction: int = Direction.Input) -> Property:
    """Mirrors ``PropertyWithValueFactory::create`` (kernel/src/Registry/
    PropertyWithValueFactory.cpp), used by ``declareProperty(name, defaultValue, ...)`` and
    ``Run.addProperty(name, value, ...)``: a list or tuple goes to :func:`_factory_array`;
    anything else is looked up by its *exact* type (``object->ob_type``) among float, bool,
    int, str and dict, so numpy scalars (``np.float64``, ``np.int64``, ``np.bool_``), numpy
    arrays and None raise ValueError ("No converter registered"). A Python int becomes a C++
    ``int`` (TypedPropertyValueHandler<int>): beyond 32 bits boost.python raises
    OverflowError."""
    if type(value) in (list, tuple):
        return _factory_array(name, list(value), validator, direction)
    kind = type(value)
    if kind is bool:
        return _BoolProperty(name, value, validator, direction)
    if kind is int:
        if not -2**31 <= value <= 2**31 - 1:
            raise OverflowError("Python int too large to convert to C long")
        return _IntProperty(name, value, validator, direction)
    if kind is float:
        return _FloatProperty(name, value, validator, direction)
    if kind is str:
        return _StringProperty(name, value, validator, direction)
    if kind is dict:
        return _DictProperty(name, dict(value), validator, direction)
    raise ValueError(f"Cannot create PropertyWithValue from Python type {kind.__name__}. No "
                     "converter registered in PropertyWithValueFactory.")


# ------------------------------------------------------------------------------------------
# Units (Framework/Kernel/src/Unit.cpp, kernel/src/Exports/{Unit,Units,UnitFactory}.cpp)
# ------------------------------------------------------------------------------------------

# The unit IDs registered with DECLARE_UNIT in Framework/Kernel/src/Unit.cpp (caption, symbol).
_UNITS = {
    "Empty": ("", ""),
    "Label": ("", ""),
    "TOF": ("Time-of-flight", "microsecond"),
    "Wavelength": ("Wavelength", "Angstrom"),
    "Energy": ("Energy", "meV"),
    "Energy_inWavenumber": ("Energy", "cm^-1"),
    "dSpacing": ("d-Spacing", "Angstrom"),
    "dSpacingPerpendicular": ("dSpacingPerpendicular", "Angstrom"),
    "MomentumTransfer": ("q", "Angstrom^-1"),
    "QSquared": ("Q2", "Angstrom^-2"),
    "DeltaE": ("Energy transfer", "meV"),
    "DeltaE_inWavenumber": ("Energy transfer", "cm^-1"),
    "DeltaE_inFrequency": ("Energy transfer", "GHz"),
    "Momentum": ("Momentum", "Angstrom^-1"),
    "SpinEchoLength": ("Spin Echo Length", "nm"),
    "SpinEchoTime": ("Spin Echo Time", "ns"),
    "Time": ("t", "second"),
    "Degrees": ("Scattered angle", "degrees"),
    "Phi": ("Phi", "degrees"),
    "Temperature": ("Temperature", "K"),
    "AtomicDistance": ("Atomic Distance", "Angstrom"),
}


class UnitLabel:
    """Mirrors ``UnitLabel`` (kernel/src/Exports/UnitLabel.cpp): what ``Unit.symbol()`` returns,
    not a str; ``str()`` and ``ascii()`` give the plain-text symbol. (The stand-in holds the
    plain text only: ``utf8()`` and ``latex()`` are not mirrored.)"""

    def __init__(self, ascii: str):  # noqa: A002 - Mantid's argument name
        self._ascii = str(ascii)

    def ascii(self) -> str:
        return self._ascii

    def __str__(self) -> str:
        return self._ascii


class Unit:
    """Mirrors ``Unit`` (kernel/src/Exports/Unit.cpp)."""

    def __init__(self, unit_id: str):
        self._id = unit_id
        self._caption, self._symbol = _UNITS[unit_id]

    def unitID(self) -> str:  # noqa: N802
        return self._id

    def caption(self) -> str:
        return self._caption

    def symbol(self) -> UnitLabel:
        # Unit.cpp exports symbol() as Unit::label, a UnitLabel object.
        return UnitLabel(self._symbol)


class Label(Unit):
    """Mirrors ``Label`` (kernel/src/Exports/Units.cpp): a free caption and symbol."""

    def setLabel(self, caption: str, label: str) -> None:  # noqa: N802
        self._caption, self._symbol = str(caption), str(label)


class UnitFactoryImpl:
    """Mirrors ``UnitFactoryImpl`` (kernel/src/Exports/UnitFactory.cpp). An unknown ID raises
    RuntimeError as DynamicFactory::create's NotFoundError does."""

    _instance: "UnitFactoryImpl | None" = None

    @staticmethod
    def Instance() -> "UnitFactoryImpl":  # noqa: N802
        if UnitFactoryImpl._instance is None:
            UnitFactoryImpl._instance = UnitFactoryImpl()
        return UnitFactoryImpl._instance

    def create(self, className: str) -> Unit:  # noqa: N803
        if className not in _UNITS:
            raise RuntimeError(f"DynamicFactory: {className} is not registered.\n")
        return Label(className) if className == "Label" else Unit(className)

    def getKeys(self) -> list[str]:  # noqa: N802
        return list(_UNITS)


UnitFactory = UnitFactoryImpl.Instance()

# ------------------------------------------------------------------------------------------
# ConfigService (kernel/src/Exports/ConfigService.cpp, Framework/Kernel/src/ConfigService.cpp)
# ------------------------------------------------------------------------------------------


def _read_properties(path: Path) -> dict[str, str]:
    """Java-style properties (Poco::Util::PropertyFileConfiguration): key = value, '#' and '!'
    comments, a trailing backslash continues a line."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    logical = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\"):
            logical += line[:-1]
            continue
        logical += line
        key, _, value = logical.partition("=")
        values[key.strip()] = value.strip()
        logical = ""
    return values


class ConfigServiceImpl:
    """Mirrors ``ConfigServiceImpl`` (kernel/src/Exports/ConfigService.cpp): the user settings
    come from ``~/.mantid/Mantid.user.properties`` (on Linux and macOS), read at first use."""

    _instance: "ConfigServiceImpl | None" = None

    def __init__(self) -> None:
        self._values = {"user.python.plugins.directories": "", "python.plugins.manifest": "",
                        "datasearch.directories": "", "defaultsave.directory": ""}
        self._values.update(_read_properties(Path(self.getUserFilename())))

    @staticmethod
    def Instance() -> "ConfigServiceImpl":  # noqa: N802
        if ConfigServiceImpl._instance is None:
            ConfigServiceImpl._instance = ConfigServiceImpl()
        return ConfigServiceImpl._instance

    def getUserPropertiesDir(self) -> str:  # noqa: N802
        return os.path.join(os.path.expanduser("~"), ".mantid") + os.sep

    def getUserFilename(self) -> str:  # noqa: N802
        return os.path.join(self.getUserPropertiesDir(), "Mantid.user.properties")

    def getString(self, key: str, pathAbsolute: bool = True) -> str:  # noqa: N802,N803
        return self._values.get(key, "")

    def setString(self, key: str, value: str) -> None:  # noqa: N802
        self._values[key] = str(value)

    def getDataSearchDirs(self) -> list[str]:  # noqa: N802
        """``datasearch.directories``, split at ';' (ConfigService::getDataSearchDirs)."""
        return [d.strip() for d in self._values.get("datasearch.directories", "").split(";")
                if d.strip()]

    def setDataSearchDirs(self, searchDirs) -> None:  # noqa: N802,N803
        if not isinstance(searchDirs, str):
            searchDirs = ";".join(searchDirs)
        self._values["datasearch.directories"] = searchDirs

    def hasProperty(self, key: str) -> bool:  # noqa: N802
        return key in self._values

    def keys(self) -> list[str]:
        return list(self._values)

    def get(self, key: str, default: str = "") -> str:
        return self._values.get(key, default)

    def __getitem__(self, key: str) -> str:
        return self._values.get(str(key), "")

    def __setitem__(self, key: str, value: str) -> None:
        self.setString(str(key), value)

    def __contains__(self, key: str) -> bool:
        return str(key) in self._values


class _LazyConfig:
    """``ConfigService`` / ``config``: the lazy singleton holder of kernel/_aliases.py."""

    def __getattr__(self, item):
        return getattr(ConfigServiceImpl.Instance(), item)

    def __getitem__(self, item):
        return ConfigServiceImpl.Instance()[item]

    def __setitem__(self, item, value):
        ConfigServiceImpl.Instance()[item] = value

    def __contains__(self, item):
        return item in ConfigServiceImpl.Instance()


ConfigService = _LazyConfig()
config = ConfigService
