"""Corrections to a simulated S(|Q|, w) before it is compared with a measurement.

Each is a switch of ``mdinsim instrument`` / MDApplyInstrument, recorded in the output's logs.
Conventions: w > 0 is neutron energy loss (Mantid's ``DeltaE``); energies in meV, |Q| in
1/Angstrom, T in K, U = <|u|^2> in Angstrom^2.

Quantum correction (paper eq. 6)
    S_qm(Q, w) = S_cl(Q, w) * beta hbar w / (1 - exp(-beta hbar w)).
    Classical MD gives an S even in w; the factor turns it into one obeying detailed balance,
    S(Q, -w) = exp(-beta hbar w) S(Q, w): the factor f(x) = x / (1 - exp(-x)) satisfies
    f(-x) = exp(-x) f(x). It tends to 1 as w -> 0 and to beta hbar w for beta hbar w >> 1
    (first-order, Stokes-Raman-like correction; higher-order scattering needs more).

Detailed balance (energy gain)
    Where the input holds only w >= 0 (a classical S stored one-sided) and the output needs
    w < 0, the energy-gain side is built as S(Q, -|w|) = S(Q, |w|) [classical S, even] and the
    quantum correction then weights it; with the quantum correction off the input is taken as
    already quantum and S(Q, -|w|) = exp(-beta hbar |w|) S(Q, |w|). Both give detailed balance.

Debye-Waller factor exp(-|Q|^2 U / 3), U = <|u|^2> (isotropic: 2W = Q^2 <u_x^2>)
    An S(Q, w) computed from MD positions already contains it, and so does a measurement: for a
    direct comparison leave it alone ('none'). 'remove' divides it out, S * exp(+Q^2 U / 3):
    what the paper did to each Brillouin zone of Si before averaging zones ("the Debye-Waller
    factor ... was corrected for"), together with 1/|Q|^2, so that zones at different |Q| carry
    comparable intensity; compare such a result only with data treated the same way. 'apply'
    multiplies by exp(-Q^2 U / 3), for an S that lacks it (a harmonic one-phonon S, say).

1/|Q|^2 and w^2
    The one-phonon intensity grows about as |Q|^2; the paper weights the Si S(Q, w) by 1/|Q|^2
    before averaging zones, and multiplies the X-point intensity by w^2 (meV^2) for Fig. 2b.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputFileError, ParameterError
from ..units import beta_per_mev

if TYPE_CHECKING:  # the grid and settings types only: their modules import this one
    from .parameters import InstrumentSettings
    from .sqw_input import SqwGrid

#: Key of the mean squared displacement <|u|^2> (Angstrom^2) in the MD step's summary.json.
MSD_SUMMARY_KEY = "mean_squared_displacement_angstrom2"


def quantum_correction_factor(energy_transfer_mev: np.ndarray | float,
                              temperature_k: float) -> np.ndarray:
    """beta hbar w / (1 - exp(-beta hbar w)) (paper eq. 6); 1 at w = 0. Dimensionless."""
    x = beta_per_mev(temperature_k) * np.asarray(energy_transfer_mev, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        denominator = -np.expm1(-x)
        factor = np.divide(x, denominator, out=np.ones_like(x), where=x != 0)
    # Far on the energy-gain side exp(-x) overflows: the factor there is |x| exp(-|x|) -> 0.
    return np.where(np.isfinite(factor), factor, 0.0)


def detailed_balance_factor(energy_transfer_mev: np.ndarray | float,
                            temperature_k: float) -> np.ndarray:
    """exp(-beta hbar |w|): S(Q, -|w|) / S(Q, |w|) for a quantum S. Dimensionless."""
    x = beta_per_mev(temperature_k) * np.abs(np.asarray(energy_transfer_mev, dtype=float))
    return np.exp(-x)


def debye_waller_factor(q_inv_angstrom: np.ndarray | float,
                        mean_squared_displacement_angstrom2: float) -> np.ndarray:
    """exp(-|Q|^2 U / 3) with U = <|u|^2> in Angstrom^2 (isotropic). Dimensionless."""
    q = np.asarray(q_inv_angstrom, dtype=float)
    return np.exp(-q * q * mean_squared_displacement_angstrom2 / 3.0)


#: Largest relative difference between the MD temperature of a U and the temperature of the
#: correction that is taken as the same temperature.
MSD_TEMPERATURE_TOLERANCE = 0.01


def _msd_by_temperature(summary: dict) -> dict[float, object]:
    """U by MD target temperature (K) where the summary records it: the MD step's top-level
    summary (``temperatures``) or one run's (``temperature_target_k``)."""
    table = summary.get("temperatures")
    if isinstance(table, dict):
        found = {}
        for key, entry in table.items():
            try:
                found[float(key)] = entry[MSD_SUMMARY_KEY]
            except (TypeError, ValueError, KeyError):
                continue
        return found
    if "temperature_target_k" in summary and MSD_SUMMARY_KEY in summary:
        try:
            return {float(summary["temperature_target_k"]): summary[MSD_SUMMARY_KEY]}
        except (TypeError, ValueError):
            return {}
    return {}


