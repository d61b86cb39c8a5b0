#include "strobed/receivers/shm/shm_receiver.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/shm/producer.h"
#include "strobe/shm/segment.h"
#include "strobe/shm/test_util.h"
#include "strobe/trace/shm_span_sink.h"
#include "strobe/trace/tracer.h"
#include "strobed/pipeline/testing.h"

namespace strobed::receivers {
namespace {

using pipeline::testing::WaitFor;
using strobe::shm::Producer;
using strobe::shm::ProducerOptions;

uint8_t kTrace[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// A pipeline entry that keeps what it is given, or pushes back while `refuse` is set.
class FakeIngest final : public pipeline::Ingest {
 public:
  pipeline::PushResult Push(event::BatchPtr&& batch,
                            const pipeline::PushOptions& options) noexcept override {
    (void)options;
    std::lock_guard<std::mutex> lock(mu_);
    pipeline::PushResult r;
    if (refuse.load()) {
      ++refusals_;
      const pipeline::RefuseReason reason = refuse_reason.load();
      // As the pipeline answers: above the soft limit it throttles, otherwise it refuses.
      r.status = reason == pipeline::RefuseReason::kMemorySoft ? pipeline::PushStatus::kThrottled
                                                               : pipeline::PushStatus::kRefused;
      r.refuse_reason = reason;
      r.retry_after = std::chrono::milliseconds(1);
      r.batch = std::move(batch);
      return r;
    }
    spans += batch->spans().size();
    logs += batch->logs().size();
    for (const event::Span& sp : batch->spans()) {
      event::Span copy = sp;  // ids, kind and status only: views are not kept
      copy.name = {};
      copy.attributes = {};
      copy.resource = nullptr;
      kept_spans.push_back(copy);
    }
    for (const event::LogRecord& l : batch->logs()) log_trace_id = l.trace_id.ToHex();
    for (const event::MetricPoint& m : batch->metrics()) {
      if (m.name == "survivor_total" || m.name == "requests_total") last_counter = m.int_value;
    }
    points += batch->metrics().size();
    return r;
  }
  event::BatchPool& pool() noexcept override { return pool_; }

  uint64_t Spans() {
    std::lock_guard<std::mutex> lock(mu_);
    return spans;
  }
  int64_t LastCounter() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_counter;
  }
  uint64_t Logs() {
    std::lock_guard<std::mutex> lock(mu_);
    return logs;
  }

  std::vector<event::Span> TakeSpans() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(kept_spans);
  }

  uint64_t Refusals() {
    std::lock_guard<std::mutex> lock(mu_);
    return refusals_;
  }

  std::atomic<bool> refuse{false};
  std::atomic<pipeline::RefuseReason> refuse_reason{pipeline::RefuseReason::kMemorySoft};
  std::string LogTraceId() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_trace_id;
  }

 private:
  std::mutex mu_;
  event::BatchPool pool_;
  uint64_t spans = 0, logs = 0, points = 0, refusals_ = 0;
  std::string log_trace_id;  // of the last log record
  std::vector<event::Span> kept_spans;
  int64_t last_counter = -1;
};

class ShmReceiverTest : public ::testing::Test {
 protected:
  std::unique_ptr<ShmReceiver> NewReceiver(event::KeyTable* keys = nullptr,
                                           size_t max_series = 100'000) {
    ShmReceiverOptions o;
    o.ring = "r";
    o.dir = dir_.path();
    o.metrics = &registry_;
    o.keys = keys != nullptr ? keys : &keys_;
    o.translator.max_series = max_series;
    o.batch_events = 10;
    o.scan_interval = std::chrono::milliseconds(5);
    return std::make_unique<ShmReceiver>(o);
  }

