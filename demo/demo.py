#!/usr/bin/env python3
"""The driftgate demo (`make demo`, or demo/run.sh [path/to/driftgate]).

Starts, on 127.0.0.1 and free ports chosen now: nginx serving recorded
responses of the Shop API *v2* (demo/upstream/), and driftgate in front of it
checking every response against the *v1* description (demo/spec/shop-v1.yaml)
with the third-party profile in monitor mode and a drift store. Sends a
bounded, seeded burst of requests through driftgate (demo/traffic.py), has
the drift explained (the built-in heuristic; Gemma 4 through the Gemini API
when GEMINI_API_KEY is set, or through Ollama when OLLAMA_HOST is set),
writes the reports, prints a summary, and stops everything it started (also
on Ctrl-C). See demo/README.md for the environment variables.

Exit status: 0 done, 1 something failed (the message says what), 130 / 143
interrupted by SIGINT / SIGTERM.
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import traffic  # noqa: E402

SPEC = os.path.join(HERE, "spec", "shop-v1.yaml")
UPSTREAM = os.path.join(HERE, "upstream")
MARKER = ".driftgate-demo"
# What a demo output folder may contain: removed at the start of a run.
OWNED = ["drift.db", "drift.db-wal", "drift.db-shm", "drift.db-journal", "report", "logs", "run",
         "summary.json", "traffic.json"]


class DemoError(Exception):
    """A failure with a message for people."""


class Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# ---- output ------------------------------------------------------------------------------

TTY = sys.stdout.isatty()


def say(msg=""):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def rel(path):
    """A path as the user would type it from where they are (relative when short)."""
    try:
        r = os.path.relpath(path)
    except ValueError:
        return path
    return r if not r.startswith("../..") else path


def env_int(name, default, lo, hi):
    v = os.environ.get(name, "")
    if not v:
        return default
    try:
        n = int(v)
    except ValueError:
        raise DemoError("%s=%r is not an integer" % (name, v))
    if not lo <= n <= hi:
        raise DemoError("%s=%d is out of range (%d..%d)" % (name, n, lo, hi))
    return n


def env_float(name, default, lo, hi):
    v = os.environ.get(name, "")
    if not v:
        return default
    try:
        n = float(v)
    except ValueError:
        raise DemoError("%s=%r is not a number" % (name, v))
    if not lo <= n <= hi:
        raise DemoError("%s=%s is out of range (%g..%g)" % (name, v, lo, hi))
    return n


# ---- processes -----------------------------------------------------------------------------

_libc = None


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def _child_setup():
    """In the child, before exec: signals unblocked (the parent blocks them
    around the fork), and SIGTERM when the demo process goes away, even by
    SIGKILL (Linux PR_SET_PDEATHSIG), so nothing outlives it."""
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    try:
        if _libc:
            _libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort, never fail the exec
        pass


class Procs:
    """Every process the demo starts, each in its own process group (a Ctrl-C
    in the terminal reaches the demo only, which stops them in order); their
    pids in RUN/pids for anyone checking that nothing is left behind."""

    def __init__(self, pidfile):
        self.live = []  # (name, Popen), in start order
        self.pidfile = pidfile

    def _write(self):
        with open(self.pidfile + ".new", "w") as f:
            for name, p in self.live:
                f.write("%s %d\n" % (name, p.pid))
        os.replace(self.pidfile + ".new", self.pidfile)

    def start(self, name, argv, stdout, stderr, env=None):
        global _libc
        if _libc is None:
            try:
                _libc = ctypes.CDLL(None, use_errno=True)
            except OSError:
                _libc = False
        # No signal between the fork and the bookkeeping: a Ctrl-C right
        # there would leave a process nobody knows about.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            with open(stdout, "ab") as out, open(stderr, "ab") as err:
                try:
                    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                         start_new_session=True, preexec_fn=_child_setup)
                except OSError as e:
                    raise DemoError("cannot start %s (%s): %s" % (name, argv[0], e.strerror))
            self.live.append((name, p))
            self._write()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return p

    def stop(self, p, timeout=5.0):
        """SIGTERM to the process group, then SIGKILL after `timeout`."""
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        # whatever is left in its group (nginx workers, a hung child)
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(2)
        except subprocess.TimeoutExpired:
            pass
        self.live = [(n, q) for n, q in self.live if q is not p]
        self._write()

    def stop_all(self):
        for name, p in reversed(list(self.live)):
            self.stop(p)

    def run(self, name, argv, log, timeout, env=None):
        """Runs a short command to completion (killed after `timeout` s);
        returns (exit status, its output)."""
        p = self.start(name, argv, log, log, env=env)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(p)
            raise DemoError("%s did not finish within %d s (see %s)" % (name, timeout, rel(log)))
        self.stop(p)
        with open(log, errors="replace") as f:
            return rc, f.read()


def tail(path, n=6):
    try:
        with open(path, errors="replace") as f:
            lines = [ln.rstrip("\n") for ln in f if ln.strip()]
    except OSError:
        return "(no %s)" % path
    return "\n".join("    " + ln[:300] for ln in lines[-n:])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def port_for(var):
    """DEMO_*_PORT when set (checked to be free now), else a free port."""
    v = os.environ.get(var, "")
    if not v:
        return free_port()
    port = env_int(var, 0, 1, 65535)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError as e:
        raise DemoError("port %d on 127.0.0.1 (%s) is not available: %s" % (port, var, e.strerror))
    finally:
        s.close()
    return port


def http_get(url, timeout=2.0):
    """(status, body bytes); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, ValueError):
        return 0, b""


