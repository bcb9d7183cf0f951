"""Check that every ``mantid`` name this project uses exists in Mantid's Python API.

Two parts:

``extract`` (regenerates the record) reads Mantid's own source, a checkout of
mantidproject/mantid, and lists what its Python API exports:

* the boost.python exports in ``Framework/PythonInterface/mantid/{api,kernel}/src/Exports/*.cpp``
  (``class_<...>("Name")``, ``enum_<...>("Name")`` with ``.value("X")``, ``.def("method")``,
  ``.add_property``/``.add_static_property``/``.def_readonly``, classes defined by macros such as
  ``EXPORT_BOUNDEDVALIDATOR(double, Float)``, ``...Exporter<...>::define("Name")`` with the
  members of the exporter header, and ``scope().attr("Alias")``);
* the Python modules that add names (``mantid/{api,kernel}/_aliases.py``,
  ``mantid/kernel/plugins.py``, ``mantid/simpleapi.py``).

``check`` scans this project's Mantid layer (``mantid_mdinsim/mantid/*.py`` and
``algorithms/*.py``) with ``ast``: every name imported from a ``mantid`` module must be exported
by that module, and every attribute used there that is neither defined by this project nor an
attribute of the Python, numpy and standard-library objects those files use must be a member of
some exported Mantid class.

The record, ``mantid_api_names.json`` beside this script, names the Mantid commit(s) it was
taken from. Usage::

    python tests/mantid/mantid_api_names.py extract /path/to/mantid [--commit HASH] > \\
        tests/mantid/mantid_api_names.json
    python tests/mantid/mantid_api_names.py check     # exit status 1 and a list if not
"""

from __future__ import annotations

import argparse
import ast
import builtins
import importlib
import importlib.machinery
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterable

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[1]
RECORD = HERE / "mantid_api_names.json"

#: Where the exports of each Mantid module live (relative to the Mantid checkout).
EXPORT_FOLDERS = {
    "mantid.api": "Framework/PythonInterface/mantid/api/src/Exports",
    "mantid.kernel": "Framework/PythonInterface/mantid/kernel/src/Exports",
}
#: Exporter headers whose ``define("Name")`` makes a class with the header's members.
EXPORTER_HEADERS = (
    "Framework/PythonInterface/core/inc/MantidPythonInterface/core/DataServiceExporter.h",
    "Framework/PythonInterface/core/inc/MantidPythonInterface/core/PropertyWithValueExporter.h",
    "Framework/PythonInterface/mantid/api/inc/MantidPythonInterface/api/"
    "WorkspacePropertyExporter.h",
)
#: Python modules of Mantid and the module whose names they define.
PYTHON_MODULES = {
    "Framework/PythonInterface/mantid/kernel/_aliases.py": "mantid.kernel",
    "Framework/PythonInterface/mantid/api/_aliases.py": "mantid.api",
    "Framework/PythonInterface/mantid/kernel/plugins.py": "mantid.kernel.plugins",
    "Framework/PythonInterface/mantid/simpleapi.py": "mantid.simpleapi",
}
#: Sub-modules, which are names of their parent module.
SUBMODULES = {"mantid.kernel": ["plugins"], "mantid": ["api", "kernel", "simpleapi"]}

_CLASS = re.compile(r'(?:class_|enum_)<[^;]*?>\s*\(\s*(?:#(\w+)\s*)?"(\w+)"', re.S)
_MEMBER = re.compile(r'\.(?:def|add_property|add_static_property|def_readonly|value|'
                     r'staticmethod)\(\s*"(\w+)"')
