#!/usr/bin/env python3
"""tests/fakes/gemini.py: a fake Gemini API (Google AI Studio) server, after
../shared/docs/llm-backends.md sections 2 and 6.6. Standard library only.

Routes:
  POST /v1beta/models/{id}:generateContent
  POST /v1beta/models/{id}:streamGenerateContent   (?alt=sse: SSE with
       "data: {...}\\r\\n\\r\\n" chunks, the last one with finishReason and
       usageMetadata, EOF without [DONE]; without alt=sse: one JSON array)
  POST /v1beta/models/{id}:countTokens             {"totalTokens": n}
  GET  /v1beta/models/{id}, GET /v1beta/models     model metadata

Auth: x-goog-api-key (or ?key=) must equal config "api_key" ("test-key";
null = no check). Missing: 403 PERMISSION_DENIED; wrong: 400
INVALID_ARGUMENT with an ErrorInfo detail reason API_KEY_INVALID.

The request is checked as the proto-JSON front end does: a body that is
not a JSON object, an unknown field (top level or generationConfig), no
contents, responseSchema together with responseJsonSchema, or a
response(Json)Schema without responseMimeType "application/json" are 400
INVALID_ARGUMENT; a model not in config "models" is 404 NOT_FOUND. Config
"json_mode": false / "system_instruction": false make the model refuse
them like Gemma 3 did: 400 "JSON mode is not enabled for models/{id}" /
"Developer instruction is not enabled for models/{id}".

Step kinds (plus fakelib's):
  success     "text", "parts" (list of texts), "thought" (a thought part
              first), "prompt_tokens"/"output_tokens"/"thoughts_tokens"
              (zero = omitted, as proto-JSON does), "usage": null (no
              usageMetadata at all), "model" (modelVersion), "finish"
  truncated   finishReason MAX_TOKENS, half the answer
  safety      finishReason SAFETY, no content
  blocked     no candidates, promptFeedback.blockReason ("reason", SAFETY)
  429         RESOURCE_EXHAUSTED; details QuotaFailure, Help and RetryInfo
              ("retry_delay", default "2s"; null = no RetryInfo), their
              order rotating per request unless "order" lists them;
              "retry_after" adds a Retry-After header
  400 401 403 404 500 503 504   the Google error for that status
  error       {"status": N, "message": "...", "grpc": "STATUS", "details": [...]}
  bad_key     400 API_KEY_INVALID
  not_enabled 400 "JSON mode is not enabled for models/{id}" ("what":
              "Developer instruction" for the other one)
  stream_error  (streaming only) an error object after some chunks"""
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakelib  # noqa: E402

GRPC = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
        404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
        501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
MESSAGES = {
    400: "Request contains an invalid argument.",
    401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
         "cookie or other valid authentication credential.",
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: "You exceeded your current quota, please check your plan and billing details. For more "
         "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. "
         "Please retry in 2.0s.",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}

TOP_FIELDS = {"contents", "systemInstruction", "system_instruction", "generationConfig",
              "generation_config", "tools", "toolConfig", "tool_config", "safetySettings",
              "safety_settings", "cachedContent", "cached_content", "labels", "model"}
GEN_FIELDS = {"temperature", "topP", "top_p", "topK", "top_k", "candidateCount",
              "candidate_count", "maxOutputTokens", "max_output_tokens", "stopSequences",
              "stop_sequences", "seed", "presencePenalty", "presence_penalty",
              "frequencyPenalty", "frequency_penalty", "responseMimeType",
              "response_mime_type", "responseSchema", "response_schema", "responseJsonSchema",
              "response_json_schema", "thinkingConfig", "thinking_config", "responseLogprobs",
              "response_logprobs", "logprobs", "responseModalities", "response_modalities",
              "mediaResolution", "media_resolution", "speechConfig", "speech_config"}


def google_error(code, message, grpc=None, details=None):
    e = {"code": code, "message": message, "status": grpc or GRPC.get(code, "UNKNOWN")}
    if details:
        e["details"] = details
    return {"error": e}


