"""What each geometry measures from the corrected S(|Q|, w) on the working grid.

* Direct geometry (:func:`direct_spectrum`): energy resolution along w at each |Q|, then the
  kinematic mask of the detectors: a 2D result in Mantid's SofQW layout. Broadening at fixed
  |Q| is the usual 1-D approximation of a resolution that is really four-dimensional (paper
  section 2.3).
* Indirect geometry (:func:`indirect_spectra`): S sampled along each bank's |Q|(w) line,
  resolution applied to each bank spectrum, banks combined as the instrument does: 1D results
  in AbINS' layout.

Energies in meV, |Q| in 1/Angstrom.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..progress import ProgressReporter
from ..spectrum import Spectrum, Table, energy_axis, momentum_axis
from .energy_range import crop
from .instruments import DirectGeometryInstrument, RunSettings
from .kinematics import sample_along_line
from .resolution import ResolutionModel, broaden_rows, resolution_table
from .sqw_input import SqwGrid

#: Mantid's SofQW output (Framework/Algorithms/src/SofQW.cpp setUpOutputWorkspace).
SOFQW_Y_UNIT = ""
SOFQW_Y_UNIT_LABEL = "Intensity"
#: AbINS' 1D output (scripts/abins/abinsalgorithm.py set_workspace_units, layout '1D').
ABINS_Y_UNIT = "Arbitrary Units"
ABINS_Y_UNIT_LABEL = "S / Arbitrary Units"


def direct_spectrum(instrument: DirectGeometryInstrument, run: RunSettings, grid: SqwGrid,
                    mask_value: str, output_range: tuple[float, float],
                    resolution: ResolutionModel | None,
                    progress: ProgressReporter) -> tuple[Spectrum, Table | None]:
    """The 2D S(|Q|, w) (per meV) the detectors measure; bins they cannot reach hold
    ``mask_value`` ('nan' or 'zero'). Returns it and the resolution table (or None)."""
    values, errors = grid.values, grid.errors
    table = None
    if resolution is not None:
        values, sigma = broaden_rows(values, grid.energy_edges, resolution)
        # Errors are not propagated through the convolution: they are set to zero (logged).
        errors = np.zeros_like(values)
    progress.report(0.7, "resolution applied")
    window = crop(grid.energy_edges, output_range)
    energy_edges = grid.energy_edges[window.start:window.stop + 1]
    values, errors = values[:, window], errors[:, window]
    accessible = instrument.accessible_mask(grid.q_edges, energy_edges, run.incident_energy_mev)
    masked_value = np.nan if mask_value == "nan" else 0.0
    values = np.where(accessible, values, masked_value)
    errors = np.where(accessible, errors, masked_value)
    if resolution is not None:
        table = resolution_table(0.5 * (energy_edges[1:] + energy_edges[:-1]), sigma[window])
    spectrum = Spectrum(x=energy_axis(energy_edges), values=values, errors=errors,
                        vertical=momentum_axis(grid.q_edges.copy()), distribution=True,
                        y_unit=SOFQW_Y_UNIT, y_unit_label=SOFQW_Y_UNIT_LABEL)
    progress.report(1.0, "kinematic constraints applied")
    return spectrum, table



def indirect_spectra(run: RunSettings, grid: SqwGrid, output_range: tuple[float, float],
                     resolution: ResolutionModel | None, progress: ProgressReporter,
                     logs: dict[str, Any]) -> tuple[Spectrum, dict[str, Spectrum], Table | None]:
    """The instrument's 1D S(w) (banks combined) and each bank's, in AbINS' layout (intensity
    per bin), and the resolution table (or None); ``logs`` gets where the bank lines leave
    the input's |Q| range."""
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
        values, sigma = broaden_rows(values, grid.energy_edges, resolution)
        errors = np.where(np.isfinite(values), 0.0, np.nan)
    progress.report(0.8, "resolution applied")
    window = crop(grid.energy_edges, output_range)
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
        table = resolution_table(centres, sigma[window])
    progress.report(1.0, "banks combined")
    return one_d(combined, combined_errors), banks, table
