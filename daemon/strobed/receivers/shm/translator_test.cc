#include "strobed/receivers/shm/translator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "strobe/metrics/registry.h"
#include "strobe/metrics/shm_push.h"
#include "strobe/shm/producer.h"
#include "strobe/shm/reader.h"
#include "strobe/shm/test_util.h"

namespace strobed::receivers {
namespace {

using strobe::shm::Consumer;
using strobe::shm::ConsumerOptions;
using strobe::shm::Producer;
using strobe::shm::ProducerOptions;

constexpr uint64_t kNow = 1'700'000'000'000'000'000;
const uint8_t kTrace[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

// Real producers writing real rings in a private directory; the consumer delivers to the
// translator under test.
class TranslatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    translator_ = std::make_unique<ShmTranslator>(pool_, keys_, options_);
    translator_->set_wall_clock([] { return kNow; });
    ConsumerOptions co;
    co.ring = "t";
    co.dir = dir_.path();
    co.write_daemon_marker = false;
    consumer_ = Consumer::Open(co).value();
  }

  std::unique_ptr<Producer> NewProducer(uint32_t instance) {
    ProducerOptions o;
    o.ring = "t";
    o.dir = dir_.path();
    o.capacity_bytes = 1 << 20;
    o.instance = instance;
    return Producer::Connect(o).value();
  }

  void Drain() {
    consumer_->Scan(*translator_);
    while (consumer_->Poll(*translator_) > 0) {
    }
  }

  // The collected points by name (one series per name in these tests).
  std::vector<event::MetricPoint> Collect(bool all = false) {
    batch_ = translator_->CollectMetrics(kNow + 5, all);
    std::vector<event::MetricPoint> out;
    if (batch_) out.assign(batch_->metrics().begin(), batch_->metrics().end());
    return out;
  }

  std::string Label(const event::MetricPoint& m, std::string_view key) {
    for (const event::Attribute& a : m.labels) {
      if (keys_.Name(a.key) == key) return std::string(a.value.AsString());
    }
    return "<none>";
  }

  strobe::shm::testing::TempDir dir_;
  event::BatchPool pool_;
  event::KeyTable keys_;
  ShmTranslatorOptions options_;
  std::unique_ptr<ShmTranslator> translator_;
  std::unique_ptr<Consumer> consumer_;
  event::BatchPtr batch_;
};

int64_t UserId(const event::Resource* r, const event::KeyTable& keys) {
  if (r == nullptr) return -1;
  for (const event::Attribute& a : r->attributes) {
    if (keys.Name(a.key) == "process.user.id") return a.value.AsInt();
  }
  return -1;
}

TEST_F(TranslatorTest, DataCarriesTheRingOwnersUidAndOwnersDoNotShareSeries) {
  auto a = NewProducer(11);
  const uint64_t ida = a->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {});
  ASSERT_TRUE(a->CounterAdd(ida, 3));
  ASSERT_TRUE(a->Span(kTrace, 1, 0, 1, 2, "op", {}));
  ASSERT_TRUE(a->Event(5, "deploy", {}));
  Drain();  // the consumer attaches the ring: its owner is our euid
  auto points = Collect();
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(UserId(points[0].resource, keys_), static_cast<int64_t>(geteuid()));
  event::BatchPtr events = translator_->TakeEvents();
  ASSERT_TRUE(events);
  ASSERT_EQ(events->spans().size(), 1u);
  EXPECT_EQ(UserId(events->spans()[0].resource, keys_), static_cast<int64_t>(geteuid()));
  ASSERT_EQ(events->logs().size(), 1u);
  EXPECT_EQ(UserId(events->logs()[0].resource, keys_), static_cast<int64_t>(geteuid()));
  // Another owner defining the same series gets its own series: it cannot move ours.
  translator_->OnRingAttached(77, 4242);
  std::string def;
  const uint64_t id = 1;
  const uint32_t kind = STROBE_KIND_COUNTER;
  const std::string text = std::string("requests_total") + '\0';
  const uint32_t text_bytes = static_cast<uint32_t>(text.size());
  def.append(reinterpret_cast<const char*>(&id), 8);
  def.append(reinterpret_cast<const char*>(&kind), 4);
  def.append(reinterpret_cast<const char*>(&text_bytes), 4);
  def.append(text);
  translator_->OnRecord({.producer = 77,
                         .type = STROBE_REC_SERIES_DEFINE,
                         .payload = reinterpret_cast<const uint8_t*>(def.data()),
                         .length = static_cast<uint32_t>(def.size())});
  uint64_t point[3] = {1, 0, 1000};
  translator_->OnRecord({.producer = 77,
                         .type = STROBE_REC_COUNTER_ADD,
                         .payload = reinterpret_cast<const uint8_t*>(point),
                         .length = 24});
  points = Collect(/*all=*/true);
  ASSERT_EQ(points.size(), 2u);
  for (const event::MetricPoint& m : points) {
    EXPECT_EQ(m.int_value, UserId(m.resource, keys_) == 4242 ? 1000 : 3);
  }
  EXPECT_EQ(translator_->RejectedRecords(), 0u);
}

