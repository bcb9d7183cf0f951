"""The choices ``mdinsim predict`` makes itself, where one step alone could not: the |Q| range
the instrument reaches, the |Q| width that suits the MD supercell, the |Q| shells and the
elastic line the instrument step is given. Units: meV, 1/Angstrom, Angstrom.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import ParameterError
from ..instrument import (CORE_PARAMETERS, DirectGeometryInstrument, InstrumentSettings,
                          direct_q_limits, get_instrument)
from ..io.trajectory import open_trajectory
from ..spectrum import Axis, Spectrum
from ..units import HBAR_MEV_FS
from .parameters import INSTRUMENT_NAMES, SQW_NAMES, PredictSettings

#: Automatic |Q| width: this fraction of the shortest reciprocal vector of the MD supercell.
Q_WIDTH_FRACTION = 0.15
MIN_Q_WIDTH_INV_ANGSTROM = 0.01
#: The automatic q-range reaches a little beyond the instrument's largest |Q|, at most this.
Q_MAX_MARGIN = 1.05
Q_MAX_LIMIT_INV_ANGSTROM = 30.0


def instrument_settings(settings: PredictSettings) -> dict[str, Any]:
    """The instrument step's parameters among predict's."""
    return settings.values_of(INSTRUMENT_NAMES)


def configured_instrument(instrument_parameters: Mapping[str, Any]):
    """(instrument, RunSettings) for the instrument step's parameters among those given."""
    instrument = get_instrument(instrument_parameters["instrument"])
    core = {name: instrument_parameters[name] for name in CORE_PARAMETERS.names()
            if name in instrument_parameters}
    return instrument, InstrumentSettings.from_values(core).configure()


def instrument_q_max_inv_angstrom(instrument_parameters: Mapping[str, Any],
                                  energy_min_mev: float, energy_max_mev: float) -> float:
    """The largest |Q| (1/Angstrom) the instrument measures at energy transfers in
    [energy_min_mev, energy_max_mev]: along the bank lines (indirect geometry) or at the
    widest detector angle (direct geometry, below Ei)."""
    instrument, run = configured_instrument(instrument_parameters)
    low = max(energy_min_mev, run.energy_range_mev[0], 0.0)
    high = min(energy_max_mev, run.energy_range_mev[1])
    if isinstance(instrument, DirectGeometryInstrument):
        high = min(high, 0.999 * run.incident_energy_mev)
    energies = np.linspace(min(low, high), high, 400)
    if isinstance(instrument, DirectGeometryInstrument):
        reach = [direct_q_limits(energies, run.incident_energy_mev, angles)[1]
                 for angles in instrument.detector_angle_ranges_deg]
    else:
        reach = [bank.q_line(energies) for bank in run.banks]
    return float(np.nanmax(np.array(reach)))


def automatic_q_width_inv_angstrom(cell_angstrom: np.ndarray) -> float:
    """A tenth-and-a-half of the shortest reciprocal vector (2 pi included) of the MD
    supercell: commensurate q-points lie on that lattice, so narrower shells are often empty."""
    reciprocal = 2 * np.pi * np.linalg.inv(np.asarray(cell_angstrom, dtype=float)).T
    shortest = float(np.min(np.linalg.norm(reciprocal, axis=1)))
    return max(MIN_Q_WIDTH_INV_ANGSTROM, round(Q_WIDTH_FRACTION * shortest, 4))


def _first_cell(trajectory: str | Path) -> np.ndarray:
    reader = open_trajectory(trajectory)
    try:
        return np.asarray(reader.cell, dtype=float)
    finally:
        reader.close()


def drop_empty_shells(sqw: Spectrum) -> tuple[Spectrum, int]:
    """S(|Q|, w) ready for the instrument step, and the number of its empty |Q| shells.

    * A shell at |Q| = 0 (q = 0, on a Brillouin-zone path through Gamma) is left out: it holds
      only the elastic scattering of the mean density, and no instrument measures there.
    * Empty |Q| shells (rows that are not finite: no q-point near them) are counted for the
      report; the instrument step leaves them out and interpolates across them.
    """
    centres = sqw.vertical_centres()
    finite = np.all(np.isfinite(sqw.values), axis=1)
    dropped = int(np.count_nonzero(~finite))
    keep = centres > 0
    if np.count_nonzero(keep & finite) < 2:
        raise ParameterError("q_width_inv_angstrom", f"only {np.count_nonzero(keep & finite)} "
                             "|Q| shells of S(q,w) hold q-points",
                             "widen --q-width, raise --q-count or use a larger --supercell")
    logs = dict(sqw.logs, predict_empty_shells_dropped=dropped)
    return sqw.copy(values=sqw.values[keep], errors=sqw.errors[keep],
                    vertical=Axis(values=centres[keep], unit=sqw.vertical.unit),
                    logs=logs), dropped


def without_elastic_line(sqw: Spectrum) -> Spectrum:
    """S(|Q|, w) with its elastic line left out: the energy bin at w = 0 set to zero (with the
    window of the MD correlation, a time-independent plateau of F(q, t), the elastic scattering,
    falls in that bin alone). Logged as ``elastic_line_left_out``."""
    energy = sqw.x_centres()
    step = float(np.min(np.abs(np.diff(energy)))) if len(energy) > 1 else 1.0
    elastic = np.abs(energy) < 0.5 * step
    values, errors = sqw.values.copy(), sqw.errors.copy()
    values[:, elastic] = 0.0
    errors[:, elastic] = 0.0
    return sqw.copy(values=values, errors=errors, logs=dict(sqw.logs, elastic_line_left_out=1))


#: The correlation window is at most this many frames, and at most this fraction of a run.
MAX_WINDOW_FRAMES = 500
WINDOW_FRACTION_OF_RUN = 0.25


def sqw_values(settings: PredictSettings, md_entry: Mapping[str, Any]) -> dict[str, Any]:
    """The S(q,w) step's parameters for one temperature (``md_entry``: the MD stage's record
    of it), the automatic values filled in: the window, the |Q| width and range."""
    frame_interval = float(md_entry["frame_interval_fs"])
    window = settings.window
    if window is None:
        shortest = min(md_entry["frames"])
        window = int(min(MAX_WINDOW_FRAMES, max(2, WINDOW_FRACTION_OF_RUN * shortest)))
    values = settings.values_of(SQW_NAMES)
    values.update(trajectories=list(md_entry["trajectories"]), time_step_fs=frame_interval,
                  window=window, seed=settings.seed, per_q=False)
    if settings.q_width_inv_angstrom is None:
        values.update(q_width_inv_angstrom=automatic_q_width_inv_angstrom(
            _first_cell(md_entry["trajectories"][0])))
    if settings.q_max_inv_angstrom is None and settings.q_file is None:
        # S(q,w) reaches E = pi hbar / dt; the instrument needs |Q| up to its reach there.
        energy_top = math.pi * HBAR_MEV_FS / frame_interval
        if settings.energy_max_mev is not None:
            energy_top = min(energy_top, settings.energy_max_mev)
        energy_bottom = settings.energy_min_mev if settings.energy_min_mev is not None else 0.0
        reach = instrument_q_max_inv_angstrom(instrument_settings(settings), energy_bottom,
                                              energy_top)
        values.update(q_max_inv_angstrom=round(min(Q_MAX_LIMIT_INV_ANGSTROM,
                                                   Q_MAX_MARGIN * reach), 3))
    return values
