"""Stand-in for ``mantid.api`` (tests only; see tests/mantid_standin/README.md).

Mirrors the exports in ``Framework/PythonInterface/mantid/api/src/Exports/`` and the C++
behaviour in ``Framework/API/`` of mantidproject/mantid, for the subset this project uses.
"""

from __future__ import annotations

import copy
import enum
import os
import re
from typing import Any

import numpy as np

from ..kernel import (Direction, IValidator, Logger, Property, UnitFactory,
                      property_from_python_value)

# ------------------------------------------------------------------------------------------
# Axes (api/src/Exports/Axis.cpp; Framework/API/src/{NumericAxis,BinEdgeAxis,TextAxis,
# SpectraAxis}.cpp)
# ------------------------------------------------------------------------------------------


class MantidAxis:
    """Mirrors ``MantidAxis`` (the exported ``Axis`` base class in api/src/Exports/Axis.cpp)."""

    def __init__(self, length: int):
        self._unit = UnitFactory.create("Empty")
        self._values = np.zeros(int(length))

    def length(self) -> int:
        return len(self._values)

    def __len__(self) -> int:
        return self.length()

    def isSpectra(self) -> bool:  # noqa: N802
        return False

    def isNumeric(self) -> bool:  # noqa: N802
        return False

    def isText(self) -> bool:  # noqa: N802
        return False

    def getUnit(self):  # noqa: N802
        return self._unit

    def setUnit(self, unit_name: str):  # noqa: N802
        """Axis::setUnit: the unit is created by ID through the UnitFactory."""
        self._unit = UnitFactory.create(unit_name)
        return self._unit

    def getValue(self, index: int, vertical_index: int = 0) -> float:  # noqa: N802
        if not 0 <= index < self.length():
            raise IndexError(f"Axis: Index {index} out of range")
        return float(self._values[index])

    def setValue(self, index: int, value: float) -> None:  # noqa: N802
        if not 0 <= index < self.length():
            raise IndexError(f"Axis: Index {index} out of range")
        self._values[index] = float(value)

    def label(self, index: int) -> str:
        return f"{self.getValue(index):g}"

    def extractValues(self):  # noqa: N802
        return self._values.copy()

    def _clone(self) -> "MantidAxis":
        return copy.deepcopy(self)


class NumericAxis(MantidAxis):
    """Mirrors ``NumericAxis`` (api/src/Exports/Axis.cpp): one value per spectrum."""

    @staticmethod
    def create(length: int) -> "NumericAxis":
        return NumericAxis(length)

    def isNumeric(self) -> bool:  # noqa: N802
        return True


class BinEdgeAxis(NumericAxis):
    """Mirrors ``BinEdgeAxis`` (api/src/Exports/Axis.cpp): n_spectra + 1 edges."""

    @staticmethod
    def create(length: int) -> "BinEdgeAxis":
        return BinEdgeAxis(length)


class TextAxis(MantidAxis):
    """Mirrors ``TextAxis`` (api/src/Exports/Axis.cpp): one label per spectrum; it has the
    ``Text`` unit-less behaviour and refuses numeric values (TextAxis::setValue throws)."""

    def __init__(self, length: int):
        super().__init__(length)
        self._labels = [""] * int(length)

    @staticmethod
    def create(length: int) -> "TextAxis":
        return TextAxis(length)

    def isText(self) -> bool:  # noqa: N802
        return True

    def setLabel(self, index: int, label: str) -> None:  # noqa: N802
        if not 0 <= index < self.length():
            raise IndexError(f"TextAxis: Index {index} out of range")
        self._labels[index] = str(label)

    def label(self, index: int) -> str:
        return self._labels[index]

    def setValue(self, index, value):  # noqa: N802
        raise RuntimeError("TextAxis::setValue: Text axis cannot set numeric values")

    def getValue(self, index, vertical_index=0):  # noqa: N802
        raise RuntimeError("TextAxis::getValue: Text axis has no numeric values")

    def extractValues(self):  # noqa: N802
        return list(self._labels)


class SpectraAxis(MantidAxis):
    """Mirrors ``SpectraAxis`` (api/src/Exports/Axis.cpp, Framework/API/src/SpectraAxis.cpp): the
    default vertical axis (spectrum numbers 1..n, unit Label "Spectrum")."""

    def __init__(self, length: int):
        super().__init__(length)
        self._values = np.arange(1, int(length) + 1, dtype=float)
        self._unit = UnitFactory.create("Label")
        self._unit.setLabel("Spectrum", "")

    def isSpectra(self) -> bool:  # noqa: N802
        return True


# ------------------------------------------------------------------------------------------
# Workspaces
# ------------------------------------------------------------------------------------------


class Workspace:
    """Mirrors ``Workspace`` (api/src/Exports/Workspace.cpp) and ``DataItem.name()``."""

    def __init__(self) -> None:
        self._name = ""
        self._title = ""
        self._comment = ""

    def name(self) -> str:
        return self._name

    def getName(self) -> str:  # noqa: N802
        return self._name

    def getTitle(self) -> str:  # noqa: N802
        return self._title

    def setTitle(self, title: str) -> None:  # noqa: N802
        self._title = str(title)

    def getComment(self) -> str:  # noqa: N802
        return self._comment

    def setComment(self, comment: str) -> None:  # noqa: N802
        self._comment = str(comment)

    def id(self) -> str:
        return type(self).__name__


class Run:
    """Mirrors ``Run`` (api/src/Exports/Run.cpp): sample logs as typed properties built by the
    PropertyWithValueFactory; adding an existing name without ``replace`` is an error."""

    def __init__(self) -> None:
        self._properties: dict[str, Property] = {}

    def addProperty(self, name: str, value: Any, *args) -> None:  # noqa: N802
        # Overloads: (name, value, replace) and (name, value, units, replace).
        if len(args) == 1:
            units, replace = "", args[0]
        elif len(args) == 2:
            units, replace = args
        else:
            raise TypeError("Run.addProperty(name, value, [units,] replace)")
        if name in self._properties and not replace:
            raise ValueError(f"Duplicate property name passed to LogManager: {name}")
        if isinstance(value, Property):
            # addPropertyWithUnit (api/src/Exports/Run.cpp): a Property object is cloned and
            # renamed; its units are kept unless new ones are given.
            prop = copy.deepcopy(value)
            prop.name = name or prop.name
            if units:
                prop.units = str(units)
        else:
            prop = property_from_python_value(name, value)
            prop.units = str(units)
        self._properties[name] = prop

    def hasProperty(self, name: str) -> bool:  # noqa: N802
        return name in self._properties

    def getProperty(self, name: str) -> Property:  # noqa: N802
        if name not in self._properties:
            raise RuntimeError(f"Unknown property search object {name}")
        return self._properties[name]

    getLogData = getProperty  # noqa: N815

    def getProperties(self) -> list[Property]:  # noqa: N802
        return list(self._properties.values())

    def keys(self) -> list[str]:
        return list(self._properties)

    def __contains__(self, name: str) -> bool:
        return name in self._properties

    def __getitem__(self, name: str) -> Property:
        return self.getProperty(name)


