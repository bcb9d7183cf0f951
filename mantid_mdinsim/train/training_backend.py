"""What a training backend is: one model trained in a run folder laid out as for GPUMD's ``nep``
(the contract both backends implement; :mod:`.backends` says which one runs).
"""

from __future__ import annotations

import abc
from pathlib import Path

from ..progress import ProgressReporter

#: Files a finished run leaves in its folder.
EXPECTED_OUTPUTS = ("nep.txt", "loss.out", "energy_train.out", "force_train.out")


def last_generation(loss_path: Path) -> int:
    """The generation of the last row of a ``loss.out`` (0 when there is none yet)."""
    try:
        with open(loss_path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        words = line.split()
        if words and not words[0].startswith("#"):
            try:
                return int(float(words[0]))
            except ValueError:
                continue
    return 0


class TrainingBackend(abc.ABC):
    """Trains one model in a run folder (see the module docstring)."""

    name: str = ""

    @abc.abstractmethod
    def run(self, run_directory: Path, generations: int, progress: ProgressReporter,
            resume: bool = False, label: str = "", time_limit_s: float | None = None) -> None:
        """Train in ``run_directory`` for ``generations``; raise ExternalProgramError on
        failure. ``resume`` is set when the folder holds an interrupted run of the same inputs;
        ``label`` starts the progress messages; ``time_limit_s`` (wall seconds) ends the run
        early, keeping its best model, where the backend can (neppo; GPUMD's nep ignores it).
        """

    def describe(self) -> str:
        return self.name
