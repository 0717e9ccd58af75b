#!/usr/bin/env python3
"""Tests for the demo (demo/test.sh [path/to/driftgate]; `make test` runs it).

Runs demo/run.sh non-interactively, each time in a fresh DEMO_OUT:
  1. no key: the heuristic explainer;
  2. the fake Gemini API (tests/fakes/gemini.py), GEMINI_API_KEY=test-key,
     DEMO_GEMINI_ENDPOINT;
  3. the fake Ollama (tests/fakes/ollama.py), OLLAMA_HOST;
  4. SIGINT to the demo's process group mid-traffic (what Ctrl-C does);
  5. DEMO_KEEP_RUNNING=1: the services answer until SIGINT, then exit 0;
  6. a port already taken: a clear message, exit 1.
Each run must leave no process behind (every pid and process group listed in
DEMO_OUT/run/pids is gone, and no process mentions DEMO_OUT). The expected
numbers are computed here from demo/upstream/routes.json and the seeded
request plan, independently of the demo's own bookkeeping. Bounded: every
wait has a timeout; about 40 s in all.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import traffic  # noqa: E402

FAKES = os.path.join(REPO, "tests", "fakes")
ROUTES = traffic.load_routes()
N_REQ, SEED, DURATION = 400, 42, "4"

passed = failed = 0
fakes = []


def check(name, cond, details=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - %s" % name, flush=True)
    else:
        failed += 1
        print("FAIL - %s%s" % (name, (": " + str(details)[:1500]) if details else ""), flush=True)
    return bool(cond)


# ---- what the demo must find -------------------------------------------------------------

def expected():
    routes, drifts = ROUTES["routes"], ROUTES["drifts"]
    counts = [0] * len(routes)
    for i in traffic.plan(routes, N_REQ, SEED):
        counts[i] += 1
    verdicts = {"valid": 0, "invalid": 0, "skipped": 0}
    err = info = 0
    for r, c in zip(routes, counts):
        verdicts[r["verdict"]] += c
        for d in r.get("drifts", []):
            if drifts[d]["severity"] == "error":
                err += c
            else:
                info += c
    table = {(d["operation"], d["status"], d["pointer"], d["kind"]): (d["classification"], d["severity"])
             for d in drifts.values()}
    assert all(counts), "every route is requested at least once with this seed"
    return verdicts, err, info, table


VERDICTS, ERR, INFO, TABLE = expected()


# ---- processes ---------------------------------------------------------------------------

def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not a running process
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def demo_pids(out):
    try:
        with open(os.path.join(out, "run", "pids")) as f:
            return [(ln.rsplit(" ", 1)[0], int(ln.rsplit(" ", 1)[1])) for ln in f if ln.strip()]
    except OSError:
        return []


def leftovers(out, known):
    """Processes of the demo still running: the pids (and their process
    groups, nginx workers included) it started, and anything whose command
    line names DEMO_OUT."""
    left = []
    pgids = {pid for _, pid in known}
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        pid = int(ent)
        if pid == os.getpid():
            continue
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read().rsplit(")", 1)[1].split()
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if st[0] == "Z":
            continue
        if pid in pgids or int(st[2]) in pgids or out in cmd:
            left.append("%d %s" % (pid, cmd.strip()[:120]))
    # pgrep too, as an admin would look (when procps is installed)
    if shutil.which("pgrep"):
        r = subprocess.run(["pgrep", "-af", out], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for ln in r.stdout.decode().splitlines():
            if ln.split()[0] != str(os.getpid()) and "pgrep" not in ln and alive(int(ln.split()[0])):
                left.append(ln)
        for name in ("nginx", "driftgate"):
            for pg in pgids:
                r = subprocess.run(["pgrep", "-g", str(pg), name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                for ln in r.stdout.decode().split():
                    if alive(int(ln)):
                        left.append("%s in process group %d: %s" % (name, pg, ln))
    return sorted(set(left))


def start_fake(backend, tmp):
    out = os.path.join(tmp, "fake-%s.out" % backend)
    f = open(out, "w")
    p = subprocess.Popen([sys.executable, os.path.join(FAKES, backend + ".py"), "--port", "0",
                          "--max-lifetime", "300"], stdout=f, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    f.close()
    fakes.append(p)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        with open(out) as fh:
            txt = fh.read()
        if txt.startswith("PORT "):
            return int(txt.split()[1])
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("fake %s did not start: %s" % (backend, open(out).read()[-500:]))


def fake_call(port, method, path, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def model_answer(report):
    """What the fake model answers: one explanation per fingerprint it will be
    asked about, classified from the table above (not from the heuristic),
    in words that show whose explanation it is."""
    ex = []
    for d in report["drifts"]:
        cls = TABLE[(d["operation"], d["http_status"], d["pointer"], d["kind"])][0]
        ex.append({"fingerprint": d["fingerprint"], "classification": cls,
                   "cause": "FAKE MODEL: the provider's v2 changed %s at %s" % (d["kind"], d["pointer"] or "/"),
                   "evidence": "%d occurrences" % d["count"], "severity": "medium", "confidence": 0.9,
                   "patch": []})
    return json.dumps({"explanations": ex})


# ---- running the demo --------------------------------------------------------------------

def demo_env(out, **extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DEMO_") and k not in ("GEMINI_API_KEY", "OLLAMA_HOST")}
    env.update({"DEMO_OUT": out, "DEMO_DURATION": DURATION, "DEMO_REQUESTS": str(N_REQ), "DEMO_SEED": str(SEED)})
    env.update(extra)
    return env


def run_demo(dg, out, timeout=90, **extra):
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(HERE, "run.sh"), dg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=demo_env(out, **extra), start_new_session=True)
    known = set()
    chunks = []
    try:
        # sample the pids file while it runs (it lists the live processes)
        import threading
        reader = threading.Thread(target=lambda: chunks.append(p.stdout.read()), daemon=True)
        reader.start()
        while p.poll() is None and time.monotonic() - t0 < timeout:
            known.update(demo_pids(out))
            time.sleep(0.1)
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
            return -999, "(timed out after %d s)" % timeout, known, time.monotonic() - t0
        reader.join(10)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
    return p.returncode, (chunks[0] if chunks else b"").decode(errors="replace"), known, time.monotonic() - t0


def check_no_leftovers(name, out, known):
    time.sleep(0.2)
    left = leftovers(out, known)
    check("%s: nothing left running (%d processes were started: %s)"
          % (name, len(known), ", ".join(sorted({n for n, _ in known})) or "none"), not left, left)


def check_run(name, dg, out, rc, text, secs, want_written_by):
    check("%s: exit 0 (%.1f s)" % (name, secs), rc == 0, text[-2500:])
    check("%s: under 60 s" % name, secs < 60, "%.1f s" % secs)
    for step in ("starting the v2 upstream (nginx) on 127.0.0.1:", "starting driftgate on 127.0.0.1:",
                 "sending %d requests" % N_REQ, "Summary", "stopping driftgate and nginx"):
        check("%s: prints %r" % (name, step), step in text, text[-1500:])
    try:
        s = json.load(open(os.path.join(out, "summary.json")))
        report = json.load(open(os.path.join(out, "report", "shop.json")))
    except (OSError, ValueError) as e:
        check("%s: summary.json and report/shop.json written" % name, False, e)
        return None
    g = s["driftgate"]
    check("%s: %d requests sent, all answered, all seen by driftgate" % (name, N_REQ),
          s["requests"]["sent"] == N_REQ and s["requests"]["answered"] == N_REQ and g["requests"] == N_REQ,
          "%r / driftgate %d" % (s["requests"], g["requests"]))
    got_v = {k: g["verdicts"].get(k, 0) for k in VERDICTS}
    check("%s: verdicts from /metrics are exactly the recorded bodies' (%r)" % (name, VERDICTS), got_v == VERDICTS,
          "got %r" % g["verdicts"])
    check("%s: findings from /metrics: %d error-level, %d info-level" % (name, ERR, INFO),
          g["error_findings"] == ERR and g["info_findings"] == INFO, "got %d / %d" % (g["error_findings"], g["info_findings"]))
    line = "judged by driftgate  %d valid, %d invalid, %d skipped" % (VERDICTS["valid"], VERDICTS["invalid"],
                                                                     VERDICTS["skipped"])
    check("%s: the summary prints them (%r)" % (name, line), line in text, text[-2000:])
    n = len(TABLE)
    check("%s: %d distinct drifts (store metric, report totals, summary line)" % (name, n),
          g["distinct_drifts"] == n and report["totals"]["drifts"] == n and
          ("distinct drifts      %d (" % n) in text and "all %d drifts of the recorded v2 found" % n in text,
          "metric %d, report %d" % (g["distinct_drifts"], report["totals"]["drifts"]))
    check("%s: the store holds every finding once (%d occurrences)" % (name, ERR + INFO),
          report["totals"]["occurrences"] == ERR + INFO, "report: %d" % report["totals"]["occurrences"])
    got = {(d["operation"], d["http_status"], d["pointer"], d["kind"]):
           ((d.get("explanation") or {}).get("classification"), d["severity"]) for d in report["drifts"]}
    check("%s: report JSON: each expected drift with its classification and severity" % name, got == TABLE,
          "missing %r, wrong %r" % (sorted(set(TABLE) - set(got)),
                                    sorted((k, got[k], TABLE.get(k)) for k in got if got[k] != TABLE.get(k))))
    classes = {c for c, _ in TABLE.values()}
    check("%s: every classification present (%s)" % (name, ", ".join(sorted(classes))),
          classes <= {c for c, _ in got.values()})
    wb = {(d.get("explanation") or {}).get("written_by") for d in report["drifts"]}
    check("%s: explanations written by %s" % (name, want_written_by), wb == {want_written_by}, wb)
    check("%s: the summary says who wrote them" % name,
          "explanations by      %s (%d)" % (want_written_by, n) in text, text[-2000:])
    for f in ("index.html", "index.md", "index.json", "shop.html", "shop.md", "shop.json",
              "owner-team-orders.json", "owner-team-crm.json", "owner-team-catalog.json"):
        if not os.path.isfile(os.path.join(out, "report", f)):
            check("%s: report/%s written" % (name, f), False)
            break
    else:
        check("%s: reports written (HTML, Markdown, JSON; per API and per owner)" % name, True)
    v = subprocess.run([dg, "validate", "--schema", os.path.join(REPO, "analyze", "report.schema.json"),
                        os.path.join(out, "report", "shop.json")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check("%s: report JSON valid against analyze/report.schema.json" % name, v.returncode == 0, v.stdout.decode()[-500:])
    for p in (s["paths"]["html"], s["paths"]["driftgate_log"], s["paths"]["anomalies"]):
        if not (os.path.isfile(p) and os.path.getsize(p) > 0):
            check("%s: %s written" % (name, p), False)
    return report


def wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def interrupted_run(dg, out, sig_after, extra, name, want_rc, check_during=None, sig=signal.SIGINT, group=True):
    """Starts the demo in its own process group, waits for `sig_after` in its
    output, optionally runs check_during(out), then sends SIGINT to the whole
    group (a terminal's Ctrl-C) and checks the exit and the leftovers."""
    log = out + ".log"
    with open(log, "wb") as f:
        p = subprocess.Popen([os.path.join(HERE, "run.sh"), dg], stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=demo_env(out, **extra), start_new_session=True)
    known = set()
    try:
        def seen():
            known.update(demo_pids(out))
            return sig_after in open(log, errors="replace").read() or p.poll() is not None
        ok = wait_for(seen, 40)
        time.sleep(1.0)
        known.update(demo_pids(out))
        running = [pid for _, pid in known if alive(pid)]
        check("%s: nginx and driftgate were running before the signal" % name,
              ok and p.poll() is None and {"nginx", "driftgate"} <= {n for n, _ in known} and len(running) >= 2,
              open(log, errors="replace").read()[-1500:])
        if check_during:
            check_during(out)
        t0 = time.monotonic()
        if p.poll() is None:
            (os.killpg if group else os.kill)(p.pid, sig)
        try:
            rc = p.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        text = open(log, errors="replace").read()
        check("%s: the demo exits %s within 20 s (%.1f s)" % (name, want_rc, time.monotonic() - t0),
              rc == want_rc, "rc=%r\n%s" % (rc, text[-1500:]))
        return text, known
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)


