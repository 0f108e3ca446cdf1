"""Property tests of the scenario loader: any input loads or is refused with clear problems.

Whatever the text (arbitrary characters, arbitrary YAML data, or the shipped
default scenario with parts replaced, removed or added), ``parse_scenario``
either returns a ``Scenario`` or raises ``ScenarioError`` whose every problem
names the source; no other exception ever escapes.
"""
from __future__ import annotations

import copy
import datetime

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_aspsp.bank.scenario import Scenario, ScenarioError, parse_scenario
from mock_aspsp.resources import default_scenario

SOURCE = "fuzzed-scenario.yaml"
DEFAULT = yaml.safe_load(default_scenario().read_text(encoding="utf-8"))
PROPERTY_SETTINGS = settings(
    max_examples=200, derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
    | st.dates() | st.datetimes(timezones=st.just(datetime.timezone.utc))
    # Values that look like the real ones, so they get past the schema sometimes.
    | st.sampled_from(["30007", "PT1H", "P180D", "FR7630007000020009876540145", "PSDFR-ACPR-12345",
                       "approve", "interactive", "blocked", "EUR", "12.50", "-1", "PSP_IC"])
)
keys = st.text(max_size=20) | st.sampled_from(
    ["banks", "tpps", "psus", "settings", "rules", "generate", "code", "name", "login", "accounts", "iban",
     "balance", "client_id", "redirect_uris", "roles", "default", "status", "sca", "tokens", "bank"])
yaml_data = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


def check(text: str) -> None:
    """The property: a Scenario, or a ScenarioError whose problems all name the source."""
    try:
        scenario = parse_scenario(text, SOURCE)
    except ScenarioError as error:
        assert error.problems, "a refused scenario must say why"
        for problem in error.problems:
            assert SOURCE in str(problem), str(problem)
            assert problem.reason
        return
    assert isinstance(scenario, Scenario)


def paths(node, prefix=()):
    """Every path into the document (to a mapping value or a list item)."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, prefix + (index,))


DEFAULT_PATHS = [p for p in paths(DEFAULT) if p]


@st.composite
def mutated_default(draw):
    """The shipped default scenario with a few parts replaced, removed or added."""
    document = copy.deepcopy(DEFAULT)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(DEFAULT_PATHS))
        parent = document
        try:
            for step in path[:-1]:
                parent = parent[step]
            action = draw(st.sampled_from(["replace", "remove", "add"]))
            if action == "replace":
                parent[path[-1]] = draw(yaml_data)
            elif action == "remove":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(keys)] = draw(yaml_data)
            else:
                parent.append(draw(yaml_data))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this part
    return document


def test_the_shipped_default_loads():
    check(default_scenario().read_text(encoding="utf-8"))


@PROPERTY_SETTINGS
@given(st.text())
def test_any_text(text):
    check(text)


@PROPERTY_SETTINGS
@given(st.text(alphabet=st.sampled_from(list("abc:-[]{}#&*!|>'\"%@`,?\n\t 0123456789.~")), max_size=80))
def test_any_yaml_looking_text(text):
    check(text)


@PROPERTY_SETTINGS
@given(yaml_data)
def test_any_yaml_data(data):
    check(yaml.safe_dump(data, allow_unicode=True))


@PROPERTY_SETTINGS
@given(mutated_default())
def test_the_default_scenario_with_parts_replaced_removed_or_added(document):
    check(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))


@PROPERTY_SETTINGS
@given(mutated_default(), st.integers(0, 400))
def test_a_cut_or_corrupted_default_scenario(document, cut):
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    check(text[:cut])
    check(text[:cut] + "\t: [" + text[cut:])
