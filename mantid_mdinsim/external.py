"""Finding, running and checking external executables (``gpumd``, ``nep``, ``i-pi``).

One place decides how a program is found (an explicit path, an environment variable, then
PATH), runs it in a working folder with its output captured to a log file there, and turns a
failure into an :class:`~mantid_mdinsim.errors.ExternalProgramError` that names the program,
the folder, the exit status and the end of its log.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from .errors import Cancelled, ExternalProgramError
from .lifetime import parent_death_preexec

#: Environment variables naming executables, checked before PATH.
ENVIRONMENT_VARIABLES = {"gpumd": "MDINSIM_GPUMD", "nep": "MDINSIM_NEP"}


def find_executable(program: str, explicit: str | os.PathLike | None = None) -> Path | None:
    """The executable for ``program``: ``explicit`` if given, else $MDINSIM_<PROGRAM>, else PATH.

    Returns ``None`` when it is not found and was not named; raises when a named one is missing
    (a named program that is absent is a user error, not a reason to fall back silently).
    """
    if explicit:
        candidate = Path(explicit).expanduser()
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
        found = shutil.which(str(explicit))
        if found:
            return Path(found)
        raise ExternalProgramError(
            f"{program}: the executable '{explicit}' does not exist or is not executable "
            f"(give the full path to a built {program}, or leave it out to use PATH)")
    variable = ENVIRONMENT_VARIABLES.get(program)
    if variable and os.environ.get(variable):
        return find_executable(program, os.environ[variable])
    found = shutil.which(program)
    return Path(found) if found else None


def _signal_group(process: subprocess.Popen, number: int) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, number)
        else:  # pragma: no cover - Windows has no process groups to signal
            process.send_signal(number)
    except (ProcessLookupError, PermissionError):
        pass  # already gone


def _stop(process: subprocess.Popen, grace_seconds: float = 10.0) -> None:
    """Terminate ``process`` and the processes it started (SIGTERM, then SIGKILL after
    ``grace_seconds``), and wait for it, so that nothing keeps writing into its folder."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()
    # children that outlived their parent's TERM get the same end
    _signal_group(process, signal.SIGKILL)


@dataclass
class CompletedProgram:
    executable: Path
    working_directory: Path
    log_path: Path
    seconds: float


def _log_tail(log_path: Path, n_lines: int = 20) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log written)"
    return "\n".join(lines[-n_lines:]) or "(empty log)"


class StopProgram(Exception):
    """Raised by a ``poll`` of :func:`run_program` to end the program early (not an error)."""


def run_program(executable: Path, working_directory: Path, arguments: Sequence[str] = (),
                log_name: str | None = None, stdin_text: str | None = None,
                expected_outputs: Sequence[str] = (),
                poll: Callable[[], None] | None = None, poll_seconds: float = 2.0,
                environment: dict[str, str] | None = None) -> CompletedProgram:
    """Run ``executable`` in ``working_directory``, its stdout and stderr going to a log there.

    ``poll`` is called every ``poll_seconds`` while the program runs (to report progress from its
    output files, and to pass Mantid's interruption point); if it raises :class:`Cancelled` (or
    on Ctrl-C) or :class:`StopProgram` the program and every process it started are terminated
    (:func:`_stop`) and the exception re-raised (``StopProgram``: the caller ends a run early,
    e.g. when a training stops improving, and completes its outputs itself). A non-zero exit
    status, or a missing or empty file of ``expected_outputs``,
    raises :class:`ExternalProgramError` with the end of the log.
    """
    working_directory = Path(working_directory)
    log_path = working_directory / (log_name or f"{Path(executable).name}.log")
    started = time.monotonic()
    env = dict(os.environ)
    if environment:
        env.update(environment)
    with open(log_path, "w") as log:
        try:
            # A session of its own on POSIX: the program and its children (neppo's data
            # loaders, MPI ranks) form one process group that a cancel (or SIGTERM of the
            # command, see lifetime.py) stops as a whole; on Linux the program is sent SIGTERM
            # too when this process dies, even by SIGKILL.
            process = subprocess.Popen(
                [str(executable), *arguments], cwd=working_directory, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.PIPE if stdin_text else None,
                text=True, env=env, start_new_session=os.name == "posix",
                preexec_fn=parent_death_preexec())
        except OSError as error:
            raise ExternalProgramError(f"{executable}: could not start ({error})") from error
        if stdin_text:
            process.stdin.write(stdin_text)
            process.stdin.close()
        try:
            while True:
                try:
                    return_code = process.wait(timeout=poll_seconds)
                    break
                except subprocess.TimeoutExpired:
                    if poll is not None:
                        poll()
        except (Cancelled, StopProgram, KeyboardInterrupt):
            _stop(process)
            raise
    seconds = time.monotonic() - started
    if return_code != 0:
        raise ExternalProgramError(
            f"{executable} failed with exit status {return_code} in {working_directory}; "
            f"the end of its log {log_path}:\n{_log_tail(log_path)}")
    for name in expected_outputs:
        path = working_directory / name
        if not path.is_file() or path.stat().st_size == 0:
            raise ExternalProgramError(
                f"{executable} exited normally but did not write {path}; the end of its log "
                f"{log_path}:\n{_log_tail(log_path)}")
    return CompletedProgram(Path(executable), working_directory, log_path, seconds)
