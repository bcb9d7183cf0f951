"""The stages of ``mdinsim predict``: small objects with one ``run(context, progress)`` each.

A :class:`StageContext` holds what every stage of one prediction shares: the settings, the
folder, the record of completed stages (``predict_state.json``, :class:`StageRecord`) and the
run's account (which stages ran or were skipped, their timings, the phonons computed so far).
A stage object holds only what is its own (a temperature, the S(q,w) it works on, a model):

* :class:`MDStage`: every MD run (:func:`mantid_mdinsim.md.run_md`) -> the record of its runs;
* per temperature, :class:`TemperatureStage` chains :class:`SqwStage` (S(q,w)),
  :class:`InstrumentStage` (the instrument spectrum), :class:`HarmonicStage` (the harmonic
  spectrum of the same model, optional; its phonons from :class:`PhononStage`) and
  :class:`EnsembleStage` (the models' spread, optional).

Each stage computes a key of everything that decides its result; a stage whose key and files
are recorded is skipped (its files are read back).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# MD and the phonon mesh are called through their packages, so that a step can be swapped as a
# whole (tests replace md.run_md and harmonic.mesh_modes).
from .. import harmonic as harmonic_step
from .. import md as md_step
from .. import steps
from ..approximation import INCOHERENT
from ..atomistic.inputs import load_structure
from ..errors import ParameterError
from ..harmonic import apply_instrument_harmonic, harmonic_phonons, harmonic_sqw, load_phonons
from ..harmonic.parameters import SPECTRUM_NAMES
from ..instrument import apply_instrument, load_sqw
from ..io.atomic import write_text_atomic
from ..io.nexus import load_processed_nexus, save_processed_nexus
from ..io.paths import file_digest
from ..plotting import save_plot
from ..progress import ProgressReporter
from ..spectrum import Spectrum
from ..sqw import compute_sqw
from .choices import drop_empty_shells, instrument_settings, sqw_values, without_elastic_line
from .ensemble import model_spread
from .parameters import MD_NAMES, PredictSettings

STEP_NAME = steps.PREDICT
STATE_FILE = "predict_state.json"
MD_FOLDER = "md"
#: Parameters of the MD step that do not change its results (how it runs, not what).
_MD_EXECUTION_ONLY = ("processes", "overwrite", "gpumd_executable", "checkpoint_interval_ps",
                      "min_atom_distance_angstrom", "scheduler", "threads_per_worker")
#: The harmonic parameters that decide the spectrum from the phonons.
_HARMONIC_SPECTRUM_NAMES = ("mesh",) + SPECTRUM_NAMES


def stage_key(*parts: Any) -> str:
    """The key of a stage: a hash of everything that decides its result."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def temperature_label(temperature_k: float) -> str:
    return f"{temperature_k:g}K"


class StageRecord:
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


@dataclass(frozen=True)
class StageContext:
    """What the stages of one prediction share (see the module documentation)."""

    settings: PredictSettings
    output_dir: Path
    record: StageRecord
    #: sha256 of the structure and the model files (``structure_sha256``, ``model_sha256``).
    digests: dict[str, str]
    #: Stage name -> "ran" or "skipped"; the seconds each stage that ran took.
    stages: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    #: Force constants by phonon key, computed once for every temperature.
    phonons_cache: dict[str, Any] = field(default_factory=dict)

    def ran(self, stage: str, started: float) -> None:
        self.stages[stage] = "ran"
        self.timings[stage] = round(time.monotonic() - started, 1)


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


