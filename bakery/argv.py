"""Build argv lists from small pieces (never a shell string).

`options(builder="b", print=True, allow=["x", "y"], file=None)` gives
`["--builder", "b", "--print", "--allow", "x", "--allow", "y"]`: None and False
leave an option out, True adds a bare flag, a list repeats the option.
"""

from __future__ import annotations

from collections.abc import Iterable

OptionValue = str | int | bool | None | Iterable[str]


def option(name: str, value: OptionValue) -> list[str]:
    flag = "--" + name.rstrip("_").replace("_", "-")
    if value is None or value is False:
        return []
    if value is True:
        return [flag]
    if isinstance(value, (str, int)):
        return [flag, str(value)]
    return [part for item in value for part in (flag, item)]


def options(**opts: OptionValue) -> list[str]:
    return [part for name, value in opts.items() for part in option(name, value)]
