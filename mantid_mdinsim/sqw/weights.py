"""Scattering weights of the partial structure factors (eq. 5 of the paper).

The total is

    S(q, w) = sum_{a<=b} Re(conj(f_a(q)) f_b(q)) S_ab(q, w)  +  sum_a w_a^inc S_a^self(q, w)

where ``S_ab`` is the coherent partial of the species pair (both orders included for a != b, as
dynasor's ``Sqw_coh_A_B``) and ``S_a^self`` the incoherent (self) part of species a, both
normalised by the total number of atoms. The weights:

* ``neutron``: ``f_a = b_coh,a`` (bound coherent scattering length, fm) and
  ``w_a^inc = sigma_inc,a / (4 pi)`` (fm^2) from the incoherent cross section of the natural
  element (or isotope: ``D``, ``T``), the values of Sears, Neutron News 3, 26 (1992), as shipped
  with euphonic. sigma_inc includes the isotope incoherence of the natural element (so Ni has
  5.2 barn); dynasor's NeutronScatteringLengths instead squares an abundance-averaged b_inc,
  which leaves isotope incoherence out. The total is then d^2sigma/(dOmega dE) per atom divided
  by k_f/k_i, in fm^2/meV (1 barn = 100 fm^2).
* ``xray``: ``f_a(|q|)``, the atomic form factors (Waasmaier and Kirfel 1995, via dynasor), in
  electrons; for hydrogen, which that table lacks, the exact form factor of the hydrogen atom,
  ``(1 + (q a0 / 2)^2)^-2``. No incoherent (Compton) part.
* ``electron``: the electron scattering factors ``f_a(|q|)`` (Peng et al. 1996, via dynasor), in
  Angstrom. No incoherent part.
* ``none``: ``f_a = 1``: the number-density S(q, w) of eqs. 3-4 (the total is the coherent
  part); the incoherent part, if computed, is given unweighted and not added to the total.

The incoherent approximation (``--approximation incoherent``, see
:mod:`mantid_mdinsim.approximation`) replaces the total by

    S_inc.approx(q, w) = sum_a <|f_a|^2> S_a^self(q, w)

where ``<|f_a|^2>`` is the mean squared scattering amplitude of an atom of species a: for
neutrons ``sigma_tot,a / (4 pi) = |b_coh,a|^2 + sigma_inc,a / (4 pi)`` (fm^2), Sears'
"scattering cross section" (bound, natural element; the sum of the coherent and incoherent ones
up to the table's rounding: Si 2.167 = 2.1633 + 0.004 barn), the value AbINS' ScaleByCrossSection
= Total and the harmonic step's ``cross_section="total"`` use; ``|f_a(|q|)|^2`` for X-rays and
electrons; 1 for ``none``.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase.data import atomic_masses, atomic_numbers

from ..errors import ParameterError
from ..units import CODATA_2022

BOHR_RADIUS_ANGSTROM = CODATA_2022.bohr_radius * 1e10
BARN_IN_FM2 = 100.0

#: Species labels that name an isotope rather than an element: (element, mass number).
ISOTOPE_LABELS = {"D": ("H", 2), "T": ("H", 3)}

#: y-axis unit label of the weighted total, per kind of weights.
UNIT_LABELS = {
    "neutron": "S(Q,E) (fm^2/meV per atom)",
    "xray": "S(Q,E) (electrons^2/meV per atom)",
    "electron": "S(Q,E) (Angstrom^2/meV per atom)",
    "none": "S(Q,E) (1/meV per atom)",
}


@dataclass
class ScatteringWeights:
    """Weights for the species of one system.

    ``coherent_factor(species, q_norms)`` gives f_a(|q|) (complex for absorbing nuclei);
    ``incoherent[species]`` the incoherent weight, or None where there is no incoherent part in
    the total; ``total_scattering[species]`` (neutrons) sigma_tot / (4 pi) in fm^2, the weight
    of the incoherent approximation.
    """

    kind: str
    species: list[str]
    neutron_b: dict[str, complex] = field(default_factory=dict)
    incoherent: dict[str, float] | None = None
    total_scattering: dict[str, float] = field(default_factory=dict)
    logs: dict[str, Any] = field(default_factory=dict)
    _tables: Any = None

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS[self.kind]

    @property
    def incoherent_in_total(self) -> bool:
        return self.incoherent is not None

    def coherent_factor(self, symbol: str, q_norms: np.ndarray) -> np.ndarray:
        """f_a(|q|) for each |q| (1/Angstrom)."""
        q_norms = np.asarray(q_norms, dtype=float)
        if self.kind == "neutron":
            return np.full(q_norms.shape, self.neutron_b[symbol], dtype=complex)
        if self.kind == "none":
            return np.ones(q_norms.shape, dtype=complex)
        element = ISOTOPE_LABELS.get(symbol, (symbol, 0))[0]
        if self.kind == "xray" and element == "H":
            return (1.0 / (1.0 + (q_norms * BOHR_RADIUS_ANGSTROM / 2) ** 2) ** 2).astype(complex)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # dynasor warns per value beyond its table range
            values = [self._tables.get_weight_coh(element, float(q)) for q in q_norms]
        return np.asarray(values, dtype=complex)

    def pair_weight(self, first: str, second: str, q_norms: np.ndarray) -> np.ndarray:
        """Re(conj(f_a) f_b) per q: the weight of the coherent partial of (a, b)."""
        return np.real(np.conj(self.coherent_factor(first, q_norms))
                       * self.coherent_factor(second, q_norms))

    def incoherent_weight(self, symbol: str) -> float:
        """The weight of the incoherent partial of ``symbol`` in the outputs (1 where the
        incoherent part is reported unweighted)."""
        if self.incoherent is None:
            return 1.0
        return self.incoherent[symbol]

    def incoherent_approximation_weight(self, symbol: str, q_norms: np.ndarray) -> np.ndarray:
        """<|f_a|^2> per |q| (1/Angstrom): the weight of the self part of ``symbol`` in the
        incoherent approximation (sigma_tot / (4 pi) in fm^2 for neutrons; see the module
        documentation)."""
        q_norms = np.asarray(q_norms, dtype=float)
        if self.kind == "neutron":
            return np.full(q_norms.shape, self.total_scattering[symbol])
        return np.abs(self.coherent_factor(symbol, q_norms)) ** 2

    def coherent_fraction(self, counts: dict[str, int]) -> float | None:
        """Neutrons: the coherent share of the scattering cross section of the composition
        ``counts`` (species -> number of atoms), sum N_a |b_a|^2 / sum N_a sigma_tot,a/(4 pi);
        None for other weights."""
        if self.kind != "neutron":
            return None
        coherent = sum(n * abs(self.neutron_b[s]) ** 2 for s, n in counts.items())
        total = sum(n * self.total_scattering[s] for s, n in counts.items())
        return float(coherent / total) if total > 0 else None


def scattering_weights(kind: str, species: list[str]) -> ScatteringWeights:
    """Weights of ``kind`` (``neutron``, ``xray``, ``electron``, ``none``) for ``species``.

    Raises ParameterError naming a species without tabulated values.
    """
    species = sorted(set(species))
    if kind == "none":
        return ScatteringWeights(kind, species, logs={"weights": "none"})
    if kind == "neutron":
        return _neutron_weights(species)
    if kind in ("xray", "electron"):
        return _form_factor_weights(kind, species)
    raise ParameterError("weights", f"'{kind}' is not a kind of weights",
                         "choose neutron, xray, electron or none")


def _neutron_weights(species: list[str]) -> ScatteringWeights:
    from euphonic.isotopes import sears_1992  # euphonic takes seconds to import

    lengths: dict[str, complex] = {}
    incoherent: dict[str, float] = {}
    total_scattering: dict[str, float] = {}
    logs: dict[str, Any] = {"weights": "neutron", "neutron_data": "Sears 1992 (euphonic)"}
    for symbol in species:
        element, mass_number = ISOTOPE_LABELS.get(symbol, (symbol, 0))
        if element not in atomic_numbers:
            raise _no_length(symbol)
        mass = float(mass_number) if mass_number else atomic_masses[atomic_numbers[element]]
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # euphonic prints each match
                item = sears_1992.get_item(element, mass)
        except Exception:
            raise _no_length(symbol) from None
        b = item.get("coherent_scattering_length")
        if b is None or not np.isfinite(complex(b.to("fm").magnitude)):
            raise _no_length(symbol)
        lengths[symbol] = complex(b.to("fm").magnitude)
        sigma = item.get("incoherent_cross_section")
        # Sears writes some incoherent cross sections as 0 within their uncertainty
        # (O: 0.000(8) barn); the table leaves those out, and they are taken as zero.
        sigma_barn = float(sigma.to("barn").magnitude) if sigma is not None else 0.0
        if not np.isfinite(sigma_barn):
            sigma_barn = 0.0
        incoherent[symbol] = sigma_barn * BARN_IN_FM2 / (4 * np.pi)
        # The incoherent approximation weighs each atom by its total cross section (Sears'
        # tabulated sum, as AbINS); where the table lacks it, the sum of the two parts.
        total = item.get("scattering_cross_section")
        total_barn = float(np.real(total.to("barn").magnitude)) if total is not None else (
            4 * np.pi * abs(lengths[symbol]) ** 2 / BARN_IN_FM2 + sigma_barn)
        total_scattering[symbol] = total_barn * BARN_IN_FM2 / (4 * np.pi)
        logs[f"sigma_total_barn_{symbol}"] = total_barn
        logs[f"b_coherent_fm_{symbol}"] = lengths[symbol].real
        if lengths[symbol].imag:
            logs[f"b_coherent_imaginary_fm_{symbol}"] = lengths[symbol].imag
        logs[f"sigma_incoherent_barn_{symbol}"] = sigma_barn
    return ScatteringWeights("neutron", species, neutron_b=lengths, incoherent=incoherent,
                             total_scattering=total_scattering, logs=logs)


def _form_factor_weights(kind: str, species: list[str]) -> ScatteringWeights:
    # dynasor takes seconds to import; only X-ray and electron weights need it
    from dynasor.post_processing import ElectronScatteringFactors, XRayFormFactors

    elements = sorted({ISOTOPE_LABELS.get(s, (s, 0))[0] for s in species})
    tabulated = [e for e in elements if not (kind == "xray" and e == "H")]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = (XRayFormFactors(tabulated) if kind == "xray"
                     else ElectronScatteringFactors(tabulated))
    except ValueError as error:
        missing = [e for e in tabulated if e in str(error).split()[-1].rstrip(".")]
        raise _no_length(missing[0] if missing else str(error), kind) from None
    source = ("Waasmaier and Kirfel 1995 (dynasor); H: hydrogen-atom form factor"
              if kind == "xray" else "Peng et al. 1996 (dynasor)")
    return ScatteringWeights(kind, species, logs={"weights": kind, f"{kind}_data": source},
                             _tables=table)


def _no_length(symbol: str, kind: str = "neutron") -> ParameterError:
    what = {"neutron": "tabulated neutron scattering length (Sears 1992)",
            "xray": "tabulated X-ray form factor", "electron":
            "tabulated electron scattering factor"}[kind]
    return ParameterError("weights", f"the species '{symbol}' of the trajectory has no {what}",
                          "write element symbols (or D, T) as species in the trajectory, or "
                          "use --weights none")
