"""Bounded work per request: bulk data is capped, a swap costs a worker one parse at most, and a
value quoted back in an answer is cut short.

The attack run: ``generate: {psus: 200000, accounts_per_psu: 10}`` through the admin API
stalled every worker for ~30 s at 1.3 GB each, and a respawned worker parsed it again; a 422
echoed a 15 MB ``name`` back.
"""
from __future__ import annotations

import time

import pytest
import yaml

from mock_aspsp.bank.clock import Clock
from mock_aspsp.bank.scenario import MAX_GENERATED_ACCOUNTS, MAX_GENERATED_PSUS, ScenarioError, parse_scenario, read_scenario
from mock_aspsp.resources import default_scenario
from mock_aspsp.sandbox import ADMIN_SOURCE, Sandbox
from mock_aspsp.store import open_store
from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI

ANSWER_MAX = 4000  # characters: an error answer names what is wrong, it does not carry the input back


def with_generate(**generate) -> str:
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["generate"] = generate
    return yaml.safe_dump(document, allow_unicode=True)


# -- generate is capped ---------------------------------------------------------------------
@pytest.mark.parametrize("generate,path", [
    ({"psus": 200_000, "accounts_per_psu": 10}, "generate.psus"),
    ({"psus": MAX_GENERATED_PSUS + 1}, "generate.psus"),
    ({"psus": MAX_GENERATED_PSUS, "accounts_per_psu": 3}, "generate.accounts_per_psu"),
])
def test_generate_beyond_the_caps_is_refused_at_once(generate, path):
    started = time.monotonic()
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(with_generate(**generate), "bulk.yaml")
    assert time.monotonic() - started < 2
    assert [p.path for p in refused.value.problems] == [path], refused.value.problems


def test_the_caps_are_the_schemas_and_the_largest_world_loads():
    schema = read_schema_generate()
    assert schema["properties"]["psus"]["maximum"] == MAX_GENERATED_PSUS
    assert str(MAX_GENERATED_ACCOUNTS) in schema["description"].replace(" ", "")
    assert MAX_GENERATED_PSUS * 2 == MAX_GENERATED_ACCOUNTS  # the benchmark's 10 000 PSUs with 2 accounts each fit
    world = parse_scenario(with_generate(psus=100, accounts_per_psu=10), "bulk.yaml")
    assert sum(len(p.accounts) for p in world.psus) >= 1000


def read_schema_generate() -> dict:
    import json

    from mock_aspsp.resources import schemas_dir

    return json.loads((schemas_dir() / "scenario.schema.json").read_text(encoding="utf-8"))["$defs"]["generate"]


def test_the_admin_swap_of_a_huge_world_is_a_422_at_once(client):
    started = time.monotonic()
    response = client.put("/__admin/scenario", data=with_generate(psus=200_000, accounts_per_psu=10),
                          content_type="application/yaml")
    assert response.status_code == 422 and time.monotonic() - started < 2
    assert any(p.startswith("PUT /__admin/scenario") and "generate.psus" in p for p in response.get_json()["problems"])


# -- a swapped scenario: parsed once per process, never again by a respawned worker ------------
def test_the_master_catches_up_before_forking_so_a_respawned_worker_does_not_parse(tmp_path, monkeypatch):
    store = open_store(None, str(tmp_path / "state.sqlite3"))
    world, text = read_scenario(default_scenario())
    master = Sandbox(store, world, text, Clock())
    worker = Sandbox(store, world, text, Clock())  # the worker that took the PUT
    document = yaml.safe_load(text)
    document["name"] = "swapped"
    worker.swap_scenario(yaml.safe_dump(document), ADMIN_SOURCE)
    master.catch_up()  # gunicorn's pre_fork, in the master, before a worker is (re)spawned
    parses = []
    monkeypatch.setattr("mock_aspsp.sandbox.parse_scenario", lambda *a: parses.append(a) or world)
    assert master.snapshot().scenario.name == "swapped"  # what the forked worker serves at once...
    assert parses == []  # ...without parsing it again


def test_catching_up_survives_an_unreachable_store(tmp_path, caplog):
    store = open_store(None, str(tmp_path / "state.sqlite3"))
    world, text = read_scenario(default_scenario())
    master = Sandbox(store, world, text, Clock())

    def unavailable():
        from mock_aspsp.store.records import StoreUnavailable
        raise StoreUnavailable("down")

    store.sync_state = unavailable
    master.catch_up()  # logs, does not stop gunicorn from spawning the worker
    assert "down" in caplog.text