# -- MD --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MDStage:
    """Every MD run, into ``<output_dir>/md``; returns (the record of its runs by
    temperature, the stage's key)."""

    def run(self, context: StageContext,
            progress: ProgressReporter) -> tuple[dict[str, Any], str]:
        md_values = context.settings.values_of(MD_NAMES)
        md_values["output_dir"] = str(context.output_dir / MD_FOLDER)
        rules = md_step.protocol_rules(md_values["equilibration"], md_values["production"])
        key = stage_key("md", {k: v for k, v in md_values.items()
                               if k not in _MD_EXECUTION_ONLY + ("structure", "model",
                                                                 "output_dir")},
                        context.digests, *([rules] if rules else []))
        info = context.record.done("md", key)
        if info is not None:
            context.stages["md"] = "skipped"
            progress.report(1.0, "MD done before (skipped)")
            return info, key
        started = time.monotonic()
        result = md_step.run_md(md_values, progress)
        context.timings["md"] = round(time.monotonic() - started, 1)
        by_temperature: dict[str, Any] = {}
        for run in result.runs:
            entry = by_temperature.setdefault(temperature_label(run["temperature_target_k"]), {
                "trajectories": [], "frames": [], "frame_interval_fs": run["dump_interval_fs"]})
            entry["trajectories"].append(run["trajectory_path"])
            entry["frames"].append(int(run["number_of_frames"]))
        for temperature, msd in result.mean_squared_displacement_angstrom2.items():
            by_temperature[temperature_label(temperature)][
                "mean_squared_displacement_angstrom2"] = msd
        info = {"backend": result.backend, "temperatures": by_temperature,
                "warnings": list(result.warnings),
                "summary": str(result.output_dir / "summary.json")}
        outputs = [Path(p) for p in result.trajectory_paths] + [result.output_dir /
                                                                "summary.json"]
        context.record.record("md", key, outputs, info)
        context.stages["md"] = "ran"
        return info, key


# -- S(q,w) ----------------------------------------------------------------------------------------
@dataclass
class SqwOutcome:
    """The S(q,w) at one temperature (and the full one beside the incoherent approximation)."""

    sqw: Spectrum
    full_sqw: Spectrum | None
    path: Path
    key: str
    notes: list[str]


@dataclass(frozen=True)
class SqwStage:
    """S(q,w) from every MD run at ``temperature_k`` (``md_entry``: the MD record of them),
    into ``sqw_<T>K.nxs``."""

    temperature_k: float
    md_entry: dict[str, Any]
    md_key: str

    def run(self, context: StageContext, progress: ProgressReporter) -> SqwOutcome:
        temperature, label = self.temperature_k, temperature_label(self.temperature_k)
        values = sqw_values(context.settings, self.md_entry)
        path = context.output_dir / f"sqw_{label}.nxs"
        key = stage_key("sqw", self.md_key,
                        {k: v for k, v in values.items() if k != "trajectories"})
        stage = f"sqw {label}"
        if context.record.done(stage, key) is not None:
            context.stages[stage] = "skipped"
            sqw = load_sqw(path)
            full_sqw = next((w for w in load_processed_nexus(path)
                             if isinstance(w, Spectrum) and w.name == "sqw_full"), None)
        else:
            started = time.monotonic()
            result = compute_sqw(values, progress,
                                 checkpoint=path.with_name(path.name + ".checkpoint.npz"))
            written = result.save(path, plot=True)
            outputs = {w.name: w for w in result.workspaces()}
            sqw, full_sqw = outputs["sqw"], outputs.get("sqw_full")
            context.record.record(stage, key, written, {"settings": values})
            context.ran(stage, started)
        notes = []
        sqw.logs["temperature_k"] = temperature
        if sqw.logs.get("trajectory_warnings"):
            notes.append(f"S(q,w) at {temperature:g} K: {sqw.logs['trajectory_warnings']}")
        if full_sqw is not None:
            full_sqw.logs["temperature_k"] = temperature
        progress.report(1.0, f"S(q,w) at {temperature:g} K")
        return SqwOutcome(sqw, full_sqw, path, key, notes)


# -- instrument ------------------------------------------------------------------------------------
@dataclass
class InstrumentOutcome:
    """The instrument spectrum at one temperature, the settings it was made with, its files."""

    spectrum: Spectrum
    banks: list[Spectrum]
    full_spectrum: Spectrum | None
    instrument_values: dict[str, Any]
    files: dict[str, Path]
    notes: list[str]


