"""A change counter that every process of a server shares, read without a system call.

Each request asks whether the state file changed since its thread last read it (the SQLite
store's cached look-ups). ``PRAGMA data_version`` answers with a SQLite call, and every such call
lets go of the GIL: under load, with a worker's threads taking turns, each hand-off cost about
30 µs of server CPU per request (BENCHMARKS.md, step 20). The counter is 8 bytes of a file mapped
shared into every process: a writer adds one after each commit, a reader compares it with the
value it last saw.

Two writers adding at once may both write the same value. A reader still sees a change for any
commit after its last look: a writer reads the counter after its own commit, so a write lost that
way belongs to a commit made before the value the reader saw was written.
"""
from __future__ import annotations

import mmap
import os
import struct

_COUNTER = struct.Struct("<Q")


class Generation:
    """Raises OSError when the file cannot be made (a folder that cannot be written, a full disk)."""

    def __init__(self, path: str):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # Room taken on the disk now: a page of a mapped file written later can then never fail.
            os.posix_fallocate(fd, 0, _COUNTER.size)
            self._shared = mmap.mmap(fd, _COUNTER.size)  # MAP_SHARED, and inherited as such by a fork
        finally:
            os.close(fd)

    def value(self) -> int:
        return _COUNTER.unpack_from(self._shared)[0]

    def advance(self) -> None:
        """After a commit."""
        _COUNTER.pack_into(self._shared, 0, (self.value() + 1) % (1 << 64))