_DEFINE = re.compile(r'(\w+)(?:<[^;]*?>)?::define\(\s*"(\w+)"\s*\)', re.S)
_MACRO = re.compile(r"#define\s+(\w+)\(\s*\w+\s*,\s*(\w+)\s*\)((?:.*\\\n)*.*)")
_ALIAS = re.compile(r'scope\(\)\.attr\(\s*"(\w+)"\s*\)\s*=\s*scope\(\)\.attr\(\s*"(\w+)"')


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _members_by_class(text: str, prefix: str = "") -> dict[str, set[str]]:
    """Classes and their members in boost.python export code (members follow their class)."""
    found: dict[str, set[str]] = {}
    matches = list(_CLASS.finditer(text))
    # A class's members run up to the next class or exporter definition.
    boundaries = sorted([m.start() for m in matches] + [m.start() for m in _DEFINE.finditer(text)])
    for match in matches:
        name = (prefix if match.group(1) else "") + match.group(2)
        end = next((b for b in boundaries if b > match.start()), len(text))
        found.setdefault(name, set()).update(_MEMBER.findall(text[match.end():end]))
    return found


def extract_exports(text: str, exporters: dict[str, set[str]] | None = None
                    ) -> dict[str, set[str]]:
    """Classes (and enums) with their members in one Exports .cpp file."""
    text = _strip_comments(text)
    exporters = dict(exporters or {})
    for alias, template in re.findall(r"using\s+(\w+)\s*=\s*(\w+)\s*<", text):
        if template in exporters:  # using ADSExporter = DataServiceExporter<...>;
            exporters[alias] = exporters[template]
    body = _MACRO.sub("", text)
    found = _members_by_class(body)
    # ``Exporter<...>::define("Name")`` makes a class with the exporter's members; members
    # chained on the result (``pythonClass.def(...)``) follow it up to the next class.
    defines = list(_DEFINE.finditer(body))
    starts = sorted([m.start() for m in _CLASS.finditer(body)] + [m.start() for m in defines])
    for match in defines:
        exporter, name = match.groups()
        following = [s for s in starts if s > match.start()]
        end = following[0] if following else len(body)
        members = set(exporters.get(exporter, set())) | set(_MEMBER.findall(body[match.end():end]))
        found.setdefault(name, set()).update(members)
    for macro in _MACRO.finditer(text):
        macro_name, _prefix_argument, macro_body = macro.groups()
        macro_body = macro_body.replace("\\\n", "\n")
        for call in re.finditer(rf"\b{macro_name}\(\s*[^,]+,\s*(\w+)\s*\)", text[macro.end():]):
            for name, members in _members_by_class(macro_body, call.group(1)).items():
                found.setdefault(name, set()).update(members)
    for alias, original in _ALIAS.findall(text):
        found[alias] = set(found.get(original, set()))
    return found


def extract_exporter(text: str) -> tuple[str, set[str]]:
    """(exporter struct name, members) of an exporter header."""
    text = _strip_comments(text)
    struct = re.search(r"struct\s+(\w+)\s*\{", text)
    return (struct.group(1) if struct else ""), set(_MEMBER.findall(text))


