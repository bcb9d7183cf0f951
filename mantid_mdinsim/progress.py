"""Progress reporting and cancellation, the same way in the CLI and in Mantid.

Core functions take ``progress: ProgressReporter | None``. They call
``progress.report(fraction, message)`` between chunks of work (fraction in [0, 1] of their own
work); ``report`` also checks for cancellation and raises :class:`~mantid_mdinsim.errors.Cancelled`.
A step made of sub-steps hands each a ``progress.sub(start, end)``.

The CLI passes a reporter that draws a tqdm bar (:func:`terminal_progress`); the Mantid layer
passes one that forwards to ``mantid.api.Progress`` (whose ``report`` is Mantid's interruption
point, so the dialog's Cancel works between chunks).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from typing import Callable, Iterator

from .errors import Cancelled

ProgressCallback = Callable[[float, str], None]


class ProgressReporter:
    """Maps a step's own fraction [0, 1] onto ``[start, end]`` of the overall progress."""

    def __init__(self, callback: ProgressCallback | None = None,
                 is_cancelled: Callable[[], bool] | None = None,
                 start: float = 0.0, end: float = 1.0):
        self._callback = callback
        self._is_cancelled = is_cancelled
        self.start = start
        self.end = end

    def report(self, fraction: float, message: str = "") -> None:
        """Report that ``fraction`` of this step is done; raise Cancelled if asked to stop."""
        self.check_cancelled()
        if self._callback is not None:
            fraction = min(max(fraction, 0.0), 1.0)
            self._callback(self.start + fraction * (self.end - self.start), message)

    def check_cancelled(self) -> None:
        if self._is_cancelled is not None and self._is_cancelled():
            raise Cancelled("cancelled by the user; completed output is kept, partial output "
                            "is not written")

    def sub(self, start: float, end: float) -> "ProgressReporter":
        """A reporter for a sub-step spanning ``[start, end]`` of this step."""
        span = self.end - self.start
        return ProgressReporter(self._callback, self._is_cancelled,
                                self.start + start * span, self.start + end * span)


def null_progress() -> ProgressReporter:
    return ProgressReporter()


def ensure_progress(progress: ProgressReporter | None) -> ProgressReporter:
    return progress if progress is not None else ProgressReporter()


def format_duration(seconds: float) -> str:
    """``"45 s"``, ``"3 min 20 s"``, ``"1 h 05 min"``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


#: How an estimate of the time left reads in a progress message ("about 2 min 10 s left").
_TIME_LEFT = "about {} left"


def time_left_text(seconds: float) -> str:
    """The estimate of the time left, as progress messages carry it."""
    return _TIME_LEFT.format(format_duration(seconds))


def _has_time_left(message: str) -> bool:
    prefix, suffix = _TIME_LEFT.split("{}")
    return prefix in message and message.rstrip(")").endswith(suffix)


@contextlib.contextmanager
def terminal_progress(description: str, enabled: bool | None = None) -> Iterator[ProgressReporter]:
    """A reporter drawing a progress bar on stderr (tqdm), for the CLI.

    Disabled when stderr is not a terminal unless ``enabled`` is true, so that pipeline logs stay
    readable; then it prints a line at most every 10 s instead, with the estimated time left
    (elapsed time scaled by the fraction still to do, unless the message carries the step's own
    estimate, :func:`time_left_text`), and never the same line twice.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if enabled:
        from tqdm import tqdm  # only for a terminal: pipelines and --help do without it

        # tqdm's own estimate of the time left ({remaining}) is left out while the message
        # carries the step's (one estimate per line).
        with_remaining = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}] {postfix}"
        without_remaining = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}] {postfix}"
        bar = tqdm(total=1000, desc=description, unit="", bar_format=with_remaining)

        def callback(fraction: float, message: str) -> None:
            bar.n = int(round(1000 * fraction))
            if message:
                bar.set_postfix_str(message, refresh=False)
                bar.bar_format = without_remaining if _has_time_left(message) else with_remaining
            bar.refresh()

        try:
            yield ProgressReporter(callback)
        finally:
            bar.close()
    else:
        started = time.monotonic()
        last = [-math.inf, ""]

        def log_callback(fraction: float, message: str) -> None:
            now = time.monotonic()
            line = f"{description}: {100 * fraction:5.1f}% {message}"
            if line == last[1] or (now - last[0] < 10.0 and fraction < 1.0):
                return
            last[:] = [now, line]
            # A step that estimates its own time left (e.g. a training, from its step rate)
            # says so in the message; the overall estimate is added only where none is.
            if 0.01 <= fraction < 1.0 and not _has_time_left(message):
                line += f" ({time_left_text((now - started) * (1 - fraction) / fraction)})"
            print(line, file=sys.stderr, flush=True)

        yield ProgressReporter(log_callback)
