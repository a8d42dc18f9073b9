from __future__ import annotations

from bakery.cli.program import main

main()
