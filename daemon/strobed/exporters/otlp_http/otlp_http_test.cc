#include "strobed/exporters/otlp_http/otlp_http.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/synthetic.h"
#include "strobed/pipeline/pipeline.h"
#include "strobed/pipeline/testing.h"
#include "strobed/receivers/otlp_http/otlp_http.h"
#include "strobed/server/http_server.h"

namespace strobed::exporters {
namespace {

// Accepts after `throttle` refusals; keeps copies of the spans it accepted.
class Sink : public pipeline::Ingest {
 public:
  pipeline::PushResult Push(event::BatchPtr&& batch,
                            const pipeline::PushOptions&) noexcept override {
    pipeline::PushResult r;
    if (throttle > 0) {
      --throttle;
      r.status = pipeline::PushStatus::kThrottled;
      r.refuse_reason = pipeline::RefuseReason::kMemorySoft;
      r.retry_after = std::chrono::milliseconds(2000);
      r.batch = std::move(batch);
      return r;
    }
    std::lock_guard<std::mutex> lock(mu);
    for (const event::Span& s : batch->spans()) {
      std::string attrs;
      for (const auto& a : s.attributes) {
        attrs +=
            std::string(event::KeyTable::Global().Name(a.key)) + "=" + a.value.ToString() + ";";
      }
      spans.push_back(std::string(s.name) + "|" + s.span_id.ToHex() + "|" + attrs);
    }
    return r;
  }
  event::BatchPool& pool() noexcept override { return pool_; }

  std::atomic<int> throttle{0};
  std::mutex mu;
  std::vector<std::string> spans;

 private:
  event::BatchPool pool_;
};

class ExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    receivers::OtlpHttpOptions ro;
    ro.port = 0;
    ro.metrics = &registry_;
    receiver_ = std::make_unique<receivers::OtlpHttpReceiver>(ro);
    ASSERT_TRUE(receiver_->Start(sink_).ok());
  }
  void TearDown() override { (void)receiver_->Shutdown(std::chrono::seconds(1)); }

  std::unique_ptr<OtlpHttpExporter> MakeExporter(
      std::string endpoint, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    OtlpHttpExporterOptions o;
    o.endpoint = std::move(endpoint);
    o.metrics = &registry_;
    o.timeout = timeout;
    auto e = OtlpHttpExporter::Create(o);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return std::move(e).value();
  }
  event::BatchPtr Batch(int spans) {
    event::BatchPtr b = pool_.Acquire();
    otlp::SyntheticOptions so;
    so.spans = spans;
    std::string body = otlp::SyntheticTraces(9, so).Next();
    EXPECT_TRUE(otlp::Decode(otlp::Signal::kTraces, otlp::Encoding::kProtobuf, body, *b).ok());
    return b;
  }

  strobe::metrics::Registry registry_;
  event::BatchPool pool_;
  Sink sink_;
  std::unique_ptr<receivers::OtlpHttpReceiver> receiver_;
};

