"""Errors raised by mdinsim.

Every error that reaches a user names what was wrong (the file, the frame, the field or the
parameter) and how to fix it. The CLI prints the message without a traceback; the Mantid
algorithms raise it as the algorithm's error.
"""

from __future__ import annotations

from pathlib import Path


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


class InputFileError(MdinsimError, ValueError):
    """An input file is missing, truncated or holds values that cannot be used.

    ``where`` locates the problem inside the file (a frame, a line, a field, a dataset).
    """

    def __init__(self, path: str | Path, problem: str, where: str | None = None,
                 fix: str | None = None):
        self.path = Path(path)
        self.problem = problem
        self.where = where
        self.fix = fix
        message = f"{self.path}"
        if where:
            message += f", {where}"
        message += f": {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class ExternalProgramError(MdinsimError, RuntimeError):
    """An external executable (gpumd, nep, i-pi) was not found, failed or wrote nothing."""


class Cancelled(MdinsimError):
    """The user cancelled a long run (Mantid's cancel button or Ctrl-C in the CLI)."""
