"""Tests of the Mantid layer run against the real ``mantid`` when it imports, otherwise against
the stand-in in ``tests/mantid_standin`` (put on sys.path here, and only here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
STANDIN = REPOSITORY / "tests" / "mantid_standin"
ALGORITHMS = REPOSITORY / "algorithms"

try:
    import mantid  # noqa: F401
except ImportError:
    sys.path.insert(0, str(STANDIN))
    import mantid  # noqa: F401

#: True when the tests run against a real Mantid rather than the stand-in.
REAL_MANTID = not getattr(mantid, "STANDIN", False)


@pytest.fixture
def ads():
    """The analysis data service, emptied before and after the test."""
    from mantid.api import AnalysisDataService

    AnalysisDataService.clear(True)
    yield AnalysisDataService
    AnalysisDataService.clear(True)


_LOADED: dict[str, type] = {}


def load_algorithm(name: str):
    """Load ``algorithms/<name>.py`` as Mantid's plugin loader does (a module named after the
    file; it subscribes the algorithm) and return the algorithm class (loaded once)."""
    import warnings

    from mantid.kernel import plugins

    if name not in _LOADED:
        with warnings.catch_warnings():
            # Mantid's PluginLoader uses SourceFileLoader.load_module (deprecated in 3.12).
            warnings.simplefilter("ignore", DeprecationWarning)
            _, module = plugins.load_plugin(str(ALGORITHMS / f"{name}.py"))
        _LOADED[name] = getattr(module, name)
    return _LOADED[name]


def make_algorithm(name: str, **properties):
    """An initialised instance of the algorithm with the given properties set, run as Mantid
    runs a top-level algorithm (outputs stored in the ADS)."""
    algorithm = load_algorithm(name)()
    algorithm.initialize()
    algorithm.setRethrows(True)
    for key, value in properties.items():
        algorithm.setProperty(key, value)
    return algorithm


def assert_properties_match(algorithm, parameters) -> None:
    """Every parameter has its property: name, documentation, group, allowed values and the
    default of the shared definition (EMPTY_DBL/EMPTY_INT/"" for unset values)."""
    import numpy as np

    from mantid_mdinsim.mantid.properties import EMPTY_DBL, EMPTY_INT, choice_values
    from mantid_mdinsim.parameters import Kind

    for parameter in parameters:
        prop = algorithm.getProperty(parameter.property_name)
        assert prop.documentation.startswith(parameter.describe()), parameter.name
        assert prop.getGroup == (parameter.group or ""), parameter.name
        if parameter.choices:
            assert list(prop.allowedValues) == choice_values(parameter), parameter.name
        unset = parameter.required or parameter.default is None
        if parameter.kind is Kind.OUTPUT_FILE or parameter.kind is Kind.DIRECTORY:
            assert prop.value == "", parameter.name
        elif parameter.kind is Kind.INPUT_FILES:
            assert list(prop.value) == [], parameter.name
        elif parameter.kind is Kind.INPUT_FILE:
            assert prop.value == ("" if unset else parameter.default), parameter.name
        elif parameter.multiple:
            expected = [] if unset else list(parameter.default)
            assert list(np.asarray(prop.value).tolist()) == expected, parameter.name
        elif parameter.type is float:
            assert prop.value == (EMPTY_DBL if unset else parameter.default), parameter.name
        elif parameter.type is int:
            assert prop.value == (EMPTY_INT if unset else parameter.default), parameter.name
        elif parameter.type is bool:
            assert prop.value is bool(parameter.default), parameter.name
        else:
            assert prop.value == ("" if unset else parameter.default), parameter.name
