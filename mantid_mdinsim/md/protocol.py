"""The MD protocol in steps: what every backend runs, derived once from the parameters.

:class:`Protocol` turns the validated parameters (durations in ps, intervals in fs) into whole
numbers of steps, checks that they are consistent (intervals are multiples of the time step,
TRPMD follows PIMD, ...) and derives one :class:`RunSpec` per (temperature, run) with its own
seed and folder. The backends (CPU: :mod:`.cpu` and :mod:`.pimd`; GPU: :mod:`.gpumd`) only
read a ``Protocol`` and a ``RunSpec``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InputFileError, ParameterError
from . import frequencies
from .parameters import MDSettings

#: Relative tolerance for "is a multiple of the time step".
_MULTIPLE_TOLERANCE = 1e-6
#: Length of the classical thermalisation between a ``pimd_*`` equilibration and classical
#: (``nve``) production, in Langevin thermostat times (``thermostat_coupling_fs``). The
#: state handed over from the ring polymer is not a classical thermal one (i-PI's contraction
#: to the centroid leaves the momenta at 1/P of the thermal kinetic energy, and the centroid
#: configuration differs from a classical one where the potential is anharmonic); a Langevin
#: thermostat on every degree of freedom brings the energy to the canonical value with a
#: relaxation time of about one thermostat time, so after 5 at most e^-5 < 1 % of the deficit
#: is left (measured: DEVELOPERS.md, "PIMD then classical production").
THERMALISATION_THERMOSTAT_TIMES = 5.0


def _steps(name: str, interval_fs: float, time_step_fs: float, flag: str) -> int:
    """``interval_fs`` as a whole number of steps, or a ParameterError."""
    ratio = interval_fs / time_step_fs
    steps = int(round(ratio))
    if steps < 1 or abs(ratio - steps) > _MULTIPLE_TOLERANCE * max(ratio, 1.0):
        lower = max(1, math.floor(ratio)) * time_step_fs
        raise ParameterError(name, f"{interval_fs:g} fs is not a whole number of time steps "
                             f"of {time_step_fs:g} fs",
                             f"give {flag} as a multiple of the time step, e.g. {lower:g} fs")
    return steps


def temperature_label(temperature_k: float) -> str:
    """Folder name of a temperature: ``T_300K``, ``T_77.5K``."""
    return f"T_{temperature_k:g}K"


@dataclass(frozen=True)
class RunSpec:
    """One independent run: a temperature, a run index, its seed and its folder."""

    temperature_k: float
    run_index: int
    seed: int
    directory: Path

    @property
    def label(self) -> str:
        return f"{temperature_label(self.temperature_k)}/run_{self.run_index:03d}"


@dataclass(frozen=True)
class Protocol:
    """The MD protocol in whole steps. Times in fs unless the name says otherwise."""

    time_step_fs: float
    equilibration: str
    equilibration_steps: int
    production: str
    production_steps: int
    dump_steps: int
    thermo_steps: int
    checkpoint_steps: int
    pressure_gpa: float
    thermostat: str
    thermostat_coupling_fs: float
    barostat_coupling_fs: float
    bulk_modulus_gpa: float
    number_of_beads: int
    dump_velocities: bool
    max_frequency_mev: float | None = None
    warnings: tuple[str, ...] = field(default=())
    #: ``netcdf`` or ``extxyz``: the CPU backend's trajectory format (see :mod:`.outputs`).
    trajectory_format: str = "extxyz"
    #: Steps of classical (one-bead) Langevin NVT between a ``pimd_*`` equilibration and
    #: ``nve`` production, at the equilibration's final cell; 0 otherwise
    #: (:data:`THERMALISATION_THERMOSTAT_TIMES`). Its thermo rows have the phase
    #: ``thermalisation``; production starts after it.
    thermalisation_steps: int = 0

    @property
    def path_integral(self) -> bool:
        return self.equilibration.startswith("pimd") or self.production == "trpmd"

    @property
    def barostat(self) -> bool:
        return self.equilibration in ("npt", "pimd_npt")

    @property
    def number_of_frames(self) -> int:
        return self.production_steps // self.dump_steps

    @property
    def dump_interval_fs(self) -> float:
        return self.dump_steps * self.time_step_fs

    @property
    def thermo_interval_fs(self) -> float:
        return self.thermo_steps * self.time_step_fs

    @property
    def production_first_step(self) -> int:
        """Steps before production: equilibration and thermalisation."""
        return self.equilibration_steps + self.thermalisation_steps

    @property
    def total_steps(self) -> int:
        return self.production_first_step + self.production_steps

    @property
    def production_start_fs(self) -> float:
        return self.production_first_step * self.time_step_fs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_protocol(settings: MDSettings | Mapping[str, Any],
                   max_frequency_mev: float | None = None) -> Protocol:
    """The :class:`Protocol` of the MD settings (or of parameter values, validated first).

    ``max_frequency_mev`` (the given or estimated fastest vibration) enables the sampling
    checks: a dump interval beyond the Nyquist limit of that vibration is an error (its
    spectrum would fold onto lower energies), a time step above 1/20 of its period a warning.
    """
    settings = MDSettings.from_values(settings)
    dt = settings.time_step_fs
    equilibration = settings.equilibration
    production = settings.production
    if production == "trpmd" and not equilibration.startswith("pimd"):
        raise ParameterError("production", "trpmd needs a path-integral equilibration",
                             "use --equilibration pimd_npt or pimd_nvt with the same "
                             "--number-of-beads (GPUMD requires the pimd run first)")
    if equilibration.startswith("pimd") and settings.number_of_beads % 2:
        raise ParameterError("number_of_beads", f"{settings.number_of_beads} is odd",
                             "GPUMD's ring polymers need an even number of beads")
    equilibration_steps = 0
    if equilibration != "none":
        equilibration_steps = int(round(settings.equilibration_time_ps * 1000.0 / dt))
        if equilibration_steps < 1:
            raise ParameterError("equilibration_time_ps",
                                 f"{settings.equilibration_time_ps:g} ps is shorter than "
                                 f"one time step of {dt:g} fs",
                                 "give a longer equilibration or --equilibration none")
    dump_steps = _steps("dump_interval_fs", settings.dump_interval_fs, dt,
                        "--dump-interval-fs")
    thermo_interval = settings.thermo_interval_fs or settings.dump_interval_fs
    thermo_steps = _steps("thermo_interval_fs", thermo_interval, dt, "--thermo-interval-fs")
    n_frames = int(round(settings.production_time_ps * 1000.0 / (dump_steps * dt)))
    if n_frames < 2:
        raise ParameterError("production_time_ps",
                             f"{settings.production_time_ps:g} ps holds fewer than two "
                             f"frames {dump_steps * dt:g} fs apart",
                             "give a production time of several dump intervals")
    production_steps = n_frames * dump_steps
    # Checkpoints fall on frame boundaries so that a resumed trajectory continues exactly.
    checkpoint_frames = max(1, int(round(settings.checkpoint_interval_ps * 1000.0
                                         / (dump_steps * dt))))
    checkpoint_steps = checkpoint_frames * dump_steps

    thermalisation_steps = 0
    if equilibration.startswith("pimd") and production == "nve":
        # whole thermo intervals, so that its rows fall on the same grid in every backend
        thermalisation_steps = thermo_steps * math.ceil(
            THERMALISATION_THERMOSTAT_TIMES * settings.thermostat_coupling_fs
            / (dt * thermo_steps) - 1e-9)

    notes: list[str] = []
    if max_frequency_mev is not None:
        limit_fs = frequencies.max_dump_interval_fs(max_frequency_mev)
        if dump_steps * dt > limit_fs * (1 + 1e-9):
            raise ParameterError(
                "dump_interval_fs",
                f"{dump_steps * dt:g} fs cannot resolve the fastest vibration at "
                f"{max_frequency_mev:.1f} meV (frames that far apart resolve up to "
                f"{frequencies.nyquist_energy_mev(dump_steps * dt):.1f} meV; faster motion "
                "folds onto lower energies of S(q,w))",
                f"dump every {max(dt, math.floor(limit_fs / dt) * dt):g} fs or less, or give "
                "--max-frequency-mev if that estimate is wrong")
        period = frequencies.period_fs(max_frequency_mev)
        if dt * 2.0 * math.pi > period:
            raise ParameterError(
                "time_step_fs", f"{dt:g} fs is too long for the fastest vibration "
                f"({max_frequency_mev:.1f} meV, period {period:.1f} fs): fewer than 2 pi steps "
                "per period make the integration too inaccurate (and at 2 steps unstable)",
                f"use a time step below {period / frequencies.STEPS_PER_PERIOD_WARN:.2g} fs")
        if dt > period / frequencies.STEPS_PER_PERIOD_WARN:
            notes.append(f"time step {dt:g} fs is more than 1/{frequencies.STEPS_PER_PERIOD_WARN:g}"
                         f" of the shortest vibrational period ({period:.1f} fs at "
                         f"{max_frequency_mev:.1f} meV); check the energy drift in summary.json")

    return Protocol(
        time_step_fs=dt, equilibration=equilibration, equilibration_steps=equilibration_steps,
        production=production, production_steps=production_steps, dump_steps=dump_steps,
        thermo_steps=thermo_steps, checkpoint_steps=checkpoint_steps,
        pressure_gpa=settings.pressure_gpa, thermostat=settings.thermostat,
        thermostat_coupling_fs=settings.thermostat_coupling_fs,
        barostat_coupling_fs=settings.barostat_coupling_fs,
        bulk_modulus_gpa=settings.bulk_modulus_gpa,
        number_of_beads=settings.number_of_beads if _uses_beads(equilibration, production)
        else 1,
        dump_velocities=settings.dump_velocities, max_frequency_mev=max_frequency_mev,
        warnings=tuple(notes), trajectory_format=settings.trajectory_format,
        thermalisation_steps=thermalisation_steps)


def protocol_rules(equilibration: str, production: str) -> dict[str, Any]:
    """The protocol's fixed rules that change a run's results beyond its settings, for what
    must match before runs are reused (md/core.py, predict's MD stage): a folder made before
    a rule existed lacks its key, so its runs are not taken for runs made with it."""
    if equilibration.startswith("pimd") and production == "nve":
        return {"thermalisation_thermostat_times": THERMALISATION_THERMOSTAT_TIMES}
    return {}


def _uses_beads(equilibration: str, production: str) -> bool:
    return equilibration.startswith("pimd") or production == "trpmd"


def run_seed(seed: int, temperature_k: float, run_index: int) -> int:
    """The seed of one run: independent of the order in which temperatures are given, a
    positive 31-bit integer (GPUMD's ``velocity ... seed`` reads an int)."""
    sequence = np.random.SeedSequence(entropy=seed,
                                      spawn_key=(int(round(temperature_k * 1000)), run_index))
    return int(sequence.generate_state(1, dtype=np.uint32)[0] % (2**31 - 2)) + 1


def run_specs(settings: MDSettings | Mapping[str, Any], output_dir: Path) -> list[RunSpec]:
    """One :class:`RunSpec` per temperature and run index, in the order given."""
    settings = MDSettings.from_values(settings)
    specs = []
    temperatures = settings.temperature_k
    labels = [temperature_label(t) for t in temperatures]
    if len(set(labels)) != len(labels):
        # by folder name: 300 and 300.0001 K were both T_300K, the second run's folder the
        # first's (resumed as done, reported at the other temperature)
        second = next(i for i, label in enumerate(labels) if label in labels[:i])
        first = labels.index(labels[second])
        raise ParameterError("temperature_k", f"a temperature is given twice: "
                             f"{float(temperatures[first])!r} and "
                             f"{float(temperatures[second])!r} K both run in the folder "
                             f"{labels[first]}", "give each temperature once (differing in "
                             "its first six digits); use --number-of-runs for independent runs")
    for temperature in temperatures:
        for index in range(settings.number_of_runs):
            directory = output_dir / temperature_label(temperature) / f"run_{index:03d}"
            for folder in (directory.parent, directory):
                if folder.exists() and not folder.is_dir():
                    # Found here, before any MD, not by a mkdir after the equilibration.
                    raise InputFileError(folder, "is a file where a run's folder belongs",
                                         fix="move or delete it, or choose another "
                                             "--output-dir")
            specs.append(RunSpec(temperature, index, run_seed(settings.seed, temperature,
                                                              index), directory))
    return specs
