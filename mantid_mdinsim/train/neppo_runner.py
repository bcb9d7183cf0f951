"""neppo's ``train`` command with a deadline checked at every step (run as a script, in the child
process of :mod:`.neppo_backend`; imports only the standard library and neppo).

neppo itself stops only after its last step, and writes a model (``nep.txt``, ``nep_best.txt``)
only at its reports, every ``output_interval`` steps (100 by default: several seconds on a CPU).
A time budget checked from outside at those reports overran by up to one interval, and one
shorter than the first report left no model. Here each training step is followed by a look at
the clock; once the deadline is near, neppo reports at once (as at the last step: ``nep.txt``,
a row of ``loss.out``, ``*_train.out``/``*_test.out``, and ``nep_best.txt`` if this model has
the lowest validation loss so far), the run ends with status 0 and ``DEADLINE_FILE`` holds the
step. "Near" leaves time for that final report: the deadline less the duration of the last
report (zero before the first one), so the run ends within about one step of the deadline.

This wraps two private methods of ``neppo.trainer.Trainer`` (``_take_step`` and ``_report``, neppo
1.0): the public ``Trainer.train`` has no way to stop between reports.

    python neppo_runner.py train DIRECTORY --device cpu [--deadline-epoch-s SECONDS]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

#: Written into the run directory when the deadline ended the training: the step reached.
DEADLINE_FILE = "deadline_reached.txt"


class DeadlineReached(Exception):
    """The deadline ended the training after the step in ``args[0]`` (its report written)."""


def install_deadline(deadline_epoch_s: float, clock: Callable[[], float] = time.time
                     ) -> Callable[[], None]:
    """Make neppo's Trainer report and raise :class:`DeadlineReached` after the first step
    that ends within one report's duration of ``deadline_epoch_s`` (``clock``'s seconds).
    Returns a function that undoes it."""
    from neppo.trainer import Trainer

    take_step, report = Trainer._take_step, Trainer._report
    last_report_s = [0.0]

    def timed_report(self, rate, values, is_last_step):
        started = clock()
        report(self, rate, values, is_last_step)
        last_report_s[0] = clock() - started

    def take_step_until_deadline(self, *arguments):
        values = take_step(self, *arguments)
        if clock() + last_report_s[0] >= deadline_epoch_s:
            rate = self.optimizer.param_groups[0]["lr"]
            report(self, float(rate), values, True)
            raise DeadlineReached(self._step)
        return values

    Trainer._take_step, Trainer._report = take_step_until_deadline, timed_report

    def undo() -> None:
        Trainer._take_step, Trainer._report = take_step, report

    return undo


def main(arguments: list[str]) -> int:
    """``train DIRECTORY [neppo's options] [--deadline-epoch-s SECONDS]``: neppo's command line,
    with the deadline (seconds since the epoch) taken out of the arguments first."""
    arguments = list(arguments)
    deadline = None
    if "--deadline-epoch-s" in arguments:
        at = arguments.index("--deadline-epoch-s")
        deadline = float(arguments[at + 1])
        del arguments[at:at + 2]
    from neppo.cli import main as neppo_main

    if deadline is not None:
        install_deadline(deadline)
    try:
        neppo_main(arguments)
    except DeadlineReached as reached:
        directory = Path(arguments[1] if len(arguments) > 1 else ".")
        (directory / DEADLINE_FILE).write_text(f"{reached.args[0]}\n")
        print(f"mdinsim: time limit reached after step {reached.args[0]}; the report of that "
              f"step is written", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