def read_mean_squared_displacement(path: str | Path, temperature_k: float | None = None,
                                   any_temperature: bool = False) -> float:
    """<|u|^2> in Angstrom^2 from the MD step's ``summary.json``.

    With ``temperature_k`` (the temperature of the corrections) and a summary that records the
    MD temperature of its U: the U of that temperature; a summary of other temperatures only
    is refused (U grows with temperature), unless ``any_temperature``.
    """
    path = Path(path)
    fix = (f"give the summary.json of an MD run (key '{MSD_SUMMARY_KEY}'), or the value itself "
           "with --msd")
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputFileError(path, "file not found", fix=fix) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputFileError(path, f"not readable as JSON ({error})", fix=fix) from None
    if not isinstance(summary, dict):
        raise InputFileError(path, "has no mean squared displacement", where=f"key "
                             f"'{MSD_SUMMARY_KEY}'", fix=fix)
    by_temperature = _msd_by_temperature(summary)
    value = summary.get(MSD_SUMMARY_KEY)
    if temperature_k is not None and by_temperature:
        matching = [t for t in by_temperature
                    if abs(t - temperature_k) <= MSD_TEMPERATURE_TOLERANCE * temperature_k]
        if matching:
            value = by_temperature[matching[0]]
        elif not any_temperature:
            recorded = ", ".join(f"{t:g}" for t in sorted(by_temperature))
            raise InputFileError(path, f"holds U from MD at {recorded} K, but the corrections "
                                 f"are at {temperature_k:g} K: U grows with temperature, so "
                                 "the Debye-Waller factor would be wrong", where=f"key "
                                 f"'{MSD_SUMMARY_KEY}'", fix=f"give the summary of an MD run "
                                 f"at {temperature_k:g} K, or U itself with --msd, or "
                                 "--override-provenance to use it anyway")
        elif value is None and len(by_temperature) == 1:
            value = next(iter(by_temperature.values()))
    if value is None:
        if len(by_temperature) > 1:
            raise InputFileError(path, "holds U for several temperatures "
                                 f"({', '.join(f'{t:g}' for t in sorted(by_temperature))} K)",
                                 where=f"key '{MSD_SUMMARY_KEY}'",
                                 fix="give --temperature K to choose one")
        raise InputFileError(path, "has no mean squared displacement", where=f"key "
                             f"'{MSD_SUMMARY_KEY}'", fix=fix)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputFileError(path, f"{value!r} is not a number", where=f"key '{MSD_SUMMARY_KEY}'",
                             fix=fix) from None
    if not math.isfinite(value) or value < 0:
        raise InputFileError(path, f"{value!r} is not a mean squared displacement "
                             "(must be >= 0 Angstrom^2)", where=f"key '{MSD_SUMMARY_KEY}'",
                             fix=fix)
    return value


