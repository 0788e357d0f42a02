#!/usr/bin/python3
"""deploy/prometheus/verdict-alerts.yaml: it parses as a Prometheus rule file (groups of rules,
each with alert, expr, labels.severity), and every verdict_* metric an expression uses is one
the code exports: a name registered or sampled in verifier/metrics/ (histograms also as
_bucket, _sum, _count), and every status label value one that vd_tier_name can produce.

usage: test_alerts.py RULES SOURCE_DIR
"""
import glob
import re
import sys

import yaml

rules_path, src = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


code = ""
for p in glob.glob(src + "/verifier/metrics/*.c"):
    code += open(p).read()
known = set(re.findall(r'"(verdict_[a-z0-9_]+)"', code))
hist = set()
for m in re.finditer(r'VD_METRIC_HISTOGRAM,\s*"(verdict_[a-z0-9_]+)"', code):
    hist.add(m.group(1))
for h in hist:
    known |= {h + "_bucket", h + "_sum", h + "_count"}
check(len(known) > 20, "metric names found in the code (%d)" % len(known))
tiers = set(re.findall(r'return "([a-z]+)";', open(src + "/policies/ar4si.c").read()))
check({"none", "affirming", "contraindicated"} <= tiers, "EAR status names found")

doc = yaml.safe_load(open(rules_path))
n = 0
for g in doc["groups"]:
    check(isinstance(g.get("name"), str), "group has a name")
    for r in g["rules"]:
        n += 1
        check(isinstance(r.get("alert"), str) and isinstance(r.get("expr"), str),
              "rule has alert and expr: %s" % r)
        check(r.get("labels", {}).get("severity") in ("critical", "warning", "info"),
              "%s has a severity" % r.get("alert"))
        expr = r["expr"]
        check(expr.count("(") == expr.count(")"), "%s: balanced parentheses" % r["alert"])
        for name in re.findall(r"\b(verdict_[a-z0-9_]+)", expr):
            check(name in known, "%s: %s is a metric verdict exports" % (r["alert"], name))
        for status in re.findall(r'status="([a-z]+)"', expr):
            check(status in tiers, "%s: status %s is an EAR status" % (r["alert"], status))
check(n >= 5, "several alerts")
# The check can fail: an unknown name is caught.
check("verdict_no_such_metric_total" not in known, "unknown names are not known")
print("%d rules, %d failed" % (n, len(failures)))
sys.exit(1 if failures else 0)
