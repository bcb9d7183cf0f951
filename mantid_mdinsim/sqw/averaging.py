"""From correlation functions to spectra: the time Fourier transform, the energy axis, the
average over |Q| shells with Gaussian broadening, and the average over all q-points.

Conventions (those of dynasor, so that results compare directly):

* ``F(q, t)`` is normalised by the total number of atoms N (eq. 3); ``F(q, 0) = S(q)``.
* dynasor's ``S(q, w) = int F(q, t) exp(-i w t) dt`` (eq. 4) in fs, evaluated on the window
  mirrored to negative times (``F(-t) = F(t)``, classical): ``dt * rfft([F_0..F_W, F_W..F_1])``,
  at ``w_k = 2 pi k / ((2W + 1) dt)``, k = 0..W.
* Here S is per unit energy: ``S(q, E) = S(q, w) / (2 pi hbar)`` in 1/meV, at ``E = hbar w``,
  so that ``int S(q, E) dE = F(q, 0)`` over both signs of E. S is classical, hence symmetric:
  the spectra hold E from -E_max to E_max (positive = neutron energy loss, Mantid's DeltaE);
  the detailed-balance (quantum) correction belongs to the instrument step.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..units import HBAR_MEV_FS

#: A |Q| shell whose nearest q-point is farther than this many widths holds no data (NaN).
EMPTY_SHELL_WIDTHS = 3.0


def energy_points_mev(window: int, time_step_fs: float) -> np.ndarray:
    """E_k = hbar w_k for k = 0..W, meV (dynasor's ``omega`` times hbar)."""
    omega = 2 * np.pi * np.fft.rfftfreq(2 * window + 1, time_step_fs)
    return HBAR_MEV_FS * omega


def energy_resolution_mev(window: int, time_step_fs: float) -> float:
    """Spacing of the energy points, 2 pi hbar / ((2W + 1) dt), meV."""
    return 2 * np.pi * HBAR_MEV_FS / ((2 * window + 1) * time_step_fs)


def spectrum_from_correlation(correlation: np.ndarray, time_step_fs: float) -> np.ndarray:
    """S(q, E) in 1/meV at E_k >= 0 from F(q, t_k) (last axis: k = 0..W); dynasor's
    ``psd_from_acf_2d`` divided by 2 pi hbar.

    Written out (the even extension of F to 2W + 1 lags and its real FFT, as dynasor) rather
    than imported: importing ``dynasor.tools.acfs`` pulls in scipy.signal, MDAnalysis and
    pandas, seconds of start-up for six lines of numpy. tests/sqw/test_reference_dynasor.py
    holds the result to dynasor's.
    """
    correlation = np.asarray(correlation, dtype=float)
    even = np.concatenate([correlation, correlation[..., :0:-1]], axis=-1)
    return time_step_fs * np.fft.rfft(even, axis=-1).real / (2 * np.pi * HBAR_MEV_FS)


def two_sided(values: np.ndarray) -> np.ndarray:
    """Values at E_k, k = 0..W (last axis) -> at -E_W..E_W (2W + 1 points), mirrored."""
    return np.concatenate([values[..., :0:-1], values], axis=-1)


def two_sided_energies(energies_mev: np.ndarray) -> np.ndarray:
    return np.concatenate([-energies_mev[:0:-1], energies_mev])


#: The most |Q| shells of an average: their weights are a shells x q-points matrix, and a step
#: of 1e-9 1/Angstrom had asked for 875 GiB (a MemoryError, not a message).
MAX_SHELLS = 100_000


def shell_grid(q_norms: np.ndarray, step_inv_angstrom: float,
               step_name: str = "q_step_inv_angstrom") -> np.ndarray:
    """|Q| shell centres from the smallest to the largest |q| of the q-points, every ``step``
    (the parameter ``step_name``; :class:`ParameterError` beyond :data:`MAX_SHELLS`)."""
    low, high = float(np.min(q_norms)), float(np.max(q_norms))
    shells = np.floor((high - low) / step_inv_angstrom + 1e-9) + 1
    if shells > MAX_SHELLS:
        raise ParameterError(step_name, f"a |Q| step of {step_inv_angstrom:g} 1/Angstrom makes "
                             f"{shells:.3g} shells from {low:g} to {high:g} 1/Angstrom, more "
                             f"than the {MAX_SHELLS:,} an average can hold",
                             f"give --q-step {(high - low) / MAX_SHELLS:.3g} 1/Angstrom or "
                             "more (the paper: 0.01; without it the step is --q-width)")
    return low + step_inv_angstrom * np.arange(int(shells))


def shell_weights(q_norms: np.ndarray, shells: np.ndarray,
                  width_inv_angstrom: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian weights (rows: shells, columns: q-points) normalised to 1 per shell, and the
    mask of empty shells (no q-point within ``EMPTY_SHELL_WIDTHS`` widths).

    As dynasor's ``get_spherically_averaged_sample_smearing``:
    ``S(|Q|) = sum_i w_i S(q_i) / sum_i w_i`` with ``w_i = exp(-(|q_i| - |Q|)^2 / (2 width^2))``.
    """
    distance = shells[:, None] - np.asarray(q_norms)[None, :]
    exponent = -0.5 * (distance / width_inv_angstrom) ** 2
    exponent -= exponent.max(axis=1, keepdims=True)  # no underflow to an all-zero row
    weights = np.exp(exponent)
    weights /= weights.sum(axis=1, keepdims=True)
    empty = np.min(np.abs(distance), axis=1) > EMPTY_SHELL_WIDTHS * width_inv_angstrom
    return weights, empty
