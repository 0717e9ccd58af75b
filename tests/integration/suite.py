#!/usr/bin/env python3
"""driftgate integration suite (run through tests/integration/run.sh).

Real servers on 127.0.0.1 only, all started and stopped here: nginx (the
fixture API over HTTP and HTTPS, plain and gzip), fake_upstream.py (what
nginx cannot do: resets, garbage, truncation, 103, hangs...), Prometheus, and
driftgate instances in monitor and enforce mode in front of them. Prints one
line per check (`ok - name` / `FAIL - name: details` / `skip - name: why`) and
`N passed, M failed` at the end; exit 1 when anything failed.

Environment: DRIFTGATE (binary), VALGRIND=1 (run every driftgate under
valgrind), ASAN=1 (DRIFTGATE is a sanitizer build: fail on any report),
ONLY=section,section (subset, for development), SUITE_TMP (set by run.sh)."""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "fixtures"))
import lib  # noqa: E402
import make_bodies  # noqa: E402
import routes  # noqa: E402
from lib import Conn, msum, request  # noqa: E402

R = lib.Results()
SPEC = os.path.join(routes.FIXTURES, "shop.yaml")
SPEC30 = os.path.join(routes.FIXTURES, "shop-oas30.yaml")


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Suite:
    def __init__(self):
        self.tmp = os.environ["SUITE_TMP"]
        self.dg = os.path.abspath(os.environ.get("DRIFTGATE", "build/driftgate"))
        self.valgrind = os.environ.get("VALGRIND", "") not in ("", "0")
        self.asan = os.environ.get("ASAN", "") not in ("", "0")
        self.T = 6.0 if self.valgrind else (2.0 if self.asan else 1.0)  # timeout factor
        only = os.environ.get("ONLY", "")
        self.only = set(x for x in only.split(",") if x)
        self.procs = lib.Procs(self.tmp)
        self.instances = []
        self.have_dg = False
        self.dg_reason = ""
        self.config_ok = None  # None: not probed, else (bool, reason)
        self.ports = {}


S = None


# ---- setup: certificates, bodies, nginx, fake upstream, prometheus ------------------


def sh(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, **kw)


def make_certs():
    d = os.path.join(S.tmp, "pki")
    os.makedirs(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["openssl", "req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                                            "-subj", "/CN=driftgate integration test CA",
                                            "-addext", "basicConstraints=critical,CA:TRUE",
                                            "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ]
    for name, san in (("srv", "DNS:localhost,IP:127.0.0.1"), ("wrong", "DNS:wrong.example")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" % san)
        steps.append(["openssl", "req"] + ec + ["-keyout", name + ".key", "-out", name + ".csr",
                                                "-subj", "/CN=" + san.split(",")[0].split(":")[1]])
        steps.append(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                      "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext"])
    for st in steps:
        r = sh(st, cwd=d)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(st), r.stdout.decode()[-500:]))
    S.pki = d
    S.ca = os.path.join(d, "ca.pem")


def nginx_str(b):
    s = b.decode()
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def start_nginx():
    ng = os.path.join(S.tmp, "nginx")
    os.makedirs(ng)
    S.ports["nginx"] = lib.free_port()
    S.ports["nginx_tls"] = lib.free_port()
    S.ports["nginx_tls_wrong"] = lib.free_port()
    locs = []
    for path, r in routes.ROUTES.items():
        if r["body"] is None:
            locs.append("location = %s { return %d; }" % (path, r["status"]))
        elif r["status"] != 200:
            locs.append("location = %s { default_type %s; return %d %s; }"
                        % (path, r["ct"], r["status"], nginx_str(routes.body_bytes(r, S.tmp))))
        else:
            locs.append("location = %s { default_type %s; alias %s; }"
                        % (path, r["ct"], routes.body_path(r, S.tmp)))
    with open(os.path.join(ng, "locations.conf"), "w") as f:
        f.write("\n".join(locs) + "\nlocation / { default_type text/plain; return 404 'not found\\n'; }\n")
    user = "user root root;\n" if os.geteuid() == 0 else ""
    conf = """%(user)sworker_processes 2;
pid %(ng)s/nginx.pid;
error_log %(ng)s/error.log info;
events { worker_connections 2048; }
http {
    types {}
    default_type application/octet-stream;
    log_format dg '$connection $connection_requests "$request" $status $body_bytes_sent '
                  'xff="$http_x_forwarded_for" xfp="$http_x_forwarded_proto" xfh="$http_x_forwarded_host" '
                  'via="$http_via" xsecret="$http_x_secret" host="$http_host" ka="$http_keep_alive"';
    access_log %(ng)s/access.log dg;
    client_body_temp_path %(ng)s/client_body;
    proxy_temp_path %(ng)s/proxy;
    fastcgi_temp_path %(ng)s/fastcgi;
    uwsgi_temp_path %(ng)s/uwsgi;
    scgi_temp_path %(ng)s/scgi;
    keepalive_requests 100000;
    keepalive_timeout 75s;
    etag on;
    gzip on;
    gzip_types application/json application/problem+json application/x-ndjson;
    gzip_min_length 0;
    gzip_proxied any;   # driftgate adds Via: without this nginx would never compress for it
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:%(http)d;
        listen 127.0.0.1:%(https)d ssl;
        ssl_certificate %(pki)s/srv.pem;
        ssl_certificate_key %(pki)s/srv.key;
        include %(ng)s/locations.conf;
    }
    server {
        listen 127.0.0.1:%(wrong)d ssl;
        ssl_certificate %(pki)s/wrong.pem;
        ssl_certificate_key %(pki)s/wrong.key;
        include %(ng)s/locations.conf;
    }
}
""" % dict(user=user, ng=ng, pki=S.pki, http=S.ports["nginx"], https=S.ports["nginx_tls"],
           wrong=S.ports["nginx_tls_wrong"])
    with open(os.path.join(ng, "nginx.conf"), "w") as f:
        f.write(conf)
    r = sh(["nginx", "-t", "-e", os.path.join(ng, "error.log"), "-p", ng, "-c", os.path.join(ng, "nginx.conf")])
    if r.returncode != 0:
        raise RuntimeError("nginx -t: " + r.stdout.decode())
    S.procs.start("nginx", ["nginx", "-e", os.path.join(ng, "error.log"), "-p", ng,
                            "-c", os.path.join(ng, "nginx.conf"), "-g", "daemon off;"])
    ok = lib.wait_until(lambda: request(S.ports["nginx"], "GET", "/items/1", timeout=1).status == 200, 10)
    if not ok:
        raise RuntimeError("nginx did not come up: " + lib.tail(os.path.join(ng, "error.log")))
    S.nginx_dir = ng


def start_fake():
    pf = os.path.join(S.tmp, "fake.port")
    S.procs.start("fake", [sys.executable, os.path.join(HERE, "fake_upstream.py"), "--port-file", pf,
                           "--tmp", S.tmp])
    if not lib.wait_until(lambda: os.path.exists(pf), 10):
        raise RuntimeError("fake upstream did not start: " + lib.tail(os.path.join(S.tmp, "fake.stderr")))
    with open(pf) as f:
        S.ports["fake"] = int(f.read())


def nginx_log_lines(marker):
    with open(os.path.join(S.nginx_dir, "access.log")) as f:
        return [ln for ln in f if marker in ln]


def log_field(line, name):
    m = re.search(r'\b%s="([^"]*)"' % name, line)
    return m.group(1) if m else None


# ---- driftgate instances ------------------------------------------------------------------


class DG:
    def __init__(self, name, upstream=None, mode="monitor", spec=SPEC, workers=2, extra=(), config=None):
        self.name = "dg-" + name
        self.port = lib.free_port()
        self.admin = lib.free_port()
        self.log = os.path.join(S.tmp, self.name + ".log")
        self.anomalies = os.path.join(S.tmp, self.name + ".anomalies.jsonl")
        if config:
            args = ["run", "--config", config]
        else:
            args = ["run", "--spec", spec, "--upstream", upstream, "--listen", "127.0.0.1:%d" % self.port,
                    "--admin", "127.0.0.1:%d" % self.admin, "--mode", mode, "--workers", str(workers),
                    "--log", self.log, "--anomalies", self.anomalies] + list(extra)
        self.argv = args
        self.stopped = None
        self.rc = None

    def start(self):
        argv = [S.dg] + self.argv
        env = dict(os.environ)
        if S.valgrind:
            argv = ["valgrind", "--leak-check=full", "--error-exitcode=99", "--track-fds=no",
                    "--log-file=%s/%s.valgrind.%%p.log" % (S.tmp, self.name)] + argv
        if S.asan:
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99"
            env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
        self.proc = S.procs.start(self.name, argv, env=env)
        S.instances.append(self)
        ok = lib.wait_until(lambda: self.proc.poll() is not None or
                            lib.http_get("http://127.0.0.1:%d/readyz" % self.admin, timeout=1)[0] == 200,
                            20 * S.T, 0.1)
        if self.proc.poll() is not None:
            R.fail("%s starts" % self.name, "exited with %s: %s" % (self.proc.returncode, self.stderr_tail()))
            return False
        if not ok:
            R.fail("%s starts" % self.name, "/readyz not 200 within %ds: %s" % (20 * S.T, self.stderr_tail()))
            return False
        return True

    def stderr_tail(self, n=8):
        return lib.tail(os.path.join(S.tmp, self.name + ".stderr"), n)

    def alive(self):
        return self.proc.poll() is None

    def get(self, path, headers=(), method="GET", body=None, timeout=None, version="HTTP/1.1"):
        return request(self.port, method, path, headers, body, timeout=timeout or 10 * S.T, version=version)

    def metrics_text(self):
        st, _, body = lib.http_get("http://127.0.0.1:%d/metrics" % self.admin, timeout=5 * S.T)
        if st != 200:
            raise RuntimeError("/metrics status %d" % st)
        return body.decode()

    def metrics(self):
        return lib.parse_metrics(self.metrics_text())

    def stop(self, timeout=30):
        if self.stopped is None:
            self.rc, secs, killed = S.procs.stop(self.name, signal.SIGTERM, timeout * S.T)
            self.stopped = (secs, killed)
        return self.rc


def dg_instance(name, **kw):
    d = DG(name, **kw)
    return d if d.start() else None


