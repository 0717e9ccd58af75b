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


def start_fake_llm(backend, config=None):
    """Starts tests/fakes/<backend>.py; returns its port."""
    S = G.S
    fakes = os.path.join(os.path.dirname(os.path.dirname(G.HERE)), "tests", "fakes")
    name = "fake-" + backend
    argv = [sys.executable, os.path.join(fakes, backend + ".py"), "--port", "0"]
    if config:
        argv += ["--config", json.dumps(config)]
    S.procs.start(name, argv)
    out = os.path.join(S.tmp, name + ".stdout")
    if not lib.wait_until(lambda: os.path.exists(out) and open(out).read().startswith("PORT "), 10):
        raise RuntimeError("%s did not start: %s" % (name, lib.tail(os.path.join(S.tmp, name + ".stderr"))))
    return int(open(out).read().split()[1])


def fake_call(port, method, path, body=None):
    import urllib.request
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


# What the fake model answers per kind: deliberately not the heuristic's
# wording, so the report shows whose explanation it is.
MODEL_CLASS = {"type": "provider_type_change", "required": "provider_removed_field",
               "enum": "provider_added_enum_value", "additional": "provider_added_field",
               "format": "format_change", "undocumented_status": "spec_error"}


def model_answer(rows):
    ex = []
    for fp, kind, observed in rows:
        cls = "nullability_change" if observed == "null" else MODEL_CLASS.get(kind, "unknown")
        ex.append({"fingerprint": fp, "classification": cls, "cause": "MODEL: the provider changed %s" % kind,
                   "evidence": "seen in the batch", "severity": "medium", "confidence": 0.7,
                   "patch": [{"op": "test", "path": "/openapi", "value": "3.1.0"}]})
    return json.dumps({"explanations": ex})


def chromium_check(html, png):
    """Renders html headless; returns None when it rendered with no console
    message, CSP violation or uncaught error, else why not."""
    log = png + ".log"
    prof = png + ".profile"
    argv = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-breakpad",
            "--disable-crash-reporter", "--user-data-dir=" + prof, "--enable-logging=stderr", "--v=0",
            "--window-size=1280,2000", "--screenshot=" + png, "file://" + html]
    with open(log, "wb") as f:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=f, start_new_session=True)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(10)
    if not os.path.exists(png) or os.path.getsize(png) == 0:
        return "no screenshot: " + lib.tail(log, 3)
    bad = [ln for ln in open(log, errors="replace") if any(
        k in ln for k in ("CONSOLE", "Content Security Policy", "Refused to", "Uncaught"))]
    return ("; ".join(bad[:3]) or None)