  std::unique_ptr<Producer> NewProducer(
      uint64_t capacity = 1 << 16,
      strobe::shm::FullPolicy policy = strobe::shm::FullPolicy::kSpin) {
    ProducerOptions o;
    o.ring = "r";
    o.dir = dir_.path();
    o.capacity_bytes = capacity;
    o.policy = policy;
    o.spin_limit = UINT64_MAX;
    o.require_daemon = true;
    return Producer::Connect(o).value();
  }

  // Writes a PING (retrying while a drop-policy ring is full) and waits for the daemon's
  // acknowledgement.
  static bool RoundTrip(Producer& p, uint64_t seq) {
    if (!WaitFor([&] { return p.Ping(seq); })) return false;
    return WaitFor([&] { return p.AckSeq() >= seq; });
  }

  // A flush issued while the pipeline refuses data (for `reason`) must not be acknowledged
  // until the data is accepted, and then with every record delivered (docs/design/ring.md).
  void ExpectFlushWaitsForTheRefusedData(pipeline::RefuseReason reason) {
    // The records and the PING are in the ring before the receiver starts, so its first poll
    // reads them all and the push the PING triggers is the first one the pipeline refuses.
    ProducerOptions po;
    po.ring = "r";
    po.dir = dir_.path();
    auto p = Producer::Connect(po).value();
    const uint64_t c = p->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {});
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(p->CounterAdd(c, 1));
    for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(p->Span(kTrace, i, 0, 1, 2, "op", {}));
    ASSERT_TRUE(p->Event(0, "deploy", {}));
    ASSERT_TRUE(p->Ping(1));
    ingest_.refuse_reason = reason;
    ingest_.refuse = true;
    auto receiver = NewReceiver();
    ASSERT_TRUE(receiver->Start(ingest_).ok());
    // The receiver read the PING, was refused, and keeps retrying its held batch (Retry-After
    // 1 ms)...
    ASSERT_TRUE(WaitFor([&] { return ingest_.Refusals() >= 5; }));
    // ...while the PING stays unanswered: the producer's flush times out with a clear error,
    // and so does the daemon's own flush.
    EXPECT_EQ(p->AckSeq(), 0u);
    strobe::Status s = p->Flush(std::chrono::milliseconds(20));
    EXPECT_EQ(s.code(), strobe::StatusCode::kDeadlineExceeded) << s.message();
    EXPECT_NE(s.message().find("did not acknowledge"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("refusing data"), std::string::npos) << s.message();
    EXPECT_EQ(receiver->Flush(std::chrono::milliseconds(20)).code(),
              strobe::StatusCode::kDeadlineExceeded);
    EXPECT_EQ(p->AckSeq(), 0u);
    EXPECT_EQ(ingest_.Spans(), 0u);
    EXPECT_EQ(ingest_.Logs(), 0u);
    EXPECT_EQ(ingest_.LastCounter(), -1);
    // The pipeline takes data again: the flush is acknowledged, with everything before it
    // delivered by then.
    ingest_.refuse = false;
    ASSERT_TRUE(p->Flush(std::chrono::seconds(10)).ok());
    EXPECT_GE(p->AckSeq(), 3u);  // PING 1, the timed-out flush's PING 2, this flush's PING 3
    EXPECT_EQ(ingest_.Spans(), 5u);
    EXPECT_EQ(ingest_.Logs(), 1u);
    EXPECT_EQ(ingest_.LastCounter(), 100);
    EXPECT_GT(receiver->totals().push_retries, 0u);
    ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
  }

  std::string Metrics() {
    return strobe::metrics::RenderText(registry_, strobe::metrics::Format::kPrometheusText);
  }

  strobe::shm::testing::TempDir dir_;
  strobe::metrics::Registry registry_;
  event::KeyTable keys_;
  FakeIngest ingest_;
};

