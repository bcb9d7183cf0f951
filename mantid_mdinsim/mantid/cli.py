"""``mdinsim mantid-register``: make the algorithms appear in Mantid Workbench.

Adds the installed plugin folder (``mantid_mdinsim/algorithms``) to
``user.python.plugins.directories`` in the user's Mantid properties file; Mantid loads the
algorithms (category Simulation) the next time Workbench starts or ``mantid.simpleapi`` is
imported. Running it twice changes nothing; ``--unregister`` removes the folder again. Where
this Python has Mantid, one older than mdinsim needs is refused before anything is written;
where it has none, the command says that Workbench needs mantid-mdinsim in its own Python.
"""

from __future__ import annotations

import argparse

import sys

from ..errors import MdinsimError
from .registration import (ALGORITHM_NAMES, PLUGIN_DIRECTORIES_KEY, mantid_in_this_python,
                           plugin_directory, register_plugin_directory,
                           unregister_plugin_directory)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--unregister", action="store_true",
                        help="remove the mdinsim plugin folder from Mantid's settings instead")
    parser.add_argument("--properties-file", metavar="FILE", default=None,
                        help="Mantid user properties file to edit (default: Mantid's own, "
                             "~/.mantid/Mantid.user.properties on Linux and macOS)")
    parser.add_argument("--print-directory", action="store_true",
                        help="only print the plugin folder (to add it by hand in Workbench: "
                             "File > Manage User Directories > Python Plugin Directories)")


def run(args: argparse.Namespace) -> int:
    if args.print_directory:
        print(plugin_directory())
        return 0
    if args.unregister:
        result = unregister_plugin_directory(args.properties_file)
        action = "Removed" if result.changed else "Not registered:"
        print(f"{action} {result.directory} {'from' if result.changed else 'is not in'} "
              f"{PLUGIN_DIRECTORIES_KEY} in {result.properties_file}")
        return 0
    try:
        # A Mantid too old for the algorithms is refused before its settings are touched.
        version = mantid_in_this_python()
    except MdinsimError as error:
        print(f"Not registered: {error}", file=sys.stderr)
        return 1
    result = register_plugin_directory(args.properties_file)
    if result.changed:
        print(f"Added {result.directory} to {PLUGIN_DIRECTORIES_KEY} in "
              f"{result.properties_file}.")
    else:
        print(f"Already registered: {result.directory} is in {PLUGIN_DIRECTORIES_KEY} in "
              f"{result.properties_file}.")
    print(f"Restart Mantid Workbench: {', '.join(ALGORITHM_NAMES)} appear under the "
          "Simulation category.")
    if version is None:
        print(f"Note: this Python ({sys.executable}) has no Mantid. Workbench loads the "
              "algorithms only if mantid-mdinsim is installed in the Python Mantid runs: in "
              "Mantid's conda environment, 'python -m pip install mantid-mdinsim', then run "
              "'mdinsim mantid-register' there. Otherwise Workbench's Messages show "
              "\"Failed to load plugin ... No module named 'mantid_mdinsim'\".")
    else:
        print(f"Mantid {version} in this Python ({sys.executable}) can run them.")
    return 0
