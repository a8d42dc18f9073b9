"""Unit tests for bakery.config.matrix: GitHub Actions expansion, cross products,
cross-product blocks, axis validation and names.

Every expected vector list is written out by hand; nothing expected is
computed with bakery's own code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bakery.config.matrix import Axis, Definition, MatrixSpec, Vector, blocks, cross, expand, load, name_safe
from bakery.errors import EXIT_USAGE, UsageError
from tests.conftest import DEFAULT_VECTOR

DEFAULT = DEFAULT_VECTOR  # tests/conftest.py: written out once

# A small definition for GitHub Actions semantics.
FRUIT = Axis("fruit", "a fruit", "apple", values=("apple", "pear", "banana"))
ANIMAL = Axis("animal", "an animal", "cat", values=("cat", "dog", "bird"))
SIZE = Axis("size", "a size", "m", pattern=re.compile(r"^[sml]$"))
GH = Definition((FRUIT, ANIMAL, SIZE))


def rows(vectors: list[Vector]) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(axis values, extras) per vector, as plain dicts."""
    return [(v.as_dict(), dict(v.extras)) for v in vectors]


def gh(values: dict[str, tuple[str, ...]], exclude=(), include=()) -> MatrixSpec:
    return MatrixSpec("gh", values, tuple(exclude), tuple(include))


FRUIT_ANIMAL = {"fruit": ("apple", "pear"), "animal": ("cat", "dog")}


# --- expansion: GitHub Actions semantics -------------------------------------


def test_cross_product_first_key_varies_slowest():
    assert rows(expand(GH, gh(FRUIT_ANIMAL))) == [
        ({"fruit": "apple", "animal": "cat", "size": "m"}, {}),
        ({"fruit": "apple", "animal": "dog", "size": "m"}, {}),
        ({"fruit": "pear", "animal": "cat", "size": "m"}, {}),
        ({"fruit": "pear", "animal": "dog", "size": "m"}, {}),
    ]


def test_key_order_of_the_matrix_not_axis_order_decides_nesting():
    spec = gh({"animal": ("cat", "dog"), "fruit": ("apple", "pear")})
    assert [v.as_dict() for v in expand(GH, spec)] == [
        {"fruit": "apple", "animal": "cat", "size": "m"},
        {"fruit": "pear", "animal": "cat", "size": "m"},
        {"fruit": "apple", "animal": "dog", "size": "m"},
        {"fruit": "pear", "animal": "dog", "size": "m"},
    ]


def test_exclude_with_a_partial_match_drops_every_matching_combination():
    spec = gh(FRUIT_ANIMAL, exclude=[{"fruit": "apple"}])
    assert rows(expand(GH, spec)) == [
        ({"fruit": "pear", "animal": "cat", "size": "m"}, {}),
        ({"fruit": "pear", "animal": "dog", "size": "m"}, {}),
    ]


def test_exclude_with_a_full_match_drops_one_combination():
    spec = gh(FRUIT_ANIMAL, exclude=[{"fruit": "pear", "animal": "cat"}])
    assert [v.as_dict() for v in expand(GH, spec)] == [
        {"fruit": "apple", "animal": "cat", "size": "m"},
        {"fruit": "apple", "animal": "dog", "size": "m"},
        {"fruit": "pear", "animal": "dog", "size": "m"},
    ]


