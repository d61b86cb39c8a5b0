"""Hole 7, the reclamation part: keys of a flood of one-off attribute keys must not stay in the
key table for good. Per-request and per-source limits (test_key_table.py) slow one client down,
but clients from many addresses could still fill the daemon's 65,536-key table with keys nobody
sends again; every new label key of every client was then refused for the process's lifetime.
Now keys interned for untrusted input are reclaimable: once no batch in flight can hold them a
sweep recycles their ids (docs/security.md, "Key table"), so a legitimate client's new label key
is admitted again, while the series stored before keep their labels exactly."""

import json

from hostile import assert_serving, gauge_points, metric, post

CAPACITY = 65_536  # KeyTable::kDefaultCapacity
PER_REQUEST = 1024  # otlp_http max_new_keys_per_request default
PER_SOURCE = 4096  # otlp_http max_new_keys_per_source default (per new_keys_window, 1h)
SOURCES = ["127.0.0.%d" % i for i in range(2, 22)]  # 20 addresses: 81,920 keys > CAPACITY
FLOOD = len(SOURCES) * PER_SOURCE
GOOD = "127.0.0.1"






def flood_span(otlp, source, first):
    """A span with PER_REQUEST attributes, each a one-off key never sent again."""
    attrs = [{"key": "flood_%d" % (first + i), "value": {"intValue": "1"}}
             for i in range(PER_REQUEST)]
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "0af7651916cd43dd8448eb211c8%05x" % (first // PER_REQUEST),
        "spanId": "b7ad6b7169203331", "name": "flood",
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000000000001",
        "attributes": attrs}]}]}]})
    status, reply = post(otlp, "/v1/traces", body, source)
    assert status == 200, (status, reply[:300])


def series(d, name):
    """{labels text: value} of `name` on /metrics."""
    _, _, text = d.request("GET", "/metrics")
    got = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line.rsplit(" ", 1)
            got[labels] = float(value)
    return got


def test_flooded_key_table_is_reclaimed(daemon):
    d = daemon(otlp_http="127.0.0.1:0", args=["--set", "host.enabled=false"],
               env={"STROBE_KEY_TABLE_SWEEP_INTERVAL": "200ms"})
    otlp = d.wait_otlp()

    # The keys the daemon interned itself (permanent): the table holds these and no more once
    # every key of client input is reclaimed.
    permanent = metric(d, "strobe_event_key_table_keys")
    assert permanent > 0

    # A legitimate client's series, before the flood. "customer" is a key of untrusted input
    # (reclaimable: the series keeps its text); service.name is one of the daemon's own.
    status, body = post(otlp, "/v1/metrics", gauge_points(
        "orders", [({"customer": "alice"}, 10), ({"customer": "bob"}, 20)], "shop"), GOOD)
    assert status == 200 and json.loads(body) == {}, (status, body[:300])
    before = d.poll(lambda: (lambda s: s if len(s) == 2 else None)(series(d, "orders")),
                    "the orders series on /metrics", timeout=15)

    # The flood: 20 addresses, each its full quota of one-off keys, 81,920 in all: more than the
    # table holds. Sweeps run meanwhile (the table passes its high-water mark), so part of it
    # is admitted through ids reclaimed from earlier flood requests; the rest is refused
    # (key_table_full) and counted as dropped span attributes.
    for s, source in enumerate(SOURCES):
        for r in range(PER_SOURCE // PER_REQUEST):
            flood_span(otlp, source, (s * PER_SOURCE) + r * PER_REQUEST)
    assert_serving(d)
    refused_full = metric(d, "strobe_receiver_dropped_attributes_total", receiver="otlp_http",
                          signal="traces", reason="key_table_full")
    assert metric(d, "strobe_receiver_dropped_attributes_total", receiver="otlp_http",
                  signal="traces") == refused_full  # no other limit was hit
    admitted = FLOOD - refused_full
    assert admitted >= CAPACITY - (permanent + 1), admitted  # it filled the table at least once

    # Once the flood's batches have left the pipeline, every key it added (and "customer", not
    # sent since) is reclaimed: the table is back to the permanent keys.
    def reclaimed():
        keys = metric(d, "strobe_event_key_table_keys")
        return keys if keys == permanent else None
    d.poll(reclaimed, "the flood's keys reclaimed (strobe_event_key_table_keys back to %d)"
           % permanent, timeout=30)
    assert metric(d, "strobe_event_key_table_reclaimed_total") == admitted + 1
    assert metric(d, "strobe_event_key_table_sweeps_total") >= 3

    # A new label key of the legitimate client is admitted, and its series are right ...
    status, body = post(otlp, "/v1/metrics", gauge_points(
        "stock", [({"warehouse": "north"}, 7), ({"warehouse": "south"}, 9)], "shop"), GOOD)
    assert status == 200 and json.loads(body) == {}, (status, body[:300])
    stock = d.poll(lambda: (lambda s: s if len(s) == 2 else None)(series(d, "stock")),
                   "the stock series on /metrics", timeout=15)
    assert sorted(stock.values()) == [7.0, 9.0], stock
    assert [v for k, v in stock.items() if 'warehouse="north"' in k] == [7.0], stock
    assert [v for k, v in stock.items() if 'warehouse="south"' in k] == [9.0], stock
    # ... and the series stored before the flood kept their labels and values exactly.
    assert series(d, "orders") == before
    # The legitimate client sends "customer" again: a fresh id for the same text, the same series.
    status, body = post(otlp, "/v1/metrics", gauge_points(
        "orders", [({"customer": "alice"}, 11), ({"customer": "bob"}, 21)], "shop"), GOOD)
    assert status == 200 and json.loads(body) == {}, (status, body[:300])
    after = d.poll(lambda: (lambda s: s if 21.0 in s.values() else None)(series(d, "orders")),
                   "the updated orders series", timeout=15)
    assert sorted(after) == sorted(before) and sorted(after.values()) == [11.0, 21.0], after
    assert_serving(d)
