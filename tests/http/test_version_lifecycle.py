"""API version lifecycle (README, "API version lifecycle"): a scenario's ``settings.versions`` dates, on the
mock clock moved through the admin API, before and after each date."""
from __future__ import annotations

import pytest
import yaml

from mock_aspsp.bank.scenario import ScenarioError, parse_scenario
from mock_aspsp.resources import default_scenario
from support import assert_error_model, scenario_variant

DEPRECATED_ON, DECOMMISSIONED_ON = "2026-02-01", "2026-03-01"  # the tests' real time is 2026-01-15
SUNSET = "Sun, 01 Mar 2026 00:00:00 GMT"


def _lifecycle(document):
    document.setdefault("settings", {})["versions"] = {
        "v1": {"deprecated_on": DEPRECATED_ON, "decommissioned_on": DECOMMISSIONED_ON},
        "v1.6.2": {"deprecated_on": "2026-06-01"},
    }


@pytest.fixture
def scenario_path(tmp_path):
    return scenario_variant(tmp_path, "default", _lifecycle)


def set_clock(client, instant):
    response = client.post("/__admin/clock", json={"set": instant})
    assert response.status_code == 200, response.get_json()


def states(client):
    response = client.get("/__admin/versions")
    assert response.status_code == 200, response.get_json()
    return {v["version"]: v for v in response.get_json()["versions"]}


def test_before_the_first_date_the_version_answers_plainly(client, tpp):
    token = tpp.tokens(scope="piisp")["access_token"]
    response = tpp.confirm(token, version="v1")
    assert response.status_code == 200, response.get_json()
    assert "Warning" not in response.headers and "Sunset" not in response.headers
    v1 = states(client)["v1"]
    assert (v1["state"], v1["deprecated_on"], v1["decommissioned_on"]) == ("active", DEPRECATED_ON, DECOMMISSIONED_ON)
    assert states(client)["v1.4.2"] == {"version": "v1.4.2", "stet": "1.4.2.17", "scope": "cbpii",
                                        "path": "/stet/psd2/v1.4.2", "deprecated_on": None,
                                        "decommissioned_on": None, "state": "active"}


def test_from_the_deprecation_day_every_answer_carries_warning_299_and_sunset(client, tpp):
    set_clock(client, "2026-01-31T23:59:59Z")
    token = tpp.tokens(scope="piisp")["access_token"]
    assert "Warning" not in tpp.confirm(token, version="v1").headers
    set_clock(client, f"{DEPRECATED_ON}T00:00:00Z")  # one second later: the token still lives
    answers = {"report": tpp.confirm(token, version="v1"), "alias": tpp.confirm(token, version="v1", prefix=""),
               "error": tpp.confirm("no-such-token", version="v1"), "document": client.get("/stet/psd2/v1/openapi.json")}
    assert {name: r.status_code for name, r in answers.items()} == {"report": 200, "alias": 200, "error": 401,
                                                                    "document": 200}  # deprecated, still served
    for response in answers.values():
        assert response.headers["Warning"] == (f'299 - "API version v1 is deprecated since {DEPRECATED_ON}, '
                                               f'removed on {DECOMMISSIONED_ON}"')
        assert response.headers["Sunset"] == SUNSET
    assert "Warning" not in client.get("/stet/psd2/v1.4.2/openapi.json").headers  # other versions untouched
    assert states(client)["v1"]["state"] == "deprecated"


def test_deprecated_without_a_removal_day_warns_without_sunset(client):
    set_clock(client, "2026-06-01T08:00:00Z")
    response = client.get("/stet/psd2/v1.6.2/openapi.json")
    assert response.headers["Warning"] == '299 - "API version v1.6.2 is deprecated since 2026-06-01"'
    assert "Sunset" not in response.headers
    assert states(client)["v1.6.2"]["state"] == "deprecated"


def test_from_the_decommission_day_the_version_answers_404(client, tpp):
    set_clock(client, "2026-02-28T23:59:59Z")
    token = tpp.tokens(scope="piisp")["access_token"]
    assert tpp.confirm(token, version="v1").status_code == 200
    set_clock(client, f"{DECOMMISSIONED_ON}T00:00:00Z")
    for response in (tpp.confirm(token, version="v1"), tpp.confirm(token, version="v1", prefix=""),
                     client.get("/stet/psd2/v1/openapi.json")):
        body = assert_error_model(response, 404, version="v1")
        assert body["message"] == (f"API version v1 was decommissioned on {DECOMMISSIONED_ON}; "
                                   "this bank serves v1.4.2, v1.6.2")
        assert response.headers["Sunset"] == SUNSET
    assert states(client)["v1"]["state"] == "decommissioned"
    assert client.get("/stet/psd2/v1.4.2/openapi.json").status_code == 200
    set_clock(client, "2026-02-28T23:59:59Z")
    assert tpp.confirm(token, version="v1").status_code == 200  # the clock decides, nothing is stored


def _problems(settings_versions) -> list[str]:
    document = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
    document.setdefault("settings", {})["versions"] = settings_versions
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(yaml.safe_dump(document, sort_keys=False), "lifecycle.yaml")
    return [str(p) for p in refused.value.problems]


@pytest.mark.parametrize(("versions", "expected"), [
    ({"v1": {"deprecated_on": "2026-02-30"}},
     "settings.versions.v1.deprecated_on: 2026-02-30 is not a calendar day"),
    ({"v1": {"deprecated_on": "2026-03-01", "decommissioned_on": "2026-03-01"}},
     "settings.versions.v1.decommissioned_on: 2026-03-01 is not after deprecated_on (2026-03-01)"),
    ({"v2": {"deprecated_on": "2026-03-01"}}, "settings.versions.v2: unknown key 'v2'"),
    ({"v1": {"decommissioned_on": "2026-03-01"}}, "settings.versions.v1: 'deprecated_on' is a required property"),
    ({"v1": {"deprecated_on": "1st of March"}}, "settings.versions.v1.deprecated_on: '1st of March' does not match"),
])
def test_a_bad_lifecycle_is_refused_with_file_path_and_reason(versions, expected):
    problems = _problems(versions)
    assert len(problems) == 1 and problems[0].startswith("lifecycle.yaml:") and expected in problems[0], problems


def test_the_scenario_format_names_exactly_the_served_versions():
    """``settings.versions`` keys are the version table's prefixes: the schema cannot drift from it."""
    import json

    from mock_aspsp.resources import schemas_dir
    from mock_aspsp.stet.versions import PREFIXES

    schema = json.loads((schemas_dir() / "scenario.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["$defs"]["settings"]["properties"]["versions"]["properties"]) == PREFIXES