// Issue 14, item 7 on the shm path: a key table filled by someone else must not make a series
// lose a label (it would merge into another), strip a point of its owner, or drop span
// attributes without saying so; every refused definition is counted by its real cause.
TEST_F(TranslatorTest, AKeyTheTableRefusesNeverCollapsesASeries) {
  event::KeyTable small(6);  // the translator's own 3 keys are interned at construction
  translator_ = std::make_unique<ShmTranslator>(pool_, small, options_);
  translator_->set_wall_clock([] { return kNow; });
  auto p = NewProducer(1);
  const uint64_t alice = p->DefineSeries(STROBE_KIND_COUNTER, "c", {{"customer", "alice"}});
  const uint64_t long_key =
      p->DefineSeries(STROBE_KIND_COUNTER, "c", {{std::string(300, 'k'), "v"}});
  Drain();
  EXPECT_EQ(translator_->stats().key_too_long, 1u);  // the table still had room
  for (int i = 0; small.size() < small.capacity(); ++i) {
    ASSERT_TRUE(small.Intern("flood" + std::to_string(i)).has_value());
  }
  const uint64_t bob = p->DefineSeries(STROBE_KIND_COUNTER, "c", {{"customer", "bob"}});
  const uint64_t fresh = p->DefineSeries(STROBE_KIND_COUNTER, "c", {{"region", "eu"}});
  ASSERT_TRUE(p->CounterAdd(alice, 10));
  ASSERT_TRUE(p->CounterAdd(bob, 20));    // "customer" is known: bob is a series of its own
  ASSERT_TRUE(p->CounterAdd(fresh, 30));  // refused definition: refused point
  ASSERT_TRUE(p->CounterAdd(long_key, 40));
  ASSERT_TRUE(p->Span(kTrace, 1, 0, 1, 2, "op", {{"customer", "x"}, {"new.attr", "y"}}));
  Drain();
  EXPECT_EQ(translator_->stats().key_table_full, 1u);
  EXPECT_EQ(translator_->stats().series_limit, 0u);
  EXPECT_EQ(translator_->stats().unknown_series, 2u);
  EXPECT_EQ(translator_->RejectedRecords(), 4u);
  auto points = Collect();
  ASSERT_EQ(points.size(), 2u);
  for (const event::MetricPoint& m : points) {
    ASSERT_EQ(m.labels.size(), 1u);
    EXPECT_EQ(m.int_value,
              small.Name(m.labels[0].key) == "customer" && m.labels[0].value.AsString() == "alice"
                  ? 10
                  : 20);
    EXPECT_EQ(UserId(m.resource, small), static_cast<int64_t>(geteuid()));
  }
  event::BatchPtr events = translator_->TakeEvents();
  ASSERT_TRUE(events);
  ASSERT_EQ(events->spans().size(), 1u);
  const event::Span& span = events->spans()[0];
  EXPECT_EQ(span.attributes.size(), 1u);
  EXPECT_EQ(span.dropped_attributes_count, 1u);
  EXPECT_EQ(translator_->stats().dropped_attributes, 1u);
  EXPECT_EQ(UserId(span.resource, small), static_cast<int64_t>(geteuid()));
  batch_.reset();
  translator_.reset();  // before `small`
}

