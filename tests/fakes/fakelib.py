"""tests/fakes/fakelib.py: what the fake LLM servers share (standard library
only): an HTTP/1.1 keep-alive server on 127.0.0.1, the control API, request
recording, the response script, and the transport-level misbehaviours
(stall, reset mid-body, HTML 502, non-JSON 200, raw answers).

Control API (every fake):
  POST /_fake/script    JSON list of steps, replacing the script; each
                        generation call takes the next step, and once the
                        list is used up calls get {"kind": "success"}.
                        {"steps": [...], "append": true} appends instead.
  POST /_fake/config    JSON object merged into the configuration
                        (answer, model, api_key, token, latency, ...).
  POST /_fake/reset     script, recorded requests and configuration back
                        to the start.
  GET  /_fake/requests  every request received (control API excepted), in
                        order: method, path, query, headers (lower-case
                        names), header_list, body (text), json (parsed or
                        null), time (seconds, monotonic).
  DELETE /_fake/requests  forgets them.
  GET  /_fake/state     {"script_left": n, "config": {...}, "served": n}.

Steps common to all backends (backends add their own kinds):
  {"kind": "success", "text": "..."}     the answer (default: config answer)
  {"kind": "stall", "seconds": N, "then": {step}}
                                         sleeps N s (the client times out),
                                         then serves "then" (default success)
  {"kind": "reset"}                      headers + half the success body,
                                         then a TCP reset
  {"kind": "html502"}                    502 with an nginx HTML page
  {"kind": "badjson"}                    200 application/json "{not json"
  {"kind": "raw", "status": N, "body": "...", "content_type": "...",
   "headers": {"Name": "value"}}         exactly that
Any step may carry "headers": {...} added to the answer (e.g. a
Retry-After on a 429) and "delay": seconds before answering.

Usage: <fake>.py [--port N] (0 = pick a free port; the first stdout line
is "PORT <n>"), [--max-lifetime S] (default 600), [--verbose]. A fake
exits when its parent process goes away, so a crashed test leaves nothing
behind."""
import argparse
import copy
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HTML_502 = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            b"</body>\r\n</html>\r\n")


