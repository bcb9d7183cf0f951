"""Physical constants and unit conversions used throughout mdinsim.

Units everywhere: energy in meV, length in Angstrom, wave vector in 1/Angstrom, time in fs,
temperature in K, angular frequency in rad/fs. Constants are CODATA 2022, the values of
``scipy.constants`` (tests/test_units.py checks every one against it): written out here because
importing scipy costs a quarter of a CPU second on every command that needs a constant
(``mdinsim sqw`` needs hbar and nothing else of scipy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Codata:
    """CODATA 2022 in SI units, named as in ``scipy.constants`` (h, e, k, c are exact)."""

    h: float = 6.62607015e-34                 # Planck constant, J s
    e: float = 1.602176634e-19                # elementary charge, C
    k: float = 1.380649e-23                   # Boltzmann constant, J/K
    c: float = 299792458.0                    # speed of light, m/s
    m_n: float = 1.67492750056e-27            # neutron mass, kg
    bohr_radius: float = 5.29177210544e-11    # m

    @property
    def hbar(self) -> float:
        return self.h / (2 * np.pi)


CODATA_2022 = Codata()
_c = CODATA_2022

#: Reduced Planck constant in meV*fs (0.6582119569 meV*ps).
HBAR_MEV_FS: float = _c.hbar / _c.e * 1e3 * 1e15
#: Boltzmann constant in meV/K.
KB_MEV_PER_K: float = _c.k / _c.e * 1e3
#: Neutron mass in kg.
NEUTRON_MASS_KG: float = _c.m_n
#: hbar^2 / (2 m_n) in meV*Angstrom^2: E = NEUTRON_E_FROM_K2 * k^2 (about 2.0721).
NEUTRON_E_FROM_K2_MEV_ANGSTROM2: float = _c.hbar**2 / (2 * _c.m_n) / _c.e * 1e3 * 1e20
#: 1 cm^-1 in meV.
MEV_PER_INVERSE_CM: float = _c.h * _c.c * 100 / _c.e * 1e3
#: 1 THz in meV.
MEV_PER_THZ: float = _c.h * 1e12 / _c.e * 1e3


def angular_frequency_to_mev(omega_rad_per_fs: np.ndarray | float) -> np.ndarray | float:
    """hbar*omega in meV from omega in rad/fs."""
    return HBAR_MEV_FS * np.asarray(omega_rad_per_fs)


def mev_to_angular_frequency(energy_mev: np.ndarray | float) -> np.ndarray | float:
    """omega in rad/fs from hbar*omega in meV."""
    return np.asarray(energy_mev) / HBAR_MEV_FS


def neutron_wavevector_inv_angstrom(energy_mev: np.ndarray | float) -> np.ndarray | float:
    """Wave-vector magnitude k in 1/Angstrom of a neutron of kinetic energy E in meV."""
    return np.sqrt(np.asarray(energy_mev) / NEUTRON_E_FROM_K2_MEV_ANGSTROM2)


def neutron_energy_mev(wavevector_inv_angstrom: np.ndarray | float) -> np.ndarray | float:
    """Kinetic energy E in meV of a neutron with wave vector k in 1/Angstrom."""
    return NEUTRON_E_FROM_K2_MEV_ANGSTROM2 * np.asarray(wavevector_inv_angstrom) ** 2


def neutron_speed_m_per_s(energy_mev: np.ndarray | float) -> np.ndarray | float:
    """Speed v = hbar k / m_n in m/s of a neutron of kinetic energy E in meV."""
    return _c.hbar * neutron_wavevector_inv_angstrom(energy_mev) * 1e10 / _c.m_n


def beta_per_mev(temperature_k: float) -> float:
    """1/(k_B T) in 1/meV."""
    return 1.0 / (KB_MEV_PER_K * temperature_k)
