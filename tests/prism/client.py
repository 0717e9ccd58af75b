#!/usr/bin/env python3
"""False-positive check client: drives Prism (mock, -d) through driftgate.

Standard library only. Subcommands:

  prepare  --spec SPEC --out DIR
      Loads SPEC (JSON; YAML through node + js-yaml from bench/node_modules),
      writes DIR/spec.json (the document as JSON, unchanged) and
      DIR/NAME.json, NAME = DIR's base name, driftgate's copy (so the API is
      labelled NAME in metrics): the same document with `servers` replaced by
      [{"url": "/"}] at the root, path-item and operation level: Prism's mock
      serves the bare paths, ignoring the servers' base paths, while driftgate
      strips them before routing; nothing else changes).

  plan     --spec DIR/spec.json --prism URL --out DIR
      Builds one request per operation it can fill (path/query/header
      parameters from examples, enums, defaults, patterns and types; dummy
      credentials for the declared security schemes), probes each directly
      against Prism and keeps those Prism accepts (no request violation, not
      one of Prism's own problem+json errors). Each kept operation gets a list
      of response statuses to ask for (`Prefer: code=N`): every documented
      status with a JSON media type (a range "4XX" as 400, "default" as an
      undocumented code). Writes DIR/plan.json and DIR/plan-skipped.jsonl.

  drive    --plan DIR/plan.json --target URL --count N --seconds S --out DIR
      Sends the planned requests round-robin to URL (driftgate, or Prism
      itself when the proxy is not there) until N responses or S seconds,
      saving every body as DIR/bodies/NNNNNN and one line per response in
      DIR/responses.jsonl (request, status, media type, Prism's own
      `sl-violations` header).

  cli-validate --driftgate BIN --dgspec DIR/NAME.json --out DIR
      Validates every saved body with `driftgate validate` (same spec copy,
      same method/path/status/content type) and writes DIR/verdicts.jsonl.

  crossref --spec DIR/spec.json --out DIR
      Writes DIR/crosscheck-input.jsonl: for every response, the JSON pointer
      of the schema it must satisfy (status: exact, NXX, default; media type:
      exact, +json, type/*, */*), for crosscheck.js (ajv).

  summary  DIR... [--json FILE] [--markdown FILE]
      Per spec: the proxy's verdicts (DIR/anomalies.jsonl by request id,
      DIR/metrics.txt), the CLI's and ajv's, and whether they agree; the
      distinct violations (spec, operation, status, kind, schema location)
      with counts, the cause explain.py found and an example; the tables of
      docs/prism-false-positives.md.
"""
import argparse
import base64
import collections
import http.client
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

try:
    import re._parser as sre_parse  # Python >= 3.11
    from re import _constants as sre_c
except ImportError:  # pragma: no cover
    import sre_parse
    import sre_constants as sre_c

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NODE_MODULES = os.path.join(REPO, "bench", "node_modules")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
JSONISH = re.compile(r"^application/(.+\+)?json(;.*)?$|^\*/\*$", re.I)


# ----------------------------------------------------------------- spec I/O

def load_any(path):
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".json"):
        return json.loads(raw)
    js = ("const y=require(process.argv[1]);"
          "process.stdout.write(JSON.stringify(y.load(require('fs').readFileSync(process.argv[2],'utf8'))))")
    out = subprocess.run(["node", "-e", js, os.path.join(NODE_MODULES, "js-yaml"), path],
                         check=True, capture_output=True)
    return json.loads(out.stdout)


def ptr_escape(s):
    return s.replace("~", "~0").replace("/", "~1")


