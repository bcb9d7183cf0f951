"""The scattering approximation a spectrum was computed in, recorded in its logs and checked
before two spectra are compared.

* ``full``: the coherent and incoherent scattering of the MD, eq. 5 of the paper,
  ``S = sum_ab Re(conj(b_a) b_b) S_ab + sum_a sigma_inc,a / (4 pi) S_a^self``.
* ``incoherent``: the incoherent approximation, as AbINS (and the harmonic step) computes:
  every atom scatters as if incoherently, with its total cross section,
  ``S = sum_a sigma_tot,a / (4 pi) S_a^self`` (``sigma_tot = sigma_coh + sigma_inc``, so
  ``sigma_tot / (4 pi) = |b_coh|^2 + b_inc^2``). Interference between atoms is left out.

Every step that makes a spectrum writes the log :data:`LOG_NAME`; the instrument step keeps it
(unprefixed) on its outputs, so that an MD spectrum and a harmonic one are compared only when
they hold the same approximation (:func:`check_same_approximation`).
"""

from __future__ import annotations

from typing import Any, Mapping

from .errors import ParameterError

FULL = "full"
INCOHERENT = "incoherent"
CHOICES = (FULL, INCOHERENT)
#: The sample log that says which approximation a spectrum holds.
LOG_NAME = "scattering_approximation"
#: What the log says in words (reports, figure legends).
DESCRIPTIONS = {
    FULL: "full S(q,w): coherent + incoherent scattering (eq. 5)",
    INCOHERENT: "incoherent approximation: self part weighted by sigma_tot/(4 pi), as AbINS",
}


def approximation_of(logs: Mapping[str, Any]) -> str | None:
    """The approximation recorded in a spectrum's logs (also as the instrument step's
    ``input_`` copy), or None when the spectrum does not say (made elsewhere)."""
    for key in (LOG_NAME, f"input_{LOG_NAME}"):
        value = logs.get(key)
        if isinstance(value, str) and value in CHOICES:
            return value
    return None


def check_same_approximation(first: Mapping[str, Any], second: Mapping[str, Any], *,
                             first_name: str = "the first spectrum",
                             second_name: str = "the second spectrum") -> str | None:
    """Refuse to compare two spectra whose logs record different approximations.

    Returns the common approximation (None when either does not record one). Raises
    :class:`~mantid_mdinsim.errors.ParameterError` naming both when they differ: a full,
    coherent S(q,w) and an incoherent-approximation one differ by the scattering model (for a
    coherent scatterer, markedly), which must not be read as anharmonicity or a bad model.
    """
    a, b = approximation_of(first), approximation_of(second)
    if a is None or b is None:
        return None
    if a != b:
        raise ParameterError(
            "approximation", f"{first_name} holds the {a} S(q,w) and {second_name} the {b} "
            "one: their difference would be the scattering model, not the dynamics",
            "compute the MD S(q,w) with --approximation incoherent (MDComputeSqw "
            "Approximation=incoherent) to compare with a harmonic (AbINS-style) spectrum")
    return a
