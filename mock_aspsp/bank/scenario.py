"""Scenario files: YAML worlds turned into frozen dataclasses.

A scenario is read-only data loaded at start (or swapped whole by the admin
API). A bad file is refused with every problem at once, each with the file,
line, path inside the document and the reason, so a user fixes it in one go.
"""
from __future__ import annotations

import difflib
import itertools
import json
import os
import random
import re
import stat
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Iterable, Optional

import yaml

from ..conformance.modules import MODULES
from ..formats.quoting import QUOTE_MAX, cut, quoted
from ..formats.validation import schema_set
from ..stet.versions import NO_LIFECYCLE, Lifecycle
from ..tpp.certificates import CertificateRejected, TppCertificate, load_ca_bundle, load_certificate, normalize_fingerprint
from ..tpp.organization import InvalidOrganizationIdentifier, parse_organization_identifier
from ..tpp.registry import CARD_ISSUER_ROLE
from .clock import parse_duration
from .faults import FaultRule, build_rule, rule_problems
from .iban import is_valid_iban, with_check_digits

_DURATION_SUFFIXES = ("_lifetime", "_timeout", "_after", ".duration")
MAX_SETTING_DURATION = timedelta(days=36500)
# Bulk data is built by every worker that loads the scenario: a few seconds at most (BENCHMARKS.md
# measures start-up with exactly these 10 000 PSUs and 20 000 accounts).
MAX_GENERATED_PSUS = 10_000
MAX_GENERATED_ACCOUNTS = 20_000


@dataclass(frozen=True)
class Bank:
    code: str
    name: str


@dataclass(frozen=True)
class Account:
    iban: str
    bank: str
    psu: str
    name: str
    currency: str
    balance: Decimal
    overdraft: Decimal
    status: str
    segment: str


@dataclass(frozen=True)
class Psu:
    login: str
    password: str
    otp: str
    name: str
    bank: str
    segment: str
    sca: str
    consent_iban: str
    accounts: tuple[Account, ...]


@dataclass(frozen=True)
class Tpp:
    client_id: str
    name: str
    roles: frozenset[str]
    redirect_uris: tuple[str, ...]
    status: str
    certificates: tuple[TppCertificate, ...] = ()  # QWAC / QSealC, parsed at load time
    denied: Optional[str] = None  # the bank denies access, for this reason
    registered: ClassVar[bool] = False  # by the scenario; ``tpp.registration.RegisteredTpp``: by the TPP itself

    @property
    def organization_identifier(self) -> str:
        """What its QWAC and QSealC must carry: a scenario's TPP is named by it."""
        return self.client_id


@dataclass(frozen=True)
class TokenSettings:
    access_token_lifetime: timedelta = timedelta(hours=1)
    refresh_token_lifetime: timedelta = timedelta(days=180)
    authorization_code_lifetime: timedelta = timedelta(minutes=5)
    reauthentication_after: timedelta = timedelta(days=180)


@dataclass(frozen=True)
class PsuLockout:
    """Consecutive wrong passwords and one-time codes of a login, across journeys, before it is locked."""

    attempts: int = 5
    duration: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class ScaSettings:
    identification_timeout: timedelta = timedelta(minutes=5)
    authentication_timeout: timedelta = timedelta(minutes=5)
    consent_timeout: timedelta = timedelta(minutes=5)
    otp_attempts: int = 3
    timeout_error: str = "access_denied"
    psu_lockout: PsuLockout = PsuLockout()


@dataclass(frozen=True)
class Settings:
    tokens: TokenSettings = TokenSettings()
    sca: ScaSettings = ScaSettings()
    ineligible_accounts: str = "error"
    journal_size: int = 10_000
    strictness: str = "lenient"  # strict: QWAC at /token and QSealC signature on API calls required
    require_pkce: bool = False  # /authorize refuses a request without code_challenge (RFC 7636)
    pkce_methods: tuple[str, ...] = ("S256",)  # code_challenge_method values accepted; "plain" only if listed
    sign_responses: bool = False  # funds-confirmations 200s carry Digest and the bank's QSealC Signature
    versions: tuple[tuple[str, Lifecycle], ...] = ()  # (prefix, lifecycle) of the versions given one

    def lifecycle(self, prefix: str) -> Lifecycle:
        return next((lifecycle for name, lifecycle in self.versions if name == prefix), NO_LIFECYCLE)


