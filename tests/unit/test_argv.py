"""Unit tests for bakery.argv: argv lists from keyword options."""

from __future__ import annotations

from bakery.argv import option, options


def test_module_docstring_example():
    assert options(builder="b", print=True, allow=["x", "y"], file=None) == [
        "--builder",
        "b",
        "--print",
        "--allow",
        "x",
        "--allow",
        "y",
    ]


def test_none_and_false_leave_the_option_out():
    assert options(file=None, push=False) == []
    assert option("file", None) == []
    assert option("push", False) == []


def test_true_is_a_bare_flag():
    assert options(print=True) == ["--print"]


def test_a_list_or_tuple_repeats_the_option_and_an_empty_one_adds_nothing():
    assert options(set=["a=1", "b=2"]) == ["--set", "a=1", "--set", "b=2"]
    assert options(secret=("id=gh",)) == ["--secret", "id=gh"]
    assert options(ssh=[]) == []


def test_ints_become_strings_and_zero_is_kept():
    assert options(parallel=4) == ["--parallel", "4"]
    assert options(count=0) == ["--count", "0"]


def test_underscores_become_dashes_and_a_trailing_underscore_is_dropped():
    assert options(metadata_file="m.json") == ["--metadata-file", "m.json"]
    assert options(filter_=["until=24h"]) == ["--filter", "until=24h"]
    assert options(keep_storage_="10GB") == ["--keep-storage", "10GB"]


def test_order_of_keywords_is_kept():
    assert options(b="2", a="1", c=True) == ["--b", "2", "--a", "1", "--c"]


def test_values_are_never_split_or_quoted():
    assert options(set=["*.args.x=a b;c"]) == ["--set", "*.args.x=a b;c"]
    assert options(tag="it's $(id)") == ["--tag", "it's $(id)"]