@dataclass(frozen=True)
class InstrumentStage:
    """The S(q,w) through the instrument (quantum correction at the MD temperature, U of the
    MD runs for the Debye-Waller factor), into ``<INSTRUMENT>_<T>K.nxs`` (and ``_full``)."""

    temperature_k: float
    sqw: SqwOutcome
    mean_squared_displacement_angstrom2: float

    def run(self, context: StageContext, progress: ProgressReporter) -> InstrumentOutcome:
        settings = context.settings
        temperature, label = self.temperature_k, temperature_label(self.temperature_k)
        instrument_values = instrument_settings(settings)
        instrument_values["temperature_k"] = temperature
        if settings.debye_waller != "none" and \
                settings.mean_squared_displacement_angstrom2 is None:
            instrument_values["mean_squared_displacement_angstrom2"] = \
                self.mean_squared_displacement_angstrom2
        name = settings.instrument
        path = context.output_dir / f"{name}_{label}.nxs"
        # Like for like with the harmonic spectrum, which has no elastic line (as AbINS): the
        # incoherent approximation's elastic line (exp(-Q^2 U) at every |Q|, all in the E = 0
        # bin) would otherwise be spread by the resolution over the lowest energies.
        inelastic = bool(settings.harmonic) and settings.approximation == INCOHERENT
        key = stage_key("instrument", self.sqw.key, instrument_values, inelastic)
        stage = f"instrument {label}"
        # The full spectrum beside the incoherent approximation, through the same instrument.
        full_path = context.output_dir / f"{name}_{label}_full.nxs"
        full_sqw = self.sqw.full_sqw
        full_spectrum = None
        if context.record.done(stage, key) is not None:
            context.stages[stage] = "skipped"
            items = [w for w in load_processed_nexus(path) if isinstance(w, Spectrum)]
            spectrum, banks = items[0], items[1:]
            dropped = int(items[0].logs.get("input_predict_empty_shells_dropped", 0))
            if full_sqw is not None:
                full_spectrum = next(w for w in load_processed_nexus(full_path)
                                     if isinstance(w, Spectrum))
        else:
            started = time.monotonic()
            usable, dropped = drop_empty_shells(self.sqw.sqw)
            if inelastic:
                usable = without_elastic_line(usable)
            result = apply_instrument(usable, instrument_values, progress, source=self.sqw.path)
            written = [result.save(path), result.save_plot(path.with_suffix(".png"))]
            spectrum, banks = result.spectrum, list(result.banks.values())
            if full_sqw is not None:
                full = apply_instrument(drop_empty_shells(full_sqw)[0], instrument_values,
                                        source=f"{self.sqw.path} (workspace sqw_full)")
                written += [full.save(full_path),
                            full.save_plot(full_path.with_suffix(".png"))]
                full_spectrum = full.spectrum
            context.record.record(stage, key, written, {})
            context.ran(stage, started)
        notes = []
        if dropped:
            notes.append(f"{dropped} empty |Q| shells of S(q,w) at {temperature:g} K (no q-point "
                         "within three widths) were left out before the instrument step, which "
                         "interpolates across them; a wider --q-width or more --q-count fills "
                         "them")
        files = {"sqw": self.sqw.path, "instrument": path,
                 "instrument_plot": path.with_suffix(".png")}
        if full_spectrum is not None:
            files["instrument_full"] = full_path
        return InstrumentOutcome(spectrum, banks, full_spectrum, instrument_values, files, notes)


# -- harmonic comparison and ensemble -----------------------------------------------------------
@dataclass(frozen=True)
class PhononStage:
    """Phonon modes on the mesh: force constants computed once (kept in ``phonopy_path``),
    reused for every temperature and by a resumed run."""

    phonon_key: str
    phonopy_path: Path
    model: str
    stage: str = "phonons"

    def run(self, context: StageContext, progress: ProgressReporter):
        settings, cache = context.settings, context.phonons_cache
        if self.phonon_key not in cache:
            if context.record.done(self.stage, self.phonon_key) is not None:
                cache[self.phonon_key] = load_phonons(self.phonopy_path)
                context.stages[self.stage] = "skipped"
            else:
                distance = settings.min_atom_distance_angstrom
                atoms = load_structure(settings.structure, distance)
                phonons = harmonic_phonons(
                    atoms, self.model, supercell=settings.harmonic_supercell,
                    displacement_angstrom=settings.displacement_angstrom,
                    relax=settings.relax, progress=progress,
                    min_atom_distance_angstrom=distance)
                phonons.save(self.phonopy_path)
                context.record.record(self.stage, self.phonon_key, [self.phonopy_path], {
                    "max_residual_force_ev_per_angstrom": phonons.max_force_ev_per_angstrom})
                cache[self.phonon_key] = phonons.force_constants
                context.stages[self.stage] = "ran"
        progress.report(1.0, "phonons")
        return harmonic_step.mesh_modes(cache[self.phonon_key], mesh=settings.mesh)


