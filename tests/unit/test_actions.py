"""One action per command (bakery.cli.actions): combined actions and stray options are usage
errors with one line naming them; `invoke builder` goes through it (tests/cli/test_grid.py)."""

from __future__ import annotations

import pytest

from bakery.cli.actions import one_action, require_action
from bakery.errors import EXIT_USAGE, UsageError

ACTIONS = {"--rm": False, "--status": False, "--prune": False, "--reap": None, "--append": None}


def test_no_action_is_the_default():
    assert one_action("invoke builder", ACTIONS, default="create") == "create"


def test_one_action_is_chosen():
    assert one_action("invoke builder", {**ACTIONS, "--reap": "7d"}, default="create") == "--reap"
    assert one_action("invoke builder", {**ACTIONS, "--prune": True}, default="create") == "--prune"


@pytest.mark.parametrize(
    ("set_", "message"),
    [
        (
            {"--rm": True, "--prune": True},
            "--rm and --prune cannot be combined: invoke builder does one action at a time; "
            "run one invoke builder per action",
        ),
        (
            {"--rm": True, "--status": True, "--append": "tcp://h:1234"},
            "--rm, --status and --append cannot be combined: invoke builder does one action at a time; "
            "run one invoke builder per action",
        ),
    ],
)
def test_two_actions_are_a_usage_error_naming_them(set_: dict[str, object], message: str):
    with pytest.raises(UsageError) as raised:
        one_action("invoke builder", {**ACTIONS, **set_}, default="create")
    assert str(raised.value) == message
    assert raised.value.exit_code == EXIT_USAGE == 2


def test_an_empty_value_is_no_action():
    # invoke passes an option that was not given as None, an empty iterable as []: neither counts.
    assert one_action("invoke builder", {**ACTIONS, "--reap": "", "--append": None}, default="create") == "create"


OPTIONS = {"--keep-storage": ("10GB", "--prune"), "--filter": ([], "--prune"), "--no-bootstrap": (False, "create")}


def test_an_option_of_the_chosen_action_passes():
    # Fails by raising: these options belong to the chosen action.
    require_action("--prune", OPTIONS, default="create")
    require_action("create", {**OPTIONS, "--keep-storage": (None, "--prune"), "--no-bootstrap": (True, "create")},
                   default="create")  # fmt: skip


@pytest.mark.parametrize(
    ("chosen", "options", "message"),
    [
        (
            "create",
            OPTIONS,
            "--keep-storage applies only to --prune, not to create (no action flag); "
            "add --prune or drop --keep-storage",
        ),
        (
            "--rm",
            {"--filter": (["until=1h"], "--prune")},
            "--filter applies only to --prune, not to --rm; drop --filter",
        ),
        (
            "--status",
            {"--no-bootstrap": (True, "create")},
            "--no-bootstrap applies only to create (no action flag), not to --status; drop --no-bootstrap",
        ),
    ],
)
def test_an_option_of_another_action_is_a_usage_error(chosen: str, options: dict, message: str):
    with pytest.raises(UsageError) as raised:
        require_action(chosen, options, default="create")
    assert str(raised.value) == message
