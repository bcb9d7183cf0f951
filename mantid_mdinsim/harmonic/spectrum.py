"""Harmonic incoherent INS spectra from phonon modes (what the paper compared with AbINS).

The model is the incoherent approximation for a powder in the harmonic approximation, in the
CLIMAX/AbINS lineage, computed with abinslib's quantities (ISIS's reference implementation of
AbINS' equations). For atom k with mode displacement tensors B_k(q, nu) (Angstrom^2, with the
Bose factor n + 1 of phonon creation) and thermal displacement tensor A_k (abinslib's
"atomic displacements", half of CLIMAX' A, with 2n + 1)::

    S_k(|Q|, w) = sum_n S_k^(n)(|Q|, w)            n = 1 fundamentals, 2 overtones and
                                                   combinations, ... (quantum orders)

* n = 1 (abinslib's ``calculate_almost_isotropic_incoherent_fundamentals``, as Mantid's
  Abins)::

      S_k^(1) = sum_{q,nu} w_q |Q|^2 tr(B)/3 exp(-|Q|^2 (tr(2A) + 2 tr(B 2A)/tr(B))/5)
                delta(w - w_{q,nu})

  (``method="isotropic"``: abinslib's fully isotropic form, with exp(-2 |Q|^2 tr(A)/3)).
* n = 2, ``almost_isotropic``: the powder average of the second term of the expansion of
  exp(Q.U.Q), summed over all ordered pairs of modes (also across q-points, as incoherent
  scattering requires)::

      S_k^(2) = exp(-2|Q|^2 tr(A)/3) |Q|^4 / 30 sum_{a,b} [tr(B_a) tr(B_b) + 2 B_a:B_b]
                delta(w - w_a - w_b)

  which is evaluated as the convolution (g*g + 2 sum_ij G_ij*G_ij)/30 of the binned mode
  densities g = sum w_q tr(B) delta(w - w_qnu) and G_ij = sum w_q B_ij delta(...). This is
  abinslib's ``calculate_almost_isotropic_incoherent_combinations`` with the weight 1/30 for
  every ordered pair: abinslib 0.3 weights off-diagonal pairs 1/15 (twice; its full
  combination spectrum of an isotropic Einstein oscillator is 7/5 of the exact
  (|Q|^2 u^2)^2/2), and its ``mantid_like_combination_spectra`` (Mantid's Abins) halves the
  overtones (7/10 of exact). ``method="abins"`` reproduces the latter on purpose.
* n >= 3 (and every n >= 2 for ``isotropic``): the fully isotropic approximation,
  f^{*n}/n! with f = g/3 (the self-convolution Mantid's Abins uses for high orders).

Only neutron energy loss (w > 0, phonon creation) is computed, as in AbINS; the elastic line
(n = 0) is left out. Modes below ``frequency_min_mev`` (acoustic modes at Gamma, imaginary
modes) are dropped, as abinslib does (its default 10 cm^-1).

Each atom's S_k is weighted by its cross section (Sears 1992, as shipped with euphonic):
``sigma_k / (4 pi)`` in fm^2 divided by the number of atoms (``normalisation="per_atom"``, the
units of the MD S(Q,w): fm^2/meV per atom), or ``sigma_k`` in barn summed over the cell and
integrated over each bin (``normalisation="abins"``: the numbers of Mantid's Abins workspaces).

Outputs are :class:`~mantid_mdinsim.spectrum.Spectrum` objects: a 2D S(|Q|, w) map in the
layout of the MD S(|Q|, w) (X energy transfer in meV, ``DeltaE``; vertical |Q| in 1/Angstrom,
``MomentumTransfer``), or a 1D S(w) along instrument |Q|(w) lines (AbINS' indirect-geometry
spectra), named as Abins names its workspaces (``<name>_total``, ``<name>_<element>``,
``<name>_quantum_event_<n>``).
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from scipy import sparse
from scipy.signal import fftconvolve

from ..approximation import INCOHERENT
from ..approximation import LOG_NAME as APPROXIMATION_LOG
from ..errors import MdinsimError, ParameterError
from ..progress import ProgressReporter, ensure_progress
from ..spectrum import Axis, Spectrum, energy_axis, momentum_axis
from ..units import MEV_PER_INVERSE_CM

if TYPE_CHECKING:  # for annotations only: euphonic takes seconds to import
    from euphonic import QpointPhononModes

METHOD_CHOICES = ("almost_isotropic", "isotropic", "abins")
CROSS_SECTION_CHOICES = ("incoherent", "total", "coherent")
NORMALISATION_CHOICES = ("per_atom", "abins")
#: abinslib's (and Abins') default threshold below which modes are dropped: 10 cm^-1.
DEFAULT_FREQUENCY_MIN_MEV = 10.0 * MEV_PER_INVERSE_CM
#: Highest quantum order (Mantid's Abins2D autoconvolution goes to 10).
MAX_ORDER = 10
#: Mode-displacement arrays are built for this many numbers at most at a time (chunks of
#: q-points), about 160 MB.
_CHUNK_ELEMENTS = 20_000_000
#: Internal energy grid of the self-convolutions: this many points per output bin.
_OVERSAMPLING = 4
_CROSS_SECTION_KEYS = {"incoherent": "incoherent_cross_section",
                       "coherent": "coherent_cross_section",
                       "total": "scattering_cross_section"}
_BARN_IN_FM2 = 100.0
UNIT_LABEL_PER_ATOM = "S(Q,E) (fm^2/meV per atom)"
UNIT_LABEL_ABINS = "S / Arbitrary Units"


class MissingHarmonicDependency(MdinsimError, ImportError):
    """abinslib (the 'harmonic' extra) is not installed."""


def _abinslib():
    try:  # abinslib: the optional 'harmonic' extra
        import abinslib.almost_isotropic_incoherent as almost
        import abinslib.displacements as displacements
        import abinslib.isotropic_incoherent as isotropic
    except ImportError as error:
        raise MissingHarmonicDependency(
            "the harmonic comparison needs abinslib, in mdinsim's 'harmonic' extra: "
            "pip install 'mantid-mdinsim[harmonic]'") from error
    return displacements, isotropic, almost


# -- results ---------------------------------------------------------------------------------
@dataclass
class HarmonicSpectra:
    """The harmonic spectrum, its quantum orders and its elements.

    ``total`` is the sum of all ``orders`` and of all ``elements``; each is a
    :class:`Spectrum` with the same axes.
    """

    total: Spectrum
    orders: dict[int, Spectrum] = field(default_factory=dict)
    elements: dict[str, Spectrum] = field(default_factory=dict)

    def workspaces(self) -> list[Spectrum]:
        """All spectra, total first (as Mantid's Abins groups them)."""
        return [self.total, *self.elements.values(), *self.orders.values()]


@dataclass
class _Prepared:
    """Per-mode and per-atom quantities, independent of |Q| (one pass over the modes)."""

    frequencies_mev: np.ndarray      # (n_modes,) flattened over q-points
    weights: np.ndarray              # (n_modes,) q-point weight of each mode
    trace_b: np.ndarray              # (n_modes, n_atoms) tr(B_{n+1}) Angstrom^2
    dw_exponent: np.ndarray          # (n_modes, n_atoms) order-1 exponent per |Q|^2, A^2
    trace_a: np.ndarray              # (n_atoms,) tr(A), Angstrom^2
    higher: dict[int, np.ndarray]    # order -> (n_atoms, n_bins) S^(n)/|Q|^2n per meV
    atom_weights: np.ndarray         # (n_atoms,) cross-section weights
    symbols: list[str]


# -- cross sections --------------------------------------------------------------------------
def atom_cross_sections_barn(modes: "QpointPhononModes", cross_section: str = "incoherent"
                             ) -> np.ndarray:
    """Cross section (barn) of each atom of the cell, by element and mass (Sears 1992, the
    table euphonic ships and abinslib's ``apply_weights`` uses). A cross section the table
    leaves out (Sears gives O's incoherent one as 0.000(8) barn) counts as zero."""
    from euphonic.isotopes import sears_1992  # euphonic: seconds to import (not on --help)

    if cross_section not in CROSS_SECTION_CHOICES:
        raise ParameterError("cross_section", f"'{cross_section}' is not a choice",
                             "choose one of: " + ", ".join(CROSS_SECTION_CHOICES))
    key = _CROSS_SECTION_KEYS[cross_section]
    crystal = modes.crystal
    values = []
    for symbol, mass in zip(crystal.atom_type, crystal.atom_mass.to("amu").magnitude):
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # euphonic prints each match
                item = sears_1992.get_item(str(symbol), float(mass))
        except Exception:
            raise ParameterError("cross_section", f"no neutron cross section is tabulated "
                                 f"for '{symbol}' (mass {mass:g} amu)",
                                 "label atoms with element symbols") from None
        value = item.get(key)
        magnitude = float(np.real(value.to("barn").magnitude)) if value is not None else 0.0
        values.append(magnitude if np.isfinite(magnitude) else 0.0)
    return np.asarray(values)


# -- preparation -----------------------------------------------------------------------------
def normalised_modes(modes: "QpointPhononModes") -> "QpointPhononModes":
    """The same modes with q-point weights summing to one (CASTEP .phonon files may list part
    of a grid; abinslib's Debye-Waller sum takes the weights as they are)."""
    from euphonic import QpointPhononModes  # seconds to import: not on the --help path

    total = float(np.sum(modes.weights))
    if not total > 0:
        raise ParameterError("phonons", "the q-point weights sum to zero",
                             "give phonon modes with positive q-point weights")
    return QpointPhononModes(modes.crystal, modes.qpts, modes.frequencies, modes.eigenvectors,
                             weights=np.asarray(modes.weights, dtype=float) / total)


def _slice_modes(modes: "QpointPhononModes", start: int, stop: int) -> "QpointPhononModes":
    from euphonic import QpointPhononModes  # seconds to import: not on the --help path

    return QpointPhononModes(modes.crystal, modes.qpts[start:stop],
                             modes.frequencies[start:stop], modes.eigenvectors[start:stop],
                             weights=modes.weights[start:stop])


def _chunk_bounds(modes: "QpointPhononModes") -> list[tuple[int, int]]:
    n_qpts, n_branches = modes.frequencies.shape
    per_qpoint = n_branches * modes.crystal.n_atoms * 9
    size = max(1, _CHUNK_ELEMENTS // per_qpoint)
    return [(start, min(start + size, n_qpts)) for start in range(0, n_qpts, size)]


def _fine_grid(energy_bins_mev: np.ndarray) -> tuple[float, int]:
    """Spacing (meV) and number of points of the internal grid w_i = i * spacing."""
    widths = np.diff(energy_bins_mev)
    spacing = float(widths.min()) / _OVERSAMPLING
    top = max(float(energy_bins_mev[-1]), spacing)
    return spacing, int(math.ceil(top / spacing)) + 2


def _deposit(frequencies_mev: np.ndarray, values: np.ndarray, spacing: float, n_fine: int
             ) -> np.ndarray:
    """Densities (per meV) on w_i = i * spacing from weighted lines: each line's weight is
    shared linearly between its two neighbouring grid points, which keeps its mean energy, so
    that the n-fold self-convolutions put order n at n times the mode energy (rounding to the
    nearest point would shift order n by up to n/2 grid steps).

    ``values`` is (n_lines, n_rows); the result (n_rows, n_fine). Lines beyond the grid are
    dropped (all energies are positive, so they cannot reach the grid in any order)."""
    position = np.asarray(frequencies_mev, dtype=float) / spacing
    lower = np.floor(position).astype(int)
    upper_share = position - lower
    keep = (lower >= 0) & (lower + 1 < n_fine)
    lower, upper_share, values = lower[keep], upper_share[keep], values[keep]
    result = np.zeros((values.shape[1], n_fine))
    for row in range(values.shape[1]):
        result[row] = (np.bincount(lower, weights=values[:, row] * (1.0 - upper_share),
                                   minlength=n_fine)
                       + np.bincount(lower + 1, weights=values[:, row] * upper_share,
                                     minlength=n_fine))
    return result / spacing


def _fine_to_bins(density: np.ndarray, spacing: float, energy_bins_mev: np.ndarray
                  ) -> np.ndarray:
    """Rebin densities (per meV) at w_i = i * spacing (bins of one spacing centred there) onto
    ``energy_bins_mev``, conserving the integral (linear cumulative interpolation)."""
    density = np.atleast_2d(density)
    n_fine = density.shape[-1]
    fine_edges = (np.arange(n_fine + 1) - 0.5) * spacing
    cumulative = np.concatenate([np.zeros((density.shape[0], 1)),
                                 np.cumsum(density * spacing, axis=1)], axis=1)
    at_edges = np.stack([np.interp(energy_bins_mev, fine_edges, row) for row in cumulative])
    return np.diff(at_edges, axis=1) / np.diff(energy_bins_mev)


def _prepare(modes: "QpointPhononModes", temperature_k: float, energy_bins_mev: np.ndarray,
             max_order: int, method: str, frequency_min_mev: float,
             atom_weights: np.ndarray, progress: ProgressReporter) -> _Prepared:
    from euphonic import Quantity  # seconds to import: not on the --help path

    displacements_module, _, almost = _abinslib()
    Displacements = displacements_module.Displacements
    temperature = Quantity(float(temperature_k), "K")
    frequency_min = Quantity(float(frequency_min_mev), "meV")
    n_atoms = modes.crystal.n_atoms
    chunks = _chunk_bounds(modes)
    cache: dict[int, Any] = {}

    def displacements(index: int):
        if index in cache:
            return cache[index]
        start, stop = chunks[index]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = Displacements.from_modes(_slice_modes(modes, start, stop), temperature,
                                              frequency_min=frequency_min)
        if len(chunks) == 1:
            cache[index] = result
        return result

    # Pass 1: the thermal displacement tensor A of each atom (sum over every q-point).
    atomic_tensor = np.zeros((n_atoms, 3, 3))
    for index in range(len(chunks)):
        atomic_tensor += displacements(index).to_atomic_displacements().to(
            "angstrom**2").magnitude
        progress.report(0.3 * (index + 1) / len(chunks), "Debye-Waller factors")
    atomic = Quantity(atomic_tensor, "angstrom**2")
    trace_a = np.trace(atomic_tensor, axis1=1, axis2=2)

    spacing, n_fine = _fine_grid(energy_bins_mev)
    need_fine = max_order >= 2 and method != "abins"
    g = np.zeros((n_atoms, n_fine))
    tensor = np.zeros((n_atoms, 6, n_fine)) if (method == "almost_isotropic"
                                                and max_order >= 2) else None
    frequencies, weights, traces, exponents = [], [], [], []
    abins_second = np.zeros((n_atoms, len(energy_bins_mev) - 1))
    # Pass 2: per-mode quantities, and the binned densities g, G for the higher orders.
    for index, (start, stop) in enumerate(chunks):
        chunk = displacements(index)
        b = chunk.n_plus_one.to("angstrom**2").magnitude        # (q, nu, k, 3, 3)
        frequency = modes.frequencies[start:stop].to("meV").magnitude
        weight = np.broadcast_to(modes.weights[start:stop, np.newaxis], frequency.shape)
        trace_b = np.einsum("qnkii->qnk", b)
        if method == "isotropic":
            exponent = np.broadcast_to(2.0 * trace_a / 3.0, trace_b.shape)
        else:
            # abinslib's almost-isotropic Debye-Waller exponent per |Q|^2
            # (calculate_almost_isotropic_incoherent_fundamentals), split from its |Q|^2 so
            # that many |Q| rows reuse it; tests compare with abinslib's own function.
            a2 = 2.0 * atomic_tensor
            ba_trace = np.einsum("qnkij,kji->qnk", b, a2)
            inverse = np.divide(1.0, trace_b, out=np.zeros_like(trace_b),
                                where=trace_b != 0.0)
            exponent = (np.trace(a2, axis1=1, axis2=2)[np.newaxis, np.newaxis, :]
                        + 2.0 * ba_trace * inverse) / 5.0
        frequencies.append(frequency.reshape(-1))
        weights.append(weight.reshape(-1))
        traces.append(trace_b.reshape(-1, n_atoms))
        exponents.append(np.asarray(exponent).reshape(-1, n_atoms))
        if need_fine:
            lines = frequency.reshape(-1)
            g += _deposit(lines, (weight[..., np.newaxis] * trace_b).reshape(-1, n_atoms),
                          spacing, n_fine)
            if tensor is not None:
                pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]
                for component, (i, j) in enumerate(pairs):
                    values = (weight[..., np.newaxis] * b[..., i, j]).reshape(-1, n_atoms)
                    tensor[:, component] += _deposit(lines, values, spacing, n_fine)
        if method == "abins" and max_order >= 2:
            abins_second += _abins_second_order(almost, _slice_modes(modes, start, stop), chunk,
                                                atomic, energy_bins_mev)
        progress.report(0.3 + 0.5 * (index + 1) / len(chunks), "mode intensities")
    cache.clear()

    higher: dict[int, np.ndarray] = {}
    if max_order >= 2:
        if method == "abins":
            higher[2] = abins_second
        elif method == "almost_isotropic":
            # B_a:B_b = sum_ij B_a,ij B_b,ij: the off-diagonal components count twice.
            factors = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0])
            second = _self_convolve(g, 2, spacing)
            for component in range(6):
                second += 2.0 * factors[component] * _self_convolve(tensor[:, component], 2,
                                                                    spacing)
            # Every pair term is >= 0 (B are positive semi-definite); FFT rounding is not.
            higher[2] = _fine_to_bins(np.clip(second / 30.0, 0.0, None), spacing,
                                      energy_bins_mev)
        f = g / 3.0
        power = f
        for order in range(2, max_order + 1 if method != "abins" else 2):
            power = _convolve(power, f, spacing)
            if order not in higher:
                higher[order] = _fine_to_bins(np.clip(power, 0.0, None) / math.factorial(order),
                                              spacing, energy_bins_mev)
    progress.report(0.9, "higher orders")
    return _Prepared(frequencies_mev=np.concatenate(frequencies),
                     weights=np.concatenate(weights), trace_b=np.concatenate(traces),
                     dw_exponent=np.concatenate(exponents), trace_a=trace_a, higher=higher,
                     atom_weights=atom_weights,
                     symbols=[str(s) for s in modes.crystal.atom_type])


