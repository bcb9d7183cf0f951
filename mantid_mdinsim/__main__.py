"""``python -m mantid_mdinsim`` runs the ``mdinsim`` command line."""

import sys

from .cli import main

sys.exit(main())
