#!/usr/bin/env python3
"""tests/dashboards/check_dashboard.py: static checks of the Grafana dashboard
(and of the metric names in the Prometheus rules), standard library only.

  check_dashboard.py [--self-test] DASHBOARD.json RULES.yml SOURCE_ROOT

Checks: the JSON parses; schemaVersion >= 39; the template variables
(a `datasource` variable of type datasource for Prometheus; `job`, `api`
and `operation` query variables with label_values, multi-value, All); every
panel is a row, timeseries, stat, table or bargauge, and every non-row panel
and every target (and annotation query) uses the datasource variable; ids
and refIds are unique, grid positions fit and do not overlap; every range
selector is [$__rate_interval] or [$__range] (and $__range only in instant
queries); every $variable is defined; histogram_quantile runs over _bucket
series grouped by le; every driftgate_* metric named by the dashboard or
the rules is one driftgate registers (read from the C sources), and every
metric driftgate registers is on the dashboard.

--self-test also breaks copies of the dashboard in memory (a hard-coded
datasource, a missing variable, a misspelled metric, a fixed range, an old
schemaVersion) and fails unless each break is reported.

Prints one line per check (`ok - ...` / `FAIL - ...`), then `N passed, M
failed`; exit status 1 when something failed."""
import copy
import glob
import json
import os
import re
import sys

sys.dont_write_bytecode = True

DS = {"type": "prometheus", "uid": "${datasource}"}
PANEL_TYPES = {"row", "timeseries", "stat", "table", "bargauge"}
KNOWN_VARS = {"datasource", "job", "api", "operation", "__rate_interval", "__range", "__interval"}
# what the task asked the dashboard to show; all must be on it
REQUIRED = [
    "driftgate_requests_total", "driftgate_responses_validated_total", "driftgate_violations_total",
    "driftgate_validation_duration_seconds_bucket", "driftgate_upstream_duration_seconds_bucket",
    "driftgate_anomaly_queue_depth", "driftgate_anomalies_dropped_total", "driftgate_drift_pending",
    "driftgate_drift_dropped_total", "driftgate_drift_flushes_total", "driftgate_drift_fingerprints_total",
    "driftgate_explanations_total", "driftgate_llm_requests_total", "driftgate_llm_tokens_total",
    "driftgate_llm_circuit_open", "driftgate_config_reloads_total", "driftgate_config_version",
    "driftgate_info_drift_total", "driftgate_responses_skipped_total", "driftgate_upstream_errors_total",
]


def registered_metrics(root):
    """Metric names driftgate registers: {name: kind} from the C sources."""
    names = {}
    rx = re.compile(r'dg_metrics_(counter|gauge|histogram)\(\s*[\w>.-]+\s*,\s*"(driftgate_\w+)"', re.S)
    for path in sorted(glob.glob(os.path.join(root, "*", "*.c"))):
        if os.sep + "tests" + os.sep in path:
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            for kind, name in rx.findall(f.read()):
                names[name] = kind
    return names


def series_names(registered):
    """Every series name a scrape can show: histograms add _bucket/_sum/_count."""
    out = set()
    for name, kind in registered.items():
        if kind == "histogram":
            out.update(name + s for s in ("_bucket", "_sum", "_count"))
        else:
            out.add(name)
    return out


def targets_of(dash):
    """[(where, target-like dict)] for every panel target and annotation query."""
    out = []
    for p in dash.get("panels", []):
        for t in p.get("targets", []) or []:
            out.append(("panel %r %s" % (p.get("title"), t.get("refId")), t))
        for sub in p.get("panels", []) or []:   # collapsed rows keep their panels inside
            for t in sub.get("targets", []) or []:
                out.append(("panel %r %s" % (sub.get("title"), t.get("refId")), t))
    for a in (dash.get("annotations") or {}).get("list", []):
        if a.get("expr"):
            out.append(("annotation %r" % a.get("name"), a))
    return out


def all_panels(dash):
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []) or [])
    return out


