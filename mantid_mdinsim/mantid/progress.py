"""A :class:`~mantid_mdinsim.progress.ProgressReporter` over ``mantid.api.Progress``.

The core reports ``progress.report(fraction, message)`` between chunks of work, and the loops
that wait on MD worker processes or external programs (``gpumd``, ``nep``, neppo, i-PI) report
every second or two with an unchanged fraction. Each report goes to Mantid's ``Progress`` of the
running algorithm (the dialog's progress bar and message), whose ``doReport`` is also Mantid's
interruption point: after Cancel it raises (``Algorithm::CancelException``, KeyboardInterrupt in
Python; Framework/API/src/Progress.cpp, api/src/Exports/Algorithm.cpp).

``ProgressBase::report(i, msg)`` reaches ``doReport`` only when the counter has moved by
``notifyStep`` since the last notification (Framework/Kernel/src/ProgressBase.cpp; 1 % of the
range by default), so a waiting loop reporting an unchanged step would pass no interruption
point until the next percent, hours into a long MD run. ``setNotifyStep(0)`` makes every report
notify, so a Cancel is seen at the next report: within one polling interval of a waiting loop
(0.5 s for CPU MD workers, 1 s for neppo, 2 s for gpumd and nep), or one chunk of computation.
The core reports between chunks, not per item, so notifying each report does not flood the
dialog.

A cancel becomes :class:`~mantid_mdinsim.errors.Cancelled`, so the core stops the way it stops
in the CLI (external programs terminated, worker processes checkpointed, partial outputs not
renamed), and the algorithm base turns it back into Mantid's cancellation.

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
    progress.setNotifyStep(0)  # every report below reaches doReport, the interruption point

    def callback(fraction: float, message: str) -> None:
        step = int(round(fraction * PROGRESS_STEPS))
        try:
            progress.report(step, message)
        except KeyboardInterrupt as interrupt:
            raise Cancelled("cancelled by the user; completed output is kept, partial output "
                            "is not written") from interrupt

    return ProgressReporter(callback, start=start, end=end)