def test_github_documentation_example_for_include():
    """The example in GitHub's "Expanding or adding matrix configurations"."""
    spec = gh(
        FRUIT_ANIMAL,
        include=[
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    )
    assert rows(expand(GH, spec)) == [
        ({"fruit": "apple", "animal": "cat", "size": "m"}, {"color": "pink", "shape": "circle"}),
        ({"fruit": "apple", "animal": "dog", "size": "m"}, {"color": "green", "shape": "circle"}),
        ({"fruit": "pear", "animal": "cat", "size": "m"}, {"color": "pink"}),
        ({"fruit": "pear", "animal": "dog", "size": "m"}, {"color": "green"}),
        # fits no original combination: appended; the unlisted animal takes the default
        ({"fruit": "banana", "animal": "cat", "size": "m"}, {}),
        ({"fruit": "banana", "animal": "cat", "size": "m"}, {}),
    ]


def test_include_never_overwrites_an_original_value():
    # animal=bird would overwrite the original animal of every apple combination,
    # so it is added to none of them and becomes a combination of its own.
    spec = gh(FRUIT_ANIMAL, include=[{"fruit": "apple", "animal": "bird", "shape": "square"}])
    assert rows(expand(GH, spec)) == [
        ({"fruit": "apple", "animal": "cat", "size": "m"}, {}),
        ({"fruit": "apple", "animal": "dog", "size": "m"}, {}),
        ({"fruit": "pear", "animal": "cat", "size": "m"}, {}),
        ({"fruit": "pear", "animal": "dog", "size": "m"}, {}),
        ({"fruit": "apple", "animal": "bird", "size": "m"}, {"shape": "square"}),
    ]


def test_later_include_overwrites_a_key_an_earlier_include_added():
    spec = gh(FRUIT_ANIMAL, include=[{"color": "green"}, {"animal": "dog", "color": "blue"}])
    assert rows(expand(GH, spec)) == [
        ({"fruit": "apple", "animal": "cat", "size": "m"}, {"color": "green"}),
        ({"fruit": "apple", "animal": "dog", "size": "m"}, {"color": "blue"}),
        ({"fruit": "pear", "animal": "cat", "size": "m"}, {"color": "green"}),
        ({"fruit": "pear", "animal": "dog", "size": "m"}, {"color": "blue"}),
    ]


def test_include_of_an_unlisted_axis_sets_that_axis_not_an_extra():
    spec = gh({"fruit": ("apple", "pear")}, include=[{"fruit": "pear", "size": "l"}])
    assert rows(expand(GH, spec)) == [
        ({"fruit": "apple", "animal": "cat", "size": "m"}, {}),
        ({"fruit": "pear", "animal": "cat", "size": "l"}, {}),
    ]


def test_include_can_bring_back_an_excluded_combination_at_the_end():
    spec = gh(
        FRUIT_ANIMAL,
        exclude=[{"fruit": "apple", "animal": "cat"}],
        include=[{"fruit": "apple", "animal": "cat", "machine": "big"}],
    )
    assert rows(expand(GH, spec)) == [
        ({"fruit": "apple", "animal": "dog", "size": "m"}, {}),
        ({"fruit": "pear", "animal": "cat", "size": "m"}, {}),
        ({"fruit": "pear", "animal": "dog", "size": "m"}, {}),
        ({"fruit": "apple", "animal": "cat", "size": "m"}, {"machine": "big"}),
    ]


def test_expansion_validates_every_value():
    spec = gh({"fruit": ("apple", "kiwi")})
    with pytest.raises(UsageError, match=r"'kiwi' is not a valid fruit"):
        expand(GH, spec)


# --- the real definition: docker/matrix.toml ---------------------------------


def test_default_matrix_expands_to_three_vectors():
    definition = load()
    assert [v.as_dict() for v in definition.expand(definition.matrix("default"))] == [
        {**DEFAULT, "feat_set": "none"},
        {**DEFAULT, "feat_set": "default"},
        {**DEFAULT, "feat_set": "all"},
    ]


def _ci(profile: str, feat: str, toolchain: str) -> dict[str, str]:
    return {**DEFAULT, "cargo_profile": profile, "feat_set": feat, "rust_toolchain": toolchain}


CI_VECTORS = [
    _ci("test", "none", "nightly"),
    # test/none/stable is the excluded one
    _ci("test", "default", "nightly"),
    _ci("test", "default", "stable"),
    _ci("test", "all", "nightly"),
    _ci("test", "all", "stable"),
    _ci("release", "none", "nightly"),
    _ci("release", "none", "stable"),
    _ci("release", "default", "nightly"),
    _ci("release", "default", "stable"),
    _ci("release", "all", "nightly"),
    _ci("release", "all", "stable"),
]


def test_ci_matrix_expands_to_eleven_vectors_in_order():
    definition = load()
    vectors = definition.expand(definition.matrix("ci"))
    assert [v.as_dict() for v in vectors] == CI_VECTORS
    assert all(v.extras == () for v in vectors)


def test_default_vector_of_the_definition():
    assert load().default_vector().as_dict() == DEFAULT


def test_unknown_matrix_and_unknown_axis_are_usage_errors():
    definition = load()
    with pytest.raises(UsageError, match=r"matrix 'nope' is not defined; defined: default, ci") as info:
        definition.matrix("nope")
    assert info.value.exit_code == EXIT_USAGE
    with pytest.raises(UsageError, match=r"unknown axis 'colour'"):
        definition.vector({"colour": "red"})


def test_a_definition_whose_default_breaks_its_pattern_is_refused(tmp_path: Path):
    path = tmp_path / "matrix.toml"
    path.write_text('[axes.cargo_profile]\ndescription = "p"\npattern = "^[a-z]+$"\ndefault = "Release"\n')
    with pytest.raises(UsageError, match=r"matrix.toml default: 'Release' is not a valid cargo_profile"):
        load(path)


def test_an_unreadable_definition_is_a_usage_error(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text("[axes\n")
    with pytest.raises(UsageError, match=r"cannot read the matrix definition"):
        load(path)


# --- cross --------------------------------------------------------------------


def test_cross_of_choices_in_axis_order_with_defaults_elsewhere():
    vectors = cross(load(), {"feat_set": ["none", "all"], "cargo_profile": ["test", "release"]})
    assert [v.as_dict() for v in vectors] == [
        {**DEFAULT, "cargo_profile": "test", "feat_set": "none"},
        {**DEFAULT, "cargo_profile": "test", "feat_set": "all"},
        {**DEFAULT, "cargo_profile": "release", "feat_set": "none"},
        {**DEFAULT, "cargo_profile": "release", "feat_set": "all"},
    ]


def test_cross_without_choices_is_the_default_vector():
    assert [v.as_dict() for v in cross(load(), {})] == [DEFAULT]


# --- blocks ---------------------------------------------------------------------


def vec(**values: str) -> Vector:
    return Vector(tuple(values.items()))


def test_a_full_product_is_one_block():
    vectors = [vec(x="1", y="a"), vec(x="1", y="b"), vec(x="2", y="a"), vec(x="2", y="b")]
    assert blocks(vectors, ["x", "y"]) == [{"x": ("1", "2"), "y": ("a", "b")}]


def test_duplicates_count_once_and_nothing_gives_no_block():
    assert blocks([vec(x="1", y="a"), vec(x="1", y="a")], ["x", "y"]) == [{"x": ("1",), "y": ("a",)}]
    assert blocks([], ["x", "y"]) == []


def test_worst_case_is_one_block_per_vector():
    vectors = [vec(x="1", y="a"), vec(x="2", y="b"), vec(x="3", y="c")]
    found = blocks(vectors, ["x", "y"])
    assert sorted(found, key=lambda b: b["x"]) == [
        {"x": ("1",), "y": ("a",)},
        {"x": ("2",), "y": ("b",)},
        {"x": ("3",), "y": ("c",)},
    ]


def _frozen(block: dict[str, tuple[str, ...]]) -> frozenset:
    return frozenset((axis, frozenset(values)) for axis, values in block.items())


def test_ci_matrix_splits_into_three_full_product_blocks():
    definition = load()
    found = blocks(definition.expand(definition.matrix("ci")), definition.names)
    sys_part = {
        "rust_target": ("x86_64-unknown-linux-gnu",),
        "sys_name": ("debian",),
        "sys_version": ("testing-slim",),
        "sys_target": ("x86_64-v1-linux-gnu",),
    }
    # Worked out by hand: 11 vectors cannot be two products (no 2-block split
    # of 11 exists here); three are needed.
    expected = [
        {"cargo_profile": ("test",), "rust_toolchain": ("nightly",), "feat_set": ("none", "default", "all")},
        {"cargo_profile": ("test",), "rust_toolchain": ("stable",), "feat_set": ("default", "all")},
        {
            "cargo_profile": ("release",),
            "rust_toolchain": ("nightly", "stable"),
            "feat_set": ("none", "default", "all"),
        },
    ]
    assert {_frozen(b) for b in found} == {_frozen({**e, **sys_part}) for e in expected}
    assert len(found) == 3


def test_ci_blocks_cover_exactly_the_eleven_vectors_without_overlap():
    definition = load()
    names = definition.names
    cells: list[tuple[str, ...]] = []
    for block in blocks(definition.expand(definition.matrix("ci")), names):
        sizes = [len(block[a]) for a in names]
        product = 1
        for size in sizes:
            product *= size
        block_cells = [
            (p, t, r, f, n, v, s)
            for p in block["cargo_profile"]
            for t in block["rust_toolchain"]
            for r in block["rust_target"]
            for f in block["feat_set"]
            for n in block["sys_name"]
            for v in block["sys_version"]
            for s in block["sys_target"]
        ]
        assert len(block_cells) == product
        cells += block_cells
    expected = {tuple(v[a] for a in names) for v in CI_VECTORS}
    assert len(cells) == 11  # no vector in two blocks
    assert set(cells) == expected
    assert (
        "test",
        "stable",
        "x86_64-unknown-linux-gnu",
        "none",
        "debian",
        "testing-slim",
        "x86_64-v1-linux-gnu",
    ) not in (set(cells))


# --- Axis.check -------------------------------------------------------------------


def axis(name: str) -> Axis:
    return load().axis(name)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cargo_profile", "release"),
        ("cargo_profile", "my-profile_2"),
        ("rust_toolchain", "distro"),
        ("rust_toolchain", "1.97"),
        ("rust_toolchain", "1.97.1"),
        ("rust_toolchain", "nightly-2025-01-31"),
        ("feat_set", "all"),
        ("sys_version", "bookworm-slim"),
        ("sys_version", "12.5"),
        ("sys_target", "aarch64-v8-linux-gnu"),
        # General target triples and other distributions.
        ("sys_target", "x86_64-linux-gnu"),
        ("sys_target", "x86_64-v3-linux-gnu"),
        ("sys_target", "aarch64-linux-gnu"),
        ("sys_target", "x86_64-linux-musl"),
        ("sys_target", "riscv64-linux-gnu"),
        ("sys_target", "armv7-linux-gnueabihf"),
        ("sys_name", "ubuntu"),
        ("sys_version", "24.04"),
        ("sys_name", "alpine"),
        ("sys_version", "3.20"),
        ("sys_name", "fedora"),
        ("sys_version", "40"),
        ("rust_target", "aarch64-unknown-linux-musl"),
    ],
)
def test_axis_check_accepts(name: str, value: str):
    assert axis(name).check(value, "test") == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("cargo_profile", "a--b"),  # our separator
        ("cargo_profile", "Release"),  # uppercase
        ("cargo_profile", ""),
        ("cargo_profile", "-release"),
        ("cargo_profile", "rel ease"),
        ("cargo_profile", "a;rm -rf /"),
        ("cargo_profile", "$(id)"),
        ("cargo_profile", "`id`"),
        ("cargo_profile", "rel\nease"),
        ("rust_toolchain", "1.97;id"),
        ("rust_toolchain", "Nightly"),
        ("rust_toolchain", "nightly-2025-1-31"),
        ("feat_set", "some"),
        ("feat_set", "a|b"),
        ("sys_target", "x86_64-v5-linux-gnu"),
        ("sys_target", "mips64-linux-gnu"),  # no platform mapping: never linux/amd64
        ("sys_target", "riscv64-v2-linux-gnu"),
        ("sys_target", "x86_64-windows-msvc"),
        ("sys_target", "x86_64--linux-gnu"),
        ("sys_name", "debian:latest"),
        ("sys_name", "ghcr.io/x/debian"),
        ("sys_name", "\udcff"),  # a non-UTF-8 byte from the environment
    ],
)
def test_axis_check_refuses_with_one_line_naming_value_and_allowed(name: str, value: str):
    with pytest.raises(UsageError) as info:
        axis(name).check(value, "SRC")
    message = str(info.value)
    assert message.startswith("SRC: ")
    assert f"is not a valid {name}; allowed: " in message
    assert "\n" not in message
    assert info.value.exit_code == EXIT_USAGE


