#!/usr/bin/python3
"""deploy/kubernetes: every manifest parses (python3-yaml), and the pieces fit together the way
kustomize and the kubelet will need them to: files a kustomization names exist, names and
selectors agree, probes hit /healthz and /readyz, every container is locked down, the
configuration is valid for `verdict serve` (checkconfig, the configuration module), and every
policy in the ConfigMap validates with `verdict policy validate`.

usage: test_kubernetes.py KUBERNETES_DIR VERDICT CHECKCONFIG
"""
import os
import subprocess
import sys

import yaml

root, verdict, checkconfig = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []
passed = 0


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what)


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# 1. Every YAML file parses.
docs = {}
for dirpath, _, files in os.walk(root):
    for name in sorted(files):
        if name.endswith((".yaml", ".yml")):
            p = os.path.join(dirpath, name)
            try:
                docs[p] = load_all(p)
                check(True, p)
            except yaml.YAMLError as e:
                check(False, "%s does not parse: %s" % (p, e))


def kustomization(d):
    return load_all(os.path.join(d, "kustomization.yaml"))[0]


def generator_files(entry):
    for f in entry.get("files", []):
        yield f.split("=", 1)[-1], f.split("=", 1)[0] if "=" in f else os.path.basename(f)


def generator_keys(entry):
    keys = [k for _, k in generator_files(entry)]
    keys += [lit.split("=", 1)[0] for lit in entry.get("literals", [])]
    return keys


# 2. The base.
base = os.path.join(root, "base")
kb = kustomization(base)
objs = []
for r in kb["resources"]:
    p = os.path.join(base, r)
    check(os.path.isfile(p), "base resource %s exists" % r)
    if os.path.isfile(p):
        objs += load_all(p)
by_kind = {}
for o in objs:
    check({"apiVersion", "kind", "metadata"} <= set(o), "%s has apiVersion, kind, metadata" % o)
    by_kind.setdefault(o["kind"], []).append(o)
for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
             "NetworkPolicy", "ServiceAccount"):
    check(len(by_kind.get(kind, [])) == 1, "base has one %s" % kind)

cms = {g["name"]: g for g in kb.get("configMapGenerator", [])}
secrets = {g["name"]: g for g in kb.get("secretGenerator", [])}
for g in list(cms.values()) + list(secrets.values()):
    for f, _ in generator_files(g):
        check(os.path.isfile(os.path.join(base, f)), "generator file %s exists" % f)
check("verdict-policies" in cms, "a ConfigMap of policies")
check("verdict-config" in cms, "a ConfigMap of the configuration")
check(set(generator_keys(secrets.get("verdict-secrets", {}))) ==
      {"signing-key.pem", "nonce.secret", "admin-token"},
      "the Secret holds the signing key, the nonce secret and the admin token")
# The base's secret values are placeholders that cannot run: never a usable key.
for lit in secrets["verdict-secrets"].get("literals", []):
    check(lit.split("=", 1)[1] == "", "base secret %s is an empty placeholder" % lit)

dep = by_kind["Deployment"][0]
spec = dep["spec"]
pod = spec["template"]["spec"]
labels = spec["template"]["metadata"]["labels"]
check(spec["replicas"] >= 2, "several replicas")
check(spec["selector"]["matchLabels"].items() <= labels.items(), "selector matches the pods")
check(pod["securityContext"].get("runAsNonRoot") is True, "pods run as non-root")
check(pod["securityContext"].get("seccompProfile", {}).get("type") == "RuntimeDefault",
      "seccomp RuntimeDefault")
check(pod.get("automountServiceAccountToken") is False, "no service account token")
volumes = {v["name"]: v for v in pod["volumes"]}
containers = pod["containers"] + pod.get("initContainers", [])
for c in containers:
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, "%s: read-only root filesystem" % c["name"])
    check(sc.get("allowPrivilegeEscalation") is False, "%s: no privilege escalation" % c["name"])
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], "%s: drops capabilities" % c["name"])
    check("requests" in c.get("resources", {}), "%s: resource requests" % c["name"])
    for m in c.get("volumeMounts", []):
        check(m["name"] in volumes, "%s mounts a declared volume %s" % (c["name"], m["name"]))
