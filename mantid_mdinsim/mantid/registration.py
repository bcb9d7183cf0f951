"""Making the mdinsim algorithms available in Mantid.

Mantid loads Python algorithms from the folders listed in ``user.python.plugins.directories``
(``;``-separated) of the user's properties file (``~/.mantid/Mantid.user.properties`` on Linux and
macOS, ``%APPDATA%\\mantidproject\\mantid\\Mantid.user.properties`` on Windows) when
``mantid.simpleapi`` is imported, which Workbench does at start-up
(``Framework/PythonInterface/mantid/simpleapi.py`` and ``mantid/kernel/plugins.py``). Every
``.py`` file under such a folder is loaded as a module named after the file, so the plugin
folder ``mantid_mdinsim/algorithms`` holds exactly the algorithm files and nothing else
(no ``__init__.py``: it would be loaded as a module named ``__init__`` and leave a broken
``mantid.simpleapi.__init__`` mock behind).

* :func:`register_plugin_directory` / :func:`unregister_plugin_directory` edit the properties
  file (``mdinsim mantid-register [--unregister]``); idempotent, other settings untouched.
* :func:`register` subscribes the algorithms in a running Python session (scripts, notebooks,
  pipelines) and adds them to ``mantid.simpleapi`` if it is loaded.

Nothing here imports Mantid at module level, so the CLI works without Mantid installed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from .. import steps
from ..io.atomic import write_text_atomic

#: The Mantid configuration key listing user plugin folders.
PLUGIN_DIRECTORIES_KEY = "user.python.plugins.directories"
#: Mantid separates the folders of that key with semicolons (plugins.PATH_SEPARATOR).
SEPARATOR = ";"
#: The algorithms, each in a file of its own name in the plugin folder.
ALGORITHM_NAMES = (steps.TRAIN, steps.MD, steps.SQW, steps.INSTRUMENT, steps.PREDICT)


def plugin_directory() -> Path:
    """The installed plugin folder holding the algorithm files: ``mantid_mdinsim/algorithms``
    in an installed wheel, the repository's ``algorithms/`` in a source or editable install."""
    candidates: list[Path] = []
    try:
        spec = importlib.util.find_spec("mantid_mdinsim.algorithms")
    except ImportError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) for p in spec.submodule_search_locations]
    package = Path(__file__).resolve().parents[1]
    candidates += [package / "algorithms", package.parent / "algorithms"]
    for candidate in candidates:
        if all((candidate / f"{name}.py").is_file() for name in ALGORITHM_NAMES):
            return candidate.resolve()
    raise FileNotFoundError("the mdinsim algorithm files are not installed (looked for "
                            f"{', '.join(n + '.py' for n in ALGORITHM_NAMES)} in "
                            f"{', '.join(str(c) for c in candidates)}); reinstall "
                            "mantid-mdinsim")


def default_properties_file() -> Path:
    """Mantid's user properties file for this user (ConfigService::getUserFilename)."""
    try:
        from mantid.kernel import ConfigService  # only when Mantid is importable
    except ImportError:
        if sys.platform.startswith("win"):
            base = os.environ.get("APPDATA", str(Path.home() / "AppData" / "Roaming"))
            return Path(base) / "mantidproject" / "mantid" / "Mantid.user.properties"
        return Path.home() / ".mantid" / "Mantid.user.properties"
    return Path(ConfigService.getUserFilename())


@dataclass
class RegistrationResult:
    """What a (un)registration did: the file, the folder, whether the file changed and the
    key's new value."""

    properties_file: Path
    directory: Path
    changed: bool
    value: str


