"""`python -m tsbrunbook`."""

from .entry import main

raise SystemExit(main())