class Spec:
    def __init__(self, doc):
        self.doc = doc
        self.version = str(doc.get("openapi") or doc.get("swagger") or "")

    def get(self, pointer):
        node = self.doc
        if pointer in ("", "#"):
            return node
        for part in pointer.lstrip("#").lstrip("/").split("/"):
            part = urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def deref(self, node, ptr=None, depth=0):
        """Returns (node, pointer) following local $refs."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 32:
            ref = node["$ref"]
            if not ref.startswith("#"):
                raise ValueError("external $ref not supported here: " + ref)
            ptr = ref
            node = self.get(ref)
            depth += 1
        return node, ptr


# ------------------------------------------------------- value generation

def gen_from_pattern(pattern):
    """A short string matching an ECMA-ish pattern (via Python's regex
    parser), or None."""
    try:
        tree = sre_parse.parse(pattern)
    except Exception:
        return None

    def emit(items):
        out = []
        for op, av in items:
            if op == sre_c.LITERAL:
                out.append(chr(av))
            elif op == sre_c.NOT_LITERAL:
                out.append("a" if chr(av) != "a" else "b")
            elif op == sre_c.ANY:
                out.append("a")
            elif op == sre_c.IN:
                out.append(emit_in(av))
            elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
                lo, hi, sub = av
                n = lo if lo > 0 else (1 if hi and hi >= 1 else 0)
                out.append(emit(sub) * n)
            elif op == sre_c.SUBPATTERN:
                out.append(emit(av[-1]))
            elif op == getattr(sre_c, "ATOMIC_GROUP", None):
                out.append(emit(av))
            elif op == sre_c.BRANCH:
                out.append(emit(av[1][0]))
            elif op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
                pass
            elif op == sre_c.CATEGORY:
                out.append(cat_char(av))
            else:
                raise ValueError(op)
        return "".join(out)

    def cat_char(cat):
        name = str(cat)
        if "NOT_DIGIT" in name:
            return "a"
        if "DIGIT" in name:
            return "1"
        if "NOT_SPACE" in name or "WORD" in name and "NOT" not in name:
            return "a"
        if "SPACE" in name:
            return " "
        return "a"

    def emit_in(items):
        if items and items[0][0] == sre_c.NEGATE:
            banned = set()
            for op, av in items[1:]:
                if op == sre_c.LITERAL:
                    banned.add(chr(av))
                elif op == sre_c.RANGE:
                    banned.update(chr(c) for c in range(av[0], av[1] + 1))
            for c in "a1Z_":
                if c not in banned:
                    return c
            return "~"
        for op, av in items:
            if op == sre_c.LITERAL:
                return chr(av)
            if op == sre_c.RANGE:
                # prefer a non-zero digit / a letter inside the range
                for c in "1aA":
                    if av[0] <= ord(c) <= av[1]:
                        return c
                return chr(av[0])
            if op == sre_c.CATEGORY:
                return cat_char(av)
        return "a"

    try:
        s = emit(tree)
    except Exception:
        return None
    try:
        if re.search(pattern, s):
            return s
    except re.error:
        return s
    return None


def first_example(param, schema):
    if "example" in param:
        return True, param["example"]
    ex = param.get("examples")
    if isinstance(ex, dict):
        for v in ex.values():
            if isinstance(v, dict) and "value" in v:
                return True, v["value"]
    if isinstance(schema, dict):
        if "example" in schema:
            return True, schema["example"]
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return True, schema["examples"][0]
    return False, None


def gen_value(spec, schema, depth=0):
    """A value valid for a (parameter) schema, or raise ValueError."""
    schema, _ = spec.deref(schema)
    if depth > 8:
        raise ValueError("too deep")
    if schema is True or schema is None or schema == {}:
        return "1"
    if not isinstance(schema, dict):
        raise ValueError("bad schema")
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        for v in schema["enum"]:
            if v is not None:
                return v
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for comb in ("allOf", "oneOf", "anyOf"):
        if isinstance(schema.get(comb), list) and schema[comb]:
            if comb == "allOf":
                merged = {}
                for sub in schema[comb]:
                    sub, _ = spec.deref(sub)
                    if isinstance(sub, dict):
                        merged.update(sub)
                rest = {k: v for k, v in schema.items() if k != "allOf"}
                merged.update(rest)
                return gen_value(spec, merged, depth + 1)
            for sub in schema[comb]:
                sub_d, _ = spec.deref(sub)
                if isinstance(sub_d, dict) and sub_d.get("type") != "null":
                    return gen_value(spec, sub_d, depth + 1)
    if "example" in schema:
        return schema["example"]
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t is None:
        t = "object" if "properties" in schema else "string"
    if t in ("integer", "number"):
        lo = schema.get("minimum")
        hi = schema.get("maximum")
        v = 1
        if isinstance(lo, (int, float)) and not isinstance(lo, bool):
            v = lo + (1 if schema.get("exclusiveMinimum") is True else 0)
        emin = schema.get("exclusiveMinimum")
        if isinstance(emin, (int, float)) and not isinstance(emin, bool):
            v = max(v, emin + 1)
        if isinstance(hi, (int, float)) and not isinstance(hi, bool) and v > hi:
            v = hi
        return int(v) if t == "integer" else v
    if t == "boolean":
        return True
    if t == "array":
        return [gen_value(spec, schema.get("items", {}), depth + 1)]
    if t == "object":
        raise ValueError("object parameter")
    # string
    fmt = schema.get("format")
    s = None
    if "pattern" in schema:
        s = gen_from_pattern(schema["pattern"])
        if s is None:
            raise ValueError("pattern " + schema["pattern"])
    elif fmt == "date-time":
        s = "2024-01-02T03:04:05Z"
    elif fmt == "date":
        s = "2024-01-02"
    elif fmt == "uuid":
        s = "123e4567-e89b-42d3-a456-426614174000"
    elif fmt == "email":
        s = "a@example.com"
    elif fmt in ("uri", "url"):
        s = "https://example.com/x"
    elif fmt in ("int32", "int64", "snowflake"):
        s = "1"
    else:
        s = "abc"
    mn = schema.get("minLength")
    if isinstance(mn, int) and len(s) < mn:
        s = s + "a" * (mn - len(s))
    mx = schema.get("maxLength")
    if isinstance(mx, int) and len(s) > mx:
        s = s[:mx]
    return s


def to_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict,)):
        raise ValueError("object value")
    if isinstance(v, list):
        return ",".join(to_text(x) for x in v)
    return str(v)


# ------------------------------------------------------------------ planning

def collect_params(spec, path_item, op):
    params = {}
    for src in (path_item.get("parameters") or [], op.get("parameters") or []):
        for p in src:
            p, _ = spec.deref(p)
            if isinstance(p, dict) and "name" in p and "in" in p:
                params[(p["in"], p["name"])] = p
    return list(params.values())


def security_headers(spec, op):
    """(headers, query, cookies) satisfying the first security requirement."""
    reqs = op.get("security", spec.doc.get("security"))
    headers, query, cookies = {}, {}, {}
    if not reqs:
        return headers, query, cookies
    if any(r == {} for r in reqs):
        return headers, query, cookies
    schemes = (spec.doc.get("components") or {}).get("securitySchemes") or \
        spec.doc.get("securityDefinitions") or {}
    for name in reqs[0]:
        sch, _ = spec.deref(schemes.get(name, {}))
        t = (sch.get("type") or "").lower()
        if t == "http" and (sch.get("scheme") or "").lower() == "basic" or t == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(b"ACdummy:dummy").decode()
        elif t == "apikey":
            where, key = sch.get("in"), sch.get("name", "api_key")
            if where == "header":
                headers[key] = "Bot dummy-token" if key.lower() == "authorization" else "dummy-key"
            elif where == "query":
                query[key] = "dummy-key"
            elif where == "cookie":
                cookies[key] = "dummy-key"
        else:  # http bearer, oauth2, openIdConnect
            headers["Authorization"] = "Bearer dummy-token"
    return headers, query, cookies


def is_jsonish(ct):
    return bool(JSONISH.match(ct.strip()))


def wanted_statuses(spec, op):
    """[(Prefer code, responses key)] for statuses with a JSON media type."""
    out = []
    responses = op.get("responses") or {}
    numeric = {k for k in responses if re.fullmatch(r"\d{3}", str(k))}
    for key, resp in responses.items():
        resp, _ = spec.deref(resp)
        content = (resp or {}).get("content") or {}
        if not any(is_jsonish(ct) for ct in content):
            continue
        key = str(key)
        if re.fullmatch(r"\d{3}", key):
            out.append((int(key), key))
        elif re.fullmatch(r"[1-5][xX]{2}", key):
            code = int(key[0]) * 100
            while str(code) in numeric and code % 100 < 99:
                code += 1
            out.append((code, key))
        elif key == "default":
            code = next(c for c in (500, 503, 502, 599, 418) if str(c) not in numeric)
            out.append((code, key))
    return out


def build_request(spec, path, path_item, method, op):
    reasons = []
    rb = op.get("requestBody")
    if rb is not None:
        rb, _ = spec.deref(rb)
        if rb.get("required"):
            return None, "request body required"
    for p in op.get("parameters") or []:
        p, _ = spec.deref(p)
        if isinstance(p, dict) and p.get("in") == "body" and p.get("required"):
            return None, "request body required"
    headers, query, cookies = security_headers(spec, op)
    concrete = path
    for p in collect_params(spec, path_item, op):
        where, name = p["in"], p["name"]
        if where != "path" and not p.get("required"):
            continue
        schema = p.get("schema") or {k: v for k, v in p.items()
                                      if k in ("type", "format", "enum", "pattern", "items",
                                               "minimum", "maximum", "default")}
        ok, v = first_example(p, spec.deref(schema)[0])
        try:
            if not ok:
                v = gen_value(spec, schema)
            text = to_text(v)
        except ValueError as e:
            return None, "cannot fill %s parameter %s: %s" % (where, name, e)
        if where == "path":
            concrete = concrete.replace("{" + name + "}", urllib.parse.quote(text, safe="@:,"))
        elif where == "query":
            query[name] = v
        elif where == "header":
            headers[name] = text
        elif where == "cookie":
            cookies[name] = text
    if "{" in concrete:
        return None, "unfilled path template"
    qs = []
    for k, v in query.items():
        if isinstance(v, list):
            qs.extend((k, to_text(x)) for x in v)
        else:
            qs.append((k, to_text(v)))
    target = concrete + ("?" + urllib.parse.urlencode(qs) if qs else "")
    if cookies:
        headers["Cookie"] = "; ".join("%s=%s" % kv for kv in cookies.items())
    return {"method": method.upper(), "template": path, "target": target,
            "headers": headers}, None


class Conn:
    """One keep-alive HTTP/1.1 connection, reopened when the peer closes."""

    def __init__(self, base, timeout=30):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.timeout = timeout
        self.c = None

    def request(self, method, target, headers):
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.c.request(method, target, headers=headers)
                r = self.c.getresponse()
                body = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.c.close()
                    self.c = None
                return r.status, hdrs, body
            except (http.client.HTTPException, ConnectionError, OSError):
                self.c.close()
                self.c = None
                if attempt:
                    raise


def prism_rejected(status, hdrs, body):
    """Why Prism answered with its own error instead of a mock, or None."""
    v = hdrs.get("sl-violations")
    if v:
        try:
            viol = json.loads(v)
        except ValueError:
            viol = []
        reqv = [x for x in viol if x.get("location", [""])[0] == "request"
                and x.get("severity") == "Error"]
        if reqv:
            return "request violation: " + "; ".join(
                "%s %s" % (".".join(x.get("location", [])), x.get("message")) for x in reqv[:3])
    if "problem+json" in hdrs.get("content-type", ""):
        try:
            b = json.loads(body)
            if "stoplight.io/prism/errors" in str(b.get("type", "")):
                return "prism error %s: %s" % (status, b.get("detail") or b.get("title"))
        except ValueError:
            pass
    return None


def cmd_prepare(a):
    doc = load_any(a.spec)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "spec.json"), "w") as f:
        json.dump(doc, f)
    name = os.path.basename(os.path.normpath(a.out))
    dg = dict(doc)
    if "openapi" in dg:
        dg["servers"] = [{"url": "/"}]
        # path-item and operation `servers` override the root ones
        paths = {}
        for path, item in (dg.get("paths") or {}).items():
            if isinstance(item, dict):
                item = dict(item)
                if "servers" in item:
                    item["servers"] = [{"url": "/"}]
                for m in METHODS + ("trace",):
                    if isinstance(item.get(m), dict) and "servers" in item[m]:
                        item[m] = dict(item[m], servers=[{"url": "/"}])
            paths[path] = item
        dg["paths"] = paths
    else:
        dg.pop("basePath", None)
    with open(os.path.join(a.out, name + ".json"), "w") as f:
        json.dump(dg, f)


def cmd_plan(a):
    spec = Spec(load_any(a.spec))
    conn = Conn(a.prism)
    plan, skipped = [], []
    for path, item in (spec.doc.get("paths") or {}).items():
        item, _ = spec.deref(item)
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict) or method in ("head", "options"):
                continue
            label = op.get("operationId") or "%s %s" % (method.upper(), path)
            if "?" in path or "#" in path:
                # e.g. box "/metadata_templates/schema#classifications", openai
                # "/responses?beta=true": a second operation on a path that
                # already has one; no request can select it (Prism, driftgate
                # and ajv would each pick a different one)
                skipped.append({"operation": label, "reason": "path key holds ? or #: not routable"})
                continue
            statuses = wanted_statuses(spec, op)
            if not statuses:
                skipped.append({"operation": label, "reason": "no JSON response"})
                continue
            req, why = build_request(spec, path, item, method, op)
            if req is None:
                skipped.append({"operation": label, "reason": why})
                continue
            hdrs = dict(req["headers"], Accept="application/json")
            try:
                st, rh, body = conn.request(req["method"], req["target"], hdrs)
            except Exception as e:  # noqa: BLE001
                skipped.append({"operation": label, "reason": "probe failed: %s" % e})
                continue
            why = prism_rejected(st, rh, body)
            if why:
                skipped.append({"operation": label, "reason": why, "target": req["target"]})
                continue
            req["operation"] = label
            req["statuses"] = [{"code": c, "key": k} for c, k in statuses]
            plan.append(req)
    with open(os.path.join(a.out, "plan.json"), "w") as f:
        json.dump({"spec": a.spec, "version": spec.version, "requests": plan}, f, indent=1)
    with open(os.path.join(a.out, "plan-skipped.jsonl"), "w") as f:
        for s in skipped:
            f.write(json.dumps(s) + "\n")
    print("plan: %d operations planned (%d status variants), %d skipped"
          % (len(plan), sum(len(p["statuses"]) for p in plan), len(skipped)))


# ------------------------------------------------------------------- driving

def cmd_drive(a):
    with open(a.plan) as f:
        plan = json.load(f)
    # every operation's first status before any operation's second, so a
    # COUNT below the number of variants still reaches every operation
    variants = [(r, s) for _, _, r, s in sorted(
        (k, i, r, s) for i, r in enumerate(plan["requests"]) for k, s in enumerate(r["statuses"]))]
    if not variants:
        sys.exit("drive: empty plan")
    os.makedirs(os.path.join(a.out, "bodies"), exist_ok=True)
    conn = Conn(a.target)
    deadline = time.monotonic() + a.seconds
    n = 0
    tag = a.tag or os.path.basename(os.path.normpath(a.out))
    with open(os.path.join(a.out, "responses.jsonl"), "w") as idx:
        while n < a.count and time.monotonic() < deadline:
            r, s = variants[n % len(variants)]
            rid = "%s-%06d" % (tag, n)
            hdrs = dict(r["headers"], Accept="application/json", **{"X-Request-Id": rid})
            hdrs["Prefer"] = "code=%d" % s["code"]
            t0 = time.monotonic()
            try:
                st, rh, body = conn.request(r["method"], r["target"], hdrs)
            except Exception as e:  # noqa: BLE001
                idx.write(json.dumps({"n": n, "request_id": rid, "error": str(e)}) + "\n")
                n += 1
                continue
            fn = "%06d" % n
            with open(os.path.join(a.out, "bodies", fn), "wb") as bf:
                bf.write(body)
            sl = rh.get("sl-violations")
            try:
                sl = json.loads(sl) if sl else []
            except ValueError:
                sl = [{"raw": sl}]
            idx.write(json.dumps({
                "n": n, "request_id": rid, "operation": r["operation"], "method": r["method"],
                "template": r["template"], "target": r["target"], "asked_code": s["code"],
                "asked_key": s["key"], "status": st, "content_type": rh.get("content-type", ""),
                "content_encoding": rh.get("content-encoding", ""), "length": len(body),
                "driftgate_result": rh.get("x-driftgate-result"),
                "prism_rejected": prism_rejected(st, rh, body),
                "prism_output_violations": [x for x in sl if x.get("location", [""])[0] == "response"],
                "ms": round((time.monotonic() - t0) * 1000, 2)}) + "\n")
            n += 1
    print("drive: %d responses in %s" % (n, a.out))


# -------------------------------------------------------- CLI validation path

def cmd_cli_validate(a):
    rows = [json.loads(l) for l in open(os.path.join(a.out, "responses.jsonl"))]
    groups = collections.OrderedDict()
    for r in rows:
        if "error" in r:
            continue
        key = (r["method"], r["target"], r["status"], r["content_type"] or "")
        groups.setdefault(key, []).append(r)
    verdicts = {}
    for (method, target, status, ct), rs in groups.items():
        files = [os.path.join(a.out, "bodies", "%06d" % r["n"]) for r in rs]
        base = [a.driftgate, "validate", "--spec", a.dgspec, "--method", method,
                "--path", target, "--status", str(status), "--format", "json",
                "--max-errors", "1000"]
        if ct:
            base += ["--content-type", ct]
        for i in range(0, len(files), 200):
            chunk = files[i:i + 200]
            p = subprocess.run(base + chunk, capture_output=True, text=True)
            per = collections.defaultdict(list)
            for line in p.stdout.splitlines():
                try:
                    v = json.loads(line)
                except ValueError:
                    continue
                per[v.get("file")].append(v)
            for f, r in zip(chunk, rs[i:i + 200]):
                if p.returncode == 2:
                    verdicts[r["n"]] = {"result": "error", "stderr": p.stderr.strip()[:500]}
                elif per.get(f):
                    verdicts[r["n"]] = {"result": "invalid", "violations": per[f]}
                else:
                    verdicts[r["n"]] = {"result": "valid"}
    with open(os.path.join(a.out, "verdicts.jsonl"), "w") as f:
        for r in rows:
            v = verdicts.get(r["n"], {"result": "error", "stderr": r.get("error", "no verdict")})
            v["n"] = r["n"]
            f.write(json.dumps(v) + "\n")
    c = collections.Counter(v["result"] for v in verdicts.values())
    print("cli-validate: %s" % dict(c))


# ------------------------------------------------ second validator (ajv) input

def media_rank(doc_ct, ct):
    """Lower is better; None when doc_ct does not cover ct (driftgate's and
    OpenAPI's order: exact, +json suffix, type/*, */*)."""
    d, c = doc_ct.split(";")[0].strip().lower(), ct.split(";")[0].strip().lower()
    if d == c:
        return 0
    if d == "application/json" and c.startswith("application/") and c.endswith("+json"):
        return 1
    if d.endswith("/*") and c.split("/")[0] == d.split("/")[0]:
        return 2
    if d == "*/*":
        return 3
    return None


def response_schema_ref(spec, method, template, status, ct):
    """JSON pointer ("#/...") of the schema a response must satisfy, or
    (None, reason)."""
    item_ptr = "#/paths/" + ptr_escape(template)
    item, item_ptr = spec.deref(spec.get(item_ptr), item_ptr)
    op = item.get(method.lower())
    if op is None:
        return None, "no operation"
    responses = op.get("responses") or {}
    key = next((k for k in (str(status), str(status)[0] + "XX", str(status)[0] + "xx", "default")
                if k in responses), None)
    if key is None:
        return None, "undocumented status"
    rptr = "%s/%s/responses/%s" % (item_ptr, method.lower(), ptr_escape(key))
    resp, rptr2 = spec.deref(responses[key], rptr)
    rptr = rptr2 or rptr
    content = resp.get("content") or {}
    best = None
    for mk in content:
        rank = media_rank(mk, ct or "application/json")
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, mk)
    if best is None:
        return None, "undocumented media type"
    media = content[best[1]]
    if "schema" not in media:
        return None, "no schema"
    return "%s/content/%s/schema" % (rptr, ptr_escape(best[1])), None