def extract_python(text: str) -> set[str]:
    """Top-level names a Mantid Python module defines."""
    names = set()
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def extract(mantid: Path, commit: str | None = None) -> dict:
    """The record of Mantid's Python API from a checkout."""
    if commit is None:
        try:
            commit = subprocess.run(["git", "-C", str(mantid), "rev-parse", "HEAD"],
                                    capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            commit = "unknown"
    exporters = {}
    for header in EXPORTER_HEADERS:
        path = mantid / header
        if path.is_file():
            name, members = extract_exporter(path.read_text())
            exporters[name] = members
    modules: dict[str, set[str]] = {name: set(subs) for name, subs in SUBMODULES.items()}
    members: dict[str, set[str]] = {}
    for module, folder in EXPORT_FOLDERS.items():
        for path in sorted((mantid / folder).glob("*.cpp")):
            for name, names in extract_exports(path.read_text(), exporters).items():
                modules.setdefault(module, set()).add(name)
                members.setdefault(name, set()).update(names)
    for relative, module in PYTHON_MODULES.items():
        path = mantid / relative
        if path.is_file():
            modules.setdefault(module, set()).update(extract_python(path.read_text()))
    return {"repository": "mantidproject/mantid", "commit": commit,
            "modules": {k: sorted(v) for k, v in sorted(modules.items())},
            "members": {k: sorted(v) for k, v in sorted(members.items())}}


# -- the project's side ------------------------------------------------------------------------

def project_files() -> list[Path]:
    return sorted([*(REPOSITORY / "mantid_mdinsim" / "mantid").glob("*.py"),
                   *(REPOSITORY / "algorithms").glob("*.py")])


def _project_definitions() -> set[str]:
    """Every name the project defines (functions, classes, attributes, fields, arguments)."""
    names: set[str] = set()
    for path in [*(REPOSITORY / "mantid_mdinsim").rglob("*.py"), *project_files()]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias):
                names.add((node.asname or node.name).split(".")[0])
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "add_argument"):
                # argparse destinations: "--print-directory" -> args.print_directory
                names.update(a.value.lstrip("-").replace("-", "_") for a in node.args
                             if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return names


def _non_mantid_attributes(modules: Iterable[str]) -> set[str]:
    """Attributes of the Python, numpy and standard-library objects the Mantid layer uses."""
    import numpy

    names: set[str] = set(dir(builtins))
    for obj in (str, bytes, dict, list, set, tuple, int, float, bool, type, object, Path,
                numpy.ndarray, numpy.generic, BaseException, argparse.ArgumentParser,
                importlib.machinery.ModuleSpec("example", None)):
        names.update(dir(obj))
    modules = set(modules)
    modules.update(m.rpartition(".")[0] for m in list(modules) if "." in m)
    for module in modules:
        try:
            names.update(dir(importlib.import_module(module)))
        except ImportError:
            pass
    return names


def used_names(files: Iterable[Path]) -> tuple[dict[str, set[str]], set[str]]:
    """(names imported from each mantid module, attribute names used) in ``files``."""
    imported: dict[str, set[str]] = {}
    attributes: set[str] = set()
    other_modules: set[str] = set()
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] == "mantid":
                    imported.setdefault(node.module, set()).update(a.name for a in node.names)
                else:
                    other_modules.add(node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "mantid":
                        parent, _, child = alias.name.rpartition(".")
                        if parent:
                            imported.setdefault(parent, set()).add(child)
                    else:
                        other_modules.add(alias.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                attributes.add(node.attr)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2
                  and isinstance(node.args[1], ast.Constant)):
                attributes.add(str(node.args[1].value))
    unknown = attributes - _project_definitions() - _non_mantid_attributes(other_modules)
    return imported, unknown


def check(record: dict, files: Iterable[Path] | None = None) -> list[str]:
    """Problems: names used by the project that the record does not list."""
    imported, attributes = used_names(files if files is not None else project_files())
    problems = []
    for module, names in sorted(imported.items()):
        known = set(record["modules"].get(module, ()))
        problems += [f"{module}.{name}" for name in sorted(names - known)]
    # Attributes may be members of exported classes or functions of Mantid's Python modules
    # (plugins.load_plugin, simpleapi._create_algorithm_function).
    known = set().union(*map(set, record["members"].values()),
                        *map(set, record["modules"].values()))
    problems += [f"attribute .{name}" for name in sorted(attributes - known)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    extract_parser = commands.add_parser("extract", help="record Mantid's API from a checkout")
    extract_parser.add_argument("mantid", type=Path)
    extract_parser.add_argument("--commit", default=None)
    commands.add_parser("check", help="check the project's names against the record")
    args = parser.parse_args(argv)
    if args.command == "extract":
        json.dump(extract(args.mantid, args.commit), sys.stdout, indent=1)
        print()
        return 0
    problems = check(json.loads(RECORD.read_text()))
    for problem in problems:
        print(f"not in Mantid's Python API: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
