"""``make bench``'s script, run briefly, so the documented benchmark cannot rot between measurements.

The figures themselves are not asserted (they are machine-bound and noisy; see
BENCHMARKS.md). What is: the script runs to the end, prints every row the issue
asks for with a ratio to the baseline, and the request it loads the product
with is answered 200 every time (a benchmark of error answers would flatter).
"""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench.py"
ROWS = [
    "req/s, concurrency 1",
    "req/s, concurrency 16",
    "req/s, c=16, QSealC signature + Digest verified",
    "p50 latency, c=16",
    "p99 latency, c=16",
    "server CPU per request, c=16",
    "start-up to first 200",
    "PSS after load (master + workers)",
    "server CPU per request, c=16, against bare Flask on granian",
    "req/s, c=16, bare Flask on granian (for scale)",
    "req/s, concurrency 1, serve --threads 1",
    "start-up, 10k PSUs / 20k accounts",
    "p50 latency c=1, 1,000 stored pairs, a different one on every call",
    "p50 latency c=1, 1,000 stored pairs, one token",
]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not found: install the Debian package wrk "
                                                        "(.ci/install-system-deps does)")
def test_the_benchmark_prints_every_row_against_the_baseline_and_only_200_answers():
    done = subprocess.run([sys.executable, str(BENCH), "--seconds", "1", "--rounds", "1", "--tokens", "1000",
                           "--hostile-seconds", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr[-3000:]
    table = {cells[0]: cells[1:] for cells in (
        [c.strip() for c in line.strip("|").split("|")] for line in done.stdout.splitlines() if line.startswith("| "))}
    for name in ROWS:
        assert name in table, done.stdout
        product, baseline, ratio = table[name][:3]
        assert re.fullmatch(r"[\d,.]+ ?\w*", product), (name, product)
        if name.startswith("start-up, 10k"):
            assert float(product.split()[0]) > 0
        else:
            assert re.fullmatch(r"\d+\.\d\dx", ratio), (name, ratio)
    idle = next(cells for label, cells in table.items() if label.startswith("idle connections held"))
    assert int(idle[0].replace(",", "")) >= 1, idle  # the product holds one idle connection at least
    compared = [label for label in table if label.startswith(("granian", "gunicorn"))]
    assert compared == ["granian (serve)", "gunicorn gthread", "gunicorn gthread, guarded (serve --tls-cert)",
                        "gunicorn gevent", "gunicorn sync"], done.stdout
