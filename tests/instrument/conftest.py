"""Synthetic S(|Q|, w) inputs for the instrument tests (small grids: the suite runs in seconds)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import constants

from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis


def k_inv_angstrom(energy_mev):
    """Neutron wave vector from E = hbar^2 k^2 / 2 m_n, straight from CODATA (scipy)."""
    energy_joule = np.asarray(energy_mev, dtype=float) * 1e-3 * constants.e
    return np.sqrt(2.0 * constants.m_n * energy_joule) / constants.hbar * 1e-10


def closed_form_q(incident_mev, final_mev, two_theta_deg):
    """|Q| from the cosine rule, Q^2 = ki^2 + kf^2 - 2 ki kf cos(2theta)."""
    ki, kf = k_inv_angstrom(incident_mev), k_inv_angstrom(final_mev)
    return np.sqrt(ki ** 2 + kf ** 2 - 2 * ki * kf * np.cos(np.radians(two_theta_deg)))


def make_sqw(q_edges, energy_edges, function=None, **logs) -> Spectrum:
    """S(|Q|, w) on bin edges; ``function(q_centre[:, None], w_centre[None, :])`` or 1."""
    q_edges, energy_edges = np.asarray(q_edges, float), np.asarray(energy_edges, float)
    q = 0.5 * (q_edges[1:] + q_edges[:-1])[:, None]
    w = 0.5 * (energy_edges[1:] + energy_edges[:-1])[None, :]
    values = np.ones((q.size, w.size)) if function is None else np.broadcast_to(
        function(q, w), (q.size, w.size)).astype(float)
    return Spectrum(x=energy_axis(energy_edges), values=values,
                    vertical=momentum_axis(q_edges), name="sqw", logs=dict(logs))


@pytest.fixture
def flat_sqw():
    """S = 1 on |Q| 0-16 1/Angstrom (0.1 bins) and w 0-300 meV (1 meV bins)."""
    return make_sqw(np.linspace(0, 16, 161), np.linspace(0, 300, 301))
