"""Certificate paths in a scenario read regular files of at most 1 MB, nothing else.

The attack run: a certificate path naming a FIFO blocked a worker for good, and ``/dev/zero``
grew its memory until the OOM killer came (``PUT /__admin/scenario`` or ``--watch``). Each
such path is now a problem line of its own, at once.
"""
from __future__ import annotations

import os
import threading

import pytest
import yaml

from mock_aspsp.bank.scenario import MAX_CERTIFICATE_FILE, ScenarioError, parse_scenario
from mock_aspsp.resources import default_scenario

LIMIT_S = 5


def with_ca(path) -> str:
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["trusted_cas"] = [str(path)]
    document["tpps"][0]["certificates"] = [str(path)]
    return yaml.safe_dump(document, allow_unicode=True)


def refused_at_once(text: str) -> list[str]:
    """The problems of a scenario, parsed in a thread that must finish within LIMIT_S."""
    outcome: list = []

    def parse():
        try:
            parse_scenario(text, "PUT /__admin/scenario")
        except ScenarioError as error:
            outcome.append([str(p) for p in error.problems])
        except BaseException as error:  # noqa: BLE001 - reported below
            outcome.append(error)

    worker = threading.Thread(target=parse, daemon=True)
    worker.start()
    worker.join(LIMIT_S)
    assert not worker.is_alive(), f"the scenario's certificate read did not return within {LIMIT_S}s"
    assert outcome and isinstance(outcome[0], list), outcome
    return outcome[0]


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "ca.pem"
    os.mkfifo(fifo)
    try:
        problems = refused_at_once(with_ca(fifo))
    finally:
        with open(os.open(fifo, os.O_RDWR | os.O_NONBLOCK), "wb"):  # frees a reader that did block
            pass
    assert any("trusted_cas[0]" in p and "not a regular file" in p for p in problems), problems
    assert any("tpps[0].certificates[0]" in p and "not a regular file" in p for p in problems), problems


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    problems = refused_at_once(with_ca(device))
    assert any("not a regular file" in p for p in problems), problems


def test_a_folder_is_refused(tmp_path):
    assert any("not a regular file" in p for p in refused_at_once(with_ca(tmp_path)))


def test_a_file_over_1_mb_is_refused_unread(tmp_path):
    big = tmp_path / "big.pem"
    big.write_bytes(b"-" * (MAX_CERTIFICATE_FILE + 1))
    problems = refused_at_once(with_ca(big))
    assert any("larger than 1 MB" in p for p in problems), problems
    assert MAX_CERTIFICATE_FILE == 1024 * 1024


def test_a_symbolic_link_to_a_regular_file_is_read(tmp_path):
    target = tmp_path / "real.pem"
    target.write_text("not a certificate")
    (tmp_path / "link.pem").symlink_to(target)
    problems = refused_at_once(with_ca(tmp_path / "link.pem"))
    assert problems and not any("regular file" in p or "cannot read" in p for p in problems), problems


def test_over_http_the_swap_is_a_422_at_once(client):
    response = client.put("/__admin/scenario", data=with_ca("/dev/zero"), content_type="application/yaml")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert any("not a regular file" in p for p in response.get_json()["problems"])
    assert client.get("/__admin/health").status_code == 200


@pytest.mark.parametrize("entry,reason", [
    ("ca\x00.pem", "NUL"),                          # os.open refuses it with a ValueError, not an OSError
    ("~no-such-user-here/ca.pem", "no-such-user-here"),  # expanduser has no home to give: a RuntimeError
])
def test_a_path_no_file_can_have_is_a_problem_line(client, entry, reason):
    problems = refused_at_once(with_ca(entry))
    assert len([p for p in problems if "cannot read the certificate file" in p]) == 2, problems
    assert all(reason in p for p in problems if "cannot read" in p), problems
    response = client.put("/__admin/scenario", data=with_ca(entry), content_type="application/yaml")
    assert response.status_code == 422, response.get_data(as_text=True)



@pytest.mark.parametrize("entry", ["x" * 100_000, "missing/" + "x" * 5_000 + ".pem"])
def test_a_huge_path_is_not_echoed_back(entry):
    problems = [p for p in refused_at_once(with_ca(entry)) if "cannot read" in p]
    assert len(problems) == 2 and all(len(p) < 500 for p in problems), [p[:300] for p in problems]
