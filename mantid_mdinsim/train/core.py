"""MDTrainNEP's core: validate the inputs, train a NEP model (and an ensemble, with active
learning if asked), evaluate it and write the results (the rounds: :mod:`.fitting`; the
output folder's layout is described there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ase import Atoms

from .. import execution, steps
from ..progress import ProgressReporter, ensure_progress
from ..provenance import provenance_logs
from .active_learning import run_active_learning
from .backends import select_backend
from .dataset import (check_species, check_vacuum, dataset_from_structures, load_dataset,
                      resolve_species, write_structures_file)
from .fitting import TrainingInputs, TrainResult, evaluate_models, finish, train_models
from .hyperparameters import NepHyperparameters
from .parameters import TrainSettings

STEP_NAME = steps.TRAIN


def prepare_inputs(parameters: TrainSettings | Mapping[str, Any] | None = None, **kwargs: Any
                   ) -> TrainingInputs:
    """Validate the settings, read and check the data, choose the backend."""
    settings = TrainSettings.from_values(parameters, **kwargs)
    training = load_dataset(settings.training_set, "training set")
    test = load_dataset(settings.test_set, "test set") if settings.test_set else None
    species = resolve_species(training, settings.species)
    if test is not None:
        check_species(test, species, "test set")
    backend = select_backend(settings.backend, settings.nep_executable,
                             settings.threads, settings.early_stopping_patience)
    hyper = NepHyperparameters.from_parameters(settings, species, backend.name)
    if hasattr(backend, "loss_weights"):  # neppo: early stopping weighs RMSEs as the loss does
        backend.loss_weights = {"energy": hyper.lambda_energy, "force": hyper.lambda_force,
                                "virial": hyper.lambda_virial}
        backend.out_of_plane_force_weight = hyper.lambda_force_out_of_plane
    hyper.check_backend(backend.name)
    check_vacuum(training, hyper.radial_cutoff_angstrom)
    if test is not None:
        check_vacuum(test, hyper.radial_cutoff_angstrom)
    return TrainingInputs(settings, training, test, hyper, backend,
                          Path(settings.output_directory))


def train_nep(parameters: TrainSettings | Mapping[str, Any] | None = None,
              progress: ProgressReporter | None = None, *,
              md_sampler: Callable | None = None,
              reference_calculator: Callable[[], Any] | None = None,
              **kwargs: Any) -> TrainResult:
    """Train a NEP model (and an ensemble; with active learning if asked) and write the results.

    ``parameters``: a :class:`TrainSettings`, or values (and keyword arguments) of
    :data:`TRAIN_PARAMETERS`. For active learning, ``md_sampler`` replaces the built-in ASE
    Langevin sampler and ``reference_calculator`` (a function returning an ASE calculator)
    replaces the one named by the ``reference_calculator`` parameter (see
    :mod:`.active_learning`).
    """
    progress = ensure_progress(progress)
    inputs = prepare_inputs(parameters, **kwargs)
    settings = inputs.settings
    with execution.session(settings.scheduler, settings.threads_per_worker):
        return _train(inputs, progress, md_sampler, reference_calculator)


def _train(inputs: TrainingInputs, progress: ProgressReporter, md_sampler: Callable | None,
           reference_calculator: Callable[[], Any] | None) -> TrainResult:
    settings = inputs.settings
    logs = provenance_logs(STEP_NAME, settings.as_values())
    logs["backend"] = inputs.backend.describe()
    if settings.active_learning_generations > 0:
        return run_active_learning(inputs, progress, md_sampler=md_sampler,
                                   reference_calculator=reference_calculator, logs=logs)
    runs = train_models(inputs.training, inputs.test, inputs.hyper, inputs.backend,
                        inputs.output_directory, settings.ensemble_size,
                        settings.validation_fraction, settings.split_mode,
                        settings.seed, progress.sub(0.0, 0.9),
                        time_budget_s=_budget_seconds(settings))
    evaluation = evaluate_models(runs, inputs.training, inputs.test, logs, progress.sub(0.9, 0.98))
    return finish(inputs, runs, evaluation, logs)


def _budget_seconds(settings: TrainSettings) -> float | None:
    minutes = settings.time_budget_minutes
    return None if minutes is None else 60.0 * minutes


def train_nep_from_structures(structures: Sequence[Atoms], output_directory: str | Path,
                              test_structures: Sequence[Atoms] | None = None,
                              progress: ProgressReporter | None = None,
                              **parameters: Any) -> TrainResult:
    """Train from in-memory structures (each with a calculator holding energy and forces, e.g.
    a SinglePointCalculator), for scripts. The structures are checked, written to
    ``output_directory/input_training_set.xyz`` (and ``input_test_set.xyz``) and trained on with
    :func:`train_nep`; e.g. ``train_nep_from_structures(atoms, "si_model", backend="neppo",
    seed=1, generations=3000)``: the same structures, parameters and seed give the same model
    with neppo."""
    output_directory = Path(output_directory)
    output_directory.mkdir(parents=True, exist_ok=True)
    training = dataset_from_structures(structures, "<training structures>")
    training_path = output_directory / "input_training_set.xyz"
    write_structures_file(training_path, training.structures)
    test_path = None
    if test_structures is not None:
        test = dataset_from_structures(test_structures, "<test structures>", "test set")
        test_path = output_directory / "input_test_set.xyz"
        write_structures_file(test_path, test.structures)
    return train_nep(dict(parameters, training_set=[str(training_path)],
                          test_set=[str(test_path)] if test_path else None,
                          output_directory=str(output_directory)), progress)