def sec_explain():
    """nginx serving drifted bodies -> driftgate -> anomalies -> drift store ->
    one batch to the fake Gemini API (a 429 with RetryInfo first, then an
    answer that breaks the explanation schema and gets one repair) ->
    model explanations -> `driftgate report` whose JSON lists the expected
    fingerprints and classifications, and whose HTML renders in Chromium."""
    S, R = G.S, G.R
    port = start_fake_llm("gemini", {"api_key": "test-key-e2e"})
    os.environ["DG_E2E_GEMINI_KEY"] = "test-key-e2e"
    db = os.path.join(S.tmp, "explain.db")
    interval = int(6 * S.T)
    explain = ("  explain:\n    backend: gemini\n    endpoint: http://127.0.0.1:%d\n"
               "    api_key_env: DG_E2E_GEMINI_KEY\n    batch_interval: %ds\n    backoff_initial: 200ms\n"
               "    requests_per_minute: 0\n" % (port, interval))
    d = G.DG("explain")
    path = store_config(d, db, "500ms")
    text = open(path).read().replace("apis:\n", explain.replace("  explain:", "explain:").replace("\n    ", "\n  ")
                                     + "apis:\n", 1)
    with open(path, "w") as f:
        f.write(text)
    d.argv = ["run", "--config", path]
    if not d.start():
        return
    t0 = time.monotonic()
    send(d, list(DRIFTS) + ["/items/1"], 3)
    if not flushed(d, 3 * len(DRIFTS)):
        R.fail("explain: drift stored", "not flushed")
        return
    rows = q(db, "select fingerprint, kind, observed_type from drifts")
    R.check("explain: %d drifts pending before the batch" % len(DRIFTS), len(rows) == len(DRIFTS), "%d" % len(rows))
    fake_call(port, "POST", "/_fake/script", [
        {"kind": "429", "retry_delay": "1s"},
        {"kind": "success", "text": json.dumps({"explanations": [{"fingerprint": rows[0][0]}]})},
        {"kind": "success", "text": model_answer(rows)}])
    R.check("explain: the answer was scripted before the batch was due",
            time.monotonic() - t0 < interval, "took %.1fs" % (time.monotonic() - t0))
    m = G.wait_metric(d, lambda m: lib.msum(m, "driftgate_explanations_total", source="model", result="ok")
                      >= len(DRIFTS), interval + 20 * S.T)
    got = lib.msum(m, "driftgate_explanations_total", source="model", result="ok")
    R.check("explain: every drift explained by the model", got == len(DRIFTS), "%s" % got)
    reqs = [r for r in fake_call(port, "GET", "/_fake/requests") if r["method"] == "POST"]
    R.check("explain: one batch: 429, then the invalid answer, then the repair (3 requests)", len(reqs) == 3,
            "%d requests" % len(reqs))
    if len(reqs) >= 2:
        R.check("explain: the RetryInfo delay was honoured (>= 1 s)", reqs[1]["time"] - reqs[0]["time"] >= 1.0,
                "%.2fs" % (reqs[1]["time"] - reqs[0]["time"]))
    if reqs:
        r0 = reqs[0]
        body = r0.get("json") or {}
        gc = body.get("generationConfig", {})
        R.check("explain: Gemini wire format (path, key header, JSON mode with the schema)",
                r0["path"] == "/v1beta/models/gemma-4-31b-it:generateContent" and
                r0["headers"].get("x-goog-api-key") == "test-key-e2e" and
                gc.get("responseMimeType") == "application/json" and "responseJsonSchema" in gc,
                "%s %r" % (r0["path"], sorted(gc)))
        prompt = r0["body"]
        R.check("explain: the batch names every drift", all(fp in prompt for fp, _, _ in rows),
                "missing %r" % [fp for fp, _, _ in rows if fp not in prompt])
        R.check("explain: no response value leaves the process", routes.SENTINEL_PREFIX not in prompt,
                "a sentinel is in the prompt")
        R.check("explain: upstream data is fenced as untrusted", "<untrusted-data>" in prompt)
        if len(reqs) == 3:
            R.check("explain: the repair request says what was wrong",
                    "could not be used" in reqs[2]["body"], reqs[2]["body"][-300:])
    R.check("explain: LLM metrics match (1 rate_limited, 2 ok)",
            lib.msum(m, "driftgate_llm_requests_total", backend="gemini", outcome="rate_limited") == 1 and
            lib.msum(m, "driftgate_llm_requests_total", backend="gemini", outcome="ok") == 2 and
            lib.msum(m, "driftgate_llm_tokens_total", backend="gemini", direction="prompt") > 0,
            "%r" % lib.mseries(m, "driftgate_llm_requests_total"))
    d.stop()
    # the report
    out = os.path.join(S.tmp, "report-e2e")
    r = G.sh([S.dg, "report", "--store", db, "--out", out, "--since", "1d"])
    R.check("report: written (exit 0)", r.returncode == 0, r.stdout.decode()[-300:])
    try:
        js = json.load(open(os.path.join(out, "shop.json")))
    except (OSError, ValueError) as e:
        R.fail("report: shop.json", str(e))
        return
    v = G.sh([S.dg, "validate", "--schema", os.path.join(os.path.dirname(os.path.dirname(G.HERE)),
                                                        "analyze", "report.schema.json"),
              os.path.join(out, "shop.json")])
    R.check("report: JSON matches analyze/report.schema.json", v.returncode == 0, v.stdout.decode()[-300:])
    want = {fp: ("nullability_change" if o == "null" else MODEL_CLASS.get(k)) for fp, k, o in rows}
    got = {x["fingerprint"]: (x.get("explanation") or {}) for x in js.get("drifts", [])}
    R.check("report: lists exactly the expected fingerprints", set(got) == set(want),
            "missing %r extra %r" % (sorted(set(want) - set(got)), sorted(set(got) - set(want))))
    wrong = [(fp, (got.get(fp) or {}).get("classification"), c) for fp, c in want.items()
             if (got.get(fp) or {}).get("classification") != c or (got.get(fp) or {}).get("source") != "model"]
    R.check("report: each drift has the model's classification, marked as the model's", not wrong, "%r" % wrong[:3])
    art = os.path.join(os.path.dirname(os.path.dirname(G.HERE)), "build", "integration-artifacts")
    os.makedirs(art, exist_ok=True)
    png = os.path.join(art, "report-e2e.png")
    if os.path.exists(png):
        os.unlink(png)
    why = chromium_check(os.path.join(out, "shop.html"), png)
    R.check("report: the HTML renders in headless Chromium without errors (%s)" % png, why is None, why)


SECTIONS = [
    ("store", sec_store, True),
    ("storecrash", sec_store_crash, True),
    ("storelock", sec_store_locked, True),
    ("explain", sec_explain, True),
]
