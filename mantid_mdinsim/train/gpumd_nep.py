"""The GPUMD backend: GPUMD's ``nep`` executable run in the model's folder.

``nep`` reads ``nep.in``, ``train.xyz`` and ``test.xyz`` from its working folder and writes
``nep.txt``, ``nep.restart``, ``loss.out`` and the ``*_train.out``/``*_test.out`` predictions
there (``doc/nep/output_files``). With a ``nep.restart`` present it continues from it
(``Parameters::check_existing_model``), appending to ``loss.out`` and counting generations from
zero again; a resumed run is therefore given the generations that were left.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..external import run_program
from ..progress import ProgressReporter
from .training_backend import EXPECTED_OUTPUTS, TrainingBackend, last_generation


def completed_generations(loss_path: Path) -> int:
    """Generations done over all (restarted) runs recorded in a loss.out."""
    if not loss_path.is_file():
        return 0
    total, previous = 0, 0
    for line in loss_path.read_text(errors="replace").splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            generation = int(float(words[0]))
        except ValueError:
            continue
        if generation <= previous:  # a restart counts from zero again
            total += previous
        previous = generation
    return total + previous


def _set_generation(nep_in: Path, generations: int) -> None:
    text = nep_in.read_text()
    text, count = re.subn(r"(?m)^(\s*generation\s+)\S+", rf"\g<1>{generations}", text)
    if count == 0:
        text += f"generation  {generations}\n"
    nep_in.write_text(text)


class GpumdNep(TrainingBackend):
    """GPUMD's ``nep`` (found by :func:`mantid_mdinsim.external.find_executable`)."""

    name = "gpumd"

    def __init__(self, executable: Path):
        self.executable = Path(executable)

    def describe(self) -> str:
        return f"gpumd ({self.executable})"

    def run(self, run_directory: Path, generations: int, progress: ProgressReporter,
            resume: bool = False, label: str = "", time_limit_s: float | None = None) -> None:
        # time_limit_s is not applied: GPUMD's nep keeps its own schedule (a GPU trains its
        # generations in minutes).
        run_directory = Path(run_directory)
        loss_path = run_directory / "loss.out"
        done_before = 0
        if resume and (run_directory / "nep.restart").is_file():
            done_before = min(completed_generations(loss_path), generations)
            if done_before >= generations:
                done_before = 0  # finished but not recorded: train again from the restart
            _set_generation(run_directory / "nep.in", generations - done_before)
        else:
            for name in ("nep.restart", "loss.out"):
                (run_directory / name).unlink(missing_ok=True)

        def poll() -> None:
            done = done_before + last_generation(loss_path)
            progress.report(done / generations, f"{label} generation {done}/{generations}")

        try:
            run_program(self.executable, run_directory, log_name="nep.log",
                        expected_outputs=EXPECTED_OUTPUTS, poll=poll, poll_seconds=2.0)
        finally:
            if done_before:
                _set_generation(run_directory / "nep.in", generations)
        progress.report(1.0, f"{label} generation {generations}/{generations}")
