"""Just enough OTLP protobuf, in the standard library, for the hostile suite and the soak
(bench/soak): encoders for the requests clients send (spans, gauge and sum points) and a
decoder that walks the requests the daemon's otlp_http exporter delivers to a sink. Field numbers are those of
opentelemetry/proto (collector/{trace,metrics}/v1, trace/v1, metrics/v1, common/v1)."""

import struct

# ---- encoding ---------------------------------------------------------------------------------


def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def f_varint(num, v):
    return varint(num << 3) + varint(v)


def f_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(num << 3 | 2) + varint(len(b)) + b


def f_fixed64(num, v):
    return varint(num << 3 | 1) + struct.pack("<Q", v)


def f_double(num, v):
    return varint(num << 3 | 1) + struct.pack("<d", v)


def kv(key, value):
    """A KeyValue: str, bool, int and float values as the matching AnyValue."""
    if isinstance(value, bool):
        any_value = f_varint(2, int(value))
    elif isinstance(value, int):
        any_value = f_varint(3, value)
    elif isinstance(value, float):
        any_value = f_double(4, value)
    elif isinstance(value, bytes):  # a string value sent as is (e.g. not valid UTF-8)
        any_value = f_bytes(1, value)
    else:
        any_value = f_bytes(1, str(value))
    return f_bytes(1, key) + f_bytes(2, any_value)


def resource(attrs):
    return b"".join(f_bytes(1, kv(k, v)) for k, v in attrs.items())


def span(trace_id, span_id, parent_id, name, start_ns, end_ns, attrs, kind=2):
    out = f_bytes(1, trace_id) + f_bytes(2, span_id)
    if parent_id:
        out += f_bytes(4, parent_id)
    out += f_bytes(5, name) + f_varint(6, kind) + f_fixed64(7, start_ns) + f_fixed64(8, end_ns)
    out += b"".join(f_bytes(9, kv(k, v)) for k, v in attrs.items())
    return out


def traces_request(resource_attrs, spans, scope="soak"):
    """ExportTraceServiceRequest with one ResourceSpans and one ScopeSpans of encoded spans."""
    scope_spans = f_bytes(1, f_bytes(1, scope)) + b"".join(f_bytes(2, s) for s in spans)
    rs = f_bytes(1, resource(resource_attrs)) + f_bytes(2, scope_spans)
    return f_bytes(1, rs)


def number_point(attrs, time_ns, value, start_ns=0):
    out = b"".join(f_bytes(7, kv(k, v)) for k, v in attrs.items())
    if start_ns:
        out += f_fixed64(2, start_ns)
    return out + f_fixed64(3, time_ns) + f_double(4, float(value))


def gauge_metric(name, points):
    return f_bytes(1, name) + f_bytes(5, b"".join(f_bytes(1, p) for p in points))


def sum_metric(name, points, cumulative=True, monotonic=True):
    body = b"".join(f_bytes(1, p) for p in points)
    body += f_varint(2, 2 if cumulative else 1) + f_varint(3, int(monotonic))
    return f_bytes(1, name) + f_bytes(7, body)


def metrics_request(resource_attrs, metrics, scope="soak"):
    scope_metrics = f_bytes(1, f_bytes(1, scope)) + b"".join(f_bytes(2, m) for m in metrics)
    rm = f_bytes(1, resource(resource_attrs)) + f_bytes(2, scope_metrics)
    return f_bytes(1, rm)


# ---- decoding ---------------------------------------------------------------------------------


def read_varint(b, i):
    result = shift = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if c < 0x80:
            return result, i
        shift += 7


def fields(b, i=0, end=None):
    """Yields (field number, wire type, value): ints for varints, (start, end) offsets into `b`
    for length-delimited fields, 8 or 4 raw bytes for fixed ones."""
    end = len(b) if end is None else end
    while i < end:
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
            yield num, wt, v
        elif wt == 2:
            n, i = read_varint(b, i)
            yield num, wt, (i, i + n)
            i += n
        elif wt == 1:
            yield num, wt, b[i:i + 8]
            i += 8
        elif wt == 5:
            yield num, wt, b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)


def _any_value(b, s, e):
    for num, wt, v in fields(b, s, e):
        if num == 1 and wt == 2:
            return b[v[0]:v[1]].decode("utf-8", "replace")
        if num == 2 and wt == 0:
            return bool(v)
        if num == 3 and wt == 0:
            return v - (1 << 64) if v >= 1 << 63 else v
        if num == 4 and wt == 1:
            return struct.unpack("<d", v)[0]
    return None


