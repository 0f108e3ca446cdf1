"""The ``mock-aspsp`` command line."""
from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path
from typing import Optional, Sequence

from .. import __version__
# Only light modules here: `mock-aspsp health` runs every few seconds in a container, and --help should
# be quick; each command imports what it uses.
from ..config import (DEFAULT_CLIENT_CERT_HEADER, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_WORKERS, admin_exposure_warning,
                      from_environment, serve_environment, with_state_file)
from ..resources import default_scenario, find_scenario, shipped_scenarios
from ..stet.versions import PREFIXES
from ..testing import TPP_REDIRECT_URI
from .conformance import run as run_conformance
from .health import DEFAULT_TIMEOUT_S as DEFAULT_PROBE_TIMEOUT_S, local_url, problem as health_problem
from .serving import Limits

DESCRIPTION = f"""\
A sandbox of a French bank (ASPSP) serving the STET PSD2 funds-availability
API to card issuers (CBPII / PIISP): OAuth2 redirect with the bank's own SCA
and consent pages, /token, and POST /stet/psd2/{{{','.join(PREFIXES)}}}/funds-confirmations;
also the PSD2 registration API (/stet/setting/v1/register), the PSU's access dashboard
(/espace-client/acces), a QA console (/__admin/ui) and each TPP's go-live readiness report.
"""


