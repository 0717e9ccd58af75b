#!/usr/bin/env python3
"""A misbehaving HTTP/1.1 upstream for what nginx cannot do, standard library
only. Serves the routes of routes.py; the query parameter `fake` picks the
behaviour:

  (none)      the fixture body with Content-Length (keep-alive)
  chunked     the fixture body chunked in random-sized chunks (seeded)
  slow        waits `delay` seconds (default 2) before answering normally
  slowbody    sends the head, then the body in 4 parts over `delay` seconds
  hang        reads the request and never answers (until the peer closes, max 300 s)
  reset       head with Content-Length, half the body, then a TCP reset
  truncated   head with Content-Length, half the body, then a clean close
  badchunk    chunked: one good chunk, then a bad chunk-size line, then close
  garbage     bytes that are not HTTP, then close
  bigheaders  a 200 head of ~70 KB of header fields
  early       "103 Early Hints" then the normal 200
  wrongct     the body with Content-Type: text/plain
  notjson     Content-Type: application/json with an HTML body
  gzipbomb    Content-Encoding: gzip of a ~50 MB JSON array of zeros (ratio ~1000)
  close       the body with "Connection: close", no Content-Length (close-delimited)
  idleclose   a normal keep-alive answer, then the connection is closed 0.2 s later
              without notice (what an upstream's idle timeout does to a pooled connection)

/echo answers JSON with what it received (method, target, headers, body
length and sha256); with ?hop=1 it also sends hop-by-hop response headers
(Connection: X-Up-Secret, X-Up-Secret, Keep-Alive) the proxy must strip.
Usage: fake_upstream.py --port-file FILE --tmp DIR  (binds 127.0.0.1:0 and
writes the port to FILE once listening)."""
import argparse
import gzip
import hashlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import routes  # noqa: E402

ARGS = None
BOMB = None
BOMB_LOCK = threading.Lock()


def gzip_bomb():
    global BOMB
    with BOMB_LOCK:
        if BOMB is None:
            raw = b"[" + b"0," * (25 * 1024 * 1024) + b"0]"
            BOMB = gzip.compress(raw, 9)
        return BOMB


def read_request(conn, buf):
    """Returns (method, target, headers, body, rest) or None on EOF."""
    while b"\r\n\r\n" not in buf:
        if len(buf) > 1 << 20:
            return None
        d = conn.recv(65536)
        if not d:
            return None
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    while lines and lines[0] == "":
        lines.pop(0)
    method, target, _ = lines[0].split(" ", 2)
    headers = []
    for ln in lines[1:]:
        n, v = ln.split(":", 1)
        headers.append((n.strip(), v.strip()))
    hmap = {n.lower(): v for n, v in headers}
    body = b""
    if "content-length" in hmap:
        need = int(hmap["content-length"])
        while len(rest) < need:
            d = conn.recv(65536)
            if not d:
                return None
            rest += d
        body, rest = rest[:need], rest[need:]
    elif "chunked" in hmap.get("transfer-encoding", "").lower():
        out = b""
        while True:
            while b"\r\n" not in rest:
                d = conn.recv(65536)
                if not d:
                    return None
                rest += d
            line, rest = rest.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            while len(rest) < size + 2:
                d = conn.recv(65536)
                if not d:
                    return None
                rest += d
            out += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                break
        body = out
    return method, target, headers, body, rest


def head_bytes(status, reason, headers):
    h = "HTTP/1.1 %d %s\r\n" % (status, reason)
    for n, v in headers:
        h += "%s: %s\r\n" % (n, v)
    return (h + "\r\n").encode("latin-1")


def chunked(body, rng):
    out = b""
    i = 0
    while i < len(body):
        n = rng.choice([1, 7, 100, 1000, 4096, 16384, 70000])
        part = body[i:i + n]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
        i += n
    return out + b"0\r\n\r\n"