def test_axis_check_names_the_allowed_values_or_pattern():
    with pytest.raises(
        UsageError, match=r"^feat_set: 'x' is not a valid feat_set; allowed: one of none, default, all$"
    ):
        axis("feat_set").check("x", "feat_set")
    with pytest.raises(
        UsageError,
        match=re.escape("--cargo-profile: 'A' is not a valid cargo_profile; allowed: a value matching ^[a-z]"),
    ):
        axis("cargo_profile").check("A", "--cargo-profile")


def test_axis_check_refuses_non_strings():
    with pytest.raises(UsageError, match=r"3 is not a valid feat_set"):
        axis("feat_set").check(3, "json")


def test_axis_check_shortens_a_long_value_in_its_message():
    with pytest.raises(UsageError) as info:
        axis("feat_set").check("x" * 300, "feat_set")
    assert "x" * 56 + "..." in str(info.value)
    assert "x" * 60 not in str(info.value)


@pytest.mark.parametrize("name", ["cargo_profile", "rust_toolchain", "sys_name", "sys_version", "sys_target"])
def test_axis_check_refuses_a_trailing_newline(name: str):
    with pytest.raises(UsageError):
        axis(name).check(DEFAULT[name] + "\n", name)


def test_axis_check_refuses_a_300_character_value():
    with pytest.raises(UsageError):
        axis("sys_version").check("a" * 300, "sys_version")


