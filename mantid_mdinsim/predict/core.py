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

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from .. import execution
from ..approximation import FULL, INCOHERENT
from ..atomistic.inputs import read_model_info
from ..errors import InputFileError, ParameterError
from ..instrument import CORE_PARAMETERS, InstrumentSettings
from ..io.experiment import load_experiment
from ..io.paths import check_output_directory, file_digest
from ..progress import ProgressReporter, ensure_progress
from ..spectrum import Spectrum
from .choices import (automatic_q_width_inv_angstrom, drop_empty_shells,
                      instrument_q_max_inv_angstrom, instrument_settings)
from .demos import demo_ensemble, demo_parameters
from .figure import save_prediction_figure
from .parameters import PREDICT_PARAMETERS, PredictSettings
from .report import build_report, comparable_experiment, write_report
from .stages import (STATE_FILE, STEP_NAME, MDStage, StageContext, StageRecord,
                     TemperatureResult, TemperatureStage)

#: Stage boundaries of the overall progress.
_MD_END, _PER_TEMPERATURE_END = 0.55, 0.97


# ----------------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------------
@dataclass
class PredictResult:
    """Everything :func:`predict` produced.

    Attributes
    ----------
    parameters
        The resolved settings (demo values merged in, automatic values filled in).
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

    parameters: PredictSettings
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
def resolve_settings(parameters: PredictSettings | Mapping[str, Any] | None = None,
                     **kwargs: Any) -> PredictSettings:
    """The validated settings: the demo's values (if ``demo`` is given) overridden by those
    given, checked with :data:`PREDICT_PARAMETERS` (an instrument in any case or by an alias
    is named by its registered name); file paths made absolute."""
    if isinstance(parameters, PredictSettings):
        parameters = parameters.as_values()
    given = {key: value for key, value in dict(parameters or {}, **kwargs).items()
             if value is not None}
    demo = given.get("demo")
    values: dict[str, Any] = {}
    if demo is not None:
        values.update(demo_parameters(PREDICT_PARAMETERS["demo"].validate(demo)))
    values.update(given)
    if values.get("ensemble") == []:   # --ensemble without files: the demo's own
        if demo is None:
            raise ParameterError("ensemble", "no model files given",
                                 "give --ensemble M1.txt M2.txt ... (two or more NEP models, "
                                 "e.g. mdinsim train's ensemble/ folder), or use it with --demo")
        values.update(ensemble=demo_ensemble(demo))
    settings = PredictSettings.from_values(values)
    if settings.ensemble is not None:
        if len(settings.ensemble) < 2:
            raise ParameterError("ensemble", f"{len(settings.ensemble)} model given",
                                 "give two or more NEP models for a spread")
        settings = replace(settings, ensemble=tuple(str(Path(p).expanduser().resolve())
                                                    for p in settings.ensemble))
        for path in settings.ensemble:
            if not Path(path).is_file():
                raise InputFileError(path, "file not found", where="parameter 'ensemble'",
                                     fix="give NEP model files (nep.txt)")
            # read before the MD, not after it: a structure given as a model had run the
            # whole MD and S(q,w) before the ensemble stage refused it
            read_model_info(path)
    for name, what in (("structure", "STRUCTURE"), ("model", "--model NEP.txt"),
                       ("instrument", "--instrument NAME"), ("temperature_k", "--temperature K")):
        if getattr(settings, name) is None:
            raise ParameterError(name, "a value is required",
                                 f"give {what}, or run a shipped demo with --demo si-tosca")
    settings = replace(settings, **{
        name: str(Path(getattr(settings, name)).expanduser().resolve())
        for name in ("structure", "model", "output_dir", "experiment", "q_file",
                     "primitive_cell") if getattr(settings, name)})
    for name, what in (("structure", "a CIF, POSCAR or extended XYZ file"),
                       ("model", "a nep.txt written by GPUMD's nep, neppo or mdinsim train")):
        if not Path(getattr(settings, name)).is_file():
            raise InputFileError(getattr(settings, name), "file not found",
                                 where=f"parameter '{name}'", fix=f"give {what}")
    if settings.approximation is None:
        # Like for like: the harmonic spectrum is the incoherent approximation (as AbINS).
        settings = replace(settings, approximation=INCOHERENT if settings.harmonic else FULL)
    low, high = settings.compare_energy_min_mev, settings.compare_energy_max_mev
    if low is not None and high is not None and not low < high:
        raise ParameterError("compare_energy_min_mev", f"the comparison range {low:g} to "
                             f"{high:g} meV is empty", "give a minimum below the maximum")
    if settings.experiment is None and (low is not None or high is not None):
        raise ParameterError("compare_energy_min_mev", "a comparison range is given without "
                             "an experiment", "give --experiment FILE, or leave the range out")
    return settings


def resolve_parameters(parameters: Mapping[str, Any] | None = None,
                       **kwargs: Any) -> dict[str, Any]:
    """:func:`resolve_settings` by parameter name (for logs and scripts)."""
    return resolve_settings(parameters, **kwargs).as_values()


# ----------------------------------------------------------------------------------------------
# The chain
# ----------------------------------------------------------------------------------------------
def predict(parameters: PredictSettings | Mapping[str, Any] | None = None,
            progress: ProgressReporter | None = None, **kwargs: Any) -> PredictResult:
    """Predict the instrument spectrum of a structure with a NEP model.

    ``parameters``: a :class:`PredictSettings`, or values (and keyword arguments) of
    :data:`PREDICT_PARAMETERS` by name (``mdinsim predict --help`` lists them with units);
    ``demo`` fills in a shipped demo's values. Files go to ``output_dir`` (see the module
    documentation); stages done before with the same parameters are skipped. Returns a
    :class:`PredictResult`.
    """
    progress = ensure_progress(progress)
    settings = resolve_settings(parameters, **kwargs)
    output_dir = check_output_directory(settings.output_dir, "output_dir")
    # Inputs that can be checked before hours of MD are checked first: the instrument's
    # settings (Ei, chopper, setting within its ranges) and the experiment file.
    _check_instrument(settings)
    experiment = None
    if settings.experiment is not None:
        experiment = comparable_experiment(load_experiment(settings.experiment),
                                           settings.experiment)
    output_dir.mkdir(parents=True, exist_ok=True)
    context = StageContext(settings, output_dir, StageRecord(output_dir / STATE_FILE), {
        "structure_sha256": file_digest(settings.structure),
        "model_sha256": file_digest(settings.model)})
    warnings: list[str] = []
    # one cluster (when --scheduler asks for one) for every stage; the steps reuse it
    with execution.session(settings.scheduler, settings.threads_per_worker):
        md_info, md_key = MDStage().run(context, progress.sub(0.0, _MD_END))
        warnings.extend(md_info.get("warnings", []))

        temperatures = [float(t) for t in settings.temperature_k]
        span = (_PER_TEMPERATURE_END - _MD_END) / len(temperatures)
        results = []
        for index, temperature in enumerate(temperatures):
            start = _MD_END + index * span
            results.append(TemperatureStage(temperature, md_info, md_key).run(
                context, progress.sub(start, start + span)))
            warnings.extend(results[-1].notes)

    progress.report(_PER_TEMPERATURE_END, "figure and report")
    figure_path = save_prediction_figure(results, experiment, settings,
                                         output_dir / "prediction.png")
    report = build_report(settings, results, experiment, context.stages, context.timings,
                          md_info, warnings, figure_path)
    files = {"figure": figure_path, **write_report(report, output_dir)}
    progress.report(1.0, "done")
    return PredictResult(parameters=settings, output_dir=output_dir,
                         backend=md_info.get("backend", ""), temperatures=results,
                         experiment=experiment, report=report, stages=context.stages,
                         files=files, warnings=warnings)


def _check_instrument(settings: PredictSettings) -> None:
    values = {name: value for name, value in instrument_settings(settings).items()
              if name in CORE_PARAMETERS}
    InstrumentSettings.from_values(values).configure()


__all__ = ["PredictResult", "TemperatureResult", "predict", "resolve_parameters",
           "resolve_settings", "STEP_NAME",
           "instrument_q_max_inv_angstrom", "automatic_q_width_inv_angstrom",
           "drop_empty_shells", "STATE_FILE"]
