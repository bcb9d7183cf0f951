"""The one boundary where values cross into Mantid: everything handed to Mantid as a sample log,
a property value or a table cell goes through :func:`log_property`, :func:`plain` or
:func:`table_cell` first (the algorithms set output values with
``MDAlgorithm.set_value``, which calls :func:`plain`).

Mantid turns a Python value into a C++ property by the value's *exact* type
(``PropertyWithValueFactory::lookup``, Framework/PythonInterface/mantid/kernel/src/Registry/
PropertyWithValueFactory.cpp): ``float``, ``bool``, ``int`` (a C++ ``int``), ``str`` and ``dict``;
a ``list``/``tuple`` only when it is non-empty and its first item is an ``int`` (not a bool),
``float``, ``str`` or ``bytes``. A numpy scalar (``np.float64``, ``np.int64``), a numpy array,
an empty list, a list of booleans or an ``int`` beyond 32 bits raise there, so the core's values
(which are often numpy) are converted here:

=================================  ===========================================================
core value                         handed to Mantid as
=================================  ===========================================================
bool, numpy bool                   ``int`` 0/1 for logs (the processed NeXus files store 0/1
                                   too); ``bool`` for properties
int / numpy integer                ``int``; beyond 32 bits the decimal text (a log cannot hold
                                   it, and a float would round it)
float / numpy floating             ``float``
str                                ``str``
None                               ``""``
1-D sequence of numbers            ``FloatArrayProperty`` / ``IntArrayProperty`` (logs; empty
                                   ones too), a plain ``list`` of Python numbers (properties)
1-D sequence of strings            ``StringArrayProperty`` (logs), a ``list`` of ``str``
anything else (nested, mixed,      its text: items joined by spaces, a dict as JSON
dict, objects)
=================================  ===========================================================

Table cells go through :func:`table_cell`: ``ITableWorkspace.addRow`` extracts each cell as its
column's C++ type (``setValue`` in Framework/PythonInterface/mantid/api/src/Exports/
ITableWorkspace.cpp), so a column is "double", "int" (32 bits), "long64", "bool" or "str"
(:func:`table_column_type`) and each cell the matching Python type. ("float" is not used: it is
a C++ float, single precision.)

This module imports Mantid; nothing outside ``mantid_mdinsim.mantid`` and ``algorithms/`` may.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from mantid.kernel import FloatArrayProperty, IntArrayProperty, StringArrayProperty

#: Range of a C++ int, the type Mantid gives a Python int (TypedPropertyValueHandler<int>).
INT32_MIN, INT32_MAX = -2**31, 2**31 - 1


def _scalar(value: Any, bool_as_int: bool) -> Any:
    """A plain Python scalar, or None when ``value`` is not a scalar."""
    if isinstance(value, (bool, np.bool_)):
        return int(value) if bool_as_int else bool(value)
    if isinstance(value, (int, np.integer)):
        number = int(value)
        return number if INT32_MIN <= number <= INT32_MAX else str(number)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, np.str_)):
        return str(value)
    if value is None:
        return ""
    return None


def _sequence(value: Any) -> tuple[str, list] | None:
    """(``"int"``, ``"float"`` or ``"str"``, plain items) for a flat sequence of one kind of
    scalar; None for anything else (nested, mixed, not a sequence)."""
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            return None
        value = value.tolist()
    elif not isinstance(value, (list, tuple)):
        return None
    if not value:
        return "float", []
    if any(isinstance(v, (bool, np.bool_)) for v in value):
        return "int", [int(v) for v in value]  # Mantid has no array of booleans
    if all(isinstance(v, (int, np.integer)) for v in value) and \
            all(INT32_MIN <= int(v) <= INT32_MAX for v in value):
        return "int", [int(v) for v in value]
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in value):
        return "float", [float(v) for v in value]
    if all(isinstance(v, (str, np.str_)) for v in value):
        return "str", [str(v) for v in value]
    return None


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value, default=str, sort_keys=True)
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(str(v) for v in np.ravel(np.asarray(value, dtype=object)))
    return str(value)


def plain(value: Any) -> Any:
    """``value`` as a property value Mantid takes: a Python scalar or a list of them (numpy
    converted), for ``setProperty`` and ``declareProperty`` defaults."""
    scalar = _scalar(value, bool_as_int=False)
    if scalar is not None:
        return scalar
    sequence = _sequence(value)
    if sequence is not None:
        return sequence[1]
    return _text(value)


_ARRAY_PROPERTIES = {"int": IntArrayProperty, "float": FloatArrayProperty,
                     "str": StringArrayProperty}


def log_property(name: str, value: Any) -> Any:
    """The object to hand to ``Run.addProperty(name, object, replace)`` for a sample log:
    a Python scalar, or an explicit array property (``Run.addProperty`` clones a Property
    object and names it, Framework/PythonInterface/mantid/api/src/Exports/Run.cpp)."""
    scalar = _scalar(value, bool_as_int=True)
    if scalar is not None:
        return scalar
    sequence = _sequence(value)
    if sequence is not None:
        kind, items = sequence
        return _ARRAY_PROPERTIES[kind](name, items)
    return _text(value)


def table_column_type(values: Any) -> str:
    """The TableWorkspace column type for a column of ``values``."""
    array = np.asarray(values)
    if array.dtype.kind == "b":
        return "bool"
    if array.dtype.kind in "iu":
        too_big = array.size and (array.max() > INT32_MAX or array.min() < INT32_MIN)
        return "long64" if too_big else "int"
    if array.dtype.kind == "f":
        return "double"
    return "str"


def table_cell(kind: str, value: Any) -> Any:
    """``value`` as the Python type a column of ``kind`` takes."""
    if kind == "double":
        return float(value)
    if kind in ("int", "long64"):
        return int(value)
    if kind == "bool":
        return bool(value)
    return str(value)
