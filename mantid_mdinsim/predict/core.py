"""``mdinsim predict``'s core: structure + NEP model -> MD -> S(q,w) -> instrument spectrum.

:func:`predict` runs the stages in order, each through its step's public function:

1. MD (:func:`mantid_mdinsim.md.run_md`; GPUMD where a ``gpumd`` executable is found, else the
   CPU backend), into ``<output_dir>/md``;
2. per temperature, S(q,w) (:func:`mantid_mdinsim.sqw.compute_sqw`) from all independent runs,
   into ``sqw_<T>K.nxs``, with the q-points chosen for the instrument (|Q| up to what it reaches);
3. per temperature, the instrument (:func:`mantid_mdinsim.instrument.apply_instrument`, quantum
   correction at the MD temperature, U from the MD run for Debye-Waller), into
   ``<INSTRUMENT>_<T>K.nxs``;
4. optionally (``harmonic``), phonons of the same model and their harmonic spectrum through the
   same instrument (:mod:`mantid_mdinsim.harmonic`), into ``harmonic_<T>K.nxs``;
5. the figure ``prediction.png`` and the report (:mod:`.report`, :mod:`.comparison`).

With the harmonic comparison the MD S(q,w) is by default the incoherent approximation
(``approximation``), as the harmonic one is (like for like), with its elastic line left out as
the harmonic spectrum has none; the full S(q,w) goes through the instrument beside it
(``<INSTRUMENT>_<T>K_full.nxs``).

Resuming: after each stage, ``predict_state.json`` records a key (a hash of everything that
decides the stage's result, its input files' contents and the keys of the stages it reads) and
the files it wrote. A run started again skips each stage whose key is unchanged and whose files
exist; a stage that was interrupted resumes from its own checkpoints (MD runs, S(q,w) sums).

Units: K, fs, meV, 1/Angstrom, Angstrom^2.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import execution
# MD and the phonon mesh are called through their packages, so that a step can be swapped as a
# whole (tests replace md.run_md and harmonic.mesh_modes).
from .. import harmonic as harmonic_step
from .. import md as md_step
from ..approximation import FULL, INCOHERENT
from ..atomistic.inputs import load_structure
from ..errors import InputFileError, ParameterError
from ..harmonic import apply_instrument_harmonic, harmonic_phonons, harmonic_sqw, load_phonons
from ..instrument import (CORE_PARAMETERS, DirectGeometryInstrument, InstrumentSettings,
                          apply_instrument, direct_q_limits, get_instrument, load_sqw)
from ..io.atomic import write_text_atomic
from ..io.experiment import load_experiment
from ..io.nexus import load_processed_nexus, save_processed_nexus
from ..io.paths import check_output_directory, file_digest
from ..io.trajectory import open_trajectory
from ..plotting import save_plot
from ..progress import ProgressReporter, ensure_progress
from ..spectrum import Axis, Spectrum
from ..sqw import compute_sqw
from ..units import HBAR_MEV_FS
from .demos import demo_ensemble, demo_parameters
from .ensemble import model_spread
from .figure import save_prediction_figure
from .parameters import INSTRUMENT_NAMES, MD_NAMES, PREDICT_PARAMETERS, SQW_NAMES
from .report import build_report, comparable_experiment, write_report

STEP_NAME = "MDPredict"
STATE_FILE = "predict_state.json"
MD_FOLDER = "md"
#: The correlation window is at most this many frames, and at most this fraction of a run.
MAX_WINDOW_FRAMES = 500
WINDOW_FRACTION_OF_RUN = 0.25
#: Automatic |Q| width: this fraction of the shortest reciprocal vector of the MD supercell.
Q_WIDTH_FRACTION = 0.15
MIN_Q_WIDTH_INV_ANGSTROM = 0.01
#: The automatic q-range reaches a little beyond the instrument's largest |Q|, at most this.
Q_MAX_MARGIN = 1.05
Q_MAX_LIMIT_INV_ANGSTROM = 30.0
#: Parameters of the MD step that do not change its results (how it runs, not what).
_MD_EXECUTION_ONLY = ("processes", "overwrite", "gpumd_executable", "checkpoint_interval_ps",
                      "min_atom_distance_angstrom", "scheduler", "threads_per_worker")
#: Stage boundaries of the overall progress.
_MD_END, _PER_TEMPERATURE_END = 0.55, 0.97


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass
class TemperatureResult:
    """The prediction at one MD temperature.

    ``spectrum`` is the instrument's spectrum (2D S(|Q|, w) for direct geometry, 1D S(w) for
    indirect geometry) in the chosen approximation (its ``scattering_approximation`` log);
    ``banks`` the indirect-geometry bank spectra; ``full_spectrum`` the full (coherent +
    incoherent) spectrum through the same instrument when ``spectrum`` is the incoherent
    approximation (else None); ``harmonic`` the harmonic spectrum through the same instrument
    (or None). ``files`` maps a label to each file;
    ``trajectories`` are the MD runs at this temperature (frames ``frame_interval_fs`` apart),
    for further analysis (per-q S(q,w) at chosen q-points, for instance).
    """

    temperature_k: float
    mean_squared_displacement_angstrom2: float
    spectrum: Spectrum
    trajectories: list[Path] = field(default_factory=list)
    frame_interval_fs: float = 0.0
    banks: list[Spectrum] = field(default_factory=list)
    full_spectrum: Spectrum | None = None
    harmonic: Spectrum | None = None
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: The spread over the ensemble's models (``ensemble`` given), see :mod:`.ensemble`.
    model_spread: Any = None


@dataclass
class PredictResult:
    """Everything :func:`predict` produced.

    Attributes
    ----------
    parameters
        The resolved parameters (demo values merged in, automatic values filled in).
    output_dir
        The prediction's folder.
    backend
        The MD backend that ran (``gpumd`` or ``cpu``).
    temperatures
        One :class:`TemperatureResult` per MD temperature, in the order given.
    experiment
        The experimental spectrum (1D, meV), or None.
    report
        The report's content (also in ``report.json``).
    stages
        Stage name -> ``"ran"`` or ``"skipped"`` (done before with the same parameters).
    files
        Label -> path of the figure and report files.
    """

    parameters: dict[str, Any]
    output_dir: Path
    backend: str
    temperatures: list[TemperatureResult]
    experiment: Spectrum | None
    report: dict[str, Any]
    stages: dict[str, str]
    files: dict[str, Path]
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------------
def resolve_parameters(parameters: Mapping[str, Any] | None = None,
                       **kwargs: Any) -> dict[str, Any]:
    """The validated parameters: the demo's values (if ``demo`` is given) overridden by those
    given, checked with :data:`PREDICT_PARAMETERS` (an instrument in any case or by an alias
    is named by its registered name); file paths made absolute."""
    given = {key: value for key, value in dict(parameters or {}, **kwargs).items()
             if value is not None}
    values: dict[str, Any] = {}
    if given.get("demo") is not None:
        name = PREDICT_PARAMETERS["demo"].validate(given["demo"])
        values.update(demo_parameters(name))
    values.update(given)
    if values.get("ensemble") == []:   # --ensemble without files: the demo's own
        if given.get("demo") is None:
            raise ParameterError("ensemble", "no model files given",
                                 "give --ensemble M1.txt M2.txt ... (two or more NEP models, "
                                 "e.g. mdinsim train's ensemble/ folder), or use it with --demo")
        values["ensemble"] = demo_ensemble(given["demo"])
    resolved = PREDICT_PARAMETERS.resolve(values)
    if resolved["ensemble"] is not None:
        if len(resolved["ensemble"]) < 2:
            raise ParameterError("ensemble", f"{len(resolved['ensemble'])} model given",
                                 "give two or more NEP models for a spread")
        resolved["ensemble"] = [str(Path(p).expanduser().resolve())
                                for p in resolved["ensemble"]]
        for path in resolved["ensemble"]:
            if not Path(path).is_file():
                raise InputFileError(path, "file not found", where="parameter 'ensemble'",
                                     fix="give NEP model files (nep.txt)")
    for name, what in (("structure", "STRUCTURE"), ("model", "--model NEP.txt"),
                       ("instrument", "--instrument NAME"), ("temperature_k", "--temperature K")):
        if resolved[name] is None:
            raise ParameterError(name, "a value is required",
                                 f"give {what}, or run a shipped demo with --demo si-tosca")
    for name in ("structure", "model", "output_dir", "experiment", "q_file", "primitive_cell"):
        if resolved.get(name):
            resolved[name] = str(Path(resolved[name]).expanduser().resolve())
    for name, what in (("structure", "a CIF, POSCAR or extended XYZ file"),
                       ("model", "a nep.txt written by GPUMD's nep, neppo or mdinsim train")):
        if not Path(resolved[name]).is_file():
            raise InputFileError(resolved[name], "file not found", where=f"parameter '{name}'",
                                 fix=f"give {what}")
    if resolved["approximation"] is None:
        # Like for like: the harmonic spectrum is the incoherent approximation (as AbINS).
        resolved["approximation"] = INCOHERENT if resolved["harmonic"] else FULL
    low, high = resolved["compare_energy_min_mev"], resolved["compare_energy_max_mev"]
    if low is not None and high is not None and not low < high:
        raise ParameterError("compare_energy_min_mev", f"the comparison range {low:g} to "
                             f"{high:g} meV is empty", "give a minimum below the maximum")
    if resolved["experiment"] is None and (low is not None or high is not None):
        raise ParameterError("compare_energy_min_mev", "a comparison range is given without "
                             "an experiment", "give --experiment FILE, or leave the range out")
    return resolved


# ----------------------------------------------------------------------------------------------
# Stage bookkeeping
# ----------------------------------------------------------------------------------------------
def _key(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class _StageRecord:
    """``predict_state.json``: per stage, the key of its inputs, the files written and what the
    later stages need from it. Rewritten atomically after every completed stage."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}

    def done(self, stage: str, key: str) -> dict[str, Any] | None:
        """The stage's recorded information when it completed with this key and its files are
        all there; else None."""
        entry = self.data.get(stage)
        if not entry or entry.get("key") != key:
            return None
        if not all(Path(path).is_file() for path in entry.get("outputs", [])):
            return None
        return entry.get("info", {})

    def record(self, stage: str, key: str, outputs: list[Path], info: dict[str, Any]) -> None:
        self.data[stage] = {"key": key, "outputs": [str(p) for p in outputs], "info": info}
        write_text_atomic(self.path, json.dumps(self.data, indent=1, default=str) + "\n")


