"""pytest plugin (entry point ``pytest11``): a mock bank for a TPP's own tests.

In the TPP's suite, after ``pip install mock-aspsp``::

    def test_checks_funds(mock_aspsp):
        my_client = MyTppClient(base_url=mock_aspsp.url)
        ...
        mock_aspsp.admin.advance("PT1H")   # the access token is now expired

One server per test session, reset to the scenario's initial state before each
test. Override the ``mock_aspsp_scenario`` fixture to serve another scenario;
``--mock-aspsp-mode=subprocess`` runs the real server (``mock-aspsp serve``) instead of the
in-process one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from .resources import default_scenario
from .testing import RunningSandbox, running_sandbox


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mock-aspsp")
    group.addoption("--mock-aspsp-mode", choices=("inprocess", "subprocess"), default="inprocess",
                    help="serve the mock bank in the test process (fast) or as 'mock-aspsp serve' (as deployed)")


@pytest.fixture(scope="session")
def mock_aspsp_scenario() -> Path:
    """The scenario file to serve; override this fixture in your conftest.py."""
    return default_scenario()


@pytest.fixture(scope="session")
def mock_aspsp_server(request: pytest.FixtureRequest, mock_aspsp_scenario: Path) -> Iterator[RunningSandbox]:
    with running_sandbox(mock_aspsp_scenario, mode=request.config.getoption("--mock-aspsp-mode")) as sandbox:
        yield sandbox


@pytest.fixture
def mock_aspsp(mock_aspsp_server: RunningSandbox) -> RunningSandbox:
    """The running mock bank (``.url``, ``.admin``), back to its initial state."""
    mock_aspsp_server.admin.reset()
    return mock_aspsp_server
