#!/usr/bin/env python3
"""tests/fakes/vertex.py: a fake Vertex AI server, after
../shared/docs/llm-backends.md sections 3 and 6.6. Standard library only.

Routes:
  POST /{v1,v1beta1}/projects/{p}/locations/{l}/publishers/google/models/{m}:
       generateContent | streamGenerateContent | countTokens
       (the Gemini fake's bodies, steps and checks; every contents[] entry
       must carry a role, as Vertex is stricter about it)
  POST /{v1,v1beta1}/projects/{p}/locations/{l}/endpoints/openapi/chat/completions
       the MaaS OpenAI-compatible surface (the vLLM fake's bodies and
       steps); its error envelope is config "maas_error_shape": "google"
       {"error":{code,message,status}}, "openai" or "google_list" (the
       Google one wrapped in a list)

Auth: "Authorization: Bearer <config token>" ("test-token"). Missing or
wrong: 401 UNAUTHENTICATED; a token listed in config "expired_tokens": 401
UNAUTHENTICATED with ErrorInfo reason ACCESS_TOKEN_EXPIRED. With config
"project" set, another project is 403 PERMISSION_DENIED.

Step kinds: the Gemini fake's, plus
  expired     401 UNAUTHENTICATED (ACCESS_TOKEN_EXPIRED) whatever the token"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakelib  # noqa: E402
import gemini  # noqa: E402
import openai  # noqa: E402

UNAUTH_MISSING = ("Request is missing required authentication credential. Expected OAuth 2 "
                  "access token, login cookie or other valid authentication credential. See "
                  "https://developers.google.com/identity/sign-in/web/devconsole-project.")
UNAUTH_INVALID = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                  "token, login cookie or other valid authentication credential. See "
                  "https://developers.google.com/identity/sign-in/web/devconsole-project.")


def expired_error():
    return gemini.google_error(401, UNAUTH_INVALID, details=[
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_EXPIRED",
         "domain": "googleapis.com",
         "metadata": {"service": "aiplatform.googleapis.com",
                      "method": "google.cloud.aiplatform.v1.PredictionService.GenerateContent"}}])


class Maas(openai.OpenAI):
    """The OpenAI-compatible MaaS endpoint, sharing the Vertex fake's state."""
    def __init__(self, state):
        self.state = state

    def err(self, code, message, etype=None):
        shape = self.state.cfg("maas_error_shape", "google")
        if shape == "openai":
            return {"error": {"message": message, "type": etype or "invalid_request_error",
                              "param": None, "code": code}}
        e = gemini.google_error(code, message)
        return [e] if shape == "google_list" else e

    def unauthorized(self, h):
        h.send_json(401, self.err(401, UNAUTH_MISSING))

    def served_model(self):
        return self.state.cfg("maas_model")


class Vertex(gemini.Google):
    name = "vertex"
    strict_roles = True
    defaults = dict(gemini.Google.defaults, api_key=None, token="test-token", expired_tokens=[],
                    project=None, maas_error_shape="google",
                    maas_model="google/gemma-4-26b-a4b-it-maas",
                    max_model_len=256000, error_shape="current", tool_parser=True)
    ROUTE = re.compile(r"^/(v1|v1beta1)/projects/([^/]+)/locations/([^/]+)/publishers/google/"
                       r"models/([^/:]+):(generateContent|streamGenerateContent|countTokens)$")
    MAAS = re.compile(r"^/(v1|v1beta1)/projects/([^/]+)/locations/([^/]+)/endpoints/openapi"
                      r"(/chat/completions)$")

    def __init__(self):
        super().__init__()
        self.maas = Maas(self.state)

    def auth(self, h, project):
        tok = fakelib.bearer(h)
        if tok is None:
            h.send_json(401, gemini.google_error(401, UNAUTH_MISSING))
            return False
        if tok in (self.state.cfg("expired_tokens") or []):
            h.send_json(401, expired_error())
            return False
        if tok != self.state.cfg("token"):
            h.send_json(401, gemini.google_error(401, UNAUTH_INVALID))
            return False
        want = self.state.cfg("project")
        if want is not None and project != want:
            h.send_json(403, gemini.google_error(403, "Permission denied on resource project %s."
                                                 % project))
            return False
        return True

    def error(self, kind, step, model):
        if kind == "expired":
            return 401, expired_error(), []
        return super().error(kind, step, model)

    def handle(self, h, method, path, query, raw):
        m = self.ROUTE.match(path)
        if m and method == "POST":
            if not self.auth(h, m.group(2)):
                return True
            model = m.group(4)
            return self.generate(h, model, m.group(5), query, raw,
                                 "Publisher Model `projects/%s/locations/%s/publishers/google/"
                                 "models/%s` not found." % (m.group(2), m.group(3), model))
        m = self.MAAS.match(path)
        if m and method == "POST":
            if not self.auth(h, m.group(2)):
                return True
            self.maas.chat(h, raw)
            return True
        return False


if __name__ == "__main__":
    fakelib.main(Vertex())