def check(dash, rules_text, registered):
    """[(ok, message)] for one dashboard."""
    res = []

    def chk(ok, msg):
        res.append((bool(ok), msg))

    chk(isinstance(dash, dict), "the dashboard is a JSON object")
    if not isinstance(dash, dict):
        return res
    sv = dash.get("schemaVersion")
    chk(isinstance(sv, int) and sv >= 39, "schemaVersion >= 39 (is %r)" % (sv,))
    chk(dash.get("uid") and dash.get("title"), "uid and title set")

    # template variables
    tvars = {v.get("name"): v for v in (dash.get("templating") or {}).get("list", [])}
    ds = tvars.get("datasource")
    chk(ds and ds.get("type") == "datasource" and ds.get("query") == "prometheus",
        "variable datasource: type datasource, query prometheus")
    for name in ("job", "api", "operation"):
        v = tvars.get(name)
        q = v and (v.get("query") if isinstance(v.get("query"), str) else (v.get("query") or {}).get("query"))
        chk(v and v.get("type") == "query" and v.get("datasource") == DS and q and q.startswith("label_values(")
            and v.get("multi") is True and v.get("includeAll") is True,
            "variable %s: label_values query on ${datasource}, multi-value, All" % name)
    for name, v in tvars.items():
        if name != "datasource" and v.get("type") == "query":
            for ref in re.findall(r"\$(\w+)", v.get("definition", "")):
                chk(ref in tvars and list(tvars).index(ref) < list(tvars).index(name),
                    "variable %s refers to $%s, defined before it" % (name, ref))

    # panels
    panels = all_panels(dash)
    ids = [p.get("id") for p in panels]
    chk(len(ids) == len(set(ids)) and None not in ids, "panel ids present and unique")
    chk(any(p.get("type") != "row" for p in panels), "there are panels")
    rects = []
    for p in panels:
        title = p.get("title")
        typ = p.get("type")
        chk(typ in PANEL_TYPES, "panel %r: type %s is one of %s" % (title, typ, sorted(PANEL_TYPES)))
        gp = p.get("gridPos") or {}
        okg = all(isinstance(gp.get(k), int) for k in "xywh") and gp["x"] >= 0 and gp["w"] > 0 and \
            gp["x"] + gp["w"] <= 24 and gp["h"] > 0
        chk(okg, "panel %r: gridPos inside the 24 columns" % title)
        if okg:
            rects.append((title, gp))
        if typ == "row":
            chk(not p.get("targets"), "row %r has no queries" % title)
            continue
        chk(p.get("datasource") == DS, "panel %r: datasource is the ${datasource} variable" % title)
        ts = p.get("targets") or []
        chk(ts, "panel %r has queries" % title)
        refs = [t.get("refId") for t in ts]
        chk(len(refs) == len(set(refs)) and None not in refs, "panel %r: refIds unique" % title)
        for t in ts:
            chk(t.get("datasource") == DS, "panel %r %s: target datasource is ${datasource}" % (title, t.get("refId")))
            if "$__range" in (t.get("expr") or ""):
                chk(t.get("instant") is True and t.get("range") is not True,
                    "panel %r %s: [$__range] only in an instant query" % (title, t.get("refId")))
    overlaps = []
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            a, b = rects[i][1], rects[j][1]
            if a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and \
                    b["y"] < a["y"] + a["h"]:
                overlaps.append("%r/%r" % (rects[i][0], rects[j][0]))
    chk(not overlaps, "no two panels overlap%s" % (": " + ", ".join(overlaps) if overlaps else ""))

    # queries
    used = set()
    known_series = series_names(registered)
    for where, t in targets_of(dash):
        expr = t.get("expr") or ""
        chk(expr.strip(), "%s: has an expr" % where)
        if where.startswith("annotation"):
            chk(t.get("datasource") == DS, "%s: datasource is ${datasource}" % where)
        else:
            for rng in re.findall(r"\[([^\]]*)\]", expr):
                chk(rng in ("$__rate_interval", "$__range"),
                    "%s: range [%s] is [$__rate_interval] or [$__range]" % (where, rng))
        for ref in re.findall(r"\$(\w+)", expr):
            chk(ref in KNOWN_VARS and (ref.startswith("__") or ref in tvars),
                "%s: $%s is a defined variable" % (where, ref))
        for m in re.finditer(r"histogram_quantile\(([^,]+),(.*)", expr):
            rest = m.group(2)
            chk("_bucket{" in rest and re.search(r"by \([^)]*\ble\b", rest),
                "%s: histogram_quantile over _bucket series grouped by le" % where)
        for name in re.findall(r"\b(driftgate_[a-z0-9_]+)", expr):
            used.add(name)
            chk(name in known_series, "%s: %s is a metric driftgate exports" % (where, name))

    for name in REQUIRED:
        chk(name in used, "the dashboard shows %s" % name)
    for name, kind in sorted(registered.items()):
        want = name + "_bucket" if kind == "histogram" else name
        chk(want in used, "every exported metric is on the dashboard: %s" % want)

    # the rules name only metrics driftgate exports
    for name in sorted(set(re.findall(r"\b(driftgate_[a-z0-9_]+)", rules_text))):
        chk(name in known_series, "rules.yml: %s is a metric driftgate exports" % name)
    return res


