"""Which cache scopes baked with shared cache keys on one BuildKit state,
remembered in the engine itself (docs/decisions/one-key-per-step.md).

A claim is a docker volume that holds nothing: its labels name the BuildKit
state (`engine` for the docker driver, whose state is the engine's own;
`builder:<name>` for a docker-container builder, whose state lives in its
container's volume on this engine) and the scope that baked there with shared
keys. A volume is cheap, survives a wiped home directory and a fresh checkout,
and goes with the engine: a new engine (an ephemeral runner) has none. The
decision which keys a run gets is bakery.cache.policy's; this module only
reads and writes the claims, every call through bakery.engine.docker.run.
"""

from __future__ import annotations

import hashlib

from bakery.engine import docker

LABEL = "io.bakery.shared-keys"  # value: the BuildKit state the claim is about
SCOPE_LABEL = "io.bakery.scope"
PREFIX = "bakery-keys-"
ENGINE = "engine"


def state_of(driver: str, builder: str) -> str | None:
    """The BuildKit state a build on `builder` uses, as claims name it; None
    when that state is not on this engine (remote, kubernetes), where no
    claim can be kept."""
    if driver == "docker":
        return ENGINE
    if driver == "docker-container":
        return f"builder:{builder}"
    return None


def volume(state: str, scope: str) -> str:
    """The claim's volume name: one per state and scope, so claiming twice is one volume."""
    return PREFIX + hashlib.sha256(f"{state}\0{scope}".encode()).hexdigest()[:20]


def claimants(state: str) -> set[str]:
    """The scopes that claimed shared keys on this state."""
    listing = docker.run(
        ["volume", "ls", "--filter", f"label={LABEL}={state}", "--format", f'{{{{.Label "{SCOPE_LABEL}"}}}}'],
        quiet=True,
    )
    return {line.strip() for line in listing.stdout.splitlines() if line.strip()}


def claim(state: str, scope: str) -> None:
    """Record that `scope` bakes with shared keys on this state (idempotent:
    `docker volume create` of an existing name succeeds)."""
    docker.run(
        ["volume", "create", "--label", f"{LABEL}={state}", "--label", f"{SCOPE_LABEL}={scope}", volume(state, scope)],
        quiet=True,
    )


def release(state: str, scope: str) -> None:
    """Withdraw a claim this run made and did not use."""
    docker.run(["volume", "rm", "--force", volume(state, scope)], quiet=True)


def forget(state: str) -> list[str]:
    """Remove every claim on this state: only once the state itself is gone
    (an empty build cache, a removed builder). Returns the scopes forgotten."""
    scopes = sorted(claimants(state))
    if scopes:
        docker.run(["volume", "rm", "--force", *(volume(state, scope) for scope in scopes)], quiet=True)
    return scopes
