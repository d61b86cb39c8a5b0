#include "strobed/receivers/otlp_http/otlp_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "strobe/metrics/exposition.h"
#include "strobed/base/compression.h"
#include "strobed/otlp/otlp_encode.h"
#include "strobed/otlp/synthetic.h"
#include "strobed/server/auth.h"
#include "strobed/server/server_metrics.h"

namespace strobed::receivers {
namespace {

// An Ingest that keeps what it accepts and answers with a configurable status.
class FakeIngest : public pipeline::Ingest {
 public:
  pipeline::PushResult Push(event::BatchPtr&& batch,
                            const pipeline::PushOptions&) noexcept override {
    pipeline::PushResult r;
    r.status = status;
    if (status == pipeline::PushStatus::kAccepted || status == pipeline::PushStatus::kDropped) {
      spans += batch->spans().size();
      metrics += batch->metrics().size();
      return r;
    }
    r.refuse_reason = reason;
    r.retry_after = std::chrono::milliseconds(1500);
    r.batch = std::move(batch);
    return r;
  }
  event::BatchPool& pool() noexcept override { return pool_; }

  pipeline::PushStatus status = pipeline::PushStatus::kAccepted;
  pipeline::RefuseReason reason = pipeline::RefuseReason::kMemorySoft;
  uint64_t spans = 0;
  uint64_t metrics = 0;

 private:
  event::BatchPool pool_;
};

server::Request Post(std::string content_type, std::string body) {
  server::Request r;
  r.method = "POST";
  r.path = "/v1/traces";
  r.headers.Add("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

class OtlpHttpTest : public ::testing::Test {
 protected:
  OtlpHttpTest() {
    OtlpHttpOptions o;
    o.port = 0;
    o.metrics = &registry_;
    o.max_decompressed_bytes = 1 << 20;
    receiver_ = std::make_unique<OtlpHttpReceiver>(o);
  }
  void SetUp() override { ASSERT_TRUE(receiver_->Start(ingest_).ok()); }
  void TearDown() override { (void)receiver_->Shutdown(std::chrono::seconds(1)); }
  std::string Metrics() {
    return strobe::metrics::RenderText(registry_, strobe::metrics::Format::kPrometheusText);
  }

  strobe::metrics::Registry registry_;
  FakeIngest ingest_;
  std::unique_ptr<OtlpHttpReceiver> receiver_;
};

TEST_F(OtlpHttpTest, AcceptsProtobufJsonAndGzip) {
  otlp::SyntheticOptions so;
  so.spans = 20;
  otlp::SyntheticTraces gen(5, so);
  server::Response r =
      receiver_->Handle(otlp::Signal::kTraces, Post("application/x-protobuf", gen.Next()));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/x-protobuf");
  EXPECT_EQ(ingest_.spans, 20u);

  server::Request gz = Post("application/x-protobuf", base::GzipCompress(gen.Next()));
  gz.headers.Add("Content-Encoding", "gzip");
  EXPECT_EQ(receiver_->Handle(otlp::Signal::kTraces, gz).status, 200);
  EXPECT_EQ(ingest_.spans, 40u);

  server::Response j = receiver_->Handle(
      otlp::Signal::kMetrics,
      Post(
          "application/json; charset=utf-8",
          R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"asDouble":1}]}}]}]}]})"));
  EXPECT_EQ(j.status, 200);
  EXPECT_EQ(j.body, "{}");
  EXPECT_EQ(ingest_.metrics, 1u);
  std::string m = Metrics();
  EXPECT_NE(m.find("strobe_receiver_accepted_spans_total{receiver=\"otlp_http\"} 40"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("strobe_receiver_accepted_metric_points_total{receiver=\"otlp_http\"} 1"),
            std::string::npos);
}