@dataclass(frozen=True)
class ConformancePlan:
    """A go-live plan the scenario starts for one TPP (``conformance.plans``): its active modules, in order."""

    client_id: str
    modules: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    """One world; look-ups go through the indexes built once at load time."""

    name: str
    description: str
    source: str
    settings: Settings
    banks: tuple[Bank, ...]
    default_bank: str
    psus: tuple[Psu, ...]
    tpps: tuple[Tpp, ...]
    rules: tuple[FaultRule, ...] = ()
    trusted_cas: tuple = ()  # x509.Certificate of the CAs whose TPP certificates the bank accepts
    revoked_certificates: frozenset[str] = frozenset()  # SHA-256 fingerprints, lowercase hex
    conformance: tuple[ConformancePlan, ...] = ()  # started on publishing and after each reset
    _certificates: dict = field(repr=False, compare=False, default_factory=dict)
    _banks: dict = field(repr=False, compare=False, default_factory=dict)
    _psus: dict = field(repr=False, compare=False, default_factory=dict)
    _accounts: dict = field(repr=False, compare=False, default_factory=dict)
    _tpps: dict = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._banks.update((b.code, b) for b in self.banks)
        self._psus.update(((p.bank, p.login), p) for p in self.psus)
        self._accounts.update(((a.bank, a.iban), a) for p in self.psus for a in p.accounts)
        self._tpps.update((t.client_id, t) for t in self.tpps)
        self._certificates.update((c.sha256, c) for t in self.tpps for c in t.certificates)

    def bank(self, code: str) -> Optional[Bank]:
        return self._banks.get(code)

    def psu(self, bank: str, login: str) -> Optional[Psu]:
        return self._psus.get((bank, login))

    def account(self, bank: str, iban: str) -> Optional[Account]:
        return self._accounts.get((bank, iban))

    def tpp(self, client_id: str) -> Optional[Tpp]:
        return self._tpps.get(client_id)

    def certificate(self, sha256: str) -> Optional[TppCertificate]:
        """A registered TPP certificate (of any TPP) by its SHA-256 fingerprint: how a keyId is resolved."""
        return self._certificates.get(sha256)


@dataclass(frozen=True)
class Problem:
    source: str
    line: Optional[int]
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.path or '(document)'}: {self.reason}"


class ScenarioError(Exception):
    """A scenario that cannot be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# -- YAML with line numbers -------------------------------------------------
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when PyYAML has it
    """Safe YAML that refuses duplicate keys instead of silently keeping the last."""


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a key cannot be a list or a mapping",
                                                    key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


MAX_NODES = 250_000  # bulk data is what 'generate' is for; counted with aliases expanded ("billion laughs")
_TEXT_PER_NODE = 64  # a long scalar counts as one node per 64 characters (aliases of one long text add up too)


def _check_size(root: yaml.Node) -> None:
    """Refuse a document whose aliases expand it past MAX_NODES, or refer to themselves, before
    anything is built from it (the JSON round trip below would expand every alias)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        if done:
            open_nodes.discard(id(node))
            own = 1 if children or not isinstance(node.value, str) else 1 + len(node.value) // _TEXT_PER_NODE
            sizes[id(node)] = min(MAX_NODES + 1, own + sum(sizes[id(c)] for c in children))
            if sizes[id(node)] > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"the document is too large once its aliases are expanded (more than {MAX_NODES} "
                    f"nodes, a long text counting as one per {_TEXT_PER_NODE} characters)", node.start_mark)
        elif id(node) not in sizes:
            if id(node) in open_nodes:
                raise yaml.composer.ComposerError(None, None, "an alias refers to its own anchor", node.start_mark)
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)


def _check_events(text: str) -> None:
    """Refuse an enormous document before its node tree is built: libyaml's events cost little."""
    scanner = _Loader(text)
    try:
        for count in itertools.count(1):
            if not scanner.check_event():
                return
            event = scanner.get_event()
            if count > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None, None, f"the document is too large (more than {MAX_NODES} nodes)", event.start_mark)
    finally:
        scanner.dispose()


