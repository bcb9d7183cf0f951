"""Only the Mantid layer imports mantid, and nothing in the package reaches the test stand-in."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import REAL_MANTID, REPOSITORY

PACKAGE = REPOSITORY / "mantid_mdinsim"
MANTID_LAYER = PACKAGE / "mantid"
ALGORITHMS = REPOSITORY / "algorithms"


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_outside_the_mantid_layer_imports_mantid():
    offenders = [str(path.relative_to(REPOSITORY)) for path in PACKAGE.rglob("*.py")
                 if MANTID_LAYER not in path.parents and "mantid" in _top_level_imports(path)]
    assert offenders == []


def test_the_package_never_imports_the_tests_or_the_stand_in():
    for path in [*PACKAGE.rglob("*.py"), *ALGORITHMS.glob("*.py")]:
        assert "tests" not in _top_level_imports(path), path
        assert "mantid_standin" not in path.read_text(), path


def test_importing_the_package_loads_nothing_from_tests(tmp_path):
    script = (
        "import json, sys\n"
        "import mantid_mdinsim, mantid_mdinsim.mantid, mantid_mdinsim.mantid.cli\n"
        "import mantid_mdinsim.sqw, mantid_mdinsim.instrument\n"
        f"tests = {str(REPOSITORY / 'tests')!r}\n"
        "loaded = [m.__file__ for m in list(sys.modules.values())\n"
        "          if getattr(m, '__file__', None) and m.__file__.startswith(tests)]\n"
        "try:\n"
        "    import mantid\n"
        "    found = mantid.__file__\n"
        "except ImportError:\n"
        "    found = None\n"
        "print(json.dumps({'loaded': loaded, 'mantid': found}))\n")
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               cwd=tmp_path, env=environment, check=True)
    result = json.loads(completed.stdout)
    assert result["loaded"] == []
    if not REAL_MANTID:
        # The stand-in is reachable only through tests/mantid/conftest.py.
        assert result["mantid"] is None


def test_every_stand_in_class_names_the_mantid_source_it_mirrors():
    import inspect

    from .conftest import REAL_MANTID, STANDIN

    if REAL_MANTID:
        return
    import mantid.api
    import mantid.kernel

    for module in (mantid.api, mantid.kernel):
        assert Path(module.__file__).is_relative_to(STANDIN)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == module.__name__ \
                    and not name.startswith("_"):
                doc = obj.__doc__ or ""
                assert "Mirrors" in doc and (".cpp" in doc or ".py" in doc or ".h" in doc), name