def wait_until(cond, timeout, proc=None, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(step)
    return cond()


# ---- nginx: the recorded v2 upstream -----------------------------------------------------


def find_exe(name, extra=("/usr/sbin", "/usr/local/sbin", "/sbin")):
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(extra)
    return shutil.which(name, path=path)


def nginx_string(text):
    if "$" in text:
        raise DemoError("a recorded body contains '$', which nginx would expand: %r" % text[:80])
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def nginx_locations(routes):
    """location blocks serving each route's recorded body (compact JSON) with
    its status and headers; a route with `query` (one key=value) is chosen by
    that query argument."""
    by_path = {}
    for r in routes:
        by_path.setdefault(r["path"], []).append(r)
    out = []
    for path, rs in by_path.items():
        lines = ["location = %s {" % path, "    default_type application/json;"]
        plain = [r for r in rs if not r.get("query")]
        if len(plain) != 1:
            raise DemoError("routes.json: %s needs exactly one route without a query" % path)
        for r in rs:
            with open(os.path.join(UPSTREAM, r["body"])) as f:
                body = json.dumps(json.load(f), separators=(",", ":"), ensure_ascii=False)
            hdrs = dict({"X-Shop-Api-Version": "2"}, **r.get("headers", {}))
            add = " ".join("add_header %s %s always;" % kv for kv in hdrs.items())
            ret = "return %d %s;" % (r.get("status", 200), nginx_string(body))
            if r.get("query"):
                k, _, v = r["query"].partition("=")
                lines.insert(2, '    if ($arg_%s = "%s") { %s %s }' % (k, v, add, ret))
            else:
                lines += ["    " + add, "    " + ret]
        lines.append("}")
        out.append("\n".join(lines))
    return "\n".join(out)


def q(*parts):
    """A path for nginx.conf, quoted (the output folder may contain spaces)."""
    path = os.path.join(*parts)
    if any(c in path for c in '"\\$'):
        raise DemoError("the output folder's path may not contain '\"', '\\' or '$' (nginx): %s" % path)
    return '"%s"' % path


def start_nginx(procs, run, logs, port, routes):
    exe = os.environ.get("DEMO_NGINX") or find_exe("nginx")
    if not exe or not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        raise DemoError("nginx is not installed%s (on Debian: apt-get install nginx; `make demo` "
                        "installs it through scripts/deps.sh)" % (" at DEMO_NGINX=%s" % exe if exe else ""))
    ng = os.path.join(run, "nginx")
    os.makedirs(ng, exist_ok=True)
    err = os.path.join(logs, "nginx-error.log")
    conf = """# generated by demo/demo.py: the Shop API v2, as recorded (demo/upstream/)
worker_processes 1;
pid %(pid)s;
error_log %(err)s notice;
events { worker_connections 512; }
http {
    types {}
    default_type application/octet-stream;
    access_log %(access)s;
    client_body_temp_path %(t_body)s;
    proxy_temp_path %(t_proxy)s;
    fastcgi_temp_path %(t_fastcgi)s;
    uwsgi_temp_path %(t_uwsgi)s;
    scgi_temp_path %(t_scgi)s;
    server_tokens off;
    keepalive_requests 100000;
    gzip on;
    gzip_types application/json;
    gzip_min_length 64;
    gzip_proxied any;
    server {
        listen 127.0.0.1:%(port)d;
%(locations)s
        location / {
            default_type application/json;
            return 404 '{"code":"not_found","message":"no such resource"}';
        }
    }
}
""" % dict(pid=q(ng, "nginx.pid"), err=q(err), access=q(logs, "nginx-access.log"), t_body=q(ng, "client_body"),
           t_proxy=q(ng, "proxy"), t_fastcgi=q(ng, "fastcgi"), t_uwsgi=q(ng, "uwsgi"), t_scgi=q(ng, "scgi"),
           port=port, locations=nginx_locations(routes))
    path = os.path.join(ng, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    argv = [exe, "-p", ng, "-e", err, "-c", path]
    out = os.path.join(logs, "nginx.stderr")
    r = subprocess.run(argv + ["-t", "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    if r.returncode != 0:
        raise DemoError("nginx rejected the generated config %s:\n%s" % (rel(path), r.stdout.decode(errors="replace")))
    p = procs.start("nginx", argv + ["-g", "daemon off;"], out, out)
    ok = wait_until(lambda: http_get("http://127.0.0.1:%d/health" % port, 1)[0] == 200, 10, proc=p)
    if not ok:
        raise DemoError("nginx did not start on 127.0.0.1:%d (port taken?):\n%s\n%s"
                        % (port, tail(err), tail(out)))
    return p


# ---- driftgate ---------------------------------------------------------------------------


def choose_explainer():
    """(backend, settings dict, description, secret-free)."""
    want = os.environ.get("DEMO_EXPLAIN", "").strip().lower()
    if want and want not in ("heuristic", "gemini", "ollama"):
        raise DemoError("DEMO_EXPLAIN=%r: use heuristic, gemini or ollama" % want)
    gemini_key = os.environ.get("GEMINI_API_KEY", "")
    ollama = os.environ.get("OLLAMA_HOST", "").strip()
    if want == "gemini" or (not want and gemini_key):
        if not gemini_key:
            raise DemoError("DEMO_EXPLAIN=gemini needs GEMINI_API_KEY")
        s = {"backend": "gemini", "api_key_env": "GEMINI_API_KEY"}
        if os.environ.get("DEMO_GEMINI_ENDPOINT"):
            s["endpoint"] = os.environ["DEMO_GEMINI_ENDPOINT"].rstrip("/")
        if os.environ.get("DEMO_GEMINI_MODEL"):
            s["model"] = os.environ["DEMO_GEMINI_MODEL"]
        where = s.get("endpoint", "the Gemini API")
        return "gemini", s, "Gemma 4 (%s) through %s, GEMINI_API_KEY" % (s.get("model", "gemma-4-31b-it"), where)
    if want == "ollama" or (not want and ollama):
        if not ollama:
            raise DemoError("DEMO_EXPLAIN=ollama needs OLLAMA_HOST (e.g. http://127.0.0.1:11434)")
        if "://" not in ollama:
            ollama = "http://" + ollama  # Ollama's own convention: host:port
        s = {"backend": "ollama", "endpoint": ollama.rstrip("/")}
        if os.environ.get("DEMO_OLLAMA_MODEL"):
            s["model"] = os.environ["DEMO_OLLAMA_MODEL"]
        return "ollama", s, "Gemma 4 (%s) on Ollama at %s" % (s.get("model", "gemma4:31b"), s["endpoint"])
    return "heuristic", {"backend": "heuristic"}, "driftgate's built-in heuristic (no model)"


def yaml_str(s):
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def driftgate_config(path, ports, out, logs, explain):
    ex = ["explain:"] + ["  %s: %s" % (k, yaml_str(v)) for k, v in explain.items()]
    if explain["backend"] != "heuristic":
        # The demo asks for the batch itself (driftgate explain) right after the
        # traffic; the proxy would otherwise wait for 20 drifts or 5 minutes.
        ex += ["  batch_interval: 10m", "  max_attempts: 3", "  backoff_max: 10s", "  connect_timeout: 5s",
               "  timeout: 90s"]
    text = """# generated by demo/demo.py
version: 1
listen: 127.0.0.1:%(proxy)d
admin: 127.0.0.1:%(admin)d
workers: 2
log:
  file: %(log)s
  level: info
anomalies:
  file: %(anom)s
store:
  path: %(db)s
  flush_interval: 500ms
limits:
  drain_timeout: 2s
%(explain)s
apis:
  - name: shop
    spec: %(spec)s
    upstream: http://127.0.0.1:%(up)d
    # An API we consume but do not own: extra fields and 429/503 are info-level
    # drift; type, enum, required, format changes and other undocumented
    # statuses are errors. Monitor mode: responses are never changed.
    profile: third-party
    policy:
      mode: monitor
      # Offending values may appear in the reports (complete enum patches),
      # except personal data, which stays masked.
      include_values: true
      redact:
        properties: [email, phone, name]
""" % dict(proxy=ports["proxy"], admin=ports["admin"], up=ports["upstream"],
           log=yaml_str(os.path.join(logs, "driftgate.log")), anom=yaml_str(os.path.join(logs, "anomalies.jsonl")),
           db=yaml_str(os.path.join(out, "drift.db")), spec=yaml_str(SPEC), explain="\n".join(ex))
    with open(path, "w") as f:
        f.write(text)


def start_driftgate(procs, dg, conf, logs, ports):
    err = os.path.join(logs, "driftgate.stderr")
    r = subprocess.run([dg, "check-config", "--quiet", conf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    if r.returncode != 0:
        raise DemoError("driftgate check-config %s failed:\n%s" % (rel(conf), r.stdout.decode(errors="replace")))
    p = procs.start("driftgate", [dg, "run", "--config", conf], err, err)
    admin = "http://127.0.0.1:%d" % ports["admin"]
    ok = wait_until(lambda: http_get(admin + "/readyz", 1)[0] == 200, 15, proc=p)
    if not ok:
        raise DemoError("driftgate did not become ready on 127.0.0.1:%d (admin %d) (port taken?):\n%s\n%s"
                        % (ports["proxy"], ports["admin"], tail(err), tail(os.path.join(logs, "driftgate.log"))))
    return p


def store_totals(db):
    """(distinct drifts, occurrences) in the drift store; (0, 0) while it
    cannot be read yet."""
    try:
        con = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(db), uri=True, timeout=2)
        try:
            n, occ = con.execute("select count(*), coalesce(sum(count), 0) from drifts").fetchone()
            return int(n), int(occ)
        finally:
            con.close()
    except sqlite3.Error:
        return 0, 0


def metrics(admin):
    """{name: [(labels dict, value)]} from /metrics."""
    st, body = http_get(admin + "/metrics", 3)
    if st != 200:
        raise DemoError("driftgate's /metrics did not answer (%s)" % (st or "no connection"))
    out = {}
    for ln in body.decode(errors="replace").splitlines():
        if not ln or ln.startswith("#"):
            continue
        head, _, val = ln.rpartition(" ")
        name, _, lab = head.partition("{")
        labels = {}
        for part in lab.rstrip("}").split('",'):
            if "=" in part:
                k, _, v = part.partition("=")
                labels[k.strip(",")] = v.strip('"')
        try:
            out.setdefault(name, []).append((labels, float(val)))
        except ValueError:
            pass
    return out


def msum(m, name, **labels):
    return int(sum(v for lab, v in m.get(name, []) if all(lab.get(k) == w for k, w in labels.items())))


def by_label(m, name, label):
    out = {}
    for lab, v in m.get(name, []):
        out[lab.get(label, "")] = out.get(lab.get(label, ""), 0) + int(v)
    return out


# ---- the demo ----------------------------------------------------------------------------


def prepare_out(out):
    if os.path.exists(out) and not os.path.isdir(out):
        raise DemoError("%s exists and is not a folder (set DEMO_OUT to another place)" % out)
    if os.path.isdir(out) and os.listdir(out) and not os.path.exists(os.path.join(out, MARKER)):
        raise DemoError("%s is not empty and was not made by the demo: set DEMO_OUT to another place" % out)
    try:
        os.makedirs(out, exist_ok=True)
        for name in OWNED:
            p = os.path.join(out, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.unlink(p)
        with open(os.path.join(out, MARKER), "w") as f:
            f.write("made by driftgate's demo/demo.py; its contents are replaced by the next run\n")
        for d in ("logs", "run", "report"):
            os.makedirs(os.path.join(out, d))
    except OSError as e:
        raise DemoError("cannot prepare the output folder %s: %s (set DEMO_OUT to a writable place)"
                        % (out, e.strerror or e))


def progress_printer():
    state = {"next": 0.25}

    def show(done, n, elapsed, failed):
        line = "      %d/%d requests sent, %d failed, %.1f s" % (done, n, failed, elapsed)
        if TTY:
            sys.stdout.write("\r" + line + "   ")
            if done == n:
                sys.stdout.write("\n")
            sys.stdout.flush()
        elif n and (done / n >= state["next"] or done == n):
            while state["next"] <= done / n:
                state["next"] += 0.25
            say(line)
    return show


def expected(routes_doc, tally):
    """What driftgate should report for the requests actually sent."""
    routes = routes_doc["routes"]
    drifts = routes_doc["drifts"]
    verdicts = {"valid": 0, "invalid": 0, "skipped": 0}
    err = info = 0
    seen = set()
    for r, t in zip(routes, tally["per_route"]):
        c = t["count"]
        verdicts[r["verdict"]] += c
        for d in r.get("drifts", []):
            if c:
                seen.add(d)
            if drifts[d]["severity"] == "error":
                err += c
            else:
                info += c
    return {"verdicts": verdicts, "error_findings": err, "info_findings": info, "drifts": sorted(seen)}


def drift_key(d):
    return (d["operation"], d["http_status"] if "http_status" in d else d["status"], d["pointer"], d["kind"])


def main(argv):
    dg = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(REPO, "build", "driftgate"))
    out = os.path.abspath(os.environ.get("DEMO_OUT") or os.path.join(REPO, "demo-out"))
    n_req = env_int("DEMO_REQUESTS", 400, 1, traffic.MAX_REQUESTS)
    duration = env_float("DEMO_DURATION", 12.0, 0, traffic.MAX_DURATION)
    seed = env_int("DEMO_SEED", 42, 0, 2 ** 31)
    keep = os.environ.get("DEMO_KEEP_RUNNING", "") not in ("", "0", "no", "false")
    if not (os.path.isfile(dg) and os.access(dg, os.X_OK)):
        raise DemoError("no driftgate executable at %s (run `make` first)" % dg)
    backend, explain_cfg, explain_desc = choose_explainer()
    with open(os.path.join(UPSTREAM, "routes.json")) as f:
        routes_doc = json.load(f)
    routes = routes_doc["routes"]

    t_start = time.monotonic()
    say("driftgate demo: the Shop API v1 description vs. a recorded v2 of the API")
    prepare_out(out)
    logs, run = os.path.join(out, "logs"), os.path.join(out, "run")
    procs = Procs(os.path.join(run, "pids"))
    say("  output folder: %s" % rel(out))
    say("  explanations:  %s" % explain_desc)
    say()
    try:
        ports = {"upstream": port_for("DEMO_UPSTREAM_PORT"), "proxy": port_for("DEMO_PROXY_PORT"),
                 "admin": port_for("DEMO_ADMIN_PORT")}
        if len(set(ports.values())) != 3:
            raise DemoError("the upstream, proxy and admin ports must differ: %r" % ports)
        admin = "http://127.0.0.1:%d" % ports["admin"]

        say("[1/6] starting the v2 upstream (nginx) on 127.0.0.1:%d: %d recorded responses from %s"
            % (ports["upstream"], len(routes), rel(UPSTREAM)))
        start_nginx(procs, run, logs, ports["upstream"], routes)

        conf = os.path.join(run, "driftgate.yaml")
        driftgate_config(conf, ports, out, logs, explain_cfg)
        say("[2/6] starting driftgate on 127.0.0.1:%d in front of it: driftgate run --config %s"
            % (ports["proxy"], rel(conf)))
        say("      every response is checked against %s (OpenAPI 3.1); metrics on %s/metrics"
            % (rel(SPEC), admin))
        say("      monitor mode, third-party profile: responses pass unchanged; type, enum, required-field")
        say("      and format changes and unknown statuses count as errors (invalid), new fields and 429/503 as info")
        dgp = start_driftgate(procs, dg, conf, logs, ports)

        say("[3/6] sending %d requests through driftgate over ~%g s (seed %d, a mix of %d URLs)..."
            % (n_req, duration, seed, len(routes)))
        tally = traffic.run(ports["proxy"], routes, n_req, duration, seed, progress_printer())
        with open(os.path.join(out, "traffic.json"), "w") as f:
            json.dump(tally, f, indent=2)
        if tally["failed"]:
            raise DemoError("%d of %d requests got no answer (%r); see %s"
                            % (tally["failed"], tally["requests"], tally["errors"], rel(logs)))
        if dgp.poll() is not None:
            raise DemoError("driftgate exited during the traffic:\n%s" % tail(os.path.join(logs, "driftgate.stderr")))

        say("[4/6] waiting for driftgate to write the drift into the store (%s)..." % rel(os.path.join(out, "drift.db")))
        m = metrics(admin)
        findings = msum(m, "driftgate_violations_total") + msum(m, "driftgate_info_drift_total")

        db = os.path.join(out, "drift.db")
        # driftgate_drift_pending is only updated when a flush runs, so the
        # store itself says when every finding is in: the occurrences it
        # holds add up to the findings driftgate counted.
        if not wait_until(lambda: store_totals(db)[1] >= findings, 15, proc=dgp, step=0.2):
            raise DemoError("the drift store holds %d of the %d findings after 15 s; see %s"
                            % (store_totals(db)[1], findings, rel(os.path.join(logs, "driftgate.log"))))
        n_drifts, n_occ = store_totals(db)
        say("      %d findings (%d error-level, %d info-level) are %d distinct drifts, %d occurrences in the store"
            % (findings, msum(m, "driftgate_violations_total"), msum(m, "driftgate_info_drift_total"), n_drifts, n_occ))

        say("[5/6] explaining the drifts: driftgate explain (%s)..." % (
            backend if backend == "heuristic" else "%s: one batched request for every drift; a real model "
            "may take a minute" % backend))
        explain_timeout = env_int("DEMO_EXPLAIN_TIMEOUT", 120, 5, 600)
        rc, text = procs.run("driftgate explain", [dg, "explain", "--config", conf, "--timeout",
                                                   "%ds" % (explain_timeout - 2)],
                             os.path.join(logs, "explain.txt"), explain_timeout)
        for ln in [ln for ln in text.strip().splitlines() if not ln.startswith("{")][-4:]:
            say("      " + ln[:300])  # its summary lines; the JSON log lines stay in the file
        explain_failed = rc != 0
        if rc == 2:
            raise DemoError("driftgate explain failed (exit 2); see %s" % rel(os.path.join(logs, "explain.txt")))
        if explain_failed:
            say("      the model batch failed (exit %d): the heuristic's explanations stay; see %s"
                % (rc, rel(os.path.join(logs, "explain.txt"))))

        say("[6/6] writing the reports: driftgate report (HTML, Markdown, JSON; per API and per owning team)...")
        rdir = os.path.join(out, "report")
        rc, text = procs.run("driftgate report", [dg, "report", "--store", os.path.join(out, "drift.db"),
                                                  "--out", rdir, "--since", "1h", "--per-owner"],
                             os.path.join(logs, "report.txt"), 60)
        if rc != 0:
            raise DemoError("driftgate report failed (exit %d):\n%s" % (rc, text[-800:]))
        say("      " + text.strip().splitlines()[0][:200])
        with open(os.path.join(rdir, "shop.json")) as f:
            report = json.load(f)

        m = metrics(admin)
        summary = summarize(m, tally, report, routes_doc, backend, explain_failed, out, rdir, logs, admin, ports)
        summary["seconds"] = round(time.monotonic() - t_start, 1)
        with open(os.path.join(out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
        print_summary(summary)

        if keep:
            say()
            say("DEMO_KEEP_RUNNING: driftgate and nginx stay up until Ctrl-C. Try:")
            say("  curl -s http://127.0.0.1:%d/orders/ord_1003" % ports["proxy"])
            say("  curl -s %s/metrics | grep ^driftgate_violations_total" % admin)
            say("  curl -s %s/status" % admin)
            try:
                while all(p.poll() is None for _, p in procs.live):
                    time.sleep(0.5)
                raise DemoError("a service exited by itself; see %s" % rel(logs))
            except Interrupted as e:
                if e.signum != signal.SIGINT:
                    raise
            except KeyboardInterrupt:
                pass
            say()
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        if procs.live:
            names = [n for n, _ in reversed(procs.live)]
            say("stopping %s..." % (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]))
            procs.stop_all()
    say("done in %.0f s." % (time.monotonic() - t_start))
    return 0


def summarize(m, tally, report, routes_doc, backend, explain_failed, out, rdir, logs, admin, ports):
    exp = expected(routes_doc, tally)
    known = {(d["operation"], d["status"], d["pointer"], d["kind"]): name for name, d in routes_doc["drifts"].items()}
    rows = []
    written_by = {}
    for d in report.get("drifts", []):
        e = d.get("explanation") or {}
        wb = e.get("written_by", "none")
        written_by[wb] = written_by.get(wb, 0) + 1
        rows.append({"fingerprint": d["fingerprint"], "operation": d["operation"], "status": d["http_status"],
                     "pointer": d["pointer"], "kind": d["kind"], "severity": d["severity"], "count": d["count"],
                     "owner": d.get("owner"), "classification": e.get("classification"), "written_by": wb,
                     "source": e.get("source"), "expected_as": known.get(drift_key(d))})
    found = {r["expected_as"] for r in rows if r["expected_as"]}
    return {
        "requests": {"sent": tally["requests"], "answered": tally["answered"], "failed": tally["failed"],
                     "statuses": tally["statuses"], "seed": tally["seed"], "seconds": tally["seconds"]},
        "driftgate": {
            "requests": msum(m, "driftgate_requests_total"),
            "verdicts": by_label(m, "driftgate_responses_validated_total", "result"),
            "error_findings": msum(m, "driftgate_violations_total"),
            "info_findings": msum(m, "driftgate_info_drift_total"),
            "skipped": by_label(m, "driftgate_responses_skipped_total", "reason"),
            "distinct_drifts": msum(m, "driftgate_drift_fingerprints_total"),
        },
        "expected": exp,
        "report": {"drifts": report["totals"]["drifts"], "errors": report["totals"]["errors"],
                   "info": report["totals"]["info"], "occurrences": report["totals"]["occurrences"],
                   "summary": report.get("summary")},
        "drifts": rows,
        "recorded_drifts_found": sorted(found),
        "recorded_drifts_missed": sorted(set(exp["drifts"]) - found),
        "unexpected_drifts": [r["fingerprint"] for r in rows if not r["expected_as"]],
        "explainer": {"backend": backend, "written_by": written_by, "model_failed": explain_failed},
        "paths": {"out": out, "reports": rdir, "html": os.path.join(rdir, "index.html"),
                  "markdown": os.path.join(rdir, "shop.md"), "json": os.path.join(rdir, "shop.json"),
                  "store": os.path.join(out, "drift.db"), "logs": logs,
                  "driftgate_log": os.path.join(logs, "driftgate.log"),
                  "anomalies": os.path.join(logs, "anomalies.jsonl")},
        "urls": {"proxy": "http://127.0.0.1:%d" % ports["proxy"], "metrics": admin + "/metrics"},
    }


def print_summary(s):
    r, g, e = s["requests"], s["driftgate"], s["expected"]
    st = r["statuses"]
    classes = {}
    for code, n in st.items():
        classes[code[0] + "xx"] = classes.get(code[0] + "xx", 0) + n
    v = g["verdicts"]
    say()
    say("Summary")
    say("  requests sent        %d in %.1f s, %d answered (%s)"
        % (r["sent"], r["seconds"], r["answered"], ", ".join("%s %d" % kv for kv in sorted(classes.items()))))
    say("  judged by driftgate  %d valid, %d invalid, %d skipped (undocumented 429/503: status checked, body not)"
        % (v.get("valid", 0), v.get("invalid", 0), v.get("skipped", 0)))
    ok = (v.get("invalid", 0) == e["verdicts"]["invalid"] and v.get("valid", 0) == e["verdicts"]["valid"])
    say("                       %s" % ("exactly what the recorded v2 bodies contain" if ok else
                                      "EXPECTED %(valid)d valid, %(invalid)d invalid, %(skipped)d skipped" % e["verdicts"]))
    say("  findings             %d error-level (driftgate_violations_total), %d info-level (driftgate_info_drift_total)"
        % (g["error_findings"], g["info_findings"]))
    miss = s["recorded_drifts_missed"]
    say("  distinct drifts      %d (%d errors, %d info) in the store; %s"
        % (s["report"]["drifts"], s["report"]["errors"], s["report"]["info"],
           "all %d drifts of the recorded v2 found" % len(s["recorded_drifts_found"]) if not miss and not s["unexpected_drifts"]
           else "MISSED %r, UNEXPECTED %r" % (miss, s["unexpected_drifts"])))
    wb = s["explainer"]["written_by"]
    say("  explanations by      %s" % ", ".join("%s (%d)" % kv for kv in sorted(wb.items())))
    if s["explainer"]["backend"] != "heuristic" and not any(k.startswith("model") for k in wb):
        say("                       (the model was not reached: the heuristic's explanations stay)")
    say()
    cols = ("operation", "status", "pointer", "kind", "severity", "count", "classification")
    rows = [[str(x[c] if x[c] != "" else "(body)") for c in cols] for x in s["drifts"]]
    w = [max([len(c)] + [len(rw[i]) for rw in rows]) for i, c in enumerate(cols)]
    say(("  " + "  ".join(c.ljust(w[i]) for i, c in enumerate(cols))).rstrip())
    say("  " + "  ".join("-" * w[i] for i in range(len(cols))))
    for rw in rows:
        say(("  " + "  ".join(x.rjust(w[i]) if cols[i] in ("status", "count") else x.ljust(w[i])
                              for i, x in enumerate(rw))).rstrip())
    p = s["paths"]
    say()
    say("  reports      %s  (open in a browser; also shop.md, shop.json, owner-*.html)" % rel(p["html"]))
    say("  drift store  %s  (driftgate report --store %s --out DIR)" % (rel(p["store"]), rel(p["store"])))
    say("  logs         %s  (driftgate.log, anomalies.jsonl, nginx-*.log, explain.txt)" % rel(p["logs"]))
    say("  metrics      %s  (while running; DEMO_KEEP_RUNNING=1 keeps it up)" % s["urls"]["metrics"])


def entry(argv):
    def on_signal(signum, frame):
        raise Interrupted(signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        return main(argv)
    except Interrupted as e:
        say()
        say("demo: interrupted (%s); everything it started is stopped." % e)
        return 128 + e.signum
    except DemoError as e:
        say()
        say("demo: FAILED: %s" % e)
        return 1
    except Exception as e:  # noqa: BLE001 - a bug here: say so, after the clean-up ran
        import traceback
        traceback.print_exc()
        say("demo: FAILED (unexpected %s: %s); everything it started is stopped." % (type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(entry(sys.argv))
