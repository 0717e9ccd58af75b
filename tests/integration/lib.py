"""Helpers for the integration suite: process supervision, free ports, a raw
HTTP/1.1 client that sees exactly the bytes on the wire, Prometheus text
parsing and result reporting. Standard library only."""
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

# ---- results ---------------------------------------------------------------


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def ok(self, name):
        self.passed += 1
        print("ok - %s" % name, flush=True)

    def fail(self, name, details):
        self.failed += 1
        details = " ".join(str(details).split()) if "\n" not in str(details) else str(details).replace("\n", "\n    ")
        self.failures.append(name)
        print("FAIL - %s: %s" % (name, details), flush=True)

    def skip(self, name, reason):
        self.skipped += 1
        print("skip - %s: %s" % (name, reason), flush=True)

    def check(self, name, cond, details=""):
        if cond:
            self.ok(name)
        else:
            self.fail(name, details)
        return bool(cond)

    def eq(self, name, got, want, what=""):
        return self.check(name, got == want, "%sgot %r, expected %r" % (what + ": " if what else "", got, want))

    def summary(self):
        s = "%d passed, %d failed" % (self.passed, self.failed)
        if self.skipped:
            s += ", %d skipped" % self.skipped
        return s


# ---- processes ---------------------------------------------------------------


class Procs:
    """Every process the suite starts, in its own session so a signal to the
    suite does not race with our own shutdown; live pids are mirrored in
    TMP/pids so run.sh can kill leftovers if the suite itself dies."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.live = {}  # name -> Popen
        self.pidfile = os.path.join(tmp, "pids")
        self._write()

    def _write(self):
        with open(self.pidfile + ".new", "w") as f:
            for p in self.live.values():
                f.write("%d\n" % p.pid)
        os.replace(self.pidfile + ".new", self.pidfile)

    def start(self, name, argv, env=None, cwd=None):
        assert name not in self.live, name
        out = open(os.path.join(self.tmp, name + ".stdout"), "wb")
        err = open(os.path.join(self.tmp, name + ".stderr"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd,
                             start_new_session=True)
        out.close()
        err.close()
        p.dg_name = name
        self.live[name] = p
        self._write()
        return p

    def stop(self, name, sig=signal.SIGTERM, timeout=20.0):
        """Sends sig, waits up to timeout, then SIGKILLs the process group.
        Returns (rc, seconds, killed)."""
        p = self.live.get(name)
        if p is None:
            return None, 0.0, False
        t0 = time.monotonic()
        killed = False
        if p.poll() is None:
            try:
                p.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                killed = True
                self._killpg(p)
                p.wait(10)
        # children of the process (nginx workers...) share its process group
        self._killpg(p)
        del self.live[name]
        self._write()
        return p.returncode, time.monotonic() - t0, killed

    @staticmethod
    def _killpg(p):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def alive(self, name):
        p = self.live.get(name)
        return p is not None and p.poll() is None

    def stop_all(self):
        for name in list(self.live):
            self.stop(name, timeout=5)


def free_port(_used=set()):
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _used:
            _used.add(port)
            return port
    raise RuntimeError("no free port")


def wait_until(fn, timeout, interval=0.1):
    """Calls fn until it returns a truthy value or timeout passes; returns
    the last value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
        except Exception:  # noqa: BLE001 - polling: any failure means "not yet"
            v = None
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def http_get(url, timeout=5.0, headers=None):
    """(status, headers dict lower-case, body) via urllib; HTTP errors too."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


# ---- raw HTTP/1.1 client ---------------------------------------------------------


class Incomplete(Exception):
    pass


class Resp:
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []
        self.head_raw = b""
        self.body = b""       # payload (chunked coding removed)
        self.raw_body = b""   # as on the wire
        self.chunked = False
        self.complete = True
        self.interim = []     # 1xx responses before this one

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def has(self, name):
        return self.header(name) is not None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%s %d %s, %d body bytes%s>" % (self.version, self.status, self.reason, len(self.body),
                                              "" if self.complete else ", INCOMPLETE")


class Conn:
    def __init__(self, port, host="127.0.0.1", timeout=10.0, tls=None, server_hostname=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=server_hostname or host)
        self.buf = b""
        self.eof = False
        self.port = port

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        if self.eof:
            return False
        d = self.sock.recv(262144)
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def _take(self, n):
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise Incomplete("connection closed before a response head (%d bytes: %r)"
                                 % (len(self.buf), self.buf[:200]))
            if len(self.buf) > 4 << 20:
                raise Incomplete("response head over 4 MiB")
        i = self.buf.index(b"\r\n\r\n")
        return self._take(i + 4)

    def read_response(self, method="GET"):
        r = Resp()
        while True:
            head = self.read_head()
            lines = head[:-4].decode("latin-1").split("\r\n")
            m = re.match(r"^(HTTP/1\.[01]) (\d{3})(?: (.*))?$", lines[0])
            if not m:
                raise Incomplete("bad status line %r" % lines[0])
            hs = []
            for ln in lines[1:]:
                n, _, v = ln.partition(":")
                hs.append((n, v.strip()))
            if 100 <= int(m.group(2)) < 200 and int(m.group(2)) != 101:
                i = Resp()
                i.version, i.status, i.reason, i.headers, i.head_raw = m.group(1), int(m.group(2)), m.group(3) or "", hs, head
                r.interim.append(i)
                continue
            r.version, r.status, r.reason, r.headers, r.head_raw = m.group(1), int(m.group(2)), m.group(3) or "", hs, head
            break
        te = (r.header("Transfer-Encoding") or "").lower()
        cl = r.header("Content-Length")
        if method == "HEAD" or r.status in (204, 304):
            return r
        if "chunked" in te:
            r.chunked = True
            raw = b""
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    if not self._fill():
                        r.raw_body, r.body, r.complete = raw + self.buf, body, False
                        self.buf = b""
                        return r
                i = self.buf.index(b"\r\n")
                line = self._take(i + 2)
                raw += line
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    r.raw_body, r.body, r.complete = raw + self.buf, body, False
                    return r
                if size == 0:
                    # trailers until the empty line
                    while True:
                        while b"\r\n" not in self.buf:
                            if not self._fill():
                                r.raw_body, r.body, r.complete = raw + self.buf, body, False
                                return r
                        i = self.buf.index(b"\r\n")
                        t = self._take(i + 2)
                        raw += t
                        if t == b"\r\n":
                            break
                    r.raw_body, r.body = raw, body
                    return r
                while len(self.buf) < size + 2:
                    if not self._fill():
                        body += self.buf[:size]
                        r.raw_body, r.body, r.complete = raw + self.buf, body, False
                        self.buf = b""
                        return r
                chunk = self._take(size + 2)
                raw += chunk
                body += chunk[:size]
        elif cl is not None:
            n = int(cl)
            while len(self.buf) < n:
                if not self._fill():
                    r.body = r.raw_body = self._take(len(self.buf))
                    r.complete = False
                    return r
            r.body = r.raw_body = self._take(n)
            return r
        else:
            while self._fill():
                pass
            r.body = r.raw_body = self._take(len(self.buf))
            return r

    def request(self, method, path, headers=(), body=None, host=None, version="HTTP/1.1"):
        self.send(build_request(method, path, headers, body, host or "127.0.0.1:%d" % self.port, version))
        return self.read_response(method)

    def closed_by_peer(self, timeout):
        """True when the peer closes (EOF or reset) within timeout seconds;
        data received meanwhile is kept in buf."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self._fill():
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def build_request(method, path, headers=(), body=None, host="127.0.0.1", version="HTTP/1.1"):
    hs = list(headers)
    names = {n.lower() for n, _ in hs}
    if host is not False and "host" not in names:
        hs.insert(0, ("Host", host))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        hs.append(("Content-Length", str(len(body))))
    req = "%s %s %s\r\n" % (method, path, version)
    req += "".join("%s: %s\r\n" % (n, v) for n, v in hs) + "\r\n"
    return req.encode("latin-1") + (body or b"")


