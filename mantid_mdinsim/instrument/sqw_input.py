"""The S(|Q|, w) the instrument step reads: from a processed NeXus file or a Spectrum,
checked and put on a regular grid (:class:`SqwGrid`), and refused where its records say it
must not be used (an instrument's output already; quantum corrections on a harmonic S).

Energy transfer w in meV on X, |Q| in 1/Angstrom on the vertical axis, values per meV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InputFileError, ParameterError
from ..io.nexus import load_processed_nexus
from ..spectrum import UNIT_DELTA_E, UNIT_MOMENTUM_TRANSFER, Axis, Spectrum
from .parameters import STEP_NAME, InstrumentSettings

#: How an S(|Q|,w) given without a file or a name is named in messages.
_UNNAMED = "the S(|Q|,w) given (a Spectrum without a name)"



def source_of(sqw: Spectrum) -> str:
    """How messages name an input given as a Spectrum: its workspace name where it has one."""
    return f"workspace '{sqw.name}'" if getattr(sqw, "name", "") else _UNNAMED


# --------------------------------------------------------------------------------------------
@dataclass
class SqwGrid:
    """S(|Q|, w) on a regular energy grid: ``values[i_q, i_energy]`` per meV.

    Edges and centres in 1/Angstrom (|Q|) and meV (w).
    """

    q_edges: np.ndarray
    energy_edges: np.ndarray
    values: np.ndarray
    errors: np.ndarray
    name: str = ""
    title: str = ""
    logs: dict[str, Any] = field(default_factory=dict)
    source: str = _UNNAMED

    @property
    def q_centres(self) -> np.ndarray:
        return 0.5 * (self.q_edges[1:] + self.q_edges[:-1])

    @property
    def energy_centres(self) -> np.ndarray:
        return 0.5 * (self.energy_edges[1:] + self.energy_edges[:-1])

    @property
    def energy_bin_width(self) -> float:
        return float(self.energy_edges[1] - self.energy_edges[0])



def _edges_from_axis(values: np.ndarray, n: int, what: str, source: str) -> np.ndarray:
    """Bin edges from an axis holding n + 1 edges or n points (mid-points, ends mirrored)."""
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)):
        raise InputFileError(source, f"the {what} axis holds non-finite values",
                             where=f"{what} axis")
    if np.any(np.diff(values) <= 0):
        raise InputFileError(source, f"the {what} axis is not strictly increasing",
                             where=f"{what} axis", fix="sort the data by increasing " + what)
    if len(values) == n + 1:
        return values
    middle = 0.5 * (values[1:] + values[:-1])
    return np.concatenate(([values[0] - (middle[0] - values[0])], middle,
                           [values[-1] + (values[-1] - middle[-1])]))



def sqw_grid_from_spectrum(sqw: Spectrum, source: str | Path | None = None) -> SqwGrid:
    """Check a :class:`Spectrum` holding S(|Q|, w) and put it on a :class:`SqwGrid`.

    Accepted: X in ``DeltaE`` (meV) with a numeric ``MomentumTransfer`` vertical axis (mdinsim
    sqw's and Mantid SofQW's layout), or the transpose (|Q| on X, energy vertical, as Abins2D
    writes). Points or bin edges on either axis. A non-distribution histogram (intensity per
    bin) is divided by the energy bin widths. The energy bins must be equally spaced (the
    resolution convolution needs it) and all values finite, except whole |Q| rows that are NaN
    (empty shells of mdinsim sqw's average), which are left out and bridged by interpolation.
    """
    source = str(source) if source is not None else source_of(sqw)
    fix_layout = ("give S(|Q|,w) with energy transfer (DeltaE, meV) on X and |Q| "
                  "(MomentumTransfer, 1/Angstrom) as the vertical axis, e.g. mdinsim sqw's "
                  "output or Mantid's SofQW")
    x_unit, vertical = sqw.x.unit, sqw.vertical
    values, errors = sqw.values, sqw.errors
    if vertical is None or vertical.is_text:
        raise InputFileError(source, "the vertical axis holds text labels, not |Q|",
                             where="vertical axis", fix=fix_layout)
    if x_unit == UNIT_DELTA_E and vertical.unit == UNIT_MOMENTUM_TRANSFER:
        energy_axis_values, q_axis_values = sqw.x.values, vertical.values
        distribution = sqw.distribution
    elif x_unit == UNIT_MOMENTUM_TRANSFER and vertical.unit == UNIT_DELTA_E:
        energy_axis_values, q_axis_values = vertical.values, sqw.x.values
        values, errors = values.T, errors.T
        distribution = True  # a vertical energy axis carries no per-bin normalisation flag
    else:
        raise InputFileError(source, f"axes are X '{x_unit}' and vertical '{vertical.unit}', "
                             "not energy transfer and |Q|", where="axes units", fix=fix_layout)
    # Empty |Q| shells (whole rows NaN: mdinsim sqw found no q-point near them) are left out,
    # so that the instrument interpolates between the neighbouring shells that hold data; the
    # |Q| axis is then rebuilt from the remaining shell centres.
    empty_rows = ~np.any(np.isfinite(values), axis=1)
    n_empty = int(np.count_nonzero(empty_rows))
    if n_empty:
        q_centres_all = Axis(values=q_axis_values, unit=UNIT_MOMENTUM_TRANSFER).centres(
            values.shape[0])
        values, errors = values[~empty_rows], errors[~empty_rows]
        q_axis_values = q_centres_all[~empty_rows]
    n_q, n_energy = values.shape
    if n_q < 2 or n_energy < 2:
        raise InputFileError(source, f"S(|Q|,w) has {n_q} |Q| x {n_energy} energy values",
                             where="values", fix="give at least two |Q| and two energy values")
    if np.min(q_axis_values) < -1e-9 * max(1.0, float(np.max(q_axis_values))):
        raise InputFileError(source, f"|Q| starts at {np.min(q_axis_values):g} 1/Angstrom",
                             where="|Q| axis", fix="|Q| is a magnitude: give values >= 0")
    q_edges = _edges_from_axis(q_axis_values, n_q, "|Q|", source)
    energy_edges = _edges_from_axis(energy_axis_values, n_energy, "energy transfer", source)
    # The first edge made from points (a shell at or near |Q| = 0) is clipped to 0.
    q_edges = np.maximum(q_edges, 0.0)
    widths = np.diff(energy_edges)
    if not np.allclose(widths, widths[0], rtol=1e-4, atol=0.0):
        raise InputFileError(source, f"energy bins are not equally spaced (widths "
                             f"{widths.min():g} to {widths.max():g} meV)",
                             where="energy transfer axis",
                             fix="rebin to equal energy bins (Mantid Rebin) before applying an "
                                 "instrument")
    bad = ~np.isfinite(values)
    if np.any(bad):
        i_q, i_energy = np.argwhere(bad)[0]
        q_centres = 0.5 * (q_edges[1:] + q_edges[:-1])
        energy_centres = 0.5 * (energy_edges[1:] + energy_edges[:-1])
        raise InputFileError(source, f"{int(bad.sum())} values are not finite (first at |Q| = "
                             f"{q_centres[i_q]:g} 1/Angstrom, w = {energy_centres[i_energy]:g} "
                             "meV)", where="values",
                             fix="replace them (Mantid ReplaceSpecialValues) or recompute S "
                                 "with more q-points in the empty |Q| shells")
    values = np.array(values, dtype=float)
    errors = np.array(errors, dtype=float)
    if not distribution and len(sqw.x) == sqw.n_x + 1:
        values /= widths
        errors /= widths
    logs = dict(sqw.logs)
    if n_empty:
        logs["empty_q_shells_left_out"] = n_empty
    return SqwGrid(q_edges=q_edges, energy_edges=energy_edges, values=values,
                   errors=np.nan_to_num(errors), name=sqw.name, title=sqw.title,
                   logs=logs, source=source)



def load_sqw(path: str | Path) -> Spectrum:
    """The S(|Q|, w) Spectrum in a processed NeXus file (the first 2-D workspace in it)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found",
                             fix="give the processed NeXus file written by mdinsim sqw or Mantid")
    workspaces = load_processed_nexus(path)
    spectra = [w for w in workspaces if isinstance(w, Spectrum)]
    if not spectra:
        raise InputFileError(path, "holds no 2D workspace (only tables)",
                             fix="give the S(|Q|,w) file written by mdinsim sqw or Mantid SofQW")
    # Prefer a workspace whose axes are energy and |Q|; else the first, whose error names the axes.
    for spectrum in spectra:
        units = {spectrum.x.unit, spectrum.vertical.unit if spectrum.vertical else None}
        if units == {UNIT_DELTA_E, UNIT_MOMENTUM_TRANSFER}:
            return spectrum
    return spectra[0]



