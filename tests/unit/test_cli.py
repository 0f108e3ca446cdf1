"""The command line's first-hour frictions, in process: shipped scenarios by name, ``scenario list``,
``serve`` failing fast (port in use, unknown scenario) without leaving a folder behind, its help."""
from __future__ import annotations

import contextlib
import io
import os
import socket
import tempfile

import pytest
import yaml

from mock_aspsp.config import Config, from_environment, temporary_folder, with_state_file
from mock_aspsp.resources import find_scenario, scenarios_dir, shipped_scenarios
from mock_aspsp.tools.cli import main


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    """The folder ``tempfile`` creates in (TMPDIR), empty: whatever a command leaves there shows."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def busy_port():
    """A port another server listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_a_shipped_scenario_is_found_by_name_with_or_without_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing of that name here: as after pip install, outside the repository
    assert find_scenario("consent-refused") == scenarios_dir() / "consent-refused.yaml"
    assert find_scenario("consent-refused.yaml") == scenarios_dir() / "consent-refused.yaml"
    own = tmp_path / "consent-refused.yaml"
    own.write_text("name: mine\n")
    assert find_scenario("consent-refused.yaml").resolve() == own  # a file of that name wins
    assert find_scenario(str(own)) == own


def test_a_missing_path_or_unknown_name_says_so_and_lists_the_shipped_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for value in ("consent-refsued", "elsewhere/consent-refused.yaml"):
        with pytest.raises(FileNotFoundError) as caught:
            find_scenario(value)
        message = str(caught.value)
        assert message.startswith(f"{value}: no such file")
        assert all(name in message for name in shipped_scenarios())


def test_scenario_list_gives_each_name_and_the_first_line_of_its_header(capsys):
    status, out, _ = run(capsys, "scenario", "list")
    assert status == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == list(shipped_scenarios())
    assert lines[0].split()[0] == "default"
    consent = next(line for line in lines if line.startswith("consent-refused "))
    header = (scenarios_dir() / "consent-refused.yaml").read_text().splitlines()[0].lstrip("# ")
    assert consent.split(None, 1)[1] == header


def test_scenario_check_takes_names_and_files(capsys, tmp_path):
    own = tmp_path / "mine.yaml"
    own.write_text((scenarios_dir() / "blocked-account.yaml").read_text())
    status, out, err = run(capsys, "scenario", "check", "consent-refused", "sca-timeout.yaml", str(own))
    assert status == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == ["consent-refused", "sca-timeout.yaml", str(own)]
    status, out, err = run(capsys, "scenario", "check", "default", "no-such-world")
    assert status == 1
    assert "default: OK" in out
    assert "no-such-world: no such file, and no shipped scenario of that name" in err


def test_scenario_check_reports_every_problem_in_one_pass_each_at_its_own_line(capsys, tmp_path):
    text = (scenarios_dir() / "default.yaml").read_text()
    text = text.replace("    default: true\n", "    defualt: true\n", 1).replace(
        "FR7630007000020009876540145", "FR7730007000020009876540145")  # a schema and a reference problem
    world = tmp_path / "world.yaml"
    world.write_text(text)
    status, _, err = run(capsys, "scenario", "check", str(world))
    lines = err.splitlines()
    assert status == 1
    assert lines[-1] == f"{world}: 2 problem(s)"
    misspelt = next(i for i, line in enumerate(text.splitlines(), 1) if "defualt" in line)
    assert lines[0].startswith(f"{world}:{misspelt}: banks[0].defualt: unknown key 'defualt' (did you mean 'default'?")
    iban = next(i for i, line in enumerate(text.splitlines(), 1) if "FR7730007000020009876540145" in line)
    assert lines[1].startswith(f"{world}:{iban}: psus[")
    assert lines[1].endswith("FR7730007000020009876540145 fails the IBAN mod-97 check")


def test_the_scenario_variable_takes_a_name_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = from_environment({"MOCK_ASPSP_SCENARIO": "revoked-tpp"})
    assert config.scenario == scenarios_dir() / "revoked-tpp.yaml"
    assert from_environment({"MOCK_ASPSP_SCENARIO": "revoked-tpp"}, scenario="sca-timeout").scenario.stem == "sca-timeout"