def ng_url(tls=False, wrong=False, host="127.0.0.1"):
    if wrong:
        return "https://%s:%d" % (host, S.ports["nginx_tls_wrong"])
    if tls:
        return "https://%s:%d" % (host, S.ports["nginx_tls"])
    return "http://%s:%d" % (host, S.ports["nginx"])


def fake_url():
    return "http://127.0.0.1:%d" % S.ports["fake"]


def api_name(d):
    """The API's name as driftgate reports it (/status), for metric labels."""
    if getattr(d, "_api", None):
        return d._api
    st, _, body = lib.http_get("http://127.0.0.1:%d/status" % d.admin, timeout=5 * S.T)
    js = json.loads(body)
    apis = js.get("apis")
    if isinstance(apis, dict):
        d._api = next(iter(apis))
    else:
        d._api = apis[0].get("name")
    return d._api


def problem_ok(resp, status):
    """None when resp is a well-formed problem+json with that status, else why not."""
    if resp.status != status:
        return "status %d (expected %d), body %r" % (resp.status, status, resp.body[:300])
    ct = (resp.header("Content-Type") or "").split(";")[0].strip().lower()
    if ct != "application/problem+json":
        return "Content-Type %r" % resp.header("Content-Type")
    try:
        js = resp.json()
    except ValueError as e:
        return "body not JSON (%s): %r" % (e, resp.body[:200])
    if js.get("status") != status or not isinstance(js.get("type"), str) or not js.get("title"):
        return "problem fields: %r" % js
    return None


def anomalies(d):
    try:
        with open(d.anomalies) as f:
            return [json.loads(ln) for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def wait_metric(d, fn, timeout=5.0):
    """Polls /metrics until fn(samples) is truthy (the verdict is recorded when
    the body ends, possibly after the client got its last byte)."""
    last = [None]

    def probe():
        last[0] = d.metrics()
        return fn(last[0])
    lib.wait_until(probe, timeout * S.T, 0.1)
    return last[0]


# ---- sections ------------------------------------------------------------------------------


def sec_upstreams():
    """The harness itself: nginx and the fake upstream serve what the checks assume."""
    for path, r in routes.ROUTES.items():
        resp = request(S.ports["nginx"], "GET", path)
        want = routes.body_bytes(r, S.tmp)
        ct = (resp.header("Content-Type") or None)
        R.check("upstream nginx %s: status, content type, body" % path,
                resp.status == r["status"] and ct == r["ct"] and resp.body == want,
                "got %d %r %d bytes" % (resp.status, ct, len(resp.body)))
    resp = request(S.ports["nginx"], "GET", "/items/1", [("Accept-Encoding", "gzip"), ("Via", "1.1 x")])
    R.check("upstream nginx gzip: chunked gzip even with Via",
            resp.status == 200 and resp.chunked and resp.header("Content-Encoding") == "gzip",
            repr(resp.headers))
    ctx = lib.tls_context(S.ca)
    resp = request(S.ports["nginx_tls"], "GET", "/items/1", tls=ctx, server_hostname="localhost")
    R.check("upstream nginx https: certificate verifies with the test CA", resp.status == 200, repr(resp))
    try:
        request(S.ports["nginx_tls_wrong"], "GET", "/items/1", tls=ctx, server_hostname="127.0.0.1")
        R.fail("upstream nginx https wrong name: verification fails", "handshake succeeded")
    except (OSError, lib.Incomplete) as e:
        R.check("upstream nginx https wrong name: verification fails", "certificate" in str(e).lower() or
                "mismatch" in str(e).lower(), str(e))
    resp = request(S.ports["fake"], "GET", "/items/1?fake=chunked")
    R.check("upstream fake: chunked body decodes to the fixture",
            resp.chunked and resp.complete and resp.body == routes.body_bytes(routes.ROUTES["/items/1"], S.tmp),
            repr(resp))
    c = Conn(S.ports["fake"])
    c.send(lib.build_request("GET", "/items/1?fake=early", host="x"))
    resp = c.read_response()
    c.close()
    R.check("upstream fake: 103 before the 200", [i.status for i in resp.interim] == [103] and resp.status == 200,
            repr(resp))


def sec_passthrough():
    """Monitor mode in front of nginx: byte-exact bodies and headers."""
    d = dg_instance("mon", upstream=ng_url())
    S.mon = d
    if not d:
        return
    for path, r in routes.ROUTES.items():
        for gz in (False, True):
            hs = [("Accept-Encoding", "gzip")] if gz else []
            a = request(S.ports["nginx"], "GET", path, hs)
            b = d.get(path, hs)
            diffs = []
            if a.status != b.status:
                diffs.append("status %d vs %d" % (b.status, a.status))
            if sha(a.body) != sha(b.body):
                diffs.append("body sha256 %s (%d bytes) vs upstream %s (%d bytes)"
                             % (sha(b.body)[:12], len(b.body), sha(a.body)[:12], len(a.body)))
            for h in ("Content-Type", "Content-Length", "Content-Encoding", "ETag", "Last-Modified"):
                if a.header(h) != b.header(h):
                    diffs.append("%s %r vs upstream %r" % (h, b.header(h), a.header(h)))
            if a.chunked != b.chunked:
                diffs.append("chunked %s vs upstream %s" % (b.chunked, a.chunked))
            if not b.complete:
                diffs.append("response incomplete")
            R.check("monitor passthrough %s%s: status, body sha256, headers identical to upstream"
                    % (path, " (gzip)" if gz else ""), not diffs, "; ".join(diffs))
    # Via on the response, Content-Length kept
    b = d.get("/items/1")
    R.check("response carries Via naming driftgate", "driftgate" in (b.header("Via") or ""),
            "Via %r" % b.header("Via"))
    # HEAD: same headers, no body; the connection stays usable
    c = Conn(d.port, timeout=10 * S.T)
    g = c.request("GET", "/catalog")
    h = c.request("HEAD", "/catalog")
    nxt = c.request("GET", "/items/1")
    c.close()
    R.check("HEAD: 200, same Content-Length/Type/ETag as GET, no body bytes",
            h.status == 200 and h.header("Content-Length") == g.header("Content-Length") and
            h.header("Content-Type") == g.header("Content-Type") and h.header("ETag") == g.header("ETag") and
            nxt.status == 200 and nxt.body == routes.body_bytes(routes.ROUTES["/items/1"], S.tmp),
            "GET %r HEAD %r %r next %r" % (g, h, h.headers, nxt))
    # 304 against nginx's ETag, 204
    etag = request(S.ports["nginx"], "GET", "/items/1").header("ETag")
    c = Conn(d.port, timeout=10 * S.T)
    n = c.request("GET", "/items/1", [("If-None-Match", etag)])
    p = c.request("GET", "/ping")
    nxt = c.request("GET", "/items/1")
    c.close()
    R.check("304: If-None-Match with the upstream ETag gives 304, no body", n.status == 304 and n.body == b""
            and n.header("ETag") == etag, "%r %r" % (n, n.headers))
    R.check("204 passes, no body, connection reusable after it", p.status == 204 and p.body == b"" and
            nxt.status == 200 and nxt.complete, "%r then %r" % (p, nxt))
    # request headers as nginx saw them
    mark = "mark=%d" % time.monotonic_ns()
    b = d.get("/items/1?" + mark, [("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"),
                                   ("Keep-Alive", "timeout=5"), ("X-Forwarded-For", "203.0.113.9")])
    lines = lib.wait_until(lambda: nginx_log_lines(mark), 3)
    if not lines:
        R.fail("upstream sees the request", "no access log line for %s" % mark)
    else:
        ln = lines[0]
        xff = log_field(ln, "xff") or ""
        R.check("X-Forwarded-For appended (client's value, then 127.0.0.1)",
                [x.strip() for x in xff.split(",")] == ["203.0.113.9", "127.0.0.1"], "upstream got %r" % xff)
        R.check("X-Forwarded-Proto http", log_field(ln, "xfp") == "http", ln.strip())
        R.check("X-Forwarded-Host = client's Host", log_field(ln, "xfh") == "127.0.0.1:%d" % d.port, ln.strip())
        R.check("Via added upstream", "driftgate" in (log_field(ln, "via") or ""), ln.strip())
        R.check("hop-by-hop: header named in Connection not forwarded", log_field(ln, "xsecret") == "-",
                ln.strip())
        R.check("hop-by-hop: Keep-Alive not forwarded", log_field(ln, "ka") == "-", ln.strip())
        R.check("Host sent upstream is the upstream's host:port",
                log_field(ln, "host") == "127.0.0.1:%d" % S.ports["nginx"], ln.strip())
    # a path the spec does not know: passed unchanged
    a = request(S.ports["nginx"], "GET", "/nope")
    b = d.get("/nope")
    R.check("undocumented path passes unchanged (upstream's 404)", a.status == b.status == 404 and a.body == b.body,
            "%r vs %r" % (b, a))


def mix_send(d, reqs, request_ids=False):
    """Sends [(path, gzip)] one by one on a keep-alive connection; returns the
    list of (path, gzip, resp); each body is compared with nginx's."""
    out = []
    c = Conn(d.port, timeout=10 * S.T)
    for i, (path, gz) in enumerate(reqs):
        hs = [("Accept-Encoding", "gzip")] if gz else []
        if request_ids:
            hs.append(("X-Request-Id", "rq-%d" % i))
        try:
            resp = c.request("GET", path, hs)
        except (OSError, lib.Incomplete):
            c.close()
            c = Conn(d.port, timeout=10 * S.T)
            resp = c.request("GET", path, hs)
        out.append((path, gz, resp))
        if (resp.header("Connection") or "").lower() == "close":
            c.close()
            c = Conn(d.port, timeout=10 * S.T)
    c.close()
    return out


def expected_counts(reqs):
    exp = {}
    for path, _ in reqs:
        r = routes.ROUTES[path]
        key = (r["op"], r["verdict"])
        exp[key] = exp.get(key, 0) + 1
    return exp


def sec_monitor():
    """Monitor mode: drift passes unchanged; exact counters; anomalies without raw values."""
    d = dg_instance("mix", upstream=ng_url())
    S.mix = d
    if not d:
        return
    if S.prom_port:
        S.prom_target_ready = True
    api = api_name(d)
    stage1 = [("/items/1", False)] * 10 + [("/items/2", False)] * 5 + [("/page", False)] * 3
    res = mix_send(d, stage1, request_ids=True)
    bad = [(p, r) for p, _, r in res if r.body != request(S.ports["nginx"], "GET", p).body]
    R.check("monitor: 18 responses (valid, drifted, html) passed byte-exact", not bad, repr(bad[:3]))
    m = wait_metric(d, lambda s: msum(s, "driftgate_responses_validated_total", api=api) >= 18)

    def exact(name, want, **labels):
        got = msum(m, name, **labels)
        R.check("metrics: %s{%s} == %g" % (name, ",".join('%s="%s"' % kv for kv in labels.items()), want),
                got == want, "got %g" % got)
    exact("driftgate_responses_validated_total", 10, api=api, operation="getItem", result="valid")
    exact("driftgate_responses_validated_total", 5, api=api, operation="getItem", result="invalid")
    exact("driftgate_responses_validated_total", 3, api=api, operation="getPage", result="skipped")
    exact("driftgate_responses_validated_total", 0, api=api, operation="getItem", result="error")
    exact("driftgate_violations_total", 5, api=api, operation="getItem", status="200", kind="type")
    exact("driftgate_requests_total", 15, api=api, operation="getItem", status_class="2xx")
    exact("driftgate_requests_total", 3, api=api, operation="getPage", status_class="2xx")
    exact("driftgate_responses_skipped_total", 3, api=api, reason="media_type")
    exact("driftgate_upstream_errors_total", 0, api=api)
    an = lib.wait_until(lambda: len(anomalies(d)) >= 5 and anomalies(d), 5 * S.T) or anomalies(d)
    R.check("anomalies: 5 lines, kind type at /price, operation getItem, status 200, severity error",
            len(an) == 5 and all(a.get("kind") == "type" and a.get("instance_pointer") == "/price" and
                                 a.get("operation") == "getItem" and a.get("status") == 200 and
                                 a.get("severity") == "error" for a in an),
            "%d lines, first %r" % (len(an), an[:1]))
    want_fields = ("ts", "api", "operation", "method", "path_template", "status", "media_type", "kind",
                   "severity", "instance_pointer", "schema_pointer", "message", "shape", "spec_hash")
    missing = [f for f in want_fields if an and f not in an[0]]
    R.check("anomalies: every contract field present", an and not missing, "missing %r in %r" % (missing, an[:1]))
    R.check("anomalies: path_template is the template", an and an[0].get("path_template") == "/items/{id}",
            repr(an[:1]))
    want_ids = sorted("rq-%d" % i for i, (p, _) in enumerate(stage1) if p == "/items/2")
    R.check("anomalies: request_id = the client's X-Request-Id", sorted(a.get("request_id") or "" for a in an)
            == want_ids, "got %r, expected %r" % ([a.get("request_id") for a in an], want_ids))
    # stage 2: every drift kind once, plus gzip and the large body
    stage2 = [(p, False) for p, r in routes.ROUTES.items() if p not in ("/ping",)] + \
             [("/items/2", True), ("/items/1", True), ("/categories/toys/items", True)]
    n_before = len(an)
    m0 = d.metrics()
    res = mix_send(d, stage2)
    bad = []
    for p, gz, r in res:
        a = request(S.ports["nginx"], "GET", p, [("Accept-Encoding", "gzip")] if gz else [])
        if a.status != r.status or a.body != r.body:
            bad.append("%s%s: %r vs upstream %r" % (p, " gz" if gz else "", r, a))
    R.check("monitor: every drifted fixture passed unchanged (plain and gzip)", not bad, "; ".join(bad[:4]))
    exp = expected_counts(stage2)
    total = len(stage2)
    m = wait_metric(d, lambda s: msum(s, "driftgate_responses_validated_total", api=api) -
                    msum(m0, "driftgate_responses_validated_total", api=api) >= total)
    diffs = []
    for (op, verdict), n in sorted(exp.items()):
        got = msum(m, "driftgate_responses_validated_total", api=api, operation=op, result=verdict) - \
            msum(m0, "driftgate_responses_validated_total", api=api, operation=op, result=verdict)
        if got != n:
            diffs.append("%s/%s: +%g, expected +%d" % (op, verdict, got, n))
    R.check("metrics: stage 2 verdicts exact per operation (%d responses)" % total, not diffs, "; ".join(diffs))
    kinds = {}
    for p, _ in stage2:
        r = routes.ROUTES[p]
        if r["verdict"] == "invalid":
            key = (r["op"], str(r["status"]), r["kind"])
            kinds[key] = kinds.get(key, 0) + 1
    diffs = []
    for (op, st, kind), n in sorted(kinds.items()):
        got = msum(m, "driftgate_violations_total", api=api, operation=op, status=st, kind=kind) - \
            msum(m0, "driftgate_violations_total", api=api, operation=op, status=st, kind=kind)
        if got != n:
            diffs.append("%s %s %s: +%g, expected +%d" % (op, st, kind, got, n))
    R.check("metrics: violations_total per operation/status/kind exact", not diffs, "; ".join(diffs))
    n_inv = sum(1 for p, _ in stage2 if routes.ROUTES[p]["verdict"] == "invalid")
    an = lib.wait_until(lambda: len(anomalies(d)) >= n_before + n_inv and anomalies(d), 5 * S.T) or anomalies(d)
    new = an[n_before:]
    for p, r in routes.ROUTES.items():
        if r["verdict"] != "invalid":
            continue
        cnt = sum(1 for pp, _ in stage2 if pp == p)
        hits = [a for a in new if a.get("operation") == r["op"] and a.get("kind") == r["kind"] and
                a.get("status") == r["status"] and ("pointer" not in r or a.get("instance_pointer") == r["pointer"])]
        R.check("anomalies: %s -> kind %s%s" % (p, r["kind"], " at %r" % r["pointer"] if "pointer" in r else ""),
                len(hits) >= cnt, "no matching line among %r" % [(a.get("operation"), a.get("kind"),
                                                                  a.get("instance_pointer"), a.get("status"))
                                                                 for a in new])
    for f, what in ((d.anomalies, "anomalies file"), (d.log, "log file"),
                    (os.path.join(S.tmp, d.name + ".stderr"), "stderr")):
        try:
            data = open(f, "rb").read()
        except FileNotFoundError:
            data = b""
        R.check("no raw value in the %s (no %s*)" % (what, routes.SENTINEL_PREFIX),
                routes.SENTINEL_PREFIX.encode() not in data,
                "found: %r" % data[max(0, data.find(b"SENTINEL_") - 120):data.find(b"SENTINEL_") + 40])
    # one JSON log line per invalid response
    try:
        logl = [json.loads(x) for x in open(d.log) if x.strip()]
    except (OSError, ValueError) as e:
        logl = []
        R.fail("log file is JSON lines", str(e))
    inv = [x for x in logl if x.get("violations")]
    want_inv = 5 + n_inv
    R.check("log: one JSON line with violations per invalid response (%d)" % want_inv,
            len(inv) == want_inv and all(x.get("api") == api and x.get("operation") and x.get("status")
                                         for x in inv), "%d lines with violations; first %r" % (len(inv), inv[:1]))
    R.check("log: invalid-response lines carry the request id", sorted(x.get("request_id") or "" for x in inv[:5])
            == want_ids, repr([x.get("request_id") for x in inv[:5]]))
    S.mix_invalid = 5 + n_inv
    S.mix_api = api


def sec_prometheus():
    """A real Prometheus scrapes the mix instance; its query API returns the counter."""
    d = getattr(S, "mix", None)
    if not d or not S.prom_port:
        R.skip("prometheus", "no mix instance or prometheus not started")
        return
    # point the scrape config at the instance and reload prometheus
    write_prom_config(d.admin)
    try:
        urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%d/-/reload" % S.prom_port, method="POST"),
                               timeout=5).read()
    except OSError as e:
        R.fail("prometheus reload", str(e))
        return
    q = 'sum(driftgate_responses_validated_total{result="invalid"})'
    last = [None]

    def probe():
        u = "http://127.0.0.1:%d/api/v1/query?query=%s" % (S.prom_port, urllib.parse.quote(q))
        js = json.loads(urllib.request.urlopen(u, timeout=3).read())
        last[0] = js
        res = js["data"]["result"]
        return res and float(res[0]["value"][1]) == S.mix_invalid
    ok = lib.wait_until(probe, 25, 0.5)
    R.check("prometheus query %s == %d" % (q, S.mix_invalid), ok, "last answer %r" % (last[0],))
    u = "http://127.0.0.1:%d/api/v1/targets" % S.prom_port
    try:
        js = json.loads(urllib.request.urlopen(u, timeout=3).read())
        t = js["data"]["activeTargets"]
        R.check("prometheus target health up", t and all(x["health"] == "up" for x in t), repr(t)[:400])
    except (OSError, ValueError, KeyError) as e:
        R.fail("prometheus target health up", str(e))


