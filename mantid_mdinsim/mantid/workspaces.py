"""Spectrum <-> Workspace2D, Table <-> TableWorkspace, lists <-> WorkspaceGroup.

The maps are one-to-one (``mantid_mdinsim.spectrum`` was designed after Workspace2D):

* ``Spectrum.x`` -> axis 0 (X of every spectrum, points or bin edges) with its unit set by ID
  through Mantid's unit factory (``DeltaE``, ``MomentumTransfer``, ...; ``Label`` with caption
  and symbol);
* ``Spectrum.vertical`` -> axis 1: Mantid's default spectrum-number axis, a ``NumericAxis``
  (one value per spectrum), a ``BinEdgeAxis`` (n + 1 edges) or a ``TextAxis`` (labels);
* values / errors -> Y / E, ``distribution`` -> the Distribution flag, ``y_unit`` /
  ``y_unit_label`` -> YUnit / YUnitLabel, ``title`` -> the title (which Mantid keeps as the
  sample log ``run_title`` as well; that log is not read back among the logs), ``logs`` ->
  sample logs (``Run.addProperty`` of the values :func:`~.values.log_property` makes: Python
  numbers and strings, explicit array properties, booleans as 0/1).

A TableWorkspace has no sample logs and no column units in Mantid's Python API, so a Table's
``units`` and ``logs`` travel as JSON in the workspace comment (``Workspace.setComment``),
which Workbench shows in the workspace's properties and which :func:`workspace_to_table` reads.

This module imports Mantid; nothing outside ``mantid_mdinsim.mantid`` and ``algorithms/`` may.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import numpy as np
from mantid.api import (AnalysisDataService, BinEdgeAxis, ITableWorkspace, MatrixWorkspace,
                        NumericAxis, TextAxis, WorkspaceFactory, WorkspaceGroup)

from ..spectrum import UNIT_LABEL, UNIT_SPECTRUM_NUMBER, Axis, Spectrum, Table
from .values import log_property, table_cell, table_column_type

#: Key of the JSON document a Table stores in its workspace comment.
TABLE_COMMENT_KEY = "mdinsim_table"


# -- logs ------------------------------------------------------------------------------------

def add_sample_logs(workspace: MatrixWorkspace, logs: dict[str, Any]) -> None:
    """Add (or replace) sample logs on a MatrixWorkspace."""
    run = workspace.getRun()
    for name, value in logs.items():
        run.addProperty(str(name), log_property(str(name), value), True)


#: The sample log in which Mantid keeps a MatrixWorkspace's title (MatrixWorkspace::setTitle adds
#: or replaces it, getTitle reads it; Framework/API/src/MatrixWorkspace.cpp).
TITLE_LOG = "run_title"


def sample_logs(workspace: MatrixWorkspace) -> dict[str, Any]:
    """The sample logs of a MatrixWorkspace by name (arrays as numpy arrays), less the title's
    own log (the title is read with ``getTitle``)."""
    run = workspace.getRun()
    logs: dict[str, Any] = {}
    for name in run.keys():
        if name == TITLE_LOG:
            continue
        value = run.getProperty(name).value
        logs[name] = np.asarray(value) if isinstance(value, (list, np.ndarray)) else value
    return logs


# -- Spectrum <-> Workspace2D ----------------------------------------------------------------

def _set_unit(axis, spectrum_axis: Axis) -> None:
    axis.setUnit(spectrum_axis.unit)
    if spectrum_axis.unit == UNIT_LABEL:
        # Only the Label unit carries a free caption and symbol (kernel Units.cpp).
        axis.getUnit().setLabel(spectrum_axis.caption, spectrum_axis.label)


def spectrum_to_workspace(spectrum: Spectrum) -> MatrixWorkspace:
    """A new Workspace2D holding ``spectrum`` (not added to the analysis data service)."""
    n_spectra, n_x = spectrum.values.shape
    workspace = WorkspaceFactory.create("Workspace2D", NVectors=n_spectra,
                                        XLength=len(spectrum.x), YLength=n_x)
    x = spectrum.x.values
    for index in range(n_spectra):
        workspace.setX(index, x)
        workspace.setY(index, spectrum.values[index])
        workspace.setE(index, spectrum.errors[index])
    _set_unit(workspace.getAxis(0), spectrum.x)
    vertical = spectrum.vertical
    if vertical.is_text:
        axis = TextAxis.create(n_spectra)
        for index, label in enumerate(vertical.labels):
            axis.setLabel(index, label)
        workspace.replaceAxis(1, axis)
    elif vertical.unit != UNIT_SPECTRUM_NUMBER:
        length = len(vertical)
        axis = BinEdgeAxis.create(length) if length == n_spectra + 1 else NumericAxis.create(length)
        for index, value in enumerate(vertical.values):
            axis.setValue(index, float(value))
        # replaceAxis stores a clone: set the unit on the workspace's own axis afterwards.
        workspace.replaceAxis(1, axis)
        _set_unit(workspace.getAxis(1), vertical)
    workspace.setDistribution(bool(spectrum.distribution))
    workspace.setYUnit(spectrum.y_unit)
    if spectrum.y_unit_label:
        workspace.setYUnitLabel(spectrum.y_unit_label)
    add_sample_logs(workspace, spectrum.logs)
    # After the logs: setTitle writes the "run_title" log, which getTitle reads, so a stale
    # "run_title" among the logs cannot replace the title.
    if spectrum.title:
        workspace.setTitle(spectrum.title)
    return workspace


def _axis_from_workspace(axis, values: np.ndarray | None = None) -> Axis:
    unit = axis.getUnit()
    unit_id = unit.unitID()
    result = Axis(values=axis.extractValues() if values is None else values, unit=unit_id)
    if unit_id == UNIT_LABEL:
        result.caption = unit.caption()
        result.label = str(unit.symbol())
    return result


def _custom_y_unit_label(workspace: MatrixWorkspace) -> str:
    """The Y label set with setYUnitLabel, "" for none. Without one, Mantid's YUnitLabel() is
    made from YUnit, with " per <X unit label>" for a distribution
    (MatrixWorkspace::YUnitLabel, Framework/API/src/MatrixWorkspace.cpp); reading that back as
    the label would give a distribution's label a second " per meV" on each round trip."""
    label = workspace.YUnitLabel()
    made = workspace.YUnit()
    x_label = workspace.getAxis(0).getUnit().symbol().ascii()
    if workspace.isDistribution() and x_label:
        made += f" per {x_label}"
    return "" if label == made else label


