"""``python -m coursekit.cli``: the same as ``coursekit``."""
import sys

from coursekit.cli import main

sys.exit(main())