def _label(temperature_k: float) -> str:
    return f"{temperature_k:g}K"


# ----------------------------------------------------------------------------------------------
# Automatic choices
# ----------------------------------------------------------------------------------------------
def configured_instrument(instrument_parameters: Mapping[str, Any]):
    """(instrument, RunSettings) for the instrument step's parameters among those given."""
    instrument = get_instrument(instrument_parameters["instrument"])
    core = {name: instrument_parameters[name] for name in CORE_PARAMETERS.names()
            if name in instrument_parameters}
    return instrument, InstrumentSettings.from_values(core).configure()


def instrument_q_max_inv_angstrom(instrument_parameters: Mapping[str, Any],
                                  energy_min_mev: float, energy_max_mev: float) -> float:
    """The largest |Q| (1/Angstrom) the instrument measures at energy transfers in
    [energy_min_mev, energy_max_mev]: along the bank lines (indirect geometry) or at the
    widest detector angle (direct geometry, below Ei)."""
    instrument, run = configured_instrument(instrument_parameters)
    low = max(energy_min_mev, run.energy_range_mev[0], 0.0)
    high = min(energy_max_mev, run.energy_range_mev[1])
    if isinstance(instrument, DirectGeometryInstrument):
        high = min(high, 0.999 * run.incident_energy_mev)
    energies = np.linspace(min(low, high), high, 400)
    if isinstance(instrument, DirectGeometryInstrument):
        reach = [direct_q_limits(energies, run.incident_energy_mev, angles)[1]
                 for angles in instrument.detector_angle_ranges_deg]
    else:
        reach = [bank.q_line(energies) for bank in run.banks]
    return float(np.nanmax(np.array(reach)))


