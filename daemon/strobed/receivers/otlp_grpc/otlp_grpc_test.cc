#include "strobed/receivers/otlp_grpc/otlp_grpc.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "strobe/metrics/exposition.h"
#include "strobed/base/byte_budget.h"
#include "strobed/otlp/otlp_encode.h"
#include "strobed/otlp/synthetic.h"
#include "strobed/pipeline/testing.h"
#include "strobed/server/auth.h"

namespace strobed::receivers {
namespace {

constexpr char kTraceExport[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
constexpr char kMetricsExport[] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

// An Ingest that keeps count of what it accepts and answers with a configurable status. When
// `block_first` is set, the first push waits until Release() (the drain test).
class FakeIngest : public pipeline::Ingest {
 public:
  pipeline::PushResult Push(event::BatchPtr&& batch,
                            const pipeline::PushOptions&) noexcept override {
    {
      std::unique_lock lock(mu_);
      if (block_first && !blocked_once_) {
        blocked_once_ = true;
        entered_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return released_; });
      }
    }
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

  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  pipeline::PushStatus status = pipeline::PushStatus::kAccepted;
  pipeline::RefuseReason reason = pipeline::RefuseReason::kMemorySoft;
  bool block_first = false;
  std::atomic<uint64_t> spans{0};
  std::atomic<uint64_t> metrics{0};

 private:
  event::BatchPool pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool blocked_once_ = false;
  bool entered_ = false;
  bool released_ = false;
};

struct CallResult {
  grpc::Status status;
  std::string response;
};

// One unary call of `method` with `body` as the raw request message, through gRPC's generic
// stub (a real client: HTTP/2, gRPC framing, optional gzip). Bounded by a 10 s deadline.
CallResult Call(const std::string& address, const std::string& method, const std::string& body,
                bool gzip = false, const std::string& token = "") {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (gzip) ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  grpc::CompletionQueue cq;
  grpc::Slice slice(body);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  CallResult out;
  auto call = stub.PrepareUnaryCall(&ctx, method, request, &cq);
  call->StartCall();
  call->Finish(&response, &out.status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  if (out.status.ok()) {
    grpc::Slice single;
    std::string copy;
    std::string_view bytes;
    EXPECT_TRUE(FlattenByteBuffer(response, single, copy, bytes));
    out.response = std::string(bytes);
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return out;
}

std::string Traces(int spans, uint64_t seed = 7) {
  otlp::SyntheticOptions so;
  so.spans = spans;
  return otlp::SyntheticTraces(seed, so).Next();
}

class OtlpGrpcTest : public ::testing::Test {
 protected:
  void StartReceiver(OtlpGrpcOptions o = {}) {
    o.port = 0;
    o.metrics = &registry_;
    receiver_ = std::make_unique<OtlpGrpcReceiver>(o);
    ASSERT_TRUE(receiver_->Start(ingest_).ok());
    address_ = receiver_->BoundAddress();
  }
  void TearDown() override {
    if (receiver_) (void)receiver_->Shutdown(std::chrono::seconds(1));
  }
  std::string Metrics() {
    return strobe::metrics::RenderText(registry_, strobe::metrics::Format::kPrometheusText);
  }
  bool HasMetric(const std::string& line) {
    return Metrics().find(line + "\n") != std::string::npos;
  }

  strobe::metrics::Registry registry_;
  FakeIngest ingest_;
  std::unique_ptr<OtlpGrpcReceiver> receiver_;
  std::string address_;
};

TEST(OtlpGrpcMethodTest, MapsTheThreeExportMethodsOnly) {
  EXPECT_EQ(SignalOfMethod(kTraceExport), otlp::Signal::kTraces);
  EXPECT_EQ(SignalOfMethod(kMetricsExport), otlp::Signal::kMetrics);
  EXPECT_EQ(SignalOfMethod("/opentelemetry.proto.collector.logs.v1.LogsService/Export"),
            otlp::Signal::kLogs);
  EXPECT_EQ(SignalOfMethod("/opentelemetry.proto.collector.trace.v1.TraceService/Exports"),
            std::nullopt);
  EXPECT_EQ(SignalOfMethod(""), std::nullopt);
}

TEST(OtlpGrpcMethodTest, FlattensMultiSliceBuffersInOrder) {
  grpc::Slice parts[] = {grpc::Slice(std::string("ab")), grpc::Slice(std::string("")),
                         grpc::Slice(std::string("cde"))};
  grpc::ByteBuffer buffer(parts, 3);
  grpc::Slice single;
  std::string copy;
  std::string_view bytes;
  ASSERT_TRUE(FlattenByteBuffer(buffer, single, copy, bytes));
  EXPECT_EQ(bytes, "abcde");
  grpc::Slice one(std::string("xyz"));
  grpc::ByteBuffer b1(&one, 1);
  ASSERT_TRUE(FlattenByteBuffer(b1, single, copy, bytes));
  EXPECT_EQ(bytes, "xyz");
  EXPECT_EQ(static_cast<const void*>(bytes.data()), static_cast<const void*>(single.begin()));
}

TEST_F(OtlpGrpcTest, AcceptsTracesAndMetricsWithAnEmptyResponse) {
  StartReceiver();
  CallResult r = Call(address_, kTraceExport, Traces(25));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.response, "");  // full success: an empty ExportTraceServiceResponse
  EXPECT_EQ(ingest_.spans, 25u);
  event::Batch batch(nullptr, 4096, 1 << 20);
  pipeline::testing::AddGauge(batch, "g", 2.5);
  pipeline::testing::AddGauge(batch, "g", 3.5, "b");
  r = Call(address_, kMetricsExport,
           otlp::EncodeMetrics(batch.metrics(), event::KeyTable::Global()));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(ingest_.metrics, 2u);
  EXPECT_TRUE(HasMetric("strobe_receiver_accepted_spans_total{receiver=\"otlp_grpc\"} 25"))
      << Metrics();
  EXPECT_TRUE(HasMetric("strobe_receiver_accepted_metric_points_total{receiver=\"otlp_grpc\"} 2"));
  EXPECT_TRUE(HasMetric(
      "strobe_grpc_requests_total{listener=\"otlp_grpc\",signal=\"traces\",code=\"OK\"} 1"));
  EXPECT_TRUE(HasMetric(
      "strobe_grpc_request_duration_seconds_count{listener=\"otlp_grpc\",signal=\"traces\"} 1"));
}

TEST_F(OtlpGrpcTest, GzipRequestsAreDecompressedByGrpc) {
  StartReceiver();
  const std::string body = Traces(40);
  CallResult r = Call(address_, kTraceExport, body, /*gzip=*/true);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(ingest_.spans, 40u);
  // The byte count is the decompressed message: what the decoder read.
  EXPECT_TRUE(
      HasMetric("strobe_grpc_received_bytes_total{listener=\"otlp_grpc\",signal="
                "\"traces\"} " +
                std::to_string(body.size())))
      << Metrics();
}

TEST_F(OtlpGrpcTest, BadBytesAreInvalidArgumentAndCounted) {
  StartReceiver();
  std::string truncated = Traces(5);
  truncated.resize(truncated.size() - 3);
  CallResult r = Call(address_, kTraceExport, truncated);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(r.status.error_message().find("traces: malformed protobuf"), std::string::npos)
      << r.status.error_message();
  r = Call(address_, kTraceExport, std::string("\xff\xff\xff\xff", 4));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ingest_.spans, 0u);
  EXPECT_TRUE(
      HasMetric("strobe_receiver_refused_requests_total{receiver=\"otlp_grpc\",signal="
                "\"traces\",reason=\"invalid\"} 2"))
      << Metrics();
  EXPECT_TRUE(
      HasMetric("strobe_grpc_requests_total{listener=\"otlp_grpc\",signal=\"traces\","
                "code=\"INVALID_ARGUMENT\"} 2"));
}

TEST_F(OtlpGrpcTest, OversizeMessagesAndGzipBombsAreResourceExhausted) {
  OtlpGrpcOptions o;
  o.max_recv_msg_size = 4096;
  StartReceiver(o);
  CallResult r = Call(address_, kTraceExport, std::string(5000, 'x'));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << r.status.error_message();
  // 1 MiB of zeros gzips to ~1 KiB, under the limit on the wire; inflated it is far above.
  r = Call(address_, kTraceExport, std::string(1 << 20, '\0'), /*gzip=*/true);
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << r.status.error_message();
  // A message under the limit still passes.
  r = Call(address_, kTraceExport, Traces(2));
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(ingest_.spans, 2u);
  EXPECT_TRUE(
      HasMetric("strobe_receiver_refused_requests_total{receiver=\"otlp_grpc\",signal="
                "\"traces\",reason=\"read_failed\"} 2"))
      << Metrics();
}

TEST_F(OtlpGrpcTest, UnknownMethodsAreUnimplemented) {
  StartReceiver();
  CallResult r =
      Call(address_, "/opentelemetry.proto.collector.trace.v1.TraceService/Other", Traces(1));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  r = Call(address_, "/grpc.health.v1.Health/Check", "");
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(ingest_.spans, 0u);
  EXPECT_TRUE(
      HasMetric("strobe_grpc_requests_total{listener=\"otlp_grpc\",signal=\"unknown\","
                "code=\"UNIMPLEMENTED\"} 2"))
      << Metrics();
}

TEST_F(OtlpGrpcTest, PushBackCarriesRetryInfo) {
  StartReceiver();
  // Soft memory limit: RESOURCE_EXHAUSTED, retryable because RetryInfo says when.
  ingest_.status = pipeline::PushStatus::kThrottled;
  ingest_.reason = pipeline::RefuseReason::kMemorySoft;
  CallResult r = Call(address_, kTraceExport, Traces(10));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  auto details = otlp::DecodeRpcStatus(r.status.error_details());
  ASSERT_TRUE(details.ok()) << details.status().message();
  EXPECT_EQ(details->code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(details->retry_delay_ns, std::optional<uint64_t>(1500000000));
  // Hard limit / full queue: UNAVAILABLE with RetryInfo.
  ingest_.status = pipeline::PushStatus::kRefused;
  ingest_.reason = pipeline::RefuseReason::kQueueFull;
  r = Call(address_, kTraceExport, Traces(10));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  details = otlp::DecodeRpcStatus(r.status.error_details());
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(details->retry_delay_ns, std::optional<uint64_t>(1500000000));
  EXPECT_NE(details->message.find("queue_full"), std::string::npos) << details->message;
  EXPECT_TRUE(HasMetric(
      "strobe_receiver_refused_spans_total{receiver=\"otlp_grpc\",reason=\"memory_soft_limit\"} "
      "10"))
      << Metrics();
  EXPECT_TRUE(HasMetric(
      "strobe_receiver_refused_spans_total{receiver=\"otlp_grpc\",reason=\"queue_full\"} 10"));
  // The pipeline's drop policy: OK with partial_success naming what was dropped.
  ingest_.status = pipeline::PushStatus::kDropped;
  r = Call(address_, kTraceExport, Traces(10));
  ASSERT_TRUE(r.status.ok());
  auto ps = otlp::DecodeResponse(otlp::Signal::kTraces, r.response);
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ(ps->rejected, 10);
  EXPECT_NE(ps->error_message.find("dropped"), std::string::npos);
}

TEST_F(OtlpGrpcTest, IngressBudgetRefusalIsUnavailableWithRetryInfo) {
  base::ByteBudget budget(1024);
  OtlpGrpcOptions o;
  o.ingress_budget = &budget;
  StartReceiver(o);
  CallResult r = Call(address_, kTraceExport, Traces(50));  // > 1 KiB
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  auto details = otlp::DecodeRpcStatus(r.status.error_details());
  ASSERT_TRUE(details.ok());
  EXPECT_EQ(details->retry_delay_ns, std::optional<uint64_t>(1000000000));
  EXPECT_EQ(budget.used_bytes(), 0u);
  EXPECT_TRUE(
      HasMetric("strobe_receiver_refused_requests_total{receiver=\"otlp_grpc\",signal="
                "\"traces\",reason=\"memory\"} 1"))
      << Metrics();
}

TEST_F(OtlpGrpcTest, BearerTokenIsRequiredWhenAuthIsOn) {
  OtlpGrpcOptions o;
  o.auth = server::Authenticator::WithTokens({"s3cret"});
  StartReceiver(o);
  EXPECT_EQ(Call(address_, kTraceExport, Traces(3)).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(address_, kTraceExport, Traces(3), false, "wrong").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Call(address_, kTraceExport, Traces(3), false, "s3cret").status.ok());
  EXPECT_EQ(ingest_.spans, 3u);
  EXPECT_TRUE(
      HasMetric("strobe_receiver_refused_requests_total{receiver=\"otlp_grpc\",signal="
                "\"traces\",reason=\"unauthenticated\"} 2"))
      << Metrics();
}

TEST_F(OtlpGrpcTest, ShutdownFinishesCallsInFlightAndRefusesNewOnes) {
  ingest_.block_first = true;
  StartReceiver();
  CallResult in_flight;
  std::thread first([&] { in_flight = Call(address_, kTraceExport, Traces(7)); });
  ingest_.WaitEntered();  // the first call is inside Push
  strobe::Status shutdown;
  std::thread stopper([&] { shutdown = receiver_->Shutdown(std::chrono::seconds(20)); });
  // Once the drain has begun, new calls are refused (before it, they pass).
  grpc::StatusCode code = grpc::StatusCode::OK;
  uint64_t passed_before_drain = 0;
  ASSERT_TRUE(pipeline::testing::WaitFor([&] {
    code = Call(address_, kTraceExport, Traces(1)).status.error_code();
    if (code == grpc::StatusCode::OK) ++passed_before_drain;
    return code != grpc::StatusCode::OK;
  }));
  EXPECT_EQ(code, grpc::StatusCode::UNAVAILABLE);
  ingest_.Release();
  first.join();
  stopper.join();
  EXPECT_TRUE(in_flight.status.ok()) << in_flight.status.error_message();
  EXPECT_TRUE(shutdown.ok());
  // The in-flight call's 7 spans arrived, plus those of the calls accepted before the drain.
  EXPECT_EQ(ingest_.spans, 7 + passed_before_drain);
  receiver_.reset();
}

}  // namespace
}  // namespace strobed::receivers