def _logical_lines(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) physical line of each logical line: a line ending in a backslash
    continues on the next (Java/Poco properties files)."""
    spans = []
    start = None
    for index, line in enumerate(lines):
        if start is None:
            start = index
        if line.rstrip("\r\n").endswith("\\") and index + 1 < len(lines):
            continue
        spans.append((start, index))
        start = None
    return spans


def _split(lines: list[str], span: tuple[int, int]) -> tuple[str, str] | None:
    first, last = span
    text = "".join(line.rstrip("\r\n").removesuffix("\\") for line in lines[first:last + 1])
    stripped = text.strip()
    if not stripped or stripped[0] in "#!" or "=" not in stripped:
        return None
    key, value = stripped.split("=", 1)
    return key.strip(), value.strip()


def _same(a: str, b: Path) -> bool:
    try:
        return Path(a).expanduser().resolve() == b.resolve()
    except (OSError, RuntimeError):
        return a == str(b)


def _update(properties_file: Path, directory: Path, add: bool) -> RegistrationResult:
    text = properties_file.read_text() if properties_file.is_file() else ""
    lines = text.splitlines(keepends=True)
    found = None
    for span in _logical_lines(lines):
        pair = _split(lines, span)
        if pair and pair[0] == PLUGIN_DIRECTORIES_KEY:
            found = (span, pair[1])  # the last occurrence wins, as when Mantid reads the file
    entries = [e.strip() for e in found[1].split(SEPARATOR)] if found else []
    entries = [e for e in entries if e]
    present = any(_same(e, directory) for e in entries)
    if add and present or not add and not present:
        return RegistrationResult(properties_file, directory, False, SEPARATOR.join(entries))
    if add:
        entries.append(str(directory))
    else:
        entries = [e for e in entries if not _same(e, directory)]
    value = SEPARATOR.join(entries)
    new_line = f"{PLUGIN_DIRECTORIES_KEY} = {value}\n"
    if found:
        (first, last), _ = found
        lines[first:last + 1] = [new_line]
    else:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(new_line)
    write_text_atomic(properties_file, "".join(lines))
    return RegistrationResult(properties_file, directory, True, value)


def register_plugin_directory(properties_file: str | os.PathLike | None = None,
                              directory: str | os.PathLike | None = None) -> RegistrationResult:
    """Add the plugin folder to ``user.python.plugins.directories`` in the properties file
    (created if missing). Running it again changes nothing."""
    path = Path(properties_file) if properties_file else default_properties_file()
    folder = Path(directory).resolve() if directory else plugin_directory()
    return _update(path, folder, add=True)


def unregister_plugin_directory(properties_file: str | os.PathLike | None = None,
                                directory: str | os.PathLike | None = None
                                ) -> RegistrationResult:
    """Remove the plugin folder from ``user.python.plugins.directories``."""
    path = Path(properties_file) if properties_file else default_properties_file()
    folder = Path(directory).resolve() if directory else plugin_directory()
    return _update(path, folder, add=False)


def mantid_in_this_python() -> str | None:
    """The version of the Mantid importable from this Python, None where there is none.
    Raises :class:`~.version.MantidVersionError` for one older than mdinsim needs."""
    try:
        import mantid  # noqa: F401 - only to find out whether it is there
    except ImportError:
        return None
    from .version import mantid_version, require_mantid  # imports Mantid, found just above

    require_mantid()
    return mantid_version()


def register(update_simpleapi: bool = True) -> list[str]:
    """Subscribe the algorithms in this Python session (Mantid must be importable).

    Each algorithm file is loaded as Mantid's plugin loader loads it (a module named after the
    file; loading it runs ``AlgorithmFactory.subscribe``). If ``mantid.simpleapi`` has been
    imported, a function is added to it for each algorithm, so that
    ``mantid.simpleapi.MDComputeSqw(...)`` works at once. Returns the algorithm names.
    """
    from mantid.api import AlgorithmFactory  # noqa: F401 - fails clearly without Mantid
    from mantid.kernel import plugins

    from .version import require_mantid  # imports Mantid: this module loads without it

    require_mantid()

    folder = plugin_directory()
    with warnings.catch_warnings():
        # Mantid's PluginLoader uses SourceFileLoader.load_module, deprecated since Python 3.10.
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in ALGORITHM_NAMES:
            plugins.load_plugin(str(folder / f"{name}.py"))
    simpleapi = sys.modules.get("mantid.simpleapi")
    if update_simpleapi and simpleapi is not None:
        from mantid.api import AlgorithmManager  # Mantid: this module loads without it

        create_function = getattr(simpleapi, "_create_algorithm_function", None)
        if create_function is not None:
            for name in ALGORITHM_NAMES:
                create_function(name, 1, AlgorithmManager.createUnmanaged(name, 1))
    return list(ALGORITHM_NAMES)
