"""Every relative link and `#anchor` in README.md and docs/ resolves.

Links to other sites are not followed (the tests run offline). Anchors are
matched against the headings of the target page, slugged as GitHub slugs them:
lowercase, punctuation dropped except `-` and `_`, spaces to `-`, and `-1`,
`-2`, ... for repeated headings.
"""

from __future__ import annotations

import re
from pathlib import Path

from bakery import ROOT

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+).+?\1")
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading counts as its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in _prose_lines(text):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    targets = []
    for line in _prose_lines(text):
        definition = _DEFINITION.match(line)
        if definition:
            targets.append(definition.group(1))
            continue
        targets += _INLINE.findall(_CODE_SPAN.sub("", line))
    return targets


def problems(page: Path, root: Path = ROOT) -> list[str]:
    """One line per link of `page` that does not resolve."""
    found = []
    where = page.relative_to(root)
    for target in links(page.read_text("utf-8")):
        if _SCHEME.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        dest = (page.parent / path_part).resolve() if path_part else page.resolve()
        if not dest.is_relative_to(root.resolve()):
            found.append(f"{where}: {target}: leaves the repository")
            continue
        relative = dest.relative_to(root.resolve()).as_posix()
        if not dest.exists():
            found.append(f"{where}: {target}: no such file")
            continue
        if anchor:
            if dest.suffix != ".md" or dest.is_dir():
                found.append(f"{where}: {target}: an anchor into something that is not a page")
            elif anchor not in anchors(dest.read_text("utf-8")):
                found.append(f"{where}: {target}: no heading with that anchor in {relative}")
    return found


def test_every_link_in_the_readme_and_the_docs_resolves():
    assert len(pages()) > 10
    broken = [line for page in pages() for line in problems(page)]
    assert broken == []


def test_the_readme_and_every_docs_page_have_links_to_check():
    # A parser that found no link would pass the test above by checking nothing.
    assert len(links((ROOT / "README.md").read_text("utf-8"))) >= 10
    assert all(links(page.read_text("utf-8")) for page in pages())


def test_github_slugs():
    assert slug("Use it for your project") == "use-it-for-your-project"
    assert slug("`invoke bake [TARGETS]`") == "invoke-bake-targets"
    assert slug("The tree's variables") == "the-trees-variables"
    assert slug("How bake.hcl is built") == "how-bakehcl-is-built"
    assert slug("Fresh runner and cache export (2026-11-29)") == "fresh-runner-and-cache-export-2026-11-29"
    assert slug("`docker_driver` and [links](x.md)") == "docker_driver-and-links"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n## A\n") == {"a", "a-1", "a-2"}


def test_a_broken_link_or_anchor_is_found(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# Page\n\n## Known heading\n")
    (tmp_path / "README.md").write_text(
        "# Title\n\n"
        "[ok](docs/page.md#known-heading) [self](#title) [web](https://example.org/x)\n"
        "[gone](docs/missing.md) [bad anchor](docs/page.md#unknown) [self bad](#nowhere)\n"
        "[out](../elsewhere.md) `[in code](docs/missing.md)`\n"
        "```sh\n[in a fence](docs/missing.md)\n```\n"
        "[ref]: docs/also-missing.md\n"
    )
    found = problems(tmp_path / "README.md", tmp_path)
    assert found == [
        "README.md: docs/missing.md: no such file",
        "README.md: docs/page.md#unknown: no heading with that anchor in docs/page.md",
        "README.md: #nowhere: no heading with that anchor in README.md",
        "README.md: ../elsewhere.md: leaves the repository",
        "README.md: docs/also-missing.md: no such file",
    ]
