"""Scenario files: every problem is reported with file, line and path; bulk data is valid and reproducible."""
from __future__ import annotations

import textwrap

import pytest

from mock_aspsp.bank.iban import is_valid_iban
from mock_aspsp.bank.scenario import (
    Problem,
    ScenarioError,
    french_iban,
    generate_psus,
    parse_scenario,
    read_scenario,
)

SOURCE = "world.yaml"

# A small valid world; tests break it in one place. Line numbers below refer to this text.
VALID = textwrap.dedent(
    """\
    name: small
    banks:
      - code: "30007"
        name: Banque A
        default: true
      - code: "13807"
        name: Banque B
    tpps:
      - client_id: PSDFR-ACPR-12345
        name: Carte SAS
        redirect_uris: [https://tpp.example.com/callback]
    psus:
      - login: alice
        password: pw
        otp: "123456"
        accounts:
          - iban: FR7630007000010001234560191
            balance: "10"
          - iban: YY13RDHN98392489481620896668799742
            balance: "20"
      - login: bruno
        password: pw
        otp: "123456"
        bank: "13807"
        accounts:
          - iban: FR7613807000100001111110185
            balance: "30"
    """
)


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, SOURCE)
    assert str(caught.value)  # the message lists the problems
    for problem in caught.value.problems:
        assert problem.source == SOURCE
    return caught.value.problems


