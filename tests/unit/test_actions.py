"""One action per command (bakery.cli.actions): combined actions and stray options are usage
errors with one line naming them; `invoke builder` goes through it (tests/cli/test_grid.py)."""

from __future__ import annotations

import pytest

from bakery.cli import builder_command
from bakery.cli.actions import one_action, require_action
from bakery.config import settings
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


def test_invoke_builders_flags_choose_one_action_and_set_its_settings():
    assert builder_command.Flags().action() == "create"
    assert builder_command.Flags(prune=True, keep_storage="10GB", filters=("until=24h",)).action() == "--prune"
    with pytest.raises(UsageError, match="--rm and --prune cannot be combined"):
        builder_command.Flags(rm=True, prune=True).action()
    with pytest.raises(UsageError, match="--no-bootstrap applies only to create"):
        builder_command.Flags(status=True, no_bootstrap=True).action()
    assert builder_command.Flags(driver="docker-container", no_bootstrap=True).settings() == {
        "BAKERY_DRIVER": "docker-container",
        "BAKERY_BUILDER": None,
        "BAKERY_BUILDER_SCOPE": None,
        "BAKERY_BOOTSTRAP": "false",
    }


def test_the_chosen_action_runs_on_the_builder():
    docker_driver = settings.load({}, {"BAKERY_DRIVER": "docker"})
    with pytest.raises(UsageError, match="the docker driver's builder is the engine's own"):
        list(builder_command.run(builder_command.Flags(rm=True), "--rm", docker_driver))