def _convolve(first: np.ndarray, second: np.ndarray, spacing: float) -> np.ndarray:
    """(first * second)(w) for densities on w_i = i * spacing, per row, truncated. Not clipped:
    the off-diagonal tensor components have negative parts (only sums are non-negative)."""
    n_fine = first.shape[-1]
    return fftconvolve(first, second, axes=-1)[..., :n_fine] * spacing


def _self_convolve(density: np.ndarray, order: int, spacing: float) -> np.ndarray:
    result = density
    for _ in range(order - 1):
        result = _convolve(result, density, spacing)
    return result


def _abins_second_order(almost, modes, chunk, atomic, energy_bins_mev: np.ndarray
                        ) -> np.ndarray:
    """abinslib's Mantid-like second order at |Q| = 1/Angstrom without its Debye-Waller
    factor, per atom (n_atoms, n_bins), per meV."""
    from euphonic import Quantity  # seconds to import: not on the --help path

    bins = Quantity(np.asarray(energy_bins_mev, dtype=float), "meV")
    unit_q2 = Quantity(np.ones(len(energy_bins_mev) - 1), "angstrom**-2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spectra = almost.mantid_like_combination_spectra(modes, chunk, atomic, unit_q2, bins)
    values = spectra.y_data.to("1/meV").magnitude
    # Undo the Debye-Waller factor at |Q|^2 = 1 that abinslib applied (isotropic form).
    trace_a = np.trace(atomic.to("angstrom**2").magnitude, axis1=1, axis2=2)
    return values / np.exp(-2.0 * trace_a / 3.0)[:, np.newaxis]


# -- evaluation at |Q| -----------------------------------------------------------------------
def _binning_matrix(frequencies_mev: np.ndarray, energy_bins_mev: np.ndarray
                    ) -> sparse.csr_matrix:
    """One-hot (n_modes, n_bins) map of each mode to its energy bin, divided by the bin width
    (so products are densities per meV, as abinslib's binning)."""
    index = np.searchsorted(energy_bins_mev, frequencies_mev, side="right") - 1
    inside = (index >= 0) & (index < len(energy_bins_mev) - 1)
    rows = np.nonzero(inside)[0]
    widths = np.diff(energy_bins_mev)
    return sparse.csr_matrix((1.0 / widths[index[inside]], (rows, index[inside])),
                             shape=(len(frequencies_mev), len(energy_bins_mev) - 1))


def _first_order(prepared: _Prepared, q2_rows: np.ndarray, atoms: np.ndarray,
                 binning: sparse.csr_matrix) -> np.ndarray:
    """Order-1 S (n_rows, n_bins) for ``q2_rows`` (n_rows, n_modes) |Q|^2 per mode,
    summed over ``atoms`` with their weights."""
    result = np.zeros((q2_rows.shape[0], binning.shape[1]))
    base = (prepared.weights[:, np.newaxis] * prepared.trace_b[:, atoms] / 3.0
            * prepared.atom_weights[atoms])                               # (modes, atoms)
    exponent = prepared.dw_exponent[:, atoms]
    # Rows in blocks so that the (rows, modes, atoms) Debye-Waller array stays small.
    block = max(1, 4_000_000 // max(1, base.size))
    for start in range(0, q2_rows.shape[0], block):
        q2 = np.asarray(q2_rows[start:start + block])                     # (rows, modes)
        rows = q2 * np.einsum("mk,rmk->rm", base, np.exp(-q2[:, :, np.newaxis] * exponent))
        result[start:start + block] = (binning.T @ rows.T).T
    return result


def _higher_order(prepared: _Prepared, order: int, q2_bins: np.ndarray, atoms: np.ndarray
                  ) -> np.ndarray:
    """Order-n S (n_rows, n_bins) for ``q2_bins`` (n_rows, n_bins) |Q|^2 at each bin."""
    result = np.zeros(q2_bins.shape)
    # One atom at a time: a (rows, bins, atoms) Debye-Waller array would be large.
    for k in atoms:
        density = prepared.higher[order][k] * prepared.atom_weights[k]
        result += np.exp(-2.0 * q2_bins * prepared.trace_a[k] / 3.0) * density[np.newaxis, :]
    return q2_bins ** order * result


def _check_common(temperature_k: float, energy_bins_mev: np.ndarray, max_order: int,
                  method: str, frequency_min_mev: float) -> np.ndarray:
    bins = np.asarray(energy_bins_mev, dtype=float)
    if bins.ndim != 1 or len(bins) < 2 or np.any(np.diff(bins) <= 0):
        raise ParameterError("energy_bins_mev", "the energy bin edges must increase",
                             "give at least two increasing edges (meV)")
    if not (np.isfinite(temperature_k) and temperature_k >= 0):
        raise ParameterError("temperature_k", f"{temperature_k:g} K is out of range",
                             "it must be >= 0 K")
    if not 1 <= int(max_order) <= MAX_ORDER:
        raise ParameterError("max_order", f"{max_order} is out of range",
                             f"it must be 1 to {MAX_ORDER}")
    if method not in METHOD_CHOICES:
        raise ParameterError("method", f"'{method}' is not a choice",
                             "choose one of: " + ", ".join(METHOD_CHOICES))
    if method == "abins" and max_order > 2:
        raise ParameterError("max_order", f"method 'abins' computes orders 1 and 2 only "
                             f"(Mantid's Abins without autoconvolution), not {max_order}",
                             "use --max-order 2, or method almost_isotropic for higher orders")
    if not frequency_min_mev >= 0:
        raise ParameterError("frequency_min_mev", f"{frequency_min_mev:g} meV is out of range",
                             "it must be >= 0 meV")
    return bins


def _atom_weights(modes: "QpointPhononModes", cross_section: str, normalisation: str
                  ) -> np.ndarray:
    sigma = atom_cross_sections_barn(modes, cross_section)
    if normalisation == "per_atom":
        return sigma * _BARN_IN_FM2 / (4.0 * np.pi) / modes.crystal.n_atoms
    if normalisation == "abins":
        return sigma
    raise ParameterError("normalisation", f"'{normalisation}' is not a choice",
                         "choose one of: " + ", ".join(NORMALISATION_CHOICES))


def _element_groups(symbols: list[str]) -> dict[str, np.ndarray]:
    groups: dict[str, list[int]] = {}
    for index, symbol in enumerate(symbols):
        groups.setdefault(symbol, []).append(index)
    return {symbol: np.asarray(indices) for symbol, indices in sorted(groups.items())}


def _spectrum(values: np.ndarray, energy_bins_mev: np.ndarray, vertical: Axis | None,
              name: str, title: str, normalisation: str, logs: dict[str, Any]) -> Spectrum:
    if normalisation == "abins":
        # Mantid's Abins workspaces hold S integrated over each bin (not a distribution).
        values = values * np.diff(energy_bins_mev)[np.newaxis, :]
        return Spectrum(x=energy_axis(energy_bins_mev), values=values, vertical=vertical,
                        distribution=False, y_unit="Arbitrary Units",
                        y_unit_label=UNIT_LABEL_ABINS, title=title, name=name, logs=dict(logs))
    return Spectrum(x=energy_axis(energy_bins_mev), values=values, vertical=vertical,
                    distribution=True, y_unit="Arbitrary Units",
                    y_unit_label=UNIT_LABEL_PER_ATOM, title=title, name=name, logs=dict(logs))


def _assemble(prepared: _Prepared, max_order: int, energy_bins_mev: np.ndarray,
              q2_modes: Callable[[], np.ndarray], q2_bins: np.ndarray,
              combine: Callable[[np.ndarray], np.ndarray], vertical: Axis | None, name: str,
              title: str, normalisation: str, logs: dict[str, Any]) -> HarmonicSpectra:
    """Evaluate every order for every element and build the spectra."""
    binning = _binning_matrix(prepared.frequencies_mev, energy_bins_mev)
    groups = _element_groups(prepared.symbols)
    q2_rows = q2_modes()
    per_order = {order: 0.0 for order in range(1, max_order + 1)}
    per_element: dict[str, Any] = {}
    for symbol, atoms in groups.items():
        element_total = 0.0
        for order in range(1, max_order + 1):
            if order == 1:
                values = _first_order(prepared, q2_rows, atoms, binning)
            else:
                values = _higher_order(prepared, order, q2_bins, atoms)
            values = combine(values)
            per_order[order] = per_order[order] + values
            element_total = element_total + values
        per_element[symbol] = element_total
    total = sum(per_element.values())
    base_logs = dict(logs)
    result = HarmonicSpectra(total=_spectrum(total, energy_bins_mev, vertical, f"{name}_total",
                                             f"{title}: total", normalisation, base_logs))
    for symbol, values in per_element.items():
        result.elements[symbol] = _spectrum(values, energy_bins_mev, vertical,
                                            f"{name}_{symbol}", f"{title}: {symbol}",
                                            normalisation, {**base_logs, "element": symbol})
    for order, values in per_order.items():
        result.orders[order] = _spectrum(values, energy_bins_mev, vertical,
                                         f"{name}_quantum_event_{order}",
                                         f"{title}: quantum order {order}", normalisation,
                                         {**base_logs, "quantum_order": order})
    return result


def _logs(temperature_k: float, max_order: int, method: str, cross_section: str,
          normalisation: str, frequency_min_mev: float, modes) -> dict[str, Any]:
    return {"harmonic_temperature_k": float(temperature_k), "harmonic_max_order": int(max_order),
            "harmonic_method": method, "harmonic_cross_section": cross_section,
            "harmonic_normalisation": normalisation,
            "harmonic_frequency_min_mev": float(frequency_min_mev),
            "harmonic_n_qpoints": int(modes.qpts.shape[0]),
            "harmonic_model": "incoherent approximation, powder (abinslib "
                              + _abinslib_version() + ")",
            # Like MDComputeSqw's --approximation incoherent: what the MD is compared with.
            APPROXIMATION_LOG: INCOHERENT}


def _abinslib_version() -> str:
    try:  # abinslib: the optional 'harmonic' extra
        from abinslib.util import get_version
        return get_version()
    except ImportError:  # pragma: no cover - checked in _abinslib()
        return "missing"


# -- public entry points ---------------------------------------------------------------------
def harmonic_sqw(modes: "QpointPhononModes", *, temperature_k: float,
                 q_bins_inv_angstrom: np.ndarray, energy_bins_mev: np.ndarray,
                 max_order: int = 2, method: str = "almost_isotropic",
                 cross_section: str = "incoherent", normalisation: str = "per_atom",
                 frequency_min_mev: float = DEFAULT_FREQUENCY_MIN_MEV, name: str = "harmonic",
                 progress: ProgressReporter | None = None) -> HarmonicSpectra:
    """Harmonic incoherent S(|Q|, w) map, in the layout of the MD S(|Q|, w).

    Parameters
    ----------
    modes
        euphonic ``QpointPhononModes`` on a q-mesh (weights are normalised here).
    temperature_k
        Temperature of the Bose factors (K).
    q_bins_inv_angstrom
        |Q| bin edges (1/Angstrom, 2 pi included); each row is evaluated at its bin centre.
    energy_bins_mev
        Energy-transfer bin edges (meV, positive = neutron energy loss).
    max_order
        Highest quantum order (1 fundamentals, 2 + overtones and binary combinations, ...).
    method, cross_section, normalisation, frequency_min_mev
        See the module documentation.

    Returns
    -------
    :class:`HarmonicSpectra` of Spectrum maps: X energy transfer (meV bin edges, ``DeltaE``),
    vertical |Q| (bin edges, ``MomentumTransfer``), values S(|Q|, w) per meV.
    """
    progress = ensure_progress(progress)
    energy_bins = _check_common(temperature_k, energy_bins_mev, max_order, method,
                                frequency_min_mev)
    q_bins = np.asarray(q_bins_inv_angstrom, dtype=float)
    if q_bins.ndim != 1 or len(q_bins) < 2 or np.any(np.diff(q_bins) <= 0) or q_bins[0] < 0:
        raise ParameterError("q_bins_inv_angstrom", "the |Q| bin edges must increase from "
                             ">= 0", "give at least two increasing edges (1/Angstrom)")
    modes = normalised_modes(modes)
    atom_weights = _atom_weights(modes, cross_section, normalisation)
    prepared = _prepare(modes, temperature_k, energy_bins, int(max_order), method,
                        frequency_min_mev, atom_weights, progress.sub(0.0, 0.8))
    q_centres = 0.5 * (q_bins[1:] + q_bins[:-1])
    q2 = q_centres ** 2
    n_modes = len(prepared.frequencies_mev)
    logs = _logs(temperature_k, max_order, method, cross_section, normalisation,
                 frequency_min_mev, modes)
    result = _assemble(prepared, int(max_order), energy_bins,
                       lambda: np.broadcast_to(q2[:, np.newaxis], (len(q2), n_modes)),
                       np.broadcast_to(q2[:, np.newaxis], (len(q2), len(energy_bins) - 1)),
                       lambda values: values, momentum_axis(q_bins), name,
                       "harmonic S(Q,E)", normalisation, logs)
    progress.report(1.0, "harmonic S(Q,E) done")
    return result


def harmonic_spectrum_1d(modes: "QpointPhononModes", *, temperature_k: float,
                         energy_bins_mev: np.ndarray,
                         q_lines: Sequence[Callable[[np.ndarray], np.ndarray] | float],
                         line_weights: Sequence[float] | None = None, max_order: int = 2,
                         method: str = "almost_isotropic", cross_section: str = "incoherent",
                         normalisation: str = "per_atom",
                         frequency_min_mev: float = DEFAULT_FREQUENCY_MIN_MEV,
                         name: str = "harmonic",
                         progress: ProgressReporter | None = None) -> HarmonicSpectra:
    """Harmonic incoherent S(w) measured along |Q|(w) lines (AbINS' 1D spectra).

    ``q_lines`` are functions giving |Q| (1/Angstrom) for energy transfers (meV), one per
    detector bank (for an indirect-geometry bank at 2theta with final energy E_f,
    ``lambda w: mantid_mdinsim.instrument.kinematics.indirect_q_line(w, E_f, 2theta)``), or
    fixed |Q| values; where a line gives NaN the bank measures nothing. The spectrum is the
    ``line_weights``-weighted mean over the lines (equal weights by default). As in abinslib
    and Abins, a fundamental is evaluated at the |Q| of its own energy and the higher orders
    at the |Q| of each bin centre.
    """
    progress = ensure_progress(progress)
    energy_bins = _check_common(temperature_k, energy_bins_mev, max_order, method,
                                frequency_min_mev)
    if len(q_lines) == 0:
        raise ParameterError("q_lines", "no |Q|(w) line given",
                             "give at least one bank (a function of w, or a fixed |Q|)")
    weights = np.ones(len(q_lines)) if line_weights is None else np.asarray(line_weights,
                                                                             dtype=float)
    if weights.shape != (len(q_lines),) or np.any(weights < 0) or weights.sum() <= 0:
        raise ParameterError("line_weights", "need one non-negative weight per line",
                             "give as many weights as lines, not all zero")
    weights = weights / weights.sum()
    modes = normalised_modes(modes)
    atom_weights = _atom_weights(modes, cross_section, normalisation)
    prepared = _prepare(modes, temperature_k, energy_bins, int(max_order), method,
                        frequency_min_mev, atom_weights, progress.sub(0.0, 0.8))
    centres = 0.5 * (energy_bins[1:] + energy_bins[:-1])

    def evaluate(line, energies: np.ndarray) -> np.ndarray:
        if callable(line):
            q = np.asarray(line(energies), dtype=float)
        else:
            q = np.full(energies.shape, float(line))
        return np.where(np.isfinite(q), q, np.nan) ** 2

    q2_modes = np.stack([evaluate(line, prepared.frequencies_mev) for line in q_lines])
    q2_bins = np.stack([evaluate(line, centres) for line in q_lines])
    # A bank that cannot reach an energy (NaN |Q|) contributes nothing there: every order
    # carries a factor |Q|^2n, so |Q| = 0 gives zero.
    q2_modes = np.where(np.isfinite(q2_modes), q2_modes, 0.0)
    q2_bins = np.where(np.isfinite(q2_bins), q2_bins, 0.0)
    logs = _logs(temperature_k, max_order, method, cross_section, normalisation,
                 frequency_min_mev, modes)
    logs["harmonic_line_weights"] = weights

    def combine(values: np.ndarray) -> np.ndarray:
        return (weights[:, np.newaxis] * values).sum(axis=0, keepdims=True)

    result = _assemble(prepared, int(max_order), energy_bins, lambda: q2_modes, q2_bins,
                       combine, None, name, "harmonic S(E)", normalisation, logs)
    progress.report(1.0, "harmonic S(E) done")
    return result