def _compose_and_construct(text: str) -> tuple[Optional[yaml.Node], Any]:
    """Parse once: the node tree gives line numbers, the same tree gives the data."""
    _check_events(text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_size(node)
        try:
            return node, loader.construct_document(node)
        except (ValueError, TypeError) as error:  # a value YAML parses but Python cannot hold (month 13, 5000 digits)
            raise yaml.constructor.ConstructorError(None, None, str(error), None) from None
    finally:
        loader.dispose()


def _line_of(node: Optional[yaml.Node], path: Iterable[Any]) -> Optional[int]:
    """Follow a JSON path through the composed YAML nodes to report a line number."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == step]
            if not match:
                break
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _path_text(path: Iterable[Any]) -> str:
    text = ""
    for step in path:
        step = step if isinstance(step, int) else cut(str(step))  # a key: a scenario may hold a 15 MB one
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


SCENARIO_SCHEMA = "scenario.schema.json"


# -- loading -----------------------------------------------------------------
def read_scenario(path: str | Path) -> tuple[Scenario, str]:
    """Load a scenario file; returns it with its text, which the store keeps for other workers."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read the file: {error}")]) from None
    return parse_scenario(text, str(path)), text


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse, validate against the scenario schema, check cross-references, build."""
    try:
        node, document = _compose_and_construct(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        reason = getattr(error, "problem", None) or str(error)
        raise ScenarioError(
            [Problem(source, mark.line + 1 if mark else None, "", f"not valid YAML: {reason}")]
        ) from None
    if not isinstance(document, dict):
        raise ScenarioError([Problem(source, 1, "", "a scenario is a mapping with at least 'banks' and 'tpps'")])
    # JSON round trip: YAML dates, sets and other non-JSON values become schema errors, not crashes;
    # so do .inf and .nan (as the strings "Infinity" and "NaN": no amount or count can be either).
    document = json.loads(json.dumps(document, default=str), parse_constant=str)
    problems = _schema_problems(document, source, node)
    # One pass, every problem: the rules a schema cannot say run on the parts that have the right shape,
    # and say nothing more where the schema already refused the value.
    refused = {p.path for p in problems}
    certificates, certificate_problems = _load_certificates(document, source, node)
    problems += [p for p in _reference_problems(document, source, node) + certificate_problems
                 if p.path not in refused]
    if problems:
        raise ScenarioError(sorted(problems, key=lambda p: (p.line or 0, p.path)))
    return _build(document, source, certificates)


def _schema_problems(document: Any, source: str, node: Optional[yaml.Node]) -> list[Problem]:
    """Every schema error at its own line; an unknown (misspelt) key is pointed at itself, not at the
    mapping holding it, with the key it was probably meant to be."""
    problems = []
    for error in schema_set(SCENARIO_SCHEMA).validation_errors(None, document):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            for key in _unknown_keys(error.instance, error.schema):
                problems.append(Problem(source, _line_of(node, path + [key]), _path_text(path + [key]),
                                        _unknown_key_reason(key, error.schema)))
            continue
        problems.append(Problem(source, _line_of(node, path), _path_text(path), _schema_message(error)))
    return problems


def _unknown_keys(instance: dict, schema: dict) -> list[str]:
    patterns = schema.get("patternProperties", {})
    return [key for key in instance
            if key not in schema.get("properties", {}) and not any(re.search(p, key) for p in patterns)]


def _unknown_key_reason(key: str, schema: dict) -> str:
    known = list(schema.get("properties", {}))
    guess = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    return f"unknown key {quoted(key)} ({hint}expected: {', '.join(known)})"


def _entries(mapping: Any, key: str, kind: type = dict) -> list[tuple[int, Any]]:
    """The items of ``mapping[key]`` that have the right shape, with their index; any other shape is a
    schema problem already."""
    items = mapping.get(key) if isinstance(mapping, dict) else None
    return [(i, item) for i, item in enumerate(items) if isinstance(item, kind)] if isinstance(items, list) else []


def _text(mapping: dict, key: str) -> Optional[str]:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def _schema_message(error: Any) -> str:
    """The schema's message with the value it quotes cut short (``formats.quoting.quoted``), except for an
    organization identifier: the parser says which part is wrong."""
    if error.validator == "pattern" and list(error.absolute_path)[-1:] == ["client_id"]:
        try:
            parse_organization_identifier(error.instance)
        except InvalidOrganizationIdentifier as precise:
            return str(precise)
    whole = repr(error.instance)
    return error.message.replace(whole, quoted(error.instance)) if len(whole) > QUOTE_MAX else error.message


def _reference_problems(doc: dict, source: str, node: yaml.Node) -> list[Problem]:
    """Rules a schema cannot say: uniqueness, references between parts, IBAN check digits."""
    problems: list[Problem] = []

    def problem(path: list, reason: str) -> None:
        problems.append(Problem(source, _line_of(node, path), _path_text(path), reason))

    codes: dict[str, int] = {}
    for i, bank in _entries(doc, "banks"):
        code = bank.get("code")
        if isinstance(code, (str, int)) and not isinstance(code, bool):  # 30007 unquoted: a schema problem
            code = str(code)
            if code in codes:
                problem(["banks", i, "code"], f"bank code {code} is already used by banks[{codes[code]}]")
            codes.setdefault(code, i)
    defaults = [i for i, b in _entries(doc, "banks") if b.get("default") is True]
    if len(defaults) > 1:
        problem(["banks", defaults[1], "default"], "only one bank can be the default")

    logins: set = set()
    ibans: set = set()
    for i, psu in _entries(doc, "psus"):
        bank = _text(psu, "bank")
        if bank is not None and bank not in codes:
            problem(["psus", i, "bank"], f"no bank with code {bank} in 'banks'")
        login = _text(psu, "login")
        if login is not None and (bank, login) in logins:
            problem(["psus", i, "login"], f"login {login!r} is already used at this bank")
        logins.add((bank, login))
        own = []
        for j, account in _entries(psu, "accounts"):
            iban = _text(account, "iban")
            if iban is None:
                continue
            own.append(iban)
            if not is_valid_iban(iban):
                problem(["psus", i, "accounts", j, "iban"], f"{iban} fails the IBAN mod-97 check")
            if (bank, iban) in ibans:
                problem(["psus", i, "accounts", j, "iban"], f"{iban} is already held by another account")
            ibans.add((bank, iban))
        consent_iban = _text(psu, "consent_iban")
        if consent_iban is not None and consent_iban not in own:
            problem(["psus", i, "consent_iban"], f"{quoted(consent_iban)} is not one of this PSU's accounts")

    client_ids: set = set()
    for i, tpp in _entries(doc, "tpps"):
        client_id = _text(tpp, "client_id")
        if client_id is None:
            continue
        if client_id in client_ids:
            problem(["tpps", i, "client_id"], f"client_id {client_id} is already used by another TPP")
        client_ids.add(client_id)
        try:
            parse_organization_identifier(client_id)
        except InvalidOrganizationIdentifier as error:
            problem(["tpps", i, "client_id"], str(error))

    settings = doc.get("settings")
    signs = isinstance(settings, dict) and settings.get("sign_responses") is True
    names: set = set()
    for i, rule in _entries(doc, "rules"):
        for path, reason in rule_problems(rule, signs):
            problem(["rules", i, *path], reason)
        name = rule.get("name", f"rule-{i + 1}")
        if isinstance(name, str) and name in names:
            problem(["rules", i, "name"], f"rule name {name!r} is already used")
        names.add(name if isinstance(name, str) else None)

    versions = settings.get("versions") if isinstance(settings, dict) else None
    for prefix, lifecycle in (versions.items() if isinstance(versions, dict) else ()):
        for path, reason in _lifecycle_problems(lifecycle):
            problem(["settings", "versions", prefix, *path], reason)
    for section in ("tokens", "sca"):  # every expiry is mock time plus one of these: keep it a valid date
        values = settings.get(section) if isinstance(settings, dict) else None
        durations = dict(values) if isinstance(values, dict) else {}
        lockout = durations.get("psu_lockout")
        if isinstance(lockout, dict) and "duration" in lockout:
            durations["psu_lockout.duration"] = lockout["duration"]
        for key, value in durations.items():
            if key.endswith(_DURATION_SUFFIXES):
                try:
                    too_long = parse_duration(value) > MAX_SETTING_DURATION
                except ValueError:  # not a duration (the schema says so) or past what a timedelta holds
                    too_long = True
                if too_long:
                    problem(["settings", section, *key.split(".")],
                            f"{value} is longer than {MAX_SETTING_DURATION.days} days")

    planned: dict[str, int] = {}
    for i, plan in _entries(doc, "conformance"):
        client_id = _text(plan, "client_id")
        if client_id is not None and client_id not in client_ids:
            problem(["conformance", i, "client_id"], f"no TPP with client_id {quoted(client_id)} in 'tpps'")
        elif client_id is not None and client_id in planned:
            problem(["conformance", i, "client_id"], f"{client_id} already has a plan in conformance[{planned[client_id]}]")
        planned.setdefault(client_id, i)
        modules = plan.get("modules")
        for j, module in enumerate(modules if isinstance(modules, list) else []):
            if module not in MODULES:
                problem(["conformance", i, "modules", j], f"unknown module {quoted(str(module))}; known: "
                                                          f"{', '.join(MODULES)}")
            elif modules.index(module) != j:
                problem(["conformance", i, "modules", j], f"{module} is already in this plan (each module runs once)")

    generate = doc.get("generate")
    if isinstance(generate, dict) and _text(generate, "bank") is not None and generate["bank"] not in codes:
        problem(["generate", "bank"], f"no bank with code {generate['bank']} in 'banks'")
    psus, per_psu = (generate.get("psus"), generate.get("accounts_per_psu", 2)) if isinstance(generate, dict) else (0, 0)
    # Only when each count is within its own bound: a count the schema refused is one problem, not two.
    if (isinstance(psus, int) and isinstance(per_psu, int) and psus <= MAX_GENERATED_PSUS
            and psus * per_psu > MAX_GENERATED_ACCOUNTS):
        problem(["generate", "accounts_per_psu"], f"{psus} PSUs with {per_psu} "
                                                  f"accounts each: at most {MAX_GENERATED_ACCOUNTS} accounts in all")
    return problems


def _lifecycle_problems(lifecycle: Any) -> list[tuple[list, str]]:
    """A lifecycle's days are real days, and a version is removed after it is deprecated."""
    if not isinstance(lifecycle, dict):
        return []  # the schema's problem
    days, problems = {}, []
    for key in ("deprecated_on", "decommissioned_on"):
        value = lifecycle.get(key)
        if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            try:
                days[key] = date.fromisoformat(value)
            except ValueError as error:
                problems.append(([key], f"{value} is not a calendar day ({error})"))
    if len(days) == 2 and days["decommissioned_on"] <= days["deprecated_on"]:
        problems.append((["decommissioned_on"], f"{lifecycle['decommissioned_on']} is not after deprecated_on "
                                                f"({lifecycle['deprecated_on']}): a version is deprecated first"))
    return problems