class MatrixWorkspace(Workspace):
    """Mirrors ``MatrixWorkspace`` (api/src/Exports/MatrixWorkspace.cpp) as a ``Workspace2D``:
    X, Y and E per spectrum, axis 0 (X, with a unit) and axis 1 (the vertical axis), the
    distribution flag, YUnit/YUnitLabel and a Run with the sample logs."""

    def __init__(self, n_vectors: int, x_length: int, y_length: int):
        super().__init__()
        if n_vectors < 1 or y_length < 1 or x_length not in (y_length, y_length + 1):
            raise RuntimeError("All arguments must be positive and XLength must equal YLength "
                               "or YLength + 1")
        self._x = np.zeros((n_vectors, x_length))
        self._y = np.zeros((n_vectors, y_length))
        self._e = np.zeros((n_vectors, y_length))
        self._axes: list[MantidAxis] = [NumericAxis(x_length), SpectraAxis(n_vectors)]
        self._distribution = False
        self._y_unit = ""
        self._y_unit_label = ""
        self._run = Run()

    def id(self) -> str:
        return "Workspace2D"

    # MatrixWorkspace::setTitle / getTitle (Framework/API/src/MatrixWorkspace.cpp): the title is
    # kept as the sample log "run_title" too (added or replaced), and read back from that log
    # when there is one.
    def setTitle(self, title: str) -> None:  # noqa: N802
        super().setTitle(title)
        self._run.addProperty("run_title", str(title), True)

    def getTitle(self) -> str:  # noqa: N802
        if self._run.hasProperty("run_title"):
            return self._run.getProperty("run_title").valueAsStr
        return super().getTitle()

    # -- shape ----------------------------------------------------------------------------------
    def getNumberHistograms(self) -> int:  # noqa: N802
        return self._y.shape[0]

    def blocksize(self) -> int:
        return self._y.shape[1]

    def isHistogramData(self) -> bool:  # noqa: N802
        return self._x.shape[1] != self._y.shape[1]

    # -- data -----------------------------------------------------------------------------------
    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.getNumberHistograms():
            raise IndexError(f"Workspace index {index} out of range")

    def _set(self, array: np.ndarray, index: int, values, what: str) -> None:
        self._check_index(index)
        values = np.asarray(values, dtype=float)
        if values.shape != array[index].shape:
            raise ValueError(f"Length mismatch in set{what}: expected {array.shape[1]} values, "
                             f"got {values.size}")
        array[index] = values

    def setX(self, workspaceIndex: int, x) -> None:  # noqa: N802,N803
        self._set(self._x, workspaceIndex, x, "X")

    def setY(self, workspaceIndex: int, y) -> None:  # noqa: N802,N803
        self._set(self._y, workspaceIndex, y, "Y")

    def setE(self, workspaceIndex: int, e) -> None:  # noqa: N802,N803
        self._set(self._e, workspaceIndex, e, "E")

    def _read(self, array, index):
        self._check_index(index)
        view = array[index].view()
        view.flags.writeable = False
        return view

    def readX(self, workspaceIndex: int):  # noqa: N802,N803
        return self._read(self._x, workspaceIndex)

    def readY(self, workspaceIndex: int):  # noqa: N802,N803
        return self._read(self._y, workspaceIndex)

    def readE(self, workspaceIndex: int):  # noqa: N802,N803
        return self._read(self._e, workspaceIndex)

    def dataX(self, workspaceIndex: int):  # noqa: N802,N803
        self._check_index(workspaceIndex)
        return self._x[workspaceIndex]

    def dataY(self, workspaceIndex: int):  # noqa: N802,N803
        self._check_index(workspaceIndex)
        return self._y[workspaceIndex]

    def dataE(self, workspaceIndex: int):  # noqa: N802,N803
        self._check_index(workspaceIndex)
        return self._e[workspaceIndex]

    def extractX(self):  # noqa: N802
        return self._x.copy()

    def extractY(self):  # noqa: N802
        return self._y.copy()

    def extractE(self):  # noqa: N802
        return self._e.copy()

    # -- axes -----------------------------------------------------------------------------------
    def axes(self) -> int:
        return len(self._axes)

    def getAxis(self, axis_index: int) -> MantidAxis:  # noqa: N802
        if axis_index not in (0, 1):
            raise IndexError(f"Axis index out of range: {axis_index}")
        return self._axes[axis_index]

    def replaceAxis(self, axisIndex: int, newAxis: MantidAxis) -> None:  # noqa: N802,N803
        """MatrixWorkspace::replaceAxis: the new axis is cloned, so later changes to the Python
        object do not reach the workspace."""
        if axisIndex not in (0, 1):
            raise IndexError(f"Axis index out of range: {axisIndex}")
        n = self.getNumberHistograms() if axisIndex == 1 else self._x.shape[1]
        allowed = (n, n + 1) if isinstance(newAxis, BinEdgeAxis) or axisIndex == 0 else (n,)
        if isinstance(newAxis, BinEdgeAxis) and axisIndex == 1:
            allowed = (n + 1,)
        if newAxis.length() not in allowed:
            raise ValueError(f"replaceAxis: an axis of length {newAxis.length()} does not fit "
                             f"{n} entries")
        self._axes[axisIndex] = newAxis._clone()

    # -- meta data ------------------------------------------------------------------------------
    def isDistribution(self) -> bool:  # noqa: N802
        return self._distribution

    def setDistribution(self, newVal: bool) -> None:  # noqa: N802,N803
        self._distribution = bool(newVal)

    def YUnit(self) -> str:  # noqa: N802
        return self._y_unit

    def setYUnit(self, newUnit: str) -> None:  # noqa: N802,N803
        self._y_unit = str(newUnit)

    def YUnitLabel(self, useLatex: bool = False, plotAsDistribution: bool = False) -> str:  # noqa: N802,N803
        """MatrixWorkspace::YUnitLabel (Framework/API/src/MatrixWorkspace.cpp): the label set
        with setYUnitLabel; without one, the YUnit, to which a distribution (or a plot as one)
        appends " per <X unit's ascii label>" (appendUnitDenominatorUsingPer, only where that
        label is not empty). A set label gets the " per " only when plotted as a distribution
        while not one. The LaTeX form is not mirrored."""
        if useLatex:
            raise NotImplementedError("the stand-in does not mirror YUnitLabel(useLatex=True)")
        x_label = self.getAxis(0).getUnit().symbol().ascii()
        per = f" per {x_label}" if x_label else ""
        if self._y_unit_label:
            return self._y_unit_label + (per if plotAsDistribution and not self._distribution
                                         else "")
        return self._y_unit + (per if plotAsDistribution or self._distribution else "")

    def setYUnitLabel(self, newLabel: str) -> None:  # noqa: N802,N803
        self._y_unit_label = str(newLabel)

    def getRun(self) -> Run:  # noqa: N802
        return self._run


Workspace2D = MatrixWorkspace

_COLUMN_TYPES = {"int": int, "float": float, "double": float, "bool": bool, "str": str,
                 "long64": int}


