"""A real ``mock-aspsp serve`` as a newcomer starts it: no ``--db`` leaves nothing behind, and a second
server on the same port stops at once saying which option to change."""
import os
import subprocess

import pytest

from mock_aspsp.testing import free_port, stop_process, wait_until_healthy
from served_process import console_script

pytestmark = pytest.mark.e2e


def test_serve_without_db_removes_its_temporary_folder_on_exit(tmp_path):
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen([str(console_script()), "serve", "--port", str(port), "--workers", "2"],
                                  stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "TMPDIR": str(temp_root)})
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", alive=lambda: server.poll() is None)
        [folder] = temp_root.iterdir()
        assert folder.name.startswith("mock-aspsp-") and (folder / "state.sqlite3").exists()

        second = subprocess.run([str(console_script()), "serve", "--port", str(port)], capture_output=True,
                                text=True, timeout=30, env={**os.environ, "TMPDIR": str(temp_root)})
        assert second.returncode == 2
        assert second.stderr.strip() == (f"mock-aspsp serve: 127.0.0.1:{port} is already in use (another "
                                         "server?): choose another port with --port N (env MOCK_ASPSP_PORT)")
        assert list(temp_root.iterdir()) == [folder]
    finally:
        assert stop_process(server) == 0, log.read_text()
    assert list(temp_root.iterdir()) == [], log.read_text()