def cmd_crossref(a):
    spec = Spec(load_any(a.spec))
    n = 0
    with open(os.path.join(a.out, "crosscheck-input.jsonl"), "w") as f:
        for line in open(os.path.join(a.out, "responses.jsonl")):
            r = json.loads(line)
            if "error" in r:
                continue
            ref, why = response_schema_ref(spec, r["method"], r["template"], r["status"],
                                           r["content_type"])
            f.write(json.dumps({"n": r["n"], "ref": ref, "why": why,
                                "file": os.path.join(a.out, "bodies", "%06d" % r["n"])}) + "\n")
            n += 1
    print("crossref: %d responses" % n)


# ------------------------------------------------------------------- summary

def load_anomalies(path):
    out = []
    if path and os.path.exists(path):
        for line in open(path):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def parse_metrics(path):
    res = collections.Counter()
    if not path or not os.path.exists(path):
        return res
    pat = re.compile(r'^(driftgate_[a-z_]+)\{([^}]*)\}\s+([0-9.eE+-]+)$')
    for line in open(path):
        m = pat.match(line.strip())
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        res[(m.group(1), tuple(sorted(labels.items())))] += float(m.group(3))
    return res


CAUSES = collections.OrderedDict([
    ("enum-beside-allOf", ("Prism", "json-schema-faker drops an `enum`/`const` written beside `allOf` and draws from the allOf'd (wider) enum")),
    ("required-undeclared", ("Prism", "json-schema-faker never generates a `required` property that has no entry in `properties`")),
    ("nullable-in-3.1", ("Prism", "Prism's http-spec applies OAS 3.0 `nullable` in a 3.1 document, where it is not a keyword; null is generated")),
    ("maxProperties", ("Prism", "json-schema-faker adds random properties past `maxProperties`")),
    ("oneOf-overlap", ("Prism", "json-schema-faker generates from one `oneOf` branch without checking that no other branch matches")),
    ("exclusive-bounds", ("Prism", "json-schema-faker 0.5 ignores numeric `exclusiveMinimum`/`exclusiveMaximum`")),
    ("allOf-enum", ("Prism", "json-schema-faker merges `allOf` branches without intersecting the enums they give the same property: a value only one branch allows is generated")),
    ("writeOnly", ("Prism", "Prism strips `writeOnly` properties from generated responses only along properties/items, not inside `allOf`/`anyOf`/`oneOf`; OAS says a writeOnly property SHOULD NOT be sent in a response and driftgate reports it (ajv ignores writeOnly)")),
    ("discriminator", ("driftgate", "driftgate rejects a `discriminator` value that maps to no branch although exactly one branch matches (OAS 3.0.4/3.1.1: discriminator MUST NOT change the validation outcome)")),
    ("prism-error-response", ("Prism", "not mock data: Prism's own 500 problem+json (json-schema-faker crashed); driftgate correctly reports an undocumented status")),
    ("UNEXPLAINED", ("?", "no known cause: needs a human")),
])


