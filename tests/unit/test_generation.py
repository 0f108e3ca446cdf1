"""The shared change counter behind the SQLite store's cached look-ups."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest

from mock_aspsp.store.generation import Generation
from mock_aspsp.store.records import StoreUnavailable
from mock_aspsp.store.sqlite import SqliteStore


def test_an_advance_is_seen_by_every_mapping_of_the_file(tmp_path):
    first, second = Generation(str(tmp_path / "g")), Generation(str(tmp_path / "g"))
    before = second.value()
    first.advance()
    assert second.value() == before + 1
    assert Generation(str(tmp_path / "g")).value() == before + 1  # kept in the file, as the state is


def test_an_advance_in_a_forked_worker_is_seen_by_its_master(tmp_path):
    generation = Generation(str(tmp_path / "g"))
    pid = os.fork()
    if pid == 0:
        try:
            generation.advance()
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert generation.value() == 1


def test_every_commit_advances_it_and_a_reader_in_another_process_reloads(tmp_path):
    path = str(tmp_path / "state.sqlite3")
    reader, writer = SqliteStore(path), SqliteStore(path)
    reader.sync_state()
    before = reader._generation.value()
    pid = os.fork()
    if pid == 0:
        try:
            SqliteStore(path).set_clock_offset(timedelta(hours=3))
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert reader._generation.value() == before + 1
    assert reader.sync_state().clock_offset.total_seconds() == 3 * 3600
    writer.put_journey("j", {"a": 1})
    assert reader._generation.value() == before + 2


def test_a_counter_file_that_cannot_be_made_is_a_store_unavailable(tmp_path):
    (tmp_path / "state.sqlite3.generation").mkdir()
    with pytest.raises(StoreUnavailable, match="generation"):
        SqliteStore(str(tmp_path / "state.sqlite3"))
