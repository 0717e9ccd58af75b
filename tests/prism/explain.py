#!/usr/bin/env python3
"""Explains every invalid response of a Prism false-positive run.

  explain.py --driftgate BIN DIR...

For each DIR (one spec, after client.py drive/cli-validate/crossref and
crosscheck.js), every response that driftgate or ajv rejects is re-validated,
by BOTH validators, against copies of the spec in which one named rule is
relaxed — each relaxation is a rule that Prism's generator is known to break
(jsf_evidence.js reproduces each one on a small schema), or a rule on which
driftgate itself is suspect. A response is explained by the smallest set of
relaxations under which driftgate and ajv both accept it (singles first, then
pairs, then triples). Responses that no set explains are listed as
UNEXPLAINED: those need a human.

Writes DIR/explain.jsonl ({n, causes, ...}) and prints a per-cause tally.
Only the copies under DIR/mut/ are changed; the spec itself never is.
"""
import argparse
import collections
import copy
import itertools
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import client  # noqa: E402

# Keys whose values are maps of names (not schema keywords).
NAME_MAPS = {"properties", "patternProperties", "schemas", "definitions", "$defs", "responses",
             "parameters", "headers", "content", "paths", "securitySchemes", "requestBodies",
             "links", "callbacks", "webhooks", "pathItems", "dependentSchemas", "variables",
             "mapping", "examples", "encoding"}
DATA_KEYS = {"enum", "const", "default", "example", "examples"}


def walk(node, fn, parent_key=None):
    """Applies fn(dict) -> dict to every keyword-level object (bottom-up)."""
    if isinstance(node, list):
        return [walk(x, fn) for x in node]
    if not isinstance(node, dict):
        return node
    names = parent_key in NAME_MAPS
    out = {}
    for k, v in node.items():
        if not names and k in DATA_KEYS:
            out[k] = v
        else:
            out[k] = walk(v, fn, None if names else k)
    return out if names else fn(out)


def m_enum_beside_allof(n):
    if "allOf" in n and ("enum" in n or "const" in n):
        n = dict(n)
        n.pop("enum", None)
        n.pop("const", None)
    return n


def m_required_undeclared(n):
    if isinstance(n.get("required"), list) and isinstance(n.get("properties"), dict):
        keep = [r for r in n["required"] if r in n["properties"]]
        if len(keep) != len(n["required"]):
            n = dict(n, required=keep)
    return n


def m_nullable31(n):
    if n.get("nullable") is True:
        n = dict(n)
        del n["nullable"]
        t = n.get("type")
        if isinstance(t, str):
            n["type"] = [t, "null"]
        elif isinstance(t, list) and "null" not in t:
            n["type"] = t + ["null"]
        elif t is None:
            return {"anyOf": [{"type": "null"}, n]}
        if isinstance(n.get("enum"), list) and None not in n["enum"]:
            n["enum"] = n["enum"] + [None]
    return n


def m_max_properties(n):
    if "maxProperties" in n:
        n = dict(n)
        del n["maxProperties"]
    return n


def m_oneof_exclusive(n):
    if "oneOf" in n and "anyOf" not in n:
        n = dict(n)
        n["anyOf"] = n.pop("oneOf")
    return n


def m_exclusive_bounds(n):
    n2 = n
    for ex, b in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if ex in n2:
            n2 = dict(n2)
            if n2.pop(ex) is True:
                n2.pop(b, None)
    return n2


def m_write_only(n):
    if "writeOnly" in n:
        n = dict(n)
        del n["writeOnly"]
    return n


def d_allof_enum_union(doc):
    """Document-level: where allOf branches give the same property different
    enums, each of those enums becomes their union (json-schema-faker's merge
    draws from either instead of the intersection)."""
    spec = client.Spec(doc)
    seen = set()

    def visit(node):
        if isinstance(node, list):
            for x in node:
                visit(x)
            return
        if not isinstance(node, dict) or id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node.get("allOf"), list):
            enums = collections.defaultdict(list)
            for br in node["allOf"]:
                try:
                    b, _ = spec.deref(br)
                except (KeyError, IndexError, ValueError):
                    continue
                if not isinstance(b, dict):
                    continue
                for pname, ps in (b.get("properties") or {}).items():
                    try:
                        t, _ = spec.deref(ps)
                    except (KeyError, IndexError, ValueError):
                        continue
                    if isinstance(t, dict) and isinstance(t.get("enum"), list):
                        enums[pname].append(t)
            for ts in enums.values():
                if len(ts) > 1:
                    union = []
                    for t in ts:
                        union += [v for v in t["enum"] if v not in union]
                    for t in ts:
                        t["enum"] = list(union)
        for v in node.values():
            visit(v)

    visit(doc)
    return doc


def m_discriminator(n):
    if "discriminator" in n:
        n = dict(n)
        del n["discriminator"]
    return n


