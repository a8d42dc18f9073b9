"""The GitHub Actions events the engine tests and the bench bake as (bakery.cache.policy
decides trust from them): a push to the default branch, and a fork's pull request."""

from __future__ import annotations

TRUSTED = {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main"}


def pull_request(number: int, repository: str, actor: str = "mallory") -> dict[str, str]:
    """A pull request from `actor`'s fork `repository` (owner/name)."""
    return {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_REF": f"refs/pull/{number}/merge",
        "GITHUB_REF_NAME": f"{number}/merge",
        "GITHUB_ACTOR": actor,
        "GITHUB_REPOSITORY": repository,
    }
