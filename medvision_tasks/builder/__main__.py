"""``python -m medvision_tasks.builder MANIFEST --out DIR``: the same as ``medvision-tasks prepare``."""

import sys

from medvision_tasks.builder.cli import main

sys.exit(main())