def write_prom_config(admin_port):
    with open(os.path.join(S.tmp, "prometheus.yml"), "w") as f:
        f.write("""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: driftgate
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:%d']
""" % admin_port)


def start_prometheus():
    S.prom_port = None
    if not shutil.which("prometheus"):
        R.fail("prometheus binary", "not found (scripts/deps.sh installs it)")
        return
    port = lib.free_port()
    write_prom_config(lib.free_port())  # placeholder target until the instance exists
    S.procs.start("prometheus", ["prometheus", "--config.file=%s/prometheus.yml" % S.tmp,
                                 "--storage.tsdb.path=%s/prometheus-data" % S.tmp,
                                 "--web.listen-address=127.0.0.1:%d" % port, "--web.enable-lifecycle",
                                 "--log.level=warn"])
    S.prom_port = port  # readiness is awaited in sec_prometheus (it starts in the background)


def sec_promtool():
    d = getattr(S, "mix", None) or get_mon()
    if not d:
        return
    for p in ("/items/1", "/items/2", "/page"):  # so that labelled series exist
        d.get(p)
    text = d.metrics_text()
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    R.check("promtool check metrics exits 0", p.returncode == 0, "exit %d: %s" % (p.returncode,
                                                                                  p.stdout.decode()[:800]))
    typed = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    want = ["driftgate_requests_total", "driftgate_responses_validated_total", "driftgate_violations_total",
            "driftgate_info_drift_total", "driftgate_responses_skipped_total",
            "driftgate_validation_duration_seconds", "driftgate_upstream_duration_seconds",
            "driftgate_upstream_errors_total", "driftgate_upstream_connections_total",
            "driftgate_enforce_fallback_total", "driftgate_client_errors_total", "driftgate_connections_active",
            "driftgate_anomalies_dropped_total", "driftgate_anomaly_queue_depth",
            "driftgate_config_reloads_total", "driftgate_build_info"]
    # counters may be exposed with or without the _total suffix in # TYPE
    missing = [w for w in want if w not in typed and w[:-6] not in typed]
    R.check("metrics: every metric of the contract has a # TYPE line", not missing, "missing %r" % missing)
    R.check("metrics: driftgate_build_info{version} 1",
            any(ls.get("version") and v == 1 for ls, v in lib.mseries(lib.parse_metrics(text),
                                                                         "driftgate_build_info")),
            repr(lib.mseries(lib.parse_metrics(text), "driftgate_build_info")))


