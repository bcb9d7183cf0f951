"""The Mantid layer: the only place in mantid_mdinsim that imports ``mantid``.

* :mod:`.properties`: Mantid properties (validators, groups, EnabledWhen) from the shared
  parameter definitions, and ``validateInputs`` from the core's validation;
* :mod:`.workspaces`: Spectrum <-> Workspace2D, Table <-> TableWorkspace, WorkspaceGroups;
* :mod:`.progress`: the core's ProgressReporter over ``mantid.api.Progress`` (with Cancel);
* :mod:`.algorithm_base`: the mixin of the algorithms in ``algorithms/``;
* :mod:`.registration` and :mod:`.cli`: ``mdinsim mantid-register`` and :func:`register`.

Importing this package does not import Mantid (the CLI must work without it); the modules that
need Mantid import it themselves.
"""

from .registration import (ALGORITHM_NAMES, plugin_directory, register,  # noqa: F401
                           register_plugin_directory, unregister_plugin_directory)
