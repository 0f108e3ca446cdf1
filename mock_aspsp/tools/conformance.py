"""``mock-aspsp conformance``: fetch a TPP's go-live report for CI, exit 1 when anything failed.

Standard library only (it runs in a TPP's CI image); the admin token comes from
``MOCK_ASPSP_ADMIN_TOKEN``, as for every admin call.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional
from urllib.parse import urlencode

TIMEOUT_S = 30


def _fetch(url: str, client_id: str, fmt: str, token: Optional[str]) -> bytes:
    query = urlencode({"client_id": client_id, "format": fmt})
    request = urllib.request.Request(f"{url.rstrip('/')}/__admin/conformance?{query}",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
        return answer.read()


def run(url: str, client_id: str, junit: Optional[Path], html: Optional[Path]) -> int:
    token = os.environ.get("MOCK_ASPSP_ADMIN_TOKEN")
    try:
        report = json.loads(_fetch(url, client_id, "json", token))
        for path, fmt in ((junit, "junit"), (html, "html")):
            if path is not None:
                path.write_bytes(_fetch(url, client_id, fmt, token))
    except urllib.error.HTTPError as error:
        detail = error.read().decode("utf-8", "replace")[:500]
        print(f"mock-aspsp conformance: {url} answered {error.code}: {detail}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"mock-aspsp conformance: {url}: {getattr(error, 'reason', None) or error}", file=sys.stderr)
        return 1
    summary = report["summary"]
    for item in report["checks"] + report["modules"]:
        if item["status"] in ("failed", "warning"):
            print(f"{item['status'].upper():8} {item['id']}: {item['detail']}")
            for entry in item["evidence"]:
                print(f"         {entry['time']} {entry['method']} {entry['path']} -> {entry['status']} "
                      f"(X-Request-ID {entry['x_request_id'] or '-'}): {entry['note']}")
    print(f"{client_id}: {summary['passed']} passed, {summary['failed']} failed, {summary['warning']} warning(s), "
          f"{summary['not-run']} not run")
    return 1 if summary["failed"] else 0