def sec_enforce():
    d = dg_instance("enf", upstream=ng_url(), mode="enforce")
    if not d:
        return
    for path, r in routes.ROUTES.items():
        a = request(S.ports["nginx"], "GET", path)
        b = d.get(path)
        if r["verdict"] == "valid":
            res = b.header("X-Driftgate-Result")
            R.check("enforce %s (valid): upstream status, exact body, X-Driftgate-Result: valid" % path,
                    b.status == a.status and b.body == a.body and res == "valid",
                    "%r result %r (upstream %r)" % (b, res, a))
        elif r["verdict"] == "skipped":
            R.check("enforce %s (not JSON): passed unchanged, X-Driftgate-Result: skipped" % path,
                    b.status == a.status and b.body == a.body and b.header("X-Driftgate-Result") == "skipped",
                    "%r result %r" % (b, b.header("X-Driftgate-Result")))
        else:
            why = problem_ok(b, 502)
            js = {}
            if why is None:
                js = b.json()
                v = js.get("violations") or []
                if not any(x.get("kind") == r["kind"] and ("pointer" not in r or x.get("pointer") == r["pointer"])
                           and isinstance(x.get("message"), str) and x["message"] for x in v):
                    why = "no violation {kind %r, pointer %r, message} in %r" % (r["kind"], r.get("pointer"), v)
                elif "response-contract-violation" not in js.get("type", ""):
                    why = "type %r" % js.get("type")
                elif js.get("upstream_status") != r["status"] or js.get("operation") != r["op"]:
                    why = "upstream_status/operation %r/%r" % (js.get("upstream_status"), js.get("operation"))
                elif not isinstance(js.get("violations_total"), int) or js.get("violations_total") < 1:
                    why = "violations_total %r" % js.get("violations_total")
            if why is None and routes.SENTINEL_PREFIX.encode() in b.body:
                why = "raw value leaked into the problem body: %r" % b.body[:400]
            R.check("enforce %s (%s at %r): 502 problem+json with the violation, no raw value"
                    % (path, r["kind"], r.get("pointer", "?")), why is None, why)
    # gzip in enforce: valid passes the original compressed bytes, invalid becomes 502
    hs = [("Accept-Encoding", "gzip")]
    a = request(S.ports["nginx"], "GET", "/items/1", hs)
    b = d.get("/items/1", hs)
    R.check("enforce gzip valid: original compressed bytes, X-Driftgate-Result: valid",
            b.status == 200 and b.header("Content-Encoding") == "gzip" and sha(b.body) == sha(a.body) and
            b.header("X-Driftgate-Result") == "valid", "%r %r" % (b, b.headers))
    b = d.get("/items/2", hs)
    R.check("enforce gzip invalid: 502 problem+json (the inflated copy was validated)",
            problem_ok(b, 502) is None, problem_ok(b, 502))
    # keep-alive across a 502
    c = Conn(d.port, timeout=10 * S.T)
    x = c.request("GET", "/items/2")
    y = c.request("GET", "/items/1")
    c.close()
    R.check("enforce: connection reusable after a 502", x.status == 502 and y.status == 200 and y.complete,
            "%r then %r" % (x, y))


def sec_fake():
    """Monitor and enforce in front of the misbehaving upstream."""
    d = dg_instance("fake-mon", upstream=fake_url())
    e = dg_instance("fake-enf", upstream=fake_url(), mode="enforce")
    item = routes.body_bytes(routes.ROUTES["/items/1"], S.tmp)
    catalog = routes.body_bytes(routes.ROUTES["/catalog"], S.tmp)
    if d:
        api = api_name(d)
        for path, body in (("/items/1", item), ("/catalog", catalog)):
            b = d.get(path + "?fake=chunked")
            R.check("chunked upstream %s relayed chunked, payload byte-exact" % path,
                    b.status == 200 and b.chunked and b.complete and sha(b.body) == sha(body), repr(b))
        b = d.get("/items/1?fake=chunked", version="HTTP/1.0")
        R.check("chunked upstream to an HTTP/1.0 client: no chunked coding, payload exact",
                b.status == 200 and not b.chunked and b.body == item, "%r %r" % (b, b.headers))
        b = d.get("/items/1?fake=close")
        R.check("close-delimited upstream body relayed exactly", b.status == 200 and b.body == item and b.complete,
                repr(b))
        m = wait_metric(d, lambda s: msum(s, "driftgate_responses_validated_total", api=api, result="valid") >= 4)
        R.check("chunked / close-delimited bodies validated as valid",
                msum(m, "driftgate_responses_validated_total", api=api, operation="getItem", result="valid") >= 3,
                repr(lib.mseries(m, "driftgate_responses_validated_total")))
        # pooled connection closed by the upstream while idle: the next GET must not fail
        res = []
        for i in range(5):
            res.append(d.get("/items/1?fake=idleclose"))
            time.sleep(0.4)
        R.check("upstream closes idle pooled connections: 5 spaced GETs all 200 exact",
                all(b.status == 200 and b.body == item for b in res), repr(res))
        # echo: what the upstream received
        b = d.get("/echo?hop=1", [("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"),
                                  ("Keep-Alive", "timeout=5"), ("Proxy-Authorization", "Basic eDp5"),
                                  ("TE", "trailers"), ("X-End-To-End", "kept")])
        try:
            js = b.json()
            got = {n.lower(): v for n, v in js["headers"]}
        except (ValueError, KeyError):
            js, got = {}, {}
        R.check("echo: request reached the upstream", b.status == 200 and js, repr(b))
        stripped = [h for h in ("x-secret", "keep-alive", "proxy-authorization", "te") if h in got]
        R.check("request hop-by-hop headers stripped (Connection-named, Keep-Alive, Proxy-*, TE)",
                not stripped, "upstream got %r" % stripped)
        R.check("end-to-end request header kept", got.get("x-end-to-end") == "kept", repr(got))
        R.check("X-Forwarded-For 127.0.0.1 / Proto http / Host; Via 1.1 driftgate",
                got.get("x-forwarded-for") == "127.0.0.1" and got.get("x-forwarded-proto") == "http" and
                got.get("x-forwarded-host") == "127.0.0.1:%d" % d.port and
                "driftgate" in got.get("via", ""), repr(got))
        R.check("Host sent upstream = upstream host:port", got.get("host") == "127.0.0.1:%d" % S.ports["fake"],
                repr(got.get("host")))
        R.check("response hop-by-hop headers stripped (Connection-named, Keep-Alive from upstream)",
                not b.has("X-Up-Secret") and b.header("X-Up-Kept") == "1" and
                "timeout=30" not in (b.header("Keep-Alive") or ""), repr(b.headers))
        # the Host header never picks the destination
        b = d.get("/echo", [("Host", "evil.example:1")])
        ok = b.status in (200,) and b.json().get("target") == "/echo" if b.status == 200 else False
        R.check("Host: evil.example still goes to the configured upstream", ok, repr(b))
        b = d.get("http://evil.example:1/echo")
        R.check("absolute-form target to another host is not proxied elsewhere",
                b.status in (400, 404) or (b.status == 200 and
                                           {n.lower(): v for n, v in b.json()["headers"]}.get("host") ==
                                           "127.0.0.1:%d" % S.ports["fake"]), "%r %r" % (b, b.body[:200]))
        # request bodies
        big = os.urandom(1 << 20)
        b = d.get("/echo", method="POST", body=big, headers=[("Content-Type", "application/octet-stream")])
        js = b.json() if b.status == 200 else {}
        R.check("request body (1 MiB, Content-Length) forwarded intact", js.get("body_sha256") == sha(big),
                "%r %r" % (b, js.get("body_length")))
        # Expect: 100-continue is answered by driftgate, then the body is forwarded
        c = Conn(d.port, timeout=10 * S.T)
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        try:
            c.sock.settimeout(5 * S.T)
            head = c.read_head()
            c.send(b"hello world")
            b = c.read_response()
            js = b.json() if b.status == 200 else {}
            R.check("Expect: 100-continue -> 100 Continue, then the body reaches the upstream",
                    head.startswith(b"HTTP/1.1 100") and js.get("body_sha256") == sha(b"hello world") and
                    "expect" not in {n.lower() for n, _ in js.get("headers", [])},
                    "head %r then %r %r" % (head[:40], b, js))
        except (OSError, lib.Incomplete) as ex:
            R.fail("Expect: 100-continue -> 100 Continue, then the body reaches the upstream", repr(ex))
        c.close()
        c = Conn(d.port, timeout=10 * S.T)
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        b = c.read_response()
        c.close()
        js = b.json() if b.status == 200 else {}
        R.check("chunked request body forwarded intact", js.get("body_sha256") == sha(b"hello world"),
                "%r %r" % (b, b.body[:200]))
        # 103 Early Hints before the 200
        c = Conn(d.port, timeout=10 * S.T)
        c.send(lib.build_request("GET", "/items/1?fake=early", host="127.0.0.1"))
        b = c.read_response()
        c.close()
        R.check("103 Early Hints then 200: final response exact", b.status == 200 and b.body == item,
                "%r interim %r" % (b, [i.status for i in b.interim]))
        lib.log("103 forwarded to the client: %s" % ([i.status for i in b.interim] == [103]))
        # wrong content type, not JSON, gzip bomb: passed unchanged and judged
        m0 = d.metrics()
        b = d.get("/items/1?fake=wrongct")
        R.check("wrong Content-Type: passed unchanged", b.status == 200 and b.body == item, repr(b))
        b = d.get("/items/1?fake=notjson")
        R.check("HTML labelled application/json: passed unchanged", b.status == 200 and b"<html>" in b.body,
                repr(b))
        direct = request(S.ports["fake"], "GET", "/items?fake=gzipbomb")
        b = d.get("/items?fake=gzipbomb", [("Accept-Encoding", "gzip")], timeout=30 * S.T)
        R.check("gzip bomb (ratio ~1000): original bytes to the client", b.status == 200 and
                sha(b.body) == sha(direct.body), "%r (%d bytes upstream)" % (b, len(direct.body)))
        m = wait_metric(d, lambda s: msum(s, "driftgate_responses_validated_total", api=api) -
                        msum(m0, "driftgate_responses_validated_total", api=api) >= 3)

        def delta(name, **kw):
            return msum(m, name, **kw) - msum(m0, name, **kw)
        R.check("wrong Content-Type -> content_type violation",
                delta("driftgate_violations_total", api=api, kind="content_type") == 1,
                repr(lib.mseries(m, "driftgate_violations_total")))
        R.check("not JSON -> parse violation", delta("driftgate_violations_total", api=api, kind="parse") == 1,
                repr(lib.mseries(m, "driftgate_violations_total")))
        bomb = delta("driftgate_responses_validated_total", api=api, operation="listItems", result="skipped") + \
            delta("driftgate_responses_validated_total", api=api, operation="listItems", result="error")
        R.check("gzip bomb counted as skipped/error (inflate bound), not valid/invalid", bomb == 1,
                repr(lib.mseries(m, "driftgate_responses_validated_total")))
        # upstream garbage: the client gets a correct answer, a metric, and the proxy keeps serving
        cases = [("reset", ("reset",)), ("truncated", ("reset", "bad_response")),
                 ("badchunk", ("bad_response",)), ("garbage", ("bad_response",)),
                 ("bigheaders", ("bad_response",))]
        for mode, reasons in cases:
            m0 = d.metrics()
            try:
                b = d.get("/items/1?fake=" + mode)
            except (OSError, lib.Incomplete) as ex:
                b = ex
            if mode in ("garbage", "bigheaders"):
                why = problem_ok(b, 502) if isinstance(b, lib.Resp) else str(b)
                R.check("upstream %s -> 502 problem+json" % mode, why is None, why)
            else:
                # head already streamed: the client must see an incomplete message (or a 502 if nothing was sent)
                okc = (isinstance(b, lib.Resp) and (not b.complete or (b.status == 502 and
                                                                        problem_ok(b, 502) is None))) or \
                    isinstance(b, (OSError, lib.Incomplete))
                R.check("upstream %s mid-body (monitor) -> client sees the message cut, not a complete one" % mode,
                        okc, repr(b))
            m = wait_metric(d, lambda s: sum(msum(s, "driftgate_upstream_errors_total", api=api, reason=x)
                                             for x in reasons) >
                            sum(msum(m0, "driftgate_upstream_errors_total", api=api, reason=x) for x in reasons), 3)
            R.check("upstream %s counted in upstream_errors_total{reason=%s}" % (mode, "|".join(reasons)),
                    sum(msum(m, "driftgate_upstream_errors_total", api=api, reason=x) for x in reasons) -
                    sum(msum(m0, "driftgate_upstream_errors_total", api=api, reason=x) for x in reasons) == 1,
                    repr(lib.mseries(m, "driftgate_upstream_errors_total")))
            b = d.get("/items/1")
            R.check("after upstream %s: next request served" % mode, b.status == 200 and b.body == item, repr(b))
        R.check("fake-mon alive after upstream garbage", d.alive(), d.stderr_tail())
    if e:
        for mode in ("reset", "truncated", "badchunk", "notjson", "garbage"):
            try:
                b = e.get("/items/1?fake=" + mode)
                why = problem_ok(b, 502)
            except (OSError, lib.Incomplete) as ex:
                why = str(ex)
            R.check("enforce: upstream %s -> 502 problem+json" % mode, why is None, why)
        b = e.get("/catalog?fake=chunked")
        R.check("enforce: chunked valid 1.2 MB body -> exact, X-Driftgate-Result: valid",
                b.status == 200 and b.body == catalog and b.header("X-Driftgate-Result") == "valid", repr(b))
        b = e.get("/items/1?fake=early")
        R.check("enforce: 103 then valid 200 -> exact, X-Driftgate-Result: valid",
                b.status == 200 and b.body == item and b.header("X-Driftgate-Result") == "valid", repr(b))
        b = e.get("/items/2?fake=chunked")
        R.check("enforce: chunked invalid -> 502", problem_ok(b, 502) is None, problem_ok(b, 502))
        R.check("fake-enf alive after upstream garbage", e.alive(), e.stderr_tail())