TEST_F(ShmReceiverTest, RecordsReachThePipelineBeforeThePingIsAcknowledged) {
  auto receiver = NewReceiver();
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  EXPECT_EQ(receiver->Endpoint(), dir_.path() + "/strobe-r-*");
  auto p = NewProducer();
  uint64_t c = p->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {{"code", "200"}});
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(p->CounterAdd(c, 1));
  for (uint64_t i = 1; i <= 25; ++i) ASSERT_TRUE(p->Span(kTrace, i, 0, 1, 2, "op", {}));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p->Event(0, "deploy", {{"v", "1"}}));
  ASSERT_TRUE(RoundTrip(*p, 1));
  // Pushed synchronously before the ack: no waiting needed.
  EXPECT_EQ(ingest_.Spans(), 25u);
  EXPECT_EQ(ingest_.Logs(), 3u);
  EXPECT_EQ(ingest_.LastCounter(), 10'000);

  ASSERT_TRUE(receiver->Flush(std::chrono::seconds(10)).ok());
  std::string m = Metrics();
  EXPECT_NE(m.find("strobe_shm_records_total{receiver=\"shm\",type=\"counter_add\"} 10000"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("strobe_receiver_accepted_spans_total{receiver=\"shm\"} 25"), std::string::npos);
  EXPECT_NE(m.find("strobe_receiver_accepted_log_records_total{receiver=\"shm\"} 3"),
            std::string::npos);
  EXPECT_NE(m.find("strobe_shm_rings{receiver=\"shm\"} 1"), std::string::npos);
  EXPECT_NE(m.find("strobe_shm_series{receiver=\"shm\"} 1"), std::string::npos);
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
  // The marker is gone: producers see no daemon.
  EXPECT_FALSE(Producer::Connect({.ring = "r", .dir = dir_.path(), .require_daemon = true}).ok());
}

// A C++ program traced with strobe::trace ends its spans into the daemon through the rings.
TEST_F(ShmReceiverTest, TracerSpansArriveWithKindStatusServiceAndParents) {
  auto receiver = NewReceiver();
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  strobe::trace::ShmSpanSinkOptions so;
  so.ring = "r";
  so.dir = dir_.path();
  so.service_name = "cart";
  so.policy = strobe::shm::FullPolicy::kSpin;
  auto sink = strobe::trace::ShmSpanSink::Create(so).value();
  strobe::trace::Tracer tracer(*sink);
  {
    strobe::trace::Span root(tracer, "GET /cart", strobe::trace::SpanKind::kServer);
    root.SetStatus(strobe::trace::SpanStatus::kError, "boom");
    root.AddEvent("cache.miss");
    strobe::trace::Span child(tracer, "SELECT", strobe::trace::SpanKind::kClient);
  }
  // This thread's ring carries the spans; a PING on a ring of our own is not ordered with
  // it, so wait for the pipeline instead.
  ASSERT_TRUE(WaitFor([&] { return ingest_.Spans() == 2 && ingest_.Logs() == 1; }));
  std::vector<event::Span> spans = ingest_.TakeSpans();
  ASSERT_EQ(spans.size(), 2u);
  const event::Span& child = spans[0];
  const event::Span& root = spans[1];
  EXPECT_EQ(root.kind, event::SpanKind::kServer);
  EXPECT_EQ(root.status.code, event::StatusCode::kError);
  EXPECT_EQ(child.kind, event::SpanKind::kClient);
  EXPECT_EQ(child.parent_span_id, root.span_id);
  EXPECT_EQ(child.trace_id, root.trace_id);
  EXPECT_EQ(ingest_.LogTraceId(), root.trace_id.ToHex());
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
  EXPECT_EQ(sink->dropped(), 0u);
}

TEST_F(ShmReceiverTest, BackPressureStopsDrainingAndLosesNothingCommitted) {
  auto receiver = NewReceiver();
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  auto p = NewProducer(/*capacity=*/4096, strobe::shm::FullPolicy::kDrop);
  ASSERT_TRUE(RoundTrip(*p, 100));  // the receiver has attached the ring
  ingest_.refuse = true;
  uint64_t written = 0, attempts = 0;
  auto write = [&] {
    ++attempts;
    if (p->Span(kTrace, attempts, 0, 1, 2, "op", {})) ++written;
  };
  // Until the receiver has read a batch and the pipeline refused it.
  ASSERT_TRUE(WaitFor([&] {
    write();
    return ingest_.Refusals() > 0;
  }));
  // 4 KiB ring, ~80-byte span records: the ring fills while the pipeline refuses, because the
  // receiver stopped draining.
  const uint64_t dropped_before = p->DroppedRecords();
  while (p->DroppedRecords() < dropped_before + 1000) {
    write();
    if (attempts % 64 == 0) std::this_thread::yield();
    ASSERT_LT(attempts, 10'000'000u) << "ring never filled: the receiver kept draining";
  }
  EXPECT_EQ(written + p->DroppedRecords(), attempts);
  EXPECT_LT(written, 4000u);  // bounded by the ring and the held batches, not the attempts
  EXPECT_EQ(ingest_.Spans(), 0u);
  ingest_.refuse = false;
  ASSERT_TRUE(RoundTrip(*p, 101));
  EXPECT_EQ(ingest_.Spans(), written);  // exactly what was committed
  ASSERT_TRUE(receiver->Flush(std::chrono::seconds(10)).ok());
  EXPECT_GT(receiver->totals().push_retries, 0u);
  EXPECT_EQ(receiver->totals().producer_dropped, p->DroppedRecords());
  std::string m = Metrics();
  EXPECT_NE(m.find("strobe_shm_producer_dropped_records_total{receiver=\"shm\"} " +
                   std::to_string(p->DroppedRecords())),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("strobe_shm_push_retries_total{receiver=\"shm\",reason=\"throttled\"}"),
            std::string::npos)
      << m;
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
}

TEST_F(ShmReceiverTest, AFlushIsNotAcknowledgedWhileTheMemoryLimiterRefuses) {
  ExpectFlushWaitsForTheRefusedData(pipeline::RefuseReason::kMemoryHard);
}

TEST_F(ShmReceiverTest, AFlushIsNotAcknowledgedWhileABlockingQueueIsFull) {
  ExpectFlushWaitsForTheRefusedData(pipeline::RefuseReason::kQueueFull);
}

TEST_F(ShmReceiverTest, AFlushIsNotAcknowledgedWhileThePipelineThrottles) {
  ExpectFlushWaitsForTheRefusedData(pipeline::RefuseReason::kMemorySoft);
}

TEST_F(ShmReceiverTest, ARestartedReceiverResumesWhereThePreviousStopped) {
  auto first = NewReceiver();
  ASSERT_TRUE(first->Start(ingest_).ok());
  auto p = NewProducer();
  for (uint64_t i = 1; i <= 30; ++i) ASSERT_TRUE(p->Span(kTrace, i, 0, 1, 2, "a", {}));
  ASSERT_TRUE(RoundTrip(*p, 1));
  ASSERT_TRUE(first->Shutdown(std::chrono::seconds(5)).ok());
  first.reset();
  // No daemon: records wait in the ring.
  for (uint64_t i = 31; i <= 50; ++i) ASSERT_TRUE(p->Span(kTrace, i, 0, 1, 2, "b", {}));
  EXPECT_EQ(ingest_.Spans(), 30u);
  auto second = NewReceiver();
  ASSERT_TRUE(second->Start(ingest_).ok());
  ASSERT_TRUE(RoundTrip(*p, 2));
  EXPECT_EQ(ingest_.Spans(), 50u);  // the 20 new ones, none of the first 30 again
  ASSERT_TRUE(second->Shutdown(std::chrono::seconds(5)).ok());
}

TEST_F(ShmReceiverTest, ARestartedReceiverKnowsTheSeriesDefinedBeforeIt) {
  auto first = NewReceiver();
  ASSERT_TRUE(first->Start(ingest_).ok());
  auto p = NewProducer();
  const uint64_t c = p->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {{"path", "/"}});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p->CounterAdd(c, 1));
  ASSERT_TRUE(p->Flush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(ingest_.LastCounter(), 10);
  ASSERT_TRUE(first->Shutdown(std::chrono::seconds(5)).ok());
  first.reset();
  // The daemon restarts; the producer keeps going without redefining anything.
  auto second = NewReceiver();
  ASSERT_TRUE(second->Start(ingest_).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p->CounterAdd(c, 1));
  strobe::Status s = p->Flush(std::chrono::seconds(10));
  ASSERT_TRUE(s.ok()) << s.message();
  // The new daemon's series starts at the restart (a counter reset, as after any restart).
  EXPECT_EQ(ingest_.LastCounter(), 5);
  EXPECT_EQ(second->totals().invalid, 0u);  // nothing dropped as unknown_series
  EXPECT_EQ(Metrics().find("reason=\"unknown_series\"} 1"), std::string::npos);
  ASSERT_TRUE(second->Shutdown(std::chrono::seconds(5)).ok());
}