// One JSON metrics request: gauge `name` with one point per key, labelled {key="v"}.
std::string LabelledGauges(std::string_view name, std::initializer_list<std::string_view> keys) {
  std::string points;
  int value = 0;
  for (std::string_view k : keys) {
    if (!points.empty()) points += ",";
    points += R"({"asInt":")" + std::to_string(++value) + R"(","attributes":[{"key":")" +
              std::string(k) + R"(","value":{"stringValue":"v"}}]})";
  }
  return R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":")" + std::string(name) +
         R"(","gauge":{"dataPoints":[)" + points + "]}}]}]}]}";
}

TEST(OtlpHttpKeyLimitsTest, NewKeysAreLimitedPerRequestAndPerSourceAndRefusalsReported) {
  strobe::metrics::Registry registry;
  event::KeyTable keys(1000);
  base::ManualMonotonicClock clock;
  OtlpHttpOptions o;
  o.port = 0;
  o.metrics = &registry;
  o.keys = &keys;
  o.clock = &clock;
  o.max_new_keys_per_request = 2;
  o.max_new_keys_per_source = 3;
  o.new_keys_window = std::chrono::minutes(1);
  OtlpHttpReceiver receiver(o);
  FakeIngest ingest;
  ASSERT_TRUE(receiver.Start(ingest).ok());
  auto post = [&](std::string_view from, std::string body) {
    server::Request r = Post("application/json", std::move(body));
    r.path = "/v1/metrics";
    r.remote_address = std::string(from);
    return receiver.Handle(otlp::Signal::kMetrics, r);
  };
  // Request limit: 2 of the 3 new keys; the third point is refused, the others stored.
  server::Response r = post("10.0.0.1:5000", LabelledGauges("g", {"k1", "k2", "k3"}));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("rejectedDataPoints":"1")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("key_request_limit: 1"), std::string::npos) << r.body;
  EXPECT_EQ(ingest.metrics, 2u);
  // Source limit: the address has 1 key left this window (another port, same address).
  r = post("10.0.0.1:5001", LabelledGauges("g", {"k1", "k4", "k5"}));
  EXPECT_NE(r.body.find(R"("rejectedDataPoints":"1")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("key_source_limit: 1"), std::string::npos) << r.body;
  EXPECT_EQ(ingest.metrics, 4u);  // k1 is known: never charged
  // Another address is not affected; after the window the first one may add keys again.
  r = post("10.0.0.2:7000", LabelledGauges("g", {"k6"}));
  EXPECT_EQ(r.body, "{}");
  clock.AdvanceNs(std::chrono::nanoseconds(std::chrono::minutes(1)).count());
  r = post("10.0.0.1:5002", LabelledGauges("g", {"k5"}));
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(ingest.metrics, 6u);
  // A request whose every point is refused is answered (nothing pushed), all of it reported.
  r = post("10.0.0.1:5003", LabelledGauges("g", {"n1", "n2", "n3", "n4"}));
  EXPECT_NE(r.body.find(R"("rejectedDataPoints":"2")"), std::string::npos) << r.body;
  r = post("10.0.0.1:5003", LabelledGauges("g", {"n5"}));
  EXPECT_NE(r.body.find(R"("rejectedDataPoints":"1")"), std::string::npos) << r.body;
  EXPECT_EQ(ingest.metrics, 8u);
  std::string m = strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(m.find("strobe_receiver_refused_metric_points_total{receiver=\"otlp_http\",reason="
                   "\"key_request_limit\"} 3"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("strobe_receiver_refused_metric_points_total{receiver=\"otlp_http\",reason="
                   "\"key_source_limit\"} 2"),
            std::string::npos)
      << m;
  (void)receiver.Shutdown(std::chrono::seconds(1));
}

TEST(OtlpHttpKeyLimitsTest, RefusedSpanAttributesAreCountedNotSilent) {
  strobe::metrics::Registry registry;
  event::KeyTable keys(1000);
  OtlpHttpOptions o;
  o.port = 0;
  o.metrics = &registry;
  o.keys = &keys;
  o.max_new_keys_per_request = 0;
  OtlpHttpReceiver receiver(o);
  FakeIngest ingest;
  ASSERT_TRUE(receiver.Start(ingest).ok());
  const std::string body = R"({"resourceSpans":[{"scopeSpans":[{"spans":[{
    "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"s",
    "attributes":[{"key":"a","value":{"intValue":"1"}},{"key":"b","value":{"intValue":"2"}}]}]}]}]})";
  server::Response r = receiver.Handle(otlp::Signal::kTraces, Post("application/json", body));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(ingest.spans, 1u);  // the span is kept; its attributes are counted as dropped
  std::string m = strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(m.find("strobe_receiver_dropped_attributes_total{receiver=\"otlp_http\",signal="
                   "\"traces\",reason=\"key_request_limit\"} 2"),
            std::string::npos)
      << m;
  (void)receiver.Shutdown(std::chrono::seconds(1));
}

