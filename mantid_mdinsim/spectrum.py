"""The data objects that flow between steps, and their one-to-one map onto Mantid workspaces.

* :class:`Axis`: a numeric axis with a Mantid unit ID (``DeltaE``, ``MomentumTransfer``), or a
  text axis (labels).
* :class:`Spectrum`: a Workspace2D. ``values[i, j]`` is spectrum ``i`` (row; the vertical axis)
  at X point/bin ``j`` (the horizontal axis, usually energy transfer in meV). X holds points
  (``n_x`` values) or bin edges (``n_x + 1``), exactly as Mantid's X does; the same holds for a
  numeric vertical axis (Mantid's NumericAxis or BinEdgeAxis).
* :class:`Table`: a TableWorkspace (named columns of equal length, with units).

Conventions (Mantid's): energy transfer is positive for neutron energy loss (``DeltaE``);
``distribution=True`` means the values are already per unit X (S(Q,w) in 1/meV), which is what
Mantid's SofQW gives for reduced data and how Workspace2D marks it.

These objects are written to and read from Mantid's processed NeXus format by
``mantid_mdinsim.io.nexus`` and converted to workspaces by ``mantid_mdinsim.mantid``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Mantid unit IDs (Framework/Kernel/src/Unit.cpp) used by this package.
UNIT_DELTA_E = "DeltaE"                  # energy transfer, meV
UNIT_DELTA_E_WAVENUMBER = "DeltaE_inWavenumber"  # energy transfer, cm^-1
UNIT_ENERGY = "Energy"                   # neutron energy, meV
UNIT_MOMENTUM_TRANSFER = "MomentumTransfer"      # |Q|, 1/Angstrom
UNIT_TIME = "Time"                       # time, in Mantid's "Time" unit
UNIT_LABEL = "Label"                     # a free caption/label pair (unit text given by the user)
UNIT_EMPTY = "Empty"
UNIT_SPECTRUM_NUMBER = "spectraNumber"   # the default vertical axis of a Workspace2D
UNIT_TEXT = "Text"                       # marks a text axis (labels instead of numbers)

#: Human-readable unit of each Mantid unit ID, for plots and messages.
UNIT_SYMBOLS = {
    UNIT_DELTA_E: "meV",
    UNIT_DELTA_E_WAVENUMBER: "1/cm",
    UNIT_ENERGY: "meV",
    UNIT_MOMENTUM_TRANSFER: "1/Angstrom",
    UNIT_EMPTY: "",
    UNIT_SPECTRUM_NUMBER: "",
}
UNIT_CAPTIONS = {
    UNIT_DELTA_E: "Energy transfer",
    UNIT_DELTA_E_WAVENUMBER: "Energy transfer",
    UNIT_ENERGY: "Energy",
    UNIT_MOMENTUM_TRANSFER: "|Q|",
    UNIT_SPECTRUM_NUMBER: "Spectrum",
}


@dataclass
class Axis:
    """One axis of a workspace.

    ``values`` (numeric axis) or ``labels`` (text axis), never both. ``unit`` is a Mantid unit
    ID; for ``UNIT_LABEL`` the ``caption`` and ``label`` give the quantity and its unit text.
    """

    values: np.ndarray | None = None
    unit: str = UNIT_EMPTY
    labels: list[str] | None = None
    caption: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if (self.values is None) == (self.labels is None):
            raise ValueError("an Axis has numeric values or text labels, exactly one of them")
        if self.values is not None:
            self.values = np.asarray(self.values, dtype=float)
            if self.values.ndim != 1:
                raise ValueError("axis values must be one-dimensional")
        else:
            self.labels = [str(label) for label in self.labels]
            self.unit = UNIT_TEXT

    @property
    def is_text(self) -> bool:
        return self.labels is not None

    def __len__(self) -> int:
        return len(self.labels) if self.labels is not None else len(self.values)

    @property
    def symbol(self) -> str:
        """The unit as text for plots (``meV``, ``1/Angstrom``)."""
        if self.unit == UNIT_LABEL:
            return self.label
        return UNIT_SYMBOLS.get(self.unit, self.unit)

    @property
    def title(self) -> str:
        """Axis title for plots, e.g. ``Energy transfer (meV)``."""
        caption = self.caption or UNIT_CAPTIONS.get(self.unit, self.unit)
        return f"{caption} ({self.symbol})" if self.symbol else caption

    def centres(self, n_points: int) -> np.ndarray:
        """Point values for ``n_points`` data points (bin centres where the axis holds edges)."""
        if self.values is None:
            raise ValueError("a text axis has no numeric centres")
        if len(self.values) == n_points + 1:
            return 0.5 * (self.values[1:] + self.values[:-1])
        if len(self.values) == n_points:
            return self.values.copy()
        raise ValueError(f"axis of length {len(self.values)} does not fit {n_points} points")

    def copy(self) -> "Axis":
        return Axis(values=None if self.values is None else self.values.copy(), unit=self.unit,
                    labels=None if self.labels is None else list(self.labels),
                    caption=self.caption, label=self.label)


def energy_axis(energy_mev: np.ndarray) -> Axis:
    """An energy-transfer axis (Mantid ``DeltaE``, meV; positive = neutron energy loss)."""
    return Axis(values=energy_mev, unit=UNIT_DELTA_E)


def momentum_axis(q_magnitude_inv_angstrom: np.ndarray) -> Axis:
    """A |Q| axis (Mantid ``MomentumTransfer``, 1/Angstrom)."""
    return Axis(values=q_magnitude_inv_angstrom, unit=UNIT_MOMENTUM_TRANSFER)


def text_axis(labels: list[str]) -> Axis:
    return Axis(labels=labels)


LogValue = Any  # str, int, float, bool, or a 1-D numpy array (a time-series-like log)


@dataclass
class Spectrum:
    """A Workspace2D: ``values[i_spectrum, i_x]`` with errors, two axes and sample logs.

    Attributes
    ----------
    x
        Horizontal axis, usually energy transfer in meV (``DeltaE``); points or bin edges.
    values
        Shape ``(n_spectra, n_x)``. A 1-D array is taken as one spectrum.
    errors
        Standard errors, same shape (zeros when unknown).
    vertical
        Vertical axis with one value per spectrum (or ``n_spectra + 1`` bin edges), or labels.
        ``None`` gives Mantid's default spectrum-number axis.
    distribution
        Values are per unit X (Mantid's Distribution flag).
    y_unit, y_unit_label
        Mantid's YUnit and YUnitLabel (for example ``"Arbitrary Units"``, ``"S(Q,w) (1/meV)"``).
    title, name
        Workspace title and name.
    logs
        Sample logs: parameters and provenance, by name.
    """

    x: Axis
    values: np.ndarray
    errors: np.ndarray | None = None
    vertical: Axis | None = None
    distribution: bool = True
    y_unit: str = "Arbitrary Units"
    y_unit_label: str = ""
    title: str = ""
    name: str = ""
    logs: dict[str, LogValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.atleast_2d(np.asarray(self.values, dtype=float))
        if self.errors is None:
            self.errors = np.zeros_like(self.values)
        else:
            self.errors = np.atleast_2d(np.asarray(self.errors, dtype=float))
        if self.errors.shape != self.values.shape:
            raise ValueError(f"errors shape {self.errors.shape} differs from values shape "
                             f"{self.values.shape}")
        n_spectra, n_x = self.values.shape
        if len(self.x) not in (n_x, n_x + 1):
            raise ValueError(f"X axis has {len(self.x)} values for {n_x} data points per "
                             "spectrum (expected points or bin edges)")
        if self.vertical is None:
            self.vertical = Axis(values=np.arange(1, n_spectra + 1, dtype=float),
                                 unit=UNIT_SPECTRUM_NUMBER)
        allowed = (n_spectra,) if self.vertical.is_text else (n_spectra, n_spectra + 1)
        if len(self.vertical) not in allowed:
            raise ValueError(f"vertical axis has {len(self.vertical)} entries for {n_spectra} "
                             "spectra")

    # -- shape helpers -----------------------------------------------------------------------
    @property
    def n_spectra(self) -> int:
        return self.values.shape[0]

    @property
    def n_x(self) -> int:
        return self.values.shape[1]

    @property
    def is_histogram(self) -> bool:
        """X holds bin edges (Mantid histogram data) rather than points."""
        return len(self.x) == self.n_x + 1

    def x_centres(self) -> np.ndarray:
        return self.x.centres(self.n_x)

    def vertical_centres(self) -> np.ndarray:
        return self.vertical.centres(self.n_spectra)

    def copy(self, **changes: Any) -> "Spectrum":
        """A deep copy, with the given attributes replaced."""
        fields = dict(x=self.x.copy(), values=self.values.copy(), errors=self.errors.copy(),
                      vertical=self.vertical.copy(), distribution=self.distribution,
                      y_unit=self.y_unit, y_unit_label=self.y_unit_label, title=self.title,
                      name=self.name, logs=dict(self.logs))
        fields.update(changes)
        return Spectrum(**fields)


@dataclass
class Table:
    """A TableWorkspace: named columns of equal length, each with an optional unit."""

    columns: dict[str, np.ndarray | list]
    units: dict[str, str] = field(default_factory=dict)
    title: str = ""
    name: str = ""
    logs: dict[str, LogValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        lengths = {name: len(column) for name, column in self.columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"table columns differ in length: {lengths}")

    @property
    def n_rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


Workspace = Spectrum | Table
