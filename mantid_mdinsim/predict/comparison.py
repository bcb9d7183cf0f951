"""MD beside the harmonic spectrum: like for like, peak by peak, and why they differ.

* :func:`compare_with_harmonic`: an MD instrument spectrum and a harmonic one (both 1D or
  |Q|-averaged), refused when their logs record different scattering approximations
  (:mod:`mantid_mdinsim.approximation`) unless asked to flag instead; peaks of both, matched.
* :func:`match_peaks`: each harmonic peak paired with the nearest unclaimed MD peak within a
  tolerance (the same mode), with the shift MD - harmonic in meV.
* :func:`shape_difference`: how far apart two curves are in shape (each normalised to unit area
  over their common energies): half the integral of |a - b|, 0 (same) to 1 (disjoint).
* :func:`bragg_points` and :func:`bragg_crossings`: the Bragg reflections of the structure
  (neutron structure factor not zero) and where the instrument's |Q|(w) lines cross them: near a
  Bragg point the coherent S(q,w) is dominated by long-wavelength acoustic phonons, which the
  incoherent approximation spreads over all |Q|.
* :func:`explain_difference`: the sentences the report gives when the full MD spectrum and the
  incoherent approximation (or the harmonic one) differ markedly.

Units: meV, 1/Angstrom (2 pi included), Angstrom.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..approximation import (DESCRIPTIONS, FULL, INCOHERENT, approximation_of,
                             check_same_approximation)
from ..atomistic.inputs import load_structure
from ..errors import ParameterError
from ..instrument import DirectGeometryInstrument, direct_q_limits
from ..spectrum import Spectrum
from ..sqw import scattering_weights
from .choices import configured_instrument
from .report import find_peaks_mev, spectrum_1d

#: Peaks of MD and harmonic are the same mode when they are this many MD energy steps apart
#: or this fraction of the energy, whichever is larger (anharmonic shifts at room temperature
#: are a few percent).
MATCH_STEPS = 3.0
MATCH_FRACTION = 0.1
#: Two curves "differ markedly" above this shape difference (see shape_difference).
MARKED_DIFFERENCE = 0.15
#: A sample "scatters coherently" when the coherent share of its cross section exceeds this.
COHERENT_SCATTERER = 0.5
#: Reflections whose |F|^2 is below this fraction of the largest (sum |b|)^2 are absent.
ABSENT_FRACTION = 1e-6
#: At most this many Bragg |G| are named in a report.
MAX_BRAGG_NAMED = 4


@dataclass(frozen=True)
class BraggPoint:
    """A powder Bragg ring: |G| (1/Angstrom) and a representative (h k l) of the given cell."""

    hkl: tuple[int, int, int]
    q_inv_angstrom: float

    @property
    def label(self) -> str:
        return "(" + "".join(str(i) if i >= 0 else f"-{-i}" for i in self.hkl) + ")"


def match_peaks(md_peaks_mev: Sequence[float], harmonic_peaks_mev: Sequence[float],
                tolerance_mev: float | Sequence[float]) -> dict[str, Any]:
    """Pair the peaks of two curves: the closest pairs first, each peak used once, a pair only
    within ``tolerance_mev`` (one number, or one per harmonic peak).

    Returns ``{"matched": [{"harmonic_mev", "md_mev", "shift_mev"}...] (by harmonic energy),
    "md_only": [...], "harmonic_only": [...]}``; ``shift_mev`` = MD - harmonic.
    """
    md = [float(p) for p in md_peaks_mev]
    harmonic = [float(p) for p in harmonic_peaks_mev]
    tolerances = (np.full(len(harmonic), float(tolerance_mev))
                  if np.isscalar(tolerance_mev) else np.asarray(tolerance_mev, dtype=float))
    pairs = sorted((abs(m - h), i, j) for (i, h), (j, m) in
                   itertools.product(enumerate(harmonic), enumerate(md))
                   if abs(m - h) <= tolerances[i])
    used_h: set[int] = set()
    used_m: set[int] = set()
    matched = []
    for _, i, j in pairs:
        if i in used_h or j in used_m:
            continue
        used_h.add(i)
        used_m.add(j)
        matched.append({"harmonic_mev": harmonic[i], "md_mev": md[j],
                        "shift_mev": round(md[j] - harmonic[i], 3)})
    matched.sort(key=lambda m: m["harmonic_mev"])
    return {"matched": matched,
            "md_only": sorted(m for j, m in enumerate(md) if j not in used_m),
            "harmonic_only": sorted(h for i, h in enumerate(harmonic) if i not in used_h)}


def match_tolerances_mev(harmonic_peaks_mev: Sequence[float], step_mev: float) -> np.ndarray:
    """The matching tolerance at each harmonic peak: MATCH_STEPS energy steps or MATCH_FRACTION
    of the energy, whichever is larger."""
    peaks = np.asarray(harmonic_peaks_mev, dtype=float)
    return np.maximum(MATCH_STEPS * step_mev, MATCH_FRACTION * peaks)


def _energy_step(energy_mev: np.ndarray) -> float:
    steps = np.diff(np.asarray(energy_mev, dtype=float))
    return float(np.median(steps)) if steps.size else 1.0


def shape_difference(energy_a_mev: np.ndarray, values_a: np.ndarray,
                     energy_b_mev: np.ndarray, values_b: np.ndarray,
                     energy_min_mev: float = 0.0) -> float | None:
    """Half the integral of |a - b| after normalising each curve to unit area over the energies
    both cover (above ``energy_min_mev``; b interpolated onto a's energies): 0 for the same
    shape, 1 for curves with no overlap. None when there is nothing to compare."""
    energy = np.asarray(energy_a_mev, dtype=float)
    a = np.asarray(values_a, dtype=float)
    eb, b_values = np.asarray(energy_b_mev, dtype=float), np.asarray(values_b, dtype=float)
    finite_b = np.isfinite(b_values)
    if np.count_nonzero(finite_b) < 2:
        return None
    b = np.interp(energy, eb[finite_b], b_values[finite_b], left=np.nan, right=np.nan)
    keep = np.isfinite(a) & np.isfinite(b) & (energy > energy_min_mev)
    if np.count_nonzero(keep) < 3:
        return None
    a, b = np.clip(a[keep], 0.0, None), np.clip(b[keep], 0.0, None)
    if not (a.sum() > 0 and b.sum() > 0):
        return None
    return float(0.5 * np.sum(np.abs(a / a.sum() - b / b.sum())))


def compare_with_harmonic(md: Spectrum, harmonic: Spectrum, *,
                          allow_different_approximations: bool = False,
                          energy_min_mev: float = 0.0) -> dict[str, Any]:
    """An MD instrument spectrum beside a harmonic one of the same instrument.

    Both are reduced to one curve (:func:`~.report.spectrum_1d`). Their approximations are read
    from the logs (``scattering_approximation``); different ones raise
    :class:`~mantid_mdinsim.errors.ParameterError` unless ``allow_different_approximations``,
    when the result says so (``like_for_like`` false, ``warning``). Returns the approximation
    of each, the peaks of each (meV, by energy), the matched peaks with their shifts and the
    shape difference (:func:`shape_difference`).
    """
    md_approx, harmonic_approx = approximation_of(md.logs), approximation_of(harmonic.logs)
    result: dict[str, Any] = {"md_approximation": md_approx,
                              "harmonic_approximation": harmonic_approx}
    try:
        check_same_approximation(md.logs, harmonic.logs, first_name="the MD spectrum",
                                 second_name="the harmonic spectrum")
        result["like_for_like"] = md_approx is not None and md_approx == harmonic_approx
    except ParameterError:
        if not allow_different_approximations:
            raise
        result["like_for_like"] = False
        result["warning"] = (f"not like for like: the MD spectrum is the {md_approx} S(q,w) "
                             f"({DESCRIPTIONS[md_approx]}), the harmonic one the "
                             f"{harmonic_approx} ({DESCRIPTIONS[harmonic_approx]}); their "
                             "difference includes the scattering model")
    md_energy, md_values = spectrum_1d(md)
    h_energy, h_values = spectrum_1d(harmonic)
    md_peaks = sorted(find_peaks_mev(md_energy, md_values))
    h_peaks = sorted(find_peaks_mev(h_energy, h_values))
    result["md_peaks_mev"] = md_peaks
    result["harmonic_peaks_mev"] = h_peaks
    result.update(match_peaks(md_peaks, h_peaks,
                              match_tolerances_mev(h_peaks, _energy_step(md_energy))))
    result["shape_difference"] = shape_difference(md_energy, md_values, h_energy, h_values,
                                                  energy_min_mev)
    return result


# ----------------------------------------------------------------------------------------------
# Why the full S(q,w) differs from the incoherent approximation
# ----------------------------------------------------------------------------------------------
def bragg_points(cell_angstrom: np.ndarray, fractional_positions: np.ndarray,
                 scattering_lengths_fm: Sequence[complex], q_max_inv_angstrom: float
                 ) -> list[BraggPoint]:
    """The distinct |G| <= q_max of the cell's reciprocal lattice whose neutron structure factor
    F(G) = sum_j b_j exp(2 pi i h.s_j) is not zero (extinct reflections such as Si's (200) are
    left out), each with a representative (h k l) of that cell (non-negative, largest first).
    """
    cell = np.asarray(cell_angstrom, dtype=float)
    reciprocal = 2 * np.pi * np.linalg.inv(cell).T
    limits = [int(math.ceil(q_max_inv_angstrom / np.linalg.norm(b))) for b in reciprocal]
    ranges = [np.arange(-n, n + 1) for n in limits]
    hkl = np.stack(np.meshgrid(*ranges, indexing="ij"), -1).reshape(-1, 3)
    g = np.linalg.norm(hkl @ reciprocal, axis=1)
    keep = (g > 1e-9) & (g <= q_max_inv_angstrom)
    hkl, g = hkl[keep], g[keep]
    b = np.asarray(scattering_lengths_fm, dtype=complex)
    factor = np.exp(2j * np.pi * hkl @ np.asarray(fractional_positions, dtype=float).T) @ b
    strong = np.abs(factor) ** 2 > ABSENT_FRACTION * np.sum(np.abs(b)) ** 2
    points: dict[float, BraggPoint] = {}
    for indices, norm in zip(hkl[strong], g[strong]):
        key = round(float(norm), 4)
        candidate = tuple(sorted((abs(int(i)) for i in indices), reverse=True))
        if key not in points or candidate < points[key].hkl:
            points[key] = BraggPoint(candidate, float(norm))
    return [points[k] for k in sorted(points)]


def structure_bragg_points(structure_path: str, q_max_inv_angstrom: float) -> list[BraggPoint]:
    """:func:`bragg_points` of a structure file with the Sears coherent scattering lengths
    (the MD's own weights)."""
    atoms = load_structure(structure_path)
    symbols = atoms.get_chemical_symbols()
    weights = scattering_weights("neutron", symbols)
    lengths = [weights.neutron_b[s] for s in symbols]
    return bragg_points(atoms.cell.array, atoms.get_scaled_positions(), lengths,
                        q_max_inv_angstrom)


def bragg_crossings(points: Sequence[BraggPoint], instrument_parameters: Mapping[str, Any],
                    energy_min_mev: float, energy_max_mev: float) -> list[dict[str, Any]]:
    """Where the instrument measures at a Bragg |G|, between the two energies (meV).

    Indirect geometry: each bank's |Q|(w) line crosses |G| at one energy (``bank``,
    ``energy_mev``). Direct geometry: |G| lies within the measured |Q| range over an energy
    interval (``energy_mev`` its lower end, ``energy_max_mev`` its upper end).
    """
    instrument, run = configured_instrument(instrument_parameters)
    low = max(energy_min_mev, run.energy_range_mev[0])
    high = min(energy_max_mev, run.energy_range_mev[1])
    if isinstance(instrument, DirectGeometryInstrument):
        high = min(high, 0.999 * run.incident_energy_mev)
    if not high > low:
        return []
    energies = np.linspace(low, high, 2001)
    found: list[dict[str, Any]] = []
    if isinstance(instrument, DirectGeometryInstrument):
        q_low = np.full(energies.shape, np.inf)
        q_high = np.zeros(energies.shape)
        for angles in instrument.detector_angle_ranges_deg:
            a, b = direct_q_limits(energies, run.incident_energy_mev, angles)
            q_low, q_high = np.fmin(q_low, a), np.fmax(q_high, b)
        for point in points:
            inside = (q_low <= point.q_inv_angstrom) & (point.q_inv_angstrom <= q_high)
            if np.any(inside):
                found.append({"hkl": point.label, "q_inv_angstrom": round(point.q_inv_angstrom, 3),
                              "energy_mev": round(float(energies[inside][0]), 2),
                              "energy_max_mev": round(float(energies[inside][-1]), 2)})
        return found
    for bank in run.banks:
        line = bank.q_line(energies)
        for point in points:
            sign = np.sign(line - point.q_inv_angstrom)
            for i in np.flatnonzero(sign[:-1] * sign[1:] < 0):
                # Linear interpolation between the two grid energies around the crossing.
                fraction = (point.q_inv_angstrom - line[i]) / (line[i + 1] - line[i])
                energy = energies[i] + fraction * (energies[i + 1] - energies[i])
                found.append({"hkl": point.label, "q_inv_angstrom": round(point.q_inv_angstrom, 3),
                              "bank": bank.name, "energy_mev": round(float(energy), 2)})
    return sorted(found, key=lambda c: c["energy_mev"])


def explain_difference(coherent_fraction: float | None, difference: float | None,
                       crossings: Sequence[Mapping[str, Any]], instrument: str,
                       main_approximation: str | None,
                       unmatched_full_peaks_mev: Sequence[float] = ()) -> list[str]:
    """Sentences for the report when the full MD S(q,w) and the incoherent approximation differ
    markedly (``difference`` > MARKED_DIFFERENCE, or peaks of the full spectrum without a
    partner in the approximation), or, with the full S shown against a harmonic spectrum,
    whenever the sample scatters coherently."""
    marked = (difference is not None and difference > MARKED_DIFFERENCE) or bool(
        unmatched_full_peaks_mev)
    coherent = coherent_fraction is not None and coherent_fraction > COHERENT_SCATTERER
    if not marked and not (main_approximation == FULL and coherent):
        return []
    lines = []
    if difference is not None:
        lines.append(f"the full MD S(q,w) and its incoherent approximation differ in shape by "
                     f"{100 * difference:.0f}% (half the integral of |a - b| of unit-area "
                     "curves)" + (
                         "; the full spectrum's peak(s) at " + ", ".join(
                             f"{p:.1f}" for p in sorted(unmatched_full_peaks_mev))
                         + " meV have no partner in the approximation"
                         if unmatched_full_peaks_mev else ""))
    if coherent:
        lines.append(f"the sample scatters coherently ({100 * coherent_fraction:.1f}% of its "
                     "cross section is coherent): the measured S(q,w) holds interference "
                     "between atoms (phonon dispersion, Bragg points), which the harmonic "
                     "spectrum (like AbINS, incoherent approximation) leaves out")
    if crossings:
        named = ", ".join(
            f"{c['hkl']} |G| = {c['q_inv_angstrom']:.2f} 1/Angstrom "
            + (f"at {c['energy_mev']:.1f} meV ({c['bank']})" if "bank" in c
               else f"from {c['energy_mev']:.1f} to {c['energy_max_mev']:.1f} meV")
            for c in list(crossings)[:MAX_BRAGG_NAMED])
        lines.append(f"{instrument} measures at Bragg points: {named}; near them the coherent "
                     "S(q,w) is dominated by long-wavelength acoustic phonons, so the full "
                     "spectrum has strong low-energy acoustic intensity the incoherent "
                     "approximation spreads over all |Q|")
    if main_approximation == INCOHERENT:
        lines.append("the MD curve compared with the harmonic one is the incoherent "
                     "approximation (like for like); the full MD spectrum, what the "
                     "instrument measures, is drawn as its own curve")
    else:
        lines.append("the MD curve is the full S(q,w) and the harmonic one the incoherent "
                     "approximation: not like for like (give --approximation incoherent)")
    return lines
