"""Hole 1: one request crashed the daemon. A chunked body whose trailer field is >= 64 KiB made
Boost.Beast throw std::length_error out of the connection (std::terminate, exit 134), on the
OTLP port and on GET /healthz even with a token set. Now the connection gets 431 and is
closed, the refusal is counted on its listener, and the daemon keeps serving."""

from hostile import assert_serving, metric, raw_exchange, status_of


def chunked_with_trailer(method, path, trailer_bytes, extra_headers=b""):
    return (method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
            extra_headers + b"\r\n" + b"1\r\na\r\n0\r\nX-Big: " + b"v" * trailer_bytes + b"\r\n\r\n")


def test_huge_trailer_on_api_and_otlp_ports(daemon):
    d = daemon(otlp_http="127.0.0.1:0", token="t0ken")
    otlp_port = int(d.wait_otlp().rsplit(":", 1)[1])
    before_api = metric(d, "strobe_http_rejected_requests_total", listener="http",
                        reason="header_too_large")

    for size in (64 * 1024, 200 * 1024):
        reply = raw_exchange(d.port, chunked_with_trailer(b"GET", b"/healthz", size))
        assert status_of(reply) == 431, reply[:200]
        assert_serving(d)
        reply = raw_exchange(otlp_port, chunked_with_trailer(
            b"POST", b"/v1/traces", size,
            b"Content-Type: application/x-protobuf\r\nAuthorization: Bearer t0ken\r\n"))
        assert status_of(reply) == 431, reply[:200]
        assert_serving(d)

    after_api = metric(d, "strobe_http_rejected_requests_total", listener="http",
                       reason="header_too_large")
    assert after_api - before_api == 2
    assert metric(d, "strobe_http_rejected_requests_total", reason="header_too_large") - after_api >= 2
