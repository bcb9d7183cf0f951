"""Active learning: MD with the model, select what the ensemble disagrees on, label, retrain.

Round g (g = 0 .. G-1, G = ``active_learning_generations``) in ``generation_<g>/``:

1. train the full model and the ensemble on the initial data plus all structures labelled so
   far (``nepmodel_*``, resumable as any training);
2. run MD from the start structures at each temperature with the full model, keeping a frame
   every ``md_sample_interval`` steps (``sampled.xyz``);
3. evaluate the ensemble on the frames: sigma_f, GPUMD's ``active`` uncertainty (the largest over
   atoms of the standard deviation over models of the force; :mod:`.ensemble`), written to
   ``uncertainty.csv``;
4. select the frames with threshold < sigma_f (<= maximum, if given), the most uncertain first,
   at most ``max_new_structures`` (``selected.xyz``);
5. label them with the reference calculator (``labelled.xyz``), which joins the data.

After G rounds the data are trained on once more in ``generation_<G>/``; its models and metrics
are the result (copied to the top of the output folder). A round whose selection is empty ends
the loop early: the ensemble agrees everywhere the MD went. Each file is written atomically and
a step whose file exists is not repeated, so a stopped run resumes at the step it was in.

The MD is a callable (:class:`MDSampler`): with ``md_engine langevin`` (the default)
:func:`langevin_sampler`, ASE's Langevin dynamics with calorine's CPUNEP (NEP4, CPU), self-contained
here; with ``md_engine mdinsim`` :func:`mdinsim_md_sampler`, the suite's MD step
(:mod:`mantid_mdinsim.md`: GPUMD on a GPU where found). Any other callable can be passed to
:func:`~mantid_mdinsim.train.train_nep` as ``md_sampler``.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.singlepoint import SinglePointCalculator

from .. import execution
# The MD step's package offers its core lazily: it loads only when a sampler runs.
from .. import md as md_step
from ..errors import ExternalProgramError, ParameterError
from ..io.atomic import atomic_path, write_text_atomic
from ..progress import ProgressReporter
from .dataset import (Dataset, check_species, dataset_from_structures, load_dataset,
                      read_structures_file, write_structures_file)
from .ensemble import Ensemble
from .fitting import evaluate_models, finish, train_models

CalculatorFactory = Callable[[], Any]


class MDSampler(Protocol):
    """Runs MD from ``start`` with the NEP model ``model_path`` and returns the sampled frames
    (Atoms without calculators), one every ``sample_interval`` steps."""

    def __call__(self, start: Atoms, model_path: Path, *, temperature_k: float, n_steps: int,
                 time_step_fs: float, sample_interval: int, seed: int) -> list[Atoms]: ...


def langevin_sampler(start: Atoms, model_path: Path, *, temperature_k: float, n_steps: int,
                     time_step_fs: float, sample_interval: int, seed: int,
                     friction_per_fs: float = 0.01) -> list[Atoms]:
    """The fallback sampler: ASE's Langevin thermostat (NVT) with calorine's CPUNEP.

    Velocities start from a Maxwell-Boltzmann distribution at ``temperature_k`` (seeded);
    ``friction_per_fs`` of 0.01 1/fs couples the thermostat over ~100 fs.
    """
    # ASE's dynamics and calorine take seconds to import; only active learning's MD needs them.
    from ase.constraints import FixCom  # ase.md, calorine: seconds to import, only to sample
    from ase.md import velocitydistribution  # (as above)
    from ase.md.langevin import Langevin  # (as above)
    from calorine.calculators import CPUNEP  # (as above)

    rng = np.random.default_rng(seed)
    atoms = Atoms(numbers=start.numbers, positions=start.positions, cell=start.cell,
                  pbc=start.pbc)
    atoms.calc = CPUNEP(str(model_path))
    # ASE 3.29 renamed MaxwellBoltzmannDistribution to thermalize_momenta.
    thermalize = getattr(velocitydistribution, "thermalize_momenta",
                         velocitydistribution.MaxwellBoltzmannDistribution)
    thermalize(atoms, temperature_K=temperature_k, rng=rng)
    velocitydistribution.Stationary(atoms)
    # The centre of mass is held by a constraint: Langevin's fixcm samples NVT only roughly
    # for small systems (ASE >= 3.28 deprecates it).
    atoms.set_constraint(FixCom())
    dynamics = Langevin(atoms, timestep=time_step_fs * units.fs, temperature_K=temperature_k,
                        friction=friction_per_fs / units.fs, rng=rng, fixcm=False)
    frames: list[Atoms] = []
    for _ in range(n_steps // sample_interval):
        dynamics.run(sample_interval)
        frames.append(Atoms(numbers=atoms.numbers, positions=atoms.positions.copy(),
                            cell=atoms.cell.array.copy(), pbc=atoms.pbc))
    return frames


def mdinsim_md_sampler(work_directory: str | Path, backend: str = "auto",
                       gpumd_executable: str | None = None) -> MDSampler:
    """A sampler running the suite's MD step (:func:`mantid_mdinsim.md.core.run_md`: GPUMD on a
    GPU where found, else ASE + CPUNEP): NVT equilibration for ``n_steps`` then NVE production
    for ``n_steps`` whose frames, one every ``sample_interval`` steps, are returned. Each call
    runs in its own folder under ``work_directory`` (resumable as any MD run)."""
    from ase.io import write  # ase.io loads every file format (seconds)

    def sample(start: Atoms, model_path: Path, *, temperature_k: float, n_steps: int,
               time_step_fs: float, sample_interval: int, seed: int) -> list[Atoms]:
        folder = Path(work_directory) / f"md_seed{seed}_{temperature_k:g}K"
        folder.mkdir(parents=True, exist_ok=True)
        structure = folder / "start.xyz"
        if not structure.is_file():
            with atomic_path(structure) as temporary:
                write(str(temporary), Atoms(numbers=start.numbers, positions=start.positions,
                                            cell=start.cell, pbc=start.pbc), format="extxyz")
        duration_ps = n_steps * time_step_fs / 1000.0
        result = md_step.run_md(structure=str(structure), model=str(model_path),
                        output_dir=str(folder / "md"), temperature_k=[temperature_k],
                        time_step_fs=time_step_fs, equilibration="nvt",
                        equilibration_time_ps=duration_ps, production="nve",
                        production_time_ps=duration_ps,
                        dump_interval_fs=sample_interval * time_step_fs, seed=seed,
                        backend=backend, gpumd_executable=gpumd_executable, processes=1)
        frames = []
        # iter_frames reads every format MD writes (NetCDF frames carry type indices that
        # become species through the file beside them; ase.io would make them 'X').
        for path in result.trajectory_paths:
            frames.extend(Atoms(numbers=a.numbers, positions=a.positions, cell=a.cell,
                                pbc=a.pbc) for a in md_step.iter_frames(path))
        return frames

    return sample


def load_reference_calculator(import_path: str, arguments: str | Mapping[str, Any] = "{}"
                              ) -> CalculatorFactory:
    """A function making the calculator named by ``import_path`` with ``arguments``.

    ``import_path`` is ``module:attribute`` or ``module.attribute`` (the attribute may be
    dotted, e.g. ``ase.calculators.tersoff:Tersoff.from_lammps``); it names a class or a
    function that returns an ASE calculator. ``arguments`` are keyword arguments, as a dict or
    JSON text.
    """
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except ValueError as error:
            raise ParameterError("reference_calculator_arguments", f"not valid JSON ({error})",
                                 'give a JSON object such as {"method": "GFN1-xTB"}') from None
    if not isinstance(arguments, Mapping):
        raise ParameterError("reference_calculator_arguments", "not a JSON object",
                             'give a JSON object such as {"method": "GFN1-xTB"}')
    if ":" in import_path:
        module_name, attribute = import_path.split(":", 1)
        candidates = [(module_name, attribute)]
    else:
        parts = import_path.split(".")
        candidates = [(".".join(parts[:k]), ".".join(parts[k:]))
                      for k in range(len(parts) - 1, 0, -1)]
    errors = []
    for module_name, attribute in candidates:
        try:
            target: Any = importlib.import_module(module_name)
        except ImportError as error:
            errors.append(f"{module_name}: {error}")
            continue
        try:
            for name in attribute.split("."):
                target = getattr(target, name)
        except AttributeError:
            errors.append(f"{module_name} has no {attribute}")
            continue
        if not callable(target):
            break
        keyword_arguments = dict(arguments)
        return lambda: target(**keyword_arguments)
    raise ParameterError("reference_calculator", f"cannot import '{import_path}' "
                         f"({'; '.join(errors) or 'not callable'})",
                         "give module:Class of an installed ASE calculator, e.g. "
                         "tblite.ase:TBLite or ase.calculators.emt:EMT")


def label_structures(structures: Sequence[Atoms], factory: CalculatorFactory,
                     description: str = "reference calculator",
                     progress: ProgressReporter | None = None) -> list[Atoms]:
    """Energies, forces and (for periodic structures, where the calculator has it) stresses
    from the reference calculator, as SinglePointCalculator results.

    Each structure is a piece (:mod:`mantid_mdinsim.execution`): with ``--scheduler`` the
    reference calculations run as tasks on the cluster, each making its own calculator."""
    calculators: dict[str, Any] = {}   # in this process, one calculator for all structures
    pieces = [execution.Piece(f"label-{index}", _label_one,
                              (structure.numbers, structure.positions, np.array(structure.cell),
                               structure.pbc, factory, description, index, calculators))
              for index, structure in enumerate(structures)]
    executor = execution.active()
    if executor.spec.distributed:
        pieces = [dataclasses.replace(p, args=p.args[:-1] + (None,)) for p in pieces]
    results = executor.run(pieces, progress)
    labelled = []
    for structure, result in zip(structures, results):
        atoms = Atoms(numbers=structure.numbers, positions=structure.positions,
                      cell=structure.cell, pbc=structure.pbc)
        atoms.calc = SinglePointCalculator(atoms, **result)
        atoms.info["config_type"] = "active_learning"
        labelled.append(atoms)
    return labelled


def _label_one(numbers, positions, cell, pbc, factory: CalculatorFactory, description: str,
               index: int, calculators: dict | None) -> dict[str, Any]:
    """The reference results of one structure (a piece)."""
    if calculators is None:
        calculator = factory()
    else:
        calculator = calculators.get("calculator") or calculators.setdefault("calculator",
                                                                             factory())
    atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)
    atoms.calc = calculator
    try:
        energy = atoms.get_potential_energy()
        forces = atoms.get_forces()
    except Exception as error:
        raise ExternalProgramError(
            f"{description} failed on selected structure {index} ({type(error).__name__}: "
            f"{error}); check the calculator's settings") from error
    results = {"energy": float(energy), "forces": np.array(forces)}
    if all(atoms.pbc):
        try:
            results["stress"] = np.array(atoms.get_stress())
        except (PropertyNotImplementedError, NotImplementedError):
            pass
    return results


def select_uncertain(uncertainty_mev_per_angstrom: np.ndarray, threshold_mev_per_angstrom: float,
                     maximum_mev_per_angstrom: float | None = None,
                     max_new: int | None = None) -> np.ndarray:
    """Indices of the frames to label: threshold < sigma_f (<= maximum), most uncertain first,
    at most ``max_new`` (ties keep the earlier frame first)."""
    sigma = np.asarray(uncertainty_mev_per_angstrom, dtype=float)
    eligible = np.isfinite(sigma) & (sigma > threshold_mev_per_angstrom)
    if maximum_mev_per_angstrom is not None:
        eligible &= sigma <= maximum_mev_per_angstrom
    indices = np.flatnonzero(eligible)
    order = np.argsort(-sigma[indices], kind="stable")
    indices = indices[order]
    return indices[:max_new] if max_new is not None else indices


def _read_frames(path: Path) -> list[Atoms]:
    from ase.io import read  # ase.io loads every file format (seconds)

    return read(str(path), index=":", format="extxyz") if path.stat().st_size else []


def _write_frames(path: Path, frames: Sequence[Atoms]) -> None:
    from ase.io import write  # ase.io loads every file format (seconds)

    with atomic_path(path) as temporary:
        write(str(temporary), list(frames), format="extxyz")


def md_start_structures(inputs, rng_seed: int) -> list[Atoms]:
    """The MD start structures: md_start_structures files, or md_starts drawn from the
    training set with the seed."""
    settings = inputs.settings
    if settings.md_start_structures:
        starts = []
        for name in settings.md_start_structures:
            path = Path(name)
            frames = read_structures_file(path)
            check_species(Dataset(frames, [(path, i) for i in range(len(frames))]),
                          inputs.hyper.species, "MD start structures")
            starts.extend(frames)
        return starts
    rng = np.random.default_rng(rng_seed)
    count = min(settings.md_starts, len(inputs.training))
    indices = np.sort(rng.choice(len(inputs.training), size=count, replace=False))
    return [inputs.training.structures[i] for i in indices]


def run_active_learning(inputs, progress: ProgressReporter, md_sampler: MDSampler | None = None,
                        reference_calculator: CalculatorFactory | None = None,
                        logs: Mapping[str, Any] | None = None):
    """The loop of the module docstring; returns the TrainResult of the last training."""
    settings = inputs.settings
    rounds = settings.active_learning_generations
    if settings.ensemble_size < 2:
        raise ParameterError("ensemble_size", "active learning needs an ensemble of at least "
                             "two models for its uncertainty", "give --ensemble-size 4 or more")
    threshold = settings.uncertainty_threshold_mev_per_angstrom
    maximum = settings.uncertainty_maximum_mev_per_angstrom
    if maximum is not None and not maximum > threshold:
        # select_uncertain keeps threshold < sigma <= maximum: an empty window would label
        # nothing, and every round would retrain on the same data without a word.
        raise ParameterError("uncertainty_maximum_mev_per_angstrom", f"{maximum:g} meV/Angstrom "
                             f"is not above the threshold {threshold:g} meV/Angstrom, so no "
                             "structure could be selected", "give a maximum above the threshold")
    if inputs.hyper.version != 4:
        raise ParameterError("version", "active learning evaluates the ensemble with "
                             "calorine's CPUNEP, which reads NEP4 only", "use --nep-version 4")
    if reference_calculator is None:
        if not settings.reference_calculator:
            raise ParameterError("reference_calculator", "active learning needs a reference "
                                 "calculator to label the selected structures",
                                 "give e.g. --reference-calculator tblite.ase:TBLite "
                                 "--reference-calculator-arguments '{\"method\": "
                                 "\"GFN1-xTB\"}'")
        reference_calculator = load_reference_calculator(
            settings.reference_calculator, settings.reference_calculator_arguments)
    description = settings.reference_calculator or "reference calculator"
    output = inputs.output_directory
    if md_sampler is not None:
        sampler = md_sampler
    elif settings.md_engine == "mdinsim":
        sampler = mdinsim_md_sampler(output / "md_runs", backend="auto")
    else:
        sampler = langevin_sampler
    seed = settings.seed
    starts = md_start_structures(inputs, seed)
    temperatures = settings.md_temperature_k
    training = inputs.training
    summary: list[dict] = []
    runs = None
    generation = 0
    for generation in range(rounds + 1):
        directory = output / f"generation_{generation}"
        span = (generation / (rounds + 1), (generation + 1) / (rounds + 1))
        part = progress.sub(*span)
        runs = train_models(training, inputs.test, inputs.hyper, inputs.backend, directory,
                            settings.ensemble_size, settings.validation_fraction,
                            settings.split_mode, seed, part.sub(0.0, 0.6))
        if generation == rounds:
            break
        record: dict[str, Any] = {"generation": generation, "n_training": len(training)}
        # -- sample -----------------------------------------------------------------------
        sampled_path = directory / "sampled.xyz"
        if sampled_path.is_file():
            frames = _read_frames(sampled_path)
        else:
            frames = []
            jobs = [(s, t) for s in range(len(starts)) for t in temperatures]
            for job, (start_index, temperature) in enumerate(jobs):
                part.report(0.6 + 0.2 * job / len(jobs),
                            f"generation {generation}: MD {job + 1}/{len(jobs)} at "
                            f"{temperature:g} K")
                frames.extend(sampler(starts[start_index], runs[0].model_path,
                                      temperature_k=temperature, n_steps=settings.md_steps,
                                      time_step_fs=settings.md_time_step_fs,
                                      sample_interval=settings.md_sample_interval,
                                      seed=seed + 1000 * generation + job))
            _write_frames(sampled_path, frames)
        # -- select -----------------------------------------------------------------------
        ensemble = Ensemble([run.model_path for run in runs[1:]])
        uncertainty_path = directory / "uncertainty.csv"
        if uncertainty_path.is_file():
            sigma = np.loadtxt(uncertainty_path, delimiter=",", skiprows=1, ndmin=2)[:, 1]
        else:
            sigma = (ensemble.force_uncertainty_mev_per_angstrom(frames) if frames
                     else np.zeros(0))
            write_text_atomic(uncertainty_path, "frame,force_uncertainty_mev_per_angstrom\n"
                              + "".join(f"{i},{s!r}\n" for i, s in enumerate(sigma.tolist())))
        chosen = select_uncertain(sigma, settings.uncertainty_threshold_mev_per_angstrom,
                                  settings.uncertainty_maximum_mev_per_angstrom,
                                  settings.max_new_structures)
        record.update(n_sampled=len(frames), n_selected=int(len(chosen)),
                      max_uncertainty_mev_per_angstrom=float(sigma.max()) if len(sigma) else 0.0)
        selected_path = directory / "selected.xyz"
        if not selected_path.is_file():
            _write_frames(selected_path, [frames[i] for i in chosen])
        if len(chosen) == 0:
            record["converged"] = True
            summary.append(record)
            break
        # -- label ------------------------------------------------------------------------
        labelled_path = directory / "labelled.xyz"
        if labelled_path.is_file():
            new = load_dataset(labelled_path, "labelled structures")
        else:
            labelled = label_structures([frames[i] for i in chosen], reference_calculator,
                                        description, part.sub(0.8, 1.0))
            new = dataset_from_structures(labelled, str(labelled_path), "labelled structures")
            write_structures_file(labelled_path, new.structures)
            new = load_dataset(labelled_path, "labelled structures")
        check_species(new, inputs.hyper.species, "labelled structures")
        training = training + new
        record["n_labelled"] = len(new)
        summary.append(record)
        write_text_atomic(output / "active_learning.json", json.dumps(summary, indent=1))
    write_text_atomic(output / "active_learning.json", json.dumps(summary, indent=1))
    evaluation = evaluate_models(runs, training, inputs.test, logs or {}, progress.sub(0.98, 1.0))
    return finish(inputs, runs, evaluation, logs or {}, active_learning=summary)