@dataclass(frozen=True)
class _Certificates:
    """The certificates a scenario names, read once at load time."""

    trusted_cas: tuple = ()
    tpps: dict = field(default_factory=dict)  # index in 'tpps' -> tuple[TppCertificate, ...]


def _base_dir(source: str) -> Path:
    """Certificate paths are relative to the scenario file's folder (the working directory for a text
    sent by ``PUT /__admin/scenario``)."""
    path = Path(source)
    return path.resolve().parent if path.is_file() else Path.cwd()


MAX_CERTIFICATE_FILE = 1024 * 1024  # a PEM bundle of a few hundred certificates; never a device's endless bytes


def _read_certificate_file(path: Path) -> bytes:
    """A regular file of at most MAX_CERTIFICATE_FILE bytes. Opened without blocking (a FIFO would wait for
    a writer forever), checked by its descriptor (what was opened is what is checked), read no further."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OSError(f"{cut(str(path))} is not a regular file")
    with os.fdopen(fd, "rb") as file:
        data = file.read(MAX_CERTIFICATE_FILE + 1)
    if info.st_size > MAX_CERTIFICATE_FILE or len(data) > MAX_CERTIFICATE_FILE:
        raise OSError(f"{cut(str(path))} is larger than 1 MB")
    return data


def _certificate_text(entry: str, base: Path) -> tuple[str, str]:
    """(label for messages, PEM text) of an entry that is inline PEM or a file path; OSError if unreadable."""
    if "-----BEGIN" in entry:
        return "inline PEM", entry
    if "\0" in entry:  # os.open would raise ValueError
        raise OSError("a file path cannot hold a NUL character")
    try:
        path = Path(entry).expanduser()
    except RuntimeError:  # ~name of no user on this machine
        raise OSError(f"no home directory for {cut(entry.split('/', 1)[0])}") from None
    path = path if path.is_absolute() else base / path
    try:
        return cut(str(path)), _read_certificate_file(path).decode("ascii")
    except UnicodeDecodeError:
        raise OSError(f"{cut(str(path))} is not a PEM text file") from None


def _load_certificates(doc: dict, source: str, node: yaml.Node) -> tuple[_Certificates, list[Problem]]:
    """Read ``trusted_cas`` and each TPP's ``certificates``; every bad entry is a problem with its reason."""
    problems: list[Problem] = []
    base = _base_dir(source)

    def problem(path: list, reason: str) -> None:
        problems.append(Problem(source, _line_of(node, path), _path_text(path), reason))

    def read(path: list, entry: str) -> Optional[tuple[str, str]]:
        try:
            return _certificate_text(entry, base)
        except OSError as error:
            problem(path, f"cannot read the certificate file: {error.strerror or error}"
                    + (f" ({cut(str(error.filename))})" if getattr(error, "filename", None) else ""))
            return None

    trusted: list = []
    for i, entry in _entries(doc, "trusted_cas", str):
        found = read(["trusted_cas", i], entry)
        if found:
            try:
                trusted.extend(load_ca_bundle(found[1]))
            except CertificateRejected as error:
                problem(["trusted_cas", i], f"{found[0]}: {error.reason}")

    seen: dict[str, str] = {}
    by_tpp: dict[int, tuple] = {}
    for i, tpp in _entries(doc, "tpps"):
        loaded = []
        for j, entry in _entries(tpp, "certificates", str):
            path = ["tpps", i, "certificates", j]
            found = read(path, entry)
            if not found:
                continue
            try:
                cert = load_certificate(found[1])
            except CertificateRejected as error:
                problem(path, f"{found[0]}: {error.reason}")
                continue
            if cert.organization_identifier != tpp.get("client_id"):
                problem(path, f"{found[0]}: the certificate's organizationIdentifier is "
                              f"{cert.organization_identifier!r}, not this TPP's client_id {tpp.get('client_id')}")
                continue
            if cert.sha256 in seen:
                problem(path, f"{found[0]}: certificate {cert.sha256} is already listed at {seen[cert.sha256]}")
                continue
            seen[cert.sha256] = _path_text(path)
            loaded.append(cert)
        by_tpp[i] = tuple(loaded)
    return _Certificates(tuple(trusted), by_tpp), problems


