"""Is a bank page's text French? Shared by the HTTP and the browser tests of the pages' language.

The bank speaks French to the PSU; only the technical detail for the TPP's developers is in
English, inside an element marked ``lang="en"`` (which those tests leave out). A word list, not a
language model: English function words and the bank's own English vocabulary that are not French
words (so not "a", "on", "or", "but", "session", "page", "code", ...), and French function words
that a French sentence hardly lacks.
"""
from __future__ import annotations

import re

ENGLISH = frozenset("""
the is are was were be been this that these those not has have had with without your you yours
of and to it its from will would does do did there here which who what when please try again
no yes by for in at into than then can cannot could should must may been being
unknown registered request browser reload submitted another started ended exist exists longer
current bank customer found error invalid denied allowed method resource unavailable retry
shortly internal over twice sent back developers
""".split())
FRENCH = frozenset("""
le la les l de des du d un une est sont vous votre vos pas ne n à au aux pour ce cette ces
qui que qu il elle et ou sur dans par avec plus
""".split())


def words(text: str) -> list[str]:
    return [word.lower() for word in re.findall(r"[^\W\d_]+", text)]


def english_words(text: str) -> list[str]:
    return [word for word in words(text) if word in ENGLISH]


def assert_french(text: str, where: str) -> None:
    """``text`` reads as French: no English word, and French ones."""
    english = english_words(text)
    assert not english, f"English on {where}: {sorted(set(english))} in {text!r}"
    assert any(word in FRENCH for word in words(text)), f"no French on {where}: {text!r}"
