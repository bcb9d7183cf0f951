"""A :class:`~mantid_mdinsim.progress.ProgressReporter` over ``mantid.api.Progress``.

The core reports ``progress.report(fraction, message)`` between chunks of work. Here each report
goes to Mantid's ``Progress`` of the running algorithm (the dialog's progress bar and message).
``Progress.report`` is also Mantid's interruption point: when the user pressed Cancel it raises
(KeyboardInterrupt in Python); that is turned into :class:`~mantid_mdinsim.errors.Cancelled` so
the core stops the way it stops in the CLI (external programs terminated, partial outputs not
written), and the algorithm base turns it back into Mantid's cancellation.

This module imports Mantid; nothing outside ``mantid_mdinsim.mantid`` and ``algorithms/`` may.
"""

from __future__ import annotations

from mantid.api import Progress

from ..errors import Cancelled
from ..progress import ProgressReporter

#: Resolution of the progress bar: fractions are reported as steps out of this many.
PROGRESS_STEPS = 1000


def mantid_progress(algorithm, start: float = 0.0, end: float = 1.0) -> ProgressReporter:
    """A reporter driving ``algorithm``'s progress bar over ``[start, end]``."""
    progress = Progress(algorithm, 0.0, 1.0, PROGRESS_STEPS)

    def callback(fraction: float, message: str) -> None:
        step = int(round(fraction * PROGRESS_STEPS))
        # Every report, even of an unchanged step, passes Mantid's interruption point, so a
        # cancel is seen between chunks that report no new progress.
        try:
            progress.report(step, message)
        except KeyboardInterrupt as interrupt:
            raise Cancelled("cancelled by the user; completed output is kept, partial output "
                            "is not written") from interrupt

    return ProgressReporter(callback, start=start, end=end)
