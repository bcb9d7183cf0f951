"""Lazy package attributes (PEP 562), so that ``mdinsim --help`` loads no step's libraries.

A step package (``md``, ``train``, ``predict``) offers its core's functions at the package
level (``mantid_mdinsim.md.run_md``), but its command line only needs its parameter
definitions; importing the core there would load ASE, SciPy, calorine or matplotlib (seconds)
for ``mdinsim md --help``. The package instead sets ``__getattr__ = lazy_attributes(...)``:
each name is imported from its module on first use and then kept in the package.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Mapping


def lazy_attributes(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a submodule,
    relative: ``.core``) when ``name`` is first read."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
