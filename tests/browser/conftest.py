"""Fixtures of the browser tests: a served sandbox per test module, one headless Chromium, and a page at
each width (phone, desktop) whose TPP callback is answered locally (no network)."""
from __future__ import annotations

import pytest

from bank_pages import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, VIEWPORTS
from served_process import served_process


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served_process(tmp_path_factory.mktemp("browser")) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):
    context = browser.new_context(viewport=VIEWPORTS[request.param], locale="fr-FR",
                                  is_mobile=request.param == "phone", has_touch=request.param == "phone")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.viewport_name = request.param
    # The TPP's site is not reachable here: answer its callback ourselves.
    page.route("https://tpp.example.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>TPP</title><h1>Retour chez le TPP</h1>"))
    yield page
    context.close()