TEST_F(TranslatorTest, CountersOfSeveralProducersSumIntoOneCumulativeSeries) {
  auto a = NewProducer(11);
  auto b = NewProducer(12);
  // Same identity in both producers; ids differ on purpose.
  b->DefineSeries(STROBE_KIND_GAUGE, "unrelated", {});
  uint64_t ida = a->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {{"method", "GET"}});
  uint64_t idb = b->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {{"method", "GET"}});
  ASSERT_NE(ida, idb);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(a->CounterAdd(ida, 1));
  ASSERT_TRUE(b->CounterAdd(idb, 1000));
  Drain();
  auto points = Collect();
  ASSERT_EQ(points.size(), 1u);  // the gauge never got a value
  const event::MetricPoint& m = points[0];
  EXPECT_EQ(m.name, "requests_total");
  EXPECT_EQ(m.type, event::MetricType::kSum);
  EXPECT_EQ(m.temporality, event::Temporality::kCumulative);
  EXPECT_TRUE(m.is_monotonic);
  EXPECT_TRUE(m.is_int);
  EXPECT_EQ(m.int_value, 1100);
  EXPECT_EQ(m.time_ns, kNow + 5);
  EXPECT_EQ(m.start_time_ns, kNow);
  EXPECT_EQ(Label(m, "method"), "GET");
  EXPECT_EQ(translator_->stats().series, 2u);
  EXPECT_EQ(translator_->stats().points, 101u);

  // Nothing changed: nothing collected. A full refresh reports every series.
  EXPECT_TRUE(Collect().empty());
  EXPECT_EQ(Collect(/*all=*/true).size(), 2u);

  // A producer that exits does not take its share away (monotonic totals).
  a.reset();
  Drain();
  ASSERT_TRUE(b->CounterAdd(idb, 1));
  Drain();
  points = Collect();
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].int_value, 1101);
}

TEST_F(TranslatorTest, GaugeKeepsLastValueAndHistogramKeepsTheDistribution) {
  auto p = NewProducer(1);
  uint64_t g = p->DefineSeries(STROBE_KIND_GAUGE, "depth", {});
  uint64_t h = p->DefineSeries(STROBE_KIND_HISTOGRAM, "latency_ns", {{"route", "/a"}});
  ASSERT_TRUE(p->GaugeSet(g, 3.5));
  ASSERT_TRUE(p->GaugeSet(g, -2.25));
  for (int v = 1; v <= 1000; ++v) ASSERT_TRUE(p->HistogramRecord(h, v));
  ASSERT_TRUE(p->HistogramRecord(h, 0));
  ASSERT_TRUE(p->HistogramRecord(h, -1));  // a histogram cannot hold it: counted
  Drain();
  auto points = Collect();
  ASSERT_EQ(points.size(), 2u);
  const event::MetricPoint* gauge = nullptr;
  const event::MetricPoint* hist = nullptr;
  for (const auto& m : points) (m.name == "depth" ? gauge : hist) = &m;
  ASSERT_NE(gauge, nullptr);
  ASSERT_NE(hist, nullptr);
  EXPECT_EQ(gauge->type, event::MetricType::kGauge);
  EXPECT_DOUBLE_EQ(gauge->double_value, -2.25);
  ASSERT_EQ(hist->type, event::MetricType::kExponentialHistogram);
  const event::ExponentialHistogramData& d = *hist->exp_histogram;
  EXPECT_EQ(d.count, 1001u);
  EXPECT_DOUBLE_EQ(d.sum, 500500.0);
  EXPECT_DOUBLE_EQ(d.min, 0.0);
  EXPECT_DOUBLE_EQ(d.max, 1000.0);
  EXPECT_EQ(d.zero_count, 1u);
  EXPECT_EQ(d.scale, 6);
  uint64_t in_buckets = 0;
  for (uint64_t c : d.positive.counts) in_buckets += c;
  EXPECT_EQ(in_buckets, 1000u);
  EXPECT_EQ(Label(*hist, "route"), "/a");
  EXPECT_EQ(translator_->stats().invalid_values, 1u);
}