def _settings(raw: dict) -> Settings:
    def durations(section: dict, cls: type) -> Any:
        values = {k: (parse_duration(v) if k.endswith(_DURATION_SUFFIXES) else v) for k, v in section.items()}
        if "psu_lockout" in values:
            lockout = values["psu_lockout"]
            values["psu_lockout"] = PsuLockout(**{**lockout, **({"duration": parse_duration(lockout["duration"])}
                                                                if "duration" in lockout else {})})
        return cls(**values)

    return Settings(
        tokens=durations(raw.get("tokens", {}), TokenSettings),
        sca=durations(raw.get("sca", {}), ScaSettings),
        **{k: raw[k] for k in ("ineligible_accounts", "journal_size", "strictness", "require_pkce") if k in raw},
        **({"pkce_methods": tuple(raw["pkce_methods"])} if "pkce_methods" in raw else {}),
        sign_responses=raw.get("sign_responses", False),
        versions=tuple((prefix, Lifecycle(**{key: date.fromisoformat(day) for key, day in lifecycle.items()}))
                       for prefix, lifecycle in raw.get("versions", {}).items()),
    )


def _account(raw: dict, bank: str, psu: str, segment: str) -> Account:
    return Account(
        iban=raw["iban"],
        bank=bank,
        psu=psu,
        name=raw.get("name", "Compte de dépôt"),
        currency=raw.get("currency", "EUR"),
        balance=Decimal(str(raw["balance"])),
        overdraft=Decimal(str(raw.get("overdraft", "0"))),
        status=raw.get("status", "active"),
        segment=segment,
    )