TEST_F(OtlpHttpTest, BadInputGetsTheRightStatusAndIsCounted) {
  std::string good = otlp::SyntheticTraces(1).Next();
  server::Response trunc = receiver_->Handle(
      otlp::Signal::kTraces, Post("application/x-protobuf", good.substr(0, good.size() / 2)));
  EXPECT_EQ(trunc.status, 400);
  EXPECT_NE(trunc.body.find("malformed protobuf"), std::string::npos);

  server::Response type = receiver_->Handle(otlp::Signal::kTraces, Post("text/plain", good));
  EXPECT_EQ(type.status, 415);

  server::Response json =
      receiver_->Handle(otlp::Signal::kTraces, Post("application/json", "{nope"));
  EXPECT_EQ(json.status, 400);
  EXPECT_NE(json.body.find("invalid JSON"), std::string::npos);
  EXPECT_EQ(json.headers.Get("Content-Type").value_or(""), "application/json");

  server::Response id = receiver_->Handle(
      otlp::Signal::kTraces,
      Post(
          "application/json",
          R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102","spanId":"0102030405060708"}]}]}]})"));
  EXPECT_EQ(id.status, 400);
  EXPECT_NE(id.body.find("traceId"), std::string::npos);

  server::Request bomb =
      Post("application/x-protobuf", base::GzipCompress(std::string(4 << 20, 'x')));
  bomb.headers.Add("Content-Encoding", "gzip");
  EXPECT_EQ(receiver_->Handle(otlp::Signal::kTraces, bomb).status, 413);

  server::Request br = Post("application/x-protobuf", good);
  br.headers.Add("Content-Encoding", "br");
  EXPECT_EQ(receiver_->Handle(otlp::Signal::kTraces, br).status, 415);

  std::string m = Metrics();
  EXPECT_NE(
      m.find("strobe_receiver_refused_spans_total{receiver=\"otlp_http\",reason=\"invalid\"}"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find("reason=\"too_large\""), std::string::npos);
  EXPECT_NE(m.find("reason=\"unsupported_media_type\""), std::string::npos);
  EXPECT_EQ(ingest_.spans, 0u);
}

TEST_F(OtlpHttpTest, BackPressureMapsTo429And503WithRetryAfter) {
  std::string body = otlp::SyntheticTraces(2).Next();
  ingest_.status = pipeline::PushStatus::kThrottled;
  server::Response r =
      receiver_->Handle(otlp::Signal::kTraces, Post("application/x-protobuf", body));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers.Get("Retry-After").value_or(""), "2");
  ingest_.status = pipeline::PushStatus::kRefused;
  ingest_.reason = pipeline::RefuseReason::kMemoryHard;
  r = receiver_->Handle(otlp::Signal::kTraces, Post("application/x-protobuf", body));
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.headers.Has("Retry-After"));
  ingest_.status = pipeline::PushStatus::kDropped;
  r = receiver_->Handle(otlp::Signal::kTraces, Post("application/x-protobuf", body));
  EXPECT_EQ(r.status, 200);
  auto ps = otlp::DecodeResponse(otlp::Signal::kTraces, r.body);
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ(ps->rejected, 1000);
  std::string m = Metrics();
  EXPECT_NE(m.find("reason=\"memory_soft_limit\"} 1000"), std::string::npos) << m;
  EXPECT_NE(m.find("reason=\"pipeline_dropped\"} 1000"), std::string::npos);
}

