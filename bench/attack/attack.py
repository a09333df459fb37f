#!/usr/bin/env python3
"""Issue 12 load goals against a running release server (loopback only, every phase bounded):

1. single heavy requests, one at a time: status and time of each attack payload;
2. /health p99 and single-GET lookup throughput (wrk) idle, then while 8 clients keep posting
   a heavy payload (ratios within one run);
3. 256 concurrent logins: peak RSS added (sampled from /proc/PID/status) and the statuses.

Usage: attack.py PID PORT [HEAVY_PAYLOAD]   (bench/attack.sh starts the server and calls this)
"""
import collections
import http.client
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
PID, PORT = int(sys.argv[1]), int(sys.argv[2])
HEAVY = sys.argv[3] if len(sys.argv) > 3 else "sawtooth20k.json"
WRK_SECONDS = os.environ.get("WRK_SECONDS", "6")


def payload(name):
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


def post(path, body, timeout=600):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    start = time.perf_counter()
    c.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read()
    elapsed = time.perf_counter() - start
    c.close()
    return r.status, elapsed, text, r.getheader("Retry-After")


def rss_kib():
    with open(f"/proc/{PID}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def wrk(script_or_path):
    args = ["wrk", "-t2", "-c16", f"-d{WRK_SECONDS}s", "--latency"]
    if script_or_path.endswith(".lua"):
        args += ["-s", os.path.join(BENCH, script_or_path), f"http://127.0.0.1:{PORT}"]
    else:
        args += [f"http://127.0.0.1:{PORT}{script_or_path}"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1e-3, "ms": 1, "s": 1e3}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(timeouts.group(1)) if timeouts else 0


def singles():
    print("== single requests, one at a time")
    cases = [
        ("/api/v1/proposals/validate", "sawtooth40k.json"),
        ("/api/v1/proposals/validate", "sawtooth20k.json"),
        ("/api/v1/proposals/validate", "comb_at_caps.json"),
        ("/api/v1/proposals/validate", "parts4000.json"),
        ("/api/v1/proposals/split", "zigzag_line.json"),
        ("/api/v1/proposals/split", "zigzag_line_1000.json"),
        ("/api/v1/proposals/split", "line50k.json"),
    ]
    for path, name in cases:
        times, status, text = [], None, b""
        for _ in range(int(os.environ.get("REPEAT", "3"))):
            status, elapsed, text, _ = post(path, payload(name), timeout=120)
            times.append(elapsed * 1000)
        detail = text[:160].decode("utf-8", "replace").replace("\n", " ")
        print(f"{name:24} {status}  median {statistics.median(times):8.1f} ms  {detail}")


def under_load():
    print(f"== idle vs 8 clients posting {HEAVY} in a loop (wrk -t2 -c16 -d{WRK_SECONDS}s)")
    idle_health = wrk("/health")
    idle_lookup = wrk("lookup_get.lua")
    stop = threading.Event()
    statuses = collections.Counter()
    body = payload(HEAVY)

    def client():
        while not stop.is_set():
            try:
                status, _, _, retry = post("/api/v1/proposals/validate", body, timeout=120)
            except OSError as e:
                status, retry = type(e).__name__, None
            statuses[(status, retry)] += 1
            if status == 503:
                time.sleep(0.05)  # a polite client would wait Retry-After; keep the pressure on

    threads = [threading.Thread(target=client, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(1)
    busy_health = wrk("/health")
    busy_lookup = wrk("lookup_get.lua")
    stop.set()  # requests still running are not waited for (the old code took minutes)
    print(f"/health idle: {idle_health[0]:.0f} req/s, p99 {idle_health[1]:.2f} ms")
    print(f"/health busy: {busy_health[0]:.0f} req/s, p99 {busy_health[1]:.2f} ms, {busy_health[2]} timeouts")
    print(f"lookup  idle: {idle_lookup[0]:.0f} req/s, p99 {idle_lookup[1]:.2f} ms")
    print(f"lookup  busy: {busy_lookup[0]:.0f} req/s, p99 {busy_lookup[1]:.2f} ms "
          f"({100 * busy_lookup[0] / idle_lookup[0]:.0f} % of idle)")
    print(f"heavy requests answered (status, Retry-After): {dict(statuses)}")


def logins():
    print("== 256 concurrent logins (wrong password)")
    before = rss_kib()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib())
            time.sleep(0.005)

    statuses = collections.Counter()
    body = payload("login.json")
    barrier = threading.Barrier(256)

    def login():
        barrier.wait()
        status, _, _, retry = post("/api/v1/login", body)
        statuses[(status, retry)] += 1

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=login) for _ in range(256)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    time.sleep(0.5)
    done.set()
    sampler.join()
    after = rss_kib()
    print(f"RSS before {before / 1024:.0f} MiB, peak {peak[0] / 1024:.0f} MiB "
          f"(+{(peak[0] - before) / 1024:.0f} MiB), after {after / 1024:.0f} MiB; {elapsed:.1f} s")
    print(f"login answers (status, Retry-After): {dict(statuses)}")


phases = os.environ.get("PHASES", "singles,load,logins").split(",")
if "singles" in phases:
    singles()
if "load" in phases:
    under_load()
if "logins" in phases:
    logins()
