"""``mdinsim mantid-register``: make the algorithms appear in Mantid Workbench.

Adds the installed plugin folder (``mantid_mdinsim/algorithms``) to
``user.python.plugins.directories`` in the user's Mantid properties file; Mantid loads the four
algorithms (category Simulation) the next time Workbench starts or ``mantid.simpleapi`` is
imported. Running it twice changes nothing; ``--unregister`` removes the folder again.
"""

from __future__ import annotations

import argparse

from .registration import (ALGORITHM_NAMES, PLUGIN_DIRECTORIES_KEY, plugin_directory,
                           register_plugin_directory, unregister_plugin_directory)


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
    result = register_plugin_directory(args.properties_file)
    if result.changed:
        print(f"Added {result.directory} to {PLUGIN_DIRECTORIES_KEY} in "
              f"{result.properties_file}.")
    else:
        print(f"Already registered: {result.directory} is in {PLUGIN_DIRECTORIES_KEY} in "
              f"{result.properties_file}.")
    print(f"Restart Mantid Workbench: {', '.join(ALGORITHM_NAMES)} appear under the "
          "Simulation category. mantid-mdinsim must be installed in the Python environment "
          "Mantid runs (for example: pip install mantid-mdinsim in Mantid's conda "
          "environment).")
    return 0
