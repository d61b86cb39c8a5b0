#include "strobed/exporters/otlp_http/otlp_http.h"

#include <gtest/gtest.h>

#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/synthetic.h"
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

  std::unique_ptr<OtlpHttpExporter> MakeExporter(std::string endpoint) {
    OtlpHttpExporterOptions o;
    o.endpoint = std::move(endpoint);
    o.metrics = &registry_;
    o.seed = 1;
    o.max_elapsed = std::chrono::milliseconds(60'000);
    auto e = OtlpHttpExporter::Create(o);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    auto exp = std::move(e).value();
    exp->SetSleepForTest([this](std::chrono::milliseconds d) { delays_.push_back(d); });
    return exp;
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
  std::vector<std::chrono::milliseconds> delays_;
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

TEST_F(ExporterTest, HonoursRetryAfterOn429) {
  auto exp = MakeExporter("http://" + receiver_->BoundAddress());
  sink_.throttle = 2;
  EXPECT_EQ(exp->Export(*Batch(5)), pipeline::ExportResult::kOk);
  ASSERT_EQ(delays_.size(), 2u);
  EXPECT_EQ(delays_[0], std::chrono::milliseconds(2000));  // Retry-After: 2
  std::string m = strobe::metrics::RenderText(registry_, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(m.find("strobe_exporter_retries_total{exporter=\"otlp_http\"} 2"), std::string::npos);
}

TEST_F(ExporterTest, BacksOffExponentiallyWithJitterThenGivesBack) {
  // Nothing listens on this port: every attempt is a connection error.
  OtlpHttpExporterOptions o;
  o.endpoint = "http://127.0.0.1:1";
  o.metrics = &registry_;
  o.initial_backoff = std::chrono::milliseconds(100);
  o.max_backoff = std::chrono::milliseconds(800);
  o.max_elapsed = std::chrono::milliseconds(3000);
  auto exp = std::move(OtlpHttpExporter::Create(o)).value();
  std::chrono::milliseconds total{0};
  std::vector<std::chrono::milliseconds> d;
  exp->SetSleepForTest([&](std::chrono::milliseconds x) {
    d.push_back(x);
    total += x;
  });
  // The fake sleep does not advance the clock; the exporter counts the delays it waited.
  EXPECT_EQ(exp->Export(*Batch(3)), pipeline::ExportResult::kRetry);
  ASSERT_GE(d.size(), 3u);
  EXPECT_LE(total.count(), 3000);
  EXPECT_GE(total.count(), 3000 - 800);
  EXPECT_GE(d[0].count(), 50);
  EXPECT_LE(d[0].count(), 100);
  for (int a = 0; a < 6; ++a) {
    auto delay = exp->BackoffDelay(a, "");
    int64_t cap = std::min<int64_t>(100LL << a, 800);
    EXPECT_GE(delay.count(), cap / 2);
    EXPECT_LE(delay.count(), cap);
  }
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
  EXPECT_EQ(exp->Export(*Batch(4)), pipeline::ExportResult::kFailed);
  EXPECT_TRUE(delays_.empty());
  (void)http.Shutdown(std::chrono::seconds(1));
}

TEST(ExporterCreateTest, RejectsBadEndpoints) {
  OtlpHttpExporterOptions o;
  strobe::metrics::Registry r;
  o.metrics = &r;
  o.endpoint = "https://x:4318";
  EXPECT_FALSE(OtlpHttpExporter::Create(o).ok());
  o.endpoint = "http://:4318";
  EXPECT_FALSE(OtlpHttpExporter::Create(o).ok());
  o.endpoint = "http://host:99999";
  EXPECT_FALSE(OtlpHttpExporter::Create(o).ok());
}

}  // namespace
}  // namespace strobed::exporters
