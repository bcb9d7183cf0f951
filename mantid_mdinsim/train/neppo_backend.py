"""The CPU backend: neppo (NEP4 trained by gradient descent in PyTorch).

neppo's ``train`` command takes a run folder of GPUMD's ``nep`` (``nep.in``, ``train.xyz``,
``test.xyz``) and writes ``nep``'s output files (``nep.txt`` readable by calorine's CPUNEP,
``loss.out``, ``*_train.out``, ``*_test.out``; ``neppo/nep_in.py``), so this backend only runs it.
It runs in a child process of this Python, as ``nep`` does, so that progress is read from
``loss.out`` and a cancel stops it.

Stopping early (sized for CPUs): the run ends before its last step when the validation loss
(the test/validation structures' lambda-weighted RMSE sum, GPUMD's loss; the training loss
where a run has none) has not improved for ``patience`` rows of ``loss.out``, or when its time
limit is spent. neppo runs through :mod:`.neppo_runner`, which looks after every step for the
deadline and for a stop request (a file this backend creates when the patience is spent,
checked here at neppo's reports), and then ends the run with a final report, within about one
step: the child is not killed while it may be writing a model.
neppo keeps the best model so far in ``nep_best.txt``; it becomes ``nep.txt`` (written under a
temporary name, then renamed) and, unless the last report's model was the best, neppo's
prediction mode (``prediction 1``, in a scratch copy of the folder so that ``nep.in`` and the
run's signature stay as they were) writes the ``*_train.out``/``*_test.out`` files.

Progress: each new row of ``loss.out`` gives the step and an estimate of the time left (steps
to go at the rate of the steps so far, at most the time limit left); the message stays the same
until the next row, so a log prints it once.

Determinism: ``nep.in`` carries ``seed`` (neppo seeds PyTorch and the batch order from it), and
the number of threads is fixed with ``OMP_NUM_THREADS``; the same inputs, seed and thread count
give the same model (a time limit makes the stopping point depend on the machine's speed).
neppo cannot continue an interrupted training, so an interrupted model is trained again.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import sys
import time
from pathlib import Path

from ..errors import ExternalProgramError
from ..external import run_program
from ..io.atomic import write_text_atomic
from ..progress import ProgressReporter, time_left_text
from .neppo_runner import STOP_REQUEST_FILE, STOPPED_FILE
from .training_backend import EXPECTED_OUTPUTS, TrainingBackend, last_generation

# neppo's own command line (neppo.cli.main), started with this interpreter so that the neppo of
# this environment runs, whatever is on PATH (training: through neppo_runner.py, which can stop
# it after any step).
_NEPPO_MAIN = "import sys; from neppo.cli import main; main(sys.argv[1:])"
_NEPPO_RUNNER = Path(__file__).with_name("neppo_runner.py")

_OUTPUT_PATTERNS = ("loss.out", "nep.txt", "nep_best.txt", "*_train.out", "*_test.out",
                    STOPPED_FILE, STOP_REQUEST_FILE)
#: A row improves on the best validation loss when lower by more than this fraction.
_IMPROVEMENT = 1e-3


def neppo_available() -> bool:
    return importlib.util.find_spec("neppo") is not None


def validation_losses(loss_path: Path, weights: dict[str, float]) -> list[float]:
    """Per row of a neppo ``loss.out``: sum of weight * RMSE over the test columns (the training
    columns where there are none), e.g. weights {"energy": 1, "force": 1, "virial": 0.1}."""
    try:
        lines = Path(loss_path).read_text().splitlines()
    except OSError:
        return []
    columns: list[str] = []
    for line in lines:
        if line.startswith("# columns"):
            columns = line.split()[2:]
    if not columns:
        return []
    split = "test" if any(c.endswith("_test") for c in columns) else "train"
    picked = [(columns.index(f"rmse_{name}_{split}"), weight) for name, weight in weights.items()
              if f"rmse_{name}_{split}" in columns and weight > 0]
    losses = []
    for line in lines:
        words = line.split()
        if not words or line.startswith("#") or len(words) < len(columns):
            continue
        try:
            values = [float(words[i]) * weight for i, weight in picked]
        except ValueError:
            continue
        finite = [v for v in values if math.isfinite(v)]
        losses.append(sum(finite) if finite else math.inf)
    return losses


def rows_since_best(losses: list[float]) -> int:
    """Rows after the last one that improved on every earlier row by more than 0.1 %."""
    best, best_row = math.inf, -1
    for row, loss in enumerate(losses):
        if loss < best * (1.0 - _IMPROVEMENT):
            best, best_row = loss, row
    return len(losses) - 1 - best_row


class Neppo(TrainingBackend):
    """neppo on CPU (or on a CUDA device where PyTorch has one and ``device`` allows)."""

    name = "neppo"

    def __init__(self, threads: int = 0, device: str = "cpu", patience: int = 0,
                 loss_weights: dict[str, float] | None = None):
        self.threads = threads
        self.device = device
        self.patience = patience
        self.loss_weights = loss_weights or {"energy": 1.0, "force": 1.0, "virial": 0.1}
        #: Weight of the out-of-plane force term (neppo_out_of_plane.py); 0: not in the loss.
        self.out_of_plane_force_weight = 0.0
        #: Why the last run ended early ("" when it ran all its steps).
        self.stopped_early = ""

    def describe(self) -> str:
        threads = (f", {self.threads} thread{'s' if self.threads > 1 else ''}"
                   if self.threads else "")
        return f"neppo ({self.device}{threads})"

    def _environment(self) -> dict[str, str]:
        environment = {"PYTHONUNBUFFERED": "1"}
        if self.threads:
            environment.update(OMP_NUM_THREADS=str(self.threads),
                               MKL_NUM_THREADS=str(self.threads))
        return environment

    def run(self, run_directory: Path, generations: int, progress: ProgressReporter,
            resume: bool = False, label: str = "", time_limit_s: float | None = None) -> None:
        if not neppo_available():
            raise ExternalProgramError(
                "backend neppo: the neppo package is not installed (pip install "
                "'mantid-mdinsim[cpu-train]', which pins the CPU build of torch), or use "
                "--backend gpumd with GPUMD's nep")
        run_directory = Path(run_directory)
        # neppo appends to loss.out: an interrupted run's rows must not mix with the new ones.
        for pattern in _OUTPUT_PATTERNS:
            for path in run_directory.glob(pattern):
                path.unlink()
        loss_path = run_directory / "loss.out"
        started = time.monotonic()
        self.stopped_early = ""
        runner_options = [] if time_limit_s is None else [
            "--deadline-epoch-s", repr(time.time() + time_limit_s)]
        if self.out_of_plane_force_weight:
            runner_options += ["--out-of-plane-force-weight",
                               repr(self.out_of_plane_force_weight)]
        estimate = StepRateEstimate(generations, started, time_limit_s)

        def poll() -> None:
            done = last_generation(loss_path)
            progress.report(done / generations, estimate.message(label, done, time.monotonic()))
            request = run_directory / STOP_REQUEST_FILE
            if self.patience and not request.exists() and rows_since_best(
                    validation_losses(loss_path, self.loss_weights)) >= self.patience:
                request.touch()

        run_program(Path(sys.executable), run_directory,
                    arguments=[str(_NEPPO_RUNNER), "train", ".", "--device", self.device,
                               *runner_options],
                    log_name="neppo.log", expected_outputs=EXPECTED_OUTPUTS, poll=poll,
                    poll_seconds=1.0, environment=self._environment())
        (run_directory / STOP_REQUEST_FILE).unlink(missing_ok=True)
        stopped = run_directory / STOPPED_FILE
        if stopped.is_file():
            step, reason = stopped.read_text().split()
            stopped.unlink()
            self.stopped_early = (
                f"time limit ({time_limit_s / 60:.3g} min) reached at step {step}"
                if reason == "time" else
                f"validation loss not improved in {self.patience} reports, stopped at step "
                f"{step}")
            self._finish_with_best_model(run_directory)
        # else the last step came before a stop request was seen: stopped_early stays ""
        progress.report(1.0, f"{label} step {last_generation(loss_path)}/{generations}"
                        + (f" ({self.stopped_early})" if self.stopped_early else ""))

    def _finish_with_best_model(self, run_directory: Path) -> None:
        """nep_best.txt -> nep.txt, and its predictions by neppo's prediction mode (unless the
        last report's model, whose predictions neppo wrote, is the best)."""
        best = (run_directory / "nep_best.txt").read_text()
        if (run_directory / "nep.txt").is_file() and \
                (run_directory / "nep.txt").read_text() == best:
            return
        write_text_atomic(run_directory / "nep.txt", best)
        scratch = run_directory / ".prediction"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        for name in ("train.xyz", "test.xyz", "nep.txt", "zbl.in"):
            if (run_directory / name).is_file():
                shutil.copyfile(run_directory / name, scratch / name)
        nep_in = (run_directory / "nep.in").read_text()
        (scratch / "nep.in").write_text(nep_in.rstrip("\n") + "\nprediction 1\n")
        run_program(Path(sys.executable), scratch,
                    arguments=["-c", _NEPPO_MAIN, "train", ".", "--device", self.device],
                    log_name="neppo.log", expected_outputs=("energy_train.out",
                                                            "force_train.out"),
                    environment=self._environment())
        for path in scratch.glob("*_t*.out"):
            shutil.move(str(path), run_directory / path.name)
        shutil.rmtree(scratch, ignore_errors=True)


