"""`python -m diagnostics`: the command line for support staff."""

import sys

from diagnostics.cli import main

sys.exit(main())