class ITableWorkspace(Workspace):
    """Mirrors ``ITableWorkspace`` (api/src/Exports/ITableWorkspace.cpp) as a TableWorkspace:
    typed named columns, rows as dicts, columns as lists."""

    def __init__(self) -> None:
        super().__init__()
        self._names: list[str] = []
        self._types: list[str] = []
        self._columns: list[list] = []
        self._plot_types: list[int] = []

    def id(self) -> str:
        return "TableWorkspace"

    def addColumn(self, type: str, name: str, plottype: int = -1000) -> bool:  # noqa: N802,A002
        # TableWorkspace::addColumn (Framework/DataObjects/src/TableWorkspace.cpp): an unknown
        # type or a name in use is logged and the column not added; Python gets False.
        if type not in _COLUMN_TYPES:
            Logger("TableWorkspace").error(f"Column of type {type} and name {name} has not "
                                           "been created.")
            return False
        if name in self._names:
            Logger("TableWorkspace").error(f"Column with name {name} already exists.")
            return False
        self._names.append(name)
        self._types.append(type)
        self._columns.append([_COLUMN_TYPES[type]()] * self.rowCount())
        self._plot_types.append(plottype)
        return True

    def setPlotType(self, column, ptype: int, linkedCol: int = -1) -> None:  # noqa: N802,N803
        self._plot_types[self._index(column)] = int(ptype)

    def getPlotType(self, column) -> int:  # noqa: N802
        return self._plot_types[self._index(column)]

    def _index(self, column) -> int:
        if isinstance(column, str):
            if column not in self._names:
                raise ValueError(f"Column {column} does not exist")
            return self._names.index(column)
        return int(column)

    def columnCount(self) -> int:  # noqa: N802
        return len(self._names)

    def rowCount(self) -> int:  # noqa: N802
        return len(self._columns[0]) if self._columns else 0

    def __len__(self) -> int:
        return self.rowCount()

    def getColumnNames(self) -> list[str]:  # noqa: N802
        return list(self._names)

    keys = getColumnNames

    def columnTypes(self) -> list[str]:  # noqa: N802
        return list(self._types)

    def column(self, column) -> list:
        return list(self._columns[self._index(column)])

    def row(self, row: int) -> dict:
        if row < 0:
            raise ValueError("Cannot specify negative row number")
        if row >= self.rowCount():
            raise ValueError("Cannot specify row larger than number of rows")
        return {name: values[row] for name, values in zip(self._names, self._columns)}

    def _convert(self, index: int, value):
        """``setValue`` of api/src/Exports/ITableWorkspace.cpp: ``extract<T>`` of the column's
        C++ type. An int column also takes numpy integers (its special case), not floats; a
        double column takes Python and numpy numbers; str and bool columns their own types. A
        "float" column is a C++ float: the value is rounded to single precision."""
        kind = self._types[index]
        where = f"column {self._names[index]} of type {kind}"
        if kind == "str":
            if not isinstance(value, str):
                raise TypeError(f"No registered converter was able to produce a C++ rvalue of "
                                f"type std::string from this Python object of type "
                                f"{type(value).__name__} ({where})")
            return value
        if kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"No registered converter was able to produce a C++ rvalue of "
                                f"type bool from this Python object of type "
                                f"{type(value).__name__} ({where})")
            return bool(value)
        if kind in ("int", "long64"):
            if not isinstance(value, (int, np.integer)):
                raise TypeError(f"No registered converter was able to produce a C++ rvalue of "
                                f"type int from this Python object of type "
                                f"{type(value).__name__} ({where})")
            limit = 2**31 if kind == "int" else 2**63
            if not -limit <= int(value) < limit:
                raise OverflowError(f"Python int too large to convert to C long ({where})")
            return int(value)
        if isinstance(value, (bool, np.bool_, str)) or not isinstance(
                value, (int, float, np.integer, np.floating)):
            raise TypeError(f"No registered converter was able to produce a C++ rvalue of type "
                            f"double from this Python object of type {type(value).__name__} "
                            f"({where})")
        return float(np.float32(value)) if kind == "float" else float(value)

    def addRow(self, row) -> None:  # noqa: N802
        if isinstance(row, dict):
            if len(row) != self.columnCount():
                raise ValueError("Number of values given does not match the number of "
                                 f"columns. Expected: {self.columnCount()}")
            if set(row) != set(self._names):
                raise KeyError(sorted(set(self._names) - set(row))[0])
            row = [row[name] for name in self._names]
        row = list(row)
        if len(row) != self.columnCount():
            raise ValueError("Number of values given does not match the number of columns. "
                             f"Expected: {self.columnCount()}")
        converted = [self._convert(i, v) for i, v in enumerate(row)]
        for values, value in zip(self._columns, converted):
            values.append(value)

    def cell(self, value, row_or_column):
        if isinstance(value, str):
            return self._columns[self._index(value)][row_or_column]
        return self._columns[self._index(row_or_column)][value]

    def toDict(self) -> dict:  # noqa: N802
        return {name: list(values) for name, values in zip(self._names, self._columns)}


class WorkspaceGroup(Workspace):
    """Mirrors ``WorkspaceGroup`` (api/src/Exports/WorkspaceGroup.cpp)."""

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Workspace] = []

    def id(self) -> str:
        return "WorkspaceGroup"

    def addWorkspace(self, workspace: Workspace) -> None:  # noqa: N802
        if not isinstance(workspace, Workspace):
            raise ValueError("Cannot extract pointer from Python object argument. "
                             "Incorrect type")
        if workspace not in self._items:
            self._items.append(workspace)

    def add(self, workspace_name: str) -> None:
        self.addWorkspace(AnalysisDataService.retrieve(workspace_name))

    def getNumberOfEntries(self) -> int:  # noqa: N802
        return len(self._items)

    size = getNumberOfEntries
    __len__ = getNumberOfEntries

    def getNames(self) -> list[str]:  # noqa: N802
        return [item.name() for item in self._items]

    def getItem(self, index: int) -> Workspace:  # noqa: N802
        if not -len(self._items) <= index < len(self._items):
            raise IndexError(f"index {index} out of range for a group of {len(self._items)}")
        return self._items[index]

    __getitem__ = getItem

    def __iter__(self):
        return iter(list(self._items))

    def contains(self, workspace: str) -> bool:
        return workspace in self.getNames()

    __contains__ = contains


class WorkspaceFactoryImpl:
    """Mirrors ``WorkspaceFactoryImpl`` (api/src/Exports/WorkspaceFactory.cpp)."""

    @staticmethod
    def Instance() -> "WorkspaceFactoryImpl":  # noqa: N802
        return _WORKSPACE_FACTORY

    def create(self, className, NVectors: int = -1, XLength: int = -1,  # noqa: N803
               YLength: int = -1):
        if isinstance(className, MatrixWorkspace):  # create(parent, ...)
            parent = className
            n = parent.getNumberHistograms() if NVectors == -1 else NVectors
            xl = parent.readX(0).size if XLength == -1 else XLength
            yl = parent.blocksize() if YLength == -1 else YLength
            return MatrixWorkspace(n, xl, yl)
        if className != "Workspace2D":
            raise RuntimeError(f"DynamicFactory: {className} is not registered.\n")
        return MatrixWorkspace(int(NVectors), int(XLength), int(YLength))

    def createTable(self, className: str = "TableWorkspace") -> ITableWorkspace:  # noqa: N802,N803
        if className != "TableWorkspace":
            raise RuntimeError(f"DynamicFactory: {className} is not registered.\n")
        return ITableWorkspace()


