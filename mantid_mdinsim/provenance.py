"""Sample logs that record how an output was made: the step, its parameters, the version.

Every output (files and workspaces) carries these, so that a spectrum found later in a folder or
a Workbench session says which parameters produced it.
"""

from __future__ import annotations

import datetime
from typing import Any, Mapping

import numpy as np

from . import __version__
from .parameters import StepSettings


def log_value(value: Any) -> Any:
    """A parameter value as a sample-log value: numbers and strings as they are, lists of
    numbers as arrays, other lists as space-separated text, None as an empty string."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, float, str, np.integer, np.floating)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if items and all(isinstance(v, (int, float, np.integer, np.floating))
                         and not isinstance(v, bool) for v in items):
            return np.asarray(items, dtype=float)
        return " ".join(str(v) for v in items)
    return str(value)


def provenance_logs(step: str, parameters: Mapping[str, Any] | StepSettings) -> dict[str, Any]:
    """Logs for an output of ``step`` (``"MDComputeSqw"``, ...): version, date and parameters
    (by name, or a step's settings object)."""
    if isinstance(parameters, StepSettings):
        parameters = parameters.as_values()
    logs: dict[str, Any] = {
        "mdinsim_version": __version__,
        "mdinsim_step": step,
        "mdinsim_date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    for name, value in parameters.items():
        logs[name] = log_value(value)
    return logs