def _key_value(b, s, e):
    key, value = None, None
    for num, wt, v in fields(b, s, e):
        if num == 1 and wt == 2:
            key = b[v[0]:v[1]].decode("utf-8", "replace")
        elif num == 2 and wt == 2:
            value = _any_value(b, v[0], v[1])
    return key, value


def _attrs(b, ranges):
    out = {}
    for s, e in ranges:
        k, v = _key_value(b, s, e)
        if k is not None:
            out[k] = v
    return out


def _resource_attrs(b, s, e):
    return _attrs(b, [v for num, wt, v in fields(b, s, e) if num == 1 and wt == 2])


def decode_spans(b):
    """Yields (resource attributes, span dict: span_id, name, attrs) of an
    ExportTraceServiceRequest."""
    for num, _, (rs, re_) in ((n, w, v) for n, w, v in fields(b) if n == 1 and w == 2):
        res = {}
        scopes = []
        for n2, w2, v2 in fields(b, rs, re_):
            if n2 == 1 and w2 == 2:
                res = _resource_attrs(b, *v2)
            elif n2 == 2 and w2 == 2:
                scopes.append(v2)
        for ss, se in scopes:
            for n3, w3, v3 in fields(b, ss, se):
                if n3 != 2 or w3 != 2:
                    continue
                sp = {"span_id": b"", "name": "", "attr_ranges": []}
                for n4, w4, v4 in fields(b, *v3):
                    if n4 == 2 and w4 == 2:
                        sp["span_id"] = b[v4[0]:v4[1]]
                    elif n4 == 5 and w4 == 2:
                        sp["name"] = b[v4[0]:v4[1]].decode("utf-8", "replace")
                    elif n4 == 9 and w4 == 2:
                        sp["attr_ranges"].append(v4)
                sp["attrs"] = _attrs(b, sp.pop("attr_ranges"))
                yield res, sp


def _number_point(b, s, e):
    attrs, value, t = [], None, 0
    for num, wt, v in fields(b, s, e):
        if num == 7 and wt == 2:
            attrs.append(v)
        elif num == 3 and wt == 1:
            t = struct.unpack("<Q", v)[0]
        elif num == 4 and wt == 1:
            value = struct.unpack("<d", v)[0]
        elif num == 6 and wt == 1:
            value = struct.unpack("<q", v)[0]
    return {"attrs": _attrs(b, attrs), "value": value, "time": t}


def decode_points(b):
    """Yields (resource attributes, metric name, kind 'gauge'/'sum'/other, point dict) of an
    ExportMetricsServiceRequest; non-number kinds yield one point with value None."""
    for num, wt, (rs, re_) in ((n, w, v) for n, w, v in fields(b) if n == 1 and w == 2):
        res = {}
        scopes = []
        for n2, w2, v2 in fields(b, rs, re_):
            if n2 == 1 and w2 == 2:
                res = _resource_attrs(b, *v2)
            elif n2 == 2 and w2 == 2:
                scopes.append(v2)
        for ss, se in scopes:
            for n3, w3, v3 in fields(b, ss, se):
                if n3 != 2 or w3 != 2:
                    continue
                name, kind, body = "", "other", None
                for n4, w4, v4 in fields(b, *v3):
                    if n4 == 1 and w4 == 2:
                        name = b[v4[0]:v4[1]].decode("utf-8", "replace")
                    elif n4 in (5, 7) and w4 == 2:
                        kind, body = ("gauge" if n4 == 5 else "sum"), v4
                    elif n4 in (9, 10, 11) and w4 == 2:
                        kind, body = "other", None
                if body is None:
                    yield res, name, kind, {"attrs": {}, "value": None, "time": 0}
                    continue
                for n5, w5, v5 in fields(b, *body):
                    if n5 == 1 and w5 == 2:
                        yield res, name, kind, _number_point(b, *v5)


def partial_rejected(b):
    """rejected_spans / rejected_data_points of an Export*ServiceResponse (0 when absent)."""
    try:
        for num, wt, v in fields(b):
            if num == 1 and wt == 2:
                for n2, w2, v2 in fields(b, *v):
                    if n2 == 1 and w2 == 0:
                        return v2
    except (ValueError, IndexError):
        return 0
    return 0
