"""Errors raised by mdinsim.

Every error that reaches a user names what was wrong (the file, the frame, the field or the
parameter) and how to fix it. The CLI prints the message without a traceback; the Mantid
algorithms raise it as the algorithm's error.
"""

from __future__ import annotations

import datetime
import errno
import os
import platform
import sys
import tempfile
import traceback
from pathlib import Path

# The package sets __version__ before it imports this module.
from . import __version__


class MdinsimError(Exception):
    """Base class: an error caused by the user's input or environment, with a fix to suggest."""


class ParameterError(MdinsimError, ValueError):
    """A parameter value is out of bounds, of the wrong type or inconsistent with another."""

    def __init__(self, name: str, problem: str, fix: str | None = None):
        self.name = name
        self.problem = problem
        self.fix = fix
        message = f"parameter '{name}': {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)

    def __reduce__(self):  # picklable: raised in MD worker processes too
        return (type(self), (self.name, self.problem, self.fix))

    def worded_for(self, label: str) -> str:
        """The message with the parameter named as a face spells it: the command line's
        option (``--q-max``) or the Mantid property (``QMax``), not the core's name."""
        return f"{label}: {self.problem}" + (f" ({self.fix})" if self.fix else "")


class _FileProblem(MdinsimError):
    """An error about one file, worded '<path>, <where>: <problem> (<fix>)'; pickled as the
    arguments it was made with (raised in MD and Dask worker processes too)."""

    def __init__(self, path: str | Path, problem: str, where: str | None = None,
                 fix: str | None = None):
        self.path = Path(path)
        self.problem = problem
        self.where = where
        self.fix = fix
        super().__init__(_file_message(self.path, problem, where, fix))

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.where, self.fix))


class InputFileError(_FileProblem, ValueError):
    """An input file is missing, truncated or holds values that cannot be used.

    ``where`` locates the problem inside the file (a frame, a line, a field, a dataset).
    """


def _file_message(path: Path, problem: str, where: str | None, fix: str | None) -> str:
    """'<path>, <where>: <problem> (<fix>)', the form of every message about a file."""
    message = f"{path}"
    if where:
        message += f", {where}"
    message += f": {problem}"
    if fix:
        message += f" ({fix})"
    return message


class ExternalProgramError(MdinsimError, RuntimeError):
    """An external executable (gpumd, nep, i-pi) was not found, failed or wrote nothing."""


class Cancelled(MdinsimError):
    """The user cancelled a long run (Mantid's cancel button or Ctrl-C in the CLI)."""


class PhysicsError(MdinsimError, RuntimeError):
    """A run became unphysical (temperature or energy running away, atoms too close, positions
    not finite): it was stopped, and the message says what was kept and what to change."""


class OutputWriteError(_FileProblem, OSError):
    """An output could not be written (disk full, file size limit, permissions, I/O error).

    ``needed_bytes`` is the size the output needed where it is known."""

    def __init__(self, path: str | Path, problem: str, fix: str | None = None,
                 needed_bytes: int | None = None):
        self.needed_bytes = needed_bytes
        super().__init__(path, problem, None, fix)

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.fix, self.needed_bytes))


#: Where unexpected errors (bugs, not input errors) are to be reported (README.md, "Reporting
#: problems").
REPORT_TO = "the mdinsim issue tracker (README.md, 'Reporting problems')"


def format_bytes(count: float) -> str:
    """``count`` bytes in B, kB, MB, GB or TB (powers of 1000), for messages."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(count) < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.3g} {unit}"
        count /= 1000.0
    return f"{count:.3g} TB"


def os_error_message(error: OSError, path: str | Path | None = None) -> OutputWriteError | None:
    """An :class:`OutputWriteError` for an OSError of the environment (disk full, file size
    limit, read-only file system, permission, I/O), or None for other OSErrors."""
    target = path or error.filename or "an output of this step"
    fixes = {
        errno.ENOSPC: ("the disk is full", "free space or write to another disk"),
        errno.EDQUOT: ("the disk quota is exceeded", "free space or write to another disk"),
        errno.EFBIG: ("the file is larger than the file size limit (ulimit -f)",
                      "raise the limit or write to another disk"),
        errno.EROFS: ("the file system is read-only", "write to another folder"),
        errno.EACCES: ("permission denied", "write to a folder you may write to"),
        errno.EPERM: ("permission denied", "write to a folder you may write to"),
        errno.EIO: ("input/output error of the disk", "check the disk, or write elsewhere"),
    }
    if error.errno not in fixes:
        return None
    problem, fix = fixes[error.errno]
    return OutputWriteError(target, f"cannot be written: {problem}", fix)


def report_unexpected(error: BaseException, where: str) -> str:
    """Keep the traceback of an unexpected error (a bug, not an input error) in a log file and
    return a one-paragraph message that says where the log is and where to report it.

    The log goes to ``$MDINSIM_LOG_DIR`` or ``<temporary folder>/mdinsim-logs``.
    """
    folder = Path(os.environ.get("MDINSIM_LOG_DIR") or Path(tempfile.gettempdir()) /
                  "mdinsim-logs")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    log = folder / f"mdinsim-{where.replace(' ', '_')}-{stamp}-{os.getpid()}.log"
    text = (f"mdinsim {__version__}, {where}, Python {sys.version.split()[0]}, "
            f"{platform.platform()}\n\n"
            + "".join(traceback.format_exception(type(error), error, error.__traceback__)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        log.write_text(text)
        kept = f"the details are in {log}"
    except OSError:
        kept = "the details could not be saved (log folder not writable)"
    return (f"unexpected internal error ({type(error).__name__}: {error}). This is a bug of "
            f"mdinsim, not of your input: {kept}; please report it to {REPORT_TO} with that "
            "file and the command you ran")
