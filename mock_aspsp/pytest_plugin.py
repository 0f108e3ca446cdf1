"""pytest plugin (entry point ``pytest11``): a mock bank for a TPP's own tests.

In the TPP's suite, after ``pip install mock-aspsp``::

    from mock_aspsp.testing import HEADLESS_IBAN, HEADLESS_PSU

    def test_checks_funds(mock_aspsp):
        tokens = mock_aspsp.link(psu=HEADLESS_PSU, scope="cbpii")   # the headless journey
        my_client = MyTppClient(base_url=mock_aspsp.url, access_token=tokens.access_token)
        ...
        mock_aspsp.admin.advance("PT1H")   # the access token is now expired

One server per test session (per worker process with ``pytest -n``: each its own
server and state), reset to the scenario's initial state before each test.
Override the ``mock_aspsp_scenario`` fixture to serve another scenario (a file or a
shipped scenario's name); ``--mock-aspsp-mode=subprocess`` runs the real server
(``mock-aspsp serve``) instead of the in-process one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

import pytest

from .resources import default_scenario
from .testing import RunningSandbox, running_sandbox


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mock-aspsp")
    group.addoption("--mock-aspsp-mode", choices=("inprocess", "subprocess"), default="inprocess",
                    help="serve the mock bank in the test process (fast) or as 'mock-aspsp serve' (as deployed)")


@pytest.fixture(scope="session")
def mock_aspsp_scenario() -> Union[str, Path]:
    """The scenario to serve, a file or a shipped scenario's name (``"consent-refused"``); override this
    fixture in your conftest.py."""
    return default_scenario()


@pytest.fixture(scope="session")
def mock_aspsp_server(request: pytest.FixtureRequest, mock_aspsp_scenario: Path) -> Iterator[RunningSandbox]:
    with running_sandbox(mock_aspsp_scenario, mode=request.config.getoption("--mock-aspsp-mode")) as sandbox:
        yield sandbox


@pytest.fixture
def mock_aspsp(mock_aspsp_server: RunningSandbox) -> RunningSandbox:
    """The running mock bank (``.url``, ``.admin``, ``.link()``), back to its initial state."""
    mock_aspsp_server.admin.reset()
    return mock_aspsp_server
