"""`python -m tsbrunbook`."""

from .cli import main

raise SystemExit(main())