def sec_tls():
    item = routes.body_bytes(routes.ROUTES["/items/1"], S.tmp)
    d = dg_instance("tls", upstream=ng_url(tls=True), extra=["--ca-file", S.ca])
    if d:
        for gz in (False, True):
            hs = [("Accept-Encoding", "gzip")] if gz else []
            a = request(S.ports["nginx"], "GET", "/catalog", hs)
            b = d.get("/catalog", hs)
            R.check("https upstream with --ca-file: /catalog%s byte-exact" % (" gzip" if gz else ""),
                    b.status == 200 and sha(b.body) == sha(a.body), repr(b))
        api = api_name(d)
        m = wait_metric(d, lambda s: msum(s, "driftgate_responses_validated_total", api=api, result="valid") >= 2)
        R.check("https upstream: responses validated",
                msum(m, "driftgate_responses_validated_total", api=api, result="valid") >= 2,
                repr(lib.mseries(m, "driftgate_responses_validated_total")))
    d = dg_instance("tls-name", upstream=ng_url(tls=True, host="localhost"), extra=["--ca-file", S.ca])
    if d:
        b = d.get("/items/1")
        R.check("https upstream by name (localhost, resolved, SNI) -> 200 exact", b.status == 200 and b.body == item,
                repr(b))
    for name, url, extra in (("tls-noca", ng_url(tls=True), []),
                             ("tls-wrong", ng_url(wrong=True), ["--ca-file", S.ca])):
        d = dg_instance(name, upstream=url, extra=extra)
        if not d:
            continue
        b = d.get("/items/1")
        why = problem_ok(b, 502)
        R.check("%s: untrusted / wrong-name certificate -> 502 problem+json" % name, why is None, why)
        api = api_name(d)
        m = wait_metric(d, lambda s: msum(s, "driftgate_upstream_errors_total", api=api, reason="tls") >= 1, 3)
        R.check("%s: upstream_errors_total{reason=\"tls\"} 1" % name,
                msum(m, "driftgate_upstream_errors_total", api=api, reason="tls") == 1,
                repr(lib.mseries(m, "driftgate_upstream_errors_total")))


def sec_down():
    dead = lib.free_port()  # nothing listens there
    d = dg_instance("down", upstream="http://127.0.0.1:%d" % dead)
    if not d:
        return
    t0 = time.monotonic()
    b = d.get("/items/1")
    why = problem_ok(b, 502)
    R.check("upstream down -> 502 problem+json", why is None, why)
    js = b.json() if why is None else {}
    R.check("upstream down problem type names the upstream failure",
            "upstream" in js.get("type", ""), repr(js))
    R.check("upstream down answered promptly (< 5 s)", time.monotonic() - t0 < 5 * S.T, "")
    api = api_name(d)
    m = wait_metric(d, lambda s: msum(s, "driftgate_upstream_errors_total", api=api, reason="connect") >= 1, 3)
    got = msum(m, "driftgate_upstream_errors_total", api=api, reason="connect")
    R.check("upstream down: upstream_errors_total{reason=\"connect\"} counted (1, or 2 with the idempotent retry)",
            got in (1, 2), repr(lib.mseries(m, "driftgate_upstream_errors_total")))


# ---- config-file based checks -------------------------------------------------------------

def config_text(d, apis, limits=None):
    """A driftgate config (policies/config.schema.json) for instance d. apis:
    YAML text of the `apis:` list items (indented by 2)."""
    lim = "".join("  %s: %s\n" % kv for kv in (limits or {}).items())
    return ("version: 1\nlisten: 127.0.0.1:%d\nadmin: 127.0.0.1:%d\nworkers: 2\n"
            "log:\n  file: %s\n  level: info\nanomalies:\n  file: %s\n%s"
            "apis:\n%s" % (d.port, d.admin, d.log, d.anomalies, ("limits:\n" + lim) if lim else "", apis))


def one_api(upstream, mode="monitor", spec=SPEC, extra=""):
    return ("  - name: shop\n    spec: %s\n    upstream: %s\n    policy:\n      mode: %s\n%s"
            % (spec, upstream, mode, extra))


def config_probe():
    """(ok, why): whether this driftgate accepts our config format."""
    if S.config_ok is not None:
        return S.config_ok
    readme = os.path.join(os.path.dirname(os.path.dirname(HERE)), "policies", "README.md")
    d = DG("probe", upstream=ng_url())
    path = os.path.join(S.tmp, "probe.yaml")
    with open(path, "w") as f:
        f.write(config_text(d, one_api(ng_url()), limits={"upstream_read_timeout": "1s",
                                                           "client_header_timeout": "2s"}))
    r = sh([S.dg, "check-config", path])
    if r.returncode == 0:
        S.config_ok = (True, "")
    else:
        S.config_ok = (False, "pending: config format (%s) - check-config on the suite's config: %s" %
                       ("policies/README.md present" if os.path.exists(readme) else "no policies/README.md yet",
                        " ".join(r.stdout.decode().split())[:300]))
    return S.config_ok


def dg_from_config(name, apis, limits=None):
    d = DG(name)
    path = os.path.join(S.tmp, name + ".yaml")
    with open(path, "w") as f:
        f.write(config_text(d, apis, limits=limits))
    d.argv = ["run", "--config", path]
    d.config = path
    return d if d.start() else None