# --- names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "safe"),
    [("1.97", "1_97"), ("1.97.1", "1_97_1"), ("testing-slim", "testing-slim"), ("x86_64", "x86_64")],
)
def test_name_safe(value: str, safe: str):
    assert name_safe(value) == safe


def test_vector_instance_names_in_fixed_axis_order():
    vector = load().vector({"rust_toolchain": "1.97"})
    assert vector.instance("system", ["sys_name", "sys_version", "sys_target"]) == (
        "system--debian--testing-slim--x86_64-v1-linux-gnu"
    )
    # The order given does not matter: the definition's axis order does.
    assert vector.instance("kitchen", ["sys_target", "sys_name", "feat_set", "sys_version"]) == (
        "kitchen--default--debian--testing-slim--x86_64-v1-linux-gnu"
    )
    assert vector.instance("cookware", load().names[1:]) == (
        "cookware--1_97--x86_64-unknown-linux-gnu--default--debian--testing-slim--x86_64-v1-linux-gnu"
    )


def test_vector_label_and_lookup():
    vector = load().vector({"feat_set": "all"})
    assert vector.label() == (
        "cargo_profile=release,rust_toolchain=distro,rust_target=x86_64-unknown-linux-gnu,"
        "feat_set=all,sys_name=debian,sys_version=testing-slim,sys_target=x86_64-v1-linux-gnu"
    )
    assert vector["feat_set"] == "all"
    assert vector.values(["sys_name", "cargo_profile"]) == ("release", "debian")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('used_by = "no spaces allowed"', r"used_by must name the lowest bake.hcl family"),
        ("used_by = 3", r"used_by must name the lowest bake.hcl family"),
        ('build_arg = "yes"', r"build_arg must be true or false"),
    ],
)
def test_tree_keys_of_an_axis_are_checked(tmp_path: Path, extra: str, message: str):
    path = tmp_path / "matrix.toml"
    path.write_text(f'[axes.libc]\ndescription = "l"\nvalues = ["glibc"]\ndefault = "glibc"\n{extra}\n')
    with pytest.raises(UsageError, match=message):
        load(path)


