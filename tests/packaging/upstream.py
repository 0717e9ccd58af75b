#!/usr/bin/python3
"""A tiny upstream for packaging/config/specs/example.yaml on 127.0.0.1:PORT.

GET /health          -> {"status": "ok"}
GET /items/ok-1      -> a valid item
GET /items/bad-1     -> an item whose third tag breaks the tags pattern
anything else        -> 404 with an Error body
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ITEM = {"id": "ok-1", "name": "lamp", "price": 19.99, "currency": "EUR",
        "tags": ["new", "color:red"], "updated_at": "2026-11-26T10:00:00Z"}
BODIES = {
    "/health": (200, {"status": "ok"}),
    "/items/ok-1": (200, ITEM),
    "/items/bad-1": (200, dict(ITEM, id="bad-1", tags=["new", "color:red", "Bad Tag"])),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status, body = BODIES.get(self.path, (404, {"code": 404, "message": "no such item"}))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
