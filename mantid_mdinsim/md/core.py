"""The MD step's entry point: :func:`run_md` (MDRunGPUMD, ``mdinsim md``).

Structure + NEP model -> per temperature and independent run: equilibration, production,
a trajectory (extended XYZ), a thermo table, the mean-squared displacement U and a summary.
The backend is GPUMD where a ``gpumd`` executable is found (or asked for), else the CPU
backend (ASE + calorine's CPUNEP; i-PI for path integrals).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import execution, steps
from ..atomistic.inputs import (build_supercell, check_model_loads_on_cpu, check_species,
                                load_structure, read_model_info)
from ..errors import ExternalProgramError, OutputWriteError, ParameterError, format_bytes
from ..external import find_executable
from ..io.atomic import write_text_atomic
from ..io.paths import check_output_paths, file_digest, free_bytes
from ..progress import ProgressReporter, ensure_progress
from ..provenance import provenance_logs
from ..spectrum import Table
from . import WORKER_MODULES, outputs
from .backends import MDBackend, MDJob
from .cpu import CPUBackend
from .gpumd import GPUMDBackend
from .parameters import MD_PARAMETERS, MDSettings
from .pimd import IPIBackend
from .protocol import Protocol, build_protocol, protocol_rules, run_specs
from .summary import write_summary

STEP_NAME = steps.MD
PARAMETERS_FILE = "parameters.json"
SUMMARY_FILE = "summary.json"

#: Parameters that do not change what a run computes: a folder made with other values of
#: these resumes and reuses its runs.
_EXECUTION_ONLY = ("processes", "overwrite", "gpumd_executable", "checkpoint_interval_ps",
                   "temperature_k", "number_of_runs", "output_dir", "max_frequency_mev",
                   "structure", "model", "min_atom_distance_angstrom") + execution.EXECUTION_NAMES


@dataclass
class MDResult:
    """What :func:`run_md` returns: one summary per run plus the tables for Mantid.

    ``runs[i]`` is the run's ``summary.json`` content with absolute ``directory``,
    ``trajectory_path`` and ``thermo_path`` added.
    """

    output_dir: Path
    settings: MDSettings
    protocol: Protocol
    backend: str
    runs: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> dict[str, Any]:
        """The settings by parameter name (for logs and records)."""
        return self.settings.as_values()

    @property
    def trajectory_paths(self) -> list[Path]:
        return [Path(run["trajectory_path"]) for run in self.runs]

    def trajectories_by_temperature(self) -> dict[float, list[Path]]:
        grouped: dict[float, list[Path]] = {}
        for run in self.runs:
            grouped.setdefault(run["temperature_target_k"], []).append(
                Path(run["trajectory_path"]))
        return grouped

    @property
    def mean_squared_displacement_angstrom2(self) -> dict[float, float]:
        """U (Angstrom^2) per target temperature, averaged over its runs."""
        values: dict[float, list[float]] = {}
        for run in self.runs:
            values.setdefault(run["temperature_target_k"], []).append(
                run["mean_squared_displacement_angstrom2"])
        return {t: float(np.mean(v)) for t, v in values.items()}

    def logs(self) -> dict[str, Any]:
        return provenance_logs(STEP_NAME, self.parameters)

    def runs_table(self) -> Table:
        """One row per run: target T, run index, file paths, U, means, drift."""
        columns: dict[str, list] = {name: [] for name in (
            "temperature_target_k", "run_index", "seed", "trajectory_path", "thermo_path",
            "number_of_frames", "dump_interval_fs", "mean_squared_displacement_angstrom2",
            "mean_temperature_k", "mean_pressure_gpa", "mean_volume_angstrom3",
            "energy_drift_ev_per_atom_per_ps")}
        for run in self.runs:
            for name in columns:
                value = run.get(name)
                columns[name].append(np.nan if value is None else value)
        units = {"temperature_target_k": "K", "dump_interval_fs": "fs",
                 "mean_squared_displacement_angstrom2": "Angstrom^2", "mean_temperature_k": "K",
                 "mean_pressure_gpa": "GPa", "mean_volume_angstrom3": "Angstrom^3",
                 "energy_drift_ev_per_atom_per_ps": "eV/atom/ps"}
        return Table(columns=columns, units=units, title="MD runs", name="md_runs",
                     logs=self.logs())

    def thermo_table(self) -> Table:
        """The thermo rows of every run, with the run's target temperature and index."""
        columns: dict[str, list] = {"temperature_target_k": [], "run_index": []}
        for name in outputs.THERMO_NAMES:
            columns[name] = []
        for run in self.runs:
            table = outputs.read_thermo_csv(run["thermo_path"])
            n_rows = len(table["step"])
            columns["temperature_target_k"].extend([run["temperature_target_k"]] * n_rows)
            columns["run_index"].extend([run["run_index"]] * n_rows)
            for name in outputs.THERMO_NAMES:
                columns[name].extend(table[name].tolist())
        units = {"temperature_target_k": "K", **outputs.THERMO_UNITS}
        return Table(columns=columns, units=units, title="MD thermodynamics", name="md_thermo",
                     logs=self.logs())

    def workspaces(self) -> list[Table]:
        """The output workspaces of MDRunGPUMD: the runs table and the thermo table."""
        return [self.runs_table(), self.thermo_table()]

    def summary(self) -> dict[str, Any]:
        """The top-level summary.json content."""
        by_temperature = {}
        for temperature, value in self.mean_squared_displacement_angstrom2.items():
            runs = [r for r in self.runs if r["temperature_target_k"] == temperature]
            by_temperature[f"{temperature:g}"] = {
                "mean_squared_displacement_angstrom2": value,
                "mean_squared_displacement_by_species_angstrom2": {
                    s: float(np.mean([r["mean_squared_displacement_by_species_angstrom2"][s]
                                      for r in runs]))
                    for s in runs[0]["mean_squared_displacement_by_species_angstrom2"]},
                "trajectories": [r["trajectory_path"] for r in runs],
            }
        document: dict[str, Any] = {
            "step": STEP_NAME, "backend": self.backend, "output_dir": str(self.output_dir),
            "protocol": self.protocol.to_dict(), "temperatures": by_temperature,
            "runs": [r["label"] for r in self.runs], "warnings": self.warnings,
        }
        if len(by_temperature) == 1:
            only = next(iter(by_temperature.values()))
            document["mean_squared_displacement_angstrom2"] = only[
                "mean_squared_displacement_angstrom2"]
            document["mean_squared_displacement_by_species_angstrom2"] = only[
                "mean_squared_displacement_by_species_angstrom2"]
        document["logs"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                            for k, v in self.logs().items()}
        return document