def automatic_q_width_inv_angstrom(cell_angstrom: np.ndarray) -> float:
    """A tenth-and-a-half of the shortest reciprocal vector (2 pi included) of the MD
    supercell: commensurate q-points lie on that lattice, so narrower shells are often empty."""
    reciprocal = 2 * np.pi * np.linalg.inv(np.asarray(cell_angstrom, dtype=float)).T
    shortest = float(np.min(np.linalg.norm(reciprocal, axis=1)))
    return max(MIN_Q_WIDTH_INV_ANGSTROM, round(Q_WIDTH_FRACTION * shortest, 4))


def _first_cell(trajectory: str | Path) -> np.ndarray:
    reader = open_trajectory(trajectory)
    try:
        return np.asarray(reader.cell, dtype=float)
    finally:
        reader.close()


def drop_empty_shells(sqw: Spectrum) -> tuple[Spectrum, int]:
    """S(|Q|, w) ready for the instrument step, and the number of its empty |Q| shells.

    * A shell at |Q| = 0 (q = 0, on a Brillouin-zone path through Gamma) is left out: it holds
      only the elastic scattering of the mean density, and no instrument measures there.
    * Empty |Q| shells (rows that are not finite: no q-point near them) are counted for the
      report; the instrument step leaves them out and interpolates across them.
    """
    centres = sqw.vertical_centres()
    finite = np.all(np.isfinite(sqw.values), axis=1)
    dropped = int(np.count_nonzero(~finite))
    keep = centres > 0
    if np.count_nonzero(keep & finite) < 2:
        raise ParameterError("q_width_inv_angstrom", f"only {np.count_nonzero(keep & finite)} "
                             "|Q| shells of S(q,w) hold q-points",
                             "widen --q-width, raise --q-count or use a larger --supercell")
    logs = dict(sqw.logs, predict_empty_shells_dropped=dropped)
    return sqw.copy(values=sqw.values[keep], errors=sqw.errors[keep],
                    vertical=Axis(values=centres[keep], unit=sqw.vertical.unit),
                    logs=logs), dropped


