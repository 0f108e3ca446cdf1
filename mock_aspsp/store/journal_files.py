"""The SQLite store's request journal: JSON lines appended to files beside the state file.

The journal is written on every request, the store's most frequent write. One
append to a file is a single system call, a fraction of a SQLite transaction,
and it leaves the state file alone (a change to it makes every other worker
drop its cached reads, see ``sqlite``).

Each process appends to a slot of its own, claimed with an exclusive ``flock``
on the slot's lock file; the lock goes with the process, so a later process
reuses the slot and the folder holds at most as many slots as processes ever
ran at once. Every line starts with the real time in nanoseconds (fixed
width), which orders the lines of all slots. A slot keeps its current file and
the one before it: when the current file holds ``limit`` lines it becomes the
previous one, so each slot keeps at least its last ``limit`` lines, and the
journal's last ``limit`` entries are always among the files.
"""
from __future__ import annotations

import fcntl
import itertools
import json
import os
import threading
import time
from pathlib import Path
from typing import Optional

from ..formats import jsonio

_STAMP = 20  # digits of the nanosecond stamp that starts each line


class JournalFiles:
    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # the threads of one process share its slot
        self._pid: Optional[int] = None
        self._slot = 0
        self._fd = -1
        self._lines = 0

    def _current(self, slot: int) -> Path:
        return self.folder / f"{slot}.jsonl"

    def _previous(self, slot: int) -> Path:
        return self.folder / f"{slot}.previous.jsonl"

    def append(self, entry: dict, limit: int) -> None:
        """Raises OSError when the folder cannot be written."""
        line = b"%020d %s\n" % (time.time_ns(), jsonio.dumps(entry))
        with self._lock:
            if self._pid != os.getpid():  # first write of this process (a forked worker has its own)
                self._claim()
            os.write(self._fd, line)
            self._lines += 1
            if self._lines >= limit:
                self._rotate()

    def _claim(self) -> None:
        # Descriptors inherited from a parent stay open: closing one would release the parent's lock.
        for slot in itertools.count():
            lock = os.open(self.folder / f"{slot}.lock", os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(lock)
                continue
            self._slot, self._pid = slot, os.getpid()
            self._open()
            with open(self._current(slot), "rb") as existing:  # what an earlier owner of the slot wrote
                chunks = list(iter(lambda: existing.read(1 << 16), b""))
            self._lines = sum(chunk.count(b"\n") for chunk in chunks)
            if chunks and not chunks[-1].endswith(b"\n"):  # that owner was killed in the middle of a line
                os.write(self._fd, b"\n")
            return

    def _open(self) -> None:
        self._fd = os.open(self._current(self._slot), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lines = 0

    def _rotate(self) -> None:
        os.replace(self._current(self._slot), self._previous(self._slot))
        os.close(self._fd)
        self._open()

    def entries(self, limit: int) -> list[dict]:
        """The last ``limit`` entries of every slot, oldest first."""
        lines: set[bytes] = set()
        slots = {int(path.name.split(".")[0]) for path in self.folder.glob("*.jsonl")}
        for slot in slots:
            # Current before previous: a rotation in between shows a file twice (the set merges it)
            # rather than not at all.
            for path in (self._current(slot), self._previous(slot)):
                try:
                    lines.update(path.read_bytes().splitlines())
                except FileNotFoundError:
                    pass
        entries: list[dict] = []
        for line in sorted(lines, reverse=True):
            if len(entries) == limit:
                break
            try:
                entries.append(json.loads(line[_STAMP + 1:]))
            except ValueError:  # a line cut short (a process killed in the middle of a write)
                continue
        return entries[::-1]

    def clear(self) -> None:
        for path in self.folder.glob("*.jsonl"):
            try:
                os.truncate(path, 0)
            except FileNotFoundError:
                pass