// Sends raw HTTP over a socket; returns the response head and body.
std::string RawHttp(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "connect failed";
  }
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, 0);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST_F(OtlpHttpTest, ServesChunkedBodiesWithoutContentLengthOverTheNetwork) {
  otlp::SyntheticOptions so;
  so.spans = 7;
  std::string body = otlp::SyntheticTraces(3, so).Next();
  std::string req =
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      "Content-Type: application/x-protobuf\r\nTransfer-Encoding: chunked\r\n\r\n";
  size_t half = body.size() / 2;
  auto chunk = [](std::string_view c) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%zx\r\n", c.size());
    return std::string(hex) + std::string(c) + "\r\n";
  };
  req += chunk(std::string_view(body).substr(0, half)) +
         chunk(std::string_view(body).substr(half)) + "0\r\n\r\n";
  std::string resp = RawHttp(receiver_->BoundPort(), req);
  EXPECT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp;
  EXPECT_EQ(ingest_.spans, 7u);
  std::string wrong = RawHttp(receiver_->BoundPort(),
                              "GET /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(wrong.rfind("HTTP/1.1 405", 0), 0u) << wrong;
}

// A google.rpc.Status in protobuf: field 1 (code) varint, field 2 (message) bytes.
struct RpcStatus {
  bool ok = false;
  int code = 0;
  std::string message;
};
RpcStatus ParseRpcStatus(std::string_view b) {
  RpcStatus st;
  size_t i = 0;
  auto varint = [&](uint64_t& v) {
    v = 0;
    for (int shift = 0; i < b.size() && shift < 64; shift += 7) {
      auto c = static_cast<unsigned char>(b[i++]);
      v |= uint64_t{c & 0x7fu} << shift;
      if ((c & 0x80) == 0) return true;
    }
    return false;
  };
  while (i < b.size()) {
    uint64_t tag = 0, v = 0;
    if (!varint(tag)) return st;
    if (tag == 0x08) {
      if (!varint(v)) return st;
      st.code = static_cast<int>(v);
    } else if (tag == 0x12) {
      if (!varint(v) || i + v > b.size()) return st;
      st.message = std::string(b.substr(i, v));
      i += v;
    } else {
      return st;
    }
  }
  st.ok = true;
  return st;
}