def without_elastic_line(sqw: Spectrum) -> Spectrum:
    """S(|Q|, w) with its elastic line left out: the energy bin at w = 0 set to zero (with the
    window of the MD correlation, a time-independent plateau of F(q, t), the elastic scattering,
    falls in that bin alone). Logged as ``elastic_line_left_out``."""
    energy = sqw.x_centres()
    step = float(np.min(np.abs(np.diff(energy)))) if len(energy) > 1 else 1.0
    elastic = np.abs(energy) < 0.5 * step
    values, errors = sqw.values.copy(), sqw.errors.copy()
    values[:, elastic] = 0.0
    errors[:, elastic] = 0.0
    return sqw.copy(values=values, errors=errors, logs=dict(sqw.logs, elastic_line_left_out=1))


# ----------------------------------------------------------------------------------------------
# The chain
# ----------------------------------------------------------------------------------------------
def predict(parameters: Mapping[str, Any] | None = None,
            progress: ProgressReporter | None = None, **kwargs: Any) -> PredictResult:
    """Predict the instrument spectrum of a structure with a NEP model.

    ``parameters`` (and keyword arguments) are those of :data:`PREDICT_PARAMETERS` by name
    (``mdinsim predict --help`` lists them with units); ``demo`` fills in a shipped demo's
    values. Files go to ``output_dir`` (see the module documentation); stages done before with
    the same parameters are skipped. Returns a :class:`PredictResult`.
    """
    progress = ensure_progress(progress)
    params = resolve_parameters(parameters, **kwargs)
    output_dir = check_output_directory(params["output_dir"], "output_dir")
    # Inputs that can be checked before hours of MD are checked first: the instrument's
    # settings (Ei, chopper, setting within its ranges) and the experiment file.
    _check_instrument(params)
    experiment = None
    if params["experiment"] is not None:
        experiment = comparable_experiment(load_experiment(params["experiment"]),
                                           params["experiment"])
    output_dir.mkdir(parents=True, exist_ok=True)
    record = _StageRecord(output_dir / STATE_FILE)
    stages: dict[str, str] = {}
    timings: dict[str, float] = {}
    warnings: list[str] = []

    digests = {"structure_sha256": file_digest(params["structure"]),
               "model_sha256": file_digest(params["model"])}
    # one cluster (when --scheduler asks for one) for every stage; the steps reuse it
    with execution.session(params["scheduler"], params["threads_per_worker"]):
        md_info, md_key = _md_stage(params, output_dir, digests, record, stages, timings,
                                    progress.sub(0.0, _MD_END))
        warnings.extend(md_info.get("warnings", []))

        temperatures = [float(t) for t in params["temperature_k"]]
        span = (_PER_TEMPERATURE_END - _MD_END) / len(temperatures)
        phonons_cache: dict[str, Any] = {}
        results = []
        for index, temperature in enumerate(temperatures):
            start = _MD_END + index * span
            sub = progress.sub(start, start + span)
            results.append(_temperature_stages(params, temperature, md_info, md_key, digests,
                                               output_dir, record, stages, timings, sub,
                                               phonons_cache))
            warnings.extend(results[-1].notes)

    progress.report(_PER_TEMPERATURE_END, "figure and report")
    figure_path = save_prediction_figure(results, experiment, params,
                                         output_dir / "prediction.png")
    report = build_report(params, results, experiment, stages, timings, md_info, warnings,
                          figure_path)
    files = {"figure": figure_path, **write_report(report, output_dir)}
    progress.report(1.0, "done")
    return PredictResult(parameters=params, output_dir=output_dir,
                         backend=md_info.get("backend", ""), temperatures=results,
                         experiment=experiment, report=report, stages=stages, files=files,
                         warnings=warnings)


