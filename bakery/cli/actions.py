"""One action per command: a task whose flags each select what it does (`invoke builder --rm`,
`--prune`, ...) takes at most one of them, and options that only shape one action need it.

Combined actions are refused rather than run in some order: the order would be a rule the
user cannot see (remove, then prune a builder that is gone?), and before this check all but
the first flag were dropped without a word. One line names the flags; exit 2.
"""

from __future__ import annotations

from collections.abc import Mapping

from bakery.errors import UsageError


def _listed(flags: list[str]) -> str:
    return flags[0] if len(flags) == 1 else f"{', '.join(flags[:-1])} and {flags[-1]}"


def one_action(command: str, actions: Mapping[str, object], default: str) -> str:
    """The flag of the one action set in `actions` (flag -> value), or `default` when none is.

    Two or more set is a usage error naming them; values count as set when truthy.
    """
    chosen = [flag for flag, value in actions.items() if value]
    if len(chosen) > 1:
        raise UsageError(
            f"{_listed(chosen)} cannot be combined: {command} does one action at a time; run one {command} per action"
        )
    return chosen[0] if chosen else default


def require_action(chosen: str, options: Mapping[str, tuple[object, str]], default: str) -> None:
    """Each option set (flag -> (value, the one action it shapes)) belongs to the chosen action;
    `default` is the action without a flag."""

    def said(action: str) -> str:
        return f"{action} (no action flag)" if action == default else action

    for flag, (value, action) in options.items():
        if not value or action == chosen:
            continue
        fix = f"add {action} or drop {flag}" if chosen == default else f"drop {flag}"
        raise UsageError(f"{flag} applies only to {said(action)}, not to {said(chosen)}; {fix}")
