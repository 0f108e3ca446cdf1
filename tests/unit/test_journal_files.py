"""The SQLite store's journal files: one slot per process, ordered across slots, bounded, reusable."""
from __future__ import annotations

import os

import pytest

from mock_aspsp.store.journal_files import JournalFiles


def entries(journal: JournalFiles, limit: int = 100) -> list[int]:
    return [e["n"] for e in journal.entries(limit)]


def in_child(call) -> None:
    """Run ``call`` in a forked process (a gunicorn worker) and wait for it to end."""
    pid = os.fork()
    if pid == 0:
        try:
            call()
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0


def test_writers_take_a_slot_each_and_their_lines_are_read_in_time_order(tmp_path):
    first, second = JournalFiles(str(tmp_path)), JournalFiles(str(tmp_path))
    for n in range(6):
        (first if n % 2 else second).append({"n": n}, limit=100)
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["0.jsonl", "1.jsonl"]
    assert entries(first) == entries(JournalFiles(str(tmp_path))) == [0, 1, 2, 3, 4, 5]


def test_only_the_last_entries_are_kept_however_they_are_spread(tmp_path):
    first, second = JournalFiles(str(tmp_path)), JournalFiles(str(tmp_path))
    for n in range(40):
        (first if n % 3 else second).append({"n": n}, limit=5)
    assert entries(first, limit=5) == [35, 36, 37, 38, 39]
    for path in tmp_path.glob("*.jsonl"):  # each slot: its current file and the one before, no more
        assert len(path.read_bytes().splitlines()) <= 5


def test_a_forked_worker_writes_to_a_slot_of_its_own(tmp_path):
    journal = JournalFiles(str(tmp_path))
    journal.append({"n": 1}, limit=100)
    in_child(lambda: journal.append({"n": 2}, limit=100))
    journal.append({"n": 3}, limit=100)
    assert entries(journal) == [1, 2, 3]
    assert (tmp_path / "1.jsonl").read_bytes().count(b"\n") == 1


def test_a_slot_is_reused_after_its_process_ended_and_keeps_counting_its_lines(tmp_path):
    def earlier_worker():
        journal = JournalFiles(str(tmp_path))
        journal.append({"n": 0}, limit=3)
        journal.append({"n": 1}, limit=3)

    in_child(earlier_worker)
    later = JournalFiles(str(tmp_path))
    later.append({"n": 2}, limit=3)  # the slot's third line: the file becomes the previous one
    later.append({"n": 3}, limit=3)
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["0.jsonl", "0.previous.jsonl"]
    assert entries(later, limit=3) == [1, 2, 3]


def test_a_line_cut_short_by_a_killed_worker_is_skipped(tmp_path):
    def killed_while_writing():
        JournalFiles(str(tmp_path)).append({"n": 1}, limit=100)
        with open(tmp_path / "0.jsonl", "ab") as file:
            file.write(b'00000000000000000001 {"n": ')

    in_child(killed_while_writing)
    journal = JournalFiles(str(tmp_path))
    journal.append({"n": 2}, limit=100)  # in the same slot, on a line of its own
    assert entries(journal) == [1, 2]


def test_clear_empties_every_slot_and_writers_go_on(tmp_path):
    first, second = JournalFiles(str(tmp_path)), JournalFiles(str(tmp_path))
    for n in range(7):
        (first if n % 2 else second).append({"n": n}, limit=3)
    first.clear()
    assert entries(second) == []
    second.append({"n": 7}, limit=3)
    assert entries(first) == [7]


def test_an_unwritable_folder_raises_oserror(tmp_path):
    journal = JournalFiles(str(tmp_path / "journal"))
    (tmp_path / "journal").rename(tmp_path / "gone")
    with pytest.raises(OSError):
        journal.append({"n": 1}, limit=3)


def test_any_text_a_request_brings_is_read_back_as_written(tmp_path):
    """Lines are written by orjson (raw UTF-8) or, for what it refuses (a lone surrogate from a
    JSON body's escape, an integer beyond 64 bits), by the standard library."""
    journal = JournalFiles(str(tmp_path))
    written = [{"n": 0, "error": "montant refusé ✓"}, {"n": 1, "error": "\ud800"}, {"n": 2, "big": 2 ** 70}]
    for entry in written:
        journal.append(entry, limit=100)
    assert journal.entries(100) == written