def main(argv):
    dg = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(REPO, "build", "driftgate"))
    if not os.access(dg, os.X_OK):
        print("demo test: no driftgate at %s (run make first)" % dg)
        return 2
    tmp = tempfile.mkdtemp(prefix="driftgate-demo-test.")
    t_all = time.monotonic()
    try:
        # 1. the heuristic
        out = os.path.join(tmp, "heuristic")
        rc, text, known, secs = run_demo(dg, out)
        print("---- demo output (heuristic) ----\n" + text.rstrip() + "\n----", flush=True)
        report = check_run("heuristic", dg, out, rc, text, secs, "heuristic")
        check_no_leftovers("heuristic", out, known)
        if report is None:
            return 1

        # 2. Gemma 4 on the (fake) Gemini API
        port = start_fake("gemini", tmp)
        fake_call(port, "POST", "/_fake/config", {"answer": model_answer(report)})
        out = os.path.join(tmp, "gemini")
        rc, text, known, secs = run_demo(dg, out, GEMINI_API_KEY="test-key",
                                         DEMO_GEMINI_ENDPOINT="http://127.0.0.1:%d" % port)
        print("---- demo output (fake Gemini), from step [5/6] ----\n" +
              text[text.find("[5/6]"):].rstrip() + "\n----", flush=True)
        r2 = check_run("gemini", dg, out, rc, text, secs, "model gemini/gemma-4-31b-it")
        check_no_leftovers("gemini", out, known)
        reqs = [r for r in fake_call(port, "GET", "/_fake/requests") if r["method"] == "POST"]
        check("gemini: one batch, one generateContent request with the key",
              len(reqs) == 1 and reqs[0]["path"] == "/v1beta/models/gemma-4-31b-it:generateContent" and
              reqs[0]["headers"].get("x-goog-api-key") == "test-key",
              [(r["path"], r["headers"].get("x-goog-api-key")) for r in reqs])
        if r2:
            check("gemini: the model's words are in the report",
                  all((d.get("explanation") or {}).get("cause", "").startswith("FAKE MODEL") for d in r2["drifts"]))
            check("gemini: same fingerprints as the heuristic run (stable across runs)",
                  sorted(d["fingerprint"] for d in r2["drifts"]) == sorted(d["fingerprint"] for d in report["drifts"]))
        check("gemini: the key does not appear in the demo's output or config",
              "test-key" not in text and "test-key" not in open(os.path.join(out, "run", "driftgate.yaml")).read())

        # 3. Gemma 4 on (fake) Ollama
        port = start_fake("ollama", tmp)
        fake_call(port, "POST", "/_fake/config", {"answer": model_answer(report)})
        out = os.path.join(tmp, "ollama")
        rc, text, known, secs = run_demo(dg, out, OLLAMA_HOST="http://127.0.0.1:%d" % port)
        check_run("ollama", dg, out, rc, text, secs, "model ollama/gemma4:31b")
        check_no_leftovers("ollama", out, known)
        reqs = [r for r in fake_call(port, "GET", "/_fake/requests") if r["method"] == "POST"]
        check("ollama: one /api/chat request", len(reqs) == 1 and reqs[0]["path"] == "/api/chat",
              [r["path"] for r in reqs])

        # 4. Ctrl-C in the middle of the traffic
        out = os.path.join(tmp, "sigint")
        text, known = interrupted_run(dg, out, "sending %d requests" % N_REQ, {"DEMO_DURATION": "20"},
                                      "Ctrl-C", 130)
        check("Ctrl-C: says it was interrupted and stopped everything",
              "interrupted (SIGINT)" in text and "stopping driftgate and nginx" in text, text[-800:])
        check_no_leftovers("Ctrl-C", out, known)

        # 4b. SIGTERM to the demo process alone (a supervisor stopping it)
        out = os.path.join(tmp, "sigterm")
        text, known = interrupted_run(dg, out, "sending %d requests" % N_REQ, {"DEMO_DURATION": "20"},
                                      "SIGTERM", 143, sig=signal.SIGTERM, group=False)
        check("SIGTERM: says it was interrupted", "interrupted (SIGTERM)" in text, text[-800:])
        check_no_leftovers("SIGTERM", out, known)

        # 5. DEMO_KEEP_RUNNING=1: up until Ctrl-C, then a clean exit 0
        out = os.path.join(tmp, "keep")

        def during(o):
            try:
                s = json.load(open(os.path.join(o, "summary.json")))
                with urllib.request.urlopen(s["urls"]["metrics"], timeout=5) as r:
                    body = r.read().decode()
                with urllib.request.urlopen(s["urls"]["proxy"] + "/orders/ord_1003", timeout=5) as r:
                    order = json.loads(r.read())
            except (OSError, ValueError, KeyError) as e:
                check("keep running: metrics and proxy answer after the summary", False, e)
                return
            check("keep running: metrics and proxy answer after the summary",
                  "driftgate_violations_total" in body and order.get("status") == "partially_refunded")
        text, known = interrupted_run(dg, out, "stay up until Ctrl-C", {"DEMO_KEEP_RUNNING": "1", "DEMO_DURATION": "1"},
                                      "keep running", 0, during)
        check_no_leftovers("keep running", out, known)

        # 6. a port that is taken: a clear message
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        taken = s.getsockname()[1]
        out = os.path.join(tmp, "taken")
        rc, text, known, secs = run_demo(dg, out, timeout=30, DEMO_PROXY_PORT=str(taken))
        s.close()
        check("port taken: exit 1 with a message naming the port",
              rc == 1 and ("port %d on 127.0.0.1 (DEMO_PROXY_PORT) is not available" % taken) in text, text[-800:])
        check_no_leftovers("port taken", out, known)

        # 7. nginx missing, driftgate missing: clear messages, nothing started
        out = os.path.join(tmp, "no-nginx")
        rc, text, known, secs = run_demo(dg, out, timeout=30, DEMO_NGINX=os.path.join(tmp, "no", "nginx"))
        check("nginx missing: exit 1, says so and how to install it",
              rc == 1 and "nginx is not installed" in text and "apt-get install nginx" in text, text[-800:])
        check_no_leftovers("nginx missing", out, known)
        out = os.path.join(tmp, "no-driftgate")
        rc, text, known, secs = run_demo(os.path.join(tmp, "no", "driftgate"), out, timeout=30)
        check("driftgate missing: exit 1, says to run make", rc == 1 and "run `make` first" in text, text[-800:])
    finally:
        for p in fakes:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        if failed == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("demo test: outputs kept in %s" % tmp)
    print("demo test: %d passed, %d failed (%.0f s)" % (passed, failed, time.monotonic() - t_all), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