for v in volumes.values():
    if "configMap" in v:
        n = v["configMap"]["name"]
        check(n in cms or v["configMap"].get("optional") is True,
              "ConfigMap %s is generated or optional" % n)
    if "secret" in v:
        s = secrets.get(v["secret"]["secretName"])
        check(s is not None, "Secret %s is generated" % v["secret"]["secretName"])
        for it in v["secret"].get("items", []):
            check(it["key"] in generator_keys(s), "Secret key %s exists" % it["key"])

main = next(c for c in pod["containers"] if c["name"] == "verdict")
check(main["args"][0] == "serve", "the main container runs verdict serve")
check(main["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness probe on /healthz")
check(main["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness probe on /readyz")
check(main["startupProbe"]["httpGet"]["path"] == "/healthz", "startup probe on /healthz")
port_names = {p["name"]: p["containerPort"] for p in main["ports"]}
for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
    check(main[probe]["httpGet"]["port"] in port_names, "%s targets a named port" % probe)
for e in main.get("env", []):
    ref = e.get("valueFrom", {}).get("secretKeyRef")
    if ref:
        check(ref["key"] in generator_keys(secrets[ref["name"]]),
              "env %s comes from an existing Secret key" % e["name"])
init_names = [c["name"] for c in pod.get("initContainers", [])]
check("policy-sync" in init_names, "an init container syncs the policies")
sync = next(c for c in pod["initContainers"] if c["name"] == "policy-sync")
check(sync["args"][:2] == ["policy", "sync"], "it runs verdict policy sync")


def mount_path(container, volume):
    return next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume)


check(sync["args"][2] == mount_path(sync, "policies"), "policy sync reads the policies mount")

# The configuration the main container reads is the ConfigMap's, and it is valid.
cfg_arg = main["args"][main["args"].index("--config") + 1]
check(os.path.dirname(cfg_arg) == mount_path(main, "config"), "--config is in the config mount")
check(os.path.basename(cfg_arg) in generator_keys(cms["verdict-config"]),
      "--config names a key of the ConfigMap")


def check_config(path, policy_names):
    r = subprocess.run([checkconfig, path], capture_output=True, text=True)
    check(r.returncode == 0, "%s is a valid configuration: %s" % (path, r.stderr.strip()))
    cfg = load_all(path)[0]
    secrets_dir = mount_path(main, "secrets")
    items = {it["path"] for it in volumes["secrets"]["secret"]["items"]}
    for key in (("signing", "key"), ("challenge", "secret")):
        p = cfg[key[0]][key[1]]
        check(os.path.dirname(p) == secrets_dir and os.path.basename(p) in items,
              "%s.%s is a file of the mounted Secret" % key)
    check(os.path.dirname(cfg["db"]) == mount_path(main, "state"), "the database is on the volume")
    dp = cfg.get("appraisal", {}).get("default_policy")
    check(dp is None or dp in policy_names, "default policy %s is in the ConfigMap" % dp)


def policy_names(d, gen):
    names = []
    for f, _ in generator_files(gen):
        p = os.path.join(d, f)
        r = subprocess.run([verdict, "policy", "validate", p], capture_output=True, text=True)
        check(r.returncode == 0, "policy %s validates: %s" % (p, r.stdout + r.stderr))
        names.append(load_all(p)[0]["name"])
    return names


base_policies = policy_names(base, cms["verdict-policies"])
check_config(os.path.join(base, "verdict.yaml"), base_policies)

for kind, sel in (("Service", lambda o: o["spec"]["selector"]),
                  ("PodDisruptionBudget", lambda o: o["spec"]["selector"]["matchLabels"]),
                  ("NetworkPolicy", lambda o: o["spec"]["podSelector"]["matchLabels"])):
    check(sel(by_kind[kind][0]).items() <= labels.items(), "%s selects the pods" % kind)
svc = by_kind["Service"][0]
check(all(p["targetPort"] in port_names for p in svc["spec"]["ports"]), "Service targets http")
hpa = by_kind["HorizontalPodAutoscaler"][0]
check(hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"], "HPA scales verdict")
check(2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], "HPA bounds")
np_ = by_kind["NetworkPolicy"][0]
check(set(np_["spec"]["policyTypes"]) == {"Ingress", "Egress"}, "ingress and egress restricted")
check(any(p["port"] == port_names["http"] for r in np_["spec"]["ingress"] for p in r["ports"]),
      "the API port is allowed in")

# 3. Overlays: resources exist, generators replace or merge the base's, patches hit real paths.
overlays = os.path.join(root, "overlays")
for name in sorted(os.listdir(overlays)):
    d = os.path.join(overlays, name)
    k = kustomization(d)
    for r in k["resources"]:
        p = os.path.normpath(os.path.join(d, r))
        check(os.path.isfile(p) or os.path.isfile(os.path.join(p, "kustomization.yaml")),
              "%s: resource %s exists" % (name, r))
    gens = k.get("configMapGenerator", []) + k.get("secretGenerator", [])
    for g in gens:
        check(g["name"] in cms or g["name"] in secrets, "%s: %s is the base's" % (name, g["name"]))
        check(g.get("behavior") in ("replace", "merge"), "%s: %s has a behavior" % (name, g["name"]))
        for f, _ in generator_files(g):
            if f.startswith("secrets/"):
                continue  # made by hand, never committed (the overlay's README.md)
            check(os.path.isfile(os.path.join(d, f)), "%s: %s exists" % (name, f))
    if "verdict-config" in {g["name"] for g in gens}:
        g = next(g for g in gens if g["name"] == "verdict-config")
        names = list(base_policies)
        pg = next((g for g in gens if g["name"] == "verdict-policies"), None)
        if pg is not None:
            names = (names if pg.get("behavior") == "merge" else []) + policy_names(d, pg)
        for f, _ in generator_files(g):
            check_config(os.path.join(d, f), names)
    for p in k.get("patches", []):
        target = next(o for o in objs if o["kind"] == p["target"]["kind"])
        for op in yaml.safe_load(p["patch"]):
            node = target
            for part in op["path"].strip("/").split("/"):
                node = node[int(part)] if isinstance(node, list) else node.get(part)
                if node is None:
                    break
            check(node is not None, "%s: patch path %s exists" % (name, op["path"]))

# 4. When kubectl (with its built-in kustomize) is installed: render the base and every overlay
# (with throw-away secret files in a copy), and check what kustomize made of the references.
import shutil
import tempfile

if shutil.which("kubectl"):
    with tempfile.TemporaryDirectory() as t:
        copy = os.path.join(t, "k")
        shutil.copytree(root, copy)
        for name in sorted(os.listdir(os.path.join(copy, "overlays"))):
            sd = os.path.join(copy, "overlays", name, "secrets")
            os.makedirs(sd, exist_ok=True)
            for f in ("signing-key.pem", "nonce.secret", "admin-token"):
                with open(os.path.join(sd, f), "w") as fh:
                    fh.write("throw-away test value\n")
        for d in [os.path.join(copy, "base")] + [os.path.join(copy, "overlays", n) for n in
                                                 sorted(os.listdir(os.path.join(copy, "overlays")))]:
            r = subprocess.run(["kubectl", "kustomize", d], capture_output=True, text=True)
            check(r.returncode == 0, "kubectl kustomize %s: %s" % (d, r.stderr.strip()))
            if r.returncode != 0:
                continue
            out = [o for o in yaml.safe_load_all(r.stdout) if o]
            names = {(o["kind"], o["metadata"]["name"]) for o in out}
            dep = next(o for o in out if o["kind"] == "Deployment")
            pod = dep["spec"]["template"]["spec"]
            for v in pod["volumes"]:
                if "configMap" in v and not v["configMap"].get("optional"):
                    check(("ConfigMap", v["configMap"]["name"]) in names,
                          "rendered: volume %s names a rendered ConfigMap" % v["name"])
                if "secret" in v:
                    check(("Secret", v["secret"]["secretName"]) in names,
                          "rendered: volume %s names a rendered Secret" % v["name"])
            if "overlays" in d:
                check(all(o["metadata"].get("namespace") == "verdict" for o in out
                          if o["kind"] != "Namespace"), "rendered overlay: namespace verdict")
                check(dep["spec"]["replicas"] == 4, "rendered overlay: four replicas")
                pols = next(o for o in out if o["kind"] == "ConfigMap" and
                            o["metadata"]["name"].startswith("verdict-policies"))
                check(set(pols["data"]) == {"production.yaml", "no-debug.yaml"},
                      "rendered overlay: both policies in the ConfigMap")
else:
    print("kubectl not installed: kustomize rendering not checked")

# 5. The checks can fail: a broken manifest is caught.
try:
    yaml.safe_load("a: [1, 2\nb: 3\n")
    check(False, "a broken YAML document is refused")
except yaml.YAMLError:
    check(True, "a broken YAML document is refused")

print("%d passed, %d failed" % (passed, len(failures)))
sys.exit(1 if failures else 0)
