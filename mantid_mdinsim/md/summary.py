"""The summary of one run (``summary.json``): what later steps and people read first.

Keys (units in the names):

* ``mean_squared_displacement_angstrom2``: U = <|u|^2> about the mean positions over the
  production frames (three-dimensional; Debye-Waller factor exp(-Q^2 U / 3)), all atoms;
  ``mean_squared_displacement_by_species_angstrom2``: the same per species;
* ``mean_temperature_k``, ``mean_pressure_gpa``, ``mean_volume_angstrom3``,
  ``mean_potential_energy_ev`` (production) with their standard deviations;
* ``energy_drift_ev_per_atom_per_ps``: slope of the total energy in NVE production per atom;
* ``trajectory``, ``thermo``: file names relative to the run folder;
* the protocol, the seed, the backend, timings (``wall_s``, ``atom_steps_per_s``) and the
  provenance logs of the parameters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InputFileError
from ..io.atomic import write_text_atomic
from . import outputs
from .protocol import Protocol, RunSpec


def _mean_std(values: np.ndarray) -> tuple[float | None, float | None]:
    if len(values) == 0:
        return None, None
    return float(np.mean(values)), float(np.std(values))


def energy_drift_ev_per_atom_per_ps(time_fs: np.ndarray, total_energy_ev: np.ndarray,
                                    n_atoms: int) -> float | None:
    """Least-squares slope of the total energy (eV per atom per ps)."""
    if len(time_fs) < 3:
        return None
    slope_ev_per_fs = np.polyfit(np.asarray(time_fs, dtype=float),
                                 np.asarray(total_energy_ev, dtype=float), 1)[0]
    return float(slope_ev_per_fs * 1000.0 / n_atoms)


def run_summary(spec: RunSpec, protocol: Protocol, backend: str, symbols: list[str],
                thermo: Mapping[str, np.ndarray], msd: tuple[float, dict[str, float]],
                wall_s: float, steps_this_session: int | None = None,
                resumed_from_step: int | None = None, logs: Mapping[str, Any] | None = None,
                extra: Mapping[str, Any] | None = None,
                cpu_s: float | None = None,
                trajectory_name: str = outputs.TRAJECTORY_NAME) -> dict[str, Any]:
    """The summary dict of a completed run."""
    production = np.asarray(thermo["phase"]) == "production"
    n_atoms = len(symbols)
    summary: dict[str, Any] = {
        "label": spec.label,
        "temperature_target_k": spec.temperature_k,
        "run_index": spec.run_index,
        "seed": spec.seed,
        "backend": backend,
        "number_of_atoms": n_atoms,
        "species": {s: int(symbols.count(s)) for s in sorted(set(symbols))},
        "trajectory": trajectory_name,
        "thermo": outputs.THERMO_NAME,
        "number_of_frames": protocol.number_of_frames,
        "time_step_fs": protocol.time_step_fs,
        "dump_interval_fs": protocol.dump_interval_fs,
        "production_start_fs": protocol.production_start_fs,
        "production_time_ps": protocol.production_steps * protocol.time_step_fs / 1000.0,
        "equilibration": protocol.equilibration,
        "production": protocol.production,
        "number_of_beads": protocol.number_of_beads,
        "mean_squared_displacement_angstrom2": msd[0],
        "mean_squared_displacement_by_species_angstrom2": msd[1],
    }
    for name, key in (("temperature_k", "temperature_k"), ("pressure_gpa", "pressure_gpa"),
                      ("volume_angstrom3", "volume_angstrom3"),
                      ("potential_energy_ev", "potential_energy_ev")):
        mean, std = _mean_std(np.asarray(thermo[key])[production])
        summary[f"mean_{name}"] = mean
        summary[f"std_{name}"] = std
    # the equilibration's own rows: a thermalisation after PIMD keeps its final cell
    equilibration = np.asarray(thermo["phase"]) == "equilibration"
    if equilibration.any():
        tail = np.asarray(thermo["volume_angstrom3"])[equilibration]
        tail = tail[len(tail) // 2:]
        summary["equilibration_mean_volume_angstrom3"] = float(tail.mean())
    summary["energy_drift_ev_per_atom_per_ps"] = (
        energy_drift_ev_per_atom_per_ps(np.asarray(thermo["time_fs"])[production],
                                        np.asarray(thermo["total_energy_ev"])[production],
                                        n_atoms)
        if protocol.production == "nve" else None)
    atom_steps = n_atoms * protocol.number_of_beads * (
        steps_this_session if steps_this_session is not None else protocol.total_steps)
    summary["timings"] = {"wall_s": wall_s,
                          "atom_steps_per_s": atom_steps / wall_s if wall_s > 0 else None,
                          "resumed_from_step": resumed_from_step}
    if cpu_s:
        # processor time of this process: the rate a busy machine does not distort
        summary["timings"]["cpu_s"] = cpu_s
        summary["timings"]["atom_steps_per_cpu_s"] = atom_steps / cpu_s
    summary["warnings"] = list(protocol.warnings)
    if protocol.production == "trpmd":
        summary["mean_squared_displacement_note"] = (
            "from the ring-polymer centroid: U lacks the spread of the beads about it "
            "(zero-point motion), so it underestimates the quantum Debye-Waller exponent")
    if extra:
        summary.update(extra)
    summary["logs"] = {key: _jsonable(value) for key, value in (logs or {}).items()}
    return summary


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    write_text_atomic(path, json.dumps(summary, indent=2, default=_jsonable) + "\n")


def completed_run(directory: Path, trajectory_name: str = outputs.TRAJECTORY_NAME
                  ) -> tuple[Path, Path, Path, dict[str, Any] | None]:
    """The trajectory, thermo and summary paths of the run in ``directory``, and its summary
    where the run is complete (all three files written; a backend then has nothing to do)."""
    trajectory = directory / trajectory_name
    thermo = directory / outputs.THERMO_NAME
    summary = directory / outputs.SUMMARY_NAME
    if summary.is_file() and trajectory.is_file() and thermo.is_file():
        loaded = load_summary(summary)
        _check_trajectory_complete(trajectory, loaded)
        return trajectory, thermo, summary, loaded
    return trajectory, thermo, summary, None


def _check_trajectory_complete(trajectory: Path, summary: Mapping[str, Any]) -> None:
    """A finished run's extended XYZ trajectory holds number_of_frames x (atoms + 2) lines; a
    file cut after the run (a copy interrupted, a full disk) would otherwise be reported as a
    finished run and found out only by the next step. (A NetCDF file cut short is refused by
    its reader, which checks the size its header implies.)"""
    frames, atoms = summary.get("number_of_frames"), summary.get("number_of_atoms")
    if trajectory.suffix != ".xyz" or not isinstance(frames, int) or not isinstance(atoms, int) or \
            summary.get("number_of_beads", 1) not in (None, 1):
        return
    lines = 0
    with open(trajectory, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            lines += block.count(b"\n")
    if lines != frames * (atoms + 2):
        raise InputFileError(trajectory, f"holds {lines} lines, but the run's summary.json "
                             f"records {frames} frames of {atoms} atoms "
                             f"({frames * (atoms + 2)} lines)",
                             fix="the file was cut or changed after the run: delete the run's "
                                 "folder to run it again")


def load_summary(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise InputFileError(path, f"is not a readable run summary ({error})",
                             fix="delete it (and the run's trajectory) to run it again") from error
