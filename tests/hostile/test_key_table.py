"""Hole 7: key table exhaustion corrupted data. One OTLP request with 70,000 distinct attribute
keys filled the daemon's global key table (65,536 keys) for good; afterwards series that differ
only by a new label collapsed into one ({customer="alice"} 10 and {customer="bob"} 20 became one
series with 20) and new span attributes vanished. Now a request may add at most 1,024 keys new
to the table and one client address at most 4,096 per hour (the defaults); metric points that
would need more are refused whole and reported as partial success, never stored without their
label, so another client's series and span attributes stay intact."""

import json

from hostile import assert_serving, gauge_points, metric, post

ATTACKER = "127.0.0.2"  # any 127/8 address reaches a loopback listener: its own client address
GOOD = "127.0.0.1"
PER_REQUEST = 1024  # otlp_http max_new_keys_per_request default
PER_SOURCE = 4096  # otlp_http max_new_keys_per_source default (per new_keys_window, 1h)
SPAN_DROPPED = 70_000 - PER_REQUEST  # attributes of the attacker's span beyond its limit






def attack_span(otlp, count):
    """One request from the attacker: a span with `count` attributes, each a new key."""
    attrs = [{"key": "attack_%d" % i, "value": {"intValue": "1"}} for i in range(count)]
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
        "name": "attack", "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000000000001", "attributes": attrs}]}]}]})
    status, reply = post(otlp, "/v1/traces", body, ATTACKER)
    assert status == 200, (status, reply[:300])


def attack_points(otlp, first_key, count):
    """One request from the attacker: `count` metric points, each with its own new key."""
    points = [({"attack_%d" % i: "x"}, 1) for i in range(first_key, first_key + count)]
    status, body = post(otlp, "/v1/metrics", gauge_points("attack", points, "attacker"), ATTACKER)
    assert status == 200, (status, body[:300])
    return json.loads(body)


def refused(d, reason):
    return metric(d, "strobe_receiver_refused_metric_points_total", receiver="otlp_http",
                  reason=reason)


def test_one_client_cannot_exhaust_the_key_table(daemon):
    d = daemon(otlp_http="127.0.0.1:0", args=["--set", "host.enabled=false"])
    otlp = d.wait_otlp()

    # One request with 70,000 distinct keys (a span's attributes), then metric points with new
    # keys from the same address. (The replies are checked below, after the good client: on a
    # daemon without the limits the test then fails on what the issue saw, collapsed series.)
    attack_span(otlp, 70_000)
    replies = [attack_points(otlp, 100_000 * i, PER_REQUEST + 76)
               for i in range(1, PER_SOURCE // PER_REQUEST)]
    replies.append(attack_points(otlp, 900_000, 1_100))
    assert_serving(d)

    # A well-behaved client from another address: two series that differ only by a new label
    # stay two series with their own values.
    status, body = post(otlp, "/v1/metrics", gauge_points(
        "orders", [({"customer": "alice"}, 10), ({"customer": "bob"}, 20)], "shop"), GOOD)
    assert status == 200 and json.loads(body) == {}, (status, body[:300])

    def orders():
        _, _, text = d.request("GET", "/metrics")
        got = {}
        for line in text.splitlines():
            if line.startswith("orders{"):
                labels, value = line.rsplit(" ", 1)
                got[labels] = float(value)
        return got if 20.0 in got.values() else None  # one request: bob's point, then all
    got = d.poll(orders, "the orders points on /metrics", timeout=15)
    alice = [v for k, v in got.items() if 'customer="alice"' in k]
    bob = [v for k, v in got.items() if 'customer="bob"' in k]
    assert alice == [10.0] and bob == [20.0] and len(got) == 2, got

    # Its span attributes, on a key new to the table, survive.
    trace_id = "5b8efff798038103d269b633813fc60c"
    span = json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": "eee19b7ec3c1b174", "name": "checkout", "kind": 2,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000050000000",
            "attributes": [{"key": "customer.tier", "value": {"stringValue": "gold"}}]}]}]}]})
    status, body = post(otlp, "/v1/traces", span, GOOD)
    assert status == 200 and json.loads(body) == {}, (status, body[:300])

    def trace():
        st, _, b = d.request("GET", "/api/v1/traces/" + trace_id)
        return json.loads(b) if st == 200 and json.loads(b).get("spanCount") == 1 else None
    t = d.poll(trace, "the good client's trace", timeout=15)
    assert t["spans"][0]["attributes"].get("customer.tier") == "gold", t["spans"][0]
    assert metric(d, "strobe_receiver_dropped_attributes_total", signal="traces") == SPAN_DROPPED

    # The attacker: the span kept PER_REQUEST attributes, the others dropped and counted; of
    # each metric request the points with the first PER_REQUEST new keys stored, the rest refused
    # and reported; once its address added PER_SOURCE keys this window, nothing more.
    assert metric(d, "strobe_receiver_dropped_attributes_total", receiver="otlp_http",
                  signal="traces", reason="key_request_limit") == SPAN_DROPPED
    for r in replies[:-1]:
        assert r["partialSuccess"]["rejectedDataPoints"] == "76", r
        assert "key_request_limit" in r["partialSuccess"]["errorMessage"], r
    assert replies[-1]["partialSuccess"]["rejectedDataPoints"] == "1100", replies[-1]
    assert "key_source_limit" in replies[-1]["partialSuccess"]["errorMessage"], replies[-1]
    # Counted exactly, and nothing of the good client refused.
    assert refused(d, "key_request_limit") == 3 * 76
    assert refused(d, "key_source_limit") == 1_100
    assert refused(d, "key_table_full") == 0
    assert metric(d, "strobe_event_key_table_rejected_total", reason="key_request_limit") == \
        SPAN_DROPPED + 3 * 76
    assert metric(d, "strobe_event_key_table_rejected_total", reason="key_source_limit") == 1_100
    assert metric(d, "strobe_event_key_table_keys") < 65_536 - 50_000  # far from full
    assert_serving(d)
