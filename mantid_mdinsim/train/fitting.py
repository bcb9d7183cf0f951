"""Training rounds of MDTrainNEP: train the models of an ensemble, evaluate them, write the results.

Used by :mod:`.core` (one round) and :mod:`.active_learning` (a round per generation).

Layout of the output folder (calorine's ``setup_training`` layout, one run folder per model)::

    nepmodel_full/        trained on every training structure; test.xyz = the test set, if any
    nepmodel_split<k>/    ensemble member k: a random train/validation split (seeded)
    nep.txt               the full model (the one to run MD with)
    ensemble/nep_split<k>.txt   the ensemble members (their spread is the uncertainty)
    metrics.csv  parity.csv  loss.csv  parity.png  loss.png  result.json

Each run folder records a signature of its inputs (``nep.in``, ``train.xyz``, ``test.xyz``,
backend) and a marker once trained, so a run started again skips the models that are done,
resumes an interrupted GPUMD model from its ``nep.restart`` and retrains only what changed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from .. import execution
from ..errors import ParameterError
from ..io.atomic import atomic_path, write_text_atomic
from ..progress import ProgressReporter, ensure_progress
from ..spectrum import Table
from .backends import TrainingBackend
from .dataset import Dataset, write_structures_file
from .ensemble import Ensemble
from .hyperparameters import NepHyperparameters, read_model_header
from .metrics import (loss_table, metrics_row, metrics_table, parity_table, read_loss_curve,
                      read_run_predictions, table_to_csv)
from .parameters import TrainSettings
from .plots import plot_loss, plot_parity

INPUTS_MARKER = ".mdinsim-inputs.json"
DONE_MARKER = ".mdinsim-done.json"
FOUNDATION_NAMES = ("foundation_nep.txt", "foundation_nep.restart")

@dataclass
class ModelRun:
    """One trained model: its name (``full``, ``split1``, ...) and run folder."""

    name: str
    directory: Path

    @property
    def model_path(self) -> Path:
        return self.directory / "nep.txt"


@dataclass
class TrainResult:
    """What a training produced.

    ``model_path`` is the full model (trained on all structures); ``ensemble_paths`` the
    ensemble members (empty for ensemble_size 1). ``metrics``, ``loss`` and ``parity`` are
    Tables (Mantid TableWorkspaces) in meV/atom and meV/Angstrom; ``files`` maps a label to each
    file written. ``active_learning`` summarises each round of active learning (if any).
    """

    output_directory: Path
    model_path: Path
    ensemble_paths: list[Path]
    metrics: Table
    loss: Table
    parity: Table
    backend: str
    files: dict[str, Path] = field(default_factory=dict)
    active_learning: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def workspaces(self) -> list[Table]:
        """The output tables, for the Mantid algorithm (names: metrics, loss, parity)."""
        return [self.metrics, self.loss, self.parity]

    def metric(self, model: str, dataset: str, column: str) -> float:
        """One value of the metrics table (NaN where the row does not exist)."""
        columns = self.metrics.columns
        for i in range(self.metrics.n_rows):
            if columns["model"][i] == model and columns["dataset"][i] == dataset:
                return float(columns[column][i])
        return float("nan")


# -- run folders ------------------------------------------------------------------------------
def _signature(directory: Path, backend: str, hyper: NepHyperparameters) -> str:
    digest = hashlib.sha256(backend.encode())
    for name in ("nep.in", "train.xyz", "test.xyz"):
        path = directory / name
        digest.update(name.encode())
        if path.is_file():
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    if hyper.lambda_force_out_of_plane:  # a neppo loss term that nep.in does not hold
        digest.update(f"lambda_force_out_of_plane:{hyper.lambda_force_out_of_plane!r}".encode())
    if hyper.fine_tune is not None:
        for path in hyper.fine_tune:
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _stage_runs(training: Dataset, test: Dataset | None, hyper: NepHyperparameters,
                backend: TrainingBackend, output_directory: Path, ensemble_size: int,
                validation_fraction: float, split_mode: str, seed: int) -> Path:
    """Write nep.in/train.xyz/test.xyz of every model into a staging folder (calorine's
    setup_training, the layout nep expects)."""
    from calorine.nep import setup_training  # calorine: seconds to import, only on this path

    staging = output_directory / ".staging"
    if staging.exists():
        shutil.rmtree(staging)
    fine_tune_names = FOUNDATION_NAMES if hyper.fine_tune is not None else None
    keywords = hyper.nep_in(backend.name, fine_tune_names)
    # calorine checks train_fraction in bagging mode even without splits: kfold then.
    options: dict[str, Any] = dict(mode=split_mode if ensemble_size >= 2 else "kfold",
                                   seed=seed, overwrite=True)
    if ensemble_size >= 2:
        options["n_splits"] = ensemble_size
        if split_mode == "bagging":
            options["train_fraction"] = 1.0 - validation_fraction
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to retrieve stresses")
        setup_training(keywords, structures=list(training.structures), rootdir=str(staging),
                       **options)
    if test is not None:
        write_structures_file(staging / "nepmodel_full" / "test.xyz", test.structures)
    if hyper.fine_tune is not None:
        for directory in staging.iterdir():
            for source, name in zip(hyper.fine_tune, FOUNDATION_NAMES):
                try:  # a link: NEP89's restart file is large
                    (directory / name).symlink_to(source)
                except OSError:
                    shutil.copyfile(source, directory / name)
    return staging


def _check_split_sizes(n_structures: int, ensemble_size: int, validation_fraction: float,
                       split_mode: str) -> None:
    if ensemble_size < 2:
        return
    if split_mode == "kfold":
        if ensemble_size > n_structures:
            raise ParameterError("ensemble_size", f"{ensemble_size} folds for {n_structures} "
                                 "structures", "use at most one fold per structure")
        return
    n_validation = n_structures - int((1.0 - validation_fraction) * n_structures)
    if n_validation < 1 or n_validation >= n_structures:
        raise ParameterError("validation_fraction",
                             f"{validation_fraction:g} of {n_structures} structures leaves "
                             f"{n_validation} for validation",
                             "give more structures or a validation fraction that leaves at "
                             "least one structure on each side")


def train_models(training: Dataset, test: Dataset | None, hyper: NepHyperparameters,
                 backend: TrainingBackend, output_directory: Path, ensemble_size: int = 1,
                 validation_fraction: float = 0.1, split_mode: str = "bagging", seed: int = 42,
                 progress: ProgressReporter | None = None,
                 time_budget_s: float | None = None) -> list[ModelRun]:
    """Train the full model and ``ensemble_size`` split models (if >= 2) in
    ``output_directory``, skipping models already trained from the same inputs.
    ``time_budget_s`` (wall seconds for all models to train) gives each model an equal share
    of what is left (backends that can stop early: neppo)."""
    progress = ensure_progress(progress)
    output_directory = Path(output_directory)
    output_directory.mkdir(parents=True, exist_ok=True)
    _check_split_sizes(len(training), ensemble_size, validation_fraction, split_mode)
    staging = _stage_runs(training, test, hyper, backend, output_directory, ensemble_size,
                          validation_fraction, split_mode, seed)
    names = ["full"] + ([f"split{k}" for k in range(1, ensemble_size + 1)]
                        if ensemble_size >= 2 else [])
    runs = [ModelRun(name, output_directory / f"nepmodel_{name}") for name in names]
    generations = hyper.generations_for(backend.name)
    pending = []
    for run in runs:
        staged = staging / run.directory.name
        signature = _signature(staged, backend.name, hyper)
        previous = _read_json(run.directory / INPUTS_MARKER).get("signature")
        if previous == signature and (run.directory / DONE_MARKER).is_file():
            continue
        resume = previous == signature
        if not resume:
            if run.directory.exists():
                shutil.rmtree(run.directory)
            staged.rename(run.directory)
            write_text_atomic(run.directory / INPUTS_MARKER,
                              json.dumps({"signature": signature, "backend": backend.name}))
        pending.append((run, resume))
    shutil.rmtree(staging, ignore_errors=True)
    # split models of an earlier, larger ensemble in this folder are not part of this one
    current = {run.directory.name for run in runs}
    for stale in output_directory.glob("nepmodel_split*"):
        if stale.name not in current and (stale / INPUTS_MARKER).is_file():
            shutil.rmtree(stale)
    # Each model is a piece: in this process one after the other, or one task each on a
    # cluster (--scheduler); a finished model is marked done as soon as it returns.
    # The time budget is a wall-clock deadline (comparable across machines); members run one
    # after the other in process share what is left equally, members on a cluster run side by
    # side and each may use all of it.
    deadline_epoch_s = None if time_budget_s is None else time.time() + time_budget_s
    sequential = isinstance(execution.active(), execution.InProcessExecutor)
    pieces = [execution.Piece(f"train-{run.name}", _train_member,
                              (backend, run.directory, generations, resume,
                               f"model {run.name} ({index + 1}/{len(pending)})",
                               deadline_epoch_s, len(pending) - index if sequential else 1))
              for index, (run, resume) in enumerate(pending)]

    def mark_done(index: int, result: tuple[float, str]) -> None:
        seconds, stopped_early = result
        write_text_atomic(pending[index][0].directory / DONE_MARKER, json.dumps({
            "backend": backend.describe(), "generations": generations,
            "stopped_early": stopped_early,
            "seconds": round(seconds, 1),
            "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds")}))

    execution.active().run(pieces, progress, mark_done,
                           input_files=[run.directory / "train.xyz" for run, _ in pending
                                        if (run.directory / "train.xyz").is_file()])
    progress.report(1.0, "models trained")
    return runs


def _train_member(backend: TrainingBackend, directory: Path, generations: int, resume: bool,
                  label: str, deadline_epoch_s: float | None = None,
                  members_sharing_budget: int = 1) -> tuple[float, str]:
    """Train one model of the ensemble (a piece); returns the seconds it took and why it
    stopped early ("" where it ran all its steps)."""
    started = time.monotonic()
    limit = (None if deadline_epoch_s is None
             else max(deadline_epoch_s - time.time(), 0.0) / members_sharing_budget)
    backend.run(directory, generations, execution.piece_progress(), resume=resume, label=label,
                time_limit_s=limit)
    return time.monotonic() - started, getattr(backend, "stopped_early", "")


# -- evaluation -------------------------------------------------------------------------------
@dataclass
class Evaluation:
    metrics: Table
    loss: Table
    parity: Table
    notes: list[str]


def evaluate_models(runs: Sequence[ModelRun], training: Dataset, test: Dataset | None,
                    logs: Mapping[str, Any], progress: ProgressReporter | None = None
                    ) -> Evaluation:
    """Metrics, loss curves and parity data of trained models.

    Per model: the predictions its trainer wrote (train, and validation for a split model or
    test for the full model). For split models on the test set and for the ensemble mean
    (on all training structures and the test set): calorine's CPUNEP, for NEP4 models.
    """
    progress = ensure_progress(progress)
    rows, parity_entries, curves, notes = [], [], {}, []
    full = runs[0]
    splits = list(runs[1:])
    for run in runs:
        predictions = read_run_predictions(run.directory)
        rows.append(metrics_row(run.name, "train", predictions["train"]))
        if "test" in predictions:
            label = "test" if run is full else "validation"
            rows.append(metrics_row(run.name, label, predictions["test"]))
        if run is full or "test" in predictions:
            entries = [("train", predictions["train"])] if run is full else []
            if "test" in predictions:
                entries.append(("test" if run is full else "validation", predictions["test"]))
            parity_entries.extend((run.name, label, p) for label, p in entries)
        curves[run.name] = read_loss_curve(run.directory / "loss.out")
    progress.report(0.3, "read the trainers' predictions")
    versions = {read_model_header(run.model_path).version for run in runs}
    if splits and versions == {4}:
        ensemble = Ensemble([run.model_path for run in splits])
        on_train = ensemble.predict(training.structures, progress.sub(0.3, 0.8))
        rows.append(metrics_row("ensemble_mean", "train",
                                on_train.mean_predictions(training.structures)))
        parity_entries.append(("ensemble_mean", "train",
                               on_train.mean_predictions(training.structures)))
        if test is not None:
            on_test = ensemble.predict(test.structures, progress.sub(0.8, 0.95))
            for m, run in enumerate(splits):
                rows.append(metrics_row(run.name, "test",
                                        on_test.model_predictions(test.structures, m)))
            mean = on_test.mean_predictions(test.structures)
            rows.append(metrics_row("ensemble_mean", "test", mean))
            parity_entries.append(("ensemble_mean", "test", mean))
    elif splits:
        notes.append("ensemble mean not computed: calorine's CPUNEP evaluates NEP4 only")
    progress.report(1.0, "metrics computed")
    model_order = [run.name for run in runs] + ["ensemble_mean"]
    dataset_order = ["train", "validation", "test"]
    rows.sort(key=lambda row: (model_order.index(row["model"]),
                               dataset_order.index(row["dataset"])))
    return Evaluation(metrics=metrics_table(rows, logs=logs), loss=loss_table(curves, logs=logs),
                      parity=parity_table(parity_entries, logs=logs), notes=notes)


def _copy_atomic(source: Path, destination: Path) -> Path:
    with atomic_path(destination) as temporary:
        shutil.copyfile(source, temporary)
    return destination


def write_outputs(runs: Sequence[ModelRun], evaluation: Evaluation, output_directory: Path,
                  metrics_file: str | Path | None, extra: Mapping[str, Any]) -> dict[str, Path]:
    """Model copies, CSV tables, PNG plots and result.json in the output folder."""
    files: dict[str, Path] = {}
    files["model"] = _copy_atomic(runs[0].model_path, output_directory / "nep.txt")
    for run in runs[1:]:
        files[f"ensemble_{run.name}"] = _copy_atomic(
            run.model_path, output_directory / "ensemble" / f"nep_{run.name}.txt")
    members = {f"nep_{run.name}.txt" for run in runs[1:]}
    for stale in (output_directory / "ensemble").glob("nep_split*.txt"):
        if stale.name not in members:  # from an earlier, larger ensemble
            stale.unlink()
    metrics_path = Path(metrics_file) if metrics_file else output_directory / "metrics.csv"
    table_to_csv(evaluation.metrics, metrics_path)
    files["metrics"] = metrics_path
    table_to_csv(evaluation.parity, output_directory / "parity.csv")
    files["parity"] = output_directory / "parity.csv"
    table_to_csv(evaluation.loss, output_directory / "loss.csv")
    files["loss"] = output_directory / "loss.csv"
    files["parity_plot"] = plot_parity(evaluation.parity, output_directory / "parity.png",
                                       model=runs[0].name)
    files["loss_plot"] = plot_loss(evaluation.loss, output_directory / "loss.png")
    summary = {
        "model": str(files["model"]),
        "ensemble": [str(files[f"ensemble_{run.name}"]) for run in runs[1:]],
        "metrics": {key: [v if not isinstance(v, (float, np.floating)) or np.isfinite(v)
                          else None for v in np.asarray(values).tolist()]
                    for key, values in evaluation.metrics.columns.items()},
        "notes": evaluation.notes, **extra}
    write_text_atomic(output_directory / "result.json", json.dumps(summary, indent=1,
                                                                   default=str))
    files["summary"] = output_directory / "result.json"
    return files

@dataclass
class TrainingInputs:
    """Everything a training needs, validated: data, hyper-parameters, backend."""

    settings: TrainSettings
    training: Dataset
    test: Dataset | None
    hyper: NepHyperparameters
    backend: TrainingBackend
    output_directory: Path

def _early_stop_notes(runs: Sequence[ModelRun]) -> list[str]:
    notes = []
    for run in runs:
        reason = _read_json(run.directory / DONE_MARKER).get("stopped_early")
        if reason:
            notes.append(f"model {run.name}: {reason}; its best model is kept")
    return notes


def finish(inputs: TrainingInputs, runs: Sequence[ModelRun], evaluation: Evaluation,
           logs: Mapping[str, Any], active_learning: list[dict] | None = None) -> TrainResult:
    notes = list(inputs.hyper.notes) + evaluation.notes + _early_stop_notes(runs)
    extra = {"backend": inputs.backend.describe(), "notes": notes,
             "parameters": inputs.settings.as_values(),
             "active_learning": active_learning or []}
    files = write_outputs(runs, evaluation, inputs.output_directory,
                          inputs.settings.metrics_file, extra)
    return TrainResult(output_directory=inputs.output_directory, model_path=files["model"],
                       ensemble_paths=[files[f"ensemble_{run.name}"] for run in runs[1:]],
                       metrics=evaluation.metrics, loss=evaluation.loss,
                       parity=evaluation.parity, backend=inputs.backend.describe(),
                       files=files, active_learning=active_learning or [], notes=notes)
