"""CI proves the README's test command itself: .ci/run ends with it, word for word, and runs
lint before it (no test runs the linters)."""

from __future__ import annotations

from bakery import ROOT

README_TEST_COMMAND = "bash ci/setup.sh && .venv/bin/pytest"


def commands() -> list[str]:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_shows_the_test_command():
    assert README_TEST_COMMAND in (ROOT / "README.md").read_text().splitlines()


def test_ci_ends_with_the_readme_test_command():
    assert commands()[-1] == README_TEST_COMMAND


def test_ci_lints_before_the_tests_and_after_setup():
    steps = commands()
    # The first setup leaves the root image out: the engine reset below would remove it.
    first = "BAKERY_SETUP_ROOT=0 bash ci/setup.sh"
    assert steps.index(first) < steps.index(".venv/bin/nox -s lint") < len(steps) - 1
    assert steps.index(first) < steps.index("docker buildx prune --all --force >/dev/null")
