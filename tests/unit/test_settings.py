"""Unit tests for bakery.config.settings: layering, validation and misspellings.

Every test passes its own environment (the `environ` argument, or
monkeypatch) and its own .env file (BAKERY_DOTENV); nothing depends on the
machine's environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bakery.config import settings
from bakery.config.variables import tree_variables
from bakery.errors import EXIT_USAGE, UsageError
from tests.conftest import DEFAULT_VECTOR
from tests.support.settings import load

DEFAULT = DEFAULT_VECTOR  # tests/conftest.py: written out once


@pytest.fixture
def dotenv(tmp_path: Path):
    """Write a .env file and return the environment that points at it."""

    def make(text: str = "", **environ: str) -> dict[str, str]:
        path = tmp_path / "test.env"
        path.write_text(text)
        return {"BAKERY_DOTENV": str(path), **environ}

    return make


def usage_error(flags=None, **environ: str) -> str:
    with pytest.raises(UsageError) as info:
        load(flags, **environ)
    assert info.value.exit_code == EXIT_USAGE
    message = str(info.value)
    assert "\n" not in message
    return message


# --- precedence: defaults < .env < environment < flags ---------------------------


def test_plain_setting_default(dotenv):
    assert settings.load({}, dotenv("")).run_dir_name == "runs"


def test_plain_setting_dotenv_over_default(dotenv):
    assert settings.load({}, dotenv("BAKERY_RUN_DIR=from-dotenv\n")).run_dir_name == "from-dotenv"


def test_plain_setting_environment_over_dotenv(dotenv):
    env = dotenv("BAKERY_RUN_DIR=from-dotenv\n", BAKERY_RUN_DIR="from-env")
    assert settings.load({}, env).run_dir_name == "from-env"


def test_plain_setting_flag_over_environment(dotenv):
    env = dotenv("BAKERY_RUN_DIR=from-dotenv\n", BAKERY_RUN_DIR="from-env")
    assert settings.load({"BAKERY_RUN_DIR": "from-flag"}, env).run_dir_name == "from-flag"


def test_a_flag_of_none_means_not_given(dotenv):
    env = dotenv("", BAKERY_RUN_DIR="from-env")
    assert settings.load({"BAKERY_RUN_DIR": None}, env).run_dir_name == "from-env"


def test_axis_default_is_the_default_vector(dotenv):
    loaded = settings.load({}, dotenv(""))
    assert loaded.choices == {}
    assert [v.as_dict() for v in loaded.vectors()] == [DEFAULT]


def test_axis_dotenv_over_default(dotenv):
    loaded = settings.load({}, dotenv("feat_set=none\n"))
    assert loaded.choices == {"feat_set": ("none",)}
    assert [v.as_dict() for v in loaded.vectors()] == [{**DEFAULT, "feat_set": "none"}]


def test_axis_environment_over_dotenv(dotenv):
    loaded = settings.load({}, dotenv("feat_set=none\n", feat_set="all"))
    assert loaded.choices == {"feat_set": ("all",)}


def test_axis_flag_over_environment(dotenv):
    loaded = settings.load({"feat_set": "default"}, dotenv("feat_set=none\n", feat_set="all"))
    assert loaded.choices == {"feat_set": ("default",)}


def test_axis_plural_in_environment_over_plural_in_dotenv(dotenv):
    loaded = settings.load({}, dotenv('feat_sets=["none"]\n', feat_sets='["all", "none"]'))
    assert loaded.choices == {"feat_set": ("all", "none")}


def test_axis_flag_takes_commas_or_a_json_array(dotenv):
    assert settings.load({"feat_set": "none, all"}, dotenv("")).choices == {"feat_set": ("none", "all")}
    assert settings.load({"feat_set": '["all"]'}, dotenv("")).choices == {"feat_set": ("all",)}


def test_repeated_values_count_once():
    assert load(feat_sets='["all", "all", "none"]').choices == {"feat_set": ("all", "none")}


def test_plural_selects_a_cross_product():
    loaded = load(feat_sets='["none", "all"]', cargo_profiles='["test"]')
    assert [v.as_dict() for v in loaded.vectors()] == [
        {**DEFAULT, "cargo_profile": "test", "feat_set": "none"},
        {**DEFAULT, "cargo_profile": "test", "feat_set": "all"},
    ]


def test_vectors_from_the_active_matrix_filtered_by_choices():
    loaded = load(BAKERY_MATRIX="ci", cargo_profile="test", rust_toolchain="stable")
    assert [v.as_dict() for v in loaded.vectors(use_matrix=True)] == [
        {**DEFAULT, "cargo_profile": "test", "rust_toolchain": "stable", "feat_set": "default"},
        {**DEFAULT, "cargo_profile": "test", "rust_toolchain": "stable", "feat_set": "all"},
    ]


def test_the_process_environment_is_read_when_none_is_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("BAKERY_DOTENV", str(tmp_path / "none.env"))
    monkeypatch.setenv("BAKERY_GC_KEEP", "48h")
    monkeypatch.setenv("sys_version", "bookworm-slim")
    loaded = settings.load({})
    assert loaded.gc_keep == "48h"
    assert loaded.choices == {"sys_version": ("bookworm-slim",)}


# --- validation --------------------------------------------------------------------


def test_singular_and_plural_both_set_is_an_error():
    message = usage_error(feat_set="none", feat_sets='["all"]')
    assert message == "both feat_set and feat_sets are set; set one: feat_set=VALUE or feat_sets='[...]'"


def test_singular_and_plural_from_different_layers_is_also_an_error(dotenv):
    with pytest.raises(UsageError, match=r"both cargo_profile and cargo_profiles are set"):
        settings.load({}, dotenv("cargo_profile=test\n", cargo_profiles='["release"]'))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[none", "feat_sets='[none' is not valid JSON"),
        ("none", "feat_sets='none' is not valid JSON"),
        ('{"a": 1}', """feat_sets='{"a": 1}' is not a JSON array of strings"""),
        ('"none"', """feat_sets='"none"' is not a JSON array of strings"""),
        ("[1, 2]", "feat_sets='[1, 2]' is not a JSON array of strings"),
        ('[["none"]]', "is not a JSON array of strings"),
        ("[null]", "is not a JSON array of strings"),
        ("[]", "feat_sets: an empty list selects nothing; allowed: one of none, default, all"),
        ('[""]', "feat_sets: '' is not a valid feat_set"),
        ('["none", "bogus"]', "feat_sets: 'bogus' is not a valid feat_set"),
    ],
)
def test_bad_plural_json(raw: str, expected: str):
    assert expected in usage_error(feat_sets=raw)


@pytest.mark.parametrize("raw", ["true", "false", "1", "0"])
def test_booleans_accept_true_false_1_0(raw: str):
    assert load(CI=raw).ci is (raw in ("true", "1"))


@pytest.mark.parametrize("raw", ["yes", "no", "on", "2", "maybe", " true", "truee"])
def test_booleans_refuse_anything_else(raw: str):
    message = usage_error(NO_BAKE=raw)
    assert message == f"NO_BAKE={raw!r} is not a boolean; allowed: true, false, 1, 0"


@pytest.mark.parametrize("raw", ["TRUE", "True", "FALSE"])
def test_booleans_are_case_sensitive(raw: str):
    usage_error(CI_SILENT_BAKE=raw)


def test_bad_boolean_flag_names_the_flag():
    assert usage_error({"BAKERY_BOOTSTRAP": "yes"}) == (
        "--bootstrap='yes' is not a boolean; allowed: true, false, 1, 0"
    )


def test_choice_and_number_settings():
    assert usage_error(BAKERY_DRIVER="podman") == (
        "BAKERY_DRIVER='podman' is not allowed; allowed: docker, docker-container, remote, kubernetes"
    )
    assert usage_error(BAKERY_BUILDER_SCOPE="team") == (
        "BAKERY_BUILDER_SCOPE='team' is not allowed; allowed: actor, branch, runner"
    )
    assert usage_error(BAKERY_LOCK_TIMEOUT="-1") == "BAKERY_LOCK_TIMEOUT='-1' is not a whole number"
    assert usage_error(BAKERY_MIN_FREE_GB="lots") == "BAKERY_MIN_FREE_GB='lots' is not a whole number"


def test_list_settings_must_be_json_arrays_of_strings():
    assert "BAKERY_SECRETS='id=gh' is not valid JSON" in usage_error(BAKERY_SECRETS="id=gh")
    assert usage_error(BAKERY_DRIVER_OPTS="[1]") == "BAKERY_DRIVER_OPTS='[1]' is not a JSON array of strings"
    assert load(BAKERY_SSH='["default", "gh=/tmp/key"]').ssh == ("default", "gh=/tmp/key")


def test_a_newline_in_a_string_setting_is_refused():
    assert usage_error(GITHUB_ACTOR="a\nb") == "GITHUB_ACTOR contains a newline or NUL byte; give one line"


def test_axis_values_are_checked_in_every_layer(dotenv):
    with pytest.raises(UsageError, match=r"^feat_set: 'a;rm -rf /' is not a valid feat_set"):
        settings.load({}, dotenv("feat_set=a;rm -rf /\n"))
    with pytest.raises(UsageError, match=r"^cargo_profile: '\$\(id\)' is not a valid cargo_profile"):
        load(cargo_profile="$(id)")
    with pytest.raises(UsageError, match=r"^--sys-name: '`id`' is not a valid sys_name"):
        load({"sys_name": "`id`"})


def test_long_values_are_shortened_in_messages():
    assert usage_error(BAKERY_DRIVER="d" * 300) == (
        "BAKERY_DRIVER='" + "d" * 56 + "... is not allowed; allowed: docker, docker-container, remote, kubernetes"
    )


# --- misspellings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "suggestion"),
    [
        ("feat_sets_", '["none"]', "feat_sets"),
        ("rust_toolchians", '["stable"]', "rust_toolchains"),
        ("cargo_profil", "test", "cargo_profile"),
        ("CI_VERBOS", "1", "CI_VERBOSE"),
        ("CI_PRINT_BAKES", "1", "CI_PRINT_BAKE"),
        ("BAKERY_MATRX", "ci", "BAKERY_MATRIX"),
        ("BAKERY_RUNDIR", "x", "BAKERY_RUN_DIR"),
    ],
)
def test_misspelt_variable_in_environment(name: str, value: str, suggestion: str):
    assert usage_error(**{name: value}) == f"environment: unknown variable {name}; did you mean {suggestion}?"


@pytest.mark.parametrize(
    ("line", "name", "suggestion"),
    [
        ('feat_sets_=["none"]', "feat_sets_", "feat_sets"),
        ('rust_toolchians=["stable"]', "rust_toolchians", "rust_toolchains"),
        ("CI_VERBOS=1", "CI_VERBOS", "CI_VERBOSE"),
        ("BAKERY_MATRX=ci", "BAKERY_MATRX", "BAKERY_MATRIX"),
    ],
)
def test_misspelt_variable_in_dotenv(dotenv, line: str, name: str, suggestion: str):
    env = dotenv(line + "\n")
    with pytest.raises(UsageError) as info:
        settings.load({}, env)
    assert str(info.value) == f"{env['BAKERY_DOTENV']}: unknown variable {name}; did you mean {suggestion}?"


@pytest.mark.parametrize(
    "name",
    # COMPLEMENT_CA is one of Complement's own variables, passed to the tester.
    [
        "PATH",
        "HOME",
        "GITHUB_ACTION",
        "GITHUB_SHA",
        "RUNNER_OS",
        "http_proxy",
        "CI_COMMIT_SHA",
        "COMPLEMENT_CA",
    ],
)
def test_unrelated_names_are_ignored(name: str):
    loaded = load(**{name: "/some/value"})
    assert loaded.choices == {}
    assert loaded.matrix == "default"


# --- one declaration per setting ------------------------------------------------------


def test_settings_are_typed_attributes_with_their_declared_defaults():
    loaded = load()
    assert loaded.min_free_gb == 5 and loaded.lock_timeout == 300
    assert loaded.bootstrap is True and loaded.ci is False
    assert loaded.gc_filters == ("label!=cache==pin",)
    assert loaded.driver == "docker" and loaded.default_branch == "main"


def test_values_are_converted_once_where_they_are_read():
    loaded = load(BAKERY_MIN_FREE_GB="12", BAKERY_LOCK_TIMEOUT="3", CI="1", BAKERY_SSH='["default"]')
    assert (loaded.min_free_gb, loaded.lock_timeout, loaded.ci, loaded.ssh) == (12, 3, True, ("default",))


def test_settings_are_frozen():
    loaded = load()
    with pytest.raises(AttributeError):
        loaded.driver = "remote"  # type: ignore[misc]


def test_every_tree_variable_is_declared_once_with_help_and_pattern():
    variables = tree_variables()
    assert list(variables)[:4] == ["project_name", "bin_name", "source_location", "git_checkout"]
    assert variables["smoke_timeout"].range == (1, 3600)
    assert variables["feat_set_cargo_args"].default == (
        '{"none":"--no-default-features","default":"","all":"--all-features"}'
    )
    assert all(v.help and v.pattern for v in variables.values())