# name -> (function, who is at fault, one line)
MUTATIONS = collections.OrderedDict([
    ("enum-beside-allOf", (m_enum_beside_allof, "prism",
     "json-schema-faker drops an `enum`/`const` that sits beside `allOf` and generates from the allOf'd (wider) enum")),
    ("required-undeclared", (m_required_undeclared, "prism",
     "json-schema-faker never generates a `required` property that has no entry in `properties`")),
    ("nullable-in-3.1", (m_nullable31, "prism",
     "Prism's http-spec applies the OAS 3.0 keyword `nullable` in a 3.1 document (3.1 has no `nullable`); null is generated")),
    ("maxProperties", (m_max_properties, "prism",
     "json-schema-faker (fillProperties) adds random properties past `maxProperties`")),
    ("oneOf-overlap", (m_oneof_exclusive, "prism",
     "json-schema-faker generates from one `oneOf` branch without checking that no other branch matches")),
    ("exclusive-bounds", (m_exclusive_bounds, "prism",
     "json-schema-faker 0.5 ignores numeric `exclusiveMinimum`/`exclusiveMaximum` (Prism converts the boolean form to it)")),
    ("allOf-enum", (d_allof_enum_union, "prism",
     "json-schema-faker merges allOf branches without intersecting their enums for the same property: a value allowed by one branch only is generated")),
    ("writeOnly", (m_write_only, "prism",
     "Prism strips writeOnly properties from generated responses only along properties/items, not inside allOf/anyOf/oneOf")),
    ("discriminator", (m_discriminator, "driftgate",
     "driftgate rejects a `discriminator` value that maps to no branch although plain oneOf/anyOf accepts it")),
])


DOC_LEVEL = {"allOf-enum"}


def mutate(doc, names, is31):
    d = copy.deepcopy(doc)
    for name in names:
        if name == "nullable-in-3.1" and not is31:
            continue
        if name in DOC_LEVEL:
            d = MUTATIONS[name][0](d)
        else:
            d = walk(d, MUTATIONS[name][0])
    return d


def dg_invalid(driftgate, spec_path, rows, bodies_dir):
    """Set of n that driftgate still rejects (the CLI, grouped per route)."""
    groups = collections.defaultdict(list)
    for r in rows:
        groups[(r["method"], r["target"], r["status"], r["content_type"] or "")].append(r)
    bad = set()
    for (method, target, status, ct), rs in groups.items():
        cmd = [driftgate, "validate", "--spec", spec_path, "--method", method, "--path", target,
               "--status", str(status), "--format", "json", "--max-errors", "1"]
        if ct:
            cmd += ["--content-type", ct]
        files = [os.path.join(bodies_dir, "%06d" % r["n"]) for r in rs]
        p = subprocess.run(cmd + files, capture_output=True, text=True)
        if p.returncode == 2:
            bad.update(r["n"] for r in rs)
            continue
        seen = set()
        for line in p.stdout.splitlines():
            try:
                seen.add(json.loads(line).get("file"))
            except ValueError:
                pass
        bad.update(r["n"] for f, r in zip(files, rs) if f in seen)
    return bad


def dg_violations(driftgate, spec_path, r, bodies_dir):
    """driftgate's distinct (kind, message) pairs for one response."""
    cmd = [driftgate, "validate", "--spec", spec_path, "--method", r["method"], "--path", r["target"],
           "--status", str(r["status"]), "--format", "json", "--max-errors", "1000"]
    if r["content_type"]:
        cmd += ["--content-type", r["content_type"]]
    p = subprocess.run(cmd + [os.path.join(bodies_dir, "%06d" % r["n"])], capture_output=True, text=True)
    out = collections.Counter()
    for line in p.stdout.splitlines():
        try:
            v = json.loads(line)
        except ValueError:
            continue
        msg = v.get("message", "")
        if msg.startswith("value matches none of"):
            msg = msg.split(";")[0]
        out["%s: %s" % (v.get("kind"), msg)] += 1
    return dict(out)


def norm_key(v):
    """(instance pointer, schema location, kind) of a violation, comparable
    across spec copies (file name dropped; oneOf/anyOf merged, since the
    oneOf-overlap relaxation renames one into the other)."""
    sp = v.get("schema_pointer") or ""
    sp = "#" + sp.split("#", 1)[1] if "#" in sp else sp
    sp = sp.replace("/anyOf", "/xOf").replace("/oneOf", "/xOf")
    return "%s|%s|%s" % (v.get("instance_pointer"), sp, v.get("kind"))


def dg_keys(driftgate, spec_path, r, bodies_dir):
    cmd = [driftgate, "validate", "--spec", spec_path, "--method", r["method"], "--path", r["target"],
           "--status", str(r["status"]), "--format", "json", "--max-errors", "100000"]
    if r["content_type"]:
        cmd += ["--content-type", r["content_type"]]
    p = subprocess.run(cmd + [os.path.join(bodies_dir, "%06d" % r["n"])], capture_output=True, text=True)
    keys = set()
    for line in p.stdout.splitlines():
        try:
            keys.add(norm_key(json.loads(line)))
        except ValueError:
            pass
    return keys


