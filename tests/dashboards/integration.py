#!/usr/bin/env python3
"""tests/dashboards/integration.py: the dashboard's and the rules' PromQL
against a real Prometheus scraping a real driftgate. Standard library only;
everything on 127.0.0.1, on free ports, stopped at the end (also on failure
or SIGTERM; each child also gets SIGKILL if this process dies).

  integration.py DRIFTGATE_BINARY DASHBOARD.json RULES.yml

nginx serves a valid and a drifted Item (tests/integration/fixtures/shop.yaml)
to driftgate, which has three APIs on one listener: `shop` (strict, explained
by the fake Gemini API, tests/fakes/gemini.py), `partner` (/partner, profile
third-party, listItems in enforce mode with a tiny enforce_max_body, explained
by an OpenAI-compatible backend on a closed port, so its circuit breaker
opens) and `down` (/down, upstream on a closed port). A drift store is
configured. Prometheus (scrape and rule evaluation every 1 s) loads rules.yml
and a test-only copy of it whose alerts have `for: 0s` (alerts renamed
E2E..., recording rules e2e:...). After a known request mix over a few
seconds and one failed config reload, every expression of the dashboard is
run twice through /api/v1/query: with the job, API and operation variables
at "All" (every expression must return data, at least one value must be a
number, and every label its legend names must be there) and with API shop,
operation getItem (no error; data where the All run had data for them).
Every rule must be loaded, healthy and return no error (recording rules:
data); the template variables' label_values must list the APIs; the E2E
alerts expected from the mix must fire and the others must not. Finally a
copy of the dashboard with a misspelled metric, a misspelled label and a
syntax error is checked the same way, and each must be reported.

Prints `ok - ...` / `FAIL - ...` per check and `N passed, M failed`; exit 1
on any failure. KEEP=1 keeps the temporary directory."""
import ctypes
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
SPEC = os.path.join(TOP, "tests", "integration", "fixtures", "shop.yaml")
GEMINI = os.path.join(TOP, "tests", "fakes", "gemini.py")
ROUNDS = 8
ALL = {"job": "driftgate", "api": ".*", "operation": ".*"}
ONE = {"job": "driftgate", "api": "shop", "operation": "getItem"}
RATE_INTERVAL = "2m"   # covers the whole run: every rate sees the mix
RANGE = "10m"

passed = 0
failed = 0