TEST_F(TranslatorTest, NumpyStyleBatchesApplyEveryEntry) {
  auto p = NewProducer(1);
  uint64_t c = p->DefineSeries(STROBE_KIND_COUNTER, "c_total", {});
  uint64_t h = p->DefineSeries(STROBE_KIND_HISTOGRAM, "h", {});
  std::vector<uint64_t> ids(5000, h);
  std::vector<double> values(5000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i + 1);
  ASSERT_EQ(p->Batch(STROBE_KIND_HISTOGRAM, ids.data(), nullptr, values.data(), ids.size()), 5000u);
  std::vector<uint64_t> cids = {c, c, c, c};
  // -1 and NaN are not counter increments; 3.5 is (a fraction, kept exactly).
  std::vector<double> deltas = {1, 2, 3.5, -1, std::nan("")};
  cids.push_back(c);
  ASSERT_EQ(p->Batch(STROBE_KIND_COUNTER, cids.data(), nullptr, deltas.data(), 5), 5u);
  Drain();
  auto points = Collect();
  ASSERT_EQ(points.size(), 2u);
  for (const auto& m : points) {
    if (m.name == "h") {
      EXPECT_EQ(m.exp_histogram->count, 5000u);
    } else {
      EXPECT_FALSE(m.is_int);
      EXPECT_EQ(m.double_value, 6.5);
    }
  }
  EXPECT_EQ(translator_->stats().invalid_values, 2u);
  // 5000 entries need two records (at most 2730 per record), the counter batch one.
  EXPECT_EQ(translator_->stats().records[STROBE_REC_BATCH], 3u);
}

TEST_F(TranslatorTest, FractionalCounterIncrementsSumExactlyInNanoUnits) {
  auto p = NewProducer(1);
  uint64_t c = p->DefineSeries(STROBE_KIND_COUNTER, "jobs_total", {});
  // 0.1 ten times is 0.9999999999999999 in binary64 arithmetic; in 1e-9 units it is exactly 1.
  std::vector<uint64_t> ids(10, c);
  std::vector<double> tenths(10, 0.1);
  ASSERT_EQ(p->Batch(STROBE_KIND_COUNTER, ids.data(), nullptr, tenths.data(), 10), 10u);
  Drain();
  auto points = Collect();
  ASSERT_EQ(points.size(), 1u);
  EXPECT_TRUE(points[0].is_int);  // the fraction carried into a whole unit
  EXPECT_EQ(points[0].int_value, 1);
  // Integer adds and fractions mix: 1 + 7 + 0.25 + 0.9999999996 (rounds up to 1) = 9.25.
  ASSERT_TRUE(p->CounterAdd(c, 7));
  const double more[2] = {0.25, 0.9999999996};
  ASSERT_EQ(p->Batch(STROBE_KIND_COUNTER, ids.data(), nullptr, more, 2), 2u);
  Drain();
  points = Collect();
  ASSERT_EQ(points.size(), 1u);
  EXPECT_FALSE(points[0].is_int);
  EXPECT_EQ(points[0].double_value, 9.25);
  EXPECT_EQ(points[0].type, event::MetricType::kSum);
  EXPECT_TRUE(points[0].is_monotonic);
  EXPECT_EQ(translator_->stats().invalid_values, 0u);
}

