"""The README's table of contents and its "Where things live" map stay true.

Every contents link must reach a heading (GitHub's anchors), every section must be in the
contents, every module the map names must exist in the installed package and every module and
folder of the package must be in the map, so that adding, moving or renaming a module, or a
heading, fails here rather than leaving the README wrong.
"""
import importlib.util
import re
from pathlib import Path

import mock_aspsp

README = Path(__file__).resolve().parents[2] / "README.md"


def prose(text: str) -> str:
    """The README without its fenced blocks (a ``# comment`` in a shell block is no heading)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(text: str) -> list[tuple[int, str]]:
    return [(len(m.group(1)), m.group(2)) for m in re.finditer(r"^(#{1,6}) +(.+?) *#*$", prose(text), re.M)]


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for _, heading in headings(text):
        anchor = github_anchor(heading)
        result.add(f"{anchor}-{seen[anchor]}" if anchor in seen else anchor)
        seen[anchor] = seen.get(anchor, 0) + 1
    return result


def contents(text: str) -> str:
    match = re.search(r"^\*\*Contents\*\*\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no **Contents** before its first section"
    return match.group(1)


def section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", prose(text), re.S | re.M)
    assert match, f"README.md has no section {title!r}"
    return match.group(1)


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a parent package is gone
        return False


def test_github_anchor_matches_githubs_rule():
    assert github_anchor("In a Python test suite (pytest fixture)") == "in-a-python-test-suite-pytest-fixture"
    assert github_anchor("Banks (establishments)") == "banks-establishments"
    assert github_anchor("`mock-aspsp serve`: what's new") == "mock-aspsp-serve-whats-new"


def test_every_contents_link_reaches_a_heading():
    text = README.read_text()
    links = re.findall(r"\]\(#([^)]+)\)", contents(text))
    assert links, "the contents hold no link"
    assert [link for link in links if link not in anchors(text)] == []


def test_every_section_is_in_the_contents():
    text = README.read_text()
    linked = set(re.findall(r"\]\(#([^)]+)\)", contents(text)))
    sections = [heading for level, heading in headings(text) if level == 2]
    assert [heading for heading in sections if github_anchor(heading) not in linked] == []


def test_every_module_the_map_names_exists_in_the_package():
    names = re.findall(r"`(mock_aspsp(?:\.\w+)+)`", section(README.read_text(), "Where things live"))
    assert len(names) >= 20, names
    assert [name for name in names if not module_exists(name)] == []


def test_every_folder_the_map_names_exists_in_the_package():
    package = Path(mock_aspsp.__file__).parent
    paths = re.findall(r"`mock_aspsp/([^`]+)`", section(README.read_text(), "Where things live"))
    assert paths
    assert [path for path in paths if not (package / path).exists()] == []


def test_the_map_names_every_module_and_folder_of_the_package():
    """The map is the layout: a module or folder added, moved or renamed shows in it."""
    package = Path(mock_aspsp.__file__).parent
    text = section(README.read_text(), "Where things live")
    named = set(re.findall(r"`(mock_aspsp(?:\.\w+)+)`", text))
    modules = {".".join(("mock_aspsp",) + path.relative_to(package).with_suffix("").parts)
               for path in package.rglob("*.py") if path.name != "__init__.py"}  # a package is named as a folder
    assert sorted(modules - named) == []
    folders = {f"{path.parent.relative_to(package)}/" for path in package.rglob("__init__.py") if path.parent != package}
    assert sorted(folders - set(re.findall(r"`mock_aspsp/([^`]+)`", text))) == []


def test_is_my_client_ready_lists_every_check_and_module_once():
    """Its tables are the checks and modules the report holds: one row each, none left out or made up."""
    from mock_aspsp.conformance.checks import CHECKS
    from mock_aspsp.conformance.modules import MODULES

    rows = re.findall(r"^\| `([a-z0-9-]+)` \|", section(README.read_text(), "Is my client ready?"), re.M)
    assert sorted(rows) == sorted([*(check.id for check in CHECKS), *MODULES])
