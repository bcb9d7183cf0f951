"""How long the processes of a run live: none outlives the command that started it.

* :func:`terminate_as_interrupt`: SIGTERM (``kill``, a batch system's end of job) in the main
  process raises :class:`Terminated`, a :class:`KeyboardInterrupt`, so that the paths that
  already handle Ctrl-C run (workers told to stop and waited for, external programs stopped
  TERM then KILL, checkpoints kept) instead of Python's default of dying at once and leaving
  the workers running. A SIGTERM that lands inside a garbage-collector callback, a finalizer
  or a weakref callback (where Python ignores exceptions) is sent again once out of it; an
  error raised because of it (:func:`interruption`) is the SIGTERM too.
* :func:`end_process`: the ``mdinsim`` command's process ends once its work is done and its
  exit handlers have run, without the interpreter's teardown (0.2-0.3 s of every ``mdinsim
  sqw`` on this machine: numba's and LLVM's objects freed one by one).
* :func:`die_with_parent`: a worker or external program is killed by the kernel when the
  process that started it dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``); elsewhere
  :func:`parent_gone` lets a worker notice between chunks of steps.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import gc
import os
import signal
import sys
import threading
from typing import Iterator, NoReturn

_PR_SET_PDEATHSIG = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (exit status 143)."""


#: Seconds after which a SIGTERM that arrived inside a garbage-collector callback, a finalizer
#: or a weakref callback is sent again.
REDELIVER_S = 0.05


#: The process whose SIGTERM raises :class:`Terminated` (the one that entered
#: :func:`terminate_as_interrupt`); a process forked from it inherits the handler.
_owner_pid: int | None = None


def _raise_terminated(signum, frame) -> None:
    if os.getpid() != _owner_pid:
        # A child forked while the handler was set (the plotting helper, forked at the
        # command's start) and not yet given its own: it dies of the signal, as it did before
        # the handler covered the fork, instead of raising in multiprocessing's bootstrap
        # (a traceback on the command's error output).
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _inside_gc_callback(frame):
        # An exception raised in a gc callback is printed and ignored by Python ("Exception
        # ignored in: gc callback"), so the command would go on as if never signalled; Dask's
        # client process has one (distributed/gc.py, timing full collections), and a SIGTERM
        # landed in it in about half the tries of tests/sqw/test_cluster_lifetime.py on a
        # loaded machine. Send it again once the collection is over.
        _send_again(signum)
        return
    raise Terminated


#: The SIGTERM to be sent again (:func:`_send_again`), until it is.
_resend: threading.Timer | None = None


def _send_again(signum: int) -> None:
    global _resend
    _resend = threading.Timer(REDELIVER_S, os.kill, (os.getpid(), signum))
    _resend.daemon = True
    _resend.start()


def _unraisable(printed, unraisable) -> None:
    """``sys.unraisablehook`` within :func:`terminate_as_interrupt` (``printed``: the hook it
    replaced): a :class:`Terminated` raised where Python prints and ignores exceptions (a
    finalizer's ``__del__``, a weakref callback: the handler runs in whatever bytecode runs)
    is sent again, not lost (the command would go on as if never signalled)."""
    if isinstance(unraisable.exc_value, Terminated) and os.getpid() == _owner_pid:
        _send_again(signal.SIGTERM)
        return
    printed(unraisable)


def interruption(error: BaseException) -> KeyboardInterrupt | None:
    """The SIGTERM (:class:`Terminated`) or Ctrl-C (KeyboardInterrupt) that ``error`` was
    raised because of: found among its causes and contexts (``raise ... from``, or raised while
    it was handled), else None.

    Code between the signal and the command can replace the interrupt with an error of its own,
    keeping it as the cause: a C extension's initialisation (pybind11 modules raise
    ``ImportError('initialization failed')`` from any exception raised while they initialise;
    CI saw ``scipy.spatial._distance_pybind``, imported with euphonic, give exit status 3 after
    SIGTERM), or a clean-up that fails once interrupted. The command was still interrupted."""
    waiting, seen = [error], set()
    while waiting:
        error = waiting.pop()
        if error is None or id(error) in seen:
            continue
        if isinstance(error, KeyboardInterrupt):
            return error
        seen.add(id(error))
        waiting += [error.__context__, error.__cause__]   # the cause first
    return None


def _inside_gc_callback(frame) -> bool:
    """Whether ``frame`` (the one a signal interrupted) runs inside one of ``gc.callbacks``."""
    codes = {getattr(getattr(callback, "__func__", callback), "__code__", None)
             for callback in gc.callbacks}
    codes.discard(None)
    while frame is not None and codes:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (main thread only: Python delivers
    signals there, and a Mantid algorithm's thread keeps its host's handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _owner_pid
    previous_owner, _owner_pid = _owner_pid, os.getpid()     # before the handler can run
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_unraisable, previous_hook)
    try:
        yield
        if _resend is not None and _resend.is_alive():
            # a SIGTERM still to be sent again: the block ended first, but it was signalled
            _resend.cancel()
            raise Terminated
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook
        _owner_pid = previous_owner


def _set_parent_death_signal(number: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(number), 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return False


def die_with_parent(parent_pid: int, number: int = signal.SIGKILL) -> None:
    """Have the kernel send ``number`` to this process when its parent dies; exit at once if
    the parent ``parent_pid`` is already gone. SIGKILL by default: a worker whose command is
    gone writes nothing more (its last checkpoint, written by rename, stays whole)."""
    _set_parent_death_signal(number)
    if parent_gone(parent_pid):
        os._exit(1)


def parent_gone(parent_pid: int) -> bool:
    """Whether the process that started this one has died (this one was re-parented)."""
    return os.getppid() != parent_pid


def parent_death_preexec(number: int = signal.SIGTERM):
    """A ``preexec_fn`` for :class:`subprocess.Popen` giving the child ``number`` when this
    process dies (Linux; ``None`` elsewhere). SIGTERM: external programs end cleanly."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork, not in the child

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, int(number), 0, 0, 0)

    return preexec


#: Set (to anything but empty) to end ``mdinsim`` with Python's full teardown.
FULL_EXIT_VARIABLE = "MDINSIM_FULL_EXIT"


def end_process(code: int) -> NoReturn:
    """End the process with exit status ``code`` after the exit handlers (``atexit``: logging,
    multiprocessing's children, temporary folders, coverage) but without the interpreter's
    teardown, which frees every object and module one by one: 0.2-0.3 s after an ``mdinsim
    sqw`` whose outputs were all written and closed (numba's and LLVM's objects). For the
    ``mdinsim`` entry points only (``cli.console_main``), never inside a library call.

    The full teardown is kept where something may still need it: threads other than daemons
    still running, a profiler or tracer attached (``python -m cProfile`` writes its file after
    the module returns), or ``$MDINSIM_FULL_EXIT`` set.
    """
    others = [thread for thread in threading.enumerate()
              if thread is not threading.main_thread() and not thread.daemon
              and thread.is_alive()]
    if (others or sys.getprofile() is not None or sys.gettrace() is not None
            or os.environ.get(FULL_EXIT_VARIABLE)):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):   # a closed pipe or stream: nothing left to deliver
            pass
    os._exit(code)
