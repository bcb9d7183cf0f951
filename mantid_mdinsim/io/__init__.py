"""File formats: Mantid's processed NeXus, reduced experimental spectra, atomic writes.

* :func:`save_processed_nexus`, :func:`load_processed_nexus`,
  :func:`list_processed_nexus_entries` (:mod:`.nexus`): Mantid's SaveNexusProcessed format.
* :func:`load_experiment` (:mod:`.experiment`): a reduced spectrum from a NeXus or text file.
* :func:`atomic_path` (:mod:`.atomic`): write-then-rename for every output.

The NeXus functions are imported on first use, so that ``io.atomic`` stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import Any

from .atomic import atomic_path, write_text_atomic

_LAZY = {
    "save_processed_nexus": ".nexus",
    "load_processed_nexus": ".nexus",
    "list_processed_nexus_entries": ".nexus",
    "load_experiment": ".experiment",
}

__all__ = ["atomic_path", "write_text_atomic", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