class StepRateEstimate:
    """The progress message of a neppo run: its step and the time left, from the rate of the
    steps so far (measured from the first report on, so that start-up does not count), at most
    the time limit left. Recomputed only when the step changes, so the message stays the same
    between reports."""

    def __init__(self, generations: int, started_s: float, time_limit_s: float | None):
        self.generations = generations
        self.started_s = started_s
        self.time_limit_s = time_limit_s
        self._first: tuple[int, float] | None = None
        self._step = -1
        self._message = ""

    def message(self, label: str, step: int, now_s: float) -> str:
        if step == self._step:
            return self._message
        self._step = step
        left_s = None
        if step > 0 and self._first is None:
            self._first = (step, now_s)
            left_s = (now_s - self.started_s) * (self.generations - step) / step
        elif self._first is not None and step > self._first[0]:
            first_step, first_s = self._first
            left_s = (now_s - first_s) * (self.generations - step) / (step - first_step)
        if self.time_limit_s is not None:
            limit_left_s = max(self.time_limit_s - (now_s - self.started_s), 0.0)
            left_s = limit_left_s if left_s is None else min(left_s, limit_left_s)
        self._message = f"{label} step {step}/{self.generations}" + (
            f", {time_left_text(left_s)}" if left_s is not None and step < self.generations
            else "")
        return self._message
