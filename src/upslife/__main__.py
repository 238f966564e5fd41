"""``python -m upslife``: the same as the ``upslife`` command."""

import sys

from upslife.cli import main

sys.exit(main())
