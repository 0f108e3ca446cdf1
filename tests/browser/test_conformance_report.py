"""The go-live report page (``?format=html``) in a real headless Chromium: what a TPP sends to the bank.

Screenshot on a phone and a desktop (into the test's temp dir, or ``SCA_SCREENSHOTS``), no horizontal
scrolling, WCAG 2.2 AA contrast computed in the browser as for the bank's SCA pages, and the print layout:
print media emulated (no shadow, nothing wider than an A4 page) and a PDF printed by Chromium itself.
"""
from __future__ import annotations

import pytest

from mock_aspsp.testing import AdminClient, TPP_CLIENT_ID
from served_process import served_process
from bank_pages import CONTRAST, MARKS, Shots  # the browser and page fixtures come from conftest

pytestmark = MARKS

A4_WIDTH_PX = 794  # 210 mm at 96 px per inch


@pytest.fixture(scope="module")
def report_url(tmp_path_factory):
    """A served sandbox where the TPP linked an account (without its QWAC: one check fails) and a plan runs."""
    with served_process(tmp_path_factory.mktemp("report")) as served:
        served.link()
        AdminClient(served.url).start_conformance_plan(TPP_CLIENT_ID, "rate-limited", "service-unavailable")
        yield f"{served.url}/__admin/conformance?client_id={TPP_CLIENT_ID}&format=html"


def layout(page) -> dict:
    return page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth, width: window.innerWidth,
        shadows: [...document.querySelectorAll('.card')].filter(c => getComputedStyle(c).boxShadow !== 'none').length,
        summary: document.querySelector('#summary').innerText,
        about: [...document.querySelectorAll('dl.about dt')].map(dt => dt.innerText),
        rows: document.querySelectorAll('tbody tr').length})""")


def test_the_report_page_reads_on_a_phone_and_a_desktop(report_url, page, tmp_path):
    page.goto(report_url)
    Shots(page, tmp_path)("conformance-report")
    seen = layout(page)
    assert seen["scroll"] <= seen["width"], f"horizontal scrolling on {page.viewport_name}: {seen}"
    assert seen["about"] == ["TPP (client_id)", "Date", "Scenario", "Sandbox version", "Requests judged"]
    assert "failed" in seen["summary"] and seen["summary"].endswith("not ready")
    assert seen["rows"] >= 15  # every check, and the plan's two modules
    assert "Banque Exemple" in page.inner_text("header")
    contrast = page.evaluate(CONTRAST)
    assert not contrast["problems"] and contrast["checked"] >= 20, contrast
    assert contrast["failing"] == [], f"under WCAG 2.2 AA contrast ({page.viewport_name}): {contrast['failing']}"


def test_the_report_prints_on_a4(report_url, browser, tmp_path):
    context = browser.new_context(viewport={"width": A4_WIDTH_PX, "height": 1123})
    page = context.new_page()
    page.goto(report_url)
    page.emulate_media(media="print")
    printed = layout(page)
    assert printed["shadows"] == 0 and printed["scroll"] <= A4_WIDTH_PX, printed
    assert page.evaluate(CONTRAST)["failing"] == []
    pdf = tmp_path / "conformance-report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    assert pdf.read_bytes().startswith(b"%PDF-") and pdf.stat().st_size > 5000
    context.close()
