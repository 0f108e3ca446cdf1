"""The bank's pages cannot be framed by a TPP, nor cached (portal, PSD2 art. 97.5, RTS art. 31)."""
from __future__ import annotations

FRAME_HEADERS = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


def _assert_not_frameable(response):
    for name, value in FRAME_HEADERS.items():
        assert response.headers.get(name) == value, (name, dict(response.headers))
    assert response.headers.get("Cache-Control") == "no-store"


def test_the_bank_pages_cannot_be_framed_by_a_tpp(client, tpp):
    """Portal: the TPP may not encapsulate the bank's SCA screens (PSD2 art. 97.5, RTS art. 31)."""
    start = tpp.start()
    _assert_not_frameable(start)
    page = client.get(start.headers["Location"])
    assert page.status_code == 200
    _assert_not_frameable(page)
    error_page = client.get("/authorize?response_type=code&client_id=PSDFR-ACPR-00000&redirect_uri=x")
    assert error_page.status_code == 400
    _assert_not_frameable(error_page)