def get(d, *names):
    for n in names:
        if isinstance(d, dict) and n in d:
            return d[n]
    return None


class Google(fakelib.Backend):
    """The generateContent bodies and errors shared by Gemini and Vertex."""
    defaults = {"answer": '{"ok":true}', "model": "gemma-4-31b-it", "models": None,
                "api_key": "test-key", "prompt_tokens": 10, "output_tokens": 5,
                "json_mode": True, "system_instruction": True, "latency": 0,
                "input_token_limit": 262144, "output_token_limit": 8192,
                "echo_secret_in_errors": False}
    strict_roles = False
    n429 = 0

    def models(self):
        return self.state.cfg("models") or [self.state.cfg("model")]

    def check_request(self, model, body):
        """None, or (status, error body) for a request the server refuses."""
        if not isinstance(body, dict):
            return 400, google_error(400, "Invalid JSON payload received. Unexpected token.")
        for k in body:
            if k not in TOP_FIELDS:
                return 400, google_error(400, 'Invalid JSON payload received. Unknown name "%s": '
                                              'Cannot find field.' % k)
        gc = get(body, "generationConfig", "generation_config") or {}
        if not isinstance(gc, dict):
            return 400, google_error(400, "Invalid value at 'generation_config'")
        for k in gc:
            if k not in GEN_FIELDS:
                return 400, google_error(400, 'Invalid JSON payload received. Unknown name "%s" '
                                              'at \'generation_config\': Cannot find field.' % k)
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return 400, google_error(400, "* GenerateContentRequest.contents: contents is not "
                                          "specified\n")
        for c in contents:
            if not isinstance(c, dict) or not isinstance(c.get("parts"), list):
                return 400, google_error(400, "* GenerateContentRequest.contents[0].parts: "
                                              "contents.parts must not be empty.\n")
            if self.strict_roles and c.get("role") not in ("user", "model"):
                return 400, google_error(400, "Please use a valid role: user, model.")
        mime = get(gc, "responseMimeType", "response_mime_type")
        rs = get(gc, "responseSchema", "response_schema")
        rjs = get(gc, "responseJsonSchema", "response_json_schema")
        if rs is not None and rjs is not None:
            return 400, google_error(400, "response_schema and response_json_schema cannot both "
                                          "be set.")
        if (rs is not None or rjs is not None) and mime != "application/json":
            return 400, google_error(400, "* GenerateContentRequest.generation_config.response_"
                                          "mime_type: must be application/json when a response "
                                          "schema is set.\n")
        if model not in self.models():
            return None  # the caller answers 404 in its own words
        if get(body, "systemInstruction", "system_instruction") is not None and \
                not self.state.cfg("system_instruction"):
            return 400, google_error(400, "Developer instruction is not enabled for models/%s"
                                     % model)
        if mime == "application/json" and not self.state.cfg("json_mode"):
            return 400, google_error(400, "JSON mode is not enabled for models/%s" % model)
        return None

    def prompt_text(self, body):
        out = []
        for c in (body.get("contents") or []) + [get(body, "systemInstruction",
                                                     "system_instruction") or {}]:
            for p in (c.get("parts") or []) if isinstance(c, dict) else []:
                if isinstance(p, dict) and isinstance(p.get("text"), str):
                    out.append(p["text"])
        return "\n".join(out)

    def usage(self, step, prompt_default):
        if "usage" in step:
            return step["usage"]  # null (omitted) or verbatim
        p = step.get("prompt_tokens", self.state.cfg("prompt_tokens", prompt_default))
        o = step.get("output_tokens", self.state.cfg("output_tokens"))
        t = step.get("thoughts_tokens", 0)
        u = {}
        # proto-JSON omits zero values
        if p:
            u["promptTokenCount"] = p
        if o:
            u["candidatesTokenCount"] = o
        if t:
            u["thoughtsTokenCount"] = t
        if p or o or t:
            u["totalTokenCount"] = p + o + t
        return u

    def answer(self, step, model, body):
        """(status, obj, headers) for the answer kinds, None otherwise."""
        kind = step.get("kind", "success")
        text = step.get("text", self.state.cfg("answer"))
        mv = step.get("model", model)
        out = {}
        if kind in ("success", "truncated", "safety"):
            parts = []
            if step.get("thought"):
                parts.append({"text": step["thought"], "thought": True})
            if kind == "truncated":
                parts.append({"text": text[: len(text) // 2]})
            elif kind == "success":
                parts += [{"text": t} for t in step.get("parts", [text])]
            cand = {"index": 0}
            if kind != "safety":
                cand["content"] = {"role": "model", "parts": parts}
            cand["finishReason"] = step.get("finish", {"success": "STOP", "truncated":
                                                       "MAX_TOKENS", "safety": "SAFETY"}[kind])
            if kind == "safety":
                cand["safetyRatings"] = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                                          "probability": "HIGH", "blocked": True}]
            out["candidates"] = [cand]
            u = self.usage(step, fakelib.estimate_tokens(self.prompt_text(body)))
            if kind == "safety" and "usage" not in step and u:
                u.pop("candidatesTokenCount", None)
                u["totalTokenCount"] = u.get("promptTokenCount", 0) + \
                    u.get("thoughtsTokenCount", 0)
            if u is not None:
                out["usageMetadata"] = u
        elif kind == "blocked":
            out["promptFeedback"] = {"blockReason": step.get("reason", "SAFETY"),
                                     "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT",
                                                        "probability": "HIGH"}]}
            p = step.get("prompt_tokens", self.state.cfg("prompt_tokens"))
            if p:
                out["usageMetadata"] = {"promptTokenCount": p, "totalTokenCount": p}
        else:
            return None
        out["modelVersion"] = mv
        out["responseId"] = "fake-%d" % self.state.served
        return 200, out, []

    def error(self, kind, step, model):
        if kind == "429":
            delay = step.get("retry_delay", "2s")
            d = {"QuotaFailure": {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                                  "violations": [{"quotaMetric": "generativelanguage.googleapis"
                                                  ".com/generate_content_free_tier_requests",
                                                  "quotaId": "GenerateRequestsPerMinutePerProject"
                                                  "PerModel-FreeTier"}]},
                 "Help": {"@type": "type.googleapis.com/google.rpc.Help",
                          "links": [{"description": "Learn more about Gemini API quotas",
                                     "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]}}
            if delay is not None:
                d["RetryInfo"] = {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                  "retryDelay": delay}
            order = step.get("order")
            if not order:
                names = sorted(d)
                Google.n429 += 1
                k = Google.n429 % len(names)
                order = names[k:] + names[:k]
            hdrs = []
            if step.get("retry_after") is not None:
                hdrs.append(("Retry-After", step["retry_after"]))
            msg = step.get("message", MESSAGES[429])
            return 429, google_error(429, msg, details=[d[n] for n in order if n in d]), hdrs
        if kind == "bad_key":
            return 400, self.bad_key_error(step.get("received", "")), []
        if kind == "not_enabled":
            return 400, google_error(400, "%s is not enabled for models/%s"
                                     % (step.get("what", "JSON mode"), model)), []
        if kind == "error":
            code = int(step.get("status", 400))
            return code, google_error(code, step.get("message", MESSAGES.get(code, "error")),
                                      step.get("grpc"), step.get("details")), []
        if kind.isdigit():
            code = int(kind)
            return code, google_error(code, step.get("message", MESSAGES.get(code, "error"))), []
        return None

    def bad_key_error(self, received):
        msg = "API key not valid. Please pass a valid API key."
        if self.state.cfg("echo_secret_in_errors") and received:
            msg += " (received %s)" % received
        return google_error(400, msg, details=[
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com",
             "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
             "message": "API key not valid. Please pass a valid API key."}])

    def generate(self, h, model, method, query, raw, not_found):
        """generateContent / streamGenerateContent / countTokens body handling."""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = "invalid"
        bad = self.check_request(model, body)
        if bad:
            return h.send_json(bad[0], bad[1])
        if model not in self.models():
            return h.send_json(404, google_error(404, not_found))
        if method == "countTokens":
            return h.send_json(200, {"totalTokens": fakelib.estimate_tokens(
                self.prompt_text(body))})
        step = self.state.next_step()
        if method == "streamGenerateContent":
            return self.stream(h, step, model, body, fakelib.query_param(query, "alt") == "sse")
        return self.serve_step(h, step, lambda s: self.answer(s, model, body),
                               lambda k, s: self.error(k, s, model))

    def stream(self, h, step, model, body, sse):
        kind = step.get("kind", "success")
        if kind not in ("success", "truncated", "stream_error"):
            return self.serve_step(h, step, lambda s: self.answer(s, model, body),
                                   lambda k, s: self.error(k, s, model))
        res = self.answer(dict(step, kind="success" if kind == "stream_error" else kind),
                          model, body)
        full = res[1]
        text = full["candidates"][0]["content"]["parts"][-1]["text"]
        pieces = [text[i:i + 8] for i in range(0, len(text), 8)] or [""]
        chunks = []
        for i, p in enumerate(pieces):
            c = {"candidates": [{"content": {"role": "model", "parts": [{"text": p}]},
                                 "index": 0}], "modelVersion": model}
            if i == len(pieces) - 1:
                c["candidates"][0]["finishReason"] = full["candidates"][0]["finishReason"]
                if "usageMetadata" in full:
                    c["usageMetadata"] = full["usageMetadata"]
            chunks.append(c)
        if kind == "stream_error":
            chunks = chunks[: max(1, len(chunks) // 2)] + [google_error(500, MESSAGES[500])]
        if not sse:
            return h.send_json(200, chunks)
        h.start_chunked(200, "text/event-stream")
        sep = step.get("separator", "\r\n\r\n").encode()
        for c in chunks:
            h.chunk(b"data: " + json.dumps(c).encode() + sep)
            time.sleep(float(step.get("chunk_delay", 0)))
        h.end_chunked()
        return True

    def model_info(self, model):
        return {"name": "models/" + model, "version": "001", "displayName": model,
                "inputTokenLimit": self.state.cfg("input_token_limit"),
                "outputTokenLimit": self.state.cfg("output_token_limit"),
                "supportedGenerationMethods": ["generateContent", "countTokens"]}


class Gemini(Google):
    name = "gemini"
    ROUTE = re.compile(r"^/(v1beta|v1)/models/([^/:]+):(generateContent|streamGenerateContent|"
                       r"countTokens)$")

    def auth(self, h, query):
        want = self.state.cfg("api_key")
        if want is None:
            return True
        got = h.headers.get("x-goog-api-key") or fakelib.query_param(query, "key")
        if not got:
            h.send_json(403, google_error(403, "Method doesn't allow unregistered callers "
                                               "(callers without established identity). Please "
                                               "use API Key or other form of API consumer "
                                               "identity to call this API."))
            return False
        if got != want:
            h.send_json(400, self.bad_key_error(got))
            return False
        return True

    def handle(self, h, method, path, query, raw):
        m = self.ROUTE.match(path)
        if m and method == "POST":
            if not self.auth(h, query):
                return True
            model = m.group(2)
            return self.generate(h, model, m.group(3), query, raw,
                                 "models/%s is not found for API version %s, or is not "
                                 "supported for generateContent. Call ListModels to see the "
                                 "list of available models and their supported methods."
                                 % (model, m.group(1)))
        m = re.match(r"^/(v1beta|v1)/models(?:/([^/:]+))?$", path)
        if m and method == "GET":
            if not self.auth(h, query):
                return True
            if m.group(2) is None:
                return h.send_json(200, {"models": [self.model_info(x) for x in self.models()]})
            if m.group(2) not in self.models():
                return h.send_json(404, google_error(404, "models/%s is not found"
                                                     % m.group(2)))
            return h.send_json(200, self.model_info(m.group(2)))
        return False


if __name__ == "__main__":
    fakelib.main(Gemini())