def handle(conn, addr):
    conn.settimeout(300)
    buf = b""
    rng = random.Random(1234)
    try:
        while True:
            req = read_request(conn, buf)
            if req is None:
                return
            method, target, headers, body, buf = req
            u = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(u.query))
            mode = q.get("fake", "")
            if u.path == "/echo":
                payload = json.dumps({"method": method, "target": target,
                                      "headers": [[n, v] for n, v in headers],
                                      "body_length": len(body),
                                      "body_sha256": hashlib.sha256(body).hexdigest()}).encode()
                hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
                if q.get("hop"):
                    hdrs += [("Connection", "X-Up-Secret"), ("X-Up-Secret", "1"),
                             ("Keep-Alive", "timeout=30"), ("X-Up-Kept", "1")]
                conn.sendall(head_bytes(200, "OK", hdrs) + (payload if method != "HEAD" else b""))
                continue
            r = routes.ROUTES.get(u.path)
            if r is None:
                msg = b"not found\n"
                conn.sendall(head_bytes(404, "Not Found", [("Content-Type", "text/plain"),
                                                            ("Content-Length", str(len(msg)))]) + msg)
                continue
            data = routes.body_bytes(r, ARGS.tmp)
            ct = r["ct"]
            status = r["status"]
            reason = {200: "OK", 204: "No Content", 404: "Not Found", 418: "I'm a teapot"}[status]
            base = [("Content-Type", ct)] if ct else []
            if mode == "wrongct":
                base = [("Content-Type", "text/plain")]
            if mode == "notjson":
                data = b"<html><body>SENTINEL_H_0a0a oops</body></html>\n"
            if mode in ("slow", "slowbody"):
                delay = float(q.get("delay", "2"))
            if mode == "slow":
                time.sleep(delay)
            if mode == "hang":
                conn.settimeout(300)
                while conn.recv(65536):
                    pass
                return
            if mode == "garbage":
                conn.sendall(b"SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\x00\x01\x02\xff\r\n\r\n")
                return
            if mode == "bigheaders":
                hdrs = base + [("X-Filler-%03d" % i, "f" * 1000) for i in range(70)]
                hdrs.append(("Content-Length", str(len(data))))
                conn.sendall(head_bytes(status, reason, hdrs) + data)
                continue
            if mode == "early":
                conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")
                time.sleep(0.05)
            if mode in ("chunked", "badchunk"):
                hdrs = base + [("Transfer-Encoding", "chunked")]
                if mode == "chunked":
                    conn.sendall(head_bytes(status, reason, hdrs) + (chunked(data, rng) if method != "HEAD" else b""))
                    continue
                half = data[:len(data) // 2]
                conn.sendall(head_bytes(status, reason, hdrs) + b"%x\r\n" % len(half) + half +
                             b"\r\nzz-not-hex\r\nxxxx\r\n")
                time.sleep(0.2)
                return
            if mode == "gzipbomb":
                z = gzip_bomb()
                hdrs = [("Content-Type", "application/json"), ("Content-Encoding", "gzip"),
                        ("Content-Length", str(len(z)))]
                conn.sendall(head_bytes(status, reason, hdrs) + z)
                continue
            if mode == "close":
                conn.sendall(head_bytes(status, reason, base + [("Connection", "close")]) + data)
                return
            hdrs = base + ([("Content-Length", str(len(data)))] if status not in (204, 304) else [])
            if method == "HEAD":
                conn.sendall(head_bytes(status, reason, hdrs))
                continue
            if mode in ("reset", "truncated"):
                conn.sendall(head_bytes(status, reason, hdrs) + data[:len(data) // 2])
                time.sleep(0.2)
                if mode == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            if mode == "slowbody":
                conn.sendall(head_bytes(status, reason, hdrs))
                step = max(1, len(data) // 4 + 1)
                for i in range(0, len(data), step):
                    time.sleep(delay / 4)
                    conn.sendall(data[i:i + step])
                continue
            conn.sendall(head_bytes(status, reason, hdrs) + data)
            if mode == "idleclose":
                time.sleep(0.2)
                return
    except (OSError, ValueError):
        return
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tmp", required=True)
    ARGS = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(256)
    tmpf = ARGS.port_file + ".tmp"
    with open(tmpf, "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(tmpf, ARGS.port_file)
    while True:
        c, a = s.accept()
        threading.Thread(target=handle, args=(c, a), daemon=True).start()


if __name__ == "__main__":
    main()
