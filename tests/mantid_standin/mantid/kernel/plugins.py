"""Stand-in for ``mantid.kernel.plugins`` (tests only).

Mirrors Framework/PythonInterface/mantid/kernel/plugins.py: every ``.py`` file found recursively
under a plugin directory is loaded as a top-level module named after the file (without its
folder or package), so a plugin must import its helpers absolutely.
"""

from __future__ import annotations

import os
from importlib.machinery import SourceFileLoader
from traceback import format_exc

from . import config, logger

PATH_SEPARATOR = ";"


class PluginLoader:
    """Mirrors ``PluginLoader``: loads one file as a module named after its basename."""

    extension = ".py"

    def __init__(self, filepath: str):
        if not os.path.isfile(filepath):
            raise ValueError(f"PluginLoader expects a single filename. '{filepath}' does not "
                             "point to an existing file")
        if not filepath.endswith(self.extension):
            raise ValueError(f"PluginLoader expects a filename ending with .py. '{filepath}' "
                             "does not have a .py extension")
        self._filepath = filepath

    def run(self):
        name = os.path.splitext(os.path.basename(self._filepath))[0]
        return SourceFileLoader(name, self._filepath).load_module()


def get_plugin_paths_as_set(key: str) -> set[str]:
    paths = set(config[key].split(PATH_SEPARATOR))
    paths.discard("")
    return paths


def contains_algorithm(filename: str) -> bool:
    # The real function starts from True and only turns False when the file cannot be read,
    # so every readable .py file counts as a plugin (an __init__.py included).
    try:
        with open(filename, encoding="UTF-8") as handle:
            handle.read(1)
    except Exception:  # noqa: BLE001 - as the original
        return False
    return True


def find_plugins(top_dir: str):
    if not os.path.isdir(top_dir):
        raise ValueError("Cannot search given path for plugins, path is not a directory: "
                         f"'{top_dir}' ")
    all_plugins, algs = [], []
    for root, _dirs, files in os.walk(top_dir):
        for name in files:
            if name.endswith(PluginLoader.extension):
                path = os.path.join(root, name)
                all_plugins.append(path)
                if contains_algorithm(path):
                    algs.append(path)
    return all_plugins, algs


def load(path):
    if isinstance(path, str) and PATH_SEPARATOR in path:
        path = path.split(PATH_SEPARATOR)
    if isinstance(path, list):
        return load_from_list(path)
    if os.path.isfile(path) and path.endswith(PluginLoader.extension):
        return load_from_file(path)
    if os.path.isdir(path):
        return load_from_dir(path)
    raise RuntimeError(f"Unknown type of path found when trying to load plugins: '{path}'")


def load_from_list(paths):
    loaded = []
    for path in paths:
        try:
            loaded += load(path)
        except RuntimeError:
            continue
    return loaded


def load_from_dir(directory):
    plugins, _ = find_plugins(directory)
    loaded = []
    for path in plugins:
        loaded += load(path)
    return loaded


def load_from_file(filepath):
    loaded = []
    try:
        _name, module = load_plugin(filepath)
        loaded.append(module)
    except Exception:  # noqa: BLE001 - the original logs and goes on
        logger.warning(f"Failed to load plugin {filepath}.\nError: {format_exc()}")
    return loaded


def load_plugin(plugin_path):
    module = PluginLoader(plugin_path).run()
    return module.__name__, module


def sync_attrs(source, attrs, clients):
    for name in attrs:
        for plugin in clients:
            if hasattr(plugin, name):
                setattr(plugin, name, source[name])