#: Relative difference between the mean production temperature and the target that is reported.
TEMPERATURE_WARNING_FRACTION = 0.10


def _temperature_warning(run: dict[str, Any]) -> list[str]:
    """A warning where NVE production did not run at the temperature the run is labelled with
    (for instance no equilibration from a perfect lattice: about half the target), since the
    S(q,w), quantum correction and Debye-Waller steps downstream take the target."""
    target, mean = run["temperature_target_k"], run.get("mean_temperature_k")
    if mean is None or not np.isfinite(mean) or target <= 0:
        return []
    if abs(mean - target) <= TEMPERATURE_WARNING_FRACTION * target:
        return []
    return [f"{run['label']}: the mean production temperature {mean:.0f} K differs from the "
            f"target {target:g} K by more than {100 * TEMPERATURE_WARNING_FRACTION:g}% (equilibrate "
            "longer, or with --equilibration nvt/npt); later steps use the target"]


def _identity(settings: MDSettings, backend: str) -> dict[str, Any]:
    """What must match for a folder's runs to be resumed or reused."""
    identity = {k: v for k, v in settings.as_values().items() if k not in _EXECUTION_ONLY}
    identity["structure_sha256"] = file_digest(settings.structure)
    identity["model_sha256"] = file_digest(settings.model)
    identity["backend"] = backend
    identity.update(protocol_rules(settings.equilibration, settings.production))
    return identity


def _prepare_output_dir(output_dir: Path, identity: dict[str, Any], overwrite: bool) -> None:
    record = output_dir / PARAMETERS_FILE
    if record.is_file():
        try:
            previous = json.loads(record.read_text()).get("identity", {})
        except ValueError:
            previous = {}
        if previous != identity:
            if not overwrite:
                changed = sorted(k for k in set(previous) | set(identity)
                                 if previous.get(k) != identity.get(k))
                raise ParameterError(
                    "output_dir", f"{output_dir} holds runs made with other parameters "
                    f"({', '.join(changed) or 'unreadable record'})",
                    "choose another --output-dir, or give --overwrite to delete them")
            for child in output_dir.glob("T_*K"):
                shutil.rmtree(child)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(record, json.dumps({"identity": identity}, indent=2) + "\n")


def choose_backend(settings: MDSettings) -> tuple[str, Path | None]:
    """(``gpumd`` or ``cpu``, the gpumd executable or None)."""
    requested = settings.backend
    if requested == "cpu":
        return "cpu", None
    executable = find_executable("gpumd", settings.gpumd_executable)
    if executable is None:
        if requested == "gpumd":
            raise ExternalProgramError(
                "gpumd: no executable found (not named, $MDINSIM_GPUMD unset, not on PATH); "
                "give --gpumd-executable PATH, or use --backend cpu")
        return "cpu", None
    return "gpumd", executable


def make_backend(backend: str, executable: Path | None, protocol: Protocol,
                 processes: int) -> MDBackend:
    """The engine of :func:`choose_backend`'s choice: GPUMD, else i-PI for path integrals,
    else ASE + CPUNEP."""
    if backend == "gpumd":
        return GPUMDBackend(executable)
    if protocol.path_integral:
        return IPIBackend(processes)
    return CPUBackend(processes)


#: The least a trajectory holds per atom and frame: three float32 coordinates (NetCDF; text
#: and extended XYZ need several times more), twice that with velocities.
LEAST_BYTES_PER_ATOM_FRAME = 12


