#!/usr/bin/env python3
"""tests/fakes/ollama.py: a fake Ollama server, after
../shared/docs/llm-backends.md sections 4 and 6.6. Standard library only.

Routes:
  GET|HEAD /            "Ollama is running" (text/plain)
  GET|HEAD /api/version {"version": "0.12.6"}
  GET  /api/tags        the models of config "models"
  POST /api/show        model info with the context length
  POST /api/chat        "stream" defaults to TRUE: NDJSON
                        (application/x-ndjson) message.content fragments
                        with done:false, then a done:true line with
                        done_reason and the metrics (ns durations); with
                        "stream": false one JSON object. Metrics use
                        omitempty: a zero count is left out.
  POST /v1/chat/completions  the OpenAI-compatible surface, errors
                        {"error":{"message","type":"invalid_request_error"|
                        "not_found_error"|"api_error","param":null,"code":null}}

No auth unless config "api_key" is set (then Bearer, else 401
{"error":"unauthorized"}). Errors are {"error": "..."}: 400 "missing
request body", a Go-style invalid-JSON message, "model is required",
"invalid format: expected \\"json\\" or a JSON schema"; 404 "model 'x' not
found" for a model not in config "models" ("name" without a tag means
":latest").

Step kinds (plus fakelib's):
  success        "text", "thinking" (message.thinking, never the answer),
                 "prompt_tokens"/"output_tokens" (0 = omitted), "model",
                 "done_reason"
  truncated      done_reason "length", half the answer
  tool_calls     message.tool_calls with arguments as an OBJECT
  busy           503 "server busy, please try again.  maximum pending
                 requests exceeded"
  not_found      404 "model '<name>' not found"
  400 429 500 502 503   {"error": "..."} (or "message")
  error          {"status": N, "message": "..."}
  stream_error   200, some chunks, then an {"error": "..."} line (with
                 stream false: 500 {"error": ...})"""
import json
import os
import sys
import time
from datetime import datetime, timezone

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakelib  # noqa: E402
import openai  # noqa: E402

BUSY = "server busy, please try again.  maximum pending requests exceeded"
MESSAGES = {400: "bad request", 429: "too many requests", 500: "llama runner process has "
            "terminated: exit status 2", 502: "cloud model unreachable", 503: BUSY}


def canon(name):
    return name if ":" in name else name + ":latest"


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OllamaOpenAI(openai.OpenAI):
    """Ollama's /v1 surface: its error types, code null, model from tags."""
    def __init__(self, parent):
        self.state = parent.state
        self.parent = parent

    def served_model(self):
        return self.parent.models()[0]

    def err(self, code, message, etype=None):
        etype = etype or {400: "invalid_request_error", 404: "not_found_error"}.get(code,
                                                                                  "api_error")
        return {"error": {"message": message, "type": etype, "param": None, "code": None}}

    def unauthorized(self, h):
        h.send_json(401, {"error": "unauthorized"})

    def check(self, body):
        if not isinstance(body, dict):
            return 400, self.err(400, "invalid request")
        if canon(str(body.get("model", ""))) not in self.parent.models():
            return 404, self.err(404, "model \"%s\" not found, try pulling it first"
                                 % body.get("model"))
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return 400, self.err(400, "[] is too short - 'messages'")
        return None