# -- applied to the S(|Q|, w) grid of the instrument step ---------------------------------------
def sample_temperature(grid: SqwGrid, settings: InstrumentSettings) -> tuple[float | None, str]:
    """The sample temperature (K) and where it comes from: the setting, else the input's
    ``temperature_k`` log, else (None, "")."""
    if settings.temperature_k is not None:
        return float(settings.temperature_k), "parameter"
    logged = grid.logs.get("temperature_k")
    if logged is None:
        return None, ""
    value = np.atleast_1d(np.asarray(logged, dtype=float))
    if value.size != 1 or not np.isfinite(value[0]) or value[0] <= 0:
        raise ParameterError("temperature_k", f"the input's 'temperature_k' log ({logged!r}) is "
                             "not one positive temperature", "give --temperature K")
    return float(value[0]), "input log temperature_k"


#: Largest |Q|^2 U / 3 of a Debye-Waller factor taken as physical (exp(-50) = 2e-22).
MAX_DEBYE_WALLER_EXPONENT = 50.0


def apply_corrections(grid: SqwGrid, settings: InstrumentSettings,
                      temperature_k: float | None) -> dict[str, Any]:
    """Multiply the grid in place by the chosen correction factors; return log entries."""
    logs: dict[str, Any] = {}
    factor = np.ones_like(grid.values)
    energy, q = grid.energy_centres, grid.q_centres
    if settings.quantum_correction:
        factor *= quantum_correction_factor(energy, temperature_k)[np.newaxis, :]
    if settings.debye_waller != "none":
        msd, source = mean_squared_displacement(settings, temperature_k)
        q_max = float(np.max(np.abs(q))) if len(q) else 0.0
        if q_max * q_max * msd / 3.0 > MAX_DEBYE_WALLER_EXPONENT:
            # exp(-50) = 2e-22: 'apply' would zero the spectrum and 'remove' multiply its
            # noise by 1e22 (or overflow), both written as a result.
            raise ParameterError("mean_squared_displacement_angstrom2",
                                 f"U = {msd:g} Angstrom^2 ({source}) makes the Debye-Waller "
                                 f"factor exp(-Q^2 U / 3) about "
                                 f"{np.exp(-min(q_max * q_max * msd / 3.0, 745.0)):.3g} at "
                                 f"|Q| = {q_max:.3g} 1/Angstrom, beyond any solid",
                                 "check U: a solid's is below about 1 Angstrom^2 (the MSD of "
                                 "a diffusing liquid is not a Debye-Waller U)")
        debye_waller = debye_waller_factor(q, msd)[:, np.newaxis]
        factor *= 1.0 / debye_waller if settings.debye_waller == "remove" else debye_waller
        logs["debye_waller_msd_angstrom2_used"] = msd
        logs["debye_waller_msd_source"] = source
    undefined_rows = np.zeros(len(q), dtype=bool)
    if settings.inverse_q_squared:
        undefined_rows = q <= 0
        with np.errstate(divide="ignore"):
            factor *= np.where(undefined_rows, 0.0, 1.0 / np.where(undefined_rows, 1.0, q * q)
                               )[:, np.newaxis]
    if settings.omega_squared:
        factor *= (energy * energy)[np.newaxis, :]
    grid.values *= factor
    grid.errors *= np.abs(factor)
    # 1/|Q|^2 has no value at |Q| = 0: such rows become NaN (not measured) after broadening.
    grid.values[undefined_rows, :] = np.nan
    return logs


def mean_squared_displacement(settings: InstrumentSettings,
                              temperature_k: float | None) -> tuple[float, str]:
    """U = <|u|^2> (Angstrom^2) of the Debye-Waller factor and where it comes from."""
    given, summary = settings.mean_squared_displacement_angstrom2, settings.md_summary_file
    if given is not None and summary is not None:
        raise ParameterError("mean_squared_displacement_angstrom2", "given twice: as a value and "
                             "through md_summary_file", "give --msd or --md-summary, not both")
    if given is not None:
        return float(given), "parameter"
    if summary is not None:
        return read_mean_squared_displacement(
            summary, temperature_k, any_temperature=settings.override_provenance), str(summary)
    raise ParameterError("mean_squared_displacement_angstrom2", f"the Debye-Waller correction "
                         f"'{settings.debye_waller}' needs U = <|u|^2>",
                         "give --msd ANGSTROM2 or --md-summary summary.json")