def sec_timeout():
    ok, why = config_probe()
    if not ok:
        R.skip("upstream timeout -> 504", why)
        return
    d = dg_from_config("timeout", one_api(fake_url()), limits={"upstream_read_timeout": "1s",
                                                                "client_header_timeout": "2s",
                                                                "client_body_timeout": "1s"})
    if not d:
        return
    t0 = time.monotonic()
    b = d.get("/items/1?fake=hang", timeout=20 * S.T)
    dt = time.monotonic() - t0
    why = problem_ok(b, 504)
    R.check("upstream never answers -> 504 problem+json after upstream_read_timeout (1 s)",
            why is None and dt < 5 * S.T, why or "took %.1fs" % dt)
    api = api_name(d)
    m = wait_metric(d, lambda s: msum(s, "driftgate_upstream_errors_total", api=api, reason="timeout") >= 1, 3)
    R.check("timeout: upstream_errors_total{reason=\"timeout\"} 1",
            msum(m, "driftgate_upstream_errors_total", api=api, reason="timeout") == 1,
            repr(lib.mseries(m, "driftgate_upstream_errors_total")))
    b = d.get("/items/1?fake=slow&delay=0.3")
    R.check("a slow answer within the timeout still passes", b.status == 200, repr(b))
    # configured client timeouts: a stalled head (2 s) and a stalled body (1 s)
    for what, data, limit in (("client_header_timeout 2s", b"GET /items/1 HTTP/1.1\r\nHost: x\r\n", 2),
                              ("client_body_timeout 1s", b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                                                         b"Content-Length: 100\r\n\r\n0123456789", 1)):
        c = Conn(d.port, timeout=10)
        c.send(data)
        t0 = time.monotonic()
        closed = c.closed_by_peer(limit + 4 * S.T)
        dt = time.monotonic() - t0
        answer = c.buf[:40]
        c.close()
        R.check("%s: stalled client cut after ~%ds (408 or close)" % (what, limit),
                closed and limit - 0.5 <= dt <= limit + 3 * S.T and (not answer or answer.startswith(b"HTTP/1.1 408")),
                "closed=%s after %.1fs, answer %r" % (closed, dt, answer))


def sec_maxconn():
    """limits.max_connections: at the limit driftgate stops accepting (the
    kernel queues new connections) and resumes when a connection closes."""
    ok, why = config_probe()
    if not ok:
        R.skip("max_connections", why)
        return
    d = DG("maxconn")
    path = os.path.join(S.tmp, "maxconn.yaml")
    with open(path, "w") as f:
        f.write(config_text(d, one_api(ng_url()), limits={"max_connections": 3})
                .replace("workers: 2", "workers: 1"))
    d.argv = ["run", "--config", path]
    d.config = path
    if not d.start():
        return
    req = b"GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
    held = []
    for _ in range(3):
        c = Conn(d.port, timeout=5)
        c.send(req)
        held.append((c, c.read_response().status))
    R.check("max_connections 3: three keep-alive connections served",
            [st for _, st in held] == [200, 200, 200], repr([st for _, st in held]))
    extra = Conn(d.port, timeout=5)   # completes in the kernel's backlog
    extra.send(req)
    extra.sock.settimeout(1.0 * S.T)
    try:
        early = extra.sock.recv(1)
    except socket.timeout:
        early = None
    R.check("max_connections 3: a fourth connection waits (not accepted, no answer)",
            early is None, "got %r" % early)
    held[0][0].close()
    extra.sock.settimeout(5 * S.T)
    try:
        st = extra.read_response().status
    except Exception as e:  # noqa: BLE001 - report whatever went wrong
        st = repr(e)
    R.check("max_connections 3: the waiting connection is served once one closes", st == 200, repr(st))
    for c, _ in held[1:]:
        c.close()
    extra.close()


# ---- keep-alive ---------------------------------------------------------------------------


def sec_keepalive():
    d = dg_instance("ka", upstream=ng_url(), workers=2)
    if not d:
        return
    item = routes.body_bytes(routes.ROUTES["/items/1"], S.tmp)
    N = 300
    c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10 * S.T)
    ports, bad = set(), 0
    deadline = time.monotonic() + 60 * S.T
    done = 0
    for i in range(N):
        if time.monotonic() > deadline:
            break
        c.request("GET", "/items/1?ka=%d" % i)
        r = c.getresponse()
        body = r.read()
        ports.add(c.sock.getsockname()[1] if c.sock else None)
        if r.status != 200 or body != item:
            bad += 1
        done += 1
    c.close()
    R.check("keep-alive: %d sequential requests on one client connection, all exact" % N,
            done == N and bad == 0 and len(ports) == 1, "done %d bad %d client connections %d" % (done, bad,
                                                                                               len(ports)))
    api = api_name(d)
    m = wait_metric(d, lambda s: msum(s, "driftgate_upstream_connections_total", api=api) >= N, 3)
    new = msum(m, "driftgate_upstream_connections_total", api=api, state="new")
    reused = msum(m, "driftgate_upstream_connections_total", api=api, state="reused")
    R.check("keep-alive: upstream_connections_total{state=new} <= 2 (workers), reused covers the rest",
            new <= 2 and new + reused == N, "new %g reused %g" % (new, reused))
    conns = set()
    for ln in nginx_log_lines("ka="):
        if "/items/1?ka=" in ln and " 200 " in ln:
            conns.add(ln.split()[0])
    R.check("keep-alive: nginx saw <= 2 upstream connections for the %d requests" % N, 1 <= len(conns) <= 2,
            "%d connections" % len(conns))


# ---- bad client input ------------------------------------------------------------------------


def get_mon():
    """The monitor instance in front of nginx (started by sec_passthrough, or
    here when that section did not run)."""
    if not getattr(S, "mon", None):
        S.mon = dg_instance("mon", upstream=ng_url())
    return S.mon


