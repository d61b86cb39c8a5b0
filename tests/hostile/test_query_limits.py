"""Hostile PromQL queries: the Prometheus HTTP API (/api/v1/query_range and friends) answers
from the daemon's sample history, and a query over every series and a long range must not
tie the daemon up. alerts.query_max_samples refuses it (422 "execution", Prometheus' message)
as soon as the samples it would hold pass the bound — counted as Prometheus 2.42 counts
query.max-samples (daemon/strobed/alert/promql/sample_accounting.h): a point per series and
step where the series has a sample in the 5 m lookback, an expression's inputs held over all
steps, one series' window at a time for range functions. alerts.query_timeout stops a query
(503 "timeout") at its deadline; each refusal is counted in
strobe_promql_queries_refused_total and the daemon keeps serving. Both keys change through a
real SIGHUP (the alerts: section reloads live, except its notifiers, which the daemon reports
as needing a restart)."""

import json
import signal
import time
import urllib.parse

from hostile import assert_serving, metric

TOKEN = "limits-token"

CONFIG = """alerts:
  evaluation_interval: 100ms
  query_max_samples: %d
  query_timeout: %s
%s"""

NOTIFIER = """  notifiers:
    - type: log
"""

RULE = """  rules:
    - alert: ReloadedRule
      expr: p99 > 1
"""


def range_query(d, query, start, end, step, method="GET"):
    params = urllib.parse.urlencode({"query": query, "start": "%.3f" % start,
                                     "end": "%.3f" % end, "step": step})
    began = time.monotonic()
    if method == "GET":
        status, _, body = d.request("GET", "/api/v1/query_range?" + params, headers=d.headers,
                                    timeout=60)
    else:
        headers = dict(d.headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, _, body = d.request("POST", "/api/v1/query_range", body=params, headers=headers,
                                    timeout=60)
    return status, json.loads(body), time.monotonic() - began


def write_config(d, max_samples, timeout, extra):
    with open(d.config_path, "w") as f:
        f.write(CONFIG % (max_samples, timeout, extra))


def test_every_series_over_a_long_range_is_refused_quickly(daemon):
    d = daemon(token=TOKEN, config_text=CONFIG % (1000, "30s", NOTIFIER))

    # Wait until at least 50 series have had a sample 3 s ago, so the queries below hold a
    # known least number of samples whatever the timing. (This instant selector holds a point
    # per series: the daemon's few hundred, under 1,000.)
    def old_series():
        status, _, body = d.request(
            "GET", "/api/v1/query?" + urllib.parse.urlencode(
                {"query": '{__name__=~".+"} offset 3s'}), headers=d.headers)
        assert status == 200, body
        n = len(json.loads(body)["data"]["result"])
        return n if n >= 50 else None
    d.poll(old_series, "50 series sampled 3 s ago", timeout=30)

    # Every series over the last 3 s at a 10 ms step (301 steps), aggregated to one number per
    # step. Prometheus evaluates the selector over every step before counting and holds its
    # points: each of those >= 50 series has a sample in the lookback at every step, so
    # >= 50 x 301 = 15,050 > 1,000 — refused within the first steps. The result itself is
    # small (one point per step), which the old accounting (result points plus the samples of
    # one step: a few hundred) let through with 200.
    now = time.time()
    status, body, took = range_query(d, 'count({__name__=~".+"})', now - 3, now, "0.01")
    assert status == 422, (status, body)
    assert body == {"status": "error", "errorType": "execution",
                    "error": "query processing would load too many samples into memory in "
                             "query execution"}, body
    assert took < 2.0, took
    assert metric(d, "strobe_promql_queries_refused_total", reason="samples") == 1
    # A range of three hours at 1 s (10,801 steps) holds only the points of the steps where
    # the series has a sample (the history is seconds old, so well under 1,000): answered.
    status, body, took = range_query(d, "process_start_time_seconds", now - 3 * 3600, now, "1")
    assert status == 200, (status, body)
    [series] = body["data"]["result"]
    assert 1 <= len(series["values"]) <= 120, series
    assert metric(d, "strobe_promql_queries_refused_total", reason="samples") == 1
    # The resolution bound is checked before any work: 21,601 points per series.
    status, body, _ = range_query(d, "1", now - 3 * 3600, now, "0.5")
    assert status == 400 and body["errorType"] == "bad_data", body
    assert "exceeded maximum resolution of 11,000 points" in body["error"], body
    assert_serving(d)

    # SIGHUP: a larger sample bound and a 50 ms timeout apply live; the notifiers change is
    # reported as needing a restart and the running (log) notifier stays.
    write_config(d, 50_000_000, "50ms", RULE)
    d.signal(signal.SIGHUP)
    d.poll(lambda: metric(d, "strobe_alert_config_reloads_total", result="ok") == 1,
           "the alerts section reloaded")
    rules = [r["alert"] for r in d.get_json("/api/v1/alerts")["rules"]]
    assert rules == ["ReloadedRule"], rules
    assert "'alerts.notifiers' changed but needs a restart" in d.read_log()

    # Every series' window of an hour at each of 10,801 steps (three hours at 1 s; a few
    # hundred series x 30+ samples read per step) is far more work than 50 ms, and under the
    # new bound: it runs into the deadline, 503 "timeout", within a second of it.
    slow = 'count_over_time({__name__=~".+"}[1h])'
    status, body, took = range_query(d, slow, now - 3 * 3600, now, "1", method="POST")
    assert status == 503, (status, body)
    assert body == {"status": "error", "errorType": "timeout",
                    "error": "query timed out in query execution"}, body
    assert took < 1.5, took
    assert metric(d, "strobe_promql_queries_refused_total", reason="timeout") == 1
    assert metric(d, "strobe_promql_queries_refused_total", reason="samples") == 1

    # The daemon keeps serving queries and everything else.
    assert_serving(d)
    status, body, _ = range_query(d, "1 + 1", now - 2, now, "1")
    assert status == 200, body
    assert body["data"]["resultType"] == "matrix", body
    [series] = body["data"]["result"]
    assert series["metric"] == {} and [v for _, v in series["values"]] == ["2", "2", "2"], body
    times = [t for t, _ in series["values"]]
    assert abs(times[0] - (now - 2)) < 0.002 and abs(times[2] - times[0] - 2) < 1e-6, times

    # A bad reload (an invalid key value) is refused whole: the running limits stay.
    write_config(d, 0, "50ms", RULE)
    d.signal(signal.SIGHUP)
    d.poll(lambda: metric(d, "strobe_alert_config_reloads_total", result="failed") == 1,
           "the invalid alerts section refused")
    status, body, _ = range_query(d, slow, now - 3 * 3600, now, "1")
    assert status == 503, (status, body)