def ajv_invalid(spec_path, d, rows, tag):
    inp = os.path.join(d, "mut", tag + ".in.jsonl")
    out = os.path.join(d, "mut", tag + ".out.jsonl")
    refs = {}
    for line in open(os.path.join(d, "crosscheck-input.jsonl")):
        x = json.loads(line)
        refs[x["n"]] = x
    with open(inp, "w") as f:
        for r in rows:
            f.write(json.dumps(refs[r["n"]]) + "\n")
    subprocess.run(["node", os.path.join(HERE, "crosscheck.js"), spec_path, d, inp, out], check=True)
    bad = set()
    for line in open(out):
        x = json.loads(line)
        if x.get("valid") is not True:
            bad.add(x["n"])
    return bad


def explain_dir(driftgate, d):
    name = os.path.basename(os.path.normpath(d))
    rows = {r["n"]: r for r in map(json.loads, open(os.path.join(d, "responses.jsonl"))) if "error" not in r}
    verdicts = {v["n"]: v for v in map(json.loads, open(os.path.join(d, "verdicts.jsonl")))}
    ajv = {v["n"]: v for v in map(json.loads, open(os.path.join(d, "crosscheck.jsonl")))}
    dg_spec = os.path.join(d, name + ".json")
    doc = json.load(open(dg_spec))
    is31 = str(doc.get("openapi", "")).startswith("3.1")
    os.makedirs(os.path.join(d, "mut"), exist_ok=True)

    results = {}
    todo = []
    for n, r in sorted(rows.items()):
        dgv = verdicts.get(n, {}).get("result")
        av = ajv.get(n, {}).get("valid")
        if dgv == "valid" and av is True:
            continue
        rec = {"n": n, "operation": r["operation"], "status": r["status"], "driftgate": dgv,
               "ajv": {True: "valid", False: "invalid", None: "n/a"}[av]}
        if r.get("prism_rejected"):
            rec["causes"] = ["prism-error-response"]
            results[n] = rec
            continue
        results[n] = rec
        todo.append(n)

    applicable = []
    base = json.dumps(doc, sort_keys=True)
    for m in MUTATIONS:
        if json.dumps(mutate(doc, [m], is31), sort_keys=True) != base:
            applicable.append(m)

    cache = {}

    def still_bad(names, ns):
        key = tuple(names)
        if key not in cache:
            tag = "+".join(names)
            path = os.path.join(d, "mut", tag + ".json")
            with open(path, "w") as f:
                json.dump(mutate(doc, names, is31), f)
            cache[key] = (path, tag)
        path, tag = cache[key]
        rs = [rows[n] for n in ns]
        return dg_invalid(driftgate, path, rs, os.path.join(d, "bodies")) | ajv_invalid(path, d, rs, tag)

    remaining = set(todo)
    for size in (1, 2, 3):
        if not remaining:
            break
        found = {}
        for combo in itertools.combinations(applicable, size):
            bad = still_bad(list(combo), sorted(remaining))
            for n in remaining - bad:
                found.setdefault(n, list(combo))
        for n, combo in found.items():
            results[n]["causes"] = combo
            if size > 1:
                # what is left when one member of the set is not applied: shows
                # what each member accounts for
                res = {}
                for drop in combo:
                    rest = [m for m in combo if m != drop]
                    still_bad(rest, [n])  # makes sure the copy exists
                    res["without " + drop] = dg_violations(driftgate, cache[tuple(rest)][0], rows[n],
                                                           os.path.join(d, "bodies"))
                results[n]["residual"] = res
        remaining -= set(found)
    for n in remaining:
        results[n]["causes"] = ["UNEXPLAINED"]

    # a response explained by several relaxations: which one accounts for each
    # of its violations (the one whose relaxation alone makes it disappear;
    # all of them when none does on its own)
    for n, rec in results.items():
        causes = rec.get("causes", [])
        if len(causes) < 2 or "UNEXPLAINED" in causes:
            continue
        strict = dg_keys(driftgate, dg_spec, rows[n], os.path.join(d, "bodies"))
        gone = {}
        for c in causes:
            still_bad([c], [n])
            gone[c] = strict - dg_keys(driftgate, cache[(c,)][0], rows[n], os.path.join(d, "bodies"))
        rec["attribution"] = {k: [c for c in causes if k in gone[c]] or causes for k in sorted(strict)}

    with open(os.path.join(d, "explain.jsonl"), "w") as f:
        for n in sorted(results):
            f.write(json.dumps(results[n]) + "\n")
    tally = collections.Counter(tuple(r["causes"]) for r in results.values())
    print("%s: %d responses rejected by driftgate or ajv; applicable relaxations: %s"
          % (name, len(results), ", ".join(applicable) or "none"))
    for causes, c in tally.most_common():
        print("    %4d  %s" % (c, " + ".join(causes)))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driftgate", required=True)
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    for d in a.dirs:
        explain_dir(a.driftgate, d)


if __name__ == "__main__":
    main()