def _check_instrument(params: dict[str, Any]) -> None:
    settings = {name: params[name] for name in INSTRUMENT_NAMES if name in CORE_PARAMETERS}
    InstrumentSettings.from_values(settings).configure()


def _md_stage(params: dict[str, Any], output_dir: Path, digests: dict[str, str],
              record: _StageRecord, stages: dict[str, str], timings: dict[str, float],
              progress: ProgressReporter) -> tuple[dict[str, Any], str]:
    md_params = {name: params[name] for name in MD_NAMES}
    md_params["output_dir"] = str(output_dir / MD_FOLDER)
    key = _key("md", {k: v for k, v in md_params.items()
                      if k not in _MD_EXECUTION_ONLY + ("structure", "model", "output_dir")},
               digests)
    info = record.done("md", key)
    if info is not None:
        stages["md"] = "skipped"
        progress.report(1.0, "MD done before (skipped)")
        return info, key
    started = time.monotonic()
    result = md_step.run_md(md_params, progress)
    timings["md"] = round(time.monotonic() - started, 1)
    by_temperature: dict[str, Any] = {}
    for run in result.runs:
        entry = by_temperature.setdefault(_label(run["temperature_target_k"]), {
            "trajectories": [], "frames": [], "frame_interval_fs": run["dump_interval_fs"]})
        entry["trajectories"].append(run["trajectory_path"])
        entry["frames"].append(int(run["number_of_frames"]))
    for temperature, msd in result.mean_squared_displacement_angstrom2.items():
        by_temperature[_label(temperature)]["mean_squared_displacement_angstrom2"] = msd
    info = {"backend": result.backend, "temperatures": by_temperature,
            "warnings": list(result.warnings),
            "summary": str(result.output_dir / "summary.json")}
    outputs = [Path(p) for p in result.trajectory_paths] + [result.output_dir / "summary.json"]
    record.record("md", key, outputs, info)
    stages["md"] = "ran"
    return info, key


def _sqw_settings(params: dict[str, Any], md_entry: dict[str, Any]) -> dict[str, Any]:
    """The S(q,w) parameters for one temperature, automatic values filled in."""
    frame_interval = float(md_entry["frame_interval_fs"])
    shortest = min(md_entry["frames"])
    window = params["window"]
    if window is None:
        window = int(min(MAX_WINDOW_FRAMES, max(2, WINDOW_FRACTION_OF_RUN * shortest)))
    settings = {name: params[name] for name in SQW_NAMES}
    settings.update(trajectories=list(md_entry["trajectories"]), time_step_fs=frame_interval,
                    window=window, seed=params["seed"], per_q=False)
    if settings["q_width_inv_angstrom"] is None:
        settings["q_width_inv_angstrom"] = automatic_q_width_inv_angstrom(
            _first_cell(md_entry["trajectories"][0]))
    if settings["q_max_inv_angstrom"] is None and settings["q_file"] is None:
        # S(q,w) reaches E = pi hbar / dt; the instrument needs |Q| up to its reach there.
        energy_top = math.pi * HBAR_MEV_FS / frame_interval
        if params["energy_max_mev"] is not None:
            energy_top = min(energy_top, params["energy_max_mev"])
        energy_bottom = params["energy_min_mev"] if params["energy_min_mev"] is not None else 0.0
        reach = instrument_q_max_inv_angstrom(instrument_settings(params), energy_bottom,
                                              energy_top)
        settings["q_max_inv_angstrom"] = round(min(Q_MAX_LIMIT_INV_ANGSTROM,
                                                   Q_MAX_MARGIN * reach), 3)
    return settings


def instrument_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """The instrument step's parameters among predict's."""
    return {name: params[name] for name in INSTRUMENT_NAMES}


