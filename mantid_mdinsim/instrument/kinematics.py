"""Kinematic constraints: which (|Q|, w) a spectrometer can reach.

Energy and momentum conservation for a neutron of incident energy E_i and final energy
E_f = E_i - hbar*w (w > 0: the neutron loses energy, Mantid's ``DeltaE`` sign), scattered by
2theta::

    k^2 = E / (hbar^2 / 2 m_n)                        (k in 1/Angstrom, E in meV)
    |Q|^2 = k_i^2 + k_f^2 - 2 k_i k_f cos(2theta)

* Direct geometry (fixed E_i): for each w the detectors between 2theta_min and 2theta_max reach
  |Q| between Q(2theta_min) and Q(2theta_max) (|Q| grows monotonically with 2theta); nothing is
  reached for w >= E_i.
* Indirect geometry (fixed E_f, E_i = E_f + w): an analyser bank at one 2theta measures along a
  line |Q|(w); only w > -E_f exists.

Units: meV, 1/Angstrom, degrees.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..units import NEUTRON_E_FROM_K2_MEV_ANGSTROM2


def wavevector_squared_inv_angstrom2(energy_mev: np.ndarray | float) -> np.ndarray:
    """k^2 in 1/Angstrom^2 of a neutron of energy E in meV (NaN where E < 0)."""
    energy = np.asarray(energy_mev, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(energy >= 0, energy / NEUTRON_E_FROM_K2_MEV_ANGSTROM2, np.nan)


def momentum_transfer_inv_angstrom(incident_energy_mev: np.ndarray | float,
                                   final_energy_mev: np.ndarray | float,
                                   two_theta_deg: np.ndarray | float) -> np.ndarray:
    """|Q| in 1/Angstrom from E_i, E_f (meV) and the scattering angle 2theta (degrees).

    NaN where either energy is negative (no such neutron).
    """
    k2_i = wavevector_squared_inv_angstrom2(incident_energy_mev)
    k2_f = wavevector_squared_inv_angstrom2(final_energy_mev)
    cos_two_theta = np.cos(np.deg2rad(two_theta_deg))
    q2 = k2_i + k2_f - 2.0 * np.sqrt(k2_i * k2_f) * cos_two_theta
    # Rounding can make q2 a hair below zero at 2theta = 0, w = 0.
    return np.sqrt(np.maximum(q2, 0.0))


def direct_q_limits(energy_transfer_mev: np.ndarray, incident_energy_mev: float,
                    two_theta_range_deg: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(|Q|_min, |Q|_max) in 1/Angstrom reached at each energy transfer (meV) in direct geometry.

    ``two_theta_range_deg`` is one detector bank's (min, max) scattering angle, 0-180 degrees.
    NaN where w >= E_i.
    """
    energy = np.asarray(energy_transfer_mev, dtype=float)
    final = np.where(energy < incident_energy_mev, incident_energy_mev - energy, np.nan)
    low, high = sorted(two_theta_range_deg)
    return (momentum_transfer_inv_angstrom(incident_energy_mev, final, low),
            momentum_transfer_inv_angstrom(incident_energy_mev, final, high))


def indirect_q_line(energy_transfer_mev: np.ndarray, final_energy_mev: float,
                    two_theta_deg: float) -> np.ndarray:
    """|Q|(w) in 1/Angstrom along which an indirect-geometry bank at 2theta measures.

    E_i = E_f + w; NaN where w <= -E_f.
    """
    energy = np.asarray(energy_transfer_mev, dtype=float)
    incident = np.where(energy > -final_energy_mev, final_energy_mev + energy, np.nan)
    return momentum_transfer_inv_angstrom(incident, final_energy_mev, two_theta_deg)


def direct_accessible_mask(q_edges_inv_angstrom: np.ndarray, energy_edges_mev: np.ndarray,
                           incident_energy_mev: float,
                           two_theta_ranges_deg: Sequence[Sequence[float]]) -> np.ndarray:
    """Boolean (n_q, n_energy): True where a direct-geometry instrument measures the bin.

    A bin counts as measured when its |Q| extent overlaps the |Q| range that any detector bank
    reaches at the bin's centre energy; that is euphonic's ``apply_kinematic_constraints``
    rule, applied here once per bank and combined, since euphonic takes a single angle range
    and MAPS or MARI have several banks with gaps between them.
    """
    # euphonic takes seconds to import; only the direct-geometry mask needs it.
    from euphonic import ureg
    from euphonic.spectra import Spectrum2D, apply_kinematic_constraints

    q_edges = np.asarray(q_edges_inv_angstrom, dtype=float)
    energy_edges = np.asarray(energy_edges_mev, dtype=float)
    n_q, n_energy = len(q_edges) - 1, len(energy_edges) - 1
    # euphonic's 2D spectra hold |Q| on x and energy on y.
    probe = Spectrum2D(q_edges * ureg("1/angstrom"), energy_edges * ureg("meV"),
                       np.ones((n_q, n_energy)) * ureg("dimensionless"))
    accessible = np.zeros((n_q, n_energy), dtype=bool)
    for two_theta_range in two_theta_ranges_deg:
        masked = apply_kinematic_constraints(probe, e_i=incident_energy_mev * ureg("meV"),
                                             angle_range=tuple(float(a) for a in two_theta_range))
        accessible |= np.isfinite(masked.z_data.magnitude)
    return accessible


def sample_along_line(values: np.ndarray, q_centres_inv_angstrom: np.ndarray,
                      q_line_inv_angstrom: np.ndarray,
                      errors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """S(|Q|(w_j), w_j) for each energy column j, linear in |Q| between grid rows.

    ``values`` is (n_q, n_energy) on the |Q| centres (ascending); ``q_line`` holds one |Q| per
    energy column. Points outside the |Q| grid (or with NaN |Q|) give NaN: the input does not
    cover them. Errors are propagated for independent rows (weights squared).
    """
    values = np.asarray(values, dtype=float)
    q = np.asarray(q_centres_inv_angstrom, dtype=float)
    line = np.asarray(q_line_inv_angstrom, dtype=float)
    n_q, n_energy = values.shape
    columns = np.arange(n_energy)
    inside = np.isfinite(line) & (line >= q[0]) & (line <= q[-1])
    safe = np.where(inside, line, q[0])
    upper = np.clip(np.searchsorted(q, safe, side="right"), 1, n_q - 1)
    lower = upper - 1
    weight_upper = (safe - q[lower]) / (q[upper] - q[lower])
    weight_lower = 1.0 - weight_upper
    sampled = weight_lower * values[lower, columns] + weight_upper * values[upper, columns]
    sampled_errors = np.zeros(n_energy)
    if errors is not None:
        errors = np.asarray(errors, dtype=float)
        sampled_errors = np.hypot(weight_lower * errors[lower, columns],
                                  weight_upper * errors[upper, columns])
    sampled[~inside] = np.nan
    sampled_errors[~inside] = np.nan
    return sampled, sampled_errors