def report(ok, msg):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print("%s - %s" % ("ok" if ok else "FAIL", msg), flush=True)
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def die_with_parent():
    """preexec_fn: SIGKILL when this process goes away, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Procs:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, name, argv, env=None, stdout=None):
        log = open(os.path.join(self.tmp, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout or log, stderr=log,
                             env=env, preexec_fn=die_with_parent)
        self.procs.append((name, p))
        return p

    def stop_all(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + 5
        for _, p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def http_get(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def wait_until(fn, timeout, step=0.2):
    end = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except (OSError, ValueError, KeyError, IndexError):
            pass
        if time.monotonic() > end:
            return None
        time.sleep(step)


class Prom:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def api(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:   # 400/422: the error body is JSON
            return json.loads(e.read() or b'{"status":"error","error":"HTTP %d"}' % e.code)

    def query(self, expr):
        return self.api("/api/v1/query", query=expr)

    def value(self, expr):
        js = self.query(expr)
        res = js.get("data", {}).get("result", [])
        return float(res[0]["value"][1]) if res else None


def substitute(expr, values):
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace("${%s}" % name, values[name]).replace("$" + name, values[name])
    return (expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__range", RANGE)
            .replace("$__interval", "15s"))


def one_line(expr):
    return re.sub(r"\s+", " ", expr).strip()


def dashboard_queries(dash):
    """[(title, refId, expr, legendFormat)] for every panel target and annotation."""
    out = []
    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []) or [])
    for p in panels:
        for t in p.get("targets", []) or []:
            out.append((p.get("title"), t.get("refId"), t.get("expr", ""), t.get("legendFormat", "")))
    for a in (dash.get("annotations") or {}).get("list", []):
        if a.get("expr"):
            out.append(("annotation " + a.get("name", ""), "-", a["expr"],
                        " ".join(filter(None, [a.get("titleFormat"), a.get("textFormat")]))))
    return out


def finite(res):
    return [r for r in res if "value" in r and not math.isnan(float(r["value"][1]))
            and not math.isinf(float(r["value"][1]))]


def check_dashboard_exprs(prom, dash, quiet=False):
    """Runs every expression twice (All, then shop/getItem); returns {(title, ref): [problems]}."""
    problems = {}
    for title, ref, expr, legend in dashboard_queries(dash):
        key = (title, ref)
        probs = []
        q_all = substitute(expr, ALL)
        q_one = substitute(expr, ONE)
        left = re.findall(r"\$\w+", q_all)
        if left:
            probs.append("undefined variable %s" % ", ".join(left))
        js = prom.query(q_all)
        res = []
        if js.get("status") != "success":
            probs.append("error (All): %s" % js.get("error"))
        else:
            res = js["data"]["result"]
            if not res:
                probs.append("no data (All)")
            elif not finite(res):
                probs.append("no numeric value (All): %s" % json.dumps(res)[:200])
            for lab in re.findall(r"\{\{\s*(\w+)\s*\}\}", legend):
                miss = [r["metric"] for r in res if lab not in r["metric"]]
                if miss:
                    probs.append("legend label %s missing in %s" % (lab, json.dumps(miss[0])))
        if q_one != q_all:
            js1 = prom.query(q_one)
            if js1.get("status") != "success":
                probs.append("error (shop/getItem): %s" % js1.get("error"))
            else:
                # data expected when the All run has a series for shop / getItem (or
                # one that does not say: aggregated over them)
                expect = any(r["metric"].get("api", "shop") == "shop" and
                             r["metric"].get("operation", "getItem") == "getItem" for r in finite(res))
                if expect and not js1["data"]["result"]:
                    probs.append("no data for api shop, operation getItem")
        problems[key] = probs
        if not quiet:
            report(not probs, "panel %s [%s]: %s%s" % (title, ref, one_line(expr),
                                                       (" -- " + "; ".join(probs)) if probs else ""))
    return problems


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def e2e_rules(text):
    """The test-only copy: alerts fire at once (for: 0s); names kept apart from the real rules."""
    text = text.replace("driftgate:", "e2e:driftgate:")
    text = re.sub(r"(- name: )", r"\1e2e-", text)
    text = re.sub(r"(alert: )(\w+)", r"\1E2E\2", text)
    return re.sub(r"(\n\s+for: )\S+", r"\g<1>0s", text)


def raw_request(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def metrics_text(admin):
    return http_get("http://127.0.0.1:%d/metrics" % admin)[1].decode()


def metric_sum(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def main(argv):
    if len(argv) != 3:
        print("usage: integration.py DRIFTGATE_BINARY DASHBOARD.json RULES.yml", file=sys.stderr)
        return 2
    dg, dpath, rpath = (os.path.abspath(a) for a in argv)
    for tool in ("nginx", "prometheus"):
        if not shutil.which(tool):
            report(False, "%s is installed (scripts/deps.sh installs it)" % tool)
            return 1
    if not os.access(dg, os.X_OK):
        report(False, "driftgate binary %s is executable" % dg)
        return 1
    with open(dpath, encoding="utf-8") as f:
        dash = json.load(f)
    with open(rpath, encoding="utf-8") as f:
        rules_text = f.read()

    tmp = tempfile.mkdtemp(prefix="dg-dashboards.")
    os.chmod(tmp, 0o755)   # nginx's workers may run as nobody
    procs = Procs(tmp)

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        run(dg, dash, rules_text, rpath, tmp, procs)
    finally:
        procs.stop_all()
        if os.environ.get("KEEP"):
            print("# kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def run(dg, dash, rules_text, rpath, tmp, procs):
    # ---- bodies and the upstream ----
    item = {"id": 1, "sku": "ABC-1234", "name": "Lamp", "price": 1.5, "currency": "EUR",
            "status": "available", "created_at": "2026-01-02T03:04:05Z", "tags": []}
    # price a string (type), currency not in the enum (enum), an undeclared
    # property (additional: an error under strict, info under third-party)
    drifted = dict(item, id=2, sku="ABC-1235", price="1.50", currency="CHF", colour="red")
    write(os.path.join(tmp, "valid.json"), json.dumps(item))
    write(os.path.join(tmp, "drifted.json"), json.dumps(drifted))
    write(os.path.join(tmp, "list.json"), json.dumps([item, dict(item, id=3, sku="ABC-1236")]))
    for f in ("valid.json", "drifted.json", "list.json"):
        os.chmod(os.path.join(tmp, f), 0o644)
    up, listen, admin, prom_port, dead = (free_port() for _ in range(5))
    write(os.path.join(tmp, "nginx.conf"), """daemon off; master_process off; worker_processes 1;
