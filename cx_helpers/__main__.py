"""``python -m cx_helpers``: the ``cx`` command line."""

from cx_helpers.cli import main

raise SystemExit(main())