def test_building_a_config_creates_nothing(temp_root):
    assert from_environment({}).db is None
    assert from_environment({}, store="redis://127.0.0.1:6379/0").db is None
    assert from_environment({"MOCK_ASPSP_DB": "/data/state.sqlite3"}).db.name == "state.sqlite3"
    assert list(temp_root.iterdir()) == []


def test_a_server_without_a_state_file_gets_a_temporary_one_removed_after(temp_root, tmp_path):
    with with_state_file(from_environment({})) as config:
        assert config.db.parent.parent == temp_root and config.db.parent.name.startswith("mock-aspsp-")
        config.db.write_text("state")
        (config.db.parent / "state.sqlite3.journal").mkdir()  # the journal's folder, beside the file
    assert list(temp_root.iterdir()) == []
    given = Config(scenario=scenarios_dir() / "default.yaml", db=tmp_path / "kept.sqlite3")
    with with_state_file(given) as config:
        assert config == given
    assert list(temp_root.iterdir()) == []


def test_a_forked_worker_leaving_the_block_leaves_the_folder_to_its_master(temp_root):
    """A server's worker is forked inside the ``with`` and leaves it (SystemExit) long before its master."""
    manager = temporary_folder()
    folder = manager.__enter__()
    child = os.fork()
    if child == 0:  # the worker
        try:
            manager.__exit__(SystemExit, SystemExit(0), None)
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    assert folder.is_dir()
    manager.__exit__(None, None, None)
    assert not folder.exists()


def test_serve_on_a_port_in_use_fails_at_once_naming_the_option(capsys, busy_port, temp_root):
    status, out, err = run(capsys, "serve", "--port", str(busy_port))
    assert status == 2
    assert err.strip() == (f"mock-aspsp serve: 127.0.0.1:{busy_port} is already in use (another server?): "
                           "choose another port with --port N (env MOCK_ASPSP_PORT)")
    assert list(temp_root.iterdir()) == []


@pytest.mark.parametrize("argv, named", [
    (["--port", "0"], "--port 0"),
    (["--port", "70000"], "--port 70000"),
    (["--host", "no-such-host.invalid"], "--host no-such-host.invalid"),
])
def test_serve_refuses_an_address_it_cannot_listen_on(capsys, argv, named, temp_root):
    status, _, err = run(capsys, "serve", *argv)
    assert status == 2 and err.startswith(f"mock-aspsp serve: {named}: ")


def test_serve_with_an_unknown_scenario_lists_the_shipped_ones_and_leaves_nothing(capsys, temp_root, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, "serve", "--scenario", "consent-refsued")
    assert status == 2
    assert "consent-refsued: no such file, and no shipped scenario of that name (shipped: default," in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("banks: []\n")
    status, _, err = run(capsys, "serve", "--scenario", str(bad))
    assert status == 2 and f"{bad}:1: banks" in err
    assert list(temp_root.iterdir()) == []  # neither the config nor the failed start left a folder


def test_serve_help_names_the_admin_token_and_shipped_names(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "MOCK_ASPSP_ADMIN_TOKEN" in text and "Authorization: Bearer <token>" in text
    assert "name of a shipped scenario (mock-aspsp scenario list)" in text


def test_certs_issue_registers_the_redirect_uri_of_the_shipped_scenarios(capsys, tmp_path):
    status, out, err = run(capsys, "certs", "issue", "--client-id", "PSDFR-ACPR-12345", "--out", str(tmp_path))
    assert status == 0, err
    snippet = yaml.safe_load(out.split("Scenario snippet registering the TPP:\n\n", 1)[1])
    for path in shipped_scenarios().values():  # their first TPP is the one a newcomer plays
        tpp = yaml.safe_load(path.read_text())["tpps"][0]
        assert snippet["tpps"][0]["redirect_uris"][0] in tpp["redirect_uris"], path.name

