#!/usr/bin/env python3
"""A bounded, reproducible traffic generator for the driftgate demo.

Sends `requests` GET requests (at most MAX_REQUESTS) spread over about
`duration` seconds (at most MAX_DURATION) to 127.0.0.1:PORT, choosing among
the routes of demo/upstream/routes.json by their weights with a seeded random
generator: the same seed sends the same requests in the same order. One
keep-alive connection, re-opened when the server closes it. Standard library
only.

    python3 demo/traffic.py --port 8080 [--requests 400] [--duration 12] [--seed 42]

Prints a progress line, then a JSON summary (per-route counts, statuses).
"""
import argparse
import http.client
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROUTES = os.path.join(HERE, "upstream", "routes.json")
MAX_REQUESTS = 5000
MAX_DURATION = 120.0


def load_routes(path=ROUTES):
    with open(path) as f:
        return json.load(f)


def target(route):
    return route["path"] + ("?" + route["query"] if route.get("query") else "")


def plan(routes, n, seed):
    """The route indices to request, in order (deterministic for a seed)."""
    rng = random.Random(seed)
    return rng.choices(range(len(routes)), weights=[r.get("weight", 1) for r in routes], k=n)


def run(port, routes, n, duration, seed, progress=None, host="127.0.0.1", timeout=10.0):
    """Sends the requests; returns a summary dict. progress(done, n, elapsed,
    failed) is called about every 0.2 s and at the end. Raises nothing for
    transport errors (they are counted); KeyboardInterrupt propagates."""
    n = max(0, min(int(n), MAX_REQUESTS))
    duration = max(0.0, min(float(duration), MAX_DURATION))
    order = plan(routes, n, seed)
    per_route = [0] * len(routes)
    statuses = {}
    failed = 0
    errors = {}
    conn = None
    t0 = time.monotonic()
    last = 0.0
    step = duration / n if n else 0.0
    for i, ri in enumerate(order):
        due = t0 + i * step
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        r = routes[ri]
        per_route[ri] += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            conn.request("GET", target(r), headers={
                "Accept": "application/json",
                "Accept-Encoding": "gzip" if i % 2 else "identity",
                "User-Agent": "driftgate-demo-traffic/1",
            })
            resp = conn.getresponse()
            resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            if resp.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            failed += 1
            name = type(e).__name__
            errors[name] = errors.get(name, 0) + 1
            if conn is not None:
                conn.close()
            conn = None
        now = time.monotonic()
        if progress and (now - last >= 0.2 or i + 1 == n):
            last = now
            progress(i + 1, n, now - t0, failed)
    if conn is not None:
        conn.close()
    if progress and n == 0:
        progress(0, 0, 0.0, 0)
    return {
        "requests": n,
        "answered": n - failed,
        "failed": failed,
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seed": seed,
        "seconds": round(time.monotonic() - t0, 3),
        "per_route": [{"target": target(r), "count": c, "verdict": r.get("verdict"),
                       "drifts": r.get("drifts", [])} for r, c in zip(routes, per_route)],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--duration", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()

    def show(done, n, el, failed):
        sys.stderr.write("\r  %d/%d requests, %d failed, %.1f s" % (done, n, failed, el))
        sys.stderr.flush()

    out = run(a.port, load_routes()["routes"], a.requests, a.duration, a.seed, show, host=a.host)
    sys.stderr.write("\n")
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0 if out["failed"] == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