def request(port, method, path, headers=(), body=None, timeout=10.0, tls=None, server_hostname=None,
            host=None, version="HTTP/1.1"):
    c = Conn(port, timeout=timeout, tls=tls, server_hostname=server_hostname)
    try:
        return c.request(method, path, headers, body, host=host, version=version)
    finally:
        c.close()


# ---- Prometheus text ---------------------------------------------------------------

_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse_metrics(text):
    """[(name, {labels}, value)] from Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$", line)
        if not m:
            continue
        labels = {}
        if m.group(3):
            for lm in _LABEL.finditer(m.group(3)):
                labels[lm.group(1)] = lm.group(2).encode().decode("unicode_escape")
        try:
            v = float(m.group(4))
        except ValueError:
            continue
        out.append((m.group(1), labels, v))
    return out


def msum(samples, name, **labels):
    """Sum of every series of `name` whose labels include `labels`."""
    t = 0.0
    for n, ls, v in samples:
        if n == name and all(ls.get(k) == str(val) for k, val in labels.items()):
            t += v
    return t


def mseries(samples, name):
    return [(ls, v) for n, ls, v in samples if n == name]


def tls_context(cafile=None):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def tail(path, n=15):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError:
        return "(no %s)" % path


def log(msg):
    print("# " + msg, file=sys.stdout, flush=True)
