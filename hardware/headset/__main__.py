"""``python -m hardware.headset``: the same as ``centralino headset``."""

import sys

from hardware.headset.cli import main

sys.exit(main())
