"""promql_names.py -- checks the PromQL of the deploy files against the metrics
the engine really publishes. Used by tests/deploy/test_dashboard.sh and
test_prometheus.sh (run with /usr/bin/python3: standard library only).

  promql_names.py SRC_ROOT dashboard FILE.json RULES_OUT
      checks the Grafana dashboard's structure and metric names, and writes
      every panel query as a recording rule into RULES_OUT (Grafana's
      variables replaced) for `promtool check rules`.
  promql_names.py SRC_ROOT rules FILE.yml
      checks the metric names of every `expr:` of a Prometheus rules file.
  promql_names.py SRC_ROOT live METRICS.txt FILE...
      checks the queries of dashboards (.json) and rules files against a
      live run's metrics (Prometheus text, as `shmtool stats` prints it):
      every metric read appears there, and every label a query filters,
      groups or names in its legend exists on a metric it reads.

The names the engine publishes are read from its C source: every
stats_metric(s, STATS_<TYPE>, "name", ...) call (histograms also publish
name_bucket, name_sum and name_count) and every "# TYPE name kind" written
by hand. Exit status 1 with one line per problem when anything is wrong."""

import json
import os
import re
import sys

# Metrics Prometheus itself attaches to every scrape target.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "Inf", "NaN"}
# Grafana's variables, replaced by values PromQL accepts.
GRAFANA_VARS = [("$__rate_interval", "1m"), ("$__interval", "1m"), ("$__range", "1h"),
                ("${strategy}", ".*"), ("$strategy", ".*")]

CALL = re.compile(r'stats_metric\s*\(\s*[^,()]+,\s*(STATS_[A-Z]+)\s*,\s*"([A-Za-z_:][A-Za-z0-9_:]*)"')
TYPE_LINE = re.compile(r'# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (counter|gauge|histogram|summary)')


