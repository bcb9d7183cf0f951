"""The report of ``mdinsim predict``: parameters, files, peaks, and the match to an experiment.

* :func:`spectrum_1d`: a prediction as one curve S(w) per meV: the indirect-geometry spectrum
  (per bin in AbINS' layout) divided by the bin widths, or the direct-geometry S(|Q|, w) map
  averaged over the |Q| the instrument reaches at each energy (unmeasured bins left out).
* :func:`find_peaks_mev`: peak positions (scipy's ``find_peaks`` with a prominence of a
  fraction of the highest peak), strongest first.
* :func:`compare_with_experiment`: the least-squares scale factor ``s`` with
  experiment = s x prediction (prediction interpolated linearly at the measured energies,
  where both exist and within the comparison range), the mean-squared error
  ``mean((I_exp - s I_pred)^2)`` and the same divided by ``mean(I_exp^2)`` (scale-free).
* :func:`build_report` / :func:`write_report`: ``report.json`` and ``report.txt``.

Units: meV, K, Angstrom^2; intensities in the experiment's units.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import __version__, steps
from ..approximation import FULL, INCOHERENT, approximation_of
from ..errors import InputFileError, MdinsimError
from ..io.atomic import write_text_atomic
from ..spectrum import (UNIT_DELTA_E, UNIT_DELTA_E_WAVENUMBER, UNIT_ENERGY, Spectrum,
                        energy_axis)
from ..units import MEV_PER_INVERSE_CM
from .choices import instrument_q_max_inv_angstrom, instrument_settings
from .comparison import (bragg_crossings, compare_with_harmonic, explain_difference, match_peaks,
                         match_tolerances_mev, shape_difference, structure_bragg_points)
from .curves import find_peaks_mev, spectrum_1d
from .parameters import PredictSettings


# ----------------------------------------------------------------------------------------------
# Curves
# ----------------------------------------------------------------------------------------------
def comparable_experiment(experiment: Spectrum, source: str | Path) -> Spectrum:
    """The experiment as one curve against energy transfer in meV: a 2-D S(|Q|, w) is averaged
    over |Q| (NaN bins left out); wavenumbers are converted to meV."""
    unit = experiment.x.unit
    if unit not in (UNIT_DELTA_E, UNIT_DELTA_E_WAVENUMBER, UNIT_ENERGY, "Empty", "Label"):
        raise InputFileError(source, f"its X axis is '{unit}', not energy transfer",
                             where="X axis", fix="convert it to energy transfer in meV "
                             "(Mantid ConvertUnits, Target=DeltaE) before comparing")
    factor = MEV_PER_INVERSE_CM if unit == UNIT_DELTA_E_WAVENUMBER else 1.0
    energy = experiment.x_centres() * factor
    values, errors = experiment.values, experiment.errors
    if experiment.n_spectra > 1:
        finite = np.isfinite(values)
        count = finite.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(count > 0, np.nansum(values, axis=0) / count, np.nan)[None, :]
            errors = np.where(count > 0, np.sqrt(np.nansum(np.where(finite, errors, 0) ** 2,
                                                           axis=0)) / count, np.nan)[None, :]
    if not experiment.distribution and experiment.is_histogram:
        widths = np.diff(experiment.x.values) * factor
        values, errors = values / widths, errors / widths
    if not np.any(np.isfinite(values)):
        raise InputFileError(source, "holds no finite intensity", where="values",
                             fix="give the reduced spectrum")
    return Spectrum(x=energy_axis(energy), values=values[:1], errors=errors[:1],
                    distribution=True, y_unit=experiment.y_unit,
                    y_unit_label=experiment.y_unit_label or "Intensity",
                    title=experiment.title, name=experiment.name or Path(source).stem,
                    logs={"experiment_file": str(source)})


def compare_with_experiment(energy_mev: np.ndarray, predicted: np.ndarray,
                            experiment: Spectrum, energy_min_mev: float | None = None,
                            energy_max_mev: float | None = None) -> dict[str, Any]:
    """Scale factor and mean-squared error of the experiment against a predicted curve.

    The prediction (per meV) is interpolated linearly at the measured energies that lie inside
    its finite range and inside [energy_min_mev, energy_max_mev]. ``scale_factor`` s minimises
    sum (I_exp - s I_pred)^2, so experiment = s x prediction; ``mean_squared_error`` is the mean
    of (I_exp - s I_pred)^2 in the experiment's units squared, ``relative_mean_squared_error``
    the same divided by the mean of I_exp^2 (0 is a perfect match of shape).
    """
    energy = np.asarray(energy_mev, dtype=float)
    values = np.asarray(predicted, dtype=float)
    finite = np.isfinite(values)
    measured_energy = experiment.x_centres()
    measured = experiment.values[0]
    inside = np.isfinite(measured)
    if np.count_nonzero(finite) >= 2:
        low, high = energy[finite].min(), energy[finite].max()
        inside &= (measured_energy >= low) & (measured_energy <= high)
    else:
        inside &= False
    if energy_min_mev is not None:
        inside &= measured_energy >= energy_min_mev
    if energy_max_mev is not None:
        inside &= measured_energy <= energy_max_mev
    model = np.full(measured.shape, np.nan)
    if np.any(inside):
        model[inside] = np.interp(measured_energy[inside], energy[finite], values[finite])
        inside &= np.isfinite(model)
    count = int(np.count_nonzero(inside))
    result: dict[str, Any] = {"points_compared": count}
    if count < 2:
        result.update(scale_factor=None, mean_squared_error=None,
                      relative_mean_squared_error=None,
                      note="the experiment and the prediction overlap in fewer than two "
                           "energies: nothing to compare")
        return result
    p, m = model[inside], measured[inside]
    # Sums of squares of each curve divided by its largest magnitude: intensities of 1e-310
    # (subnormal) had squared to 0 (ZeroDivisionError) and of 1e305 overflowed to inf.
    p_size, m_size = float(np.max(np.abs(p))), float(np.max(np.abs(m)))
    p_unit, m_unit = p / (p_size or 1.0), m / (m_size or 1.0)
    denominator = float(np.sum(p_unit * p_unit))
    scale = (float(np.sum(p_unit * m_unit) / denominator) * (m_size or 1.0) / (p_size or 1.0)
             if denominator > 0 else math.nan)
    relative = float(np.mean((m_unit - (scale * (p_size or 1.0) / (m_size or 1.0)) * p_unit)
                             ** 2)) if math.isfinite(scale) else math.nan
    mse = relative * m_size * m_size if m_size else float(np.mean((m - scale * p) ** 2))
    result.update(scale_factor=scale, mean_squared_error=mse,
                  relative_mean_squared_error=(relative / float(np.mean(m_unit * m_unit))
                                               if m_size else None),
                  energy_range_compared_mev=[float(measured_energy[inside].min()),
                                             float(measured_energy[inside].max())])
    return result


# ----------------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------------
def _json_value(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def build_report(settings: PredictSettings, results: Sequence[Any],
                 experiment: Spectrum | None, stages: Mapping[str, str],
                 timings: Mapping[str, float], md_info: Mapping[str, Any],
                 warnings: Sequence[str], figure_path: Path) -> dict[str, Any]:
    """The report's content (JSON-ready): parameters, stages, files, and per temperature the
    peak positions, U, the harmonic peaks and the comparison with the experiment."""
    per_temperature = []
    for result in results:
        energy, values = spectrum_1d(result.spectrum)
        entry: dict[str, Any] = {
            "temperature_k": result.temperature_k,
            "mean_squared_displacement_angstrom2": result.mean_squared_displacement_angstrom2,
            "peaks_mev": find_peaks_mev(energy, values),
            "files": {k: str(v) for k, v in result.files.items()},
        }
        if result.harmonic is not None:
            harmonic_energy, harmonic_values = spectrum_1d(result.harmonic)
            entry["harmonic_peaks_mev"] = find_peaks_mev(harmonic_energy, harmonic_values)
        entry.update(scattering_model_entry(settings, result))
        if getattr(result, "model_spread", None) is not None:
            entry["model_spread"] = {"models": list(result.model_spread.model_names),
                                     "estimator": "harmonic spectrum per model",
                                     "peaks": result.model_spread.peaks}
        if experiment is not None:
            # A measurement holds the full S(q,w): it is compared with the full MD spectrum
            # where the MD curve shown is the incoherent approximation.
            measured = result.full_spectrum if result.full_spectrum is not None \
                else result.spectrum
            entry["experiment"] = compare_with_experiment(
                *spectrum_1d(measured), experiment, settings.compare_energy_min_mev,
                settings.compare_energy_max_mev)
            entry["experiment"]["md_curve_approximation"] = _json_value(
                measured.logs.get("scattering_approximation"))
            entry["experiment"]["peaks_mev"] = find_peaks_mev(experiment.x_centres(),
                                                              experiment.values[0])
            if result.harmonic is not None:
                entry["harmonic_experiment"] = compare_with_experiment(
                    harmonic_energy, harmonic_values, experiment,
                    settings.compare_energy_min_mev, settings.compare_energy_max_mev)
        per_temperature.append(entry)
    report = {
        "mdinsim_version": __version__,
        "step": steps.PREDICT,
        "instrument": settings.instrument,
        "md_backend": md_info.get("backend", ""),
        "figure": str(figure_path),
        "experiment_file": settings.experiment,
        "temperatures": per_temperature,
        "stages": dict(stages),
        "stage_seconds": dict(timings),
        "warnings": list(warnings),
        "parameters": settings.as_values(),
    }
    return _json_value(report)


def scattering_model_entry(settings: PredictSettings, result: Any) -> dict[str, Any]:
    """The report's account of the scattering model at one temperature: the approximation of
    each curve, the coherent fraction of the cross section, the full MD spectrum's peaks and
    its shape difference from the incoherent approximation, the MD and harmonic peaks matched
    (shift in meV) and, when the curves differ markedly, why (:mod:`.comparison`)."""
    logs = result.spectrum.logs
    approximation = approximation_of(logs)
    fraction = logs.get("input_coherent_fraction_cross_section")
    fraction = float(fraction) if isinstance(fraction, (int, float)) else None
    curves = {"MD": approximation}
    entry: dict[str, Any] = {"approximation": approximation, "coherent_fraction": fraction}
    energy_min = settings.energy_min_mev or 0.0
    energy, values = spectrum_1d(result.spectrum)
    difference, unmatched = None, []
    if result.full_spectrum is not None:
        curves["MD full"] = FULL
        full_energy, full_values = spectrum_1d(result.full_spectrum)
        entry["full_peaks_mev"] = find_peaks_mev(full_energy, full_values)
        difference = shape_difference(full_energy, full_values, energy, values, energy_min)
        entry["full_vs_incoherent_shape_difference"] = difference
        step = float(np.median(np.diff(energy))) if len(energy) > 1 else 1.0
        # Peaks of the full spectrum without a partner in the approximation (the full
        # spectrum plays the harmonic part of match_peaks here).
        unmatched = match_peaks(find_peaks_mev(energy, values), entry["full_peaks_mev"],
                                match_tolerances_mev(entry["full_peaks_mev"], step)
                                )["harmonic_only"]
    if result.harmonic is not None:
        comparison = compare_with_harmonic(result.spectrum, result.harmonic,
                                           allow_different_approximations=True,
                                           energy_min_mev=energy_min)
        curves["harmonic"] = comparison["harmonic_approximation"]
        entry["like_for_like"] = comparison["like_for_like"]
        entry["peak_matches"] = {key: comparison[key]
                                 for key in ("matched", "md_only", "harmonic_only")}
        if "warning" in comparison:
            entry["not_like_for_like"] = comparison["warning"]
    entry["curve_approximations"] = curves
    compared_with_full = result.harmonic is not None and approximation == FULL
    if difference is not None or compared_with_full:
        finite = np.isfinite(values)
        top = float(energy[finite].max()) if np.any(finite) else energy_min
        instrument = instrument_settings(settings)
        try:
            q_max = instrument_q_max_inv_angstrom(instrument, energy_min, top)
            points = structure_bragg_points(settings.structure, q_max)
            crossings = bragg_crossings(points, instrument, energy_min, top)
        except MdinsimError as error:  # the explanation must not lose the prediction
            crossings, entry["bragg_note"] = [], f"Bragg points not found: {error}"
        explanation = explain_difference(fraction, difference, crossings,
                                         str(settings.instrument),
                                         INCOHERENT if approximation == INCOHERENT else FULL,
                                         unmatched)
        if explanation:
            entry["bragg_crossings"] = crossings
            entry["explanation"] = explanation
    return entry


def _format_peaks(peaks: Sequence[float]) -> str:
    return ", ".join(f"{p:.1f}" for p in sorted(peaks)) if peaks else "none found"


def _approximation_text(approximation: str | None) -> str:
    return {"incoherent": " (incoherent approximation)", "full": " (full S(q,w))"}.get(
        approximation or "", "")


def _format_matches(matches: Mapping[str, Any]) -> str:
    pairs = "; ".join(f"{m['harmonic_mev']:.1f} -> {m['md_mev']:.1f} ({m['shift_mev']:+.1f})"
                      for m in matches["matched"]) or "none"
    text = f"peaks matched, harmonic -> MD (shift, meV): {pairs}"
    if matches["harmonic_only"]:
        text += f"; harmonic only: {_format_peaks(matches['harmonic_only'])}"
    if matches["md_only"]:
        text += f"; MD only: {_format_peaks(matches['md_only'])}"
    return text


def report_text(report: Mapping[str, Any]) -> str:
    """The report as a few readable lines."""
    lines = [f"mdinsim {report['mdinsim_version']} predict: {report['instrument']}, MD backend "
             f"{report['md_backend']}",
             "stages: " + ", ".join(f"{name} {state}" + (
                 f" ({report['stage_seconds'][name]:.0f} s)" if name in report["stage_seconds"]
                 else "") for name, state in report["stages"].items())]
    for entry in report["temperatures"]:
        lines.append(f"T = {entry['temperature_k']:g} K: U = "
                     f"{entry['mean_squared_displacement_angstrom2']:.4f} Angstrom^2")
        curves = entry.get("curve_approximations", {})
        if entry.get("coherent_fraction") is not None:
            lines.append(f"  coherent fraction of the cross section: "
                         f"{100 * entry['coherent_fraction']:.1f}%")
        lines.append(f"  MD{_approximation_text(curves.get('MD'))} peaks (meV): "
                     f"{_format_peaks(entry['peaks_mev'])}")
        if "full_peaks_mev" in entry:
            lines.append(f"  MD full S(q,w) (coherent + incoherent, what is measured) peaks "
                         f"(meV): {_format_peaks(entry['full_peaks_mev'])}")
        if "harmonic_peaks_mev" in entry:
            lines.append(f"  harmonic{_approximation_text(curves.get('harmonic'))} peaks (meV): "
                         f"{_format_peaks(entry['harmonic_peaks_mev'])}")
        if "peak_matches" in entry:
            lines.append("  " + _format_matches(entry["peak_matches"]))
        if "not_like_for_like" in entry:
            lines.append(f"  warning: {entry['not_like_for_like']}")
        for sentence in entry.get("explanation", []):
            lines.append(f"  why: {sentence}")
        if "model_spread" in entry:
            spread = entry["model_spread"]
            lines.append(f"  model spread over {len(spread['models'])} models (harmonic, peak "
                         "position +- standard deviation, meV): " + (", ".join(
                             f"{p['energy_mev']:.1f} +- {p['spread_mev']:.2f}"
                             for p in sorted(spread["peaks"], key=lambda p: p["energy_mev"]))
                             or "no peaks found"))
        for key, name in (("experiment", "MD"), ("harmonic_experiment", "harmonic")):
            comparison = entry.get(key)
            if comparison is None:
                continue
            if comparison.get("scale_factor") is None:
                lines.append(f"  experiment vs {name}: {comparison.get('note')}")
                continue
            low, high = comparison["energy_range_compared_mev"]
            lines.append(f"  experiment vs {name} ({comparison['points_compared']} points, "
                         f"{low:.1f}-{high:.1f} meV): experiment = "
                         f"{comparison['scale_factor']:.4g} x prediction, mean-squared error "
                         f"{comparison['mean_squared_error']:.4g} (relative "
                         f"{comparison['relative_mean_squared_error']:.3g})")
        if "experiment" in entry:
            lines.append(f"  experiment peaks (meV): "
                         f"{_format_peaks(entry['experiment']['peaks_mev'])}")
        lines.append("  files: " + ", ".join(f"{k} {v}" for k, v in entry["files"].items()))
    lines.append(f"figure: {report['figure']}")
    for warning in report["warnings"]:
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"


def write_report(report: Mapping[str, Any], output_dir: Path) -> dict[str, Path]:
    """``report.json`` and ``report.txt`` in ``output_dir`` (atomically)."""
    json_path, text_path = output_dir / "report.json", output_dir / "report.txt"
    write_text_atomic(json_path, json.dumps(report, indent=1) + "\n")
    write_text_atomic(text_path, report_text(report))
    return {"report_json": json_path, "report_text": text_path}
