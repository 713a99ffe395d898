"""Load on the studio's generate endpoint: `ganforge serve` started as a subprocess on a loopback port,
1,000 requests at 50 concurrent (httpx, asyncio), each a 16-image grid from the quickstart-size
DCGAN (z 64, widths 32, 28x28) -- what the page asks for as its controls move. Written to
docs/benchmarks/serve.md: errors, latency p50 / p95 / max, requests per second, and the server's
resident memory (VmRSS from /proc/PID/status) after start, after a warm-up, and after the load.

    python benchmarks/serve_load.py [--requests 1000] [--concurrency 50] [--count 16] [--run RUN]

Without --run, a quickstart-size run is trained for 2 steps first (the weights do not change the
cost of a forward pass). The server and this client share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _machine import QUIET_RUN, describe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc/PID/status (VmRSS, kB) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ganforge.cli", *args]


def train_run(out: Path) -> Path:
    """The quickstart preset's networks, trained for 2 steps."""
    subprocess.run(
        cli("train", "quickstart", "--out", str(out), "train.steps=2", "train.precision=32", *QUIET_RUN),
        check=True,
        capture_output=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return out


def start_server(run: Path, workers: int) -> tuple[subprocess.Popen, str]:
    """`ganforge serve RUN --port 0` (any free port); returns the process and the URL it printed."""
    proc = subprocess.Popen(
        cli("serve", str(run), "--port", "0", "--workers", str(workers)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    line = proc.stdout.readline()
    match = re.search(r"http://\S+/", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"the server did not start: {line}{proc.stdout.read()}")
    return proc, match.group(0)


async def load(url: str, model: str, requests: int, concurrency: int, count: int) -> tuple[list[float], list[str]]:
    """`requests` POST /api/generate calls, `concurrency` in flight at a time: (latencies in s, errors)."""
    latencies, errors = [], []
    queue = iter(range(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def worker():
            for i in queue:
                t0 = time.perf_counter()
                try:
                    resp = await client.post("/api/generate", json={"model": model, "seed": i, "count": count})
                    if resp.status_code != 200 or "image" not in resp.json():
                        errors.append(f"{resp.status_code}: {resp.text[:100]}")
                except httpx.HTTPError as e:
                    errors.append(f"{type(e).__name__}: {e}")
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--count", type=int, default=16, help="images per request")
    ap.add_argument("--workers", type=int, default=2, help="the server's inference threads")
    ap.add_argument("--run", default=None, help="a run to serve (default: train a quickstart-size one)")
    ap.add_argument("--out", default=str(ROOT / "docs/benchmarks/serve.md"))
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run) if args.run else train_run(Path(tmp) / "quickstart")
        proc, url = start_server(run, args.workers)
        try:
            model = httpx.get(url + "api/models").json()["models"][0]["id"]
            rss_start = rss_mb(proc.pid)
            asyncio.run(load(url, model, 2 * args.concurrency, args.concurrency, args.count))  # warm-up
            rss_warm = rss_mb(proc.pid)
            t0 = time.perf_counter()
            latencies, errors = asyncio.run(load(url, model, args.requests, args.concurrency, args.count))
            wall = time.perf_counter() - t0
            rss_after = rss_mb(proc.pid)
            alive = httpx.get(url + "api/health").status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    load_after = os.getloadavg()
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    growth = rss_after - rss_warm
    command = "python benchmarks/serve_load.py " + " ".join(sys.argv[1:])
    text = f"""# Studio load: `POST /api/generate` under concurrency

`{command.strip()}` -- `ganforge serve` in a subprocess on 127.0.0.1 (`--workers {args.workers}`: inference
threads, one torch thread each), the quickstart-size DCGAN (z 64, widths 32, 28x28 grey); each request a
{args.count}-image grid (base64 PNG in JSON), seeds 0..{args.requests - 1}; {args.concurrency} requests in flight
at a time from one httpx AsyncClient in this process, over loopback. Resident memory (VmRSS of the server
process) after start, after a warm-up of {2 * args.concurrency} requests, and after the {args.requests} requests.

Machine: {describe()}. Load average (1, 5, 15 min) before: {", ".join(f"{x:.2f}" for x in load_before)};
after: {", ".join(f"{x:.2f}" for x in load_after)} (the machine's 2 cores are shared with other work; the
client and the server share them too).

| requests | concurrency | errors | p50 latency | p95 latency | max | throughput |
|---:|---:|---:|---:|---:|---:|---:|
| {len(latencies)} | {args.concurrency} | {len(errors)} | {p50 * 1000:.0f} ms | {p95 * 1000:.0f} ms | {max(latencies) * 1000:.0f} ms | {len(latencies) / wall:.1f} req/s |

| server RSS | MiB |
|---|---:|
| after start | {rss_start:.1f} |
| after warm-up | {rss_warm:.1f} |
| after the load | {rss_after:.1f} |
| growth during the load | {growth:+.1f} (limit: < 50) |
| growth since start, warm-up included | {rss_after - rss_start:+.1f} |

The server answered `/api/health` after the load: {"yes" if alive else "NO"}.
Latency includes queueing: {args.concurrency} requests in flight share {args.workers} workers, so a request waits
for those ahead of it (in flight / throughput = {args.concurrency / (len(latencies) / wall):.2f} s). The gap
between p50 and p95 was not investigated further; the machine was shared (load average above).
"""
    if errors:
        text += "\nErrors (first 5):\n\n" + "\n".join(f"- {e}" for e in errors[:5]) + "\n"
    Path(args.out).write_text(text)
    print(text)
    if errors or max(growth, rss_after - rss_start) >= 50 or not alive:
        sys.exit(1)


if __name__ == "__main__":
    main()