def published_names(root):
    """Every metric name the engine's C source publishes (tests excluded)."""
    names = set(PROMETHEUS_OWN)
    for top, dirs, files in os.walk(root):
        rel = os.path.relpath(top, root)
        if rel.split(os.sep)[0] in ("tests", "build", ".git"):
            dirs[:] = []
            continue
        for f in files:
            if not f.endswith((".c", ".h")):
                continue
            with open(os.path.join(top, f), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            found = [(m.group(1) == "STATS_HISTOGRAM", m.group(2)) for m in CALL.finditer(text)]
            found += [(m.group(2) == "histogram", m.group(1)) for m in TYPE_LINE.finditer(text)]
            for histogram, name in found:
                names.add(name)
                if histogram:
                    names.update(name + s for s in ("_bucket", "_sum", "_count"))
    return names


def metric_names(expr):
    """The metric names an expression reads (functions, keywords, label
    names, durations and strings left out)."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    out = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        before = s[m.start() - 1] if m.start() else " "
        if before.isdigit() or before == ".":
            continue  # the unit of a number, as in 1e3
        if s[m.end():].lstrip().startswith("(") or m.group(0) in KEYWORDS:
            continue
        out.add(m.group(0))
    return out


def grafana_to_promql(expr):
    for var, value in GRAFANA_VARS:
        expr = expr.replace(var, value)
    return expr


def panels_of(dash):
    """Every panel, rows' nested panels included."""
    for p in dash.get("panels", []):
        yield p
        yield from p.get("panels", [])


def check_dashboard(path, known, rules_out):
    errors = []
    with open(path, encoding="utf-8") as fh:
        dash = json.load(fh)
    for key in ("title", "uid", "panels", "templating"):
        if key not in dash:
            errors.append(f"{path}: no '{key}'")
    exprs, ids = [], set()
    for p in panels_of(dash):
        where = f"{path}: panel {p.get('id')} '{p.get('title')}'"
        if p.get("id") in ids:
            errors.append(f"{where}: duplicate id")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            errors.append(f"{where}: no gridPos")
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"{where}: no query")
        for t in targets:
            expr = t.get("expr", "")
            if not metric_names(expr):
                errors.append(f"{where}: query {t.get('refId')} reads no metric: {expr!r}")
            exprs.append((where, expr))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.match(r"\s*label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,", q)
        if v.get("type") == "query":
            if not m:
                errors.append(f"{path}: variable {v.get('name')}: expected label_values(METRIC, LABEL), got {q!r}")
            elif m.group(1) not in known:
                errors.append(f"{path}: variable {v.get('name')}: unknown metric {m.group(1)}")
    for where, expr in exprs:
        for name in sorted(metric_names(expr) - known):
            errors.append(f"{where}: metric {name} is not published by the engine")
    # The issue asks for these views; a dashboard edit must not lose them.
    joined = "\n".join(e for _, e in exprs)
    for what, pattern in [("a p99 latency", r"histogram_quantile\(0\.99,"),
                          ("rejects by rule", r"by \(rule\) \(rate\(risk_violations_total"),
                          ("ring drops", r"ring_dropped_records_total"),
                          ("PnL per strategy", r"by \(strategy\) \(strategy_realized_pnl"),
                          ("position per strategy", r"by \(strategy, symbol\) \(strategy_position"),
                          ("rates", r"rate\(market_data_received_total")]:
        if not re.search(pattern, joined):
            errors.append(f"{path}: no panel shows {what}")
    rules = [{"record": f"dashboard:query_{i}", "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(exprs)]
    with open(rules_out, "w", encoding="utf-8") as fh:
        json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, fh, indent=1)  # JSON is YAML
    return errors


def rule_exprs(path):
    """(where, expr, "") for every single-line `expr:` of a rules file."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            m = re.match(r"\s*expr:\s*(.+?)\s*$", line)
            if m:
                out.append((f"{path}:{n}", m.group(1), ""))
    return out


def dashboard_exprs(path):
    """(where, expr, legend) for every query of a dashboard."""
    with open(path, encoding="utf-8") as fh:
        dash = json.load(fh)
    return [(f"{path}: panel {p.get('id')} '{p.get('title')}'", t.get("expr", ""), t.get("legendFormat", ""))
            for p in panels_of(dash) for t in p.get("targets") or []]


def check_rules(path, known):
    exprs = rule_exprs(path)
    errors = [] if exprs else [f"{path}: no expr: line found"]
    for where, expr, _ in exprs:
        for name in sorted(metric_names(expr) - known):
            errors.append(f"{where}: metric {name} is not published by the engine")
    return errors


def live_labels(path):
    """{metric name: set of label names} of a Prometheus text dump."""
    seen = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s", line)
            if m and not line.startswith("#"):
                labels = set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", m.group(2) or ""))
                seen.setdefault(m.group(1), set()).update(labels)
    return seen


def query_labels(expr, legend):
    """Label names a query filters or groups on, or prints in its legend."""
    labels = set(re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", legend))
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    for block in re.findall(r"\{([^}]*)\}", s):
        labels.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", block))
    for block in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", s):
        labels.update(x.strip() for x in block.split(",") if x.strip())
    return labels


def check_live(metrics_path, files):
    seen = live_labels(metrics_path)
    errors = []
    # Prometheus adds job and instance to every scraped sample.
    added = {"job", "instance"}
    for f in files:
        exprs = dashboard_exprs(f) if f.endswith(".json") else rule_exprs(f)
        for where, expr, legend in exprs:
            names = metric_names(expr) - PROMETHEUS_OWN
            if not names:
                continue
            for name in sorted(names - seen.keys()):
                errors.append(f"{where}: metric {name} did not appear in a live run")
            have = set().union(*(seen.get(n, set()) for n in names)) | added
            for label in sorted(query_labels(expr, legend) - have):
                errors.append(f"{where}: no metric of the query has label {label!r} in a live run")
    return errors


def main(argv):
    if argv[2:3] == ["live"] and len(argv) >= 5:
        errors = check_live(argv[3], argv[4:])
        for e in errors:
            print(e, file=sys.stderr)
        return 1 if errors else 0
    if len(argv) < 4 or argv[2] not in ("dashboard", "rules") or (argv[2] == "dashboard") != (len(argv) == 5):
        print(__doc__, file=sys.stderr)
        return 2
    known = published_names(argv[1])
    if "risk_checks_total" not in known:
        print(f"promql_names: found no stats_metric() calls under {argv[1]}", file=sys.stderr)
        return 1
    if argv[2] == "dashboard":
        errors = check_dashboard(argv[3], known, argv[4])
    else:
        errors = check_rules(argv[3], known)
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
