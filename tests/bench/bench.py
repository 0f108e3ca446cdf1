"""``make bench``: the product against a bare Flask-under-gunicorn baseline, in one run.

Both servers run with the same number of workers on this machine and are loaded
by wrk with the same request, so every figure is printed twice: absolute, and as
a ratio to the baseline measured seconds before. The product runs as
``mock-aspsp serve`` does (granian); the same bare Flask app also runs on granian,
for the CPU-per-call ratio on the same server. Rows:

* POST /stet/psd2/v1.4.2/funds-confirmations (valid token, valid body) at
  concurrency 1 and 16: req/s, p50 / p99 latency, server CPU ms per request;
* server CPU per call against bare Flask on granian;
* start-up time to the first 200, and memory (PSS of master + workers) after load;
* p99 of normal calls (a new connection each) while 64 idle connections are held, and
  how many idle connections a server holds with no normal call waiting over 100 ms;
* start-up and memory with a generated scenario of 10,000 PSUs / 20,000 accounts;
* latency with 1,000,000 stored token pairs, against a nearly empty store: with one
  token (which each worker's look-up cache answers), and with a different stored token
  on every call (an index look-up each time) against the nearly empty store's one pair
  picked by the same per-call wrk script;
* funds-confirmations with the Redis store (``serve --store redis://...``, the
  state of several replicas) beside the SQLite default: req/s, p50 / p99 at
  concurrency 1 and 16, on a redis-server started here on a free port (skipped,
  saying why, when redis-server is not installed);
* the server comparison: the product under granian, gunicorn gthread (stock, and as
  ``serve --tls-cert`` guards it), gevent and sync, with the same app and access log
  (``product_on.py``): req/s, CPU, p99, and p99 with 64 idle connections held.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import yaml

from mock_aspsp.testing import TPP_CLIENT_ID as CLIENT_ID, TPP_REDIRECT_URI as REDIRECT_URI, free_port, stop_process

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: the redis_server and hostile_clients helpers the tests use too
from hostile_clients import FUNDS_PATH as PATH, IBAN, idle_capacity, under_attack  # noqa: E402
BIN = Path(sys.executable).parent
BODY = json.dumps({"paymentCoverageRequestId": "bench-1", "instructedAmount": {"currency": "EUR", "amount": "10.00"},
                   "accountId": {"iban": IBAN}})


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    url: str
    startup_s: float

    def pids(self) -> list[int]:
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [self.process.pid, *map(int, children.split())]

    def cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime
            except (OSError, IndexError):
                pass
        return total / ticks

    def pss_mib(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                match = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M)
                total += int(match.group(1)) if match else 0
            except OSError:
                pass
        return total / 1024

    def stop(self) -> None:
        stop_process(self.process)


def start(name: str, command: list[str], probe: str, **popen) -> Server:
    began = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
    port = command[command.index("--port") + 1] if "--port" in command else command[command.index("-b") + 1].split(":")[1]
    url = f"http://127.0.0.1:{port}"
    deadline = began + 120
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            request = urllib.request.Request(url + probe, data=b"{}" if "funds" in probe else None,
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=1):
                return Server(name, process, url, time.perf_counter() - began)
        except urllib.error.HTTPError:
            return Server(name, process, url, time.perf_counter() - began)
        except OSError:
            time.sleep(0.01)  # polling for start-up, bounded
    process.kill()
    raise RuntimeError(f"{name} did not start")


def start_product(workers: int, folder: Path, scenario: Path | None = None, db: Path | None = None,
                  args=()) -> Server:
    """``db``: a state file of its own under ``folder`` unless given."""
    db = db or Path(tempfile.mkdtemp(dir=folder)) / "state.sqlite3"
    command = [str(BIN / "mock-aspsp"), "serve", "--port", str(free_port()), "--workers", str(workers),
               "--db", str(db), *args]
    if scenario:
        command += ["--scenario", str(scenario)]
    return start("mock-aspsp", command, "/__admin/health")


def start_baseline(workers: int) -> Server:
    command = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{free_port()}",
               "--access-logfile", "/dev/null", "--chdir", str(HERE), "baseline_app:app"]
    return start("baseline", command, PATH)


def start_baseline_granian(workers: int) -> Server:
    """The same bare Flask app on the server ``mock-aspsp serve`` runs, with the same settings."""
    from mock_aspsp.tools.serving import Limits

    command = [str(BIN / "granian"), "--interface", "wsgi", "--http", "1", "--workers", str(workers),
               "--blocking-threads", str(Limits.threads), "--log-level", "warning", "--port", str(free_port()),
               "--working-dir", str(HERE), "baseline_app:app"]
    return start("bare Flask on granian", command, PATH)


def start_product_on(kind: str, workers: int) -> Server:
    """The product under gunicorn with worker class ``kind`` (the server comparison)."""
    port = free_port()
    command = [sys.executable, str(HERE / "product_on.py"), kind, str(workers), "--port", str(port)]
    return start(f"mock-aspsp on gunicorn {kind}", command, "/__admin/health")


def access_token(url: str) -> str:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    query = urlencode({"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
                       "scope": "cbpii", "state": "bench", "login_hint": "bruno"})
    try:
        urllib.request.build_opener(NoRedirect).open(f"{url}/authorize?{query}")
        raise RuntimeError("no redirect from /authorize")
    except urllib.error.HTTPError as redirect:
        code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    form = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                      "client_id": CLIENT_ID}).encode()
    return json.load(urllib.request.urlopen(f"{url}/token", data=form))["access_token"]


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_ms_per_request: float


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def wrk(server: Server, token: str, connections: int, seconds: int, headers: dict | None = None,
        stored_tokens: int = 0) -> Load:
    """Load ``server`` with the same funds confirmation; ``headers`` adds e.g. a pre-computed signature;
    ``stored_tokens``: send a random one of the tokens ``fill_tokens`` stored on each call instead."""
    pick = (
        "function request()\n"
        f'  wrk.headers["Authorization"] = "Bearer {TOKEN_PREFIX}" .. math.random(0, {stored_tokens - 1})\n'
        "  return wrk.format()\n"
        "end\n"
    ) if stored_tokens else ""
    script_text = (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(BODY)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        'wrk.headers["X-Request-ID"] = "bench"\n'
        + "".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in (headers or {}).items())
        + pick
        + "function response(status, headers, body)\n"
        '  if status ~= 200 then io.stderr:write("status " .. status .. "\\n") end\n'
        "end\n"
    )
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "post.lua"
        script.write_text(script_text)
        cpu_before = server.cpu_seconds()
        out = subprocess.run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s",
                              "--latency", "-s", str(script), server.url + PATH],
                             capture_output=True, text=True, check=True)
        cpu = server.cpu_seconds() - cpu_before
    text = out.stdout
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    errors = out.stderr.count("status ") + sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
    return Load(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        p50_ms=_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
        p99_ms=_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)),
        requests=requests,
        errors=errors,
        cpu_ms_per_request=1000 * cpu / max(requests, 1),
    )


def signing_scenario(folder: Path) -> tuple[Path, dict]:
    """The default world with the TPP's QWAC/QSealC registered, and the signed headers of the bench request.

    The request never changes (same target, body and X-Request-ID), so one signature serves every call and
    the server still verifies it each time: the row measures verification, not signing.
    """
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from mock_aspsp.tools.pki import issue_bundle
    from mock_aspsp.resources import default_scenario
    from mock_aspsp.tpp.signatures import sign_request

    report = issue_bundle(folder / "certs", CLIENT_ID, "Bench TPP", ["PSP_IC"])
    scenario = yaml.safe_load(default_scenario().read_text())
    scenario["trusted_cas"] = [str(report.files["ca.pem"])]
    scenario["tpps"][0]["certificates"] = [str(report.files["qwac.pem"]), str(report.files["qsealc.pem"])]
    path = folder / "signing.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True))
    key = load_pem_private_key(Path(report.files["qsealc.key"]).read_bytes(), password=None)
    signed = sign_request("POST", PATH, {"X-Request-ID": "bench"}, BODY.encode(), key_id=report.key_id,
                          private_key=key)
    return path, signed


def generated_scenario(folder: Path, psus: int) -> Path:
    path = folder / f"generated-{psus}.yaml"
    from mock_aspsp.resources import default_scenario

    default = default_scenario().read_text()
    path.write_text(default + f"\ngenerate:\n  psus: {psus}\n  accounts_per_psu: 2\n  seed: 42\n")
    return path


TOKEN_PREFIX = "bench-token-"


def fill_tokens(db: Path, count: int) -> None:
    """Store ``count`` live token pairs straight into the SQLite file, as a long-running sandbox would hold;
    the access token of pair ``n`` is ``bench-token-<n>``."""
    from mock_aspsp.store.records import token_hash
    from mock_aspsp.store.sqlite import SqliteStore

    SqliteStore(str(db))  # creates the schema
    now = time.time()
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO grants (id, bank, psu, client_id, scope, iban, authenticated_at, issued_at, access_hash,"
                " access_expires_at, refresh_hash, refresh_expires_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                ((f"g{n}", "30007", f"psu{n}", CLIENT_ID, "cbpii", IBAN, now, now, token_hash(f"{TOKEN_PREFIX}{n}"),
                  now + 3600, f"r{n:064d}", now + 86400 * 180) for n in range(count)),
            )
        # Into the main file, as SQLite's automatic checkpoints would have put a long-running sandbox's pairs:
        # otherwise every read searches a 500 MB write-ahead log first.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def read_through(path: Path) -> None:
    """Read a file once, into the OS's page cache, where a server that has run a while has its state file.
    (This VM gives back cached pages within minutes: the 1M-pair file, written just before, was found
    mostly out of the cache, and the row measured disk reads.)"""
    with path.open("rb") as file:
        while file.read(1 << 20):
            pass


def redis_store_rows(workers: int, seconds: int, folder: Path, sqlite_c1: Load,
                     sqlite_c16: Load) -> tuple[list[str], str]:
    """The product on the Redis store, against the SQLite figures of the same run: (rows, note)."""
    from redis_server import MISSING, RedisServer, find_redis_server

    if find_redis_server() is None:
        return [], f"Redis rows skipped: {MISSING}"
    redis = RedisServer(Path(tempfile.mkdtemp(prefix="redis-", dir=folder))).start()
    try:
        product = start_product(workers, folder, args=("--store", redis.url()))
        try:
            token = access_token(product.url)
            redis_process = Server("redis-server", redis.process, redis.url(), 0)
            cpu_before = redis_process.cpu_seconds()
            c1 = wrk(product, token, 1, seconds)
            c16 = wrk(product, token, 16, seconds)
            redis_cpu_ms = 1000 * (redis_process.cpu_seconds() - cpu_before) / max(c1.requests + c16.requests, 1)
        finally:
            product.stop()
    finally:
        redis.stop()
    for load in (c1, c16):
        if load.errors:
            print(f"WARNING: {load.errors} non-200 answers from the product on Redis", file=sys.stderr)
    rows = [
        row("req/s, concurrency 1", c1.rps, sqlite_c1.rps, "", "higher"),
        row("req/s, concurrency 16", c16.rps, sqlite_c16.rps, "", "higher"),
        row("p50 latency, c=1", c1.p50_ms, sqlite_c1.p50_ms, "ms", "lower"),
        row("p99 latency, c=1", c1.p99_ms, sqlite_c1.p99_ms, "ms", "lower"),
        row("p50 latency, c=16", c16.p50_ms, sqlite_c16.p50_ms, "ms", "lower"),
        row("p99 latency, c=16", c16.p99_ms, sqlite_c16.p99_ms, "ms", "lower"),
        row("server CPU per request, c=16", c16.cpu_ms_per_request, sqlite_c16.cpu_ms_per_request, "ms", "lower"),
        row("redis-server CPU per request", redis_cpu_ms, None, "ms", "-"),
    ]
    return rows, "redis-server " + subprocess.run([redis.executable, "--version"], capture_output=True,
                                                  text=True).stdout.split()[2].removeprefix("v=")


def row(name: str, value: float, base: float | None, unit: str, better: str, ratio: float | None = None) -> str:
    """``ratio``: given when it is not value / base (the median of paired runs' ratios)."""
    ratio = f"{ratio if ratio is not None else value / base:.2f}x" if base else "-"
    return f"| {name} | {value:,.2f} {unit} | {'-' if base is None else f'{base:,.2f} {unit}'} | {ratio} | {better} |"


def median_load(loads: list[Load]) -> Load:
    """Each figure the median of the rounds': one noisy window (a p99 of a run the VM stalled) does not decide."""
    return Load(*(median([getattr(load, f.name) for load in loads]) for f in fields(Load)))


def paired_ratio(loads: list[Load], bases: list[Load]) -> float:
    """The median of each round's product / baseline throughput: runs seconds apart share the machine's
    state of the moment, so their ratio is steadier than the ratio of two medians."""
    ratios = sorted(load.rps / base.rps for load, base in zip(loads, bases))
    return ratios[len(ratios) // 2]


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


IDLE_STEPS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


def under_idle(server: Server, token: str, seconds: float, health: bool) -> str:
    """p99 of normal calls (new connection each, 2 s time-out) while 64 idle connections are held, and the
    calls that failed."""
    normal, _ = under_attack(server.url, token, seconds, {"idle": 64}, timeout=2, health=health)
    return f"{normal.p99_ms():,.2f} ms ({len(normal.failures)} of {len(normal.latencies)})"


def hostile_rows(baseline: Server, product: Server, token: str, seconds: float) -> list[str]:
    """The idle-connection rows: p99 of normal calls while 64 idle connections are held, and how many idle
    connections a server holds without a normal call waiting over 100 ms."""
    product_idle = under_attack(product.url, token, seconds, {"idle": 64}, timeout=2)[0]
    base_idle = under_attack(baseline.url, "none", seconds, {"idle": 64}, timeout=2, health=False)[0]
    round_s = min(2.0, seconds / 2)
    held = idle_capacity(product.url, token, IDLE_STEPS, round_s=round_s)
    base_held = idle_capacity(baseline.url, "none", IDLE_STEPS, health=False, round_s=round_s)
    return [
        f"| p99 of normal calls while 64 idle connections are held (failed calls) | {product_idle.p99_ms():,.2f} ms "
        f"({len(product_idle.failures)} of {len(product_idle.latencies)}) | {base_idle.p99_ms():,.2f} ms "
        f"({len(base_idle.failures)} of {len(base_idle.latencies)}) | - | target < 100 ms, none failed |",
        f"| idle connections held, no normal call over 100 ms (tried: {', '.join(map(str, IDLE_STEPS))}) "
        f"| {held:,} | {base_held:,} | - | higher |",
    ]


GUARDED = "mock_aspsp.tools.serving.GuardedThreadWorker"


@dataclass
class Comparison:
    rounds: int
    rows: list[str]


def server_comparison(product: Server, token: str, args: argparse.Namespace) -> Comparison:
    """The product under gunicorn's gthread (as shipped, and as ``serve --tls-cert`` guards it), gevent and
    sync workers, beside granian (``product``)."""
    others = {kind: start_product_on(kind, args.workers) for kind in ("gthread", GUARDED, "gevent", "sync")}
    try:
        tokens = {kind: access_token(server.url) for kind, server in others.items()}
        loads: dict[str, dict[int, list[Load]]] = {kind: {1: [], 16: []} for kind in ("granian", *others)}
        rounds = max(1, args.rounds - 2)
        for _ in range(rounds):
            for connections in (1, 16):
                loads["granian"][connections].append(wrk(product, token, connections, args.seconds))
                for kind, server in others.items():
                    loads[kind][connections].append(wrk(server, tokens[kind], connections, args.seconds))
        idle = {"granian": under_idle(product, token, args.hostile_seconds, True)}
        idle.update({kind: under_idle(server, tokens[kind], args.hostile_seconds, True)
                     for kind, server in others.items()})
    finally:
        for server in others.values():
            server.stop()
    rows = []
    for kind, by_connections in loads.items():
        c1, c16 = median_load(by_connections[1]), median_load(by_connections[16])
        ratio = paired_ratio(by_connections[16], loads["granian"][16])
        name = {"granian": "granian (serve)", GUARDED: "gunicorn gthread, guarded (serve --tls-cert)"}.get(
            kind, f"gunicorn {kind}")
        rows.append(f"| {name} | {c1.rps:,.0f} | {c16.rps:,.0f} | {ratio:.2f}x | {c16.cpu_ms_per_request:.3f} | "
                    f"{c16.p99_ms:.2f} ms | {idle[kind]} |")
    return Comparison(rounds, rows)


def startup_seconds(start_server) -> float:
    server = start_server()
    server.stop()
    return server.startup_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating baseline/product rounds: medians, and for throughput the median of each "
                             "round's ratio (this VM is noisy)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=1_000_000, help="stored pairs for the latency row")
    parser.add_argument("--hostile-seconds", type=int, default=10,
                        help="how long each idle-connection row holds its 64 idle connections")
    parser.add_argument("--only", choices=["throughput"],
                        help="throughput: just the c=1, c=16, signed and CPU-per-call rows (a few minutes, for "
                             "checking a change; the full run is the figure of record)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:  # state files, certificates: ~0.5 GB with 1M pairs
        return run(args, Path(folder))


def throughput_runs(args: argparse.Namespace, folder: Path) -> tuple[Server, Server, str, dict[str, list[Load]]]:
    """The alternating c=1 / c=16 / signed / bare-Flask-on-granian rounds: (baseline, product, product's token,
    runs); the baseline and the product are left running, for the rows that follow."""
    # All four stay up; an idle server costs nothing while another one is loaded.
    scenario, signed_headers = signing_scenario(folder)
    baseline, product = start_baseline(args.workers), start_product(args.workers, folder)
    flask_granian = start_baseline_granian(args.workers)
    signing = start_product(args.workers, folder, scenario=scenario)
    # ``serve --threads 1``: sequential calls always meet the same, warm thread (README, "What the server tolerates").
    one_thread = start_product(args.workers, folder, args=["--threads", "1"])
    token, signing_token, one_thread_token = (access_token(s.url) for s in (product, signing, one_thread))
    runs: dict[str, list[Load]] = {"base_c1": [], "prod_c1": [], "base_c16": [], "prod_c16": [], "signed_c16": [],
                                   "flask_granian_c16": [], "one_thread_c1": []}
    for _ in range(args.rounds):
        runs["base_c1"].append(wrk(baseline, "none", 1, args.seconds))
        runs["prod_c1"].append(wrk(product, token, 1, args.seconds))
        runs["base_c16"].append(wrk(baseline, "none", 16, args.seconds))
        runs["prod_c16"].append(wrk(product, token, 16, args.seconds))
        runs["signed_c16"].append(wrk(signing, signing_token, 16, args.seconds, signed_headers))
        runs["flask_granian_c16"].append(wrk(flask_granian, "none", 16, args.seconds))
        runs["one_thread_c1"].append(wrk(one_thread, one_thread_token, 1, args.seconds))
    for server in (flask_granian, signing, one_thread):
        server.stop()
    errors = sum(load.errors for name, loads in runs.items() if name != "base_c1" for load in loads)
    if errors:
        print(f"WARNING: {errors} non-200 answers from the product", file=sys.stderr)
    return baseline, product, token, runs


def throughput_rows(runs: dict[str, list[Load]]) -> list[str]:
    base_c1, prod_c1, base_c16, prod_c16, signed_c16, flask_granian_c16, one_thread_c1 = (
        median_load(runs[k]) for k in runs)
    return [
        row("req/s, concurrency 1", prod_c1.rps, base_c1.rps, "", "target ≥ 1.0x",
            paired_ratio(runs["prod_c1"], runs["base_c1"])),
        row("req/s, concurrency 16", prod_c16.rps, base_c16.rps, "", "target ≥ 1.3x",
            paired_ratio(runs["prod_c16"], runs["base_c16"])),
        row("req/s, c=16, QSealC signature + Digest verified", signed_c16.rps, base_c16.rps, "", "target ≥ 0.8x",
            paired_ratio(runs["signed_c16"], runs["base_c16"])),
        row("p50 latency, c=16", prod_c16.p50_ms, base_c16.p50_ms, "ms", "lower"),
        row("p99 latency, c=16", prod_c16.p99_ms, base_c16.p99_ms, "ms", "lower"),
        row("server CPU per request, c=16", prod_c16.cpu_ms_per_request, base_c16.cpu_ms_per_request, "ms", "lower"),
        row("server CPU per request, c=16, against bare Flask on granian", prod_c16.cpu_ms_per_request,
            flask_granian_c16.cpu_ms_per_request, "ms", "target ≤ 2x"),
        row("req/s, c=16, bare Flask on granian (for scale)", flask_granian_c16.rps, base_c16.rps, "", "-",
            paired_ratio(runs["flask_granian_c16"], runs["base_c16"])),
        row("req/s, concurrency 1, serve --threads 1", one_thread_c1.rps, base_c1.rps, "", "-",
            paired_ratio(runs["one_thread_c1"], runs["base_c1"])),
    ]


def print_table(args: argparse.Namespace, rows: list[str]) -> None:
    print(f"\nmock-aspsp benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} cores, {args.workers} workers, wrk {args.seconds}s per run, "
          f"median of {args.rounds} alternating rounds\n")
    print("| measure | mock-aspsp | baseline | ratio | goal |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


def run(args: argparse.Namespace, folder: Path) -> int:
    if args.only == "throughput":
        baseline, product, _, runs = throughput_runs(args, folder)
        baseline.stop()
        product.stop()
        print_table(args, throughput_rows(runs))
        return 0
    starts: dict[str, list[float]] = {"base": [], "prod": []}
    for _ in range(args.rounds):  # alternating, as the loads below
        starts["base"].append(startup_seconds(lambda: start_baseline(args.workers)))
        starts["prod"].append(startup_seconds(lambda: start_product(args.workers, folder)))
    base_start, prod_start = median(starts["base"]), median(starts["prod"])

    baseline, product, token, runs = throughput_runs(args, folder)
    base_pss, prod_pss = baseline.pss_mib(), product.pss_mib()
    hostile = hostile_rows(baseline, product, token, args.hostile_seconds)
    comparison = server_comparison(product, token, args)
    baseline.stop()
    product.stop()
    redis_rows, redis_note = redis_store_rows(args.workers, args.seconds, folder, median_load(runs["prod_c1"]),
                                              median_load(runs["prod_c16"]))

    rows = [
        *throughput_rows(runs),
        row("start-up to first 200", prod_start, base_start, "s", "target ≤ 2x"),
        row("PSS after load (master + workers)", prod_pss, base_pss, "MiB", "target ≤ 1.5x"),
        *hostile,
    ]

    # Cold starts, one per round, as the start-up row above: a single one on this VM can take half again as long.
    big_scenario, big_starts = generated_scenario(folder, 10_000), []
    for _ in range(args.rounds - 1):
        big_starts.append(startup_seconds(lambda: start_product(args.workers, folder, scenario=big_scenario)))
    big = start_product(args.workers, folder, scenario=big_scenario)
    big_starts.append(big.startup_s)
    rows += [row("start-up, 10k PSUs / 20k accounts", median(big_starts), None, "s", "target < 2 s"),
             row("PSS, 10k PSUs / 20k accounts", big.pss_mib(), base_pss, "MiB", "-")]
    big.stop()

    # The "empty" store holds the one pair the per-call script can pick (bench-token-0), so the
    # spread row is compared with the same wrk script: only the number of stored pairs differs.
    empty_db, db = folder / "empty.sqlite3", folder / "full.sqlite3"
    fill_tokens(empty_db, 1)
    fill_tokens(db, args.tokens)
    read_through(db)
    empty, full = start_product(args.workers, folder, db=empty_db), start_product(args.workers, folder, db=db)
    empty_token, full_token = access_token(empty.url), access_token(full.url)
    # One unmeasured run each first (the OS reads the stored pairs' pages into its cache: a server
    # that has run a while has them there), then alternating rounds as above.
    wrk(empty, "", 1, args.seconds, stored_tokens=1)
    wrk(full, "", 1, args.seconds, stored_tokens=args.tokens)
    stored: dict[str, list[Load]] = {"empty": [], "one": [], "empty_picked": [], "spread": []}
    for _ in range(args.rounds):
        stored["empty"].append(wrk(empty, empty_token, 1, args.seconds))
        stored["one"].append(wrk(full, full_token, 1, args.seconds))
        stored["empty_picked"].append(wrk(empty, "", 1, args.seconds, stored_tokens=1))
        stored["spread"].append(wrk(full, "", 1, args.seconds, stored_tokens=args.tokens))
    empty.stop()
    full.stop()
    errors = sum(load.errors for loads in stored.values() for load in loads)
    if errors:
        print(f"WARNING: {errors} non-200 answers with {args.tokens:,} stored pairs", file=sys.stderr)
    empty_p50, one_p50, empty_picked_p50, spread_p50 = (median([load.p50_ms for load in stored[k]]) for k in stored)
    rows.append(row(f"p50 latency c=1, {args.tokens:,} stored pairs, a different one on every call",
                    spread_p50, empty_picked_p50, "ms", "target within 10 % (≤ 1.10x)"))
    rows.append(row(f"p50 latency c=1, {args.tokens:,} stored pairs, one token", one_p50, empty_p50, "ms",
                    "target within 10 % (≤ 1.10x)"))

    print_table(args, rows)
    print(f"\nThe product under each server compared, same run (median of {comparison.rounds} alternating rounds; "
          "ratio: paired, to granian, which `mock-aspsp serve` runs)\n")
    print("| server | req/s c=1 | req/s c=16 | ratio c=16 | CPU ms/req c=16 | p99 c=16 | normal calls with 64 idle "
          "connections held: p99 (failed) |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(comparison.rows))
    if redis_rows:
        print(f"\nfunds-confirmations with the Redis store (serve --store, {redis_note} on this machine) "
              "beside the SQLite default, same run\n")
        print("| measure | Redis store | SQLite store | ratio | goal |")
        print("|---|---|---|---|---|")
        print("\n".join(redis_rows))
    else:
        print(f"\n{redis_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
