"""The QA console in a real headless Chromium, at phone and desktop widths, with screenshots.

QA advances the clock from the console and the TPP's token expires; QA adds a 429 rule from
the form and the TPP's next call gets it; a bad scenario pasted shows its problems and the old
one stays. Every page is checked for a layout that fits the viewport and for WCAG 2.2 AA
contrast (the same in-browser computation as the bank's pages), and screenshot into the
test's temp dir (``SCA_SCREENSHOTS=/tmp/shots`` keeps them).
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from mock_aspsp.testing import TPP_CLIENT_ID
from served_process import served_process
from support import portal_body
from bank_pages import MARKS, Shots, assert_contrast  # shared with the bank's pages; browser and page fixtures from conftest

pytestmark = MARKS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served_process(tmp_path_factory.mktemp("console")) as served:
        yield served


@pytest.fixture(autouse=True)
def fresh(server):
    urllib.request.urlopen(urllib.request.Request(f"{server.url}/__admin/reset", method="POST"), timeout=10).close()


def funds_check(server, access_token: str) -> tuple[int, dict]:
    """The TPP's next call: a funds confirmation with its token."""
    with urllib.request.urlopen(f"{server.url}/__admin/tokens", timeout=10) as answer:
        iban = json.loads(answer.read())["tokens"][-1]["iban"]  # the account the headless PSU consented
    body = json.dumps(portal_body(iban=iban)).encode()
    request = urllib.request.Request(f"{server.url}/stet/psd2/v1.4.2/funds-confirmations", data=body, headers={
        "Authorization": f"Bearer {access_token}", "X-Request-ID": "console-check",
        "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def assert_console_page(page, where: str) -> None:
    """Fits the viewport (no sideways scrolling), large enough to tap, AA contrast throughout."""
    layout = page.evaluate("""() => ({
        scroll: document.documentElement.scrollWidth, width: window.innerWidth,
        buttons: [...document.querySelectorAll('button')].filter(b => b.offsetParent)
                     .map(b => b.getBoundingClientRect().height)})""")
    assert layout["scroll"] <= layout["width"], f"horizontal scrolling on {where} ({page.viewport_name}): {layout}"
    assert all(height >= 40 for height in layout["buttons"]), f"buttons too small to tap on {where}: {layout}"
    assert_contrast(page, where)
    assert page.evaluate("document.documentElement.lang") == "en"


def test_qa_advances_the_clock_and_the_tpps_token_expires(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    access = server.link().access_token
    assert funds_check(server, access)[0] == 200
    page.goto(f"{server.url}/__admin/ui")
    assert_console_page(page, "overview")
    shots("overview")
    page.click("nav >> text=Clock")
    assert_console_page(page, "clock")
    before = page.inner_text("#mock-now")
    page.fill("#advance", "PT2H")
    page.click("button[value=advance]")
    assert "Mock time is now" in page.inner_text("[role=status]")
    assert page.inner_text("#mock-now") != before
    assert_console_page(page, "clock moved")
    shots("clock-advanced")
    status, body = funds_check(server, access)
    assert status == 401 and "expired" in body["message"], body
    page.click("nav >> text=Token pairs")
    assert "access token expired" in page.inner_text("main")
    assert_console_page(page, "token pairs")
    shots("token-pairs")
    page.click("nav >> text=Request journal")
    page.fill("#status", "401")
    page.click("button:has-text('Filter')")
    page.click("details.entry summary")
    entry = page.inner_text("details.entry")
    assert "expired" in entry and "Bearer ***" in entry and access not in entry
    assert "instructedAmount" in entry  # the body the TPP sent
    assert_console_page(page, "journal")
    shots("journal-entry")


def test_qa_adds_a_429_rule_from_the_form_and_the_next_call_gets_it(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    access = server.link().access_token
    page.goto(f"{server.url}/__admin/ui/rules")
    page.fill("#name", "busy")
    page.select_option("#status", "429")
    page.fill("#retry_after", "30")
    page.fill("#times", "1")
    page.click("#add-rule button[type=submit]")
    assert "Rule busy added" in page.inner_text("[role=status]")
    assert_console_page(page, "rule added")
    shots("rule-added")
    assert funds_check(server, access)[0] == 429
    assert funds_check(server, access)[0] == 200  # times: 1
    page.reload()  # a GET: the page shows the counters now
    page.goto(f"{server.url}/__admin/ui/rules")
    row = page.inner_text("tr.rule")
    assert "busy" in row and "admin" in row
    page.fill("#nth", "third")
    page.fill("#delay", "PT40S")
    page.click("#add-rule button[type=submit]")
    alert = page.inner_text("[role=alert]")
    assert "rule refused" in alert and "match.nth" in alert
    assert page.input_value("#nth") == "third"  # the form is kept, to correct it
    assert_console_page(page, "rule refused")
    shots("rule-refused")


def test_a_bad_scenario_pasted_shows_its_problems_and_the_old_one_stays(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    page.goto(f"{server.url}/__admin/ui/scenario")
    name = page.inner_text("#scenario-name")
    page.fill("#yaml", "name: broken\nbanks: []\npsus:\n  - login: x\n")
    page.click("button:has-text('Swap the scenario')")
    alert = page.inner_text("[role=alert]")
    assert "the current one stays in force" in alert and len(page.query_selector_all("[role=alert] li")) >= 2
    assert page.inner_text("#scenario-name") == name
    assert "name: broken" in page.input_value("#yaml")
    assert_console_page(page, "scenario refused")
    shots("scenario-refused")
    with urllib.request.urlopen(f"{server.url}/__admin/scenario", timeout=10) as answer:
        assert json.loads(answer.read())["name"] == name


def test_qa_reads_each_tpps_go_live_report_and_starts_a_plan_from_the_form(server, page, tmp_path):
    shots = Shots(page, tmp_path)
    access = server.link().access_token
    assert funds_check(server, access)[0] == 200
    page.goto(f"{server.url}/__admin/ui")
    page.click("nav >> text=Go-live readiness")
    card = page.inner_text(".conformance-tpp")
    assert TPP_CLIENT_ID in card and "passed," in card and "not run" in card
    assert_console_page(page, "go-live readiness")
    shots("conformance")
    page.select_option("#plan-client-id", TPP_CLIENT_ID)
    page.check("#module-rate-limited")
    page.click("#start-plan button[type=submit]")
    assert f"started for {TPP_CLIENT_ID}: rate-limited" in page.inner_text("[role=status]")
    assert "rate-limited: not-run" in page.inner_text(".conformance-tpp .plan")
    assert_console_page(page, "plan started")
    shots("conformance-plan-started")
    assert funds_check(server, access)[0] == 429  # the module: the bank misbehaves on the TPP's next call
    page.click(f"a[aria-label='HTML report of {TPP_CLIENT_ID}']")
    assert page.url.startswith(f"{server.url}/__admin/ui/conformance/report?")
    assert "Go-live readiness of" in page.inner_text("h1") and "rate-limited" in page.inner_text("body")
    shots("conformance-report")