def sec_bad_input():
    d = get_mon()
    if not d:
        return
    item = routes.body_bytes(routes.ROUTES["/items/1"], S.tmp)

    def raw(data, timeout=10):
        c = Conn(d.port, timeout=timeout * S.T)
        try:
            c.send(data)
            return c.read_response()
        except (OSError, lib.Incomplete) as e:
            return e
        finally:
            c.close()

    def status_of(x):
        return x.status if isinstance(x, lib.Resp) else repr(x)
    r = raw(b"GARBAGE\r\n\r\n")
    R.eq("malformed request line -> 400", status_of(r), 400)
    r = raw(b"GET /items/1 HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n")
    R.eq("malformed header line -> 400", status_of(r), 400)
    r = raw(b"GET /items/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
    R.eq("conflicting Content-Length -> 400", status_of(r), 400)
    r = raw(b"GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 * 1024) + b"\r\n\r\n")
    R.eq("64 KiB header -> 431", status_of(r), 431)
    r = raw(b"GET /items/1 HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n")
    R.eq("200 header fields -> 431", status_of(r), 431)
    # request body over the limit (default 10 MiB): 413, early or after sending
    c = Conn(d.port, timeout=15 * S.T)
    got = None
    try:
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Length: %d\r\n\r\n" % (11 * 1024 * 1024))
        chunk = b"x" * 65536
        c.sock.settimeout(0.0)
        sent = 0
        deadline = time.monotonic() + 15 * S.T
        while sent < 11 * 1024 * 1024 and time.monotonic() < deadline:
            try:
                sent += c.sock.send(chunk)
            except BlockingIOError:
                time.sleep(0.01)
                try:
                    if c.sock.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
            except (BrokenPipeError, ConnectionResetError):
                break
        c.sock.settimeout(10 * S.T)
        got = c.read_response()
    except (OSError, lib.Incomplete) as e:
        got = e
    finally:
        c.close()
    R.eq("request body over max_request_body (11 MiB > 10 MiB) -> 413", status_of(got), 413)
    # slowloris: one header byte per second; closed after client_header_timeout (default 10 s)
    c = Conn(d.port, timeout=5)
    c.send(b"GET /items/1 HTTP/1.1\r\n")
    t0 = time.monotonic()
    closed = False
    good_meanwhile = []
    payload = b"Host: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    for i in range(int(25 * S.T)):
        try:
            c.sock.settimeout(1.0)
            c.send(payload[i % len(payload):i % len(payload) + 1])
        except OSError:
            closed = True
            break
        if c.closed_by_peer(1.0):
            closed = True
            break
        if i == 3:
            b = d.get("/items/1")
            good_meanwhile.append(b.status == 200 and b.body == item)
    dt = time.monotonic() - t0
    answer = c.buf[:80]
    c.close()
    R.check("slowloris: connection closed after client_header_timeout (10 s default, within 15 s)",
            closed and 5 <= dt <= 15 * S.T, "closed=%s after %.1fs, got %r" % (closed, dt, answer))
    R.check("slowloris: another client served meanwhile", good_meanwhile == [True], repr(good_meanwhile))
    if answer:
        R.check("slowloris: answer (if any) is 408", answer.startswith(b"HTTP/1.1 408"), repr(answer))
    m = d.metrics()
    R.check("client errors counted in driftgate_client_errors_total", msum(m, "driftgate_client_errors_total") >= 6,
            repr(lib.mseries(m, "driftgate_client_errors_total")))
    b = d.get("/items/1")
    R.check("after bad input: proxy alive and serving", d.alive() and b.status == 200 and b.body == item, repr(b))


# ---- reload under traffic --------------------------------------------------------------------


class Load:
    """`threads` clients GETting one path over keep-alive connections until
    stop() (or n requests each, or `seconds`): bounded in count and time.
    Counts successes (status 200 and the exact body) and failures."""

    def __init__(self, port, path, body, threads=2, n=500, seconds=60):
        self.port, self.path, self.body, self.n = port, path, body, n
        self.deadline = time.monotonic() + seconds
        self.stopping = threading.Event()
        self.ok = 0
        self.fail = []
        self.lock = threading.Lock()
        self.ts = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        for t in self.ts:
            t.start()

    def run(self):
        c = None
        for _ in range(self.n):
            if time.monotonic() > self.deadline or self.stopping.is_set():
                break
            try:
                if c is None:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10 * S.T)
                c.request("GET", self.path)
                r = c.getresponse()
                body = r.read()
                good = r.status == 200 and body == self.body
                with self.lock:
                    if good:
                        self.ok += 1
                    else:
                        self.fail.append("status %d, %d bytes" % (r.status, len(body)))
                if r.getheader("Connection", "").lower() == "close":
                    c.close()
                    c = None
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.fail.append(repr(e))
                if c:
                    c.close()
                c = None
        if c:
            c.close()

    def count(self):
        with self.lock:
            return self.ok + len(self.fail)

    def running(self):
        return any(t.is_alive() for t in self.ts)

    def stop(self):
        self.stopping.set()
        return self.join()

    def join(self):
        for t in self.ts:
            t.join(max(1, self.deadline - time.monotonic() + 15))
        return self


def status_json(d):
    st, _, body = lib.http_get("http://127.0.0.1:%d/status" % d.admin, timeout=5 * S.T)
    return json.loads(body) if st == 200 else None


def find_key(obj, pred, path=""):
    """[(path, value)] of every key in a JSON tree for which pred(key) holds."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if pred(k):
                out.append((path + "/" + k, v))
            out += find_key(v, pred, path + "/" + k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += find_key(v, pred, path + "/%d" % i)
    return out


def config_version(st):
    v = [x for k, x in find_key(st or {}, lambda k: k.lower() == "config_version")]
    return v or find_key(st or {}, lambda k: "version" in k.lower() and "spec" not in k.lower())


def spec_hashes(st):
    return [v for _, v in find_key(st or {}, lambda k: "hash" in k.lower() or "sha256" in k.lower())]


def reload_scenario(label, d, probe_path, before, after, change, breakit, changed_hash):
    """Traffic (2 threads of GETs of /items/1) while `change()` rewrites the
    config or spec and SIGHUP is sent; then `breakit()` + SIGHUP. before: the
    status of probe_path before; after: (status, X-Driftgate-Result) after the
    good reload."""
    item = routes.body_bytes(routes.ROUTES["/items/1"], S.tmp)
    b = d.get(probe_path)
    R.eq("%s: before, %s status" % (label, probe_path), b.status, before)
    st0 = status_json(d) or {}
    # traffic runs until well after the swap (bounded in count and time), so
    # the reload always happens under load, however fast the machine is
    load = Load(d.port, "/items/1", item, threads=2, n=100000, seconds=60 * S.T)
    lib.wait_until(lambda: load.count() >= 50, 10 * S.T)
    change()
    before_hup = load.count()
    d.proc.send_signal(signal.SIGHUP)
    m = wait_metric(d, lambda s: msum(s, "driftgate_config_reloads_total", result="success") >= 1, 10)
    at_reload = load.count()
    still_running = load.running()
    lib.wait_until(lambda: load.count() >= at_reload + 200, 10 * S.T)
    load.stop()
    R.check("%s under traffic: %d requests (%d before SIGHUP, %d after the swap), zero failed"
            % (label, load.ok + len(load.fail), before_hup, load.count() - at_reload),
            not load.fail and before_hup >= 50 and still_running and load.count() > at_reload,
            "ok %d, failed %d: %r (still running at the swap: %s)" % (load.ok, len(load.fail), load.fail[:5],
                                                                    still_running))
    R.eq("%s: config_reloads_total{result=\"success\"}" % label,
         msum(m, "driftgate_config_reloads_total", result="success"), 1.0)
    b = d.get(probe_path)
    R.eq("%s: after, %s (the new set is in force)" % (label, probe_path),
         (b.status, b.header("X-Driftgate-Result")), after)
    st1 = status_json(d) or {}
    v0, v1 = config_version(st0), config_version(st1)
    R.check("%s: /status config version changed" % label, v0 and v1 and v0 != v1, "before %r after %r" % (v0, v1))
    if changed_hash:
        h0, h1 = spec_hashes(st0), spec_hashes(st1)
        R.check("%s: /status spec hash changed" % label, h0 and h1 and h0 != h1, "before %r after %r" % (h0, h1))
    # broken: rejected, counted, logged; the previous set keeps serving
    breakit()
    load = Load(d.port, "/items/1", item, threads=2, n=100000, seconds=30 * S.T)
    lib.wait_until(lambda: load.count() >= 20, 10 * S.T)
    d.proc.send_signal(signal.SIGHUP)
    m = wait_metric(d, lambda s: msum(s, "driftgate_config_reloads_total", result="failure") >= 1, 10)
    time.sleep(0.3)
    load.stop()
    R.eq("%s, broken: config_reloads_total{result=\"failure\"}" % label,
         msum(m, "driftgate_config_reloads_total", result="failure"), 1.0)
    R.check("%s, broken: traffic meanwhile all served" % label, not load.fail and load.ok > 0,
            "ok %d failed %r" % (load.ok, load.fail[:5]))
    b = d.get(probe_path)
    R.check("%s, broken: previous set still serving (%s %r)" % (label, probe_path, after),
            (b.status, b.header("X-Driftgate-Result")) == after and d.alive(), repr(b))
    R.check("%s, broken: /status keeps the previous version" % label, config_version(status_json(d)) == v1,
            repr(config_version(status_json(d))))
    try:
        logtxt = open(d.log).read()
    except OSError:
        logtxt = ""
    R.check("%s, broken: a log line says why" % label, "reload" in logtxt.lower() and
            ("error" in logtxt.lower() or "fail" in logtxt.lower()), lib.tail(d.log, 5))


def sec_reload():
    """SIGHUP under traffic, quick start: the spec file changes (a new enum
    value becomes valid, so /items/4 goes from 502 to 200 in enforce mode);
    then a broken spec is rejected and the old set keeps serving."""
    spec = os.path.join(S.tmp, "reload-shop.yaml")
    shutil.copy(SPEC, spec)
    d = dg_instance("reload", upstream=ng_url(), mode="enforce", spec=spec)
    if not d:
        return
    with open(SPEC) as f:
        text = f.read()
    new = text.replace("enum: [available, sold_out, discontinued]",
                       "enum: [available, sold_out, discontinued, SENTINEL_E_91aa]")
    assert new != text

    def write(t):
        with open(spec + ".new", "w") as f:
            f.write(t)
        os.replace(spec + ".new", spec)
    reload_scenario("reload (spec, quick start)", d, "/items/4", 502, (200, "valid"),
                    lambda: write(new), lambda: write(new + "\npaths: [this is: not valid\n"), True)


def sec_reload_config():
    """SIGHUP under traffic with a config file: an ignore rule is added
    (/items/4's enum finding ignored -> 200 valid); then a config with an
    unknown key is rejected."""
    ok, why = config_probe()
    if not ok:
        R.skip("reload (config file)", why)
        return
    d = DG("reload-cfg")
    cfg = os.path.join(S.tmp, "reload-cfg.yaml")
    base = config_text(d, one_api(ng_url(), mode="enforce"))
    with open(cfg, "w") as f:
        f.write(base)
    d.argv = ["run", "--config", cfg]
    if not d.start():
        return
    changed = config_text(d, one_api(ng_url(), mode="enforce",
                                     extra="      ignore:\n        - {operation: getItem, pointer: /status, kind: enum}\n"))

    def write(t):
        with open(cfg + ".new", "w") as f:
            f.write(t)
        os.replace(cfg + ".new", cfg)
    reload_scenario("reload (config file)", d, "/items/4", 502, (200, "valid"),
                    lambda: write(changed), lambda: write(changed + "no_such_key: 1\n"), False)
    # a reload that moves the listener is rejected (listeners change only on restart)
    moved = changed.replace("listen: 127.0.0.1:%d\n" % d.port, "listen: 127.0.0.1:%d\n" % lib.free_port())
    assert moved != changed
    write(moved)
    d.proc.send_signal(signal.SIGHUP)
    m = wait_metric(d, lambda s: msum(s, "driftgate_config_reloads_total", result="failure") >= 2, 10)
    b = d.get("/items/4")
    R.check("reload moving the listener: rejected (failure 2), old listener still serving",
            msum(m, "driftgate_config_reloads_total", result="failure") == 2 and b.status == 200,
            "failures %g, %r" % (msum(m, "driftgate_config_reloads_total", result="failure"), b))


def sec_config():
    """A config with two APIs on one listener (path prefixes), profiles,
    per-operation overrides and ignore rules."""
    ok, why = config_probe()
    if not ok:
        R.skip("config file: several APIs, profiles, overrides", why)
        return
    apis = ("  - name: shop\n    spec: %s\n    upstream: %s\n"
            "    match:\n      path_prefix: /shop\n      strip_prefix: true\n"
            "    profile: third-party\n    policy:\n      mode: monitor\n"
            "      ignore:\n        - {operation: getItem, pointer: /created_at, kind: format}\n"
            "    operations:\n      listCategoryItems:\n        mode: enforce\n"
            "      getCatalog:\n        mode: enforce\n        enforce_max_body: 1MiB\n"
            "  - name: fake\n    spec: %s\n    upstream: %s\n"
            "    match:\n      path_prefix: /fk\n      strip_prefix: true\n"
            "    policy:\n      mode: enforce\n" % (SPEC, ng_url(), SPEC, fake_url()))
    d = DG("cfg")
    path = os.path.join(S.tmp, "cfg.yaml")
    with open(path, "w") as f:
        f.write(config_text(d, apis))
    r = sh([S.dg, "check-config", path])
    R.check("check-config accepts the two-API config", r.returncode == 0, r.stdout.decode()[-400:])
    d.argv = ["run", "--config", path]
    if not d.start():
        return
    item = routes.body_bytes(routes.ROUTES["/items/1"], S.tmp)
    b = d.get("/shop/items/1")
    R.check("prefix /shop -> nginx, prefix stripped, exact body", b.status == 200 and b.body == item, repr(b))
    b = d.get("/fk/echo")
    tgt = b.json().get("target") if b.status == 200 else None
    R.check("prefix /fk -> fake upstream, prefix stripped", tgt == "/echo", "%r target %r" % (b, tgt))
    b = d.get("/elsewhere/items/1")
    R.check("a path no API matches -> 404 problem+json (not an open proxy)", problem_ok(b, 404) is None,
            problem_ok(b, 404))
    b = d.get("/shop/items/2")
    R.eq("shop monitor: /items/2 drift passed (200)", b.status, 200)
    b = d.get("/shop/categories/toys/items")
    R.check("operation override enforce: listCategoryItems drift -> 502", problem_ok(b, 502) is None,
            problem_ok(b, 502))
    b = d.get("/fk/items/2")
    R.check("second API in enforce: /fk/items/2 -> 502", problem_ok(b, 502) is None, problem_ok(b, 502))
    m0 = d.metrics()
    d.get("/shop/items/7")
    d.get("/shop/items/5")
    m = wait_metric(d, lambda s: msum(s, "driftgate_responses_validated_total", api="shop") -
                    msum(m0, "driftgate_responses_validated_total", api="shop") >= 2)

    def delta(name, **kw):
        return msum(m, name, **kw) - msum(m0, name, **kw)
    R.check("ignore rule: /items/7 format finding ignored -> valid",
            delta("driftgate_violations_total", api="shop", kind="format") == 0 and
            delta("driftgate_responses_validated_total", api="shop", operation="getItem", result="valid") >= 1,
            repr(lib.mseries(m, "driftgate_responses_validated_total")))
    R.check("third-party profile: extra field -> info drift (info_drift_total kind=additional), response valid",
            delta("driftgate_info_drift_total", api="shop", kind="additional") == 1 and
            delta("driftgate_responses_validated_total", api="shop", operation="getItem", result="valid") == 2,
            "info %r validated %r" % (lib.mseries(m, "driftgate_info_drift_total"),
                                      lib.mseries(m, "driftgate_responses_validated_total")))
    catalog = routes.body_bytes(routes.ROUTES["/catalog"], S.tmp)
    m0 = d.metrics()
    b = d.get("/shop/catalog")
    R.check("enforce_max_body 1MiB: the 1.2 MB catalog falls back to monitor, passed exact, "
            "X-Driftgate-Result: unchecked",
            b.status == 200 and b.body == catalog and b.header("X-Driftgate-Result") == "unchecked",
            "%r result %r" % (b, b.header("X-Driftgate-Result")))
    m = wait_metric(d, lambda s: msum(s, "driftgate_responses_validated_total", api="shop", operation="getCatalog")
                    > msum(m0, "driftgate_responses_validated_total", api="shop", operation="getCatalog"))
    R.check("enforce fallback counted: driftgate_enforce_fallback_total{api=\"shop\"} 1, verdict still valid",
            msum(m, "driftgate_enforce_fallback_total", api="shop") == 1 and
            delta("driftgate_responses_validated_total", api="shop", operation="getCatalog", result="valid") == 1,
            "fallback %r validated %r" % (lib.mseries(m, "driftgate_enforce_fallback_total"),
                                          lib.mseries(m, "driftgate_responses_validated_total")))
    R.check("metrics labelled per API", msum(m, "driftgate_responses_validated_total", api="fake") >= 1 and
            msum(m, "driftgate_responses_validated_total", api="shop") >= 3,
            repr(lib.mseries(m, "driftgate_responses_validated_total")))


# ---- SIGTERM drain ---------------------------------------------------------------------------


def sec_sigterm():
    d = dg_instance("term", upstream=fake_url())
    if not d:
        return
    item = routes.body_bytes(routes.ROUTES["/items/1"], S.tmp)
    results = {}

    def fetch(key, path):
        try:
            results[key] = d.get(path, timeout=20 * S.T)
        except (OSError, lib.Incomplete) as e:
            results[key] = e
    ts = [threading.Thread(target=fetch, args=("slowbody", "/items/1?fake=slowbody&delay=3"), daemon=True),
          threading.Thread(target=fetch, args=("slowhead", "/items/1?fake=slow&delay=2"), daemon=True)]
    for t in ts:
        t.start()
    time.sleep(0.8)
    t0 = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    try:
        request(d.port, "GET", "/items/1", timeout=2)
        refused = False
    except (OSError, lib.Incomplete):
        refused = True
    lib.log("new connection after SIGTERM refused: %s" % refused)
    try:
        d.proc.wait(20 * S.T)
    except subprocess.TimeoutExpired:
        pass
    dt = time.monotonic() - t0
    for t in ts:
        t.join(10)
    rc = d.proc.poll()
    R.check("SIGTERM: exits 0 within the drain timeout (15 s)", rc == 0 and dt <= 15 * S.T + 1,
            "rc %r after %.1fs: %s" % (rc, dt, d.stderr_tail()))
    for k in ("slowbody", "slowhead"):
        b = results.get(k)
        R.check("SIGTERM: in-flight %s response completed exactly" % k,
                isinstance(b, lib.Resp) and b.status == 200 and b.complete and b.body == item, repr(b))
    d.stop()


# ---- admin endpoints ----------------------------------------------------------------------------


def sec_admin():
    d = get_mon()
    if not d:
        return
    base = "http://127.0.0.1:%d" % d.admin
    R.eq("/healthz 200", lib.http_get(base + "/healthz")[0], 200)
    R.eq("/readyz 200", lib.http_get(base + "/readyz")[0], 200)
    st, hs, body = lib.http_get(base + "/status")
    try:
        js = json.loads(body)
    except ValueError:
        js = None
    R.check("/status 200 application/json", st == 200 and js is not None and
            hs.get("content-type", "").startswith("application/json"), "%d %r %r" % (st, hs, body[:200]))
    if js is None:
        return
    apis = js.get("apis")
    R.check("/status lists the api", isinstance(apis, (list, dict)) and len(apis) == 1, repr(js)[:400])
    hashes = spec_hashes(js)
    spec_sha = sha(open(SPEC, "rb").read())
    R.check("/status has the spec's sha256 (of the file)", any(spec_sha in str(h) for h in hashes),
            "hashes %r, file %s" % (hashes, spec_sha))
    R.check("/status has a config version", find_key(js, lambda k: "version" in k.lower()), repr(js)[:400])
    R.check("/status has counters", find_key(js, lambda k: k.lower() in ("counters", "requests", "responses")) != [],
            repr(js)[:400])
    st, _, _ = lib.http_get(base + "/nope")
    R.eq("admin unknown path -> 404", st, 404)
    # SIGUSR1 reopens the log and anomaly files (logrotate: rename, then signal)
    d.get("/items/2")  # make sure both files exist
    lib.wait_until(lambda: os.path.exists(d.log) and os.path.exists(d.anomalies), 5 * S.T)
    if os.path.exists(d.log) and os.path.exists(d.anomalies):
        os.rename(d.log, d.log + ".1")
        os.rename(d.anomalies, d.anomalies + ".1")
        d.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.5 * S.T)
        d.get("/items/2")  # invalid: one log line, one anomaly
        for f, what in ((d.log, "log"), (d.anomalies, "anomaly")):
            ok = lib.wait_until(lambda: os.path.exists(f) and os.path.getsize(f) > 0, 5 * S.T)
            R.check("SIGUSR1: %s file reopened (a new file gets the next line)" % what, ok and d.alive(),
                    "exists=%s alive=%s" % (os.path.exists(f), d.alive()))
    else:
        R.fail("SIGUSR1: log and anomaly files reopened", "no %s / %s to rotate" % (d.log, d.anomalies))


def sec_oas30():
    d = dg_instance("oas30", upstream=ng_url(), spec=SPEC30, mode="enforce")
    if not d:
        return
    for path in ("/items/1", "/items", "/items/2", "/items/6", "/items/7", "/catalog"):
        r = routes.ROUTES[path]
        b = d.get(path)
        want = 502 if r["verdict"] == "invalid" else 200
        R.check("OpenAPI 3.0 spec (nullable): %s -> %d" % (path, want), b.status == want, repr(b))


# ---- teardown -------------------------------------------------------------------------------------


def teardown_instances():
    for d in S.instances:
        if d.stopped is None:
            alive = d.alive()
            rc = d.stop()
            secs, killed = d.stopped
            R.check("%s: still running at the end, SIGTERM -> exit 0" % d.name, alive and rc == 0 and not killed,
                    "alive=%s rc=%r killed=%s after %.1fs: %s" % (alive, rc, killed, secs, d.stderr_tail()))
        if S.valgrind:
            logs = [os.path.join(S.tmp, f) for f in os.listdir(S.tmp)
                    if f.startswith(d.name + ".valgrind.")]
            errs = []
            for lg in logs:
                txt = open(lg).read()
                m = re.search(r"ERROR SUMMARY: (\d+) errors", txt)
                if not m or m.group(1) != "0":
                    errs.append("%s: %s" % (os.path.basename(lg), m.group(0) if m else "no summary"))
                if "definitely lost: 0 bytes" not in txt and "definitely lost" in txt:
                    errs.append("%s: definitely lost" % os.path.basename(lg))
            R.check("%s: valgrind clean" % d.name, logs and not errs, "; ".join(errs) or "no valgrind log")
        if S.asan:
            txt = lib.tail(os.path.join(S.tmp, d.name + ".stderr"), 100000)
            bad = [x for x in ("AddressSanitizer", "LeakSanitizer", "runtime error:") if x in txt]
            R.check("%s: no sanitizer report" % d.name, not bad, "%r in stderr" % bad)


import analyze_sections  # noqa: E402  (the drift store, explanations, reports)

SECTIONS = [
    ("upstreams", sec_upstreams, False),
    ("passthrough", sec_passthrough, True),
    ("monitor", sec_monitor, True),
    ("prometheus", sec_prometheus, True),
    ("promtool", sec_promtool, True),
    ("enforce", sec_enforce, True),
    ("fake", sec_fake, True),
    ("tls", sec_tls, True),
    ("down", sec_down, True),
    ("timeout", sec_timeout, True),
    ("keepalive", sec_keepalive, True),
    ("maxconn", sec_maxconn, True),
    ("badinput", sec_bad_input, True),
    ("reload", sec_reload, True),
    ("reloadcfg", sec_reload_config, True),
    ("config", sec_config, True),
    ("sigterm", sec_sigterm, True),
    ("admin", sec_admin, True),
    ("oas30", sec_oas30, True),
] + analyze_sections.SECTIONS


def main():
    global S
    S = Suite()
    analyze_sections.bind(sys.modules[__name__])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    S.prom_port = None
    try:
        lib.log("driftgate: %s%s; temp dir %s" % (S.dg, " (valgrind)" if S.valgrind else "", S.tmp))
        with open(os.path.join(S.tmp, "catalog.json"), "wb") as f:
            f.write(make_bodies.make_catalog())
        make_certs()
        start_nginx()
        start_fake()
        r = None
        try:
            r = sh([S.dg, "run", "--help"])
            S.have_dg = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired) as e:
            S.dg_reason = str(e)
        if not S.have_dg:
            S.dg_reason = S.dg_reason or "`%s run --help` exit %s: %s" % (
                S.dg, r.returncode if r else "?", " ".join(r.stdout.decode().split())[:200] if r else "")
        if not S.have_dg:
            R.fail("driftgate run available", S.dg_reason)
        if S.have_dg and (not S.only or "prometheus" in S.only):
            start_prometheus()
        for name, fn, needs_dg in SECTIONS:
            if S.only and name not in S.only:
                continue
            if needs_dg and not S.have_dg:
                R.skip(name, "driftgate proxy not available: " + S.dg_reason)
                continue
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - one broken section must not hide the others
                tb = traceback.format_exc().strip().splitlines()
                R.fail("section %s raised" % name, "%r at %s" % (e, " | ".join(x.strip() for x in tb[-4:-1])))
        teardown_instances()
    finally:
        S.procs.stop_all()
    print(R.summary(), flush=True)
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())
