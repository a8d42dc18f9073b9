"""`invoke builder`: its flags, the one action they choose (bakery/cli/actions.py), the settings
they set, and that action run on the persistent builder (bakery/engine/builder.py) or the
scoped ones (bakery/engine/reaper.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bakery.cli.actions import one_action, require_action
from bakery.config.settings import Settings
from bakery.engine import builder, reaper
from bakery.tree import bakefile

CREATE = "create"


@dataclass(frozen=True)
class Flags:
    """What `invoke builder` was given; None or False where a flag was not."""

    driver: str | None = None
    name: str | None = None
    scope: str | None = None
    rm: bool = False
    status: bool = False
    prune: bool = False
    prune_all: bool = False
    reap: str | None = None
    keep_storage: str | None = None
    filters: Sequence[str] = ()
    append: str | None = None
    no_bootstrap: bool = False

    def action(self) -> str:
        """The one action flag given, else `create`; a usage error for two, or for an option
        of another action."""
        chosen = one_action(
            "invoke builder",
            {
                "--rm": self.rm,
                "--status": self.status,
                "--prune": self.prune,
                "--reap": self.reap,
                "--append": self.append,
            },
            default=CREATE,
        )
        require_action(
            chosen,
            {
                "--keep-storage": (self.keep_storage, "--prune"),
                "--filter": (self.filters, "--prune"),
                "--prune-all": (self.prune_all, "--prune"),
                "--no-bootstrap": (self.no_bootstrap, CREATE),
            },
            default=CREATE,
        )
        return chosen

    def settings(self) -> dict[str, str | None]:
        """The settings these flags set (None: not given)."""
        return {
            "BAKERY_DRIVER": self.driver,
            "BAKERY_BUILDER": self.name,
            "BAKERY_BUILDER_SCOPE": self.scope,
            "BAKERY_BOOTSTRAP": "false" if self.no_bootstrap else None,
        }


def run(flags: Flags, action: str, settings: Settings) -> Iterator[str]:
    """Run `action` (from Flags.action); the lines to print, as they come."""
    if action == "--rm":
        yield builder.remove(settings)
    elif action == "--reap":
        reaper.reap(reaper.parse_age(str(flags.reap)), keep=[builder.name(settings)])
    elif action == "--prune":
        yield builder.prune(settings, flags.keep_storage, tuple(flags.filters), everything=flags.prune_all)
    elif action == "--append":
        yield builder.append(settings, str(flags.append))
    elif action == "--status":
        yield "\n".join(builder.status_lines(settings))
    else:
        yield from builder.ensure(settings, bakefile.tree_entitlements(settings), settings.run_dir / "builders")