_WORKSPACE_FACTORY = WorkspaceFactoryImpl()
WorkspaceFactory = _WORKSPACE_FACTORY

# ------------------------------------------------------------------------------------------
# Analysis data service (api/src/Exports/AnalysisDataService.cpp,
# core/inc/MantidPythonInterface/core/DataServiceExporter.h, Framework/API/src/
# AnalysisDataService.cpp). Names are case-insensitive as in Mantid's DataService.
# ------------------------------------------------------------------------------------------


class AnalysisDataServiceImpl:
    """Mirrors ``AnalysisDataServiceImpl`` (api/src/Exports/AnalysisDataService.cpp,
    core/inc/MantidPythonInterface/core/DataServiceExporter.h). Adding a group also adds its unnamed members as
    ``<group>_<i>`` (AnalysisDataServiceImpl::add)."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, Workspace]] = {}

    @staticmethod
    def Instance() -> "AnalysisDataServiceImpl":  # noqa: N802
        return _ADS

    @staticmethod
    def _verify(name: str, item=None) -> None:
        # AnalysisDataServiceImpl::verifyName (Framework/API/src/AnalysisDataService.cpp): an
        # illegal character or a group named as one of its members is std::invalid_argument
        # (ValueError); DataService::checkForEmptyName an empty name, std::runtime_error. (Mantid
        # takes its illegal characters from setIllegalCharacterList; the stand-in refuses
        # the list its tests use, and whitespace.)
        if not name:
            raise RuntimeError("Add Data Object with empty name")
        if any(c.isspace() for c in name) or any(c in name for c in '"+-/*\\%<>&|^~=!@()[]{},:.`$?'):
            raise ValueError(f"Invalid object name '{name}'. Names cannot contain any of "
                             "the following characters: whitespace, "
                             '"+-/*\\%<>&|^~=!@()[]{},:.`$?')
        if isinstance(item, WorkspaceGroup) and name in item.getNames():
            raise ValueError("Unable to add group as name matches its members")

    def add(self, name: str, item: Workspace) -> None:
        if self.doesExist(name):
            raise RuntimeError(f"AnalysisDataService::add - Workspace with name {name} "
                               "already exists")
        self.addOrReplace(name, item)

    def addOrReplace(self, name: str, item: Workspace) -> None:  # noqa: N802
        self._verify(name, item)
        if not isinstance(item, Workspace):
            raise ValueError("Cannot extract pointer from Python object argument. "
                             "Incorrect type")
        item._name = name
        self._items[name.lower()] = (name, item)
        if isinstance(item, WorkspaceGroup):
            # AnalysisDataServiceImpl::addOrReplace (Framework/API/src/AnalysisDataService.cpp):
            # an unnamed member is added as <group>_<i>; a named one only if its name is not
            # in the service yet (whatever the service holds under it).
            for index, member in enumerate(item, start=1):
                if not member.name():
                    self.addOrReplace(f"{name}_{index}", member)
                elif not self.doesExist(member.name()):
                    self.addOrReplace(member.name(), member)

    def doesExist(self, name: str) -> bool:  # noqa: N802
        return str(name).lower() in self._items

    def retrieve(self, name: str) -> Workspace:
        try:
            return self._items[str(name).lower()][1]
        except KeyError:
            raise KeyError(f"'{name}' does not exist.") from None

    def remove(self, name: str) -> None:
        entry = self._items.pop(str(name).lower(), None)
        if entry is not None:
            entry[1]._name = ""

    def clear(self, silent: bool = False) -> None:
        for name in list(self._items):
            self.remove(name)

    def size(self) -> int:
        return len(self._items)

    def getObjectNames(self, contain: str = "") -> list[str]:  # noqa: N802
        return [name for name, _ in self._items.values() if contain in name]

    __len__ = size
    __getitem__ = retrieve
    __setitem__ = addOrReplace
    __contains__ = doesExist
    __delitem__ = remove


_ADS = AnalysisDataServiceImpl()
AnalysisDataService = _ADS
mtd = _ADS

# ------------------------------------------------------------------------------------------
# Workspace and file properties (api/src/Exports/{WorkspaceProperty,MatrixWorkspaceProperty,
# ITableWorkspaceProperty,WorkspaceGroupProperty,FileProperty,MultipleFileProperty}.cpp;
# Framework/API/inc/MantidAPI/WorkspaceProperty.tcc, Framework/API/src/FileProperty.cpp)
# ------------------------------------------------------------------------------------------


class PropertyMode(enum.IntEnum):
    """Mirrors ``PropertyMode`` (api/src/Exports/WorkspaceProperty.cpp)."""

    Mandatory = 0
    Optional = 1


class LockMode(enum.IntEnum):
    """Mirrors ``LockMode`` (api/src/Exports/WorkspaceProperty.cpp)."""

    Lock = 0
    NoLock = 1


class WorkspaceProperty(Property):
    """Mirrors ``WorkspaceProperty`` (api/src/Exports/WorkspaceProperty.cpp,
    Framework/API/inc/MantidAPI/WorkspaceProperty.tcc): the string value is a workspace
    name; an input name must exist in the ADS with the right type; an output needs a name
    unless optional. ``value`` is the workspace object."""

    _workspace_type: type = Workspace
    _type_name = "Workspace"

    def __init__(self, name: str, defaultValue: str, direction: int,  # noqa: N803
                 optional: PropertyMode = PropertyMode.Mandatory, validator: IValidator | None = None,
                 *args):
        self._workspace: Workspace | None = None
        self._optional = PropertyMode(optional) == PropertyMode.Optional
        super().__init__(name, str(defaultValue), validator, direction)

    @property
    def type(self) -> str:
        return self._type_name

    @property
    def value(self):
        if self._workspace is None and self._value and self.direction != Direction.Output:
            if AnalysisDataService.doesExist(self._value):
                return AnalysisDataService.retrieve(self._value)
        return self._workspace

    def isOptional(self) -> bool:  # noqa: N802
        return self._optional

    @property
    def isValid(self) -> str:  # noqa: N802
        if self.direction == Direction.Output:
            if not self._value and not self._optional:
                return "Enter a name for the Output workspace"
            return ""
        if not self._value:
            return "" if self._optional else "Enter a name for the Input/InOut workspace"
        workspace = self._workspace
        if workspace is None:
            if not AnalysisDataService.doesExist(self._value):
                return f'Workspace "{self._value}" was not found in the Analysis Data Service'
            workspace = AnalysisDataService.retrieve(self._value)
        if not isinstance(workspace, self._workspace_type):
            return f"Workspace {self._value} is not of the correct type"
        return self._validator.isValid(workspace)

    def _set_from_string(self, text: str) -> None:
        old = (self._value, self._workspace)
        self._value, self._workspace = text.strip(), None
        problem = self.isValid
        if problem:
            self._value, self._workspace = old
            raise ValueError(problem)

    def _store(self) -> None:
        """WorkspaceProperty<TYPE>::store (Framework/API/inc/MantidAPI/WorkspaceProperty.tcc): an
        unset optional property stores nothing; an output one must hold a workspace
        ("WorkspaceProperty doesn't point to a workspace"), which goes into the ADS under the
        property's value; then the property lets go of it, so that ``value`` of a stored
        output is None (only a child algorithm, which stores nothing, hands its outputs over
        through ``value``)."""
        if self._workspace is None and self._optional:
            return
        if self.direction != Direction.Input:
            if self._workspace is None:
                raise RuntimeError("WorkspaceProperty doesn't point to a workspace")
            AnalysisDataService.addOrReplace(self._value, self._workspace)
        self._workspace = None

    def _set_from_python(self, value) -> None:
        if not isinstance(value, Workspace):
            raise TypeError(f"Cannot set {self.name}: expected a workspace or its name, got "
                            f"{type(value).__name__}")
        if not isinstance(value, self._workspace_type):
            raise ValueError(f"Workspace {value.name() or '(unnamed)'} is not of the correct "
                             "type")
        self._workspace = value
        if value.name() and self.direction != Direction.Output:
            self._value = value.name()


class MatrixWorkspaceProperty(WorkspaceProperty):
    """Mirrors ``MatrixWorkspaceProperty`` (api/src/Exports/MatrixWorkspaceProperty.cpp)."""

    _workspace_type = MatrixWorkspace
    _type_name = "MatrixWorkspace"


class ITableWorkspaceProperty(WorkspaceProperty):
    """Mirrors ``ITableWorkspaceProperty`` (api/src/Exports/ITableWorkspaceProperty.cpp)."""

    _workspace_type = ITableWorkspace
    _type_name = "TableWorkspace"


class WorkspaceGroupProperty(WorkspaceProperty):
    """Mirrors ``WorkspaceGroupProperty`` (api/src/Exports/WorkspaceGroupProperty.cpp)."""

    _workspace_type = WorkspaceGroup
    _type_name = "WorkspaceGroup"


class FileAction(enum.IntEnum):
    """Mirrors ``FileAction`` (api/src/Exports/FileProperty.cpp)."""

    Save = 0
    OptionalSave = 1
    Load = 2
    OptionalLoad = 3
    Directory = 4
    OptionalDirectory = 5


def _full_path(filename: str) -> str:
    """``ConfigService::getFullPath`` as FileFinder uses it (Framework/API/src/FileFinder.cpp,
    Framework/Kernel/src/ConfigService.cpp): an absolute name as it is; a relative one tried
    against the current directory, then each of ``datasearch.directories`` in order; "" when
    not found."""
    name = filename.strip()
    if os.path.isabs(name):
        return name
    if os.path.exists(name):
        return os.path.abspath(name)
    from ..kernel import ConfigService

    for directory in ConfigService.getDataSearchDirs():
        candidate = os.path.join(directory, name)
        if os.path.exists(candidate):
            return candidate
    return ""


def _create_directory(path: str) -> str:
    """FileProperty::createDirectory: the folder of a file path (or the folder itself) is made
    if missing; the error text if it cannot be."""
    folder = path if os.path.isdir(path) or not os.path.splitext(path)[1] and \
        path.endswith(os.sep) else os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            return f"Failed to create directory \"{folder}\""
    return ""


def _load_file_problem(path: str) -> str:
    """FileValidator::checkValidity (Framework/Kernel/src/FileValidator.cpp) for a file that must
    exist: 'File "<path>" not found' unless it exists (Poco::File::exists: a folder exists too),
    then "Failed to open <path>: <strerror>" unless an std::ifstream opens it (on Linux a
    folder opens; an unreadable file does not). "" when valid."""
    if not os.path.exists(path):
        return f'File "{path}" not found'
    try:
        os.close(os.open(path, os.O_RDONLY))   # fopen(path, "r") as std::ifstream does
    except OSError as error:
        return f"Failed to open {path}: {os.strerror(error.errno)}"
    return ""


class FileProperty(Property):
    """Mirrors ``FileProperty`` (api/src/Exports/FileProperty.cpp, Framework/API/src/
    FileProperty.cpp::setValue):

    * the value is stripped and ``~`` expanded; an empty value is allowed for the Optional
      actions only ("No file specified.");
    * an absolute path is kept as it is (a Save action creates its folder);
    * a relative Load name is searched for (:func:`_full_path`: the current directory, then the
      data search directories) and replaced by the file found, or kept as given when none is,
      which the validator then reports ('File "name" not found');
    * a relative Save or Directory name is put under ``defaultsave.directory``, or under the
      current directory when that setting is empty (FileProperty::setSaveProperty);
    * Directory needs an existing folder. Extensions are suggestions in Mantid (FileValidator
      only logs a mismatch), so they are not enforced.
    """

    _cpp_type = "string"

    def __init__(self, name: str, defaultValue: str, action: int,  # noqa: N803
                 extensions=None, direction: int = Direction.Input):
        if isinstance(extensions, str):
            extensions = [extensions]
        self.action = FileAction(action)
        self.extensions = [e.lower() for e in (extensions or [])]
        super().__init__(name, str(defaultValue), None, direction)

    def isOptional(self) -> bool:  # noqa: N802
        return self.action in (FileAction.OptionalLoad, FileAction.OptionalSave,
                               FileAction.OptionalDirectory)

    def _is_load(self) -> bool:
        return self.action in (FileAction.Load, FileAction.OptionalLoad)

    def _is_save(self) -> bool:
        return self.action in (FileAction.Save, FileAction.OptionalSave)

    def _convert(self, value):
        if not isinstance(value, str):
            raise TypeError(f"No registered converter was able to produce a C++ rvalue of type "
                            f"std::string from this Python object of type "
                            f"{type(value).__name__}")
        value = os.path.expanduser(value.strip())
        if not value:
            return ""
        if os.path.isabs(value):
            if self._is_save():
                error = _create_directory(value)
                if error:
                    raise ValueError(error)
            return value
        if self._is_load():
            return _full_path(value) or value
        from ..kernel import ConfigService

        save_directory = ConfigService.getString("defaultsave.directory")
        if not save_directory:
            parent = os.path.dirname(value)
            save_directory = parent if parent else os.getcwd()
        error = _create_directory(os.path.join(save_directory, ""))
        if error:
            raise ValueError(error)
        return os.path.join(save_directory, value)

    def _set_from_string(self, text: str) -> None:
        self._set(self._convert(text))

    @property
    def isValid(self) -> str:  # noqa: N802
        value = self._value
        if not value:
            return "" if self.isOptional() else "No file specified."
        if self._is_load() and _load_file_problem(value):
            return _load_file_problem(value)
        if self.action == FileAction.Directory and not os.path.isdir(value):
            return f'Directory "{value}" not found'
        return ""


class MultipleFileProperty(Property):
    """Mirrors ``MultipleFileProperty`` (api/src/Exports/MultipleFileProperty.cpp,
    Framework/API/src/MultipleFileProperty.cpp::setValueAsMultipleFiles): files separated by
    ',' (each an entry) or '+' (summed into one entry); adjacent operators are refused
    ("Unable to parse filename due to an empty token."), as are non-ASCII characters; each file
    is found as a FileProperty Load finds it (:func:`_full_path`). ``value`` is a list whose
    items are a path or a list of paths. Every file must exist for the Load action."""

    _cpp_type = "list of str lists"

    def __init__(self, name: str, action: int = FileAction.Load, extensions=None):
        if isinstance(action, (list, tuple, str)) and extensions is None:
            action, extensions = FileAction.Load, action  # (name, extensions) overload
        if isinstance(extensions, str):
            extensions = [extensions]
        self.action = FileAction(action)
        self.extensions = [e.lower() for e in (extensions or [])]
        super().__init__(name, [], None, Direction.Input)

    @staticmethod
    def _resolve(path: str) -> str:
        path = os.path.expanduser(path.strip())
        return _full_path(path) or path

    def _convert(self, value):
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return []
            if re.search(r"\+\s*\+|,\s*,|\+\s*,|,\s*\+", text) or \
                    text[0] in ",+" or text[-1] in ",+":
                raise ValueError("Unable to parse filename due to an empty token.")
            if not text.isascii():
                raise ValueError("Unable to parse filename due to an unsupported non-ASCII "
                                 "character being found.")
            # REGEX_COMMA_OPERATORS / REGEX_PLUS_OPERATORS of MultipleFileProperty.cpp: a ','
            # or '+' separates files only where a non-digit follows it ("a.xyz,2.xyz" is one
            # name, which is then not found).
            value = [re.split(r"\s*\+\s*(?=\D)", entry)
                     for entry in re.split(r"\s*,\s*(?=\D)", text)]
        else:
            value = [[str(item)] if not isinstance(item, (list, tuple)) else
                     [str(p) for p in item] for item in value]
        return [[self._resolve(p) for p in group] for group in value]

    def _set_from_string(self, text: str) -> None:
        self._set(self._convert(text))

    def _set_from_python(self, value) -> None:
        # IPropertyManager.setProperty (kernel/src/Exports/IPropertyManager.cpp) hands a
        # non-str value to the PropertyValueHandler that TypeRegistry holds for the property's
        # C++ type; kernel/src/Registry/TypeRegistry.cpp registers handlers for the scalars and
        # std::vector of them, none for a MultipleFileProperty's
        # std::vector<std::vector<std::string>>, so a list (or a tuple) is refused: only the
        # ','/'+' string sets the property (simpleapi calls setProperty the same way).
        raise ValueError("TypeRegistry::retrieve(): No PropertyValueHandler registered for "
                         "type 'std::vector<std::vector<std::string>>'")

    @property
    def value(self):
        return [group[0] if len(group) == 1 else list(group) for group in self._value]

    @property
    def valueAsStr(self) -> str:  # noqa: N802
        return ",".join("+".join(group) for group in self._value)

    @property
    def isValid(self) -> str:  # noqa: N802
        if not self._value:
            return "" if self.action == FileAction.OptionalLoad else "No file specified."
        for group in self._value:
            for path in group:
                if _load_file_problem(path):
                    return _load_file_problem(path)
        return ""


# ------------------------------------------------------------------------------------------
# Algorithms (api/src/Exports/{Algorithm,IAlgorithm,AlgorithmFactory,Progress}.cpp,
# Framework/API/src/Algorithm.cpp)
# ------------------------------------------------------------------------------------------


class Progress:
    """Mirrors ``Progress`` (api/src/Exports/Progress.cpp, Framework/API/src/Progress.cpp) over
    ``ProgressBase`` (kernel/src/Exports/ProgressBase.cpp, Framework/Kernel/src/ProgressBase.cpp),
    with its notify-step arithmetic:

    * ``start < 0`` or ``start >= end`` raises ValueError (std::invalid_argument);
    * ``setNumSteps(n)``: n at least 1, ``notifyStep = int(n * notifyStepPct / 100 /
      (end - start))`` at least 1 (``notifyStepPct`` is 1 by default: every 1 % of the range);
    * ``report()`` / ``report(msg)`` add 1 to the counter, ``report(i, msg)`` sets it,
      ``reportIncrement(inc, msg)`` adds ``inc``; a notification (``doReport``) follows only
      when ``counter - last_reported >= notifyStep``;
    * ``setNotifyStep(pct)``: ``notifyStep = int(n * pct / 100 / (end - start))``, negative
      made 1, but 0 is kept, so that every report notifies;
    * ``doReport`` sends the progress to the algorithm and then passes its interruption point:
      a cancelled algorithm raises there (CancelException, KeyboardInterrupt in Python,
      api/src/Exports/Algorithm.cpp). No other call is an interruption point.
    """

    def __init__(self, alg, start: float, end: float, nreports: int):
        start, end = float(start), float(end)
        if start < 0.0 or start >= end:
            raise ValueError(f"Progress range invalid 0 <= start={start:g} <= end={end:g}")
        self._alg = alg
        self._start, self._end = start, end
        self._notify_pct = 1.0
        self._i = 0
        self.setNumSteps(nreports)
        self._last_reported = -self._notify_step

    def setNumSteps(self, nsteps: int) -> None:  # noqa: N802
        self._n = max(int(nsteps), 1)
        self._step = (self._end - self._start) / self._n
        self._notify_step = max(int(self._n * self._notify_pct * 0.01
                                    / (self._end - self._start)), 1)

    def resetNumSteps(self, nsteps: int, start: float, end: float) -> None:  # noqa: N802
        if start < 0.0 or start >= end:
            raise ValueError(f"Progress range invalid 0 <= start={start:g} <= end={end:g}")
        self._start, self._end, self._i, self._last_reported = float(start), float(end), 0, 0
        self.setNumSteps(nsteps)

    def setNotifyStep(self, notifyStep: float) -> None:  # noqa: N802,N803
        self._notify_pct = float(notifyStep)
        self._notify_step = int(self._n * self._notify_pct / 100 / (self._end - self._start))
        if self._notify_step < 0:
            self._notify_step = 1

    def report(self, *args) -> None:
        # Overloads: (), (msg), (i, msg).
        if len(args) == 2:
            self._i, message = int(args[0]), args[1]
        else:
            self._i += 1
            message = args[0] if args else ""
        self._maybe_report(message)

    def reportIncrement(self, i: int, msg: str = "") -> None:  # noqa: N802
        self._i += int(i)
        self._maybe_report(msg)

    def _maybe_report(self, message: str) -> None:
        if self._i - self._last_reported < self._notify_step:
            return
        self._last_reported = self._i
        self._do_report(str(message))

    def _do_report(self, message: str) -> None:
        fraction = min(self._start + self._step * self._i, self._end)
        self._alg._progress_reports.append((fraction, message))
        if self._alg._cancel_requested:
            raise KeyboardInterrupt("")


def _python_exception_text(error: BaseException) -> str:
    """The message of the PythonException that a PyExec error becomes (AlgorithmAdapter::exec
    calls PyExec through callMethod, which throws PythonException(withTrace=true);
    Framework/PythonInterface/core/src/ErrorHandling.cpp, exceptionToString and
    tracebackToStream): ``str(error)``, then for each traceback entry from PyExec's frame down
    "\\n  at line N in 'file'" (the first) or "\\n  caused by line N in 'file'"."""
    text = str(error)
    # The first entry is the stand-in's own execute(), which calls PyExec: Mantid's traceback
    # starts at PyExec.
    traceback = error.__traceback__.tb_next if error.__traceback__ else None
    first = True
    while traceback is not None:
        text += (f"\n  {'at' if first else 'caused by'} line {traceback.tb_lineno} in "
                 f"'{traceback.tb_frame.f_code.co_filename}'")
        first = False
        traceback = traceback.tb_next
    return text


class Algorithm:
    """Mirrors the exported ``Algorithm`` (alias ``PythonAlgorithm``; api/src/Exports/
    Algorithm.cpp, IAlgorithm.cpp, kernel/src/Exports/IPropertyManager.cpp) with the life cycle
    of Framework/API/src/Algorithm.cpp::executeInternal:

    1. ``initialize`` calls ``PyInit`` once;
    2. ``execute`` checks every property's validator (failure: RuntimeError
       "Some invalid Properties found"), then ``validateInputs`` (failure: RuntimeError
       "Some invalid Properties found: \\n Name: message" for each issue, sorted by name);
    3. ``PyExec`` runs; an exception raised there becomes a RuntimeError whose message is its
       text plus a line per traceback frame (:func:`_python_exception_text`), raised by a
       child or rethrowing algorithm and only logged (``execute`` returns False) by another,
       or KeyboardInterrupt (Mantid's cancellation) when the algorithm was cancelled; after
       ``PyExec`` a cancelled algorithm stops at an interruption point;
    4. output workspaces are stored in the ADS under their property values unless the
       algorithm is a child.
    """

    def __init__(self) -> None:
        self._properties: dict[str, Property] = {}
        self._initialized = False
        self._executed = False
        self._child = False
        self._rethrows = False
        self._always_store = True
        self._logging = True
        self._cancel_requested = False
        self._progress_reports: list[tuple[float, str]] = []
        self._logger = Logger(type(self).__name__)

    # -- identity -------------------------------------------------------------------------------
    def name(self) -> str:
        return type(self).__name__

    def version(self) -> int:
        return 1

    def category(self) -> str:
        return "PythonAlgorithms"

    def categories(self) -> list[str]:
        return [c for c in self.category().split("\\") if c] if "\\" in self.category() \
            else [c.strip() for c in self.category().split(";")]

    def summary(self) -> str:
        return ""

    def seeAlso(self) -> list[str]:  # noqa: N802
        return []

    def log(self) -> Logger:
        return self._logger

    getLogger = log  # noqa: N815

    # -- properties -----------------------------------------------------------------------------
    def declareProperty(self, *args, **kwargs) -> None:  # noqa: N802
        """The four overloads of Algorithm.cpp: (prop, doc=""), (name, defaultValue,
        validator=None, doc="", direction=Input), (name, defaultValue, doc="",
        direction=Input), (name, defaultValue, direction=Input)."""
        if args and isinstance(args[0], Property) or "prop" in kwargs:
            prop = args[0] if args else kwargs.pop("prop")
            doc = args[1] if len(args) > 1 else kwargs.pop("doc", "")
            if kwargs or len(args) > 2:
                raise TypeError("declareProperty(prop, doc='') takes no other arguments")
        else:
            names = ["name", "defaultValue"]
            values = dict(zip(names, args))
            rest = list(args[2:])
            if rest and isinstance(rest[0], IValidator):
                values["validator"] = rest.pop(0)
            if rest and isinstance(rest[0], str):
                values["doc"] = rest.pop(0)
            if rest:
                values["direction"] = rest.pop(0)
            if rest:
                raise TypeError("declareProperty: too many arguments")
            for key, value in kwargs.items():
                if key in values:
                    raise TypeError(f"declareProperty got multiple values for '{key}'")
                if key not in ("name", "defaultValue", "validator", "doc", "direction"):
                    raise TypeError(f"declareProperty got an unexpected keyword '{key}'")
                values[key] = value
            if "name" not in values or "defaultValue" not in values:
                raise TypeError("declareProperty needs a name and a defaultValue")
            prop = property_from_python_value(values["name"], values["defaultValue"],
                                              values.get("validator"),
                                              values.get("direction", Direction.Input))
            doc = values.get("doc", "")
        if prop.name in self._properties:
            raise RuntimeError(f"Property with given name already exists: {prop.name}")
        if doc:
            prop.setDocumentation(doc)
        self._properties[prop.name] = prop

    def _property(self, name: str) -> Property:
        try:
            return self._properties[name]
        except KeyError:
            # Exception::NotFoundError, a std::runtime_error: RuntimeError in Python.
            raise RuntimeError(f"Unknown property search object {name}") from None

    def getProperty(self, name: str) -> Property:  # noqa: N802
        return self._property(name)

    def getPropertyValue(self, name: str) -> str:  # noqa: N802
        return self._property(name).valueAsStr

    def setProperty(self, name: str, value) -> None:  # noqa: N802
        prop = self._property(name)
        if isinstance(value, str):
            prop._set_from_string(value)
        else:
            try:
                prop._set_from_python(value)
            except ValueError as error:
                # IPropertyManager.cpp::setProperty catches std::invalid_argument (a refused
                # value, a missing handler) and rethrows it with this prefix.
                raise ValueError(f'When converting parameter "{name}": {error}') from None
            except TypeError as error:
                raise TypeError(f'When converting parameter "{name}": {error}') from None

    def setPropertyValue(self, name: str, value: str) -> None:  # noqa: N802
        self._property(name)._set_from_string(value)

    def existsProperty(self, name: str) -> bool:  # noqa: N802
        return name in self._properties

    def getProperties(self) -> list[Property]:  # noqa: N802
        return list(self._properties.values())

    def propertyCount(self) -> int:  # noqa: N802
        return len(self._properties)

    def keys(self) -> list[str]:
        return list(self._properties)

    def setPropertyGroup(self, name: str, group: str) -> None:  # noqa: N802
        self._property(name)._group = str(group)

    def setPropertySettings(self, name: str, settingsManager) -> None:  # noqa: N802,N803
        self._property(name).settings = settingsManager

    def outputProperties(self) -> list[str]:  # noqa: N802
        return [p.name for p in self._properties.values() if p.direction == Direction.Output]

    def mandatoryProperties(self) -> list[str]:  # noqa: N802
        inputs = [p for p in self._properties.values() if p.direction != Direction.Output]
        return [p.name for p in sorted(inputs, key=lambda p: not p.isValid)]

    # -- life cycle -----------------------------------------------------------------------------
    def PyInit(self) -> None:  # noqa: N802
        pass

    def PyExec(self) -> None:  # noqa: N802
        pass

    def initialize(self) -> None:
        if not self._initialized:
            self.PyInit()
            self._initialized = True

    def isInitialized(self) -> bool:  # noqa: N802
        return self._initialized

    def isExecuted(self) -> bool:  # noqa: N802
        return self._executed

    def validateInputs(self) -> dict:  # noqa: N802
        return {}

    def setChild(self, is_child: bool) -> None:  # noqa: N802
        self._child = bool(is_child)
        self._always_store = not self._child

    def isChild(self) -> bool:  # noqa: N802
        return self._child

    def setRethrows(self, rethrow: bool) -> None:  # noqa: N802
        self._rethrows = bool(rethrow)

    def setAlwaysStoreInADS(self, do_store: bool) -> None:  # noqa: N802
        self._always_store = bool(do_store)

    def setLogging(self, value: bool) -> None:  # noqa: N802
        self._logging = bool(value)

    def isLogging(self) -> bool:  # noqa: N802
        return self._logging

    def cancel(self) -> None:
        self._cancel_requested = True

    def execute(self) -> bool:
        if not self._initialized:
            raise RuntimeError("Algorithm is not initialised:" + self.name())
        self._executed = False
        invalid = {name: prop.isValid for name, prop in self._properties.items()
                   if prop.isValid}
        if invalid:
            for name, message in invalid.items():
                self._logger.error(f"Invalid value for {name}: {message}")
            raise RuntimeError("Some invalid Properties found")
        issues = self.validateInputs() or {}
        if not isinstance(issues, dict):
            raise RuntimeError("validateInputs() must return a dict")
        # Algorithm::executeInternal: an issue naming no property is only a warning; when one
        # names a property the message lists every issue (std::map order: sorted by name).
        named = [name for name in issues if name in self._properties]
        for name, message in sorted(issues.items()):
            if name in self._properties:
                self._logger.error(f"Invalid value for {name}: {message}")
            else:
                self._logger.warning(f'validateInputs() references non-existant property '
                                     f'"{name}"')
        if named:
            message = "Some invalid Properties found: " + "".join(
                f"\n {name}: {text}" for name, text in sorted(issues.items()))
            raise RuntimeError(message)
        try:
            try:
                self.PyExec()
            except BaseException:
                # AlgorithmAdapter::exec (api/src/PythonAlgorithm/AlgorithmAdapter.cpp): any
                # Python exception from PyExec of a cancelled algorithm is a CancelException.
                if self._cancel_requested:
                    raise KeyboardInterrupt("") from None
                raise
            # Algorithm::executeInternal passes an interruption point after exec() "in case
            # the concrete algorithm doesn't": a cancelled algorithm stores no output.
            if self._cancel_requested:
                raise KeyboardInterrupt("")
        except KeyboardInterrupt:
            self._logger.warning(f"{self.name()}: Execution cancelled by user.")
            raise
        except Exception as error:  # noqa: BLE001 - Mantid turns it into RuntimeError
            message = _python_exception_text(error)
            if not (self._child or self._rethrows):
                # Algorithm::executeInternal catches the std::runtime_error (PythonException)
                # of a top-level algorithm that does not rethrow: logged, execute() is False.
                self._logger.error(f"Error in execution of algorithm {self.name()}\n{message}")
                return False
            self._logger.error(f"Error in execution of algorithm {self.name()}:\n{message}")
            raise RuntimeError(message) from error
        if self._always_store:
            try:
                self._store()
            except RuntimeError as error:
                # Inside executeInternal's try: handled as a PyExec error is.
                if not (self._child or self._rethrows):
                    self._logger.error(f"Error in execution of algorithm {self.name()}\n{error}")
                    return False
                self._logger.error(f"Error in execution of algorithm {self.name()}:\n{error}")
                raise
        self._executed = True
        return True

    def _store(self) -> None:
        """Algorithm::store: every workspace property's store(), groups last (after the members
        they name)."""
        properties = [p for p in self._properties.values() if isinstance(p, WorkspaceProperty)]
        for prop in properties:
            if not isinstance(prop._workspace, WorkspaceGroup):
                prop._store()
        for prop in properties:
            if isinstance(prop._workspace, WorkspaceGroup):
                prop._store()


PythonAlgorithm = Algorithm


class AlgorithmFactoryImpl:
    """Mirrors ``AlgorithmFactoryImpl`` (api/src/Exports/AlgorithmFactory.cpp): subscribe a
    class (or an instance) derived from PythonAlgorithm; a later subscription of the same name
    and version replaces the earlier one."""

    def __init__(self) -> None:
        self._classes: dict[tuple[str, int], type] = {}

    @staticmethod
    def Instance() -> "AlgorithmFactoryImpl":  # noqa: N802
        return _FACTORY

    def subscribe(self, object) -> None:  # noqa: A002 - Mantid's argument name
        cls = object if isinstance(object, type) else type(object)
        if not (isinstance(cls, type) and issubclass(cls, Algorithm)):
            raise ValueError("Cannot register an algorithm that does not derive from "
                             "Algorithm.")
        instance = cls()
        self._classes[(instance.name(), instance.version())] = cls

    def exists(self, name: str, version: int = -1) -> bool:
        return any(n == name and (version == -1 or v == version) for n, v in self._classes)

    def highestVersion(self, algorithm_name: str) -> int:  # noqa: N802
        versions = [v for n, v in self._classes if n == algorithm_name]
        if not versions:
            raise ValueError(f"No algorithm named {algorithm_name}")
        return max(versions)

    def getRegisteredAlgorithms(self, include_hidden: bool) -> dict[str, list[int]]:  # noqa: N802
        registered: dict[str, list[int]] = {}
        for name, version in self._classes:
            registered.setdefault(name, []).append(version)
        return registered

    def unsubscribe(self, name: str, version: int) -> None:
        self._classes.pop((name, version), None)

    def _create(self, name: str, version: int = -1) -> Algorithm:
        if version == -1:
            version = self.highestVersion(name)
        try:
            return self._classes[(name, version)]()
        except KeyError:
            raise RuntimeError(f"algorithm not registered {name} version {version}") from None


_FACTORY = AlgorithmFactoryImpl()
AlgorithmFactory = _FACTORY


class AlgorithmManagerImpl:
    """Mirrors ``AlgorithmManagerImpl`` (api/src/Exports/AlgorithmManager.cpp)."""

    @staticmethod
    def Instance() -> "AlgorithmManagerImpl":  # noqa: N802
        return _MANAGER

    def create(self, name: str, version: int = -1) -> Algorithm:
        algorithm = _FACTORY._create(name, version)
        algorithm.initialize()
        return algorithm

    def createUnmanaged(self, name: str, version: int = -1) -> Algorithm:  # noqa: N802
        return _FACTORY._create(name, version)


_MANAGER = AlgorithmManagerImpl()
AlgorithmManager = _MANAGER
