"""calorine without scikit-learn until training needs it: import this module before calorine.

Why: ``calorine.nep``'s ``__init__`` imports its ``training_factory`` (``setup_training``),
which imports scikit-learn (``sklearn.model_selection``). Every path that only evaluates a model
(CPUNEP in MD, the frequency estimate, phonons, the model check) paid for it: calorine 4.1
took 1.6 processor-s to import, 0.75 without scikit-learn (loaded machine; docs/scaling.md). On
``local:N`` the forkserver imports calorine before it can fork a worker, so this is on the
critical path of every distributed MD command.

How: while ``calorine.nep`` is not imported yet, ``calorine.nep.training_factory`` is put in
``sys.modules`` as a stand-in whose ``setup_training`` and ``setup_fine_tuning_nep89`` (the
names ``calorine.nep`` imports from it) and any other attribute load the real module on first
use. Results are unchanged: the real functions run. Where calorine is already imported, or a
later calorine imports other names at start-up (those load the real module at once), nothing
is saved and nothing breaks.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any, Callable

_NAME = "calorine.nep.training_factory"
#: The names calorine.nep's __init__ imports from training_factory (calorine 4.x).
_IMPORTED_BY_PACKAGE = ("setup_training", "setup_fine_tuning_nep89")


class _Deferred(types.ModuleType):
    """Stands for calorine.nep.training_factory until an attribute is asked for."""

    _real: types.ModuleType | None = None

    def _load(self) -> types.ModuleType:
        if self._real is None:
            _FINDER.remove()
            if sys.modules.get(_NAME) is self:
                del sys.modules[_NAME]
            # the import system binds the real module in sys.modules and on calorine.nep
            object.__setattr__(self, "_real", importlib.import_module(_NAME))
        return self._real

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._load(), name)


def _forwarder(module: _Deferred, name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(module._load(), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"calorine.nep.training_factory.{name} (loaded on first call)"
    return call


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers the first import of calorine.nep.training_factory with the stand-in (a finder,
    not a sys.modules entry, so that the import system binds it on calorine.nep as usual)."""

    def find_spec(self, name, path=None, target=None):
        if name != _NAME:
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return _Deferred(spec.name, __doc__)

    def exec_module(self, module) -> None:
        for name in _IMPORTED_BY_PACKAGE:
            setattr(module, name, _forwarder(module, name))

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


_FINDER = _Finder()


def defer_training_factory() -> None:
    """Install the stand-in's finder, unless calorine.nep is imported already."""
    if "calorine.nep" in sys.modules or _NAME in sys.modules or _FINDER in sys.meta_path:
        return
    sys.meta_path.insert(0, _FINDER)


defer_training_factory()
