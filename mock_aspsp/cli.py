"""The ``mock-aspsp`` command line."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from . import __version__
from .config import from_environment
from .resources import default_scenario
from .scenario import ScenarioError, read_scenario

DESCRIPTION = """\
A sandbox of a French bank (ASPSP) serving the STET PSD2 funds-availability
API to card issuers (CBPII / PIISP): OAuth2 redirect with the bank's own SCA
and consent pages, /token, and POST /stet/psd2/{v1,v1.4.2,v1.6.2}/funds-confirmations.
"""


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value and value.isdigit() else default


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mock-aspsp", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"mock-aspsp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve the sandbox with gunicorn",
        description="Serve the sandbox (gunicorn, several workers sharing one SQLite state file).",
    )
    serve.add_argument(
        "--scenario",
        help=f"scenario YAML file (env MOCK_ASPSP_SCENARIO; default: the shipped {default_scenario().name})",
    )
    serve.add_argument("--host", default=os.environ.get("MOCK_ASPSP_HOST", "127.0.0.1"),
                       help="address to listen on (env MOCK_ASPSP_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=_int_env("MOCK_ASPSP_PORT", 8080),
                       help="port to listen on (env MOCK_ASPSP_PORT; default 8080)")
    serve.add_argument("--workers", type=int, default=_int_env("MOCK_ASPSP_WORKERS", 2),
                       help="gunicorn worker processes (env MOCK_ASPSP_WORKERS; default 2)")
    serve.add_argument("--db", help="SQLite state file shared by the workers (env MOCK_ASPSP_DB; "
                                    "default: a fresh temporary file, so every start is clean)")
    serve.add_argument("--watch", action="store_true",
                       help="reload the scenario file when it changes (a bad file is reported and the "
                            "running scenario stays in force)")

    scenario = commands.add_parser("scenario", help="work with scenario files")
    scenario_commands = scenario.add_subparsers(dest="scenario_command", required=True, metavar="COMMAND")
    check = scenario_commands.add_parser(
        "check", help="validate a scenario file", description="Validate a scenario file and list every problem."
    )
    check.add_argument("file", nargs="+", help="scenario YAML file(s)")
    return parser


def _check(files: Sequence[str]) -> int:
    status = 0
    for name in files:
        try:
            scenario, _ = read_scenario(name)
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


def _serve(args: argparse.Namespace) -> int:
    from .app import create_app
    from .serving import serve

    config = from_environment(scenario=args.scenario, db=args.db)
    try:
        app = create_app(config)
    except ScenarioError as error:
        print("\n".join(str(p) for p in error.problems), file=sys.stderr)
        return 2
    print(f"mock-aspsp {__version__}: scenario {config.scenario}, state {config.db}, "
          f"http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    options = {}
    if args.watch:
        from .watch import start_watching

        # Started once gunicorn's master is ready; swaps go through the store to every worker.
        options["when_ready"] = lambda server: start_watching(app.extensions["mock_aspsp"], config.scenario)
    serve(app, args.host, args.port, args.workers, options)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return _check(args.file)


if __name__ == "__main__":
    sys.exit(main())