def workspace_to_spectrum(workspace: MatrixWorkspace) -> Spectrum:
    """The Spectrum of a Workspace2D whose spectra share one X axis.

    Raises ValueError for ragged X (different X per spectrum): rebin first (Mantid's Rebin).
    """
    x_all = np.asarray(workspace.extractX())
    if not np.allclose(x_all, x_all[0], rtol=1e-12, atol=0.0):
        raise ValueError(f"workspace '{workspace.name()}' has different X values in different "
                         "spectra; mdinsim needs one common X axis (use Mantid's Rebin first)")
    x = _axis_from_workspace(workspace.getAxis(0), x_all[0])
    vertical_axis = workspace.getAxis(1)
    if vertical_axis.isSpectra():
        vertical = None
    elif vertical_axis.isText():
        vertical = Axis(labels=[vertical_axis.label(i) for i in range(vertical_axis.length())])
    else:
        vertical = _axis_from_workspace(vertical_axis)
    return Spectrum(x=x, values=np.asarray(workspace.extractY()),
                    errors=np.asarray(workspace.extractE()), vertical=vertical,
                    distribution=bool(workspace.isDistribution()), y_unit=workspace.YUnit(),
                    y_unit_label=_custom_y_unit_label(workspace), title=workspace.getTitle(),
                    name=workspace.name(), logs=sample_logs(workspace))


# -- Table <-> TableWorkspace ----------------------------------------------------------------

