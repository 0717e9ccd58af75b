#!/usr/bin/python3
"""Structural checks of packaging/k8s/ (no cluster needed, none used).

usage: check_k8s.py K8S_DIR SPEC DRIFTGATE

Parses every manifest with PyYAML (Debian package python3-yaml), checks that
the pieces fit together (selectors, named ports, probes, annotations,
volumes, ConfigMap keys, the Secret reference, the security context), and
runs `DRIFTGATE check-config` on the config exactly as the pod would see it
(the projected volume's files written to a temporary /etc/driftgate).
Prints ok/FAIL lines; exit status 1 when a check failed.
"""
import os
import subprocess
import sys
import tempfile

import yaml

k8s_dir, spec_path, driftgate = sys.argv[1:4]
fails = 0


def check(cond, what):
    global fails
    print(("ok - " if cond else "FAIL - ") + "[k8s] " + what)
    if not cond:
        fails += 1
    return cond


def load(name):
    with open(os.path.join(k8s_dir, name)) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


docs = {}
for name in sorted(os.listdir(k8s_dir)):
    if not name.endswith(".yaml"):
        continue
    try:
        docs[name] = load(name)
        ok = all(isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
                 and (d.get("metadata", {}).get("name") or d["kind"] == "Kustomization")
                 for d in docs[name])
        check(ok, f"{name}: {len(docs[name])} document(s), each with apiVersion, kind, metadata.name")
    except yaml.YAMLError as e:
        check(False, f"{name}: does not parse: {e}")
if fails:
    sys.exit(1)

by_kind = {}
for name, ds in docs.items():
    for d in ds:
        by_kind.setdefault(d["kind"], []).append(d)

kust = by_kind["Kustomization"][0]
check(all(os.path.exists(os.path.join(k8s_dir, r)) for r in kust["resources"]),
      "kustomization.yaml: every resource exists")
check("secret.example.yaml" not in kust["resources"],
      "kustomization.yaml leaves the example Secret out")

dep = by_kind["Deployment"][0]
tpl = dep["spec"]["template"]
labels = tpl["metadata"]["labels"]
pod = tpl["spec"]
check(all(labels.get(k) == v for k, v in dep["spec"]["selector"]["matchLabels"].items()),
      "Deployment selector matches the pod template's labels")
containers = {c["name"]: c for c in pod["containers"]}
check(set(containers) == {"app", "driftgate"}, "the pod has the app and the driftgate container")
dg = containers["driftgate"]
app = containers["app"]
dg_ports = {p["name"]: p["containerPort"] for p in dg["ports"]}
app_ports = {p["name"]: p["containerPort"] for p in app["ports"]}

svc = by_kind["Service"][0]
check(all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()),
      "Service selector matches the pod's labels")
check(all(p["targetPort"] in dg_ports for p in svc["spec"]["ports"]),
      "Service targets a named port of the driftgate container (not the app)")

ann = tpl["metadata"].get("annotations", {})
check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/path") == "/metrics"
      and ann.get("prometheus.io/port") == str(dg_ports.get("admin")),
      "prometheus.io/scrape, /port, /path point at driftgate's admin port and /metrics")
for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
    p = dg.get(probe, {}).get("httpGet", {})
    check(p.get("path") == path and p.get("port") == "admin", f"driftgate {probe}: GET {path} on the admin port")

psc = pod.get("securityContext", {})
csc = dg.get("securityContext", {})
check(psc.get("runAsNonRoot") is True and isinstance(psc.get("runAsUser"), int) and psc["runAsUser"] > 0,
      "pod runs as a non-root numeric user")
check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
      and csc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "seccompProfile RuntimeDefault")
for name, c in containers.items():
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
          and sc.get("capabilities", {}).get("drop") == ["ALL"],
          f"{name}: read-only root filesystem, no privilege escalation, capabilities drop ALL")
    r = c.get("resources", {})
    check("requests" in r and "limits" in r and "memory" in r["limits"],
          f"{name}: resource requests and a memory limit")

vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m for m in dg["volumeMounts"]}
check(all(m["name"] in vols for m in dg["volumeMounts"]), "every volumeMount names a volume of the pod")
state = mounts.get("/var/lib/driftgate")
check(state is not None and "emptyDir" in vols[state["name"]], "/var/lib/driftgate is an emptyDir")
conf = mounts.get("/etc/driftgate")
check(conf is not None and conf.get("readOnly") is True and "projected" in vols[conf["name"]],
      "/etc/driftgate is a read-only projected volume")

env = {e["name"]: e for e in dg.get("env", [])}
ref = env.get("GEMINI_API_KEY", {}).get("valueFrom", {}).get("secretKeyRef", {})
secret = by_kind["Secret"][0]
check(ref.get("optional") is True and ref.get("name") == secret["metadata"]["name"]
      and ref.get("key") in secret.get("stringData", {}),
      "GEMINI_API_KEY comes from the (optional) Secret of secret.example.yaml")

# The files the projected volume makes, from the ConfigMaps.
cms = {c["metadata"]["name"]: c for c in by_kind["ConfigMap"]}
files = {}
for src in vols[conf["name"]]["projected"]["sources"]:
    cm = cms.get(src["configMap"]["name"])
    if not check(cm is not None, f"ConfigMap {src['configMap']['name']} exists"):
        continue
    for item in src["configMap"]["items"]:
        if check(item["key"] in cm["data"], f"ConfigMap {cm['metadata']['name']} has key {item['key']}"):
            files[item["path"]] = cm["data"][item["key"]]
with open(spec_path) as f:
    check(files.get("specs/example.yaml") == f.read(),
          "the spec ConfigMap is identical to packaging/config/specs/example.yaml")

cfg = yaml.safe_load(files.get("driftgate.yaml", "{}"))
port = lambda addr: int(str(addr).rsplit(":", 1)[1])
check(str(cfg.get("listen", "")).startswith("0.0.0.0:") and port(cfg["listen"]) == dg_ports.get("http"),
      "config listen is 0.0.0.0 on the http containerPort")
check(str(cfg.get("admin", "")).startswith("0.0.0.0:") and port(cfg["admin"]) == dg_ports.get("admin"),
      "config admin is 0.0.0.0 on the admin containerPort (probes and scraping reach it)")
ups = [a["upstream"] for a in cfg.get("apis", [])]
check(ups and all(u.startswith("http://127.0.0.1:") and port(u) == app_ports.get("app") for u in ups),
      "every API's upstream is the app on 127.0.0.1 (same pod)")
check(os.path.dirname(cfg.get("store", {}).get("path", "")) == "/var/lib/driftgate",
      "the drift store is on the emptyDir")
drain = cfg.get("limits", {}).get("drain_timeout", "15s")
check(int(str(drain).rstrip("s")) < pod.get("terminationGracePeriodSeconds", 30),
      "drain_timeout is shorter than terminationGracePeriodSeconds")

np = by_kind["NetworkPolicy"][0]
check(all(labels.get(k) == v for k, v in np["spec"]["podSelector"]["matchLabels"].items()),
      "NetworkPolicy selects the pod")
np_ports = {p["port"]: r.get("from") for r in np["spec"]["ingress"] for p in r["ports"]}
check(np_ports.keys() == {dg_ports["http"], dg_ports["admin"]} and np_ports[dg_ports["admin"]],
      "NetworkPolicy opens the proxy port, the admin port only from a namespace, the app port not at all")

with tempfile.TemporaryDirectory() as d:
    etc = os.path.join(d, "etc", "driftgate")
    for path, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(etc, path)), exist_ok=True)
        with open(os.path.join(etc, path), "w") as f:
            f.write(text)
    r = subprocess.run([driftgate, "check-config", os.path.join(etc, "driftgate.yaml")],
                       capture_output=True, text=True)
    check(r.returncode == 0, "driftgate check-config accepts the pod's /etc/driftgate"
          + ("" if r.returncode == 0 else ": " + r.stderr.strip()))

sys.exit(1 if fails else 0)