def _psu(raw: dict, default_bank: str) -> Psu:
    bank = raw.get("bank", default_bank)
    segment = raw.get("segment", "individual")
    accounts = tuple(_account(a, bank, raw["login"], segment) for a in raw["accounts"])
    return Psu(
        login=raw["login"],
        password=raw["password"],
        otp=raw["otp"],
        name=raw.get("name", raw["login"]),
        bank=bank,
        segment=segment,
        sca=raw.get("sca", "interactive"),
        consent_iban=raw.get("consent_iban", accounts[0].iban),
        accounts=accounts,
    )


def _build(doc: dict, source: str, certificates: Optional[_Certificates] = None) -> Scenario:
    certificates = certificates or _Certificates()
    banks = tuple(Bank(b["code"], b["name"]) for b in doc["banks"])
    default_bank = next((b["code"] for b in doc["banks"] if b.get("default")), banks[0].code)
    psus = [_psu(p, default_bank) for p in doc.get("psus", [])]
    if "generate" in doc:
        psus.extend(generate_psus(doc["generate"], default_bank))
    tpps = tuple(
        Tpp(
            client_id=t["client_id"],
            name=t["name"],
            roles=frozenset(t.get("roles", [CARD_ISSUER_ROLE])),
            redirect_uris=tuple(t["redirect_uris"]),
            status=t.get("status", "active"),
            certificates=certificates.tpps.get(i, ()),
            denied=t.get("denied"),
        )
        for i, t in enumerate(doc["tpps"])
    )
    return Scenario(
        name=doc.get("name", Path(source).stem),
        description=doc.get("description", ""),
        source=source,
        settings=_settings(doc.get("settings", {})),
        banks=banks,
        default_bank=default_bank,
        psus=tuple(psus),
        tpps=tpps,
        rules=tuple(build_rule(r, f"rule-{i + 1}") for i, r in enumerate(doc.get("rules", []))),
        trusted_cas=certificates.trusted_cas,
        revoked_certificates=frozenset(normalize_fingerprint(f) for f in doc.get("revoked_certificates", [])),
        conformance=tuple(ConformancePlan(p["client_id"], tuple(p["modules"])) for p in doc.get("conformance", [])),
    )