def _parser() -> argparse.ArgumentParser:
    env = serve_environment()  # the options' defaults
    parser = argparse.ArgumentParser(prog="mock-aspsp", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"mock-aspsp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve the sandbox (several worker processes)",
        description="Serve the sandbox: several worker processes sharing one SQLite state file, or several "
                    "replicas sharing one Redis with --store. Plain HTTP is served by granian; HTTPS "
                    "(--tls-cert) by gunicorn's threaded workers, which hand the client certificate to the app.",
        epilog="Environment: MOCK_ASPSP_ADMIN_TOKEN: when set, every call of the admin API (/__admin/..., "
               "except health) needs 'Authorization: Bearer <token>'. Each option's own variable is named "
               "in its help.",
    )
    serve.add_argument(
        "--scenario", metavar="FILE|NAME",
        help="scenario YAML file, or the name of a shipped scenario (mock-aspsp scenario list) "
             f"(env MOCK_ASPSP_SCENARIO; default: the shipped {default_scenario().stem})",
    )
    serve.add_argument("--host", default=env.host,
                       help=f"address to listen on (env MOCK_ASPSP_HOST; default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=env.port,
                       help=f"port to listen on (env MOCK_ASPSP_PORT; default {DEFAULT_PORT})")
    serve.add_argument("--workers", type=int, default=env.workers,
                       help=f"worker processes (env MOCK_ASPSP_WORKERS; default {DEFAULT_WORKERS})")
    serve.add_argument("--client-timeout", type=float, metavar="SECONDS", default=env.client_timeout,
                       help="close a connection that has not sent a complete request head within this time: "
                            "idle from the start, kept alive between requests, trickling its headers, or still "
                            f"in its TLS handshake (env MOCK_ASPSP_CLIENT_TIMEOUT; default {Limits.client_timeout:g})")
    serve.add_argument("--threads", type=int, metavar="N", default=env.threads,
                       help="requests one worker runs at once; a request whose body trickles in holds one until "
                            "it is complete; 1 answers one client's calls in sequence faster, where every client is "
                            f"trusted (env MOCK_ASPSP_THREADS; default {Limits.threads})")
    serve.add_argument("--db", help="SQLite state file shared by the workers (env MOCK_ASPSP_DB; "
                                    "default: a fresh temporary file, so every start is clean)")
    serve.add_argument("--store", metavar="URL",
                       help="state shared by several replicas: redis://host:6379/0 (also rediss://, unix://; "
                            "?prefix=NAME: to share one Redis between sandboxes). Wins over --db "
                            "(env MOCK_ASPSP_STORE; default: SQLite, see --db)")
    serve.add_argument("--publish-scenario", action="store_true",
                       help="publish the scenario file at start even if the store holds one swapped in with "
                            "PUT /__admin/scenario (by default that one stays in force; env "
                            "MOCK_ASPSP_PUBLISH_SCENARIO=1)")
    serve.add_argument("--allowed-host", action="append", metavar="NAME",
                       help="without an admin token, the admin API answers loopback hosts only: also answer "
                            "requests to this host name or address (repeatable; *.example.com for its sub-domains; "
                            "env MOCK_ASPSP_ALLOWED_HOSTS, comma-separated)")
    serve.add_argument("--watch", action="store_true",
                       help="reload the scenario file when it changes (a bad file is reported and the "
                            "running scenario stays in force)")
    tls = serve.add_argument_group(
        "TLS and client certificates (QWAC)",
        "Either terminate TLS here (--tls-cert, --tls-key, --client-ca), or run behind a TLS-terminating "
        "proxy that forwards the client certificate in a header (--client-cert-header).",
    )
    tls.add_argument("--tls-cert", metavar="FILE", default=env.tls_cert,
                     help="serve HTTPS with this PEM server certificate (env MOCK_ASPSP_TLS_CERT)")
    tls.add_argument("--tls-key", metavar="FILE", default=env.tls_key,
                     help="private key of --tls-cert, if not in the same file (env MOCK_ASPSP_TLS_KEY)")
    tls.add_argument("--client-ca", metavar="FILE", default=env.client_ca,
                     help="ask TLS clients for a certificate issued by these CA(s) (PEM); optional at the TLS "
                          "level, required by /token, /revoke and the API in strict scenarios "
                          "(env MOCK_ASPSP_CLIENT_CA)")
    tls.add_argument("--client-cert-header", metavar="NAME", nargs="?", const=DEFAULT_CLIENT_CERT_HEADER,
                     help="trust the client certificate (URL-escaped PEM, as nginx's $ssl_client_escaped_cert) "
                          f"in this request header; without a NAME, {DEFAULT_CLIENT_CERT_HEADER}. Ignored unless "
                          "set (env MOCK_ASPSP_CLIENT_CERT_HEADER)")

    health = commands.add_parser(
        "health",
        help="check that the local server answers (container health checks)",
        description="Ask /__admin/health of the server that 'serve' starts with the same environment "
                    "(MOCK_ASPSP_HOST, MOCK_ASPSP_PORT; HTTPS when MOCK_ASPSP_TLS_CERT is set, the certificate "
                    "not checked); exit 0 if it answers, 1 saying why otherwise.",
    )
    health.add_argument("--url", help="the server to ask instead, e.g. https://127.0.0.1:8443")
    health.add_argument("--timeout", type=float, default=DEFAULT_PROBE_TIMEOUT_S, metavar="SECONDS",
                        help=f"give up after this long (default {DEFAULT_PROBE_TIMEOUT_S:g})")

    conformance = commands.add_parser(
        "conformance",
        help="fetch a TPP's go-live readiness report (exit 1 when a check or module failed)",
        description="Ask GET /__admin/conformance of a running sandbox for the TPP's report, print the failed "
                    "checks and modules with their evidence and a summary line, and exit 1 when anything failed "
                    "(also when the sandbox cannot be asked). The admin token, when the sandbox has one, comes "
                    "from MOCK_ASPSP_ADMIN_TOKEN.",
    )
    conformance.add_argument("--url", required=True, help="the sandbox, e.g. http://127.0.0.1:8080")
    conformance.add_argument("--client-id", required=True, help="the TPP's client_id, e.g. PSDFR-ACPR-12345")
    conformance.add_argument("--junit", type=Path, metavar="FILE", help="also write the report as JUnit XML here")
    conformance.add_argument("--html", type=Path, metavar="FILE", help="also write the printable HTML report here")

    scenario = commands.add_parser("scenario", help="work with scenario files")
    scenario_commands = scenario.add_subparsers(dest="scenario_command", required=True, metavar="COMMAND")
    check = scenario_commands.add_parser(
        "check", help="validate a scenario file",
        description="Validate scenario files and list every problem, each with file, line, path and reason.",
    )
    check.add_argument("file", nargs="+", metavar="FILE|NAME",
                       help="scenario YAML file(s), or shipped scenario name(s)")
    scenario_commands.add_parser(
        "list", help="list the shipped scenarios",
        description="List the shipped scenarios, by the name that --scenario NAME takes, with the first "
                    "line of each file's header comment.",
    )

    certs = commands.add_parser("certs", help="test certificates and request signatures for TPPs")
    certs_commands = certs.add_subparsers(dest="certs_command", required=True, metavar="COMMAND")
    issue = certs_commands.add_parser(
        "issue",
        help="issue a test CA, a QWAC and a QSealC for a TPP",
        description="Write a new test CA (ca.pem, ca.key), a QWAC (qwac.pem, qwac.key) and a QSealC "
                    "(qsealc.pem, qsealc.key) with the TPP's organizationIdentifier and PSD2 QCStatement, "
                    "valid 3 years; print the files, the keyId to sign with and a scenario snippet that "
                    "registers the TPP. Test keys only: never use them outside a sandbox.",
    )
    issue.add_argument("--client-id", required=True,
                       help="the TPP's organization identifier, PSDXX-AUTHORITY-PSPID (e.g. PSDFR-ACPR-12345)")
    issue.add_argument("--name", default="Test TPP", help="the TPP's name in the certificates (default: Test TPP)")
    issue.add_argument("--roles", nargs="+", default=["PSP_IC"], metavar="ROLE",
                       help="PSD2 roles, space- or comma-separated: PSP_AS PSP_PI PSP_AI PSP_IC (default PSP_IC)")
    issue.add_argument("--redirect-uri", action="append", metavar="URL",
                       help=f"redirect URI for the snippet, repeatable (default {TPP_REDIRECT_URI})")
    issue.add_argument("--out", required=True, metavar="DIR", help="folder to write the files to (created)")
    issue.add_argument("--force", action="store_true", help="overwrite existing files in DIR")
    _validity_arguments(issue)

    server = certs_commands.add_parser(
        "server",
        help="issue a TLS server certificate for serve --tls-cert",
        description="Write server.pem and server.key, issued by the CA of DIR (ca.pem, ca.key, as written by "
                    "'certs issue'), for the given host names and IP addresses.",
    )
    server.add_argument("--out", required=True, metavar="DIR", help="folder holding ca.pem and ca.key")
    server.add_argument("--host", action="append", metavar="NAME",
                        help="host name or IP address, repeatable (default: localhost and 127.0.0.1)")
    server.add_argument("--force", action="store_true", help="overwrite an existing server.pem / server.key")
    _validity_arguments(server)

    certs_commands.add_parser(
        "bank",
        help="the bank's own QSealC, which signs its answers, and the test CA to verify it with",
        description="Print where the bank's QSealC (it signs funds-confirmation answers when the scenario has "
                    "settings.sign_responses) and the test CA that issued it are, the path of the keyId URL "
                    "serving the certificate, and the openssl command checking the chain.",
    )

    sign = certs_commands.add_parser(
        "sign",
        help="sign an API request with a QSealC key, for curl",
        description="Print the Digest (with a body) and Signature headers of a request signed as STET asks "
                    "(draft-cavage HTTP signature over (request-target), digest, x-request-id, date and psu-* "
                    "headers present). Send the headers given here and the body byte for byte "
                    "(curl --data-binary @FILE).",
    )
    sign.add_argument("--key", required=True, metavar="FILE", help="the QSealC's private key (PEM), e.g. qsealc.key")
    sign.add_argument("--key-id", required=True, metavar="KEYID",
                      help="the keyId: a URL ending in _ and the QSealC's SHA-256 fingerprint (printed by certs issue)")
    sign.add_argument("--method", default="POST", help="HTTP method (default POST)")
    sign.add_argument("--url", required=True, metavar="PATH",
                      help="path with query as sent, e.g. /stet/psd2/v1.4.2/funds-confirmations (a full URL is "
                           "reduced to its path and query)")
    sign.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                      help="a header the request sends, repeatable (X-Request-ID is needed by the bank)")
    sign.add_argument("--body", metavar="FILE", help="the request body: a file, or - for standard input")
    sign.add_argument("--algorithm", choices=("rsa-sha256", "hs2019"), default="rsa-sha256",
                      help="signature algorithm (default rsa-sha256)")
    sign.add_argument("--format", choices=("curl", "headers"), default="curl",
                      help="curl: -H '...' options to paste; headers: 'Name: value' lines for curl -H @FILE")
    return parser