def _temperature_stages(params: dict[str, Any], temperature: float, md_info: dict[str, Any],
                        md_key: str, digests: dict[str, str], output_dir: Path,
                        record: _StageRecord, stages: dict[str, str],
                        timings: dict[str, float], progress: ProgressReporter,
                        phonons_cache: dict[str, Any]) -> TemperatureResult:
    label = _label(temperature)
    md_entry = md_info["temperatures"].get(label)
    if md_entry is None:
        raise ParameterError("temperature_k", f"the MD stage holds no runs at {temperature:g} K",
                             "start again with --overwrite")
    msd = float(md_entry["mean_squared_displacement_angstrom2"])
    notes: list[str] = []
    harmonic_share = (0.3 if params["harmonic"] else 0.0) + (
        0.3 if params["ensemble"] else 0.0)

    # -- S(q,w) ----------------------------------------------------------------------------------
    settings = _sqw_settings(params, md_entry)
    sqw_path = output_dir / f"sqw_{label}.nxs"
    sqw_key = _key("sqw", md_key, {k: v for k, v in settings.items() if k != "trajectories"})
    stage = f"sqw {label}"
    sub = progress.sub(0.0, 0.85 - harmonic_share)
    if record.done(stage, sqw_key) is not None:
        stages[stage] = "skipped"
        sqw = load_sqw(sqw_path)
        full_sqw = next((w for w in load_processed_nexus(sqw_path)
                         if isinstance(w, Spectrum) and w.name == "sqw_full"), None)
    else:
        started = time.monotonic()
        result = compute_sqw(settings, sub,
                             checkpoint=sqw_path.with_name(sqw_path.name + ".checkpoint.npz"))
        written = result.save(sqw_path, plot=True)
        outputs = {w.name: w for w in result.workspaces()}
        sqw, full_sqw = outputs["sqw"], outputs.get("sqw_full")
        record.record(stage, sqw_key, written, {"settings": settings})
        stages[stage] = "ran"
        timings[stage] = round(time.monotonic() - started, 1)
    sqw.logs["temperature_k"] = temperature
    if sqw.logs.get("trajectory_warnings"):
        notes.append(f"S(q,w) at {temperature:g} K: {sqw.logs['trajectory_warnings']}")
    if full_sqw is not None:
        full_sqw.logs["temperature_k"] = temperature
    sub.report(1.0, f"S(q,w) at {temperature:g} K")

    # -- instrument ------------------------------------------------------------------------------
    instrument_params = instrument_settings(params)
    instrument_params["temperature_k"] = temperature
    if params["debye_waller"] != "none" and instrument_params[
            "mean_squared_displacement_angstrom2"] is None:
        instrument_params["mean_squared_displacement_angstrom2"] = msd
    name = params["instrument"]
    instrument_path = output_dir / f"{name}_{label}.nxs"
    # Like for like with the harmonic spectrum, which has no elastic line (as AbINS): the
    # incoherent approximation's elastic line (exp(-Q^2 U) at every |Q|, all in the E = 0 bin)
    # would otherwise be spread by the resolution over the lowest energies.
    inelastic = bool(params["harmonic"]) and params["approximation"] == INCOHERENT
    instrument_key = _key("instrument", sqw_key, instrument_params, inelastic)
    stage = f"instrument {label}"
    sub = progress.sub(0.85 - harmonic_share, 1.0 - harmonic_share)
    # The full spectrum beside the incoherent approximation, through the same instrument.
    full_path = output_dir / f"{name}_{label}_full.nxs"
    full_spectrum = None
    if record.done(stage, instrument_key) is not None:
        stages[stage] = "skipped"
        items = [w for w in load_processed_nexus(instrument_path) if isinstance(w, Spectrum)]
        spectrum, banks = items[0], items[1:]
        dropped = int(items[0].logs.get("input_predict_empty_shells_dropped", 0))
        if full_sqw is not None:
            full_spectrum = next(w for w in load_processed_nexus(full_path)
                                 if isinstance(w, Spectrum))
    else:
        started = time.monotonic()
        usable, dropped = drop_empty_shells(sqw)
        if inelastic:
            usable = without_elastic_line(usable)
        result = apply_instrument(usable, instrument_params, sub, source=sqw_path)
        written = [result.save(instrument_path),
                   result.save_plot(instrument_path.with_suffix(".png"))]
        spectrum, banks = result.spectrum, list(result.banks.values())
        if full_sqw is not None:
            full = apply_instrument(drop_empty_shells(full_sqw)[0], instrument_params,
                                    source=f"{sqw_path} (workspace sqw_full)")
            written += [full.save(full_path), full.save_plot(full_path.with_suffix(".png"))]
            full_spectrum = full.spectrum
        record.record(stage, instrument_key, written, {})
        stages[stage] = "ran"
        timings[stage] = round(time.monotonic() - started, 1)
    if dropped:
        notes.append(f"{dropped} empty |Q| shells of S(q,w) at {temperature:g} K (no q-point "
                     "within three widths) were left out before the instrument step, which "
                     "interpolates across them; a wider --q-width or more --q-count fills them")
    files = {"sqw": sqw_path, "instrument": instrument_path,
             "instrument_plot": instrument_path.with_suffix(".png")}
    if full_spectrum is not None:
        files["instrument_full"] = full_path

    # -- harmonic comparison ---------------------------------------------------------------------
    harmonic = None
    if params["harmonic"]:
        harmonic, harmonic_path = _harmonic_stage(
            params, temperature, sqw, instrument_params, digests, output_dir, record, stages,
            timings, progress.sub(1.0 - harmonic_share, 1.0 - harmonic_share / 2
                                  if params["ensemble"] else 1.0), phonons_cache)
        files["harmonic"] = harmonic_path
    spread = None
    if params["ensemble"]:
        spread = _ensemble_stage(params, temperature, sqw, spectrum, instrument_params,
                                 output_dir, record, stages, timings, files,
                                 progress.sub(1.0 - (0.3 if params["ensemble"] else 0.0), 1.0),
                                 phonons_cache)
    progress.report(1.0, f"{temperature:g} K done")
    return TemperatureResult(temperature_k=temperature, mean_squared_displacement_angstrom2=msd,
                             spectrum=spectrum, banks=banks, full_spectrum=full_spectrum,
                             harmonic=harmonic, files=files,
                             notes=notes, model_spread=spread,
                             trajectories=[Path(p) for p in md_entry["trajectories"]],
                             frame_interval_fs=float(md_entry["frame_interval_fs"]))