def test_serve_catches_up_before_each_fork(monkeypatch, tmp_path):
    from mock_aspsp.tools import cli, serving

    captured = {}
    monkeypatch.setattr(serving, "serve", lambda app, host, port, workers, limits, tls, hooks: captured.update(
        hooks=hooks, sandbox=app.extensions["mock_aspsp"]))
    from mock_aspsp.testing import free_port

    assert cli.main(["serve", "--db", str(tmp_path / "state.sqlite3"), "--port", str(free_port())]) == 0
    assert captured["hooks"].before_fork == captured["sandbox"].catch_up


def test_both_servers_run_the_hook_before_each_fork(monkeypatch):
    """granian has no pre-fork hook: the server class calls it where it builds each worker process."""
    from granian.server import Server

    from mock_aspsp.tools import serving

    calls = []
    monkeypatch.setattr(Server, "_spawn_worker", lambda self, *args: ("worker", args))
    server = serving._granian_server(lambda: calls.append(1)).__new__(serving._granian_server(lambda: calls.append(2)))
    assert server._spawn_worker(0, "target", "loader") == ("worker", (0, "target", "loader"))
    assert calls == [2]
    assert serving._granian_server(None) is Server


# -- quoted values are cut short ------------------------------------------------------------
def test_a_15_mb_name_is_not_echoed_back(client):
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["name"] = "x" * (15 * 1024 * 1024)
    document["psus"][0]["consent_iban"] = "y" * 100_000
    response = client.put("/__admin/scenario", data=yaml.safe_dump(document), content_type="application/yaml")
    assert response.status_code == 422
    assert len(response.get_data()) < ANSWER_MAX, len(response.get_data())
    assert any(p.startswith("PUT /__admin/scenario") and "name" in p for p in response.get_json()["problems"])


def test_problems_quote_at_most_about_200_characters_of_a_value():
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["banks"][0]["name"] = "n" * 5000
    document["psus"][0]["consent_iban"] = "c" * 5000
    document["tpps"][0]["redirect_uris"] = ["u" * 5000]
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(yaml.safe_dump(document), "long.yaml")
    assert all(len(str(p)) < 400 for p in refused.value.problems), [len(str(p)) for p in refused.value.problems]


def test_a_huge_unknown_key_or_client_id_is_not_echoed_back():
    """An unknown key is named in the problem's path and its reason; a client_id in the identifier's."""
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document["psus"][0]["k" * 100_000] = 1
    document["tpps"][0]["client_id"] = "PSDFR-" + "A" * 100_000
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(yaml.safe_dump(document, width=10 ** 9), "long.yaml")
    problems = [str(p) for p in refused.value.problems]
    assert any("unknown key" in p for p in problems) and any("organization identifier" in p for p in problems), \
        [p[:200] for p in problems]
    assert all(len(p) < 1000 for p in problems), [len(p) for p in problems]


@pytest.mark.parametrize("query", [
    {"client_id": "A" * 100_000},
    {"client_id": CLIENT_ID, "redirect_uri": "https://x.example/" + "h" * 100_000},
])
def test_an_authorize_page_does_not_echo_a_huge_parameter(client, query):
    params = {"response_type": "code", "scope": "cbpii", "state": "s", "redirect_uri": REDIRECT_URI, **query}
    response = client.get("/authorize", query_string=params)
    assert response.status_code == 400 and len(response.get_data()) < 10_000, len(response.get_data())


@pytest.mark.parametrize("form", [
    {"client_id": "A" * 100_000, "grant_type": "refresh_token", "refresh_token": "x"},
    {"client_id": CLIENT_ID, "token": "x", "token_type_hint": "h" * 100_000},
    {"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": "x", "k" * 100_000: ["a", "b"]},
])
def test_an_oauth_error_does_not_echo_a_huge_parameter(client, form):
    path = "/revoke" if "token" in form else "/token"
    response = client.post(path, data=form)
    assert response.status_code in (400, 401) and len(response.get_data()) < 1000, len(response.get_data())


def test_a_repeated_huge_parameter_at_authorize_is_cut(client):
    query = [("response_type", "code"), ("client_id", CLIENT_ID), ("redirect_uri", REDIRECT_URI), ("scope", "cbpii"),
             ("state", "s"), ("z" * 100_000, "a"), ("z" * 100_000, "b")]
    response = client.get("/authorize", query_string=query)
    assert response.status_code == 302 and len(response.headers["Location"]) < 1000