def _validity_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--valid-from", metavar="YYYY-MM-DD",
                        help="start of validity, UTC (default: an hour ago)")
    parser.add_argument("--days", type=int, metavar="N",
                        help="validity in days (default 1095, i.e. 3 years; the CA of certs issue: 10 years)")


def _validity(args: argparse.Namespace) -> dict:
    """not_before / not_after for pki from --valid-from and --days; ValueError if malformed."""
    from datetime import datetime, timedelta, timezone

    start = None
    if args.valid_from:
        start = datetime.strptime(args.valid_from, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    if args.days is not None and args.days < 1:
        raise ValueError("--days must be at least 1")
    end = None
    if args.days:
        end = (start or datetime.now(timezone.utc) - timedelta(hours=1)) + timedelta(days=args.days)
    return {"not_before": start, "not_after": end}


def _check(files: Sequence[str]) -> int:
    from ..bank.scenario import ScenarioError, read_scenario

    status = 0
    for name in files:
        try:
            scenario, _ = read_scenario(find_scenario(name))
        except FileNotFoundError as error:
            print(error, file=sys.stderr)
            status = 1
            continue
        except ScenarioError as error:
            print("\n".join(str(p) for p in error.problems), file=sys.stderr)
            print(f"{name}: {len(error.problems)} problem(s)", file=sys.stderr)
            status = 1
            continue
        accounts = sum(len(p.accounts) for p in scenario.psus)
        print(
            f"{name}: OK ({len(scenario.banks)} bank(s), {len(scenario.psus)} PSU(s), "
            f"{accounts} account(s), {len(scenario.tpps)} TPP(s))"
        )
    return status


def _header_line(path: Path) -> str:
    """The first line of a scenario file's header comment: what the scenario shows."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                break
            if line.strip("# \n"):
                return line.strip("# \n")
    return ""


def _list() -> int:
    shipped = shipped_scenarios()
    width = max(map(len, shipped))
    for name, path in shipped.items():
        print(f"{name:<{width}}  {_header_line(path)}".rstrip())
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ..app import create_app
    from ..bank.scenario import ScenarioError
    from .serving import Hooks, serve, tls_options
    from ..store import describe_store
    from ..store.records import StoreUnavailable

    problem = _tls_problem(args) or _limits_problem(args) or _address_problem(args.host, args.port)
    if problem:
        print(f"mock-aspsp serve: {problem}", file=sys.stderr)
        return 2
    try:
        config = from_environment(scenario=args.scenario, db=args.db, client_cert_header=args.client_cert_header,
                                  store=args.store, publish_scenario=args.publish_scenario,
                                  allowed_hosts=args.allowed_host)
    except FileNotFoundError as error:
        print(f"mock-aspsp serve: scenario {error}", file=sys.stderr)
        return 2
    with with_state_file(config) as config:
        try:
            app = create_app(config)
        except ScenarioError as error:
            print("\n".join(str(p) for p in error.problems), file=sys.stderr)
            return 2
        except (ValueError, StoreUnavailable) as error:
            print(f"mock-aspsp serve: state store: {error}", file=sys.stderr)
            return 2
        scheme = "https" if args.tls_cert else "http"
        state = describe_store(config.store, str(config.db))
        print(f"mock-aspsp {__version__}: scenario {config.scenario}, state {state}, "
              f"{scheme}://{args.host}:{args.port}/", file=sys.stderr, flush=True)
        exposure = admin_exposure_warning(args.host, config)
        if exposure:
            print(f"mock-aspsp serve: WARNING: {exposure}", file=sys.stderr, flush=True)
        tls = tls_options(args.tls_cert, args.tls_key, args.client_ca) if args.tls_cert else None
        sandbox = app.extensions["mock_aspsp"]
        on_ready = None
        if args.watch:
            from .watch import start_watching

            # Started in the master once it listens; swaps go through the store to every worker.
            on_ready = lambda: start_watching(sandbox, config.scenario)  # noqa: E731
        # A worker (re)spawned after PUT /__admin/scenario is forked with the scenario in force: it never parses it.
        serve(app, args.host, args.port, args.workers, Limits(args.client_timeout, args.threads), tls,
              Hooks(on_ready=on_ready, before_fork=sandbox.catch_up))
    return 0


def _health(args: argparse.Namespace) -> int:
    url = (args.url or local_url()).rstrip("/")
    found = health_problem(url, args.timeout)
    if found:
        print(f"mock-aspsp health: {found}", file=sys.stderr)
        return 1
    print(f"{url}: ok")
    return 0


def _address_problem(host: str, port: int) -> Optional[str]:
    """Bind the address once before any server starts, so that a port in use fails at once, saying which
    option to change, whichever server then listens."""
    if not 1 <= port <= 65535:
        return f"--port {port}: a port is between 1 and 65535"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        return f"--host {host}: {error.strerror} (env MOCK_ASPSP_HOST)"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: a port just closed is free
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return (f"{host}:{port} is already in use (another server?): choose another port with "
                        "--port N (env MOCK_ASPSP_PORT)")
            return f"cannot listen on {host}:{port}: {error.strerror}: choose another --port or --host"
    return None


def _tls_problem(args: argparse.Namespace) -> Optional[str]:
    if not args.tls_cert and (args.tls_key or args.client_ca):
        return "--tls-key and --client-ca need --tls-cert"
    for option in ("tls_cert", "tls_key", "client_ca"):
        path = getattr(args, option)
        if path and not os.path.isfile(path):
            return f"--{option.replace('_', '-')} {path}: no such file"
    return None


def _limits_problem(args: argparse.Namespace) -> Optional[str]:
    if not args.client_timeout > 0:
        return "--client-timeout must be a number of seconds above 0"
    if args.threads < 1:
        return "--threads must be at least 1"
    return None


def _roles(values: Sequence[str]) -> list[str]:
    return [role.strip() for value in values for role in value.split(",") if role.strip()]


def _certs_issue(args: argparse.Namespace) -> int:
    from .pki import DEFAULT_REDIRECT_URIS, issue_bundle

    try:
        report = issue_bundle(args.out, args.client_id, args.name, _roles(args.roles),
                              redirect_uris=args.redirect_uri or DEFAULT_REDIRECT_URIS, overwrite=args.force,
                              **_validity(args))
    except FileExistsError as error:
        print(f"mock-aspsp certs issue: {error} (use --force to overwrite)", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:  # a bad client_id, role or date says which
        print(f"mock-aspsp certs issue: {error}", file=sys.stderr)
        return 1
    print(f"Test certificates for {args.client_id} in {report.out_dir} (test keys: sandbox use only):")
    for name, path in report.files.items():
        print(f"  {name:<11} {path}")
    print(f"\nQWAC   SHA-256 {report.qwac_sha256}\nQSealC SHA-256 {report.qsealc_sha256}")
    print(f"\nkeyId to sign API calls with (certs sign --key {report.files['qsealc.key']} --key-id ...):")
    print(f"  {report.key_id}")
    print(f"\nOr let the TPP register itself with the registration API: {report.files['registration.json']} is a "
          "body for POST /stet/setting/v1/register (README, \"Registering a TPP\")")
    print("\nScenario snippet registering the TPP:\n")
    print(report.snippet, end="")
    return 0


def _certs_server(args: argparse.Namespace) -> int:
    from .pki import load_issued, write_server_files

    out = os.path.abspath(args.out)
    hosts = args.host or ["localhost", "127.0.0.1"]
    try:
        ca = load_issued(os.path.join(out, "ca.pem"), os.path.join(out, "ca.key"))
        files = write_server_files(out, ca, hosts, overwrite=args.force, **_validity(args))
    except (OSError, ValueError) as error:
        print(f"mock-aspsp certs server: {error}", file=sys.stderr)
        return 1
    print(f"TLS server certificate for {', '.join(hosts)}:")
    for name, path in files.items():
        print(f"  {name:<11} {path}")
    print(f"\nmock-aspsp serve --tls-cert {files['server.pem']} --tls-key {files['server.key']} "
          f"--client-ca {os.path.join(out, 'ca.pem')}")
    return 0


def _certs_bank(args: argparse.Namespace) -> int:
    from ..stet.seal import CERTIFICATES_PATH, bank_seal, seal_files

    certificate, ca = seal_files()
    name = bank_seal()[2]
    print("The bank's QSealC (signs funds-confirmation answers with settings.sign_responses; test key, sandbox only):")
    print(f"  certificate {certificate}\n  test CA     {ca}")
    print(f"\nSHA-256 {name.rpartition('_')[2]}")
    print(f"keyId   http://HOST{CERTIFICATES_PATH}/{name}  (HOST: the one called; the URL serves the certificate)")
    print(f"\nopenssl verify -CAfile {ca} {certificate}")
    return 0


def _certs_sign(args: argparse.Namespace) -> int:
    import shlex
    from urllib.parse import urlsplit

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from ..tpp.signatures import sign_request

    try:
        with open(args.key, "rb") as handle:
            key = load_pem_private_key(handle.read(), password=None)
        if args.body == "-":
            body = sys.stdin.buffer.read()
        elif args.body:
            with open(args.body, "rb") as handle:
                body = handle.read()
        else:
            body = b""
    except (OSError, ValueError, TypeError) as error:
        print(f"mock-aspsp certs sign: {error}", file=sys.stderr)
        return 1
    headers = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            print(f"mock-aspsp certs sign: --header {header!r}: expected 'Name: value'", file=sys.stderr)
            return 1
        headers[name.strip()] = value.strip()
    target = args.url
    if "://" in target:
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        added = sign_request(args.method.upper(), target, headers, body, key_id=args.key_id, private_key=key,
                             algorithm=args.algorithm)
    except ValueError as error:
        print(f"mock-aspsp certs sign: {error}", file=sys.stderr)
        return 1
    lines = [f"{name}: {value}" for name, value in added.items()]
    if args.format == "headers":
        print("\n".join(lines))
    else:
        print(" \\\n".join(f"-H {shlex.quote(line)}" for line in lines))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "health":
        return _health(args)
    if args.command == "conformance":
        return run_conformance(args.url, args.client_id, args.junit, args.html)
    if args.command == "certs":
        return {"issue": _certs_issue, "server": _certs_server, "bank": _certs_bank,
                "sign": _certs_sign}[args.certs_command](args)
    if args.scenario_command == "list":
        return _list()
    return _check(args.file)


if __name__ == "__main__":
    sys.exit(main())