def rel_pointer(sp):
    return "#" + sp.split("#", 1)[1] if sp and "#" in sp else (sp or "")


def jl(path):
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def cmd_summary(a):
    report = {"specs": [], "distinct": [], "causes": {}}
    cause_resp = collections.Counter()
    cause_viol = collections.Counter()
    sets = collections.OrderedDict()  # " + ".join(causes) -> tallies (a partition)
    by_violation = collections.Counter()  # each violation's attributed cause(s)
    for d in a.dirs:
        name = os.path.basename(os.path.normpath(d))
        rows = {r["n"]: r for r in jl(os.path.join(d, "responses.jsonl"))}
        cli = {v["n"]: v for v in jl(os.path.join(d, "verdicts.jsonl"))}
        ajv = {v["n"]: v for v in jl(os.path.join(d, "crosscheck.jsonl"))}
        expl = {v["n"]: v for v in jl(os.path.join(d, "explain.jsonl"))}
        plan = json.load(open(os.path.join(d, "plan.json"))) if os.path.exists(os.path.join(d, "plan.json")) else {}
        skipped = jl(os.path.join(d, "plan-skipped.jsonl"))
        mode = open(os.path.join(d, "mode")).read().strip() if os.path.exists(os.path.join(d, "mode")) else "cli"
        anomalies = jl(os.path.join(d, "anomalies.jsonl"))
        metrics = parse_metrics(os.path.join(d, "metrics.txt"))

        by_rid = collections.defaultdict(list)
        for an in anomalies:
            by_rid[an.get("request_id")].append(an)
        rid_n = {r.get("request_id"): n for n, r in rows.items()}
        stray = [rid for rid in by_rid if rid not in rid_n]

        m_res = collections.Counter()
        m_skip = collections.Counter()
        m_viol = collections.Counter()
        m_info = collections.Counter()
        for (mname, labels), val in metrics.items():
            lab = dict(labels)
            if lab.get("api") not in (None, name):
                continue
            if mname == "driftgate_responses_validated_total":
                m_res[lab.get("result")] += int(val)
            elif mname == "driftgate_responses_skipped_total":
                m_skip[lab.get("reason")] += int(val)
            elif mname == "driftgate_violations_total":
                m_viol[lab.get("kind")] += int(val)
            elif mname == "driftgate_info_drift_total":
                m_info[lab.get("kind")] += int(val)

        proxy_invalid, cli_invalid = set(), set()
        info_count = 0
        info_only = 0
        info_kinds = collections.Counter()
        groups = collections.OrderedDict()
        per_resp = {}
        for n, r in sorted(rows.items()):
            if "error" in r:
                continue
            if mode == "proxy":
                vs = by_rid.get(r["request_id"], [])
                infos = [x for x in vs if x.get("severity") == "info"]
                info_count += len(infos)
                info_kinds.update(x.get("kind") for x in infos)
                vs = [x for x in vs if x.get("severity", "error") != "info"]
                if infos and not vs:
                    info_only += 1
                if vs:
                    proxy_invalid.add(n)
            else:
                vs = cli.get(n, {}).get("violations", [])
            if cli.get(n, {}).get("result") == "invalid":
                cli_invalid.add(n)
            per_resp[n] = vs
            causes = expl.get(n, {}).get("causes", [])
            attribution = expl.get(n, {}).get("attribution") or {}
            for x in vs:
                sp = rel_pointer(x.get("schema_pointer")).replace("/anyOf", "/xOf").replace("/oneOf", "/xOf")
                vcauses = attribution.get("%s|%s|%s" % (x.get("instance_pointer"), sp, x.get("kind"))) or causes
                key = (name, r["operation"], r["status"], x.get("kind"), rel_pointer(x.get("schema_pointer")))
                g = groups.get(key)
                if g is None:
                    g = groups[key] = {"spec": name, "operation": r["operation"], "status": r["status"],
                                       "kind": x.get("kind"), "schema_pointer": key[4], "violations": 0,
                                       "responses": set(), "ajv_invalid": set(), "causes": collections.Counter(),
                                       "example": {"n": n, "instance_pointer": x.get("instance_pointer"),
                                                   "message": x.get("message"),
                                                   "body": os.path.join(d, "bodies", "%06d" % n)}}
                g["violations"] += 1
                by_violation[" + ".join(vcauses or ["UNEXPLAINED"])] += 1
                for c in vcauses or ["UNEXPLAINED"]:
                    g["causes"][c] += 1
                    cause_viol[c] += 1
                if n not in g["responses"]:
                    g["responses"].add(n)
                    if ajv.get(n, {}).get("valid") is False:
                        g["ajv_invalid"].add(n)
        for n, e in expl.items():
            if per_resp.get(n) or (ajv.get(n, {}).get("valid") is False):
                for c in e.get("causes", []):
                    cause_resp[c] += 1
        for n, vs in per_resp.items():
            if not vs and ajv.get(n, {}).get("valid") is not False:
                continue
            key = " + ".join(expl.get(n, {}).get("causes") or ["UNEXPLAINED"])
            t = sets.setdefault(key, {"causes": key, "specs": collections.Counter(), "responses": 0,
                                      "violations": 0, "driftgate_invalid": 0, "ajv_invalid": 0})
            t["specs"][name] += 1
            t["responses"] += 1
            t["violations"] += len(vs)
            t["driftgate_invalid"] += 1 if vs else 0
            t["ajv_invalid"] += 1 if ajv.get(n, {}).get("valid") is False else 0

        results = collections.Counter()
        for n in per_resp:
            results["invalid" if per_resp[n] else "valid/skipped"] += 1
        statuses = collections.Counter("%dxx" % (r["status"] // 100) for r in rows.values() if "status" in r)
        prism_err = sum(1 for r in rows.values() if r.get("prism_rejected"))
        agv = collections.Counter()
        for n in per_resp:
            dgv = "invalid" if per_resp[n] else "valid"
            av = {True: "valid", False: "invalid", None: "n/a"}[ajv.get(n, {}).get("valid")]
            agv["driftgate %s / ajv %s" % (dgv, av)] += 1
        row = {
            "spec": name, "source": plan.get("spec"), "openapi": plan.get("version"), "mode": mode,
            "operations_planned": len(plan.get("requests", [])),
            "status_variants": sum(len(p["statuses"]) for p in plan.get("requests", [])),
            "operations_skipped": len(skipped),
            "skip_reasons": dict(collections.Counter(x["reason"].split(":")[0] for x in skipped)),
            "responses": len(rows), "transport_errors": sum(1 for r in rows.values() if "error" in r),
            "prism_error_responses": prism_err, "status_classes": dict(statuses),
            "prism_self_flagged": sum(1 for r in rows.values() if r.get("prism_output_violations")),
            "driftgate": dict(results),
            "violations": sum(len(v) for v in per_resp.values()),
            "info_drift": info_count, "info_drift_kinds": dict(info_kinds),
            "responses_with_only_info_drift": info_only, "distinct": len(groups),
            "metrics_validated": dict(m_res), "metrics_skipped": dict(m_skip),
            "metrics_violations": dict(m_viol), "metrics_info_drift": dict(m_info),
            "cli": dict(collections.Counter(v["result"] for v in cli.values())),
            "ajv": dict(collections.Counter({True: "valid", False: "invalid", None: "n/a"}[v.get("valid")]
                                            for v in ajv.values())),
            "driftgate_vs_ajv": dict(agv),
        }
        if mode == "proxy":
            row["proxy_vs_cli"] = {"only_proxy_invalid": sorted(proxy_invalid - cli_invalid),
                                   "only_cli_invalid": sorted(cli_invalid - proxy_invalid),
                                   "anomalies_without_request": len(stray)}
        report["specs"].append(row)
        for g in groups.values():
            g["ajv_agrees"] = "%d/%d" % (len(g["ajv_invalid"]), len(g["responses"]))
            g["responses"] = len(g["responses"])
            del g["ajv_invalid"]
            g["causes"] = dict(g["causes"])
            report["distinct"].append(g)
    report["causes"] = {c: {"who": CAUSES.get(c, ("?", ""))[0], "what": CAUSES.get(c, ("?", ""))[1],
                            "responses": cause_resp[c], "violations": cause_viol[c]}
                        for c in CAUSES if cause_resp[c] or cause_viol[c]}
    for t in sets.values():
        t["specs"] = dict(t["specs"])
        t["at_fault"] = sorted({CAUSES.get(c, ("?",))[0] for c in t["causes"].split(" + ")})
    report["cause_sets"] = sorted(sets.values(), key=lambda t: -t["violations"])
    report["violations_by_cause"] = dict(by_violation.most_common())
    tot = collections.Counter()
    for r in report["specs"]:
        tot["responses"] += r["responses"]
        tot["violations"] += r["violations"]
        tot["invalid_responses"] += r["driftgate"].get("invalid", 0)
        tot["distinct"] += r["distinct"]
        tot["prism_error_responses"] += r["prism_error_responses"]
    report["total"] = dict(tot)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    if a.markdown:
        write_markdown(report, a.markdown)
    for r in report["specs"]:
        print("%-8s %-8s OAS %-6s responses %5d (Prism errors %d)  driftgate %s  violations %d in %d distinct"
              % (r["spec"], r["mode"], r["openapi"], r["responses"], r["prism_error_responses"],
                 json.dumps(r["driftgate"], sort_keys=True), r["violations"], r["distinct"]))
        if r["mode"] == "proxy":
            print("         /metrics validated %s skipped %s; proxy vs CLI mismatches %d/%d"
                  % (json.dumps(r["metrics_validated"], sort_keys=True), json.dumps(r["metrics_skipped"], sort_keys=True),
                     len(r["proxy_vs_cli"]["only_proxy_invalid"]), len(r["proxy_vs_cli"]["only_cli_invalid"])))
        print("         driftgate vs ajv %s" % json.dumps(r["driftgate_vs_ajv"], sort_keys=True))
        if r["mode"] == "proxy":
            print("         info-level drift %d %s, in %d otherwise valid responses"
                  % (r["info_drift"], json.dumps(r["info_drift_kinds"], sort_keys=True),
                     r["responses_with_only_info_drift"]))
    print("TOTAL %s" % json.dumps(report["total"], sort_keys=True))
    print("violations by attributed cause: %s" % json.dumps(report["violations_by_cause"]))
    for t in report["cause_sets"]:
        print("  %-42s %-16s responses %4d (ajv also rejects %4d)  violations %5d  %s"
              % (t["causes"], "/".join(t["at_fault"]), t["responses"], t["ajv_invalid"], t["violations"],
                 json.dumps(t["specs"], sort_keys=True)))


def write_markdown(report, path):
    L = []
    L.append("| spec | OAS | operations | responses | driftgate invalid (anomalies) | /metrics valid / invalid | CLI invalid | ajv invalid | violations | distinct | info-level drift (responses) | Prism error responses |")
    L.append("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|---:|")
    for r in report["specs"]:
        L.append("| %s | %s | %d | %d | %d | %d / %d | %d | %d | %d | %d | %d (%d) | %d |" % (
            r["spec"], r["openapi"], r["operations_planned"], r["responses"], r["driftgate"].get("invalid", 0),
            r["metrics_validated"].get("valid", 0), r["metrics_validated"].get("invalid", 0),
            r["cli"].get("invalid", 0), r["ajv"].get("invalid", 0), r["violations"], r["distinct"],
            r["info_drift"], r["responses_with_only_info_drift"], r["prism_error_responses"]))
    L.append("")
    L.append("| explained by | at fault | responses | driftgate rejects | ajv rejects | violations | specs |")
    L.append("|---|---|---:|---:|---:|---:|---|")
    for t in report["cause_sets"]:
        L.append("| %s | %s | %d | %d | %d | %d | %s |" % (
            " + ".join("`%s`" % c for c in t["causes"].split(" + ")), " / ".join(t["at_fault"]), t["responses"],
            t["driftgate_invalid"], t["ajv_invalid"], t["violations"],
            ", ".join("%s %d" % kv for kv in sorted(t["specs"].items()))))
    L.append("")
    L.append("| cause | at fault | what |")
    L.append("|---|---|---|")
    for c, v in report["causes"].items():
        L.append("| `%s` | %s | %s |" % (c, v["who"], v["what"]))
    L.append("")
    L.append("| # | spec | operation | status | kind | schema location | violations | responses | cause | ajv rejects | example (response #, instance pointer) |")
    L.append("|---:|---|---|---:|---|---|---:|---:|---|---:|---|")
    for i, g in enumerate(sorted(report["distinct"], key=lambda g: (g["spec"], g["operation"], g["status"], g["kind"], g["schema_pointer"])), 1):
        causes = ", ".join("`%s`" % c for c in g["causes"])
        L.append("| %d | %s | %s | %s | %s | `%s` | %d | %d | %s | %s | #%d `%s` |" % (
            i, g["spec"], g["operation"].replace("|", "\\|"), g["status"], g["kind"],
            g["schema_pointer"].replace("|", "\\|"), g["violations"], g["responses"], causes,
            g["ajv_agrees"], g["example"]["n"], g["example"]["instance_pointer"] or "/"))
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare"); p.add_argument("--spec", required=True); p.add_argument("--out", required=True)
    p = sub.add_parser("plan"); p.add_argument("--spec", required=True); p.add_argument("--prism", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("drive"); p.add_argument("--plan", required=True); p.add_argument("--target", required=True)
    p.add_argument("--count", type=int, default=700); p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--out", required=True); p.add_argument("--tag")
    p = sub.add_parser("cli-validate"); p.add_argument("--driftgate", required=True)
    p.add_argument("--dgspec", required=True); p.add_argument("--out", required=True)
    p = sub.add_parser("crossref"); p.add_argument("--spec", required=True); p.add_argument("--out", required=True)
    p = sub.add_parser("summary"); p.add_argument("dirs", nargs="+"); p.add_argument("--json")
    p.add_argument("--markdown")
    a = ap.parse_args()
    {"prepare": cmd_prepare, "plan": cmd_plan, "drive": cmd_drive,
     "cli-validate": cmd_cli_validate, "crossref": cmd_crossref, "summary": cmd_summary}[a.cmd](a)


if __name__ == "__main__":
    main()