TEST_F(TranslatorTest, DefinitionMetadataReachesThePointsAndBoundsMakeExplicitHistograms) {
  auto p = NewProducer(1);
  const double bounds[] = {0.1, 0.5, 1, 5};
  strobe::shm::SeriesMeta hm{"Request latency.", "s", bounds};
  uint64_t h = p->DefineSeries(STROBE_KIND_HISTOGRAM, "request_latency", {{"route", "/a"}}, hm);
  uint64_t c = p->DefineSeries(STROBE_KIND_COUNTER, "jobs_total", {}, {"Jobs done.", "1", {}});
  ASSERT_NE(h, 0u);
  ASSERT_NE(c, 0u);
  for (double v : {0.05, 0.1, 0.3, 0.7, 2.0, 10.0, -3.0}) ASSERT_TRUE(p->HistogramRecord(h, v));
  ASSERT_TRUE(p->CounterAdd(c, 2));
  Drain();
  auto points = Collect();
  ASSERT_EQ(points.size(), 2u);
  const event::MetricPoint* hist = nullptr;
  const event::MetricPoint* counter = nullptr;
  for (const auto& m : points) (m.name == "jobs_total" ? counter : hist) = &m;
  ASSERT_NE(hist, nullptr);
  ASSERT_NE(counter, nullptr);
  EXPECT_EQ(counter->description, "Jobs done.");
  EXPECT_EQ(counter->unit, "1");
  EXPECT_EQ(counter->int_value, 2);
  EXPECT_EQ(hist->description, "Request latency.");
  EXPECT_EQ(hist->unit, "s");
  ASSERT_EQ(hist->type, event::MetricType::kHistogram);
  ASSERT_NE(hist->histogram, nullptr);
  const event::HistogramData& d = *hist->histogram;
  EXPECT_EQ(std::vector<double>(d.explicit_bounds.begin(), d.explicit_bounds.end()),
            (std::vector<double>{0.1, 0.5, 1, 5}));
  // (-inf, 0.1]: -3, 0.05, 0.1; (0.1, 0.5]: 0.3; (0.5, 1]: 0.7; (1, 5]: 2; (5, +inf): 10.
  EXPECT_EQ(std::vector<uint64_t>(d.bucket_counts.begin(), d.bucket_counts.end()),
            (std::vector<uint64_t>{3, 1, 1, 1, 1}));
  EXPECT_EQ(d.count, 7u);
  EXPECT_DOUBLE_EQ(d.sum, 0.05 + 0.1 + 0.3 + 0.7 + 2.0 + 10.0 - 3.0);
  EXPECT_EQ(d.min, -3.0);
  EXPECT_EQ(d.max, 10.0);
  EXPECT_EQ(hist->temporality, event::Temporality::kCumulative);
  EXPECT_EQ(Label(*hist, "route"), "/a");

  // Another producer: the same bounds share the series; other bounds (or none) are refused,
  // and so is an exponential merge into it.
  auto q = NewProducer(2);
  uint64_t same = q->DefineSeries(STROBE_KIND_HISTOGRAM, "request_latency", {{"route", "/a"}},
                                  {"", "", bounds});
  const double other_bounds[] = {1, 2};
  q->DefineSeries(STROBE_KIND_HISTOGRAM, "request_latency", {{"route", "/a"}},
                  {"", "", other_bounds});
  q->DefineSeries(STROBE_KIND_HISTOGRAM, "request_latency", {{"route", "/a"}});
  ASSERT_TRUE(q->HistogramRecord(same, 0.4));
  const uint64_t one = 1;
  ASSERT_TRUE(q->HistogramMerge(same, 0, 1, 0, 1.0, 1.0, 1.0, 6, 0, &one, 1));
  Drain();
  EXPECT_EQ(translator_->stats().kind_mismatch, 3u);  // two definitions, one merge
  points = Collect();
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].histogram->count, 8u);
  EXPECT_EQ(points[0].histogram->bucket_counts[1], 2u);
  EXPECT_EQ(translator_->stats().series, 2u);
}

TEST_F(TranslatorTest, MetadataThatIsNotUtf8IsRefused) {
  auto p = NewProducer(1);
  p->DefineSeries(STROBE_KIND_COUNTER, "bad_help_total", {}, {"caf\xc3", "", {}});
  p->DefineSeries(STROBE_KIND_COUNTER, "bad_unit_total", {}, {"", "\xff", {}});
  Drain();
  EXPECT_EQ(translator_->stats().invalid_utf8, 2u);
  EXPECT_EQ(translator_->stats().series, 0u);
}

TEST_F(TranslatorTest, PointsForUnknownSeriesAndKindMismatchesAreCounted) {
  auto p = NewProducer(1);
  uint64_t g = p->DefineSeries(STROBE_KIND_GAUGE, "g", {});
  ASSERT_TRUE(p->CounterAdd(g, 1));           // wrong kind for the series
  ASSERT_TRUE(p->CounterAdd(999, 1));         // never defined (dense range)
  ASSERT_TRUE(p->CounterAdd(1ull << 40, 1));  // never defined (sparse range)
  Drain();
  EXPECT_EQ(translator_->stats().kind_mismatch, 1u);
  EXPECT_EQ(translator_->stats().unknown_series, 2u);
  EXPECT_TRUE(Collect().empty());
}