class Ollama(fakelib.Backend):
    name = "ollama"
    defaults = {"answer": '{"ok":true}', "models": ["gemma4:31b"], "api_key": None,
                "prompt_tokens": 10, "output_tokens": 5, "latency": 0, "version": "0.12.6",
                "context_length": 262144}

    def __init__(self):
        super().__init__()
        self.v1 = OllamaOpenAI(self)

    def models(self):
        return [canon(m) for m in self.state.cfg("models")]

    def auth(self, h):
        want = self.state.cfg("api_key")
        if want is None or fakelib.bearer(h) == want:
            return True
        h.send_json(401, {"error": "unauthorized"})
        return False

    def handle(self, h, method, path, query, raw):
        if path == "/" and method in ("GET", "HEAD"):
            return h.send_bytes(200, b"Ollama is running", "text/plain; charset=utf-8")
        if path == "/api/version" and method in ("GET", "HEAD"):
            return h.send_json(200, {"version": self.state.cfg("version")})
        if path == "/api/tags" and method == "GET":
            return h.send_json(200, {"models": [
                {"name": m, "model": m, "modified_at": now_rfc3339(), "size": 19000000000,
                 "digest": "%064x" % i,
                 "details": {"parent_model": "", "format": "gguf", "family": "gemma4",
                             "families": ["gemma4"], "parameter_size": "31B",
                             "quantization_level": "Q4_K_M"}}
                for i, m in enumerate(self.models())]})
        if path == "/api/show" and method == "POST":
            try:
                name = json.loads(raw.decode() or "{}").get("model", "")
            except (ValueError, AttributeError):
                return h.send_json(400, {"error": "invalid request"})
            if canon(name) not in self.models():
                return h.send_json(404, {"error": "model '%s' not found" % name})
            return h.send_json(200, {"model_info": {
                "general.architecture": "gemma4",
                "gemma4.context_length": self.state.cfg("context_length")},
                "details": {"family": "gemma4"}, "capabilities": ["completion", "tools"]})
        if path == "/api/chat" and method == "POST":
            if self.auth(h):
                self.chat(h, raw)
            return True
        if path.startswith("/v1/"):
            if not self.auth(h):
                return True
            return self.v1.handle(h, method, path, query, raw)
        return False

    def chat(self, h, raw):
        if not raw:
            return h.send_json(400, {"error": "missing request body"})
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            return h.send_json(400, {"error": "invalid character '%s' looking for beginning of "
                                              "value" % raw[:1].decode("latin-1")})
        if not isinstance(body, dict):
            return h.send_json(400, {"error": "json: cannot unmarshal into Go value of type "
                                              "api.ChatRequest"})
        name = body.get("model")
        if not name:
            return h.send_json(400, {"error": "model is required"})
        if canon(name) not in self.models():
            return h.send_json(404, {"error": "model '%s' not found" % name})
        fmt = body.get("format")
        if fmt not in (None, "", "json") and not isinstance(fmt, dict):
            return h.send_json(400, {"error": "invalid format: expected \"json\" or a JSON "
                                              "schema"})
        step = self.state.next_step()
        stream = body.get("stream", True) is not False
        if stream:
            return self.stream(h, step, body)
        if step.get("kind") == "stream_error":
            return h.send_json(500, {"error": step.get("message", MESSAGES[500])})
        return self.serve_step(h, step, lambda s: self.answer(s, body),
                               lambda k, s: self.error(k, s, body))

    def final(self, step, body, content, done_reason):
        out = {"model": step.get("model", body.get("model")), "created_at": now_rfc3339(),
               "message": {"role": "assistant", "content": content},
               "done": True, "done_reason": done_reason,
               "total_duration": 2254970291, "load_duration": 574751416}
        if step.get("thinking") is not None:
            out["message"]["thinking"] = step["thinking"]
        p = step.get("prompt_tokens", self.state.cfg("prompt_tokens"))
        o = step.get("output_tokens", self.state.cfg("output_tokens"))
        if p:  # omitempty
            out["prompt_eval_count"] = p
            out["prompt_eval_duration"] = 1502000000
        if o:
            out["eval_count"] = o
            out["eval_duration"] = 175000000
        return out

    def answer(self, step, body):
        kind = step.get("kind", "success")
        text = step.get("text", self.state.cfg("answer"))
        if kind == "success":
            return 200, self.final(step, body, text, step.get("done_reason", "stop")), []
        if kind == "truncated":
            return 200, self.final(step, body, text[: len(text) // 2], "length"), []
        if kind == "tool_calls":
            out = self.final(step, body, "", "stop")
            out["message"]["tool_calls"] = [{"function": {"index": 0, "name": step.get(
                "name", "explain"), "arguments": {"x": 1}}}]
            return 200, out, []
        return None

    def error(self, kind, step, body):
        hdrs = []
        if step.get("retry_after") is not None:
            hdrs.append(("Retry-After", step["retry_after"]))
        if kind == "busy":
            return 503, {"error": BUSY}, hdrs
        if kind == "not_found":
            return 404, {"error": "model '%s' not found" % body.get("model")}, hdrs
        if kind == "error" or kind.isdigit():
            code = int(step.get("status", 400)) if kind == "error" else int(kind)
            return code, {"error": step.get("message", MESSAGES.get(code, "error"))}, hdrs
        return None

    def stream(self, h, step, body):
        kind = step.get("kind", "success")
        if kind not in ("success", "truncated", "stream_error"):
            return self.serve_step(h, step, lambda s: self.answer(s, body),
                                   lambda k, s: self.error(k, s, body))
        text = step.get("text", self.state.cfg("answer"))
        if kind == "truncated":
            text = text[: len(text) // 2]
        pieces = [text[i:i + 8] for i in range(0, len(text), 8)]
        model = body.get("model")
        lines = [{"model": model, "created_at": now_rfc3339(),
                  "message": {"role": "assistant", "content": p}, "done": False} for p in pieces]
        if kind == "stream_error":
            lines = lines[: max(1, len(lines) // 2)] + [{"error": step.get("message",
                                                                           MESSAGES[500])}]
        else:
            lines.append(self.final(step, body, "", "length" if kind == "truncated" else "stop"))
        h.start_chunked(200, "application/x-ndjson")
        for ln in lines:
            h.chunk(json.dumps(ln).encode() + b"\n")
            time.sleep(float(step.get("chunk_delay", 0)))
        h.end_chunked()
        return True


if __name__ == "__main__":
    fakelib.main(Ollama())
