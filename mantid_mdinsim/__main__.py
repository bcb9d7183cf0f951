"""``python -m mantid_mdinsim`` runs the ``mdinsim`` command line."""

from .cli import console_main

console_main()