def _check_trajectory_space(specs, protocol: Protocol, n_atoms: int, velocities: bool,
                            output_dir: Path, resumed: bool) -> None:
    """Raise :class:`OutputWriteError` before any MD where the trajectories cannot fit on the
    disk even at their smallest (what runs resumed here hold already counted as written):
    --production-time-ps 1e6 with a 1 fs dump started runs that needed ~100 GB each."""
    needed = (len(specs) * protocol.number_of_frames * n_atoms * LEAST_BYTES_PER_ATOM_FRAME
              * (2 if velocities else 1))
    written = sum(path.stat().st_size for spec in specs if resumed and spec.directory.is_dir()
                  for path in spec.directory.iterdir() if path.is_file()
                  and path.name.startswith("trajectory"))
    free = free_bytes(output_dir)
    if free is not None and needed - written > free:
        raise OutputWriteError(output_dir, f"the trajectories need at least "
                               f"{format_bytes(needed - written)} ({len(specs)} run(s) x "
                               f"{protocol.number_of_frames:,} frames x {n_atoms:,} atoms) "
                               f"but the disk has {format_bytes(free)} free",
                               "free space, write to another disk, or write fewer frames "
                               "(a shorter --production-time-ps or a longer "
                               "--dump-interval-fs)", needed_bytes=needed - written)


def run_md(parameters: MDSettings | Mapping[str, Any] | None = None,
           progress: ProgressReporter | None = None, **kwargs: Any) -> MDResult:
    """Run the MD protocol for every temperature and independent run.

    ``parameters``: an :class:`MDSettings`, or values (and keyword arguments) of
    :data:`MD_PARAMETERS` (see its definitions for names and units). Completed runs in
    ``output_dir`` are reused, interrupted ones resume from their checkpoints. Returns an
    :class:`MDResult`.
    """
    progress = ensure_progress(progress)
    settings = MDSettings.from_values(parameters, **kwargs)
    settings = replace(settings, **{
        name: str(Path(getattr(settings, name)).expanduser().resolve())
        for name in ("structure", "model", "output_dir")})
    values = settings.as_values()
    # local workers load calorine while this process checks the inputs and the model
    execution.prepare(settings.scheduler, settings.threads_per_worker, WORKER_MODULES)
    check_output_paths(MD_PARAMETERS, values)
    model = read_model_info(settings.model)
    structure = load_structure(settings.structure, settings.min_atom_distance_angstrom)
    check_species(structure, model, settings.structure)
    atoms = build_supercell(structure, settings.supercell)
    backend, executable = choose_backend(settings)
    if backend == "cpu":
        check_model_loads_on_cpu(model)

    notes: list[str] = []
    max_frequency = settings.max_frequency_mev
    if max_frequency is None:
        from .frequencies import estimate_max_frequency_mev  # loads phonopy (seconds)

        progress.report(0.0, "estimating the fastest vibration")
        max_frequency = estimate_max_frequency_mev(structure, str(model.path))
        if max_frequency is None:
            notes.append("the fastest vibration could not be estimated (model not runnable "
                         "on CPU, or cell too large); the dump interval was not checked: give "
                         "--max-frequency-mev to check it")
    protocol = build_protocol(settings, max_frequency)
    notes.extend(protocol.warnings)

    output_dir = Path(settings.output_dir)
    specs = run_specs(settings, output_dir)
    _check_trajectory_space(specs, protocol, len(atoms), settings.dump_velocities, output_dir,
                            resumed=not settings.overwrite)
    _prepare_output_dir(output_dir, _identity(settings, backend), settings.overwrite)
    logs = provenance_logs(STEP_NAME, values)
    logs["max_frequency_mev"] = max_frequency if max_frequency is not None else ""

    work = progress.sub(0.02, 1.0)
    with execution.session(settings.scheduler, settings.threads_per_worker,
                           preload=WORKER_MODULES) as executor:
        jobs = [MDJob(spec, protocol, atoms, str(model.path), logs,
                      settings.min_atom_distance_angstrom) for spec in specs]
        engine = make_backend(backend, executable, protocol, settings.processes)
        if executor.spec.distributed:
            from .tasks import run_on_cluster  # Dask loads only for a cluster

            summaries = run_on_cluster(executor, jobs, engine, work)
        else:
            summaries = engine.run_all(jobs, work)

    runs = []
    for spec, summary in zip(specs, summaries):
        run = dict(summary)
        run["directory"] = str(spec.directory)
        run["trajectory_path"] = str(spec.directory / summary["trajectory"])
        run["thermo_path"] = str(spec.directory / summary["thermo"])
        runs.append(run)
        notes.extend(_temperature_warning(run))
    result = MDResult(output_dir=output_dir, settings=settings, protocol=protocol,
                      backend=backend, runs=runs, warnings=notes)
    write_summary(output_dir / SUMMARY_FILE, result.summary())
    progress.report(1.0, "done")
    return result
