"""A custom invoke Program, so the exit codes are ours (issue 3 §7):
a bad flag or unknown task exits 2, not invoke's 1.

`bakery` (console script) and `python -m bakery` run it directly. Under the
stock `invoke` command, tasks.py calls `adopt()`: the task collection loads
before task flags are parsed, so switching the running program's class there
still covers every task-level parse error.
"""

from __future__ import annotations

import sys

import invoke.main
from invoke import Program
from invoke.exceptions import Exit, ParseError

from bakery.errors import EXIT_USAGE


class BakeryProgram(Program):
    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise Exit(f"bakery: usage error: {exc}", code=EXIT_USAGE) from None


def adopt() -> None:
    running = invoke.main.program
    if type(running) is Program:
        running.__class__ = BakeryProgram


def main() -> None:
    from invoke import Collection

    import tasks  # the repository's tasks.py

    program = BakeryProgram(namespace=Collection.from_module(tasks), name="bakery", binary="bakery")
    program.run(sys.argv)