@pytest.mark.parametrize("name", ["id", "ref", "platform", "cpu", "args", "Libc"])
def test_an_axis_name_that_collides_with_a_cell_field_is_refused(tmp_path: Path, name: str):
    path = tmp_path / "matrix.toml"
    path.write_text(f'[axes.{name}]\ndescription = "l"\nvalues = ["a"]\ndefault = "a"\nused_by = "kitchen"\n')
    with pytest.raises(UsageError, match=r"must be \[a-z\]\[a-z0-9_\]\* and not one of id, ref, platform, cpu, args"):
        load(path)


def test_tree_and_command_line_keys_are_read(tmp_path: Path):
    path = tmp_path / "matrix.toml"
    path.write_text(
        '[axes.libc]\ndescription = "l"\nvalues = ["glibc"]\ndefault = "glibc"\nused_by = "kitchen"\n'
        'flag = "libc"\nhelp = "C library"\nnox = "libc"\n'
    )
    axis = load(path).axis("libc")
    assert (axis.used_by, axis.build_arg) == (("kitchen",), True)
    assert (axis.flag, axis.option, axis.help, axis.nox) == ("libc", "libc", "C library", "libc")


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('flag = "--libc"', "axis libc has flag '--libc'; allowed:"),
        ('flag = "sys-name"', "two axes share a flag; each must be distinct"),
        ('nox = "sys"', "two axes share a nox; each must be distinct"),
    ],
)
def test_command_line_keys_are_checked(tmp_path: Path, keys: str, message: str):
    path = tmp_path / "matrix.toml"
    path.write_text(
        '[axes.sys_name]\ndescription = "s"\npattern = "^[a-z]+$"\ndefault = "debian"\nflag = "sys-name"\nnox = "sys"\n'
        f'[axes.libc]\ndescription = "l"\nvalues = ["glibc"]\ndefault = "glibc"\n{keys}\n'
    )
    with pytest.raises(UsageError, match=re.escape(message)):
        load(path)