TEST_F(TranslatorTest, SeriesBeyondTheLimitAreRefused) {
  options_.max_series = 3;
  translator_ = std::make_unique<ShmTranslator>(pool_, keys_, options_);
  auto p = NewProducer(1);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(p->DefineSeries(STROBE_KIND_COUNTER, "c" + std::to_string(i), {}));
  }
  for (uint64_t id : ids) ASSERT_TRUE(p->CounterAdd(id, 1));
  Drain();
  EXPECT_EQ(translator_->stats().series, 3u);
  EXPECT_EQ(translator_->stats().series_limit, 2u);
  EXPECT_EQ(translator_->stats().unknown_series, 2u);
  EXPECT_EQ(Collect().size(), 3u);
}

// A series whose label value is not UTF-8 is refused at its definition and counted (its
// points then count as unknown_series); other series of the producer are unaffected.
TEST_F(TranslatorTest, SeriesWithALabelValueNotUtf8AreRefused) {
  auto p = NewProducer(1);
  uint64_t bad = p->DefineSeries(STROBE_KIND_COUNTER, "c_total", {{"user", "b\xffob"}});
  uint64_t good = p->DefineSeries(STROBE_KIND_COUNTER, "c_total", {{"user", "caf\xc3\xa9"}});
  ASSERT_TRUE(p->CounterAdd(bad, 1));
  ASSERT_TRUE(p->CounterAdd(good, 2));
  Drain();
  EXPECT_EQ(translator_->stats().invalid_utf8, 1u);
  EXPECT_EQ(translator_->stats().unknown_series, 1u);
  EXPECT_EQ(translator_->stats().series, 1u);
  EXPECT_EQ(Collect().size(), 1u);
}

TEST_F(TranslatorTest, RingsAreLimitedInNewKeysAndNeverLoseALabel) {
  options_.max_new_keys_per_ring = 2;
  translator_ = std::make_unique<ShmTranslator>(pool_, keys_, options_);
  translator_->set_wall_clock([] { return kNow; });
  auto p = NewProducer(1);
  // Needs three new keys, the ring may add two: refused whole, never kept without `c`.
  uint64_t abc = p->DefineSeries(STROBE_KIND_COUNTER, "abc", {{"a", "1"}, {"b", "2"}, {"c", "3"}});
  uint64_t ab = p->DefineSeries(STROBE_KIND_COUNTER, "ab", {{"a", "1"}, {"b", "2"}});  // known
  ASSERT_TRUE(p->CounterAdd(abc, 1));
  ASSERT_TRUE(p->CounterAdd(ab, 1));
  uint8_t trace[16] = {1};
  ASSERT_TRUE(p->Span(trace, 0x1111, 0, 100, 900, "s", {{"a", "x"}, {"new.key", "y"}}));
  auto q = NewProducer(2);  // another ring has its own quota
  uint64_t c = q->DefineSeries(STROBE_KIND_COUNTER, "d", {{"d", "4"}});
  ASSERT_TRUE(q->CounterAdd(c, 5));
  Drain();
  EXPECT_EQ(translator_->stats().key_source_limit, 1u);
  EXPECT_EQ(translator_->stats().unknown_series, 1u);  // the producer's flush reports it
  EXPECT_EQ(translator_->stats().dropped_attributes, 1u);
  std::vector<event::MetricPoint> points = Collect();
  ASSERT_EQ(points.size(), 2u);
  for (const auto& m : points) EXPECT_NE(m.name, "abc");
  event::BatchPtr b = translator_->TakeEvents();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->spans().size(), 1u);
  EXPECT_EQ(b->spans()[0].attributes.size(), 1u);
  EXPECT_EQ(b->spans()[0].dropped_attributes_count, 1u);
  EXPECT_EQ(keys_.rejected(event::KeyRefusal::kSourceLimit), 2u);
}

