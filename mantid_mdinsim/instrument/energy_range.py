"""The energy transfers of the instrument's output, and the grid the physics works on.

* :func:`output_energy_range`: the range asked for (or the default), checked against the input's
  and against what the instrument's neutrons can exchange (w < Ei in direct geometry, within the
  instrument's range in indirect geometry).
* :func:`working_grid`: the input cut to energies neutrons can give, extended to energy gain
  (w < 0) by detailed balance where the input is one-sided and the output asks for it.
* :func:`crop`: the bins of the output range.

Energies in meV (w > 0: neutron energy loss), temperatures in K.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from . import corrections
from .instruments import DirectGeometryInstrument, RunSettings
from .parameters import InstrumentSettings
from .resolution import ResolutionModel
from .sqw_input import SqwGrid


def output_energy_range(grid: SqwGrid, run: RunSettings,
                        settings: InstrumentSettings) -> tuple[float, float]:
    """(min, max) energy transfer (meV) of the output, validated against input and instrument."""
    instrument = run.instrument
    low_inst, high_inst = run.energy_range_mev
    e_min, e_max = settings.energy_min_mev, settings.energy_max_mev
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
        if e_min < input_low and not one_sided(grid):
            raise ParameterError("energy_min_mev", f"{e_min:g} meV is below the input's energy "
                                 f"range (from {input_low:g} meV)", "raise --energy-min")
        if e_min < input_low and e_min < -input_high:
            raise ParameterError("energy_min_mev", f"{e_min:g} meV: detailed balance can build "
                                 f"energy gain only down to -{input_high:g} meV from this input",
                                 "raise --energy-min")
        if e_min < input_low and not settings.detailed_balance:
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



def one_sided(grid: SqwGrid) -> bool:
    """The input starts at w = 0 (lowest bin centre at or above 0): energy gain is missing."""
    return bool(grid.energy_centres[0] >= -1e-9 * grid.energy_bin_width)



def working_grid(grid: SqwGrid, run: RunSettings, settings: InstrumentSettings,
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
        working = extend_to_energy_gain(working, target, temperature_k,
                                        settings.quantum_correction)
        extended = True
    if settings.quantum_correction and temperature_k is None:
        raise ParameterError("temperature_k", "a temperature is needed for the quantum "
                             "correction", "give --temperature K (or switch the correction off "
                             "with --no-quantum-correction)")
    return working, extended



def extend_to_energy_gain(grid: SqwGrid, target_min_mev: float, temperature_k: float,
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



def crop(edges: np.ndarray, output_range: tuple[float, float]) -> slice:
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
