#!/usr/bin/env python3
"""tests/fakes/openai.py: a fake vLLM OpenAI-compatible server, after
../shared/docs/llm-backends.md sections 5 and 6.6. Standard library only.

Routes:
  GET  /health                 200, empty body, never behind the key
  GET  /v1/models              {"object":"list","data":[{id,...,max_model_len}]}
  POST /v1/chat/completions    one chat.completion, or with "stream": true
                               SSE chat.completion.chunk lines and
                               "data: [DONE]" (a usage chunk when
                               stream_options.include_usage)

Auth: with config "api_key" set (vllm --api-key), /v1/* without
"Authorization: Bearer <key>" is 401 {"error":"Unauthorized"}.
Errors come in the shape config "error_shape" picks: "current"
{"error":{"message","type","param","code":<int>}} or "legacy"
{"object":"error","message","type","param","code"}.
Unknown request fields are ignored, as vLLM does; a model other than
config "model" is 404; no messages, or response_format json_schema
without json_schema.name, is 400; tool_choice "auto" without
config "tool_parser" is 400; an estimated prompt (4 chars a token) plus
max_tokens over config "max_model_len" is the context-overflow 400.

Step kinds (plus fakelib's):
  success        "text", "reasoning" (reasoning_content, never the
                 answer), "reasoning_field" (its name, default
                 reasoning_content), "prompt_tokens"/"output_tokens",
                 "usage": null (no usage object), "model", "finish"
  truncated      finish_reason length, half the answer
  tool_calls     finish_reason tool_calls, arguments as a JSON string
  429 400 401 403 404 500 502 503 504   errors in the configured shape
  error          {"status": N, "message": "...", "type": "..."}
  overflow       the context-length 400
  bad_key        401 Unauthorized
  stream_error   (streaming only) an error object after some chunks"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakelib  # noqa: E402

TYPES = {400: "BadRequestError", 401: "Unauthorized", 403: "Forbidden", 404: "NotFoundError",
         429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
         503: "ServiceUnavailable", 504: "GatewayTimeout"}
MESSAGES = {400: "Bad request", 403: "Forbidden", 404: "Not found",
            429: "Too many requests, please retry later.", 500: "Internal server error",
            502: "Bad gateway", 503: "The server is busy, please retry later.",
            504: "Gateway timeout"}


class OpenAI(fakelib.Backend):
    name = "openai"
    defaults = {"answer": '{"ok":true}', "model": "google/gemma-4-31B-it", "api_key": None,
                "error_shape": "current", "max_model_len": 262144, "prompt_tokens": 10,
                "output_tokens": 5, "latency": 0, "tool_parser": False}
    prefix = "/v1"

    def err(self, code, message, etype=None):
        etype = etype or TYPES.get(code, "Error")
        if self.state.cfg("error_shape") == "legacy":
            return {"object": "error", "message": message, "type": etype, "param": None,
                    "code": code}
        return {"error": {"message": message, "type": etype, "param": None, "code": code}}

    def unauthorized(self, h):
        h.send_json(401, {"error": "Unauthorized"})

    def served_model(self):
        return self.state.cfg("model")

    def auth(self, h):
        want = self.state.cfg("api_key")
        if want is None or fakelib.bearer(h) == want:
            return True
        self.unauthorized(h)
        return False

    def handle(self, h, method, path, query, raw):
        if path == "/health" and method in ("GET", "HEAD"):
            return h.send_bytes(200, b"", None)
        if path == self.prefix + "/models" and method == "GET":
            if self.auth(h):
                m = self.served_model()
                h.send_json(200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": int(time.time()),
                     "owned_by": "vllm", "root": m, "parent": None,
                     "max_model_len": self.state.cfg("max_model_len"), "permission": []}]})
            return True
        if path == self.prefix + "/chat/completions" and method == "POST":
            if self.auth(h):
                self.chat(h, raw)
            return True
        return False

    def check(self, body):
        """None, or (status, error body)."""
        if not isinstance(body, dict):
            return 400, self.err(400, "JSON decode error")
        if body.get("model") != self.served_model():
            return 404, self.err(404, "The model `%s` does not exist." % body.get("model"),
                                 "NotFoundError")
        msgs = body.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return 400, self.err(400, "messages: Field required")
        rf = body.get("response_format")
        if isinstance(rf, dict) and rf.get("type") == "json_schema":
            js = rf.get("json_schema")
            if not isinstance(js, dict) or "name" not in js:
                return 400, self.err(400, "response_format.json_schema.name: Field required")
        if body.get("tool_choice") == "auto" and not self.state.cfg("tool_parser"):
            return 400, self.err(400, '"auto" tool choice requires --enable-auto-tool-choice '
                                      'and --tool-call-parser to be set')
        prompt = sum(fakelib.estimate_tokens(m.get("content") or "") for m in msgs
                     if isinstance(m, dict) and isinstance(m.get("content"), str))
        mx = body.get("max_tokens") or body.get("max_completion_tokens") or 0
        if prompt + mx > self.state.cfg("max_model_len"):
            return 400, self.overflow(prompt, mx)
        return None

    def overflow(self, prompt, mx):
        mml = self.state.cfg("max_model_len")
        return self.err(400, "This model's maximum context length is %d tokens. However, you "
                             "requested %d tokens (%d in the messages, %d in the completion). "
                             "Please reduce the length of the messages or completion."
                        % (mml, prompt + mx, prompt, mx))

    def chat(self, h, raw):
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = None
        bad = self.check(body)
        if bad:
            return h.send_json(bad[0], bad[1])
        step = self.state.next_step()
        if body.get("stream"):
            return self.stream(h, step, body)
        return self.serve_step(h, step, lambda s: self.answer(s, body), self.error)

    def usage(self, step):
        if "usage" in step:
            return step["usage"]
        p = step.get("prompt_tokens", self.state.cfg("prompt_tokens"))
        o = step.get("output_tokens", self.state.cfg("output_tokens"))
        return {"prompt_tokens": p, "completion_tokens": o, "total_tokens": p + o,
                "prompt_tokens_details": None}

    def answer(self, step, body):
        kind = step.get("kind", "success")
        text = step.get("text", self.state.cfg("answer"))
        msg = {"role": "assistant", "content": text, "tool_calls": []}
        if kind == "success":
            finish = step.get("finish", "stop")
        elif kind == "truncated":
            msg["content"] = text[: len(text) // 2]
            finish = "length"
        elif kind == "tool_calls":
            msg["content"] = None
            msg["tool_calls"] = [{"id": "chatcmpl-tool-1", "type": "function", "function": {
                "name": step.get("name", "explain"), "arguments": json.dumps({"x": 1})}}]
            finish = "tool_calls"
        else:
            return None
        if step.get("reasoning") is not None:
            msg[step.get("reasoning_field", "reasoning_content")] = step["reasoning"]
        out = {"id": "chatcmpl-fake-%d" % self.state.served, "object": "chat.completion",
               "created": int(time.time()), "model": step.get("model", body.get("model")),
               "choices": [{"index": 0, "message": msg, "finish_reason": finish,
                            "logprobs": None, "stop_reason": None}]}
        u = self.usage(step)
        if u is not None:
            out["usage"] = u
        return 200, out, []

    def error(self, kind, step):
        hdrs = []
        if step.get("retry_after") is not None:
            hdrs.append(("Retry-After", step["retry_after"]))
        if kind == "overflow":
            return 400, self.overflow(300000, 8192), hdrs
        if kind == "bad_key":
            return 401, {"error": "Unauthorized"}, hdrs
        if kind == "error":
            code = int(step.get("status", 400))
            return code, self.err(code, step.get("message", MESSAGES.get(code, "error")),
                                  step.get("type")), hdrs
        if kind.isdigit():
            code = int(kind)
            if code == 401:
                return 401, {"error": "Unauthorized"}, hdrs
            return code, self.err(code, step.get("message", MESSAGES.get(code, "error"))), hdrs
        return None

    def stream(self, h, step, body):
        kind = step.get("kind", "success")
        if kind not in ("success", "truncated", "stream_error"):
            return self.serve_step(h, step, lambda s: self.answer(s, body), self.error)
        _, full, _ = self.answer(dict(step, kind="success" if kind == "stream_error" else kind),
                                 body)
        ch = full["choices"][0]
        text = ch["message"]["content"] or ""
        pieces = [text[i:i + 8] for i in range(0, len(text), 8)]
        base = {"id": full["id"], "object": "chat.completion.chunk", "created": full["created"],
                "model": full["model"]}
        events = [dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                                       "finish_reason": None}])]
        for p in pieces:
            events.append(dict(base, choices=[{"index": 0, "delta": {"content": p},
                                               "finish_reason": None}]))
        if kind == "stream_error":
            events = events[: max(2, len(events) // 2)] + [self.err(500, MESSAGES[500])]
        else:
            events.append(dict(base, choices=[{"index": 0, "delta": {},
                                               "finish_reason": ch["finish_reason"]}]))
            if (body.get("stream_options") or {}).get("include_usage") and "usage" in full:
                events.append(dict(base, choices=[], usage=full["usage"]))
        h.start_chunked(200, "text/event-stream; charset=utf-8")
        for e in events:
            h.chunk(b"data: " + json.dumps(e).encode() + b"\n\n")
        h.chunk(b"data: [DONE]\n\n")
        h.end_chunked()
        return True


if __name__ == "__main__":
    fakelib.main(OpenAI())
