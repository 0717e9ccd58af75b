"""Integration sections for analyze/: the drift store behind a running proxy
(nginx serving drifted bodies -> driftgate -> anomalies -> SQLite store ->
heuristic explanations), kill -9 during heavy writes, a store that cannot be
written, and, with the fake Gemini server, batched model explanations and the
report. Imported by suite.py, which owns the servers (nginx, the fake
upstream) and the Results; `bind` hands over its globals."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import lib
import routes

G = None  # the suite module (S, R, DG, helpers)

# The drifted routes of the fixture API and the drift each must produce
# (operation, normalised pointer, kind, heuristic classification).
DRIFTS = {
    "/items/2": ("getItem", "/price", "type", "provider_type_change"),
    "/items/3": ("getItem", "", "required", "provider_removed_field"),
    "/items/4": ("getItem", "/status", "enum", "provider_added_enum_value"),
    "/items/5": ("getItem", "/internal_margin", "additional", "provider_added_field"),
    "/items/6": ("getItem", "/sku", "type", "nullability_change"),
    "/items/7": ("getItem", "/created_at", "format", "format_change"),
    "/categories/toys/items": ("listCategoryItems", "/*/price", "type", "provider_type_change"),
    "/items/418": ("getItem", "", "undocumented_status", "spec_error"),
    "/streams/bad": ("getStream", "/*/type", "enum", "provider_added_enum_value"),
}


def bind(suite):
    global G
    G = suite


def q(db, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def store_config(d, db, flush="1s", extra_top="", api_extra=""):
    path = os.path.join(G.S.tmp, d.name + ".yaml")
    text = G.config_text(d, G.one_api(G.ng_url(), extra=api_extra))
    text = text.replace("apis:\n", "store:\n  path: %s\n  flush_interval: %s\n%sapis:\n" % (db, flush, extra_top), 1)
    with open(path, "w") as f:
        f.write(text)
    return path


def dg_with_store(name, db, flush="1s", extra_top="", api_extra=""):
    d = G.DG(name)
    path = store_config(d, db, flush, extra_top, api_extra)
    d.argv = ["run", "--config", path]
    d.config = path
    return d if d.start() else None


def send(d, paths, times):
    c = lib.Conn(d.port, timeout=10 * G.S.T)
    n = 0
    for _ in range(times):
        for p in paths:
            r = c.request("GET", p)
            n += r.status > 0
            if (r.header("Connection") or "").lower() == "close":
                c.close()
                c = lib.Conn(d.port, timeout=10 * G.S.T)
    c.close()
    return n


def flushed(d, analyzed):
    """Waits until the analyzer aggregated `analyzed` anomalies and wrote them."""
    def ok(m):
        return (lib.msum(m, "driftgate_anomalies_analyzed_total") >= analyzed and
                lib.msum(m, "driftgate_drift_pending") == 0 and
                lib.msum(m, "driftgate_drift_flushes_total", result="ok") >= 1)
    m = G.wait_metric(d, ok, timeout=15)
    return m if ok(m) else None


def sec_store():
    """Drifted bodies through the proxy end up deduplicated in the store, each
    with a heuristic explanation; counts add up across a restart."""
    S, R = G.S, G.R
    db = os.path.join(S.tmp, "store.db")
    d = dg_with_store("store", db)
    if not d:
        return
    paths = list(DRIFTS) + ["/items/1", "/items"]
    times = 5
    send(d, paths, times)
    m = flushed(d, len(DRIFTS) * times)
    R.check("store: every anomaly aggregated and flushed", m is not None,
            "metrics: analyzed=%s pending=%s flushes=%s" % (
                lib.msum(d.metrics(), "driftgate_anomalies_analyzed_total"),
                lib.msum(d.metrics(), "driftgate_drift_pending"),
                lib.mseries(d.metrics(), "driftgate_drift_flushes_total")))
    rows = q(db, "select operation, pointer, kind, count, owner, example from drifts")
    got = {(r[0], r[1], r[2]) for r in rows}
    want = {(v[0], v[1], v[2]) for v in DRIFTS.values()}
    R.check("store: exactly one drift per distinct deviation (%d)" % len(want), got == want,
            "missing %r, unexpected %r" % (sorted(want - got), sorted(got - want)))
    R.check("store: counts are exact (%d each)" % times, all(r[3] == times for r in rows),
            "%r" % [(r[1], r[2], r[3]) for r in rows if r[3] != times])
    R.check("store: fingerprints metric = distinct drifts",
            lib.msum(d.metrics(), "driftgate_drift_fingerprints_total") == len(want),
            "%s" % lib.msum(d.metrics(), "driftgate_drift_fingerprints_total"))
    leaked = [r[5] for r in rows if r[5] and routes.SENTINEL_PREFIX in r[5]]
    R.check("store: no raw value in any stored example", not leaked, "%r" % leaked[:2])
    ex = {(r[0], r[1], r[2]): r[3] for r in q(db, "select d.operation, d.pointer, d.kind, e.classification "
                                                  "from drifts d join explanations e using (fingerprint) "
                                                  "where e.source = 'heuristic'")}
    bad = [(k, ex.get(k[:3]), k[3]) for k in DRIFTS.values() if ex.get(k[:3]) != k[3]]
    R.check("store: every drift has the expected heuristic classification", not bad, "%r" % bad)
    days = q(db, "select sum(count) from daily_counts")[0][0]
    R.check("store: daily counts sum to the total", days == len(DRIFTS) * times, "%r" % days)
    # restart on the same file: same fingerprints, counts add up
    rc = d.stop()
    R.check("store: SIGTERM flushes and exits 0", rc == 0, "rc=%r %s" % (rc, d.stderr_tail()))
    d2 = dg_with_store("store2", db)
    if not d2:
        return
    send(d2, paths, times)
    flushed(d2, len(DRIFTS) * times)
    rows = q(db, "select count(*), sum(count) from drifts")[0]
    R.check("store: a restart keeps fingerprints stable and counts adding up",
            rows == (len(want), 2 * times * len(want)), "%r" % (rows,))
    d2.stop()


def sec_store_crash():
    """kill -9 during heavy writes loses at most the last flush interval and
    never corrupts the store; the next start uses the same file."""
    S, R = G.S, G.R
    db = os.path.join(S.tmp, "crash.db")
    d = dg_with_store("crash", db, flush="200ms")
    if not d:
        return
    stop = threading.Event()
    sent = [0]

    def load():
        paths = list(DRIFTS)
        while not stop.is_set():
            try:
                sent[0] += send(d, paths, 1)
            except (OSError, lib.Incomplete):
                return
    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    samples = []  # (analyzed, flushes ok), polled while the load runs
    deadline = time.monotonic() + random.uniform(1.5, 3.0) * S.T
    while time.monotonic() < deadline:
        try:
            m = d.metrics()
            samples.append((lib.msum(m, "driftgate_anomalies_analyzed_total"),
                            lib.msum(m, "driftgate_drift_flushes_total", result="ok")))
        except (OSError, RuntimeError):
            pass
        time.sleep(0.05)
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(10)
    d.stopped = (0.0, True)
    d.rc = -9
    ok = q(db, "pragma integrity_check")
    R.check("crash: store intact after kill -9 (integrity_check)", ok == [("ok",)], "%r" % ok[:3])
    stored = q(db, "select coalesce(sum(count), 0) from drifts")[0][0]
    # A lower bound: anomalies aggregated at a sample taken before a flush that completed.
    final_flushes = samples[-1][1] if samples else 0
    lower = max([a for a, f in samples if f < final_flushes] or [0])
    upper = samples[-1][0] + 4 * len(DRIFTS) * 50 if samples else 0  # analyzed after the last sample
    R.check("crash: nothing flushed was lost (stored %d >= %d, written before the last flush)" % (stored, lower),
            stored >= lower and stored > 0, "stored=%d lower=%d samples=%d" % (stored, lower, len(samples)))
    R.check("crash: nothing counted twice (stored %d <= anomalies produced)" % stored,
            stored <= upper, "stored=%d upper=%d" % (stored, upper))
    d2 = dg_with_store("crash2", db, flush="200ms")
    if d2:
        send(d2, ["/items/2"], 3)
        m = flushed(d2, 3)
        after = q(db, "select coalesce(sum(count), 0) from drifts")[0][0]
        R.check("crash: the next start writes to the same store", m is not None and after == stored + 3,
                "before=%d after=%d" % (stored, after))
        d2.stop()


def sec_store_locked():
    """A store another process keeps locked: the proxy keeps serving, failed
    flushes are counted, drift waits in memory and is written exactly once
    when the lock goes. A corrupt store file stops start-up with a clear
    error."""
    S, R = G.S, G.R
    db = os.path.join(S.tmp, "locked.db")
    d = dg_with_store("locked", db, flush="300ms", extra_top="  busy_timeout: 100ms\n")
    if not d:
        return
    holder = sqlite3.connect(db, timeout=5, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        send(d, ["/items/2", "/items/1"], 5)
        r = d.get("/items/1")
        R.check("locked: the proxy keeps serving", r.status == 200, "%r" % r)
        m = G.wait_metric(d, lambda m: lib.msum(m, "driftgate_drift_flushes_total", result="error") >= 2, 10)
        R.check("locked: failed flushes counted, the drift kept pending",
                lib.msum(m, "driftgate_drift_flushes_total", result="error") >= 2 and
                lib.msum(m, "driftgate_drift_pending") == 1,
                "%r pending=%s" % (lib.mseries(m, "driftgate_drift_flushes_total"),
                                   lib.msum(m, "driftgate_drift_pending")))
        logged = open(d.log).read().count("drift is kept in memory")
        R.check("locked: the error is logged once, not once per flush", logged == 1, "%d lines" % logged)
    finally:
        holder.execute("COMMIT")
        holder.close()
    m = flushed(d, 5)
    rows = q(db, "select count(*), sum(count) from drifts")[0]
    R.check("locked: written exactly once when the lock goes", m is not None and rows == (1, 5), "%r" % (rows,))
    d.stop()
    # a corrupt store: start-up refuses with the file and the reason
    bad = os.path.join(S.tmp, "corrupt.db")
    with open(bad, "wb") as f:
        f.write(b"SQLite format 3\x00" + os.urandom(8192))
    dd = G.DG("corrupt")
    path = store_config(dd, bad)
    r = G.sh([S.dg, "run", "--config", path])
    out = r.stdout.decode()
    R.check("corrupt store: start-up fails (exit 2) naming the file", r.returncode == 2 and bad in out,
            "rc=%d %r" % (r.returncode, out[-400:]))


SECTIONS = [
    ("store", sec_store, True),
    ("storecrash", sec_store_crash, True),
    ("storelock", sec_store_locked, True),
]
