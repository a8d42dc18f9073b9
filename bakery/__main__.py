from __future__ import annotations

from bakery.program import main

main()