TEST_F(ShmReceiverTest, AFlushReportsRecordsTheDaemonRefused) {
  auto receiver = NewReceiver();
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  auto p = NewProducer();
  ASSERT_TRUE(p->CounterAdd(777, 1));  // never defined
  strobe::Status s = p->Flush(std::chrono::seconds(10));
  EXPECT_EQ(s.code(), strobe::StatusCode::kDataLoss) << s.message();
  EXPECT_NE(s.message().find("refused 1 record"), std::string::npos) << s.message();
  EXPECT_EQ(p->RejectedRecords(), 1u);
  // Reported once: the next flush with good data succeeds.
  const uint64_t c = p->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {});
  ASSERT_TRUE(p->CounterAdd(c, 1));
  EXPECT_TRUE(p->Flush(std::chrono::seconds(10)).ok());
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
}

// The soak's case (issue 14, hole 5 and item 7): a client fills the daemon's attribute key
// table; a producer then defines a series with a label key the table has never seen. The
// definition is refused (the series would lose its label and merge into another), every
// point written to it is refused too, and the producer's flush must say so, with the exact
// count, while a series defined before keeps working and flushes clean.
TEST_F(ShmReceiverTest, ADefinitionRefusedByAFullKeyTableMakesTheFlushReportDataLoss) {
  event::KeyTable small(8);  // the translator interns its own 3 keys at start
  auto receiver = NewReceiver(&small);
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  auto p = NewProducer();
  const uint64_t before =
      p->DefineSeries(STROBE_KIND_COUNTER, "survivor_total", {{"customer", "alice"}});
  ASSERT_TRUE(p->CounterAdd(before, 10));
  ASSERT_TRUE(p->Flush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(ingest_.LastCounter(), 10);
  // Another client fills the table (what one OTLP request with 70,000 keys did).
  for (int i = 0; small.size() < small.capacity(); ++i) {
    ASSERT_TRUE(small.Intern("flood" + std::to_string(i)).has_value());
  }
  ASSERT_FALSE(small.Intern("brand_new_key").has_value());
  // Three label values: three definitions, each refused; 100 points to them.
  uint64_t ids[3];
  for (int v = 0; v < 3; ++v) {
    ids[v] =
        p->DefineSeries(STROBE_KIND_COUNTER, "after_total", {{"brand_new_key", std::to_string(v)}});
    ASSERT_NE(ids[v], 0u);
  }
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(p->CounterAdd(ids[i % 3], 1));
  strobe::Status s = p->Flush(std::chrono::seconds(10));
  EXPECT_EQ(s.code(), strobe::StatusCode::kDataLoss) << s.message();
  EXPECT_NE(s.message().find("refused 103 record(s)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("key table full"), std::string::npos) << s.message();
  EXPECT_EQ(p->RejectedRecords(), 103u);
  // Counted by the real cause, exactly (the flush published the stats before the ack).
  ASSERT_TRUE(receiver->Flush(std::chrono::seconds(5)).ok());
  const std::string m = Metrics();
  EXPECT_NE(m.find("{receiver=\"shm\",reason=\"key_table_full\"} 3"), std::string::npos) << m;
  EXPECT_NE(m.find("{receiver=\"shm\",reason=\"unknown_series\"} 100"), std::string::npos) << m;
  EXPECT_NE(m.find("{receiver=\"shm\",reason=\"series_limit\"} 0"), std::string::npos) << m;
  EXPECT_EQ(receiver->totals().invalid, 103u);
  // Reported once. The series defined before keeps working, and its flush is clean when
  // nothing of it was dropped.
  ASSERT_TRUE(p->CounterAdd(before, 5));
  s = p->Flush(std::chrono::seconds(10));
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ingest_.LastCounter(), 15);
  // Points of the refused series keep being refused, and keep being reported.
  ASSERT_TRUE(p->CounterAdd(ids[0], 1));
  s = p->Flush(std::chrono::seconds(10));
  EXPECT_EQ(s.code(), strobe::StatusCode::kDataLoss) << s.message();
  EXPECT_NE(s.message().find("refused 1 record(s)"), std::string::npos) << s.message();
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
}

TEST_F(ShmReceiverTest, ADefinitionOverTheSeriesLimitMakesTheFlushReportDataLoss) {
  auto receiver = NewReceiver(nullptr, /*max_series=*/1);
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  auto p = NewProducer();
  const uint64_t a = p->DefineSeries(STROBE_KIND_COUNTER, "survivor_total", {});
  ASSERT_TRUE(p->CounterAdd(a, 1));
  ASSERT_TRUE(p->Flush(std::chrono::seconds(10)).ok());
  const uint64_t b = p->DefineSeries(STROBE_KIND_GAUGE, "one_too_many", {});
  ASSERT_TRUE(p->GaugeSet(b, 1.5));
  ASSERT_TRUE(p->GaugeSet(b, 2.5));
  strobe::Status s = p->Flush(std::chrono::seconds(10));
  EXPECT_EQ(s.code(), strobe::StatusCode::kDataLoss) << s.message();
  EXPECT_NE(s.message().find("refused 3 record(s)"), std::string::npos) << s.message();
  ASSERT_TRUE(receiver->Flush(std::chrono::seconds(5)).ok());
  const std::string m = Metrics();
  EXPECT_NE(m.find("{receiver=\"shm\",reason=\"series_limit\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("{receiver=\"shm\",reason=\"key_table_full\"} 0"), std::string::npos) << m;
  EXPECT_NE(m.find("{receiver=\"shm\",reason=\"unknown_series\"} 2"), std::string::npos) << m;
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
}

// A restarted daemon replays the definitions log; one it refuses there (its key table is full
// by then) is reported to the producer's next flush like a refusal read from the ring.
TEST_F(ShmReceiverTest, ADefinitionRefusedOnReplayIsReportedToTheNextFlush) {
  auto first = NewReceiver();
  ASSERT_TRUE(first->Start(ingest_).ok());
  auto p = NewProducer();
  const uint64_t c = p->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {{"zone", "a"}});
  ASSERT_TRUE(p->CounterAdd(c, 1));
  ASSERT_TRUE(p->Flush(std::chrono::seconds(10)).ok());
  ASSERT_TRUE(first->Shutdown(std::chrono::seconds(5)).ok());
  first.reset();
  event::KeyTable full(4);  // room for the translator's own keys and one more
  ASSERT_TRUE(full.Intern("filler").has_value());
  auto second = NewReceiver(&full);
  ASSERT_TRUE(second->Start(ingest_).ok());
  ASSERT_TRUE(p->CounterAdd(c, 1));
  strobe::Status s = p->Flush(std::chrono::seconds(10));
  EXPECT_EQ(s.code(), strobe::StatusCode::kDataLoss) << s.message();
  // The replayed definition and the point.
  EXPECT_NE(s.message().find("refused 2 record(s)"), std::string::npos) << s.message();
  ASSERT_TRUE(second->Shutdown(std::chrono::seconds(5)).ok());
}

TEST_F(ShmReceiverTest, ARingTruncatedByItsOwnerIsDroppedAndTheDaemonKeepsServing) {
  auto receiver = NewReceiver();
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  auto victim = NewProducer();
  const off_t size = static_cast<off_t>(std::filesystem::file_size(victim->path()));
  for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(victim->Span(kTrace, i, 0, 1, 2, "a", {}));
  ASSERT_TRUE(RoundTrip(*victim, 1));
  ASSERT_EQ(truncate(victim->path().c_str(), 0), 0);  // killed the old daemon with SIGBUS
  ASSERT_TRUE(WaitFor([&] { return receiver->totals().truncated == 1; }));
  EXPECT_TRUE(WaitFor([&] { return receiver->totals().rings == 0; }));
  EXPECT_NE(
      Metrics().find("strobe_shm_rejected_rings_total{receiver=\"shm\",reason=\"truncated\"} 1"),
      std::string::npos)
      << Metrics();
  // Everyone else is still served.
  ProducerOptions o;
  o.ring = "r";
  o.dir = dir_.path();
  o.instance = 4242;
  auto other = Producer::Connect(o).value();
  ASSERT_TRUE(other->Span(kTrace, 99, 0, 1, 2, "b", {}));
  ASSERT_TRUE(other->Flush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(ingest_.Spans(), 11u);
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
  ASSERT_EQ(truncate(victim->path().c_str(), size), 0);  // our producer writes on close
}

TEST_F(ShmReceiverTest, RingsOfUsersNotAllowedAreIgnoredAndCounted) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown a ring to another uid";
  constexpr uint32_t kNobody = 65534;
  ProducerOptions o;
  o.ring = "r";
  o.dir = dir_.path();
  auto p = Producer::Connect(o).value();
  ASSERT_EQ(chown(p->path().c_str(), kNobody, kNobody), 0);
  ASSERT_TRUE(p->Span(kTrace, 1, 0, 1, 2, "injected", {}));
  auto receiver = NewReceiver();
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  ASSERT_TRUE(WaitFor([&] { return receiver->totals().rejected_owner == 1; }));
  EXPECT_EQ(receiver->totals().rings, 0u);
  EXPECT_EQ(p->Flush(std::chrono::milliseconds(50)).code(), strobe::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ingest_.Spans(), 0u);
  EXPECT_NE(Metrics().find("strobe_shm_rejected_rings_total{receiver=\"shm\",reason=\"owner_not_"
                           "allowed\"} 1"),
            std::string::npos)
      << Metrics();
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
  receiver.reset();
  EXPECT_TRUE(std::filesystem::exists(p->path()));
  // Allowed by configuration (shm.allowed_users: 65534): read.
  ShmReceiverOptions ro;
  ro.ring = "r";
  ro.dir = dir_.path();
  ro.metrics = &registry_;
  ro.keys = &keys_;
  ro.scan_interval = std::chrono::milliseconds(5);
  ro.allowed_uids = {kNobody};
  ShmReceiver allowed(ro);
  ASSERT_TRUE(allowed.Start(ingest_).ok());
  ASSERT_TRUE(p->Flush(std::chrono::seconds(10)).ok());
  EXPECT_EQ(ingest_.Spans(), 1u);
  ASSERT_TRUE(allowed.Shutdown(std::chrono::seconds(5)).ok());
}

TEST(ShmReceiverOwnersTest, NamesAndIdsResolve) {
  auto ids = ResolveOwners("0, root,65534", false);
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  EXPECT_EQ(*ids, (std::vector<uint32_t>{0, 0, 65534}));
  EXPECT_TRUE(ResolveOwners("", true)->empty());
  EXPECT_EQ(ResolveOwners("no-such-user-xyz", false).status().code(),
            strobe::StatusCode::kInvalidArgument);
}

TEST_F(ShmReceiverTest, ShutdownDeliversWhatProducersCommitted) {
  auto receiver = NewReceiver();
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  auto p = NewProducer(1 << 20);
  for (uint64_t i = 1; i <= 5000; ++i) ASSERT_TRUE(p->Span(kTrace, i, 0, 1, 2, "op", {}));
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(10)).ok());
  EXPECT_EQ(ingest_.Spans(), 5000u);
}