TEST_F(ExporterTest, DeliversEverySpanWithAttributesIntact) {
  auto exp = MakeExporter("http://" + receiver_->BoundAddress());
  event::BatchPtr b = Batch(50);
  std::vector<std::string> want;
  for (const event::Span& s : b->spans()) {
    std::string attrs;
    for (const auto& a : s.attributes) {
      attrs += std::string(event::KeyTable::Global().Name(a.key)) + "=" + a.value.ToString() + ";";
    }
    want.push_back(std::string(s.name) + "|" + s.span_id.ToHex() + "|" + attrs);
  }
  EXPECT_EQ(exp->Export(*b), pipeline::ExportResult::kOk);
  EXPECT_EQ(exp->Export(*b), pipeline::ExportResult::kOk);  // reuses the kept-alive connection
  std::lock_guard<std::mutex> lock(sink_.mu);
  ASSERT_EQ(sink_.spans.size(), 100u);
  std::vector<std::string> first(sink_.spans.begin(), sink_.spans.begin() + 50);
  std::sort(first.begin(), first.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(first, want);
  std::string m = strobe::metrics::RenderText(registry_, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(m.find("strobe_exporter_sent_spans_total{exporter=\"otlp_http\"} 100"),
            std::string::npos)
      << m;
}

TEST_F(ExporterTest, HandsBackThrottledSignalsWithTheServersRetryAfter) {
  auto exp = MakeExporter("http://" + receiver_->BoundAddress());
  sink_.throttle = 1;  // the receiver answers 429 with Retry-After: 2
  auto b = Batch(5);
  pipeline::ExportResult r = exp->Export(*b);  // returns at once: no sleeping inside Export
  EXPECT_EQ(r.outcome(event::kSignalTraces), pipeline::ExportOutcome::kRetry);
  EXPECT_EQ(r.retry_after(event::kSignalTraces), std::chrono::seconds(2));
  EXPECT_EQ(exp->Export(*b), pipeline::ExportResult::kOk);
  std::string m = strobe::metrics::RenderText(registry_, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(m.find("strobe_exporter_retries_total{exporter=\"otlp_http\"} 1"), std::string::npos)
      << m;
}

// A local port nothing listens on.
uint16_t ClosedPort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// Spans, metric points and a log record in one batch.
event::BatchPtr MixedBatch(event::BatchPool& pool) {
  event::BatchPtr b = pipeline::testing::MetricBatch(pool, 2);
  pipeline::testing::SpanSpec span;
  span.span_id = 7;
  pipeline::testing::AddSpan(*b, span);
  pipeline::testing::AddLog(*b, "hello");
  return b;
}

TEST_F(ExporterTest, RefusedConnectionIsHandedBackAtOnce) {
  auto exp = MakeExporter("http://127.0.0.1:" + std::to_string(ClosedPort()));
  auto start = std::chrono::steady_clock::now();
  pipeline::ExportResult r = exp->Export(*MixedBatch(pool_));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(r, pipeline::ExportResult::kRetry);  // every signal, pipeline backoff (no hint)
}

TEST_F(ExporterTest, ABackendThatNeverAnswersCostsOneTimeoutPerExport) {
  // Listening but never accepting: connects (the kernel's backlog), never answers.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor silent(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto timeout = std::chrono::milliseconds(300);
  auto exp =
      MakeExporter("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()), timeout);
  auto start = std::chrono::steady_clock::now();
  pipeline::ExportResult r = exp->Export(*MixedBatch(pool_));  // three signals, one budget
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r, pipeline::ExportResult::kRetry);
  EXPECT_GE(elapsed, timeout - std::chrono::milliseconds(10));
  EXPECT_LT(elapsed, timeout + std::chrono::milliseconds(700));
}

TEST_F(ExporterTest, PermanentErrorsAreNotRetried) {
  server::Router router;
  router.Handle("POST", "/base/v1/traces",
                [](const server::Request&) { return server::Response::Error(400, "bad"); });
  server::ServerOptions so;
  so.port = 0;
  server::HttpServer http(so, router);
  ASSERT_TRUE(http.Start().ok());
  auto exp = MakeExporter("http://" + http.BoundAddress() + "/base/");
  EXPECT_EQ(exp->Export(*Batch(4)).outcome(event::kSignalTraces), pipeline::ExportOutcome::kFailed);
  (void)http.Shutdown(std::chrono::seconds(1));
}

// The pipeline side of the contract, with the real exporter and real sockets: the pipeline's
// clock is a ManualMonotonicClock, so retries happen only when the test moves time.
class CountingExporter final : public pipeline::Exporter {
 public:
  pipeline::ExportResult Export(const event::Batch& batch) noexcept override {
    events.fetch_add(batch.size());
    return pipeline::ExportResult::kOk;
  }
  strobe::Status Shutdown(std::chrono::milliseconds) override { return strobe::OkStatus(); }
  std::atomic<uint64_t> events{0};
};

struct PipelineWithOtlp {
  PipelineWithOtlp(std::unique_ptr<OtlpHttpExporter> otlp, pipeline::RetryOptions retry = {}) {
    auto counting = std::make_unique<CountingExporter>();
    other = counting.get();
    std::vector<pipeline::Stage<pipeline::Exporter>> exporters;
    exporters.push_back({"otlp_http", std::move(otlp)});
    exporters.push_back({"counting", std::move(counting)});
    pipeline::PipelineOptions o;
    o.clock = &clock;
    o.pool = &pool;
    o.retry = retry;
    p = std::make_unique<pipeline::Pipeline>(o, std::vector<pipeline::Stage<pipeline::Processor>>{},
                                             std::move(exporters));
    EXPECT_TRUE(p->Start().ok());
  }
  // Returns how long a Flush took (the worker answers a flush between export calls).
  std::chrono::steady_clock::duration TimedFlush() {
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(p->Flush(std::chrono::seconds(30)).ok());
    return std::chrono::steady_clock::now() - start;
  }
  pipeline::StageSnapshot Otlp() { return p->Snapshot().stages[1]; }

  base::ManualMonotonicClock clock;
  event::BatchPool pool;
  CountingExporter* other;
  std::unique_ptr<pipeline::Pipeline> p;
};

TEST_F(ExporterTest, DeadBackendNeverBlocksThePipelineWorkerLongerThanOneExportTimeout) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor silent(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto timeout = std::chrono::milliseconds(500);
  PipelineWithOtlp h(
      MakeExporter("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()), timeout));
  ASSERT_TRUE(h.p->Push(pipeline::testing::MetricBatch(h.pool, 3)).accepted());
  // The worker may be inside the one export call (at most `timeout`), then it is free.
  EXPECT_LT(h.TimedFlush(), timeout + std::chrono::milliseconds(1000));
  EXPECT_EQ(h.Otlp().in_flight, 3u);  // parked for retry, not lost
  // While the exporter backs off, new batches wait with it: no export call, no timeout spent,
  // and the pipeline's other exporter gets everything at once.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(h.p->Push(pipeline::testing::MetricBatch(h.pool, 3)).accepted());
  }
  EXPECT_LT(h.TimedFlush(), timeout);
  EXPECT_EQ(h.other->events.load(), 18u);
  EXPECT_EQ(h.Otlp().in_flight, 18u);
  EXPECT_EQ(h.Otlp().DroppedTotal(), 0u);
  // Shutdown is bounded by its deadline; the parked events are dropped with a reason.
  auto start = std::chrono::steady_clock::now();
  (void)h.p->Shutdown(std::chrono::milliseconds(300));
  EXPECT_LT(std::chrono::steady_clock::now() - start, timeout + std::chrono::milliseconds(1000));
  EXPECT_EQ(h.Otlp().Dropped(pipeline::DropReason::kShutdown), 18u);
}

TEST_F(ExporterTest, PipelineRetryFollowsTheServersRetryAfter) {
  std::atomic<int> calls{0};
  server::Router router;
  router.Handle("POST", "/v1/metrics", [&calls](const server::Request&) {
    if (calls.fetch_add(1) == 0) {
      server::Response r = server::Response::Error(503, "busy");
      r.headers.Set("Retry-After", "2");
      return r;
    }
    return server::Response::Text(200, "", "application/x-protobuf");
  });
  server::ServerOptions so;
  so.port = 0;
  server::HttpServer http(so, router);
  ASSERT_TRUE(http.Start().ok());
  pipeline::RetryOptions retry;
  retry.initial_backoff = std::chrono::milliseconds(10);  // the server's 2 s must win
  PipelineWithOtlp h(MakeExporter("http://" + http.BoundAddress()), retry);
  ASSERT_TRUE(h.p->Push(pipeline::testing::MetricBatch(h.pool, 4)).accepted());
  auto settle = [&] {  // two flushes: the second one's loop read the moved clock
    h.TimedFlush();
    h.TimedFlush();
  };
  settle();
  EXPECT_EQ(calls.load(), 1);
  h.clock.AdvanceNs(1'990'000'000);
  settle();
  EXPECT_EQ(calls.load(), 1) << "retried before Retry-After: 2";
  h.clock.AdvanceNs(10'000'000);
  settle();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(h.Otlp().forwarded, 4u);
  EXPECT_EQ(h.Otlp().in_flight, 0u);
  ASSERT_TRUE(h.p->Shutdown(std::chrono::seconds(5)).ok());
  (void)http.Shutdown(std::chrono::seconds(1));
}

TEST(ExporterCreateTest, RejectsBadEndpoints) {
  OtlpHttpExporterOptions o;
  strobe::metrics::Registry r;
  o.metrics = &r;
  o.endpoint = "https://x:4318";
  EXPECT_FALSE(OtlpHttpExporter::Create(o).ok());
  o.endpoint = "collector:4318";
  EXPECT_FALSE(OtlpHttpExporter::Create(o).ok());
  o.endpoint = "http://[::1]:4318/base";
  EXPECT_TRUE(OtlpHttpExporter::Create(o).ok());
  o.endpoint = "http://:4318";
  EXPECT_FALSE(OtlpHttpExporter::Create(o).ok());
  o.endpoint = "http://host:99999";
  EXPECT_FALSE(OtlpHttpExporter::Create(o).ok());
}

}  // namespace
}  // namespace strobed::exporters