def _harmonic_stage(params: dict[str, Any], temperature: float, sqw: Spectrum,
                    instrument_params: dict[str, Any], digests: dict[str, str],
                    output_dir: Path, record: _StageRecord, stages: dict[str, str],
                    timings: dict[str, float], progress: ProgressReporter,
                    phonons_cache: dict[str, Any], model: str | None = None,
                    tag: str = "harmonic") -> tuple[Spectrum, Path]:
    """The harmonic spectrum of the same model at ``temperature``, on the MD S(q,w)'s energy
    and |Q| grid (bin by bin comparable), through the same instrument without the quantum
    correction (the harmonic S has quantum statistics) and without a Debye-Waller change (it
    has its own). ``model`` (default: the prediction's) and ``tag`` (file and stage names,
    e.g. ``ensemble/member1``) serve the ensemble's members."""
    model = model or params["model"]
    phonon_settings = {"supercell": params["harmonic_supercell"], "relax": params["relax"],
                       "displacement_angstrom": params["displacement_angstrom"]}
    phonon_key = _key("phonons", digests, phonon_settings)
    phonopy_path = output_dir / f"{tag}_phonopy.yaml"
    phonopy_path.parent.mkdir(parents=True, exist_ok=True)

    energy = sqw.x_centres()
    step = float(energy[1] - energy[0])
    top = float(energy[-1])
    # Bins centred on the MD energies step, 2 step, ... (energy loss only, as AbINS).
    energy_edges = step * (np.arange(0, int(math.floor(top / step))) + 0.5)
    q_rows = sqw.vertical_centres()
    q_step = float(np.min(np.diff(q_rows))) if len(q_rows) > 1 else 0.1
    q_edges = np.arange(0.0, float(q_rows[-1]) + q_step, q_step)
    settings = {name: params[name] for name in ("mesh", "max_order", "method", "cross_section",
                                                "frequency_min_mev")}
    harmonic_instrument = dict(instrument_params, quantum_correction=False, debye_waller="none",
                               mean_squared_displacement_angstrom2=None)
    harmonic_instrument.pop("temperature_k")
    label = _label(temperature)
    path = output_dir / f"{tag}_{label}.nxs"
    key = _key("harmonic", phonon_key, settings, temperature, energy_edges.tolist(),
               q_edges.tolist(), harmonic_instrument)
    stage = f"{tag} {label}"
    if record.done(stage, key) is not None:
        stages[stage] = "skipped"
        items = [w for w in load_processed_nexus(path) if isinstance(w, Spectrum)]
        name = record.data[stage]["info"]["instrument_spectrum"]
        return next(w for w in items if w.name == name), path

    started = time.monotonic()
    modes = _harmonic_modes(params, phonon_key, phonon_settings, phonopy_path, record, stages,
                            phonons_cache, progress.sub(0.0, 0.6), model,
                            "phonons" if tag == "harmonic" else f"{tag} phonons")
    spectra = harmonic_sqw(modes, temperature_k=temperature, q_bins_inv_angstrom=q_edges,
                           energy_bins_mev=energy_edges, max_order=settings["max_order"],
                           method=settings["method"], cross_section=settings["cross_section"],
                           frequency_min_mev=settings["frequency_min_mev"],
                           progress=progress.sub(0.6, 0.9))
    measured = apply_instrument_harmonic(spectra.total, temperature, harmonic_instrument,
                                         progress.sub(0.9, 1.0))
    measured.spectrum.name = f"harmonic_{params['instrument']}"
    items = list(spectra.workspaces()) + list(measured.workspaces(include_tables=False))
    save_processed_nexus(path, items)
    record.record(stage, key, [path, phonopy_path],
                  {"instrument_spectrum": measured.spectrum.name})
    stages[stage] = "ran"
    timings[stage] = round(time.monotonic() - started, 1)
    return measured.spectrum, path