def self_test(dash, rules_text, registered):
    """Each break of a copy must be reported; [(ok, message)]."""
    def first_target(d, title):
        for p in all_panels(d):
            if p.get("title") == title:
                return p, p["targets"][0]
        raise KeyError(title)

    def hardcoded_ds(d):
        first_target(d, "Violations by kind")[1]["datasource"] = {"type": "prometheus", "uid": "prometheus"}

    def panel_ds(d):
        first_target(d, "Request rate")[0]["datasource"] = {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}

    def no_api_var(d):
        d["templating"]["list"] = [v for v in d["templating"]["list"] if v["name"] != "api"]

    def misspelled(d):
        t = first_target(d, "Violations by kind")[1]
        t["expr"] = t["expr"].replace("driftgate_violations_total", "driftgate_violation_total")

    def fixed_range(d):
        t = first_target(d, "Request rate")[1]
        t["expr"] = t["expr"].replace("[$__rate_interval]", "[5m]")

    def old_schema(d):
        d["schemaVersion"] = 27

    def graph_panel(d):
        first_target(d, "Verdicts")[0]["type"] = "graph"

    def unknown_var(d):
        t = first_target(d, "Verdicts")[1]
        t["expr"] = t["expr"].replace("$operation", "$operations")

    def overlap(d):
        first_target(d, "Verdicts")[0]["gridPos"]["x"] = 6

    out = []
    for name, fn in [("hard-coded target datasource", hardcoded_ds), ("hard-coded panel datasource", panel_ds),
                     ("api variable missing", no_api_var), ("misspelled metric", misspelled),
                     ("fixed [5m] range", fixed_range), ("schemaVersion 27", old_schema),
                     ("old graph panel", graph_panel), ("undefined variable", unknown_var),
                     ("overlapping panels", overlap)]:
        d = copy.deepcopy(dash)
        fn(d)
        fails = [m for ok, m in check(d, rules_text, registered) if not ok]
        out.append((bool(fails), "self-test: a copy with %s is rejected (%s)" %
                    (name, fails[0] if fails else "NOT caught")))
    bad_rules = rules_text.replace("driftgate_llm_circuit_open", "driftgate_llm_circuit_opened", 1)
    fails = [m for ok, m in check(dash, bad_rules, registered) if not ok]
    out.append((bool(fails), "self-test: rules naming an unknown metric are rejected (%s)" %
                (fails[0] if fails else "NOT caught")))
    return out


def main(argv):
    selftest = "--self-test" in argv
    args = [a for a in argv if a != "--self-test"]
    if len(args) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    dpath, rpath, root = args
    results = []
    try:
        with open(dpath, encoding="utf-8") as f:
            dash = json.load(f)
        results.append((True, "%s parses as JSON" % dpath))
    except (OSError, ValueError) as e:
        print("FAIL - %s does not parse: %s" % (dpath, e))
        print("0 passed, 1 failed")
        return 1
    with open(rpath, encoding="utf-8") as f:
        rules_text = f.read()
    registered = registered_metrics(root)
    results.append((len(registered) >= 20, "%d metrics registered in the C sources" % len(registered)))
    results += check(dash, rules_text, registered)
    if selftest:
        results += self_test(dash, rules_text, registered)
    npass = sum(1 for ok, _ in results if ok)
    nfail = len(results) - npass
    for ok, msg in results:
        if not ok or msg.startswith("self-test") or os.environ.get("VERBOSE"):
            print("%s - %s" % ("ok" if ok else "FAIL", msg))
    print("dashboard structure: %d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
