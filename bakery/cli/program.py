"""A custom invoke Program, so the exit codes and the command lines are ours
(docs/exit-codes.md): a bad flag or unknown task exits 2, not invoke's 1, and
`invoke bake [TARGET...]` takes its targets as an optional positional.

`bakery` (console script) and `python -m bakery` run it directly. Under the
stock `invoke` command, tasks.py calls `adopt()`: the task collection loads
before task flags are parsed, so switching the running program's class there
still covers every task-level parse.
"""

from __future__ import annotations

import sys

import invoke.main
from invoke import Program
from invoke.exceptions import Exit, ParseError

from bakery.cli.common import definition_error, exit_for, exit_now, guard
from bakery.errors import EnvironmentNotReady, UsageError

# Tasks whose first positional may be left out (invoke makes positionals required).
OPTIONAL_POSITIONAL = {"bake", "plan", "complement", "explain"}
_HELP = ("-h", "--help")
# Tasks that take any number of positional words (`invoke explain [RUN] [TARGET ...]`):
# invoke takes one positional, so the words are joined into it, comma-separated.
GATHERED = {"explain": ("--against", "--format")}


def gather(tokens: list[str]) -> list[str]:
    """`explain RUN T1 T2 --against X` -> `explain --against X RUN,T1,T2`."""
    if not tokens or tokens[0] not in GATHERED:
        return tokens
    valued = GATHERED[tokens[0]]
    flags: list[str] = []
    words: list[str] = []
    rest = iter(tokens[1:])
    for token in rest:
        if token in valued:
            flags += [token, next(rest, "")]
        elif token.startswith("-"):
            flags.append(token)
        else:
            words.append(token)
    return [tokens[0], *flags, *([",".join(words)] if words else [])]


class BakeryProgram(Program):
    def parse_tasks(self) -> None:
        # tasks.py is loaded by now (the stock `invoke` adopts this class while
        # importing it): a broken matrix.toml ends every command here, before
        # `--list` or any task.
        failed = definition_error()
        if failed is not None:
            raise exit_for(failed)
        tokens = gather(list(self.core.unparsed))
        self.core.unparsed = list(tokens)
        # `invoke bake --help`: invoke would take --help as the missing target.
        if len(tokens) >= 2 and tokens[0] in OPTIONAL_POSITIONAL and tokens[-1] in _HELP:
            self.core.unparsed = [tokens[0], ""]
            super().parse_tasks()  # sets up the parser that help reads
            self.print_task_help(tokens[0])
            raise Exit(code=0)
        try:
            super().parse_tasks()
        except ParseError as exc:
            context = getattr(exc, "context", None)
            missing = "did not receive required positional arguments" in str(exc)
            if missing and context is not None and context.name in OPTIONAL_POSITIONAL:
                # No targets given: parse again with an empty positional (= the default group).
                self.core.unparsed = [*tokens, ""]
                try:
                    super().parse_tasks()
                    return
                except ParseError as again:
                    exc = again
            raise exit_for(UsageError(str(exc))) from None

    def execute(self) -> None:
        """Every task runs inside one guard: how it ends maps to an exit code
        in one function (exit_for), whichever task it is."""
        with guard():
            super().execute()


def adopt() -> None:
    running = invoke.main.program
    if type(running) is Program:
        running.__class__ = BakeryProgram


def main() -> None:
    import importlib.util

    from invoke import Collection

    from bakery import ROOT

    # tasks.py lives in the checkout, not in the package.
    spec = importlib.util.spec_from_file_location("tasks", ROOT / "tasks.py")
    if spec is None or spec.loader is None:
        exit_now(EnvironmentNotReady(f"{ROOT / 'tasks.py'} not found; run bakery from its checkout"))
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    program = BakeryProgram(namespace=Collection.from_module(tasks), name="bakery", binary="bakery")
    program.run(sys.argv)
