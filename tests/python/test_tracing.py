"""Spans (nesting through contextvars, also across asyncio tasks) and events."""

import asyncio
import time

import pytest

import strobe


def spans_by_name(records):
    return {r["name"]: r for r in records if r["type"] == "span"}


def test_nested_spans_share_trace_and_link_parents(conn, dump):
    before = time.time_ns()
    with conn.span("request", route="/users", attempt=2) as root:
        assert strobe.current_span() is root
        with conn.span("db.query", db="pg") as child:
            with conn.span("db.fetch") as grandchild:
                grandchild.set_attribute("rows", 3)
        with conn.span("render"):
            pass
    assert strobe.current_span() is None
    after = time.time_ns()
    conn.flush()
    recs = dump.until_ping()
    assert [r["name"] for r in recs] == ["db.fetch", "db.query", "render", "request"]
    s = spans_by_name(recs)
    assert s["request"]["parent_span_id"] == 0
    assert s["db.query"]["parent_span_id"] == s["request"]["span_id"] == root.span_id
    assert s["db.fetch"]["parent_span_id"] == s["db.query"]["span_id"] == child.span_id
    assert s["render"]["parent_span_id"] == root.span_id
    assert len({r["trace_id"] for r in recs}) == 1
    assert s["request"]["trace_id"] == root.trace_id.hex()
    assert s["request"]["attributes"] == {"route": "/users", "attempt": "2"}
    assert s["db.fetch"]["attributes"] == {"rows": "3"}
    for r in recs:
        assert before <= r["start_ns"] <= r["end_ns"] <= after
    assert len({r["span_id"] for r in recs}) == 4


def test_span_records_exception_and_reraises(conn, dump):
    with pytest.raises(ZeroDivisionError):
        with conn.span("fails", ok=True):
            1 / 0
    conn.flush()
    (rec,) = dump.until_ping()
    assert rec["attributes"] == {"ok": "true", "error": "true",
                                 "exception.type": "ZeroDivisionError"}


def test_sibling_roots_get_distinct_traces(conn, dump):
    with conn.span("a"):
        pass
    with conn.span("b"):
        pass
    conn.flush()
    a, b = dump.until_ping()
    assert a["trace_id"] != b["trace_id"]
    assert a["parent_span_id"] == b["parent_span_id"] == 0


def test_asyncio_tasks_nest_under_their_own_parent(conn, dump):
    async def worker(name):
        async with conn.span(f"task.{name}") as outer:
            await asyncio.sleep(0.01)  # interleave with the other task
            async with conn.span(f"step.{name}"):
                await asyncio.sleep(0.01)
            assert strobe.current_span() is outer

    async def main():
        async with conn.span("main"):
            await asyncio.gather(worker("x"), worker("y"))

    asyncio.run(main())
    conn.flush()
    s = spans_by_name(dump.until_ping())
    assert set(s) == {"main", "task.x", "task.y", "step.x", "step.y"}
    for n in ("x", "y"):
        assert s[f"task.{n}"]["parent_span_id"] == s["main"]["span_id"]
        assert s[f"step.{n}"]["parent_span_id"] == s[f"task.{n}"]["span_id"]
    assert len({r["trace_id"] for r in s.values()}) == 1


def test_span_misuse(conn):
    with pytest.raises(TypeError):
        conn.span(7)
    with pytest.raises(ValueError):
        conn.span("")
    sp = conn.span("once")
    with sp:
        pass
    with pytest.raises(RuntimeError):
        with sp:
            pass
    with pytest.raises(ValueError):
        with conn.span("bad", **{"k": "v\0"}):
            pass


def test_events(conn, dump):
    assert conn.event("deploy", version="1.2", canary=False) is True
    assert conn.event("tick", timestamp_ns=123456789) is True
    conn.flush()
    deploy, tick = dump.until_ping()
    assert deploy["name"] == "deploy"
    assert deploy["attributes"] == {"version": "1.2", "canary": "false"}
    assert abs(deploy["ts"] - time.time_ns()) < 60 * 10**9
    assert tick == {**tick, "name": "tick", "ts": 123456789, "attributes": {}}
    with pytest.raises(TypeError):
        conn.event(b"bytes")
    with pytest.raises(TypeError):
        conn.event("x", timestamp_ns=-1)
    with pytest.raises(ValueError):
        conn.event("")
