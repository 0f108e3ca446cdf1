"""The served process logs one JSON line per request, whatever the client sends."""
import json

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_every_access_log_line_is_json_with_the_request_id(served):
    awkward = 'quote " backslash \\ brace } end'
    requests.get(f"{served.url}/__admin/health", headers={"X-Request-ID": awkward})
    requests.post(f"{served.url}/v1/funds-confirmations", headers={"X-Request-ID": "plain-2"})
    served.stop()
    lines = [json.loads(line) for line in served.log_text().splitlines() if line.startswith("{")]
    by_id = {entry["x_request_id"]: entry for entry in lines}
    assert by_id[awkward]["status"] == 200 and by_id[awkward]["path"] == "/__admin/health"
    assert by_id["plain-2"]["status"] == 401 and by_id["plain-2"]["method"] == "POST"


def test_a_variable_of_the_servers_environment_never_reads_as_a_request_header(tmp_path, monkeypatch):
    """granian starts each request's environ from the process environment: HTTP_* there is not a header."""
    from served_process import served_process

    monkeypatch.setenv("HTTP_X_REQUEST_ID", "from-the-environment")
    with served_process(tmp_path) as served:
        answer = requests.get(f"{served.url}/__admin/health")
        sent = requests.get(f"{served.url}/__admin/health", headers={"X-Request-ID": "sent"})
    assert answer.status_code == 200 and "X-Request-ID" not in answer.headers
    assert sent.headers["X-Request-ID"] == "sent"
    ids = [json.loads(line)["x_request_id"] for line in served.log_text().splitlines() if line.startswith("{")]
    assert "from-the-environment" not in ids and None in ids and "sent" in ids