TEST_F(ShmReceiverTest, ASecondDaemonOnTheSameRingIsRefused) {
  // pid 1 is alive and is not us: its marker means another daemon owns the ring.
  {
    std::ofstream out(strobe::shm::DaemonMarkerPath(dir_.path(), "r"));
    out << "1\n";
  }
  auto receiver = NewReceiver();
  strobe::Status s = receiver->Start(ingest_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), strobe::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("already consumed by pid 1"), std::string::npos) << s.message();
  // A stale marker (dead pid) is taken over.
  {
    std::ofstream out(strobe::shm::DaemonMarkerPath(dir_.path(), "r"));
    out << "999999999\n";
  }
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
}

// Producers killed with SIGKILL while writing, in a loop, next to a producer that writes an
// exact count: the daemon keeps ingesting, reclaims the dead rings, and the survivor's total
// is exact.
TEST_F(ShmReceiverTest, SigkilledProducersDoNotDisturbOthers) {
  auto receiver = NewReceiver();
  ASSERT_TRUE(receiver->Start(ingest_).ok());
  auto survivor = NewProducer(1 << 16, strobe::shm::FullPolicy::kSpin);
  const uint64_t id = survivor->DefineSeries(STROBE_KIND_COUNTER, "survivor_total", {});
  ASSERT_NE(id, 0u);
  std::atomic<bool> done{false};
  uint64_t survivor_adds = 0;
  std::thread writer([&] {
    while (!done.load()) {
      ASSERT_TRUE(survivor->CounterAdd(id, 1));
      ++survivor_adds;
    }
  });
  constexpr int kKills = 8;
  for (int k = 0; k < kKills; ++k) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // The victim: writes spans and counters as fast as it can until killed.
      ProducerOptions o;
      o.ring = "r";
      o.dir = dir_.path();
      o.capacity_bytes = 1 << 14;
      auto p = Producer::Connect(o);
      if (!p.ok()) _exit(3);
      uint64_t v = (*p)->DefineSeries(STROBE_KIND_COUNTER, "victim_total", {});
      for (uint64_t i = 1;; ++i) {
        (*p)->CounterAdd(v, 1);
        (*p)->Span(kTrace, i, 0, 1, 2, "victim", {{"k", "v"}});
      }
    }
    // Kill it only once its ring exists (and it has been writing for a few ms).
    ASSERT_TRUE(WaitFor([&] {
      return access(
                 strobe::shm::SegmentPath(dir_.path(), "r", static_cast<uint32_t>(child)).c_str(),
                 F_OK) == 0;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + 3 * k));
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "victim exited by itself: " << status;
  }
  done = true;
  writer.join();
  ASSERT_TRUE(RoundTrip(*survivor, 1));
  EXPECT_EQ(ingest_.LastCounter(), static_cast<int64_t>(survivor_adds));
  // Every dead ring is found, drained and removed.
  ASSERT_TRUE(WaitFor([&] {
    (void)receiver->Flush(std::chrono::seconds(1));
    std::string m = Metrics();
    return m.find("strobe_shm_rings_reclaimed_total{receiver=\"shm\"} " + std::to_string(kKills)) !=
           std::string::npos;
  })) << Metrics();
  EXPECT_EQ(receiver->totals().rings, 1u);
  EXPECT_EQ(receiver->totals().malformed, 0u);
  ASSERT_TRUE(receiver->Shutdown(std::chrono::seconds(5)).ok());
}

}  // namespace
}  // namespace strobed::receivers
