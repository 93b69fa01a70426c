"""python -m scripts.live_check: see scripts/live-check."""

from .cli import main

raise SystemExit(main())
