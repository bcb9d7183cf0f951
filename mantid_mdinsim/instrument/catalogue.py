"""The instrument files by name: ``instrument_params/*.yaml`` read once, as data.

What the step's parameters need (names, aliases, geometry) comes from here without building
the instruments, so ``mdinsim instrument --help`` loads no NumPy or SciPy;
:mod:`.registry` builds the instrument objects from the same data (each file is read once).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputFileError

#: yaml.safe_load's loader, in C where PyYAML was built with libyaml: the same data, ten
#: times faster (every command that names an instrument, --help included, reads all files).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parameter_directory() -> Path:
    """The folder holding the instrument YAML files (installed as a package)."""
    return Path(str(resources.files("mantid_mdinsim.instrument_params")))


def require(data: dict, key: str, path: Path, where: str = "") -> Any:
    """``data[key]``, or an error naming the file and the missing field."""
    if key not in data:
        raise InputFileError(path, f"field '{key}' is missing", where=where or None,
                             fix="see instrument_params/README.md for the fields")
    return data[key]


def read_instrument_file(path: str | Path) -> dict[str, Any]:
    """The fields of one instrument YAML file (a mapping), or an error naming the file."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError) as error:
        raise InputFileError(path, f"not readable as YAML ({error})") from None
    if not isinstance(data, dict):
        raise InputFileError(path, "expected a mapping of fields")
    return data


@lru_cache(maxsize=1)
def instrument_files() -> dict[str, tuple[Path, dict[str, Any]]]:
    """name -> (file, its fields), alphabetically by name; a name defined twice is an error."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted(parameter_directory().glob("*.yaml")):
        data = read_instrument_file(path)
        name = str(require(data, "name", path))
        if name in found:
            raise InputFileError(path, f"instrument '{name}' is defined twice", where="name")
        found[name] = (path, data)
    return dict(sorted(found.items()))


def instrument_names() -> list[str]:
    """Names of all instruments with a parameter file, alphabetically."""
    return list(instrument_files())


def instrument_aliases() -> tuple[tuple[str, str], ...]:
    """``(alias, instrument name)`` pairs of every instrument (``Parameter.aliases``)."""
    return tuple((str(alias), name) for name, (_, data) in instrument_files().items()
                 for alias in data.get("aliases") or ())


def direct_geometry_names() -> tuple[str, ...]:
    """Names of the direct-geometry instruments (those that take an incident energy)."""
    return tuple(name for name, (_, data) in instrument_files().items()
                 if data.get("geometry") == "direct")