def test_the_tests_default_vector_is_matrix_toml_s():
    assert load().default_vector().as_dict() == DEFAULT_VECTOR


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mips64-linux-gnu", r"allowed: an arch with a platform mapping in docker/matrix.toml \[axes.sys_target.arch\] "
         r"\(x86_64, aarch64, riscv64, armv7, i686, ppc64le, s390x\), not 'mips64'$"),
        ("x86_64-v9-linux-gnu", r"allowed: CPU levels of x86_64: v1, v2, v3, v4, not 'v9'$"),
        ("riscv64-v2-linux-gnu", r"allowed: CPU levels of riscv64: none \(omit the level\), not 'v2'$"),
    ],
)  # fmt: skip
def test_an_unmapped_arch_or_level_names_the_mapping(value: str, message: str):
    with pytest.raises(UsageError, match=message) as info:
        load().axis("sys_target").check(value, "--sys-target")
    assert info.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    ("name", "value"),
    [("sys_target", "mips64-linux-gnu"), ("feat_set", "experimental"), ("rust_toolchain", "my-toolchain")],
)
def test_another_tree_checks_safety_not_our_vocabulary(name: str, value: str):
    relaxed = load().relaxed()
    assert relaxed.axis(name).check(value, "SRC") == value
    assert relaxed.vector({name: value})[name] == value
    with pytest.raises(UsageError):
        load().axis(name).check(value, "SRC")


@pytest.mark.parametrize("value", ["a;b", "a--b", "-a", "A", "a b", "$(id)", "x" * 65, "a\n"])
def test_another_tree_still_refuses_unsafe_values(value: str):
    with pytest.raises(UsageError, match=r"is not a valid sys_target; allowed: \[a-z0-9._-\], at most 64 characters"):
        load().relaxed().axis("sys_target").check(value, "SRC")


def test_settings_relax_the_vocabulary_for_another_bake_file_only():
    from bakery.config import settings

    environ = {"sys_target": "mips64-linux-gnu"}
    with pytest.raises(UsageError, match=r"not 'mips64'"):
        settings.load({}, environ=environ)
    other = settings.load({}, environ={**environ, "BAKERY_BAKE_FILE": "other/docker-bake.hcl"})
    assert other.choices["sys_target"] == ("mips64-linux-gnu",)
    with pytest.raises(UsageError, match=r"is not a valid sys_target"):
        settings.load({}, environ={"sys_target": "a;b", "BAKERY_BAKE_FILE": "other/docker-bake.hcl"})


def test_a_relaxed_definition_keeps_everything_but_the_vocabulary():
    relaxed = load().relaxed()
    assert relaxed.nox_always == ("sys_name", "feat_set")
    assert relaxed.matrices == load().matrices
    assert relaxed.axis("sys_name").check("my.distro", "--sys-name") == "my.distro"