def only_problem(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    """1-based line number of the nth line containing ``fragment``."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    return hits[nth - 1]


def test_the_base_world_is_valid():
    scenario = parse_scenario(VALID, SOURCE)
    assert scenario.default_bank == "30007"
    assert scenario.psu("13807", "bruno").accounts[0].bank == "13807"
    assert scenario.psu("30007", "alice").consent_iban == "FR7630007000010001234560191"
    assert scenario.psu("30007", "bruno") is None


def test_bad_bank_code_names_file_line_and_path():
    text = VALID.replace('code: "13807"', 'code: "1380A"')
    problem = problems_of(text)[0]  # then bruno's bank 13807, no longer in 'banks'
    assert problem.path == "banks[1].code"
    assert problem.line == line_of(text, "1380A")
    assert "1380A" in problem.reason
    assert str(problem).startswith(f"{SOURCE}:{problem.line}: banks[1].code: ")


def test_duplicate_key_in_yaml_is_refused_with_its_line():
    text = VALID.replace("    name: Banque B\n", "    name: Banque B\n    name: Banque C\n")
    problem = only_problem(text)
    assert "duplicate key 'name'" in problem.reason
    assert problem.line == line_of(text, "Banque C")


def test_duplicate_login_at_one_bank():
    text = VALID.replace("login: bruno", "login: alice").replace('    bank: "13807"\n', "").replace(
        "FR7613807000100001111110185", "FR7630007000020009876540145"
    )
    problem = only_problem(text)
    assert problem.path == "psus[1].login"
    assert problem.line == line_of(text, "login: alice", 2)
    assert "alice" in problem.reason


def test_the_same_login_at_two_banks_is_fine():
    parse_scenario(VALID.replace("login: bruno", "login: alice"), SOURCE)


def test_bad_iban_check_digits():
    text = VALID.replace("FR7630007000010001234560191", "FR7730007000010001234560191")
    problem = only_problem(text)
    assert problem.path == "psus[0].accounts[0].iban"
    assert problem.line == line_of(text, "FR7730007000010001234560191")
    assert "mod-97" in problem.reason


def test_unknown_bank_reference():
    text = VALID.replace('bank: "13807"', 'bank: "99999"')
    problem = only_problem(text)
    assert problem.path == "psus[1].bank"
    assert problem.line == line_of(text, 'bank: "99999"')
    assert "99999" in problem.reason


def test_consent_iban_must_be_one_of_the_psus_accounts():
    text = VALID.replace(
        "    bank: \"13807\"\n", "    bank: \"13807\"\n    consent_iban: FR7630007000010001234560191\n"
    )
    problem = only_problem(text)
    assert problem.path == "psus[1].consent_iban"
    assert problem.line == line_of(text, "consent_iban")


def test_duplicate_client_id():
    text = VALID.replace(
        "psus:\n",
        "  - client_id: PSDFR-ACPR-12345\n    name: Copie\n    redirect_uris: [https://x.example/cb]\npsus:\n",
    )
    problem = only_problem(text)
    assert problem.path == "tpps[1].client_id"
    assert problem.line == line_of(text, "client_id", 2)


def test_every_cross_reference_problem_is_reported_at_once():
    text = (
        VALID.replace('bank: "13807"', 'bank: "99999"')
        .replace("FR7630007000010001234560191", "FR7730007000010001234560191")
    )
    paths = {p.path for p in problems_of(text)}
    assert paths == {"psus[1].bank", "psus[0].accounts[0].iban"}


def test_every_schema_problem_is_reported_at_once():
    text = VALID.replace('code: "13807"', 'code: "1380A"').replace('otp: "123456"', 'otp: "12"', 1)
    problems = problems_of(text)
    # bruno's bank 13807 is not in 'banks' any more: a problem of its own, in the same pass
    assert {p.path for p in problems} == {"banks[1].code", "psus[0].otp", "psus[1].bank"}
    assert all(p.line for p in problems)


def test_unknown_key_and_missing_required_key():
    text = VALID.replace("    name: Carte SAS\n", "    nom: Carte SAS\n")
    problems = {p.path: p for p in problems_of(text)}
    assert set(problems) == {"tpps[0]", "tpps[0].nom"}
    assert "'name' is a required property" in problems["tpps[0]"].reason
    assert problems["tpps[0]"].line == line_of(text, "client_id")  # where the mapping missing it starts
    assert problems["tpps[0].nom"].line == line_of(text, "nom: Carte SAS")  # the misspelt key's own line
    assert "unknown key 'nom'" in problems["tpps[0].nom"].reason
    assert "did you mean 'name'?" in problems["tpps[0].nom"].reason


def test_a_misspelt_key_deep_down_is_pointed_at_itself_with_the_expected_keys():
    text = VALID.replace('        balance: "20"\n', '        balance: "20"\n        overdraf: "5"\n')
    problem = only_problem(text)
    assert problem.path == "psus[0].accounts[1].overdraf"
    assert problem.line == line_of(text, "overdraf")
    assert "did you mean 'overdraft'?" in problem.reason and "iban" in problem.reason


def test_two_unknown_keys_of_one_mapping_are_two_problems_at_their_lines():
    text = VALID.replace("    default: true\n", "    defualt: true\n    colour: blue\n")
    problems = problems_of(text)
    assert [(p.path, p.line) for p in problems] == [
        ("banks[0].defualt", line_of(text, "defualt")), ("banks[0].colour", line_of(text, "colour"))]
    assert "did you mean 'default'?" in problems[0].reason and "did you mean" not in problems[1].reason


def test_schema_and_cross_reference_problems_come_in_one_pass_in_file_order():
    text = (
        VALID.replace('otp: "123456"', 'otp: "12"', 1)  # schema
        .replace('bank: "13807"', 'bank: "99999"')  # reference
        .replace("FR7630007000010001234560191", "FR7730007000010001234560191")  # check digits
        .replace("    name: Carte SAS\n", "    nom: Carte SAS\n")  # schema: unknown and missing key
    )
    problems = problems_of(text)
    assert [p.path for p in problems] == [
        "tpps[0]", "tpps[0].nom", "psus[0].otp", "psus[0].accounts[0].iban", "psus[1].bank"]
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert all(p.line for p in problems)


def test_a_value_the_schema_refuses_is_not_reported_twice():
    text = VALID.replace("FR7630007000010001234560191", "FR76 3000")  # bad shape, so bad check digits too
    assert only_problem(text).path == "psus[0].accounts[0].iban"


@pytest.mark.parametrize("change", [
    ("banks:\n  - code", "banks:\n  - 42\n  - code"),  # an entry that is not a mapping
    ('code: "30007"', "code: [30007]"),
    ("tpps:\n", "tpps: PSDFR-ACPR-12345\nx_tpps:\n"),
    ("    accounts:\n      - iban: FR76300070000100", "    accounts: none\n    x_accounts:\n      - iban: FR76300070000100"),
    ('        balance: "30"\n', '        balance: "30"\nrules:\n  - action: [status]\n    match: 3\n'),
    ("name: small\n", "name: small\nsettings: {tokens: [PT1H], sca: {consent_timeout: 5}}\n"),
    ("name: small\n", "name: small\ngenerate: [bank]\ntrusted_cas: [42]\n"),
    ("    password: pw\n", "    password: pw\n    consent_iban: [x]\n"),
    ("login: bruno", "login: {bruno: 1}"),
])
def test_misshapen_parts_give_schema_problems_and_never_a_crash(change):
    problems = problems_of(VALID.replace(*change))
    assert all(p.path and p.line for p in problems), problems


def test_invalid_yaml_syntax_names_the_line():
    text = VALID.replace("    name: Banque B\n", "    name: [Banque B\n")
    problem = only_problem(text)
    assert problem.reason.startswith("not valid YAML")
    assert problem.line is not None and problem.line >= line_of(text, "[Banque B")


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "", "42\n"])
def test_a_document_that_is_not_a_mapping_is_refused(text):
    problem = only_problem(text)
    assert "mapping" in problem.reason
    assert problem.line == 1


def test_yaml_values_that_are_not_json_become_schema_problems():
    problem = only_problem(VALID.replace('balance: "10"', "balance: 2026-01-15"))
    assert problem.path == "psus[0].accounts[0].balance"


def test_unreadable_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as caught:
        read_scenario(missing)
    [problem] = caught.value.problems
    assert problem.source == str(missing)
    assert "cannot read" in problem.reason

    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ScenarioError) as caught:
        read_scenario(binary)
    assert "cannot read" in caught.value.problems[0].reason

    with pytest.raises(ScenarioError):
        read_scenario(tmp_path)  # a directory


def test_read_scenario_returns_the_text(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(VALID, encoding="utf-8")
    scenario, text = read_scenario(path)
    assert text == VALID
    assert scenario.source == str(path)


def test_unknown_generate_bank_is_refused():
    problem = only_problem(VALID + 'generate: {psus: 2, bank: "99999"}\n')
    assert problem.path == "generate.bank"


def test_settings_become_durations():
    text = VALID.replace(
        "banks:", "settings:\n  tokens: {access_token_lifetime: PT30M}\n  sca: {consent_timeout: PT90S}\nbanks:"
    )
    settings = parse_scenario(text, SOURCE).settings
    assert settings.tokens.access_token_lifetime.total_seconds() == 1800
    assert settings.sca.consent_timeout.total_seconds() == 90
    assert settings.tokens.refresh_token_lifetime.days == 180  # default kept


@pytest.mark.parametrize("value", ["P1M", "P1Y", "PT", "1H"])
def test_bad_durations_in_settings_are_refused(value):
    problem = only_problem(VALID.replace("banks:", f"settings:\n  tokens: {{access_token_lifetime: {value}}}\nbanks:"))
    assert problem.path == "settings.tokens.access_token_lifetime"


# -- bulk data -------------------------------------------------------------------
def test_french_iban_is_valid_and_french():
    iban = french_iban("30007", "00001", "00012345601")
    assert iban.startswith("FR") and len(iban) == 27 and is_valid_iban(iban)
    assert iban[4:9] == "30007" and iban[9:14] == "00001"


def test_generated_psus_are_reproducible_from_a_seed():
    first = generate_psus({"psus": 50, "seed": 42}, "30007")
    again = generate_psus({"psus": 50, "seed": 42}, "30007")
    other = generate_psus({"psus": 50, "seed": 43}, "30007")
    assert first == again
    assert [a.iban for p in first for a in p.accounts] != [a.iban for p in other for a in p.accounts]
    assert [p.name for p in first] != [p.name for p in other]


def test_generated_psus_have_valid_ibans_and_follow_the_spec():
    psus = generate_psus(
        {"psus": 200, "seed": 7, "accounts_per_psu": 3, "bank": "13807", "otp": "9999", "sca": "refuse"}, "30007"
    )
    assert len(psus) == 200
    for psu in psus:
        assert psu.bank == "13807" and psu.otp == "9999" and psu.sca == "refuse"
        assert len(psu.accounts) == 3
        assert psu.consent_iban == psu.accounts[0].iban
        for account in psu.accounts:
            assert is_valid_iban(account.iban), account.iban
            assert account.iban[4:9] == "13807"
            assert account.segment == psu.segment and account.psu == psu.login


def test_ten_thousand_generated_psus_load_through_a_scenario_file():
    scenario = parse_scenario(VALID + "generate: {psus: 10000, seed: 42}\n", SOURCE)
    assert len(scenario.psus) == 2 + 10000
    generated = scenario.psus[2:]
    assert len({p.login for p in generated}) == 10000
    ibans = [a.iban for p in generated for a in p.accounts]
    assert len(ibans) == 20000 and len(set(ibans)) == 20000
    assert all(is_valid_iban(i) for i in ibans)
    last = generated[-1]
    assert scenario.psu("30007", last.login) is last
    assert scenario.account("30007", last.accounts[1].iban) == last.accounts[1]


def test_a_scenario_starts_conformance_plans_per_tpp():
    scenario = parse_scenario(VALID + "conformance:\n  - client_id: PSDFR-ACPR-12345\n"
                                      "    modules: [rate-limited, funds-false]\n", SOURCE)
    assert [(p.client_id, p.modules) for p in scenario.conformance] == [
        ("PSDFR-ACPR-12345", ("rate-limited", "funds-false"))]
    assert parse_scenario(VALID, SOURCE).conformance == ()


def test_every_conformance_problem_has_its_file_line_and_path():
    text = VALID + textwrap.dedent("""\
        conformance:
          - client_id: PSDFR-ACPR-99999
            modules: [rate-limited]
          - client_id: PSDFR-ACPR-12345
            modules: [rate-limited, no-such-module, rate-limited]
          - client_id: PSDFR-ACPR-12345
            modules: [funds-false]
          - client_id: PSDFR-ACPR-12345
            modules: []
            extra: 1
        """)
    problems = {p.path: (p.line, p.reason) for p in problems_of(text)}
    assert problems["conformance[0].client_id"] == (
        line_of(text, "PSDFR-ACPR-99999"), "no TPP with client_id 'PSDFR-ACPR-99999' in 'tpps'")
    assert problems["conformance[1].modules[1]"][1].startswith("unknown module 'no-such-module'; known: ")
    assert "service-unavailable" in problems["conformance[1].modules[1]"][1]
    assert problems["conformance[1].modules[2]"][1] == "rate-limited is already in this plan (each module runs once)"
    assert problems["conformance[2].client_id"] == (
        line_of(text, "PSDFR-ACPR-12345", 3), "PSDFR-ACPR-12345 already has a plan in conformance[1]")
    assert {"conformance[3].modules", "conformance[3].extra", "conformance[3].client_id"} <= set(problems)
    assert len(problems) == 7, problems