# -- bulk data ---------------------------------------------------------------
def french_iban(bank: str, branch: str, number: str) -> str:
    """A French IBAN: bank + branch + 11-digit account + RIB key, then mod-97 check digits."""
    rib_key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(number)) % 97
    return with_check_digits("FR", f"{bank}{branch}{number}{rib_key:02d}")


def generate_psus(spec: dict, default_bank: str) -> list[Psu]:
    """Reproducible bulk PSUs (same seed, same world) with valid French IBANs."""
    from faker import Faker  # imported here: only scenarios asking for bulk data pay its start-up

    seed = spec.get("seed", 0)
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    bank = spec.get("bank", default_bank)
    psus = []
    for n in range(spec["psus"]):
        login = f"psu{n + 1:06d}"
        segment = "individual" if rng.random() < 0.8 else "professional"
        accounts = tuple(
            Account(
                iban=french_iban(bank, f"{rng.randrange(100000):05d}", f"{rng.randrange(10**11):011d}"),
                bank=bank,
                psu=login,
                name="Compte courant" if segment == "professional" else "Compte de dépôt",
                currency="EUR",
                balance=Decimal(rng.randrange(-50000, 500000)) / 100,
                overdraft=Decimal(rng.choice((0, 0, 200, 500, 1000))),
                status="active",
                segment=segment,
            )
            for _ in range(spec.get("accounts_per_psu", 2))
        )
        psus.append(
            Psu(
                login=login,
                password=spec.get("password", "password"),
                otp=spec.get("otp", "123456"),
                name=fake.name(),
                bank=bank,
                segment=segment,
                sca=spec.get("sca", "approve"),
                consent_iban=accounts[0].iban,
                accounts=accounts,
            )
        )
    return psus