def _ensemble_stage(params: dict[str, Any], temperature: float, sqw: Spectrum,
                    md_spectrum: Spectrum, instrument_params: dict[str, Any], output_dir: Path,
                    record: _StageRecord, stages: dict[str, str], timings: dict[str, float],
                    files: dict[str, Path], progress: ProgressReporter,
                    phonons_cache: dict[str, Any]):
    """Each member's harmonic spectrum (files ``ensemble/member<k>_<T>K.nxs``) and their
    spread, written to ``<INSTRUMENT>_<T>K_model_spread.nxs`` with its plot (:mod:`.ensemble`)."""
    members = params["ensemble"]
    spectra = []
    for k, model in enumerate(members, start=1):
        digests = {"structure_sha256": file_digest(params["structure"]),
                   "model_sha256": file_digest(model)}
        spectrum, _ = _harmonic_stage(params, temperature, sqw, instrument_params, digests,
                                      output_dir, record, stages, timings,
                                      progress.sub((k - 1) / len(members), k / len(members)),
                                      phonons_cache, model=model,
                                      tag=f"ensemble/member{k}")
        spectra.append(spectrum)
    spread = model_spread(spectra, members, md_spectrum)
    path = output_dir / f"{params['instrument']}_{_label(temperature)}_model_spread.nxs"
    workspaces = spread.workspaces(temperature, logs={"mdinsim_step": STEP_NAME})
    save_processed_nexus(path, workspaces)
    save_plot(workspaces[:2], path.with_suffix(".png"), title="model spread and ensemble mean")
    files["model_spread"] = path
    files["model_spread_plot"] = path.with_suffix(".png")
    return spread


def _harmonic_modes(params: dict[str, Any], phonon_key: str, settings: dict[str, Any],
                    phonopy_path: Path, record: _StageRecord, stages: dict[str, str],
                    cache: dict[str, Any], progress: ProgressReporter, model: str,
                    stage: str = "phonons"):
    """Phonon modes on the mesh: force constants computed once (and kept in
    ``harmonic_phonopy.yaml``), reused for every temperature and by a resumed run."""
    if phonon_key not in cache:
        if record.done(stage, phonon_key) is not None:
            cache[phonon_key] = load_phonons(phonopy_path)
            stages[stage] = "skipped"
        else:
            distance = params["min_atom_distance_angstrom"]
            atoms = load_structure(params["structure"], distance)
            phonons = harmonic_phonons(atoms, model, supercell=settings["supercell"],
                                       displacement_angstrom=settings["displacement_angstrom"],
                                       relax=settings["relax"], progress=progress,
                                       min_atom_distance_angstrom=distance)
            phonons.save(phonopy_path)
            record.record(stage, phonon_key, [phonopy_path], {
                "max_residual_force_ev_per_angstrom": phonons.max_force_ev_per_angstrom})
            cache[phonon_key] = phonons.force_constants
            stages[stage] = "ran"
    progress.report(1.0, "phonons")
    return harmonic_step.mesh_modes(cache[phonon_key], mesh=params["mesh"])


__all__ = ["PredictResult", "TemperatureResult", "predict", "resolve_parameters",
           "instrument_q_max_inv_angstrom", "automatic_q_width_inv_angstrom",
           "drop_empty_shells", "STATE_FILE"]