def estimate_tokens(text):
    """A deterministic stand-in for a tokenizer: about 4 characters a token."""
    return max(1, (len(text) + 3) // 4) if text else 0


class State:
    def __init__(self, defaults):
        self.lock = threading.Lock()
        self.defaults = copy.deepcopy(defaults)
        self.config = copy.deepcopy(defaults)
        self.script = []
        self.requests = []
        self.served = 0

    def next_step(self):
        with self.lock:
            self.served += 1
            if self.script:
                return self.script.pop(0)
            return {"kind": "success"}

    def cfg(self, key, default=None):
        with self.lock:
            return self.config.get(key, default)


class Backend:
    """Subclasses implement handle(h, method, path, query, raw) and return
    False when the path is not theirs (404)."""
    name = "fake"
    defaults = {}

    def __init__(self):
        self.state = State(self.defaults)

    def handle(self, h, method, path, query, raw):
        return False

    def not_found(self, h, method, path):
        h.send_bytes(404, b"404 page not found", "text/plain; charset=utf-8")

    # A generation call: the common kinds, then the backend's own.
    def serve_step(self, h, step, answer_fn, error_fn):
        """answer_fn(step) -> (status, obj, extra_headers) or None for an
        unknown kind; error_fn(kind, step) -> same, for error kinds."""
        delay = step.get("delay", self.state.cfg("latency", 0))
        if delay:
            time.sleep(float(delay))
        kind = str(step.get("kind", "success"))
        extra = list((step.get("headers") or {}).items())
        if kind in ("stall", "timeout"):
            time.sleep(float(step.get("seconds", 5)))
            step = step.get("then") or {"kind": "success"}
            kind = str(step.get("kind", "success"))
        if kind == "html502":
            return h.send_bytes(502, HTML_502, "text/html", extra)
        if kind == "badjson":
            return h.send_bytes(200, b"{not json", "application/json", extra)
        if kind == "raw":
            body = step.get("body", "")
            if not isinstance(body, str):
                body = json.dumps(body)
            return h.send_bytes(int(step.get("status", 200)), body.encode(),
                                step.get("content_type", "application/json"), extra)
        if kind == "reset":
            res = answer_fn(dict(step, kind=step.get("of", "success")))
            status, obj, hdrs = res
            return h.reset_mid_body(status, json.dumps(obj).encode(), "application/json")
        res = answer_fn(step)
        if res is None:
            res = error_fn(kind, step)
        if res is None:
            return h.send_json(500, {"fake_error": "unknown step kind %r" % kind})
        status, obj, hdrs = res
        return h.send_json(status, obj, list(hdrs or []) + extra)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm"
    sys_version = ""
    backend = None
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("%s %s\n" % (self.backend.name, fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def dispatch(self, method):
        self._reset = False
        u = urlsplit(self.path)
        raw = self.read_body()
        st = self.backend.state
        if u.path.startswith("/_fake/"):
            return self.control(method, u.path, raw)
        text = raw.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        rec = {"method": method, "path": u.path, "query": u.query,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "header_list": [[k, v] for k, v in self.headers.items()],
               "body": text, "json": parsed, "time": time.monotonic()}
        with st.lock:
            st.requests.append(rec)
        try:
            if not self.backend.handle(self, method, u.path, u.query, raw):
                self.backend.not_found(self, method, u.path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def control(self, method, path, raw):
        st = self.backend.state
        try:
            body = json.loads(raw.decode() or "null")
        except ValueError:
            return self.send_json(400, {"fake_error": "control body is not JSON"})
        if path == "/_fake/script" and method == "POST":
            steps = body.get("steps", []) if isinstance(body, dict) else body
            if not isinstance(steps, list):
                return self.send_json(400, {"fake_error": "script must be a list"})
            with st.lock:
                if isinstance(body, dict) and body.get("append"):
                    st.script.extend(steps)
                else:
                    st.script = list(steps)
            return self.send_json(200, {"script_left": len(st.script)})
        if path == "/_fake/config" and method == "POST":
            if not isinstance(body, dict):
                return self.send_json(400, {"fake_error": "config must be an object"})
            with st.lock:
                st.config.update(body)
            return self.send_json(200, st.config)
        if path == "/_fake/reset" and method == "POST":
            with st.lock:
                st.config = copy.deepcopy(st.defaults)
                st.script = []
                st.requests = []
                st.served = 0
            return self.send_json(200, {})
        if path == "/_fake/requests" and method == "GET":
            with st.lock:
                return self.send_json(200, list(st.requests))
        if path == "/_fake/requests" and method == "DELETE":
            with st.lock:
                st.requests = []
            return self.send_json(200, {})
        if path == "/_fake/state" and method == "GET":
            with st.lock:
                return self.send_json(200, {"script_left": len(st.script), "config": st.config,
                                            "served": st.served})
        return self.send_json(404, {"fake_error": "no such control path"})

    # ---- answers ----

    def send_bytes(self, status, body, ctype, headers=()):
        try:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for k, v in headers:
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        return True

    def send_json(self, status, obj, headers=()):
        return self.send_bytes(status, json.dumps(obj).encode(), "application/json; charset=utf-8",
                               headers)

    def start_chunked(self, status, ctype, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, str(v))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_chunked(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def reset_mid_body(self, status, body, ctype):
        """Promises the whole body, sends half, then resets the connection."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        # SO_LINGER 0 + close = RST; detach so the server does not touch
        # (or later close) a file descriptor number another thread reuses
        self._reset = True
        self.close_connection = True
        fd = self.connection.detach()
        s = socket.socket(fileno=fd)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        return True

    def finish(self):
        if getattr(self, "_reset", False):
            return
        try:
            super().finish()
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if Handler.verbose:
            super().handle_error(request, client_address)


def bearer(h):
    a = h.headers.get("Authorization", "")
    return a[7:] if a.startswith("Bearer ") else None


def query_param(query, name):
    v = parse_qs(query).get(name)
    return v[0] if v else None


def watchdog(max_lifetime):
    parent = os.getppid()
    start = time.monotonic()
    while True:
        time.sleep(0.25)
        if os.getppid() != parent or time.monotonic() - start > max_lifetime:
            os._exit(0)


def main(backend):
    ap = argparse.ArgumentParser(description="fake %s server" % backend.name)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--max-lifetime", type=float, default=600)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--config", default=None, help="JSON object merged into the configuration")
    a = ap.parse_args()
    if a.config:
        backend.state.config.update(json.loads(a.config))
        backend.state.defaults.update(json.loads(a.config))
    Handler.backend = backend
    Handler.verbose = a.verbose
    srv = Server(("127.0.0.1", a.port), Handler)
    threading.Thread(target=watchdog, args=(a.max_lifetime,), daemon=True).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
