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