TEST_F(TranslatorTest, SpansCarryKindStatusServiceAndParent) {
  auto p = NewProducer(77);
  uint8_t trace[16];
  for (int i = 0; i < 16; ++i) trace[i] = static_cast<uint8_t>(i + 1);
  ASSERT_TRUE(p->Span(trace, 0x1111, 0, 100, 900, "GET /users",
                      {{"span.kind", "server"},
                       {"service.name", "api"},
                       {"http.route", "/users"},
                       {"otel.status_code", "ERROR"},
                       {"otel.status_description", "boom"}}));
  ASSERT_TRUE(p->Span(trace, 0x2222, 0x1111, 200, 300, "db", {{"error", "true"}}));
  Drain();
  event::BatchPtr b = translator_->TakeEvents();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->spans().size(), 2u);
  const event::Span& root = b->spans()[0];
  EXPECT_EQ(root.trace_id.ToHex(), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(root.span_id.Value(), 0x1111u);
  EXPECT_TRUE(root.IsRoot());
  EXPECT_EQ(root.name, "GET /users");
  EXPECT_EQ(root.kind, event::SpanKind::kServer);
  EXPECT_EQ(root.status.code, event::StatusCode::kError);
  EXPECT_EQ(root.status.message, "boom");
  EXPECT_EQ(root.start_ns, 100u);
  EXPECT_EQ(root.end_ns, 900u);
  ASSERT_EQ(root.attributes.size(), 1u);  // conventional keys moved into fields
  EXPECT_EQ(keys_.Name(root.attributes[0].key), "http.route");
  ASSERT_NE(root.resource, nullptr);
  const event::Attribute* svc = nullptr;
  const event::Attribute* pid = nullptr;
  for (const auto& a : root.resource->attributes) {
    if (keys_.Name(a.key) == "service.name") svc = &a;
    if (keys_.Name(a.key) == "process.pid") pid = &a;
  }
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->value.AsString(), "api");
  ASSERT_NE(pid, nullptr);
  EXPECT_EQ(pid->value.AsInt(), 77);

  const event::Span& child = b->spans()[1];
  EXPECT_EQ(child.parent_span_id.Value(), 0x1111u);
  EXPECT_EQ(child.kind, event::SpanKind::kInternal);
  EXPECT_EQ(child.status.code, event::StatusCode::kError);
  ASSERT_NE(child.resource, nullptr);
  EXPECT_NE(child.resource, root.resource);  // no service.name: unknown_service
  EXPECT_EQ(child.resource->attributes[0].value.AsString(), "unknown_service");
  EXPECT_EQ(translator_->TakeEvents(), nullptr);
}

TEST_F(TranslatorTest, EventsBecomeLogRecords) {
  auto p = NewProducer(5);
  ASSERT_TRUE(p->Event(0, "deploy", {{"version", "1.2"}}));
  ASSERT_TRUE(p->Event(42, "restart", {}));
  Drain();
  event::BatchPtr b = translator_->TakeEvents();
  ASSERT_TRUE(b);
  ASSERT_EQ(b->logs().size(), 2u);
  EXPECT_EQ(b->logs()[0].event_name, "deploy");
  EXPECT_EQ(b->logs()[0].body.AsString(), "deploy");
  EXPECT_EQ(b->logs()[0].time_ns, kNow);  // 0 = stamped on receipt
  ASSERT_EQ(b->logs()[0].attributes.size(), 1u);
  EXPECT_EQ(b->logs()[0].attributes[0].value.AsString(), "1.2");
  EXPECT_EQ(b->logs()[1].time_ns, 42u);
}