@dataclass(frozen=True)
class HarmonicStage:
    """The harmonic spectrum of ``model`` (default: the prediction's) at ``temperature_k``,
    on the MD S(q,w)'s energy and |Q| grid (bin by bin comparable), through the same
    instrument without the quantum correction (the harmonic S has quantum statistics) and
    without a Debye-Waller change (it has its own). ``tag`` names its files and stages
    (``harmonic``, or ``ensemble/member1`` for an ensemble's member). Returns (the spectrum,
    its file)."""

    temperature_k: float
    sqw: Spectrum
    instrument_values: dict[str, Any]
    digests: dict[str, str]
    model: str | None = None
    tag: str = "harmonic"

    def run(self, context: StageContext,
            progress: ProgressReporter) -> tuple[Spectrum, Path]:
        settings, output_dir, record = context.settings, context.output_dir, context.record
        model = self.model or settings.model
        phonon_key = stage_key("phonons", self.digests, {
            "supercell": settings.harmonic_supercell, "relax": settings.relax,
            "displacement_angstrom": settings.displacement_angstrom})
        phonopy_path = output_dir / f"{self.tag}_phonopy.yaml"
        phonopy_path.parent.mkdir(parents=True, exist_ok=True)

        energy = self.sqw.x_centres()
        step = float(energy[1] - energy[0])
        top = float(energy[-1])
        # Bins centred on the MD energies step, 2 step, ... (energy loss only, as AbINS).
        energy_edges = step * (np.arange(0, int(math.floor(top / step))) + 0.5)
        q_rows = self.sqw.vertical_centres()
        q_step = float(np.min(np.diff(q_rows))) if len(q_rows) > 1 else 0.1
        q_edges = np.arange(0.0, float(q_rows[-1]) + q_step, q_step)
        spectrum_values = settings.values_of(_HARMONIC_SPECTRUM_NAMES)
        harmonic_instrument = dict(self.instrument_values, quantum_correction=False,
                                   debye_waller="none",
                                   mean_squared_displacement_angstrom2=None)
        harmonic_instrument.pop("temperature_k")
        label = temperature_label(self.temperature_k)
        path = output_dir / f"{self.tag}_{label}.nxs"
        key = stage_key("harmonic", phonon_key, spectrum_values, self.temperature_k,
                        energy_edges.tolist(), q_edges.tolist(), harmonic_instrument)
        stage = f"{self.tag} {label}"
        if record.done(stage, key) is not None:
            context.stages[stage] = "skipped"
            items = [w for w in load_processed_nexus(path) if isinstance(w, Spectrum)]
            name = record.data[stage]["info"]["instrument_spectrum"]
            return next(w for w in items if w.name == name), path

        started = time.monotonic()
        modes = PhononStage(phonon_key, phonopy_path, model,
                            "phonons" if self.tag == "harmonic" else f"{self.tag} phonons"
                            ).run(context, progress.sub(0.0, 0.6))
        spectra = harmonic_sqw(modes, temperature_k=self.temperature_k,
                               q_bins_inv_angstrom=q_edges, energy_bins_mev=energy_edges,
                               **settings.values_of(SPECTRUM_NAMES),
                               progress=progress.sub(0.6, 0.9))
        measured = apply_instrument_harmonic(spectra.total, self.temperature_k,
                                             harmonic_instrument, progress.sub(0.9, 1.0))
        measured.spectrum.name = f"harmonic_{settings.instrument}"
        items = list(spectra.workspaces()) + list(measured.workspaces(include_tables=False))
        save_processed_nexus(path, items)
        record.record(stage, key, [path, phonopy_path],
                      {"instrument_spectrum": measured.spectrum.name})
        context.ran(stage, started)
        return measured.spectrum, path


