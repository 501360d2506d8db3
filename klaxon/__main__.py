"""`python -m klaxon`: the same as the `klaxon` console script."""

from klaxon.cli import main

raise SystemExit(main())
