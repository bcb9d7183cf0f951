"""One curve of a spectrum and its peaks: what the report, the comparisons, the figure and the
model spread read from an instrument spectrum.

Units: energy transfer in meV, S per meV.
"""

from __future__ import annotations

import numpy as np

from ..spectrum import Spectrum

#: A peak must stand out by this fraction of the curve's maximum (scipy's prominence).
PEAK_PROMINENCE_FRACTION = 0.05
#: At most this many peaks are reported per curve.
MAX_PEAKS = 12
#: Peaks below this energy transfer (meV) are the elastic line's tail, not vibrations.
MIN_PEAK_ENERGY_MEV = 1.0


def spectrum_1d(spectrum: Spectrum) -> tuple[np.ndarray, np.ndarray]:
    """(energy in meV, S per meV) of an instrument spectrum: a 1-D spectrum divided by its bin
    widths (if it is per bin), or a 2-D S(|Q|, w) averaged over the measured |Q| (weighted by
    the |Q| bin widths; an energy with no measured bin is NaN)."""
    energy = spectrum.x_centres()
    if spectrum.n_spectra == 1 or spectrum.vertical.is_text:
        values = np.array(spectrum.values[0], dtype=float)
        if not spectrum.distribution and spectrum.is_histogram:
            values = values / np.diff(spectrum.x.values)
        return energy, values
    edges = spectrum.vertical.values
    widths = (np.diff(edges) if len(edges) == spectrum.n_spectra + 1
              else np.gradient(edges))[:, None]
    finite = np.isfinite(spectrum.values)
    total_width = np.sum(np.where(finite, widths, 0.0), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(total_width > 0, np.nansum(np.where(finite, spectrum.values, 0.0)
                                                     * widths, axis=0) / total_width, np.nan)
    return energy, values


def find_peaks_mev(energy_mev: np.ndarray, values: np.ndarray,
                   prominence_fraction: float = PEAK_PROMINENCE_FRACTION,
                   max_peaks: int = MAX_PEAKS,
                   min_energy_mev: float = MIN_PEAK_ENERGY_MEV) -> list[float]:
    """Peak positions (meV) of a curve, strongest (most prominent) first: local maxima at
    E > ``min_energy_mev`` standing out by ``prominence_fraction`` of the curve's maximum."""
    from scipy.signal import find_peaks  # scipy.signal: a second to import, only here

    energy = np.asarray(energy_mev, dtype=float)
    curve = np.asarray(values, dtype=float)
    keep = np.isfinite(curve) & (energy > min_energy_mev)
    if np.count_nonzero(keep) < 3:
        return []
    energy, curve = energy[keep], curve[keep]
    top = float(np.max(curve))
    if not top > 0:
        return []
    indices, properties = find_peaks(curve, prominence=prominence_fraction * top)
    order = np.argsort(properties["prominences"])[::-1][:max_peaks]
    return [round(float(energy[i]), 3) for i in indices[order]]