@dataclass(frozen=True)
class EnsembleStage:
    """Each ensemble member's harmonic spectrum (files ``ensemble/member<k>_<T>K.nxs``) and
    their spread, written to ``<INSTRUMENT>_<T>K_model_spread.nxs`` with its plot
    (:mod:`.ensemble`); the files are added to ``files``. Returns the spread."""

    temperature_k: float
    sqw: Spectrum
    md_spectrum: Spectrum
    instrument_values: dict[str, Any]
    files: dict[str, Path]

    def run(self, context: StageContext, progress: ProgressReporter):
        settings = context.settings
        members = settings.ensemble
        spectra = []
        for k, model in enumerate(members, start=1):
            digests = {"structure_sha256": file_digest(settings.structure),
                       "model_sha256": file_digest(model)}
            spectrum, _ = HarmonicStage(self.temperature_k, self.sqw, self.instrument_values,
                                        digests, model=model, tag=f"ensemble/member{k}").run(
                context, progress.sub((k - 1) / len(members), k / len(members)))
            spectra.append(spectrum)
        spread = model_spread(spectra, list(members), self.md_spectrum)
        path = (context.output_dir
                / f"{settings.instrument}_{temperature_label(self.temperature_k)}"
                  "_model_spread.nxs")
        workspaces = spread.workspaces(self.temperature_k, logs={"mdinsim_step": STEP_NAME})
        save_processed_nexus(path, workspaces)
        save_plot(workspaces[:2], path.with_suffix(".png"),
                  title="model spread and ensemble mean")
        self.files["model_spread"] = path
        self.files["model_spread_plot"] = path.with_suffix(".png")
        return spread


# -- one temperature -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TemperatureStage:
    """Every stage after MD at one temperature: S(q,w), the instrument, and the harmonic and
    ensemble spectra where asked for."""

    temperature_k: float
    md_info: dict[str, Any]
    md_key: str

    def run(self, context: StageContext, progress: ProgressReporter) -> TemperatureResult:
        settings, temperature = context.settings, self.temperature_k
        md_entry = self.md_info["temperatures"].get(temperature_label(temperature))
        if md_entry is None:
            raise ParameterError("temperature_k",
                                 f"the MD stage holds no runs at {temperature:g} K",
                                 "start again with --overwrite")
        msd = float(md_entry["mean_squared_displacement_angstrom2"])
        ensemble_share = 0.3 if settings.ensemble else 0.0
        harmonic_share = (0.3 if settings.harmonic else 0.0) + ensemble_share

        sqw = SqwStage(temperature, md_entry, self.md_key).run(
            context, progress.sub(0.0, 0.85 - harmonic_share))
        measured = InstrumentStage(temperature, sqw, msd).run(
            context, progress.sub(0.85 - harmonic_share, 1.0 - harmonic_share))
        files = measured.files
        harmonic = None
        if settings.harmonic:
            harmonic, files["harmonic"] = HarmonicStage(
                temperature, sqw.sqw, measured.instrument_values, context.digests).run(
                context, progress.sub(1.0 - harmonic_share, 1.0 - harmonic_share / 2
                                      if settings.ensemble else 1.0))
        spread = None
        if settings.ensemble:
            spread = EnsembleStage(temperature, sqw.sqw, measured.spectrum,
                                   measured.instrument_values, files).run(
                context, progress.sub(1.0 - ensemble_share, 1.0))
        progress.report(1.0, f"{temperature:g} K done")
        return TemperatureResult(
            temperature_k=temperature, mean_squared_displacement_angstrom2=msd,
            spectrum=measured.spectrum, banks=measured.banks,
            full_spectrum=measured.full_spectrum, harmonic=harmonic, files=files,
            notes=sqw.notes + measured.notes, model_spread=spread,
            trajectories=[Path(p) for p in md_entry["trajectories"]],
            frame_interval_fs=float(md_entry["frame_interval_fs"]))
