"""Model uncertainty of a prediction: the spread of the spectrum over an ensemble of NEP models.

Estimator (the cheap bound): for each ensemble member, the harmonic spectrum of the same
structure with that member (phonopy finite displacements, abinslib S(|Q|, w), the same
instrument, on the MD S(q,w)'s grid), and per energy bin the standard deviation over the
members (``ddof=1``) of their S(w) per meV. The members' force constants are where equally
good models disagree; their spread is what the model adds to the spectrum's uncertainty, at
the cost of M harmonic calculations (M x (relaxation + 6 N displacements) force evaluations,
seconds to minutes on a CPU) instead of M further MD runs (each as long as the prediction's own).
It leaves out how anharmonic terms differ between the members; short MD runs per member would
add that at M times the MD cost.

What is written (per temperature, beside the instrument spectrum):

* ``<INSTRUMENT>_<T>K_model_spread.nxs`` (+ ``.png``): ``model_spread`` (the standard
  deviation, per meV, the unit of the MD curve after the scaling below), ``ensemble_mean`` and
  ``ensemble_members`` (one row per member) as 1-D curves S(w) per meV;
* the report: for each main peak of the ensemble's mean curve, its position in each member
  (the highest point of that member's curve within a window around the peak) and their
  standard deviation in meV.

The MD and harmonic curves share a unit but not an absolute scale (the MD S(q,w) is a density
correlation; finite-time and statistics differ), so for the band drawn on the MD curve the
spread is multiplied by the least-squares factor that maps the ensemble mean onto the MD curve.

Units: meV, K; intensities per meV on the MD curve's scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..spectrum import Spectrum, energy_axis, text_axis
from .report import find_peaks_mev, spectrum_1d

#: A member's peak is looked for within this many bin widths, or this fraction of the peak's
#: energy, of the mean curve's peak (whichever is wider).
PEAK_WINDOW_BINS = 4
PEAK_WINDOW_FRACTION = 0.08
#: At most this many peaks (the most prominent of the mean curve) are reported.
MAX_REPORTED_PEAKS = 6


@dataclass
class ModelSpread:
    """The ensemble's curves at one temperature (energies in meV, S per meV).

    ``members`` is (M, n_energy); ``spread`` the standard deviation over members (ddof 1);
    ``scale`` the least-squares factor from the ensemble mean to the MD curve; ``peaks`` one
    dict per main peak: ``energy_mev`` (mean curve), ``member_positions_mev``, ``spread_mev``.
    """

    energy_mev: np.ndarray
    members: np.ndarray
    model_names: list[str]
    scale: float = 1.0
    peaks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mean(self) -> np.ndarray:
        return np.mean(self.members, axis=0)

    @property
    def spread(self) -> np.ndarray:
        return np.std(self.members, axis=0, ddof=1)

    def band(self, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) = centre -+ scale * spread: the band drawn on the MD curve."""
        half = self.scale * self.spread
        return centre - half, centre + half

    def workspaces(self, temperature_k: float, logs: dict[str, Any] | None = None
                   ) -> list[Spectrum]:
        """``model_spread`` (scaled to the MD curve), ``ensemble_mean`` and
        ``ensemble_members`` (harmonic curves as computed), as 1-D Spectra per meV."""
        axis = energy_axis(self.energy_mev)
        common = dict(distribution=True, y_unit="Arbitrary Units",
                      logs=dict(logs or {}, temperature_k=temperature_k,
                                ensemble_members=" ".join(self.model_names),
                                model_spread_scale=self.scale,
                                model_spread_estimator="harmonic spectrum per member, "
                                                       "standard deviation over members"))
        return [
            Spectrum(x=axis, values=self.scale * self.spread, name="model_spread",
                     y_unit_label="model spread of S(w) (per meV)",
                     title=f"model spread over {len(self.model_names)} models, "
                           f"{temperature_k:g} K", **common),
            Spectrum(x=axis.copy(), values=self.mean, name="ensemble_mean",
                     y_unit_label="S(w) (per meV)",
                     title=f"mean harmonic spectrum of the ensemble, {temperature_k:g} K",
                     **common),
            Spectrum(x=axis.copy(), values=self.members, name="ensemble_members",
                     vertical=text_axis([Path(n).name for n in self.model_names]),
                     y_unit_label="S(w) (per meV)",
                     title=f"harmonic spectrum of each model, {temperature_k:g} K", **common),
        ]


def _vertex(energy: np.ndarray, curve: np.ndarray) -> float:
    """Energy of a curve's highest point, refined between bins by the parabola through it and
    its two neighbours (shifts smaller than a bin are what a model changes)."""
    i = int(np.argmax(curve))
    if 0 < i < len(curve) - 1 and np.all(np.isfinite(curve[i - 1:i + 2])):
        below, top, above = curve[i - 1:i + 2]
        curvature = below - 2.0 * top + above
        if curvature < 0:
            return float(energy[i] + 0.5 * (below - above) / curvature * (energy[i + 1]
                                                                           - energy[i]))
    return float(energy[i])


def peak_spread(energy_mev: np.ndarray, members: np.ndarray,
                max_peaks: int = MAX_REPORTED_PEAKS) -> list[dict[str, Any]]:
    """For each main peak of the members' mean curve (strongest first): its position in each
    member (highest point of the member's curve within the window, refined by a parabola) and
    their standard deviation (meV, ddof 1)."""
    energy = np.asarray(energy_mev, dtype=float)
    members = np.asarray(members, dtype=float)
    step = float(np.median(np.diff(energy))) if energy.size > 1 else 0.0
    peaks = []
    for position in find_peaks_mev(energy, np.mean(members, axis=0))[:max_peaks]:
        half = max(PEAK_WINDOW_BINS * step, PEAK_WINDOW_FRACTION * position)
        window = np.abs(energy - position) <= half
        if np.count_nonzero(window) < 2:
            continue
        curves = np.where(np.isfinite(members[:, window]), members[:, window], -np.inf)
        located = np.array([_vertex(energy[window], curve) for curve in curves])
        peaks.append({"energy_mev": round(float(position), 3),
                      "member_positions_mev": [round(float(e), 3) for e in located],
                      "spread_mev": round(float(np.std(located, ddof=1)), 3)})
    return peaks


def model_spread(member_spectra: Sequence[Spectrum], model_names: Sequence[str],
                 md_spectrum: Spectrum | None = None) -> ModelSpread:
    """The spread of the members' instrument spectra (all on one energy grid); with the MD
    spectrum, the scale of the band drawn on it."""
    if len(member_spectra) < 2:
        raise ValueError("a model spread needs at least two ensemble members")
    curves = [spectrum_1d(spectrum) for spectrum in member_spectra]
    energy = curves[0][0]
    members = np.array([values for _, values in curves])
    spread = ModelSpread(energy_mev=energy, members=members, model_names=list(model_names))
    spread.peaks = peak_spread(energy, members)
    if md_spectrum is not None:
        md_energy, md_values = spectrum_1d(md_spectrum)
        mean = np.interp(md_energy, energy, spread.mean, left=np.nan, right=np.nan)
        both = np.isfinite(mean) & np.isfinite(md_values)
        denominator = float(np.sum(mean[both] ** 2))
        if denominator > 0:
            spread.scale = float(np.sum(mean[both] * md_values[both]) / denominator)
        spread.energy_mev, spread.members = md_energy, np.array(
            [np.interp(md_energy, energy, m, left=np.nan, right=np.nan) for m in members])
    return spread