pid %(t)s/nginx.pid; error_log %(t)s/nginx.err;
events { worker_connections 256; }
http { access_log off; client_body_temp_path %(t)s; proxy_temp_path %(t)s; fastcgi_temp_path %(t)s;
  uwsgi_temp_path %(t)s; scgi_temp_path %(t)s;
  server { listen 127.0.0.1:%(p)d; default_type application/json;
    location = /items { alias %(t)s/list.json; }
    location = /items/1 { alias %(t)s/valid.json; }
    location = /items/2 { alias %(t)s/drifted.json; } } }
""" % {"t": tmp, "p": up})
    procs.start("nginx", ["nginx", "-c", os.path.join(tmp, "nginx.conf")])

    # ---- the fake Gemini API ----
    gem = procs.start("gemini", [sys.executable, GEMINI, "--port", "0", "--max-lifetime", "300"],
                      stdout=subprocess.PIPE)
    line = gem.stdout.readline().decode()
    m = re.match(r"PORT (\d+)", line)
    if not report(m is not None, "fake Gemini API started (%s)" % line.strip()):
        return
    gport = int(m.group(1))

    # ---- driftgate ----
    cfg = os.path.join(tmp, "driftgate.yaml")
    config = """version: 1
listen: 127.0.0.1:%(listen)d
admin: 127.0.0.1:%(admin)d
workers: 1
log: {level: error}
store: {path: %(tmp)s/drift.db, flush_interval: 1s}
explain: {backend: gemini, endpoint: "http://127.0.0.1:%(gport)d", api_key_env: DG_DASHBOARDS_GEMINI_KEY, batch_interval: 2s, requests_per_minute: 0}
apis:
  - name: shop
    spec: %(spec)s
    upstream: http://127.0.0.1:%(up)d
  - name: partner
    spec: %(spec)s
    upstream: http://127.0.0.1:%(up)d
    profile: third-party
    match: {path_prefix: /partner, strip_prefix: true}
    operations:
      listItems: {mode: enforce, enforce_max_body: 64}
    explain: {backend: openai, endpoint: "http://127.0.0.1:%(dead)d", batch_interval: 2s, requests_per_minute: 0, max_attempts: 2, backoff_initial: 100ms, circuit_failures: 1}
  - name: down
    spec: %(spec)s
    upstream: http://127.0.0.1:%(dead)d
    match: {path_prefix: /down, strip_prefix: true}
""" % {"listen": listen, "admin": admin, "tmp": tmp, "gport": gport, "spec": SPEC, "up": up, "dead": dead}
    write(cfg, config)
    cc = subprocess.run([dg, "check-config", "--quiet", cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        timeout=20)
    if not report(cc.returncode == 0, "driftgate check-config accepts the test config%s" %
                  (": " + cc.stdout.decode().strip()[:300] if cc.returncode else "")):
        return
    env = dict(os.environ, DG_DASHBOARDS_GEMINI_KEY="test-key")
    dgp = procs.start("driftgate", [dg, "run", "--config", cfg], env=env)

    # ---- Prometheus, with rules.yml and the test-only copy ----
    e2e = os.path.join(tmp, "rules_e2e.yml")
    write(e2e, e2e_rules(rules_text))
    write(os.path.join(tmp, "prometheus.yml"), """global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %s
  - %s
scrape_configs:
  - job_name: driftgate
    static_configs:
      - targets: ['127.0.0.1:%d']
