"""A real ``mock-aspsp serve``'s life: as a newcomer starts it (no ``--db`` leaves nothing behind, a second
server on the same port stops at once saying which option to change), SIGTERM lets the request under way
finish, a worker that dies is replaced."""
import os
import signal
import subprocess
import threading
import time

import pytest
import requests

from mock_aspsp.testing import free_port, stop_process, wait_until_healthy
from mock_aspsp.testing import HEADLESS_IBAN
from served_process import console_script, served_process

pytestmark = pytest.mark.e2e

GRACE_S = 10  # serving.GRACE_S
DELAY_S = 3
BODY = {"paymentCoverageRequestId": "life", "instructedAmount": {"currency": "EUR", "amount": "1.00"},
        "accountId": {"iban": HEADLESS_IBAN}}


def workers_of(served):
    found = subprocess.run(["pgrep", "-P", str(served.process.pid)], capture_output=True, text=True).stdout
    return set(map(int, found.split()))


def confirm(served, token):
    return requests.post(f"{served.url}/stet/psd2/v1.4.2/funds-confirmations", json=BODY, timeout=30,
                         headers={"Authorization": f"Bearer {token}", "X-Request-ID": "life", "Connection": "close"})


def test_sigterm_lets_the_request_under_way_finish(tmp_path):
    with served_process(tmp_path) as served:
        token = served.link().access_token
        added = requests.post(f"{served.url}/__admin/rules", timeout=10, json={
            "match": {"endpoint": "funds-confirmations"}, "action": {"delay": f"PT{DELAY_S}S"}})
        assert added.status_code == 201, added.text
        answers = []
        call = threading.Thread(target=lambda: answers.append(confirm(served, token)))
        call.start()
        time.sleep(1)  # the call is under way, in its delay (bounded: the delay is 3 s)
        began = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(GRACE_S + 10) == 0
        stopped_after = time.monotonic() - began
        call.join(30)
    assert answers and answers[0].status_code == 200 and answers[0].json()["result"] is True
    assert stopped_after < GRACE_S + 5, stopped_after
    assert "Traceback" not in served.log_text()


def test_a_worker_that_dies_is_replaced(tmp_path):
    with served_process(tmp_path) as served:
        token = served.link().access_token
        before = workers_of(served)
        assert len(before) == 2
        os.kill(min(before), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(workers_of(served) - before) < 1:
            time.sleep(0.2)  # the master notices, then respawns: bounded by the deadline
        after = workers_of(served)
        assert len(after) == 2 and min(before) not in after, (before, after)
        for _ in range(6):  # new connections: both workers answer, with the state the dead one left
            assert confirm(served, token).status_code == 200
        assert served.process.poll() is None


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