std::string BodyOf(const std::string& response) {
  size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

// Issue 14, hole 10: errors the HTTP server answered on the OTLP port (401, 404, 405, 413,
// 431) had strobe's JSON error shape instead of google.rpc.Status, and were counted nowhere.
TEST(OtlpHttpServerErrorsTest, AreRpcStatusInTheRequestEncodingAndCounted) {
  strobe::metrics::Registry registry;
  server::ServerMetrics http_metrics(registry);
  OtlpHttpOptions o;
  o.port = 0;
  o.metrics = &registry;
  o.http_metrics = &http_metrics;
  o.auth = server::Authenticator::WithTokens({"secret"});
  o.max_body_bytes = 1000;
  FakeIngest ingest;
  {
    OtlpHttpReceiver receiver(o);
    ASSERT_TRUE(receiver.Start(ingest).ok());
    const uint16_t port = receiver.BoundPort();
    const std::string auth = "Authorization: Bearer secret\r\n";
    struct Case {
      std::string request;
      int status;
      int grpc_code;
      bool json;
    };
    const std::vector<Case> cases = {
        {"POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
         "Content-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
         401, 16, false},
        {"POST /v1/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth +
             "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n",
         404, 5, true},
        {"GET /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth + "\r\n", 405, 12,
         false},
        {"POST /v1/traces HTTP/1.1\r\nHost: x\r\n" + auth +
             "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n",
         413, 8, true},
        {"POST /v1/traces HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20'000, 'a') + "\r\n\r\n",
         431, 8, false},
        {"POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + auth +
             "Content-Type: text/plain\r\nContent-Length: 0\r\n\r\n",
         415, 3, false},
    };
    for (const Case& c : cases) {
      std::string resp = RawHttp(port, c.request);
      ASSERT_EQ(resp.rfind("HTTP/1.1 " + std::to_string(c.status), 0), 0u) << resp;
      std::string body = BodyOf(resp);
      if (c.json) {
        EXPECT_NE(resp.find("Content-Type: application/json"), std::string::npos) << resp;
        EXPECT_EQ(body.rfind("{\"code\":" + std::to_string(c.grpc_code) + ",\"message\":", 0), 0u)
            << body;
      } else {
        EXPECT_NE(resp.find("Content-Type: application/x-protobuf"), std::string::npos) << resp;
        RpcStatus st = ParseRpcStatus(body);
        EXPECT_TRUE(st.ok) << c.status;
        EXPECT_EQ(st.code, c.grpc_code) << c.status;
        EXPECT_FALSE(st.message.empty()) << c.status;
      }
    }
    std::string m = strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
    for (std::string_view want :
         {"strobe_http_rejected_requests_total{listener=\"otlp_http\",reason=\"unauthorized\"} 1",
          "strobe_http_rejected_requests_total{listener=\"otlp_http\",reason=\"body_too_large\"} 1",
          "strobe_http_rejected_requests_total{listener=\"otlp_http\",reason=\"header_too_large\"} "
          "1",
          "strobe_http_requests_total{listener=\"otlp_http\",code=\"4xx\"} 6"}) {
      EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
    }
    (void)receiver.Shutdown(std::chrono::seconds(1));
  }
}

// Issue 14, item 8: the receiver checks the Authenticator it was handed, not a copy of a token
// taken at start, so a rotation by its owner (the daemon, on SIGHUP) applies at once: the
// revoked token is refused, the new one accepted, removing every token opens the port and
// adding one closes it again. Each refusal is counted on the receiver's listener.
TEST(OtlpHttpServerAuthTest, FollowsTheSharedAuthenticator) {
  strobe::metrics::Registry registry;
  server::ServerMetrics http_metrics(registry);
  auto auth = server::Authenticator::WithTokens({"old"});
  OtlpHttpOptions o;
  o.port = 0;
  o.metrics = &registry;
  o.http_metrics = &http_metrics;
  o.auth = auth;
  FakeIngest ingest;
  OtlpHttpReceiver receiver(o);
  ASSERT_TRUE(receiver.Start(ingest).ok());
  const uint16_t port = receiver.BoundPort();
  auto post = [&](const std::string& token) {
    std::string resp = RawHttp(
        port, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                  (token.empty() ? std::string() : "Authorization: Bearer " + token + "\r\n") +
                  "Content-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n");
    return std::stoi(resp.substr(9, 3));
  };
  auto unauthorized = [&] {
    std::string m = strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
    const std::string key =
        "strobe_http_rejected_requests_total{listener=\"otlp_http\",reason=\"unauthorized\"} ";
    size_t at = m.find(key);
    return at == std::string::npos ? -1 : std::stoi(m.substr(at + key.size()));
  };
  EXPECT_EQ(post("old"), 200);
  EXPECT_EQ(post("new"), 401);
  ASSERT_TRUE(auth->Set({"new"}).ok());
  EXPECT_EQ(post("old"), 401);
  EXPECT_EQ(post("new"), 200);
  ASSERT_TRUE(auth->Set({}).ok());
  EXPECT_EQ(post(""), 200);
  ASSERT_TRUE(auth->Set({"added"}).ok());
  EXPECT_EQ(post(""), 401);
  EXPECT_EQ(post("added"), 200);
  EXPECT_EQ(unauthorized(), 3);
  (void)receiver.Shutdown(std::chrono::seconds(1));
}

}  // namespace
}  // namespace strobed::receivers