// A C++ program's libstrobe registry pushed through the ring arrives as the same values.
TEST_F(TranslatorTest, PushedRegistryMatchesTheProgramsOwnMetrics) {
  strobe::metrics::Registry registry;
  auto& requests = *registry.AddCounterFamily({"app_requests", "", ""}, {"code"}).value();
  auto& depth = *registry.AddGauge({"app_depth", "", ""}).value();
  auto& latency = *registry.AddHistogram({"app_latency_ns", "", ""}).value();
  auto p = NewProducer(3);
  strobe::metrics::ShmPusher pusher(registry, *p);
  requests.With({{"code", "200"}}).Add(40);
  requests.With({{"code", "500"}}).Add(2);
  depth.Set(7.5);
  for (int v = 1; v <= 1000; ++v) latency.Record(v * 1000);
  EXPECT_GE(pusher.Push(), 3u + 4u);  // definitions + values
  requests.With({{"code", "200"}}).Add(2);
  for (int v = 1; v <= 500; ++v) latency.Record(v);
  latency.Record(0);
  pusher.Push();
  Drain();
  auto points = Collect();
  int seen = 0;
  for (const event::MetricPoint& m : points) {
    if (m.name == "app_requests") {
      ++seen;
      EXPECT_EQ(m.int_value, Label(m, "code") == "200" ? 42 : 2);
    } else if (m.name == "app_depth") {
      ++seen;
      EXPECT_DOUBLE_EQ(m.double_value, 7.5);
    } else if (m.name == "app_latency_ns") {
      ++seen;
      const strobe::metrics::HistogramData own = latency.Data();
      ASSERT_NE(m.exp_histogram, nullptr);
      EXPECT_EQ(m.exp_histogram->count, 1501u);
      EXPECT_EQ(m.exp_histogram->count, own.count());
      EXPECT_EQ(m.exp_histogram->zero_count, 1u);
      EXPECT_DOUBLE_EQ(m.exp_histogram->sum, own.sum());
      EXPECT_DOUBLE_EQ(m.exp_histogram->min, 0.0);
      EXPECT_DOUBLE_EQ(m.exp_histogram->max, 1e6);
      // Same count in every bucket (the program's own layout may carry empty edges).
      const auto& got = m.exp_histogram->positive;
      auto at = [](int32_t offset, std::span<const uint64_t> c, int64_t i) -> uint64_t {
        const int64_t k = i - offset;
        return k >= 0 && k < static_cast<int64_t>(c.size()) ? c[static_cast<size_t>(k)] : 0;
      };
      const int64_t lo = std::min<int64_t>(got.offset, own.offset());
      const int64_t hi =
          std::max<int64_t>(got.offset + static_cast<int64_t>(got.counts.size()),
                            own.offset() + static_cast<int64_t>(own.counts().size()));
      for (int64_t i = lo; i < hi; ++i) {
        EXPECT_EQ(at(got.offset, got.counts, i), at(own.offset(), own.counts(), i)) << i;
      }
    }
  }
  EXPECT_EQ(seen, 4);
  EXPECT_EQ(translator_->stats().invalid_values, 0u);
  EXPECT_EQ(translator_->stats().records[STROBE_REC_HISTOGRAM_MERGE], 2u);
  EXPECT_EQ(pusher.stats().dropped, 0u);
  // Nothing changed: a push writes only the gauge again.
  EXPECT_EQ(pusher.Push(), 1u);
}

TEST_F(TranslatorTest, InvalidHistogramMergesAreCountedNotMerged) {
  auto p = NewProducer(1);
  uint64_t h = p->DefineSeries(STROBE_KIND_HISTOGRAM, "h", {});
  const uint64_t counts[2] = {3, 4};
  // count does not add up; wrong scale; min > max.
  ASSERT_TRUE(p->HistogramMerge(h, 0, 99, 0, 10, 1, 2, 6, 64, counts, 2));
  ASSERT_TRUE(p->HistogramMerge(h, 0, 7, 0, 10, 1, 2, 5, 64, counts, 2));
  ASSERT_TRUE(p->HistogramMerge(h, 0, 7, 0, 10, 3, 2, 6, 64, counts, 2));
  ASSERT_TRUE(p->HistogramMerge(h, 0, 7, 0, 10, 1, 2, 6, 64, counts, 2));  // valid
  Drain();
  EXPECT_EQ(translator_->stats().invalid_values, 3u);
  auto points = Collect();
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].exp_histogram->count, 7u);
}

TEST_F(TranslatorTest, PingCallsBackAndUndecodablePayloadsAreCounted) {
  int pings = 0;
  translator_->set_on_ping([&] {
    ++pings;
    return true;
  });
  auto p = NewProducer(1);
  ASSERT_TRUE(p->Ping(7));
  Drain();
  EXPECT_EQ(pings, 1);

  // Payloads that do not decode (the reader validates framing only).
  const uint8_t junk[5] = {1, 2, 3, 4, 5};
  for (uint16_t type :
       {STROBE_REC_SERIES_DEFINE, STROBE_REC_COUNTER_ADD, STROBE_REC_SPAN, STROBE_REC_EVENT,
        STROBE_REC_BATCH, STROBE_REC_PING, STROBE_REC_HISTOGRAM_MERGE}) {
    translator_->OnRecord({.producer = 1, .type = type, .payload = junk, .length = 5});
  }
  EXPECT_EQ(translator_->stats().invalid_records, 7u);
  EXPECT_EQ(pings, 1);
  EXPECT_EQ(translator_->TakeEvents(), nullptr);
}

}  // namespace
}  // namespace strobed::receivers
