"""Plots drawn by a helper process started before a command computes.

Importing matplotlib and drawing a colour map take about half a second, as long as a small
S(q,w) takes to compute. A command that ends with a plot starts a :class:`PlotProcess` first:
the helper (forked before any thread is started) imports :mod:`.plotting` while the command
computes on the other cores, then draws the plots the command sends it while the command writes
its data files. :meth:`PlotProcess.save_plot` takes the arguments of
:func:`.plotting.save_plot`; :meth:`PlotProcess.wait` returns when every plot is written and
raises the helper's error where one failed (nothing is left half-written: ``save_plot`` writes
atomically).

The command line forks it at its very start (:func:`start_early`, called by ``mdinsim`` for the
commands in ``cli.PLOTTING_COMMANDS`` before it builds its parser), so that the helper's imports
(matplotlib: most of a processor-second; NumPy is imported before the fork) run on the second
core while the command parses its options, imports its core and reads its input, rather than
beside the computation; the command takes it with :func:`claim` (a new helper where none was
started early), and one left unclaimed (an error in the options, ``--no-plot`` spelled another
way) is ended by :func:`discard_early`.

Where ``fork`` is not the platform's way (Windows; macOS, where forking a process that has
loaded system frameworks is unsafe) or the helper cannot start, the plots are drawn in the
command's own process, as without the helper.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def _serve(connection, command_end) -> None:
    """The helper: import the plotting module, then draw what arrives until ``None`` (or the
    end of the command: its end of the pipe is closed here, so that the helper sees the end of
    the command, even of one killed)."""
    command_end.close()
    # SIGTERM ends the helper as Ctrl-C does (a picture being drawn is removed by atomic_path),
    # also where it was forked before the command set its own handler (start_early).
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        from . import plotting  # matplotlib: imported in the helper, while S(q,w) is computed
    except BaseException as error:  # reported with the first plot asked for
        failure: BaseException | None = error
    else:
        failure = None
    try:
        while True:
            request = connection.recv()
            if request is None:
                return
            arguments, options = request
            try:
                if failure is not None:
                    raise failure
                plotting.save_plot(*arguments, **options)
                connection.send(None)
            except Exception as error:
                connection.send(_picklable(error))
    except (EOFError, KeyboardInterrupt):  # the command ended or was interrupted
        return


def _picklable(error: Exception) -> Exception:
    import pickle  # only a failing plot needs these
    import traceback

    try:
        pickle.dumps(error)
        return error
    except Exception:
        return RuntimeError("".join(traceback.format_exception_only(error)).strip())


#: The helper forked by :func:`start_early`, until the command claims it.
_early: "PlotProcess | None" = None


def start_early(argv: list[str]) -> None:
    """Fork the helper now, unless ``argv`` asks for help or for no plot (``--no-plot``)."""
    global _early
    if _early is not None or any(word in ("-h", "--help", "--no-plot") for word in argv):
        return
    # NumPy, which both processes need, is imported before the fork, so that the helper
    # inherits it instead of importing it a second time (it finishes no later: its own
    # import of NumPy would come first).
    import numpy  # noqa: F401

    _early = PlotProcess()


def claim() -> "PlotProcess":
    """The helper started early, or a new one."""
    global _early
    helper, _early = _early, None
    return helper if helper is not None else PlotProcess()


def discard_early() -> None:
    """End a helper started early and not claimed (the command failed before its plot, or
    needs none)."""
    global _early
    helper, _early = _early, None
    if helper is not None:
        helper.__exit__(RuntimeError, None, None)


class PlotProcess:
    """A process that imports matplotlib now and draws plots later (see the module)."""

    def __init__(self) -> None:
        self._connection = None
        self._process = None
        self._pending = 0
        if sys.platform in ("win32", "darwin") or os.environ.get("MDINSIM_PLOT_IN_PROCESS"):
            return
        import multiprocessing  # only where a helper process is started

        try:
            context = multiprocessing.get_context("fork")
            parent, child = context.Pipe()
            self._process = context.Process(target=_serve, args=(child, parent), daemon=True,
                                            name="mdinsim-plot")
            self._process.start()
        except (OSError, ValueError):
            self._process = None
            return
        child.close()
        self._connection = parent

    def save_plot(self, *arguments: Any, **options: Any) -> Path:
        """:func:`.plotting.save_plot` in the helper (in this process without one); the file
        is written once :meth:`wait` returns."""
        if self._connection is None:
            from .plotting import save_plot  # matplotlib takes seconds; only a plot needs it

            return save_plot(*arguments, **options)
        self._connection.send((arguments, options))
        self._pending += 1
        return Path(arguments[1])

    def wait(self) -> None:
        """Return once the plots asked for are written; raise the first error of the helper."""
        errors = []
        while self._pending:
            self._pending -= 1
            try:
                reply = self._connection.recv()
            except EOFError:
                reply = RuntimeError("the plotting process ended without drawing the plot")
            if reply is not None:
                errors.append(reply)
        if errors:
            raise errors[0]

    def discard(self, *paths: str | os.PathLike) -> None:
        """Wait for the plots (their errors ignored) and remove ``paths``: the pictures of an
        output that failed, which must not be left alone beside it."""
        try:
            self.wait()
        except Exception:
            pass
        for path in paths:
            Path(path).unlink(missing_ok=True)

    def close(self) -> None:
        """Wait for the plots and stop the helper."""
        if self._connection is None:
            return
        try:
            self.wait()
        finally:
            try:
                self._connection.send(None)
            except OSError:
                pass
            self._connection.close()
            self._connection = None
            self._process.join(timeout=10)

    def __enter__(self) -> "PlotProcess":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None and self._process is not None:
            # The command failed: the helper must not outlive it, nor be stopped in the middle
            # of a file (its temporary would be left): a plot being drawn is waited for.
            if self._pending and self._connection.poll(30):
                self.discard()
            self._process.terminate()
            # closed before the join: a helper that SIGTERM caught while it was importing
            # matplotlib (the import's error is kept for the first plot) then waits in recv,
            # and ends at the end of the pipe instead of after the join's 10 s
            self._connection.close()
            self._connection = None
            self._process.join(timeout=10)
            return
        self.close()