def _json_ready(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def table_to_workspace(table: Table) -> ITableWorkspace:
    """A new TableWorkspace holding ``table`` (units and logs in its comment as JSON)."""
    workspace = WorkspaceFactory.createTable("TableWorkspace")
    kinds = []
    for name, column in table.columns.items():
        kind = table_column_type(column)
        kinds.append(kind)
        # Mantid logs a refused column and returns False (TableWorkspace::addColumn).
        if not workspace.addColumn(kind, str(name)):
            raise RuntimeError(f"Mantid refused the {kind} column '{name}' of table "
                               f"'{table.name or table.title}'")
    columns = list(table.columns.values())
    for row in range(table.n_rows):
        workspace.addRow([table_cell(kind, column[row]) for kind, column in zip(kinds, columns)])
    if table.title:
        workspace.setTitle(table.title)
    document = {TABLE_COMMENT_KEY: {"units": dict(table.units),
                                    "logs": {k: _json_ready(v) for k, v in table.logs.items()}}}
    workspace.setComment(json.dumps(document))
    return workspace


def workspace_to_table(workspace: ITableWorkspace) -> Table:
    """The Table of a TableWorkspace (numeric columns as numpy arrays)."""
    columns: dict[str, Any] = {}
    for name in workspace.getColumnNames():
        values = list(workspace.column(name))
        array = np.asarray(values)
        columns[str(name)] = array if array.dtype.kind in "biuf" else [str(v) for v in values]
    units: dict[str, str] = {}
    logs: dict[str, Any] = {}
    try:
        document = json.loads(workspace.getComment() or "{}").get(TABLE_COMMENT_KEY, {})
    except (ValueError, AttributeError):
        document = {}
    units = dict(document.get("units", {}))
    for key, value in document.get("logs", {}).items():
        logs[key] = np.asarray(value) if isinstance(value, list) else value
    return Table(columns=columns, units=units, title=workspace.getTitle(),
                 name=workspace.name(), logs=logs)


# -- any, and groups -------------------------------------------------------------------------

def to_workspace(item: Spectrum | Table):
    """The workspace of a Spectrum or a Table."""
    if isinstance(item, Spectrum):
        return spectrum_to_workspace(item)
    if isinstance(item, Table):
        return table_to_workspace(item)
    raise TypeError(f"cannot make a workspace from {type(item).__name__}")


def from_workspace(workspace) -> Spectrum | Table | list:
    """The Spectrum, Table or (for a group) list of them held by a workspace."""
    if isinstance(workspace, WorkspaceGroup):
        return [from_workspace(workspace.getItem(i))
                for i in range(workspace.getNumberOfEntries())]
    if isinstance(workspace, ITableWorkspace):
        return workspace_to_table(workspace)
    if isinstance(workspace, MatrixWorkspace):
        return workspace_to_spectrum(workspace)
    raise TypeError(f"mdinsim reads Workspace2D, TableWorkspace and WorkspaceGroup, not "
                    f"{type(workspace).__name__}")


def member_names(group_name: str, items: Sequence[Spectrum | Table]) -> list[str]:
    """Predictable member names, as Abins makes them: ``<group>_<item name>`` (or the index)."""
    names = []
    for index, item in enumerate(items, start=1):
        suffix = item.name or str(index)
        name = f"{group_name}_{suffix}" if group_name else suffix
        names.append("".join(c if c.isalnum() or c == "_" else "_" for c in name))
    return names


def make_group(items: Iterable[Spectrum | Table], group_name: str = "",
               add_members: bool = True) -> WorkspaceGroup:
    """A WorkspaceGroup of new workspaces. With ``add_members`` (top-level algorithms) the
    members are added to the analysis data service as ``<group>_<name>`` first, so that they
    keep those names when the group is stored."""
    items = list(items)
    group = WorkspaceGroup()
    for item, name in zip(items, member_names(group_name, items)):
        workspace = to_workspace(item)
        if add_members and group_name:
            AnalysisDataService.addOrReplace(name, workspace)
        group.addWorkspace(workspace)
    return group