""" % (rpath, e2e, admin))
    procs.start("prometheus", ["prometheus", "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                               "--storage.tsdb.path=" + os.path.join(tmp, "prometheus-data"),
                               "--web.listen-address=127.0.0.1:%d" % prom_port, "--log.level=warn"])
    prom = Prom(prom_port)

    ready = wait_until(lambda: http_get("http://127.0.0.1:%d/readyz" % admin)[0] == 200, 15)
    if not report(ready and dgp.poll() is None, "driftgate is ready"):
        return
    ok = wait_until(lambda: prom.value('up{job="driftgate"}') == 1, 20)
    if not report(ok, "Prometheus is up and has scraped driftgate (up == 1)"):
        return

    # ---- the request mix: ROUNDS rounds, ~0.6 s apart, so counters grow between scrapes ----
    t0 = time.monotonic()
    mix = [("/items", 200), ("/items/1", 200), ("/items/2", 200), ("/nope", 404),
           ("/partner/items", 200), ("/partner/items/1", 200), ("/partner/items/2", 200), ("/down/items", 502)]
    bad = []
    for i in range(ROUNDS):
        for path, want in mix:
            got = get(listen, path)
            if got != want:
                bad.append("%s: %s" % (path, got))
        if i == 0:
            raw_request(listen, b"GET /items HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
        time.sleep(0.6)
    report(not bad, "request mix: %d rounds of %d requests (+1 malformed) answered as expected in %.1f s%s" %
           (ROUNDS, len(mix), time.monotonic() - t0, (": " + ", ".join(bad[:5])) if bad else ""))

    # ---- a failed config reload ----
    write(cfg, config.replace("version: 1", "version: 1\nbogus_key: true"))
    os.kill(dgp.pid, signal.SIGHUP)
    ok = wait_until(lambda: metric_sum(metrics_text(admin), "driftgate_config_reloads_total", result="failure") == 1, 10)
    report(ok and dgp.poll() is None, "a broken config is refused on SIGHUP, driftgate keeps running")
    write(cfg, config)

    # ---- wait until Prometheus has everything the mix and the analyzer produce ----
    def settled():
        t = metrics_text(admin)
        need = [metric_sum(t, "driftgate_llm_requests_total", backend="gemini", outcome="ok") >= 1,
                metric_sum(t, "driftgate_llm_circuit_open", backend="openai") == 1,
                metric_sum(t, "driftgate_drift_fingerprints_total") >= 1,
                metric_sum(t, "driftgate_explanations_total", source="model") >= 1]
        return all(need)
    if not report(wait_until(settled, 20), "the analyzer stored drift and both LLM backends were called "
                  "(gemini answered, the openai breaker opened)"):
        t = metrics_text(admin)
        print("# " + "\n# ".join(ln for ln in t.splitlines() if re.match(r"driftgate_(llm|drift|expl)", ln)))
        with open(os.path.join(tmp, "driftgate.log"), errors="replace") as f:
            print("# driftgate.log: " + "# ".join(f.readlines()[-15:]))
    exact = [('sum(driftgate_responses_validated_total{job="driftgate",api="shop",operation="getItem",result="invalid"})', ROUNDS),
             ('sum(driftgate_responses_validated_total{job="driftgate",api="shop",operation="getItem",result="valid"})', ROUNDS),
             ('sum(driftgate_violations_total{job="driftgate",api="shop",operation="getItem"})', 3 * ROUNDS),
             ('sum(driftgate_info_drift_total{job="driftgate",api="partner",kind="additional"})', ROUNDS),
             # a GET whose connect fails is retried once: each attempt is an upstream error
             ('sum(driftgate_upstream_errors_total{job="driftgate",api="down",reason="connect"})', 2 * ROUNDS),
             ('sum(driftgate_enforce_fallback_total{job="driftgate",api="partner"})', ROUNDS),
             ('sum(driftgate_config_reloads_total{job="driftgate",result="failure"})', 1),
             ('max(driftgate_llm_circuit_open{job="driftgate",backend="openai"})', 1)]
    for expr, want in exact:
        got = wait_until(lambda: prom.value(expr) == want and want, 20, 0.5)
        report(got, "Prometheus has scraped the final count: %s == %d (got %s)" %
               (expr, want, got if got else prom.value(expr)))
    time.sleep(2)   # a couple more scrapes and rule evaluations on the settled counters

    # ---- template variables ----
    tvars = {v["name"]: v for v in dash["templating"]["list"]}
    want_vals = {"job": {"driftgate"}, "api": {"shop", "partner", "down"}, "operation": {"getItem", "listItems"}}
    for name in ("job", "api", "operation"):
        q = tvars[name]["definition"]
        m = re.match(r"label_values\((.*),\s*(\w+)\)$", q)
        if not report(m is not None, "variable %s: %s is label_values(selector, label)" % (name, q)):
            continue
        sel, label = substitute(m.group(1), ALL), m.group(2)
        js = prom.api("/api/v1/label/%s/values" % label, **{"match[]": sel})
        vals = set(js.get("data") or [])
        report(js.get("status") == "success" and want_vals[name] <= vals,
               "variable %s: %s lists %s" % (name, q, sorted(vals)))

    # ---- every dashboard expression ----
    check_dashboard_exprs(prom, dash)

    # ---- the rules: loaded, healthy, every expression runs ----
    js = prom.api("/api/v1/rules")
    groups = js.get("data", {}).get("groups", [])
    real = [g for g in groups if not g["name"].startswith("e2e-")]
    rules = [r for g in real for r in g["rules"]]
    n_file = len(re.findall(r"^\s*- (?:record|alert):", rules_text, re.M))
    report(js.get("status") == "success" and len(rules) == n_file and n_file > 0,
           "Prometheus loaded all %d rules of rules.yml (%d groups)" % (n_file, len(real)))
    for r in rules:
        name = r.get("name")
        kind = "record" if r.get("type") == "recording" else "alert"
        probs = []
        if r.get("health") != "ok" or r.get("lastError"):
            probs.append("health %s: %s" % (r.get("health"), r.get("lastError")))
        qj = prom.query(r["query"])
        if qj.get("status") != "success":
            probs.append("error: %s" % qj.get("error"))
        elif kind == "record":
            if not qj["data"]["result"]:
                probs.append("no data")
            stored = prom.query(name)
            if not stored.get("data", {}).get("result"):
                probs.append("the recorded series %s has no data" % name)
        report(not probs, "rule %s %s: %s%s" % (kind, name, one_line(r["query"]),
                                                (" -- " + "; ".join(probs)) if probs else ""))

    # ---- alerts end to end (the for: 0s copy) ----
    expect_firing = {("E2EDriftgateInvalidRatioHigh", (("api", "shop"), ("operation", "getItem"))),
                     ("E2EDriftgateUpstreamErrorsHigh", (("api", "down"),)),
                     ("E2EDriftgateLLMCircuitOpen", (("backend", "openai"),)),
                     ("E2EDriftgateConfigReloadFailed", ())}
    never = {"E2EDriftgateDown", "E2EDriftgateAbsent", "E2EDriftgateNewViolationKind",
             "E2EDriftgateAnomalyQueueDropping", "E2EDriftgateDriftAnalyzerDropping",
             "E2EDriftgateDriftStoreWriteFailing"}
    last = [[]]

    def alerts():
        last[0] = [a for a in prom.api("/api/v1/alerts")["data"]["alerts"] if a["state"] == "firing"]
        return all(any(a["labels"]["alertname"] == n and all(a["labels"].get(k) == v for k, v in lab)
                       for a in last[0]) for n, lab in expect_firing)
    wait_until(alerts, 15, 0.5)
    firing = last[0]
    for n, lab in sorted(expect_firing):
        hit = [a for a in firing if a["labels"]["alertname"] == n and all(a["labels"].get(k) == v for k, v in lab)]
        report(hit, "alert %s fires for %s (%s)" % (n, dict(lab) or "the instance",
                                                    hit[0]["annotations"]["summary"] if hit else "not firing"))
    wrong = [a["labels"] for a in firing if a["labels"]["alertname"] in never or
             (a["labels"]["alertname"] == "E2EDriftgateInvalidRatioHigh" and a["labels"].get("operation") != "getItem")]
    report(not wrong, "no other alert fires (up, no history for 'new kind', no drops, store writable, "
           "listItems valid)%s" % (": %r" % wrong if wrong else ""))

    # ---- negative control: a broken copy must be caught by the same checks ----
    broken = json.loads(json.dumps(dash))
    breaks = {}
    for p in broken["panels"]:
        for t in p.get("targets", []) or []:
            key = (p["title"], t["refId"])
            if key == ("Violations by kind", "A"):
                t["expr"] = t["expr"].replace("driftgate_violations_total", "driftgate_violation_total")
                breaks[key] = "misspelled metric"
            elif key == ("Upstream errors by reason", "A"):
                t["expr"] = t["expr"].replace("by (api, reason)", "by (api, reasons)")
                breaks[key] = "misspelled label in by()"
            elif key == ("Request rate", "A"):
                t["expr"] = t["expr"].replace("operation=~", "opeation=~")
                breaks[key] = "misspelled label matcher"
            elif key == ("Validation latency p50 / p99", "B"):
                t["expr"] = t["expr"].replace("sum by (api, le)", "sum by (api, le")
                breaks[key] = "syntax error"
    probs = check_dashboard_exprs(prom, broken, quiet=True)
    for key, what in sorted(breaks.items()):
        report(probs.get(key), "negative control: a dashboard copy with a %s in %r %s is caught (%s)" %
               (what, key[0], key[1], "; ".join(probs.get(key) or ["NOT caught"])))
    others = [k for k, v in probs.items() if v and k not in breaks]
    report(not others, "negative control: nothing else in the broken copy fails%s" %
           (": %r" % others if others else ""))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
