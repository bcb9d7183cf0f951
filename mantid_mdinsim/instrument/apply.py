"""MDApplyInstrument's core: what a spectrometer would measure, given a simulated S(|Q|, w).

Order of operations (each step's physics is in its module):

1. Read the S(|Q|, w) grid (:func:`sqw_grid_from_spectrum`): energy transfer w (meV) on X,
   |Q| (1/Angstrom) on the vertical axis, values per meV.
2. Energy grid: keep only w that neutrons can give (w < Ei in direct geometry, w > -Ef in
   indirect), extended to energy gain (w < 0) by detailed balance where the input is one-sided
   and the output asks for it.
3. Corrections on the true S (:mod:`.corrections`): quantum correction (eq. 6), Debye-Waller,
   1/|Q|^2, w^2, each a switch recorded in the logs.
4. Direct geometry: energy resolution along w at each |Q| (:mod:`.resolution`), then the
   kinematic mask (:mod:`.kinematics`): the 2D result in Mantid's SofQW layout.
   Indirect geometry: S sampled along each bank's |Q|(w) line, resolution applied to each bank
   spectrum, banks combined as the instrument does: 1D results in AbINS' layout.

Broadening at fixed |Q| (direct geometry) is the usual 1-D approximation of a resolution that
is really four-dimensional (paper section 2.3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..approximation import LOG_NAME as APPROXIMATION_LOG
from ..approximation import approximation_of
from ..errors import InputFileError, ParameterError
from ..io.nexus import load_processed_nexus, save_processed_nexus
from ..progress import ProgressReporter, ensure_progress
from ..provenance import log_value, provenance_logs
from ..spectrum import (UNIT_DELTA_E, UNIT_MOMENTUM_TRANSFER, Axis, Spectrum, Table, energy_axis,
                        momentum_axis)
from . import corrections
from .instruments import DirectGeometryInstrument, IndirectGeometryInstrument, RunSettings
from .kinematics import sample_along_line
from .parameters import CORE_PARAMETERS, FILE_PARAMETER_NAMES
from .registry import get_instrument
from .resolution import ResolutionModel, broaden_energy_axis

STEP_NAME = "MDApplyInstrument"

#: Mantid's SofQW output (Framework/Algorithms/src/SofQW.cpp setUpOutputWorkspace).
SOFQW_Y_UNIT = ""
SOFQW_Y_UNIT_LABEL = "Intensity"
#: AbINS' 1D output (scripts/abins/abinsalgorithm.py set_workspace_units, layout '1D').
ABINS_Y_UNIT = "Arbitrary Units"
ABINS_Y_UNIT_LABEL = "S / Arbitrary Units"

#: How an S(|Q|,w) given without a file or a name is named in messages.
_UNNAMED = "the S(|Q|,w) given (a Spectrum without a name)"


def _source_of(sqw: Spectrum) -> str:
    """How messages name an input given as a Spectrum: its workspace name where it has one."""
    return f"workspace '{sqw.name}'" if getattr(sqw, "name", "") else _UNNAMED


# --------------------------------------------------------------------------------------------
# Input
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
    source = str(source) if source is not None else _source_of(sqw)
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


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------
@dataclass
class InstrumentResult:
    """What the instrument measures.

    Attributes
    ----------
    spectrum
        Direct geometry: 2D S(|Q|, w) in Mantid SofQW's layout (X energy-transfer bin edges,
        ``DeltaE``; vertical |Q| bin edges, ``MomentumTransfer``; per meV, unreachable bins NaN
        or 0). Indirect geometry: the instrument's 1D S(w) (banks combined) in AbINS' layout
        (X energy-transfer bin edges in meV, intensity per bin, ``S / Arbitrary Units``).
    banks
        Indirect geometry: one 1D spectrum per analyser bank, same layout; empty otherwise.
    resolution
        Table of the Gaussian width used at each output energy (meV), or None.
    run
        The validated instrument configuration.
    """

    spectrum: Spectrum
    banks: dict[str, Spectrum]
    resolution: Table | None
    run: RunSettings

    def workspaces(self, include_tables: bool = True) -> list[Spectrum | Table]:
        """The instrument spectrum, then each bank, then the resolution table."""
        items: list[Spectrum | Table] = [self.spectrum, *self.banks.values()]
        if include_tables and self.resolution is not None:
            items.append(self.resolution)
        return items

    def save(self, path: str | Path) -> Path:
        """Write all workspaces to one processed NeXus file (atomically: nothing half-written);
        Mantid loads it as a WorkspaceGroup."""
        return save_processed_nexus(Path(path), self.workspaces())

    def save_plot(self, path: str | Path) -> Path:
        """A PNG of the result (atomically): the 2D map (direct geometry) or the instrument and
        bank spectra (indirect geometry)."""
        from ..plotting import save_plot  # matplotlib takes seconds; only a plot needs it

        return save_plot(self.workspaces(include_tables=False), Path(path),
                         title=self.spectrum.title)


# --------------------------------------------------------------------------------------------
# Core
# --------------------------------------------------------------------------------------------
def resolve_parameters(parameters: Mapping[str, Any] | None = None,
                       **kwargs: Any) -> dict[str, Any]:
    """Validated core parameters; file parameters (input/output paths) are dropped.

    The instrument name may be given in any case or as an alias (``Lagrange``).
    """
    given = dict(parameters or {})
    given.update(kwargs)
    for name in FILE_PARAMETER_NAMES:
        given.pop(name, None)
    return CORE_PARAMETERS.resolve(given)


def apply_instrument(sqw: Spectrum | SqwGrid, parameters: Mapping[str, Any] | None = None,
                     progress: ProgressReporter | None = None, *,
                     source: str | Path | None = None, **kwargs: Any) -> InstrumentResult:
    """Apply an instrument (kinematics, resolution, corrections) to a simulated S(|Q|, w).

    Parameters
    ----------
    sqw
        S(|Q|, w): energy transfer (meV, ``DeltaE``) on X, |Q| (1/Angstrom,
        ``MomentumTransfer``) vertical, values per meV (see :func:`sqw_grid_from_spectrum`).
    parameters
        By name, as defined in :data:`~mantid_mdinsim.instrument.parameters.CORE_PARAMETERS`
        (``instrument`` is required); keyword arguments are merged in.
    progress
        Reports progress and checks for cancellation between stages.
    source
        The file (or workspace) ``sqw`` came from, as messages name it; default: the
        Spectrum's workspace name.

    Returns
    -------
    InstrumentResult
    """
    progress = ensure_progress(progress)
    params = resolve_parameters(parameters, **kwargs)
    instrument = get_instrument(params["instrument"])
    run = instrument.configure(params)
    if not isinstance(sqw, SqwGrid):
        # Before the grid's checks, which would otherwise complain of the masked bins.
        _check_not_applied(sqw.logs, str(source) if source else _source_of(sqw), params)
    grid = sqw if isinstance(sqw, SqwGrid) else sqw_grid_from_spectrum(sqw, source)
    _check_not_harmonic(grid, params)
    _check_not_applied(grid.logs, grid.source, params)
    progress.report(0.05, "input checked")

    resolution_model: ResolutionModel | None = None
    if params["resolution"] == "instrument":
        resolution_model = instrument.resolution(run, params["resolution_model"])
    elif params["resolution_model"]:
        raise ParameterError("resolution_model", f"'{params['resolution_model']}' is given, but "
                             "--resolution none applies no resolution",
                             "leave --resolution-model out, or give --resolution instrument")

    output_range = _output_energy_range(grid, run, params)
    temperature_k, temperature_source = _temperature(grid, params)
    working, extended = _working_grid(grid, run, params, output_range, resolution_model,
                                      temperature_k)
    progress.report(0.15, "energy grid prepared")

    extra_logs = _apply_corrections(working, params, temperature_k)
    progress.report(0.3, "corrections applied")

    if isinstance(instrument, DirectGeometryInstrument):
        spectrum, table = _direct(instrument, run, working, params, output_range,
                                  resolution_model, progress.sub(0.3, 0.95))
        banks: dict[str, Spectrum] = {}
    else:
        assert isinstance(instrument, IndirectGeometryInstrument)
        spectrum, banks, table = _indirect(run, working, output_range, resolution_model,
                                           progress.sub(0.3, 0.95), extra_logs)

    logs = _logs(grid, params, run, resolution_model, temperature_k, temperature_source,
                 extended, extra_logs, output_range)
    base = f"{grid.name or 'sqw'}_{instrument.name}"
    title = f"{instrument.name} prediction from {grid.title or grid.name or 'S(|Q|,w)'}"
    for item, name in [(spectrum, base), *[(b, f"{base}_{n.replace(' ', '_')}")
                                           for n, b in banks.items()]]:
        item.name, item.logs = name, dict(logs)
        item.title = title if item is spectrum else f"{title}, bank {name[len(base) + 1:]}"
    if table is not None:
        table.name, table.title = f"{base}_resolution", f"{title}: resolution"
        table.logs = dict(logs)
    progress.report(1.0, "done")
    return InstrumentResult(spectrum, banks, table, run)


def _output_energy_range(grid: SqwGrid, run: RunSettings,
                         params: Mapping[str, Any]) -> tuple[float, float]:
    """(min, max) energy transfer (meV) of the output, validated against input and instrument."""
    instrument = run.instrument
    low_inst, high_inst = run.energy_range_mev
    e_min, e_max = params["energy_min_mev"], params["energy_max_mev"]
    input_low, input_high = float(grid.energy_edges[0]), float(grid.energy_edges[-1])
    direct = isinstance(instrument, DirectGeometryInstrument)

    if e_max is not None:
        if direct and e_max > high_inst:
            raise ParameterError("energy_max_mev", f"{e_max:g} meV is beyond the incident "
                                 f"energy Ei = {high_inst:g} meV of {instrument.name}: no "
                                 "neutron can lose more than Ei",
                                 "give --energy-max below Ei, or raise --ei")
        if not direct and e_max > high_inst:
            raise ParameterError("energy_max_mev", f"{e_max:g} meV is beyond {instrument.name}'s "
                                 f"energy-transfer range {low_inst:g} to {high_inst:g} meV",
                                 "give --energy-max within that range")
        if e_max > input_high:
            raise ParameterError("energy_max_mev", f"{e_max:g} meV is beyond the input's energy "
                                 f"range (up to {input_high:g} meV)",
                                 "lower --energy-max or compute S(|Q|,w) to higher energies")
    else:
        e_max = min(input_high, high_inst)
    if e_min is not None:
        if not direct and e_min < low_inst:
            raise ParameterError("energy_min_mev", f"{e_min:g} meV is below {instrument.name}'s "
                                 f"energy-transfer range {low_inst:g} to {high_inst:g} meV",
                                 "give --energy-min within that range")
        if e_min < input_low and not _one_sided(grid):
            raise ParameterError("energy_min_mev", f"{e_min:g} meV is below the input's energy "
                                 f"range (from {input_low:g} meV)", "raise --energy-min")
        if e_min < input_low and e_min < -input_high:
            raise ParameterError("energy_min_mev", f"{e_min:g} meV: detailed balance can build "
                                 f"energy gain only down to -{input_high:g} meV from this input",
                                 "raise --energy-min")
        if e_min < input_low and not params["detailed_balance"]:
            raise ParameterError("energy_min_mev", f"{e_min:g} meV is below the input's energy "
                                 f"range (from {input_low:g} meV) and detailed balance is off",
                                 "raise --energy-min or switch on --detailed-balance")
    else:
        e_min = max(input_low, low_inst)
    if not e_min < e_max:
        raise ParameterError("energy_min_mev", f"the energy range {e_min:g} to {e_max:g} meV is "
                             f"empty (input {input_low:g} to {input_high:g} meV, "
                             f"{instrument.name} {low_inst:g} to {high_inst:g} meV)",
                             "choose --energy-min below --energy-max, within both ranges")
    return float(e_min), float(e_max)


def _one_sided(grid: SqwGrid) -> bool:
    """The input starts at w = 0 (lowest bin centre at or above 0): energy gain is missing."""
    return bool(grid.energy_centres[0] >= -1e-9 * grid.energy_bin_width)


#: ``mdinsim_step`` log of the harmonic step's spectra (quantum statistics, own Debye-Waller).
_HARMONIC_STEP = "MDHarmonic"


def _check_not_harmonic(grid: SqwGrid, params: Mapping[str, Any]) -> None:
    """Refuse eq. 6 and Debye-Waller changes on a harmonic S: it has quantum statistics (Bose
    factors) and its own Debye-Waller factor already, and its 'temperature_k' log would
    otherwise switch the quantum correction on silently."""
    if grid.logs.get("mdinsim_step") != _HARMONIC_STEP:
        return
    if params["quantum_correction"]:
        raise ParameterError("quantum_correction", f"{grid.source} holds a harmonic S(|Q|,w) "
                             "(mdinsim harmonic), which has quantum statistics already: the "
                             "quantum correction of eq. 6 would apply them twice",
                             "give --no-quantum-correction (as mdinsim harmonic --instrument "
                             "does)")
    if params["debye_waller"] != "none":
        raise ParameterError("debye_waller", f"{grid.source} holds a harmonic S(|Q|,w) "
                             "(mdinsim harmonic), which has its own Debye-Waller factor",
                             "leave --debye-waller at none")


def _check_not_applied(logs: Mapping[str, Any], source: str,
                       params: Mapping[str, Any]) -> None:
    """Refuse an input that is an instrument's output already (its logs say so): resolution,
    quantum correction and kinematics would be applied twice, without a word."""
    if params["override_provenance"] or logs.get("mdinsim_step") != STEP_NAME:
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


def _temperature(grid: SqwGrid, params: Mapping[str, Any]) -> tuple[float | None, str]:
    if params["temperature_k"] is not None:
        return float(params["temperature_k"]), "parameter"
    logged = grid.logs.get("temperature_k")
    if logged is None:
        return None, ""
    value = np.atleast_1d(np.asarray(logged, dtype=float))
    if value.size != 1 or not np.isfinite(value[0]) or value[0] <= 0:
        raise ParameterError("temperature_k", f"the input's 'temperature_k' log ({logged!r}) is "
                             "not one positive temperature", "give --temperature K")
    return float(value[0]), "input log temperature_k"


def _working_grid(grid: SqwGrid, run: RunSettings, params: Mapping[str, Any],
                  output_range: tuple[float, float], resolution: ResolutionModel | None,
                  temperature_k: float | None) -> tuple[SqwGrid, bool]:
    """The grid the physics works on: energies neutrons can give, energy gain added if asked.

    Bins beyond what the instrument's neutrons can exchange (w >= Ei; w <= -Ef) hold no
    scattering and are dropped before broadening; the rest of the input range is kept so that
    the broadening near the output's ends includes intensity from just outside them.
    """
    energy_edges = grid.energy_edges
    if isinstance(run.instrument, DirectGeometryInstrument):
        keep = energy_edges[1:] <= run.incident_energy_mev + 1e-9
    else:
        lowest_final = min(bank.final_energy_mev for bank in run.banks)
        keep = energy_edges[:-1] >= -lowest_final
    if not np.any(keep):
        raise ParameterError("energy_min_mev", "no input energy bin lies within what "
                             f"{run.instrument.name} can measure")
    first, last = np.flatnonzero(keep)[[0, -1]]
    working = SqwGrid(grid.q_edges, energy_edges[first:last + 2],
                      grid.values[:, first:last + 1].copy(),
                      grid.errors[:, first:last + 1].copy(), grid.name, grid.title, grid.logs,
                      grid.source)

    extended = False
    if output_range[0] < working.energy_edges[0] - 1e-9:
        if temperature_k is None:
            raise ParameterError("temperature_k", "a temperature is needed to build the "
                                 "energy-gain side by detailed balance", "give --temperature K")
        margin = 0.0
        if resolution is not None:
            margin = 4.0 * float(resolution.sigma_mev(np.array([0.0]))[0])
        target = max(output_range[0] - margin, -float(grid.energy_edges[-1]))
        working = _extend_to_energy_gain(working, target, temperature_k,
                                         params["quantum_correction"])
        extended = True
    if params["quantum_correction"] and temperature_k is None:
        raise ParameterError("temperature_k", "a temperature is needed for the quantum "
                             "correction", "give --temperature K (or switch the correction off "
                             "with --no-quantum-correction)")
    return working, extended


def _extend_to_energy_gain(grid: SqwGrid, target_min_mev: float, temperature_k: float,
                           input_is_classical: bool) -> SqwGrid:
    """Add energy-gain bins down to ``target_min_mev`` from the w >= 0 side.

    Classical input (quantum correction to follow): S(-|w|) = S(|w|); the correction then
    weights that side by exp(-beta hbar |w|) relative to the other. Quantum input:
    S(-|w|) = exp(-beta hbar |w|) S(|w|) directly.
    """
    width = grid.energy_bin_width
    n_extra = int(math.ceil((grid.energy_edges[0] - target_min_mev) / width - 1e-9))
    new_edges = grid.energy_edges[0] - width * np.arange(n_extra, 0, -1)
    new_centres = new_edges + 0.5 * width
    centres = grid.energy_centres
    # Linear interpolation at |w| on the existing (regular) centres; constant beyond the ends.
    position = np.clip((np.abs(new_centres) - centres[0]) / width, 0.0, len(centres) - 1.0)
    lower = np.minimum(position.astype(int), len(centres) - 2)
    fraction = position - lower
    mirrored = (1.0 - fraction) * grid.values[:, lower] + fraction * grid.values[:, lower + 1]
    mirrored_errors = np.hypot((1.0 - fraction) * grid.errors[:, lower],
                               fraction * grid.errors[:, lower + 1])
    if not input_is_classical:
        factor = corrections.detailed_balance_factor(new_centres, temperature_k)
        mirrored, mirrored_errors = mirrored * factor, mirrored_errors * factor
    return SqwGrid(grid.q_edges, np.concatenate((new_edges, grid.energy_edges)),
                   np.concatenate((mirrored, grid.values), axis=1),
                   np.concatenate((mirrored_errors, grid.errors), axis=1), grid.name,
                   grid.title, grid.logs, grid.source)


#: Largest |Q|^2 U / 3 of a Debye-Waller factor taken as physical (exp(-50) = 2e-22).
MAX_DEBYE_WALLER_EXPONENT = 50.0


def _apply_corrections(grid: SqwGrid, params: Mapping[str, Any],
                       temperature_k: float | None) -> dict[str, Any]:
    """Multiply the grid in place by the chosen correction factors; return log entries."""
    logs: dict[str, Any] = {}
    factor = np.ones_like(grid.values)
    energy, q = grid.energy_centres, grid.q_centres
    if params["quantum_correction"]:
        factor *= corrections.quantum_correction_factor(energy, temperature_k)[np.newaxis, :]
    if params["debye_waller"] != "none":
        msd, source = _mean_squared_displacement(params, temperature_k)
        q_max = float(np.max(np.abs(q))) if len(q) else 0.0
        if q_max * q_max * msd / 3.0 > MAX_DEBYE_WALLER_EXPONENT:
            # exp(-50) = 2e-22: 'apply' would zero the spectrum and 'remove' multiply its
            # noise by 1e22 (or overflow), both written as a result.
            raise ParameterError("mean_squared_displacement_angstrom2",
                                 f"U = {msd:g} Angstrom^2 ({source}) makes the Debye-Waller "
                                 f"factor exp(-Q^2 U / 3) about "
                                 f"{np.exp(-min(q_max * q_max * msd / 3.0, 745.0)):.3g} at "
                                 f"|Q| = {q_max:.3g} 1/Angstrom, beyond any solid",
                                 "check U: a solid's is below about 1 Angstrom^2 (the MSD of "
                                 "a diffusing liquid is not a Debye-Waller U)")
        debye_waller = corrections.debye_waller_factor(q, msd)[:, np.newaxis]
        factor *= 1.0 / debye_waller if params["debye_waller"] == "remove" else debye_waller
        logs["debye_waller_msd_angstrom2_used"] = msd
        logs["debye_waller_msd_source"] = source
    undefined_rows = np.zeros(len(q), dtype=bool)
    if params["inverse_q_squared"]:
        undefined_rows = q <= 0
        with np.errstate(divide="ignore"):
            factor *= np.where(undefined_rows, 0.0, 1.0 / np.where(undefined_rows, 1.0, q * q)
                               )[:, np.newaxis]
    if params["omega_squared"]:
        factor *= (energy * energy)[np.newaxis, :]
    grid.values *= factor
    grid.errors *= np.abs(factor)
    # 1/|Q|^2 has no value at |Q| = 0: such rows become NaN (not measured) after broadening.
    grid.values[undefined_rows, :] = np.nan
    return logs


def _mean_squared_displacement(params: Mapping[str, Any],
                               temperature_k: float | None) -> tuple[float, str]:
    given, summary = params["mean_squared_displacement_angstrom2"], params["md_summary_file"]
    if given is not None and summary is not None:
        raise ParameterError("mean_squared_displacement_angstrom2", "given twice: as a value and "
                             "through md_summary_file", "give --msd or --md-summary, not both")
    if given is not None:
        return float(given), "parameter"
    if summary is not None:
        return corrections.read_mean_squared_displacement(
            summary, temperature_k, any_temperature=params["override_provenance"]), str(summary)
    raise ParameterError("mean_squared_displacement_angstrom2", f"the Debye-Waller correction "
                         f"'{params['debye_waller']}' needs U = <|u|^2>",
                         "give --msd ANGSTROM2 or --md-summary summary.json")


def _broaden(values: np.ndarray, energy_edges: np.ndarray,
             resolution: ResolutionModel) -> tuple[np.ndarray, np.ndarray]:
    """Broaden rows along energy; NaN bins (undefined) are left out and stay NaN."""
    undefined = ~np.isfinite(values)
    sigma = resolution.sigma_mev(0.5 * (energy_edges[1:] + energy_edges[:-1]))
    broadened = broaden_energy_axis(np.where(undefined, 0.0, values), energy_edges, sigma)
    broadened[undefined] = np.nan
    return broadened, sigma


def _crop(edges: np.ndarray, output_range: tuple[float, float]) -> slice:
    """Bins lying within the output range (to rounding)."""
    width = edges[1] - edges[0]
    tolerance = 1e-6 * width
    inside = ((edges[:-1] >= output_range[0] - tolerance)
              & (edges[1:] <= output_range[1] + tolerance))
    if not np.any(inside):
        raise ParameterError("energy_min_mev", f"no whole energy bin (width {width:g} meV) fits "
                             f"in {output_range[0]:g} to {output_range[1]:g} meV",
                             "widen the energy range")
    first, last = np.flatnonzero(inside)[[0, -1]]
    return slice(first, last + 1)


def _resolution_table(energy: np.ndarray, sigma: np.ndarray) -> Table:
    return Table(columns={"energy_transfer_mev": np.asarray(energy, dtype=float),
                          "sigma_mev": np.asarray(sigma, dtype=float),
                          "fwhm_mev": np.asarray(sigma, dtype=float) * np.sqrt(8 * np.log(2))},
                 units={"energy_transfer_mev": "meV", "sigma_mev": "meV", "fwhm_mev": "meV"})


def _direct(instrument: DirectGeometryInstrument, run: RunSettings, grid: SqwGrid,
            params: Mapping[str, Any], output_range: tuple[float, float],
            resolution: ResolutionModel | None,
            progress: ProgressReporter) -> tuple[Spectrum, Table | None]:
    values, errors = grid.values, grid.errors
    table = None
    if resolution is not None:
        values, sigma = _broaden(values, grid.energy_edges, resolution)
        # Errors are not propagated through the convolution: they are set to zero (logged).
        errors = np.zeros_like(values)
    progress.report(0.7, "resolution applied")
    window = _crop(grid.energy_edges, output_range)
    energy_edges = grid.energy_edges[window.start:window.stop + 1]
    values, errors = values[:, window], errors[:, window]
    accessible = instrument.accessible_mask(grid.q_edges, energy_edges, run.incident_energy_mev)
    masked_value = np.nan if params["mask_value"] == "nan" else 0.0
    values = np.where(accessible, values, masked_value)
    errors = np.where(accessible, errors, masked_value)
    if resolution is not None:
        table = _resolution_table(0.5 * (energy_edges[1:] + energy_edges[:-1]), sigma[window])
    spectrum = Spectrum(x=energy_axis(energy_edges), values=values, errors=errors,
                        vertical=momentum_axis(grid.q_edges.copy()), distribution=True,
                        y_unit=SOFQW_Y_UNIT, y_unit_label=SOFQW_Y_UNIT_LABEL)
    progress.report(1.0, "kinematic constraints applied")
    return spectrum, table


def _indirect(run: RunSettings, grid: SqwGrid, output_range: tuple[float, float],
              resolution: ResolutionModel | None, progress: ProgressReporter,
              logs: dict[str, Any]) -> tuple[Spectrum, dict[str, Spectrum], Table | None]:
    energy = grid.energy_centres
    lines, line_errors = [], []
    for bank in run.banks:
        sampled, sampled_errors = sample_along_line(grid.values, grid.q_centres,
                                                    bank.q_line(energy), grid.errors)
        lines.append(sampled)
        line_errors.append(sampled_errors)
    values, errors = np.array(lines), np.array(line_errors)
    progress.report(0.4, "sampled along the bank lines")
    table = None
    if resolution is not None:
        values, sigma = _broaden(values, grid.energy_edges, resolution)
        errors = np.where(np.isfinite(values), 0.0, np.nan)
    progress.report(0.8, "resolution applied")
    window = _crop(grid.energy_edges, output_range)
    energy_edges = grid.energy_edges[window.start:window.stop + 1]
    widths = np.diff(energy_edges)
    values, errors = values[:, window], errors[:, window]
    # Where a bank's line runs beyond the |Q| range of the input, S is unknown (NaN): say where.
    uncovered = ~np.all(np.isfinite(values), axis=0)
    centres = 0.5 * (energy_edges[1:] + energy_edges[:-1])
    logs["bank_lines_beyond_input_q_from_mev"] = (float(centres[uncovered][0])
                                                  if np.any(uncovered) else math.nan)
    weights = np.array([bank.weight for bank in run.banks], dtype=float)
    weights /= weights.sum()
    # A bin where any bank lacks data (its |Q| beyond the input) is NaN in the combination too,
    # rather than an average over fewer banks that would bias it.
    combined = np.sum(weights[:, np.newaxis] * values, axis=0)
    combined_errors = np.sqrt(np.sum((weights[:, np.newaxis] * errors) ** 2, axis=0))

    def one_d(y: np.ndarray, e: np.ndarray) -> Spectrum:
        # AbINS' 1D layout: intensity per bin on energy bin edges, not a distribution.
        return Spectrum(x=energy_axis(energy_edges.copy()), values=y * widths,
                        errors=e * widths, distribution=False, y_unit=ABINS_Y_UNIT,
                        y_unit_label=ABINS_Y_UNIT_LABEL)

    banks = {bank.name: one_d(values[i], errors[i]) for i, bank in enumerate(run.banks)}
    if resolution is not None:
        table = _resolution_table(centres, sigma[window])
    progress.report(1.0, "banks combined")
    return one_d(combined, combined_errors), banks, table


def _logs(grid: SqwGrid, params: Mapping[str, Any], run: RunSettings,
          resolution: ResolutionModel | None, temperature_k: float | None,
          temperature_source: str, extended: bool, extra: Mapping[str, Any],
          output_range: tuple[float, float]) -> dict[str, Any]:
    logs: dict[str, Any] = {f"input_{k}": v for k, v in grid.logs.items()}
    logs.update(provenance_logs(STEP_NAME, params))
    approximation = approximation_of(grid.logs)
    if approximation is not None:
        # Kept unprefixed: what the spectrum holds does not change with the instrument, and
        # comparisons read it here (mantid_mdinsim.approximation).
        logs[APPROXIMATION_LOG] = approximation
    logs.update(run.log_entries())
    logs["input_source"] = grid.source
    logs["resolution_model_used"] = resolution.description if resolution else "none"
    logs["resolution_citation"] = " | ".join(resolution.citation) if resolution else ""
    logs["temperature_k_used"] = log_value(temperature_k)
    logs["temperature_source"] = temperature_source
    logs["quantum_correction_applied"] = int(bool(params["quantum_correction"]))
    logs["energy_gain_from_detailed_balance"] = int(extended)
    logs["debye_waller_applied"] = params["debye_waller"]
    logs["inverse_q_squared_applied"] = int(bool(params["inverse_q_squared"]))
    logs["omega_squared_applied"] = int(bool(params["omega_squared"]))
    logs["output_energy_range_mev"] = np.array(output_range, dtype=float)
    logs["errors_propagated"] = ("through corrections and sampling; zero after resolution "
                                 "broadening" if resolution else "through corrections and sampling")
    logs.update(extra)
    return logs


__all__ = ["InstrumentResult", "SqwGrid", "apply_instrument", "load_sqw", "resolve_parameters",
           "sqw_grid_from_spectrum"]
