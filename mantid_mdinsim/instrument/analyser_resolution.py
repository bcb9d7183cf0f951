"""This project's own energy resolution of a crystal-analyser (TOSCA-like) indirect spectrometer.

Written for VISION, whose resins 0.1.0 model cannot be evaluated (its data leave the pulse-shape
term ``d_t`` undefined; the other terms of that model also mix widths and variances, see
DEVELOPERS.md, "resins VISION report"). The model is the textbook time-of-flight propagation
for an inverted-geometry spectrometer (Mitchell, Parker, Ramirez-Cuesta and Tomkinson,
*Vibrational Spectroscopy with Neutrons*, World Scientific 2005, ch. 3; Seeger, Daemen and
Larese, Nucl. Instrum. Methods A 604, 719 (2009) for VISION): the neutron's flight time
t = L1/v_i + L2/v_f fixes the incident energy E_i, and w = E_i - E_f. Independent Gaussian
contributions (FWHM, meV) add in quadrature:

* moderator pulse: dE_i = 2 E_i v_i dt / L1, with dt = c * lambda (slowing-down regime, where
  the pulse width grows in proportion to the wavelength) and a fixed time-channel width;
* primary path: dE_i = 2 E_i dL1 / L1;
* secondary path (sample and detector thickness): dE_i = 2 E_i (v_i / v_f) dL2 / L1;
* final energy (analyser angular spread dtheta at Bragg angle theta_B):
  dE_f = 2 E_f cot(theta_B) dtheta, which shifts both E_f and, through the secondary flight
  time, E_i: dw = dE_f (1 + (L2/L1) (E_i/E_f)^(3/2)).

Hand-written because no library models VISION (Mantid's AbINS has no VISION instrument; its
users take TOSCA's); the numbers are data in ``instrument_params/vision.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..units import neutron_speed_m_per_s, neutron_wavevector_inv_angstrom
from .resolution import ResolutionModel

_FWHM_PER_SIGMA = float(np.sqrt(8.0 * np.log(2.0)))


@dataclass(frozen=True)
class AnalyserResolutionData:
    """Geometry and widths of one crystal-analyser spectrometer (lengths m, times us, FWHM)."""

    primary_flight_path_m: float
    primary_flight_path_fwhm_m: float
    secondary_flight_path_m: float
    secondary_flight_path_fwhm_m: float
    bragg_angle_deg: float
    analyser_angle_fwhm_deg: float
    pulse_width_us_per_angstrom: float
    time_channel_fwhm_us: float
    citation: tuple[str, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> "AnalyserResolutionData":
        """From an instrument file's ``mdinsim_resolution`` entry (KeyError names a missing field)."""
        values = {name: float(data[name]) for name in cls.__dataclass_fields__
                  if name != "citation"}
        return cls(**values, citation=tuple(str(c) for c in data.get("citation") or ()))

    def fwhm_terms_mev(self, energy_transfer_mev: np.ndarray,
                       final_energy_mev: float) -> dict[str, np.ndarray]:
        """Each contribution's FWHM (meV) at the energy transfers (meV), before quadrature."""
        omega = np.asarray(energy_transfer_mev, dtype=float)
        ef = float(final_energy_mev)
        ei = np.maximum(omega, 0.0) + ef
        speed_i, speed_f = neutron_speed_m_per_s(ei), neutron_speed_m_per_s(ef)
        l1, l2 = self.primary_flight_path_m, self.secondary_flight_path_m
        wavelength = 2.0 * np.pi / neutron_wavevector_inv_angstrom(ei)
        pulse_s = np.hypot(self.pulse_width_us_per_angstrom * wavelength,
                           self.time_channel_fwhm_us) * 1e-6
        theta = np.deg2rad(self.bragg_angle_deg)
        final_fwhm = 2.0 * ef * np.deg2rad(self.analyser_angle_fwhm_deg) / np.tan(theta)
        return {
            "moderator pulse": 2.0 * ei * speed_i * pulse_s / l1,
            "primary path": 2.0 * ei * self.primary_flight_path_fwhm_m / l1 * np.ones_like(ei),
            "secondary path": 2.0 * ei * (speed_i / speed_f) * self.secondary_flight_path_fwhm_m
            / l1,
            "final energy": final_fwhm * (1.0 + (l2 / l1) * (ei / ef) ** 1.5),
        }

    def fwhm_mev(self, energy_transfer_mev: np.ndarray, final_energy_mev: float) -> np.ndarray:
        """Total FWHM (meV): the contributions added in quadrature."""
        terms = self.fwhm_terms_mev(energy_transfer_mev, final_energy_mev)
        return np.sqrt(sum(term ** 2 for term in terms.values()))


def analyser_resolution(name: str, data: AnalyserResolutionData, final_energy_mev: float,
                        energy_range_mev: tuple[float, float]) -> ResolutionModel:
    """A :class:`ResolutionModel` (sigma in meV) from this project's analyser model."""

    def sigma(energy: np.ndarray) -> np.ndarray:
        return data.fwhm_mev(energy, final_energy_mev) / _FWHM_PER_SIGMA

    return ResolutionModel(
        description=f"mdinsim model {name} (crystal-analyser TOF, Ef={final_energy_mev:g} meV)",
        citation=list(data.citation), energy_range_mev=energy_range_mev,
        _sigma_function=sigma)
