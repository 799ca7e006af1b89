"""Every relative link of README.md and docs/*.md reaches a file, and an
anchor a heading of it (GitHub's slugs), so the front page and the guides
never point into nothing."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces
    to hyphens.

    Example:
    >>> slug("Interruptions and `--resume`")
    'interruptions-and---resume'
    """
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m[1]) for m in re.finditer(r"^#+ (.*)$", text, re.M)}


def links(path):
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [m[1] for m in LINK.finditer(text) if not re.match(r"[a-z]+:", m[1])]


def broken(path):
    found = []
    for link in links(path):
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            found.append(f"{link} (no such file)")
        elif anchor and anchor not in anchors(file):
            found.append(f"{link} (no such heading)")
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_reach_files_and_headings(page):
    assert broken(page) == []


def test_the_check_fails_on_a_broken_link(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\n## Some part\n")
    page = tmp_path / "b.md"
    fenced = "```\n[z](no.md)\n```\n"
    page.write_text("[ok](a.md#some-part) [x](a.md#other) [y](c.md)\n" + fenced)
    assert broken(page) == ["a.md#other (no such heading)", "c.md (no such file)"]


def test_every_guide_is_linked_from_the_front_page():
    linked = {link.partition("#")[0] for link in links(ROOT / "README.md")}
    guides = {f"docs/{p.name}" for p in PAGES[1:]}
    assert guides <= linked, guides - linked
