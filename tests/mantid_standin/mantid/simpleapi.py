"""Stand-in for ``mantid.simpleapi`` (tests only).

Mirrors the start-up of Framework/PythonInterface/mantid/simpleapi.py: the user plugin folders
named in ``user.python.plugins.directories`` are searched with ``plugins.find_plugins``, loaded
with their folders on ``sys.path``, and a function is created for every registered algorithm
(``_create_algorithm_function``). A function sets the keyword arguments as properties, runs the
algorithm with ``setRethrows(True)`` and returns the output workspaces (one, or a tuple).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

from mantid.api import AlgorithmFactory, AlgorithmManager, AnalysisDataService, WorkspaceProperty
from mantid.kernel import Direction, logger
from mantid.kernel import plugins as _plugin_helper


def _create_algorithm_function(name, version, algm_object):
    def algorithm_wrapper(*args, **kwargs):
        algm = AlgorithmManager.create(name, version)
        algm.setRethrows(True)
        for key, value in kwargs.items():
            if value is None:
                continue
            try:
                algm.setProperty(key, value)
            except (RuntimeError, TypeError, ValueError) as error:
                if str(error).startswith("Unknown property search object"):
                    raise TypeError(f"'{key}' is an invalid keyword argument for "
                                    f"{algm.name()}-v{algm.version()}") from None
                raise error.__class__(f'Problem setting "{key}" in {algm.name()}-'
                                      f"v{algm.version()}: {error}") from error
        try:
            algm.execute()
        except RuntimeError as error:
            if error.args and error.args[0] == "Some invalid Properties found":
                raise
            raise RuntimeError(f"{algm.name()}-v{algm.version()}: {error}") from error
        outputs = []
        for prop in algm.getProperties():
            if prop.direction == Direction.Output:
                if isinstance(prop, WorkspaceProperty):
                    if prop.valueAsStr:
                        outputs.append(AnalysisDataService.retrieve(prop.valueAsStr))
                else:
                    outputs.append(prop.value)
        if not outputs:
            return None
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    algorithm_wrapper.__name__ = name
    globals()[name] = algorithm_wrapper
    return algorithm_wrapper


def _translate():
    names = []
    for name, versions in AlgorithmFactory.getRegisteredAlgorithms(True).items():
        algm_object = AlgorithmManager.createUnmanaged(name, max(versions))
        _create_algorithm_function(name, max(versions), algm_object)
        names.append(name)
    return names


@contextmanager
def _update_sys_path(dirs):
    for dir_path in dirs:
        sys.path.append(dir_path)
    try:
        yield
    finally:
        for dir_path in dirs:
            sys.path.remove(dir_path)


_translate()
_user_plugin_dirs = _plugin_helper.get_plugin_paths_as_set("user.python.plugins.directories")
_plugin_files = []
_plugin_dirs = set()
for _directory in _user_plugin_dirs:
    try:
        _found, _ = _plugin_helper.find_plugins(_directory)
    except ValueError as _error:
        logger.warning(f"Error occurred during plugin discovery: {_error}")
        continue
    _plugin_files.extend(_found)
    _plugin_dirs.add(_directory)
with _update_sys_path(_plugin_dirs):
    _plugin_modules = _plugin_helper.load(_plugin_files)
_plugin_attrs = _translate()
_plugin_helper.sync_attrs(globals(), _plugin_attrs, _plugin_modules)
