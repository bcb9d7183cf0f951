"""The CPU backend: neppo (NEP4 trained by gradient descent in PyTorch).

neppo's ``train`` command takes a run folder of GPUMD's ``nep`` (``nep.in``, ``train.xyz``,
``test.xyz``) and writes ``nep``'s output files (``nep.txt`` readable by calorine's CPUNEP,
``loss.out``, ``*_train.out``, ``*_test.out``; ``neppo/nep_in.py``), so this backend only runs it.
It runs in a child process of this Python, as ``nep`` does, so that progress is read from
``loss.out`` and a cancel stops it.

Determinism: ``nep.in`` carries ``seed`` (neppo seeds PyTorch and the batch order from it), and
the number of threads is fixed with ``OMP_NUM_THREADS``; the same inputs, seed and thread count
give the same model. neppo cannot continue an interrupted training, so an interrupted model is
trained again from the start.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from ..errors import ExternalProgramError
from ..external import run_program
from ..progress import ProgressReporter
from .backends import EXPECTED_OUTPUTS, TrainingBackend, last_generation

# neppo's own command line (neppo.cli.main), started with this interpreter so that the neppo of
# this environment runs, whatever is on PATH.
_NEPPO_MAIN = "import sys; from neppo.cli import main; main(sys.argv[1:])"

_OUTPUT_PATTERNS = ("loss.out", "nep.txt", "nep_best.txt", "*_train.out", "*_test.out")


def neppo_available() -> bool:
    return importlib.util.find_spec("neppo") is not None


class Neppo(TrainingBackend):
    """neppo on CPU (or on a CUDA device where PyTorch has one and ``device`` allows)."""

    name = "neppo"

    def __init__(self, threads: int = 0, device: str = "cpu"):
        self.threads = threads
        self.device = device

    def describe(self) -> str:
        threads = f", {self.threads} threads" if self.threads else ""
        return f"neppo ({self.device}{threads})"

    def run(self, run_directory: Path, generations: int, progress: ProgressReporter,
            resume: bool = False, label: str = "") -> None:
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

        def poll() -> None:
            done = last_generation(loss_path)
            progress.report(done / generations, f"{label} step {done}/{generations}")

        environment = {"PYTHONUNBUFFERED": "1"}
        if self.threads:
            environment.update(OMP_NUM_THREADS=str(self.threads),
                               MKL_NUM_THREADS=str(self.threads))
        run_program(Path(sys.executable), run_directory,
                    arguments=["-c", _NEPPO_MAIN, "train", ".", "--device", self.device],
                    log_name="neppo.log", expected_outputs=EXPECTED_OUTPUTS, poll=poll,
                    poll_seconds=1.0, environment=environment)
        progress.report(1.0, f"{label} step {generations}/{generations}")
