"""neppo's ``train`` command that can stop after any step: at a deadline, or when asked (run as a
script, in the child process of :mod:`.neppo_backend`; imports only the standard library and
neppo).

neppo itself stops only after its last step, and writes a model (``nep.txt``, ``nep_best.txt``)
only at its reports, every ``output_interval`` steps (100 by default: several seconds on a CPU).
A time budget checked from outside at those reports overran by up to one interval, and one
shorter than the first report left no model. Here each training step is followed by a look at
the clock; once the deadline is near, neppo reports at once (as at the last step: ``nep.txt``,
a row of ``loss.out``, ``*_train.out``/``*_test.out``, and ``nep_best.txt`` if this model has
the lowest validation loss so far), the run ends with status 0 and ``STOPPED_FILE`` holds the
step and why. "Near" leaves time for that final report: the deadline less the duration of the
last report (zero before the first one), so the run ends within about one step of the deadline.
The parent asks for a stop (the validation loss no longer improving) by creating
``STOP_REQUEST_FILE`` in the run directory, looked for after every step the same way: the run
then ends with a final report too, instead of being killed, perhaps while writing a model.

This wraps two private methods of ``neppo.trainer.Trainer`` (``_take_step`` and ``_report``, neppo
1.0): the public ``Trainer.train`` has no way to stop between reports.

    python neppo_runner.py train DIRECTORY --device cpu [--deadline-epoch-s SECONDS]
        [--out-of-plane-force-weight WEIGHT]

``--out-of-plane-force-weight`` adds :mod:`.neppo_out_of_plane`'s term (the force error normal
to each atom's aromatic ring) to the loss of ``nep.in``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

#: Written into the run directory when the training was stopped: "STEP REASON" (time or asked).
STOPPED_FILE = "stopped_early.txt"
#: Created by the parent in the run directory to ask the training to stop after its next step.
STOP_REQUEST_FILE = "stop_requested"


class TrainingStopped(Exception):
    """The training stopped after the step in ``args[0]`` for the reason in ``args[1]``
    ("time" or "asked"), that step's report written."""


def install_deadline(deadline_epoch_s: float | None, clock: Callable[[], float] = time.time,
                     stop_request: Path | None = None) -> Callable[[], None]:
    """Make neppo's Trainer report and raise :class:`TrainingStopped` after the first step
    that ends within one report's duration of ``deadline_epoch_s`` (``clock``'s seconds; None:
    no deadline) or after which ``stop_request`` exists. Returns a function that undoes it."""
    from neppo.trainer import Trainer

    take_step, report = Trainer._take_step, Trainer._report
    last_report_s = [0.0]

    def timed_report(self, rate, values, is_last_step):
        started = clock()
        report(self, rate, values, is_last_step)
        last_report_s[0] = clock() - started

    def take_step_until_deadline(self, *arguments):
        values = take_step(self, *arguments)
        reason = ("time" if deadline_epoch_s is not None
                  and clock() + last_report_s[0] >= deadline_epoch_s
                  else "asked" if stop_request is not None and stop_request.exists() else "")
        if reason:
            rate = self.optimizer.param_groups[0]["lr"]
            report(self, float(rate), values, True)
            raise TrainingStopped(self._step, reason)
        return values

    Trainer._take_step, Trainer._report = take_step_until_deadline, timed_report

    def undo() -> None:
        Trainer._take_step, Trainer._report = take_step, report

    return undo


def _take_number(arguments: list[str], option: str) -> float | None:
    """The value of ``option`` (a number), taken out of ``arguments``; None where absent."""
    if option not in arguments:
        return None
    at = arguments.index(option)
    value = float(arguments[at + 1])
    del arguments[at:at + 2]
    return value


def main(arguments: list[str]) -> int:
    """``train DIRECTORY [neppo's options] [--deadline-epoch-s SECONDS]
    [--out-of-plane-force-weight WEIGHT]``: neppo's command line, with the deadline (seconds
    since the epoch) and the out-of-plane term's weight taken out of the arguments first."""
    arguments = list(arguments)
    deadline = _take_number(arguments, "--deadline-epoch-s")
    out_of_plane_weight = _take_number(arguments, "--out-of-plane-force-weight")
    directory = Path(arguments[1] if len(arguments) > 1 else ".")
    from neppo.cli import main as neppo_main

    install_deadline(deadline, stop_request=directory / STOP_REQUEST_FILE)
    if out_of_plane_weight:
        if __package__:
            from .neppo_out_of_plane import install
        else:  # run as a script: this file's folder is on sys.path
            from neppo_out_of_plane import install
        install(out_of_plane_weight)
    try:
        neppo_main(arguments)
    except TrainingStopped as stopped:
        step, reason = stopped.args
        (directory / STOPPED_FILE).write_text(f"{step} {reason}\n")
        print(f"mdinsim: training stopped after step {step} ({reason}); the report of that "
              f"step is written", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