#: ``mdinsim_step`` log of the harmonic step's spectra (quantum statistics, own Debye-Waller).
_HARMONIC_STEP = "MDHarmonic"


def check_not_harmonic(grid: SqwGrid, settings: InstrumentSettings) -> None:
    """Refuse eq. 6 and Debye-Waller changes on a harmonic S: it has quantum statistics (Bose
    factors) and its own Debye-Waller factor already, and its 'temperature_k' log would
    otherwise switch the quantum correction on silently."""
    if grid.logs.get("mdinsim_step") != _HARMONIC_STEP:
        return
    if settings.quantum_correction:
        raise ParameterError("quantum_correction", f"{grid.source} holds a harmonic S(|Q|,w) "
                             "(mdinsim harmonic), which has quantum statistics already: the "
                             "quantum correction of eq. 6 would apply them twice",
                             "give --no-quantum-correction (as mdinsim harmonic --instrument "
                             "does)")
    if settings.debye_waller != "none":
        raise ParameterError("debye_waller", f"{grid.source} holds a harmonic S(|Q|,w) "
                             "(mdinsim harmonic), which has its own Debye-Waller factor",
                             "leave --debye-waller at none")



def check_not_applied(logs: Mapping[str, Any], source: str,
                       settings: InstrumentSettings) -> None:
    """Refuse an input that is an instrument's output already (its logs say so): resolution,
    quantum correction and kinematics would be applied twice, without a word."""
    if settings.override_provenance or logs.get("mdinsim_step") != STEP_NAME:
        return
    quantum = "on" if logs.get("quantum_correction_applied") else "off"
    raise InputFileError(source, f"is the output of {STEP_NAME} (instrument "
                         f"{logs.get('instrument', 'unknown')}, resolution "
                         f"'{logs.get('resolution_model_used', 'unknown')}', quantum "
                         f"correction {quantum}): applying an instrument again would apply "
                         "them twice",
                         where="log mdinsim_step",
                         fix="give the S(|Q|,w) of mdinsim sqw (or mdinsim harmonic), or "
                             "--override-provenance to apply it again on purpose")
