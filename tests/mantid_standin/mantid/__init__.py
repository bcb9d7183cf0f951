"""Stand-in for the ``mantid`` package (tests only; see tests/mantid_standin/README.md).

Mirrors Framework/PythonInterface/mantid/__init__.py: importing ``mantid`` makes ``kernel`` and
``api`` available; ``mantid.simpleapi`` loads the Python plugins on import.
"""

from . import api, kernel  # noqa: F401

__version__ = kernel.version_str()
STANDIN = True  # lets tests tell the stand-in from a real Mantid
