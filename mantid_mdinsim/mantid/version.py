"""The Mantid release mdinsim needs, checked when the algorithms load, and the guarded calls.

Minimum: Mantid **6.13**, the first release built for Python 3.11 (mantidproject/mantid
``docs/source/release/v6.13.0/framework.rst``, Dependencies: "Upgraded to Python 3.11"; 6.12 and
older were built for Python 3.10, ``conda/recipes/conda_build_config.yaml``; each release is built
for one Python only). mdinsim needs Python 3.11 (pyproject), so no older Mantid can import it.
Every Mantid name the layer uses is older still: the newest is the exclusive lower bound of
``FloatArrayBoundedValidator``/``IntArrayBoundedValidator`` (``setLowerExclusive``,
mantidproject/mantid pull request #25042, first released in 4.0); ``Progress.setNotifyStep`` and
the ``Run.addProperty`` overload that takes a Property object are older
(Framework/PythonInterface/mantid/kernel/src/Exports/ProgressBase.cpp,
api/src/Exports/Run.cpp). Later releases moved to Python 3.12 (6.16) and 3.13 (7.0), which
mdinsim supports as well.

:func:`require_mantid` raises :class:`MantidVersionError` on an older Mantid; the algorithm base
calls it when a plugin file is loaded (Workbench's message log then shows the message instead
of half-working algorithms) and :func:`~.registration.register` before subscribing.

This module imports Mantid; nothing outside ``mantid_mdinsim.mantid`` and ``algorithms/`` may.
"""

from __future__ import annotations

import re

import mantid

from ..errors import MdinsimError

#: The oldest Mantid release the algorithms are written for.
MINIMUM_MANTID_VERSION: tuple[int, int] = (6, 13)


class MantidVersionError(MdinsimError, ImportError):
    """The running Mantid is older than :data:`MINIMUM_MANTID_VERSION`."""


def parse_version(text: str) -> tuple[int, ...]:
    """(major, minor, patch) of a Mantid version string ("6.11.0", "6.12.20250101.1503",
    "6.13.0rc1"); () where it has no leading number."""
    numbers = re.findall(r"\d+", str(text).split("+")[0])[:3]
    return tuple(int(n) for n in numbers)


def mantid_version() -> str:
    """The running Mantid's version string (``mantid.__version__``, kernel.version_str())."""
    return str(getattr(mantid, "__version__", ""))


def require_mantid(version: str | None = None) -> tuple[int, ...]:
    """Raise MantidVersionError when ``version`` (default: the running Mantid's) is older than
    the minimum; return the parsed version."""
    text = mantid_version() if version is None else version
    parsed = parse_version(text)
    minimum = ".".join(map(str, MINIMUM_MANTID_VERSION))
    if parsed and parsed[:2] < MINIMUM_MANTID_VERSION:
        raise MantidVersionError(
            f"mdinsim needs Mantid {minimum} or newer; this Python runs Mantid {text} "
            f"(update Mantid, e.g. 'conda install -c mantid mantidworkbench>={minimum}', and "
            "install mantid-mdinsim into that environment)")
    return parsed


def set_lower_exclusive(validator) -> None:
    """Make a (array) bounded validator's lower bound exclusive. Where a Mantid build lacks
    ``setLowerExclusive`` on it (array validators before 4.0), the bound stays inclusive on the
    property and ``validateInputs`` (the core's Parameter.validate) refuses the bound itself."""
    if hasattr(validator, "setLowerExclusive"):
        validator.setLowerExclusive(True)
