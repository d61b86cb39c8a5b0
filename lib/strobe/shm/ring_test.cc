#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "strobe/shm/producer.h"
#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"
#include "strobe/shm/test_util.h"

namespace strobe::shm {
namespace {

using testing::CollectingSink;
using testing::TempDir;

ProducerOptions Opts(const TempDir& d, uint64_t cap = 1 << 16) {
  ProducerOptions o;
  o.ring = "t";
  o.dir = d.path();
  o.capacity_bytes = cap;
  return o;
}

std::unique_ptr<Consumer> OpenConsumer(const TempDir& d) {
  ConsumerOptions o;
  o.ring = "t";
  o.dir = d.path();
  auto c = Consumer::Open(o);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(*c);
}

RecordView View(const CollectingSink& s, size_t i) {
  return RecordView{s.producers[i], s.types[i], s.payloads[i].data(),
                    static_cast<uint32_t>(s.payloads[i].size())};
}

TEST(ShmRingTest, EveryRecordTypeRoundTrips) {
  TempDir d;
  auto p = Producer::Connect(Opts(d));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Producer& w = **p;
  const uint64_t id = w.DefineSeries(STROBE_KIND_HISTOGRAM, "latency", {{"path", "/a"}});
  EXPECT_EQ(id, 1u);
  EXPECT_TRUE(w.CounterAdd(id, 7, 123));
  EXPECT_TRUE(w.GaugeSet(id, 2.5));
  EXPECT_TRUE(w.HistogramRecord(id, 0.25, 99));
  uint8_t trace[16] = {1, 2, 3};
  EXPECT_TRUE(w.Span(trace, 11, 10, 100, 200, "db", {{"k", "v"}, {"x", ""}}));
  EXPECT_TRUE(w.Event(55, "deploy", {}));
  uint64_t ids[3] = {1, 1, 1};
  double vals[3] = {1.0, 2.0, 3.0};
  EXPECT_EQ(w.Batch(STROBE_KIND_GAUGE, ids, nullptr, vals, 3), 3u);
  EXPECT_TRUE(w.Ping(42));

  auto c = OpenConsumer(d);
  CollectingSink sink;
  EXPECT_EQ(c->Scan(sink), 1u);
  EXPECT_EQ(c->Poll(sink), 8u);
  EXPECT_EQ(w.AckSeq(), 42u);
  ASSERT_EQ(sink.types.size(), 8u);

  SeriesDefineRecord def;
  ASSERT_TRUE(DecodeSeriesDefine(View(sink, 0), &def));
  EXPECT_EQ(def.name, "latency");
  ASSERT_EQ(def.labels.size(), 1u);
  EXPECT_EQ(def.labels[0].first, "path");
  EXPECT_EQ(def.labels[0].second, "/a");
  PointRecord pt;
  ASSERT_TRUE(DecodePoint(View(sink, 1), &pt));
  EXPECT_EQ(pt.delta, 7u);
  EXPECT_EQ(pt.timestamp_ns, 123u);
  ASSERT_TRUE(DecodePoint(View(sink, 2), &pt));
  EXPECT_EQ(pt.value, 2.5);
  ASSERT_TRUE(DecodePoint(View(sink, 3), &pt));
  EXPECT_EQ(pt.value, 0.25);
  SpanRecord span;
  ASSERT_TRUE(DecodeSpan(View(sink, 4), &span));
  EXPECT_EQ(span.name, "db");
  EXPECT_EQ(span.parent_span_id, 10u);
  EXPECT_EQ(span.attributes.size(), 2u);
  EXPECT_EQ(span.trace_id[2], 3);
  EventRecord ev;
  ASSERT_TRUE(DecodeEvent(View(sink, 5), &ev));
  EXPECT_EQ(ev.name, "deploy");
  BatchRecord b;
  ASSERT_TRUE(DecodeBatch(View(sink, 6), &b));
  ASSERT_EQ(b.count, 3u);
  uint64_t sid = 0, ts = 1;
  double v = 0;
  b.Entry(2, &sid, &ts, &v);
  EXPECT_EQ(v, 3.0);
  EXPECT_EQ(ts, 0u);
  EXPECT_EQ(c->stats().malformed, 0u);
}

TEST(ShmRingTest, WrapsWithPaddingAndKeepsOrder) {
  TempDir d;
  auto p = Producer::Connect(Opts(d, 4096));
  ASSERT_TRUE(p.ok());
  auto c = OpenConsumer(d);
  CollectingSink sink;
  c->Scan(sink);
  uint64_t next = 0;
  uint64_t expect = 0;
  for (int round = 0; round < 2000; ++round) {
    // Sizes 8..300 bytes so frames end at every offset mod capacity.
    const uint32_t len = 8 + static_cast<uint32_t>((round * 37) % 293);
    std::vector<uint8_t> buf(len, 0);
    std::memcpy(buf.data(), &next, 8);
    if ((*p)->Write(STROBE_REC_EVENT, buf.data(), len)) ++next;
    c->Poll(sink);
  }
  c->Poll(sink);
  ASSERT_EQ(sink.types.size(), next);
  for (const auto& pl : sink.payloads) {
    uint64_t got;
    std::memcpy(&got, pl.data(), 8);
    ASSERT_EQ(got, expect++);
  }
  EXPECT_EQ((*p)->DroppedRecords(), 0u);
}

// A sink whose downstream refuses for now: it holds PINGs until `ready`.
struct HoldingSink : CollectingSink {
  bool ReadyToAck(uint32_t producer) override {
    (void)producer;
    ++asked;
    return ready;
  }
  bool ready = false;
  int asked = 0;
};

TEST(ShmRingTest, APingIsAcknowledgedOnlyOnceTheSinkIsReady) {
  TempDir d;
  auto p = Producer::Connect(Opts(d));
  ASSERT_TRUE(p.ok());
  auto c = OpenConsumer(d);
  HoldingSink sink;
  c->Scan(sink);
  ASSERT_TRUE((*p)->CounterAdd(1, 1));
  ASSERT_TRUE((*p)->Ping(7));
  ASSERT_TRUE((*p)->CounterAdd(1, 2));
  // The record before the PING is delivered; the reader stops in front of the PING.
  EXPECT_EQ(c->Poll(sink), 1u);
  EXPECT_EQ(c->Poll(sink), 0u);
  EXPECT_EQ(sink.asked, 2);  // offered again on every Drain
  EXPECT_EQ(sink.types, std::vector<uint16_t>{STROBE_REC_COUNTER_ADD});
  EXPECT_EQ((*p)->AckSeq(), 0u);
  Status s = (*p)->Flush(std::chrono::milliseconds(5));  // times out: PING 7 is still held
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.message();
  sink.ready = true;
  EXPECT_EQ(c->Poll(sink), 3u);  // PING 7, the second add, the flush's PING 8
  EXPECT_EQ(sink.types, (std::vector<uint16_t>{STROBE_REC_COUNTER_ADD, STROBE_REC_PING,
                                               STROBE_REC_COUNTER_ADD, STROBE_REC_PING}));
  EXPECT_EQ((*p)->AckSeq(), 8u);
  EXPECT_EQ(c->stats().records, 4u);
}

TEST(ShmRingTest, AClosedRingWithAHeldPingIsKeptUntilTheSinkIsReady) {
  TempDir d;
  auto c = OpenConsumer(d);
  HoldingSink sink;
  {
    auto p = Producer::Connect(Opts(d));
    ASSERT_TRUE(p.ok());
    c->Scan(sink);
    ASSERT_TRUE((*p)->Ping(1));
    ASSERT_TRUE((*p)->CounterAdd(1, 1));
  }                              // closed: the daemon drains and removes it
  EXPECT_EQ(c->Scan(sink), 1u);  // kept: the rest would be lost behind the held PING
  EXPECT_TRUE(sink.types.empty());
  EXPECT_EQ(c->stats().rings_reclaimed, 0u);
  sink.ready = true;
  EXPECT_EQ(c->Scan(sink), 0u);
  EXPECT_EQ(sink.types, (std::vector<uint16_t>{STROBE_REC_PING, STROBE_REC_COUNTER_ADD}));
  EXPECT_EQ(c->stats().rings_reclaimed, 1u);
}

TEST(ShmRingTest, FlushFailsClearlyWithoutAConsumerAndSucceedsWithOne) {
  TempDir d;
  auto p = Producer::Connect(Opts(d, 4096));
  ASSERT_TRUE(p.ok());
  Status s = (*p)->Flush(std::chrono::milliseconds(5));
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("did not acknowledge ring " + (*p)->path()), std::string::npos)
      << s.message();
  // Fill the ring: the flush cannot even write its PING (and counts no drop for trying).
  while ((*p)->CounterAdd(1, 1)) {
  }
  const uint64_t small = 0;  // a PING's size: no room is left for one either
  while ((*p)->Write(STROBE_REC_EVENT, &small, sizeof small)) {
  }
  const uint64_t dropped = (*p)->DroppedRecords();
  s = (*p)->Flush(std::chrono::milliseconds(5));
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.message();
  EXPECT_NE(s.message().find("stayed full"), std::string::npos) << s.message();
  EXPECT_EQ((*p)->DroppedRecords(), dropped);
  // A consumer on another thread drains and answers.
  auto c = OpenConsumer(d);
  std::atomic<bool> done{false};
  std::thread consumer([&] {
    CollectingSink sink;
    c->Scan(sink);
    while (!done.load()) c->Poll(sink);
  });
  s = (*p)->Flush(std::chrono::seconds(10));
  done = true;
  consumer.join();
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_EQ((*p)->AckSeq(), 2u);  // the first flush's PING 1 was consumed too
}

TEST(ShmRingTest, FullRingDropsAndCounts) {
  TempDir d;
  auto p = Producer::Connect(Opts(d, 4096));
  ASSERT_TRUE(p.ok());
  size_t ok = 0;
  for (int i = 0; i < 1000; ++i) ok += (*p)->CounterAdd(1, 1) ? 1 : 0;
  EXPECT_EQ(ok, 4096u / 32);
  EXPECT_EQ((*p)->DroppedRecords(), 1000u - ok);
  auto c = OpenConsumer(d);
  CollectingSink sink;
  c->Scan(sink);
  EXPECT_EQ(c->Poll(sink), ok);
  c->Scan(sink);
  EXPECT_EQ(c->stats().producer_dropped, 1000u - ok);
  EXPECT_TRUE((*p)->CounterAdd(1, 1));  // room again
}

TEST(ShmRingTest, SpinPolicyGivesUpAfterBound) {
  TempDir d;
  ProducerOptions o = Opts(d, 4096);
  o.policy = FullPolicy::kSpin;
  o.spin_limit = 100;
  auto p = Producer::Connect(o);
  ASSERT_TRUE(p.ok());
  while ((*p)->CounterAdd(1, 1)) {
  }
  EXPECT_EQ((*p)->DroppedRecords(), 1u);
}

TEST(ShmRingTest, OversizedRecordIsDroppedNotWritten) {
  TempDir d;
  auto p = Producer::Connect(Opts(d, 4096));
  ASSERT_TRUE(p.ok());
  std::vector<uint8_t> big(5000);
  EXPECT_FALSE((*p)->Write(STROBE_REC_EVENT, big.data(), 5000));
  EXPECT_EQ((*p)->DroppedRecords(), 1u);
}

TEST(ShmRingTest, ConsumerRestartResumesWithoutDuplicates) {
  TempDir d;
  auto p = Producer::Connect(Opts(d));
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 10; ++i) (*p)->CounterAdd(1, 1);
  {
    auto c = OpenConsumer(d);
    CollectingSink sink;
    c->Scan(sink);
    EXPECT_EQ(c->Poll(sink), 10u);
  }
  for (int i = 0; i < 5; ++i) (*p)->CounterAdd(1, 1);
  auto c = OpenConsumer(d);
  CollectingSink sink;
  c->Scan(sink);
  EXPECT_EQ(c->Poll(sink), 5u);
}

TEST(ShmRingTest, SegmentIsMode0600AndDaemonMarkerGates) {
  TempDir d;
  ProducerOptions o = Opts(d);
  o.require_daemon = true;
  auto none = Producer::Connect(o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(none.status().message().find("not running"), std::string::npos);
  auto c = OpenConsumer(d);
  auto p = Producer::Connect(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  struct stat st {};
  ASSERT_EQ(stat((*p)->path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(ShmRingTest, InvalidOptionsAreRejected) {
  TempDir d;
  ProducerOptions o = Opts(d, 5000);
  EXPECT_EQ(Producer::Connect(o).status().code(), StatusCode::kInvalidArgument);
  o = Opts(d);
  o.ring = "../x";
  EXPECT_EQ(Producer::Connect(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(ShmRingTest, StaleSegmentsOfDeadProducersAreDrainedAndRemoved) {
  TempDir d;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto p = Producer::Connect(Opts(d));
    if (!p.ok()) _exit(1);
    for (int i = 0; i < 3; ++i) (*p)->CounterAdd(1, 1);
    (*p).release();  // leave the segment behind, as a crash would
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  // Junk with a dead pid is removed too.
  const std::string junk = SegmentPath(d.path(), "t", static_cast<uint32_t>(child));
  auto c = OpenConsumer(d);
  CollectingSink sink;
  EXPECT_EQ(c->Scan(sink), 0u);
  EXPECT_EQ(sink.types.size(), 3u);
  EXPECT_EQ(c->stats().rings_reclaimed, 1u);
  EXPECT_EQ(c->stats().torn, 0u);
  EXPECT_FALSE(std::filesystem::exists(junk));
}

TEST(ShmRingTest, GarbageFrameIsCountedAndSkipped) {
  TempDir d;
  auto p = Producer::Connect(Opts(d, 4096));
  ASSERT_TRUE(p.ok());
  (*p)->CounterAdd(1, 1);
  // A frame with an unknown type, committed as if a buggy producer wrote it.
  uint8_t* slot = (*p)->Reserve(STROBE_REC_COUNTER_ADD, 24);
  ASSERT_NE(slot, nullptr);
  uint16_t bad = 77;
  std::memcpy(slot - 4, &bad, 2);
  (*p)->Commit();
  (*p)->CounterAdd(1, 1);
  auto c = OpenConsumer(d);
  CollectingSink sink;
  c->Scan(sink);
  c->Poll(sink);
  EXPECT_EQ(sink.types.size(), 1u);
  EXPECT_EQ(c->stats().malformed, 1u);
  EXPECT_EQ(c->stats().malformed_bytes, 64u);
  // The producer's next flush must not report success: the skip counts as one refusal.
  EXPECT_EQ((*p)->RejectedRecords(), 1u);
  (*p)->CounterAdd(1, 1);  // the ring is usable afterwards
  c->Poll(sink);
  EXPECT_EQ(sink.types.size(), 2u);
  EXPECT_EQ((*p)->RejectedRecords(), 1u);
}

// A sink that refuses every definition (as the daemon does when its key table is full).
struct RefusingDefinitionsSink : testing::CollectingSink {
  void OnRecord(const RecordView& r) override {
    if (r.type == STROBE_REC_SERIES_DEFINE) {
      ++refused;
      return;
    }
    CollectingSink::OnRecord(r);
  }
  uint64_t RejectedRecords() const override { return refused; }
  uint64_t refused = 0;
};

TEST(ShmRingTest, RefusalsDuringDrainAndReplayReachTheProducersFlush) {
  TempDir d;
  auto p = Producer::Connect(Opts(d));
  ASSERT_TRUE(p.ok());
  const uint64_t id = (*p)->DefineSeries(STROBE_KIND_COUNTER, "c", {{"k", "v"}});
  ASSERT_TRUE((*p)->Ping(1));
  {
    auto c = OpenConsumer(d);
    RefusingDefinitionsSink sink;
    c->Scan(sink);
    c->Poll(sink);
    EXPECT_EQ((*p)->AckSeq(), 1u);
    EXPECT_EQ((*p)->RejectedRecords(), 1u);  // stored before the ack of the PING after it
  }
  // A restarted consumer replays the definition from the log and refuses it again: that is
  // reported too (a producer that flushes next learns its series is unknown to this daemon).
  ASSERT_TRUE((*p)->CounterAdd(id, 1));
  ASSERT_TRUE((*p)->Ping(2));
  auto c = OpenConsumer(d);
  RefusingDefinitionsSink sink;
  c->Scan(sink);
  EXPECT_EQ(c->stats().definitions_replayed, 1u);
  c->Poll(sink);
  EXPECT_EQ((*p)->AckSeq(), 2u);
  EXPECT_EQ((*p)->RejectedRecords(), 2u);
}

TEST(ShmRecordTest, DecodersRejectInconsistentPayloads) {
  Pairs pairs;
  EXPECT_TRUE(DecodePairs(std::string_view("a\0b\0", 4), &pairs));
  EXPECT_FALSE(DecodePairs(std::string_view("a\0b", 3), &pairs));
  EXPECT_FALSE(DecodePairs(std::string_view("\0b\0", 3), &pairs));
  uint8_t buf[64] = {};
  RecordView r{1, STROBE_REC_COUNTER_ADD, buf, 24};
  PointRecord pt;
  EXPECT_FALSE(DecodePoint(r, &pt));  // series id 0
  buf[0] = 1;
  EXPECT_TRUE(DecodePoint(r, &pt));
  r.length = 23;
  EXPECT_FALSE(DecodePoint(r, &pt));
  BatchRecord b;
  RecordView rb{1, STROBE_REC_BATCH, buf, 8};
  buf[0] = 1;  // count 1 but no entry
  buf[4] = 1;
  EXPECT_FALSE(DecodeBatch(rb, &b));
}

// A SERIES_DEFINE payload built by hand: the text, then (when `meta` is set) a metadata block
// of `version` with `description`, `unit`, `bounds` and `extra` trailing bytes.
std::string DefinePayload(uint32_t kind, bool meta, uint32_t version = 1,
                          std::string_view description = "", std::string_view unit = "",
                          std::vector<double> bounds = {}, size_t extra = 0) {
  std::string p;
  auto u32 = [&p](uint32_t v) { p.append(reinterpret_cast<const char*>(&v), 4); };
  const uint64_t id = 5;
  p.append(reinterpret_cast<const char*>(&id), 8);
  u32(kind);
  const std::string text("h\0k\0v\0", 6);
  u32(static_cast<uint32_t>(text.size()));
  p += text;
  if (!meta) return p;
  u32(version);
  u32(static_cast<uint32_t>(description.size()));
  u32(static_cast<uint32_t>(unit.size()));
  u32(static_cast<uint32_t>(bounds.size()));
  p += description;
  p += unit;
  p.append(reinterpret_cast<const char*>(bounds.data()), bounds.size() * 8);
  p.append(extra, 'x');
  return p;
}

// The decoded record's views (name, labels, description, unit, bounds) point into the payload,
// so the payload is kept here until the next call (callers pass temporaries).
bool DecodeDefine(std::string payload, SeriesDefineRecord* out) {
  static std::string kept;
  kept = std::move(payload);
  RecordView r{1, STROBE_REC_SERIES_DEFINE, reinterpret_cast<const uint8_t*>(kept.data()),
               static_cast<uint32_t>(kept.size())};
  return DecodeSeriesDefine(r, out);
}

TEST(ShmRecordTest, DefinitionMetadataBlockDecodesAndIsValidated) {
  SeriesDefineRecord d;
  // The original form: no block.
  ASSERT_TRUE(DecodeDefine(DefinePayload(STROBE_KIND_HISTOGRAM, false), &d));
  EXPECT_EQ(d.meta_version, 0u);
  EXPECT_EQ(d.bounds_count, 0u);
  // Version 1: description, unit, bounds.
  ASSERT_TRUE(DecodeDefine(
      DefinePayload(STROBE_KIND_HISTOGRAM, true, 1, "Latency.", "s", {0.1, 0.5, 2}), &d));
  EXPECT_EQ(d.name, "h");
  ASSERT_EQ(d.labels.size(), 1u);
  EXPECT_EQ(d.meta_version, 1u);
  EXPECT_EQ(d.description, "Latency.");
  EXPECT_EQ(d.unit, "s");
  ASSERT_EQ(d.bounds_count, 3u);
  EXPECT_EQ(d.Bound(0), 0.1);
  EXPECT_EQ(d.Bound(2), 2.0);
  // A later version may append fields: version-1 readers take what they know.
  ASSERT_TRUE(DecodeDefine(DefinePayload(STROBE_KIND_COUNTER, true, 2, "d", "By", {}, 24), &d));
  EXPECT_EQ(d.meta_version, 2u);
  EXPECT_EQ(d.unit, "By");
  // Refused: trailing bytes in version 1, version 0, a truncated block, bounds not strictly
  // increasing or not finite, bounds on a counter, NUL in the description, over the limits.
  EXPECT_FALSE(DecodeDefine(DefinePayload(STROBE_KIND_COUNTER, true, 1, "d", "", {}, 8), &d));
  EXPECT_FALSE(DecodeDefine(DefinePayload(STROBE_KIND_COUNTER, true, 0, "d"), &d));
  std::string truncated = DefinePayload(STROBE_KIND_HISTOGRAM, true, 1, "d", "s", {1, 2});
  truncated.pop_back();
  EXPECT_FALSE(DecodeDefine(truncated, &d));
  EXPECT_FALSE(
      DecodeDefine(DefinePayload(STROBE_KIND_COUNTER, true, 1, "", "", {}).substr(0, 30), &d));
  EXPECT_FALSE(DecodeDefine(DefinePayload(STROBE_KIND_HISTOGRAM, true, 1, "", "", {1, 1}), &d));
  EXPECT_FALSE(DecodeDefine(DefinePayload(STROBE_KIND_HISTOGRAM, true, 1, "", "", {2, 1}), &d));
  EXPECT_FALSE(
      DecodeDefine(DefinePayload(STROBE_KIND_HISTOGRAM, true, 1, "", "", {1, std::nan("")}), &d));
  EXPECT_FALSE(
      DecodeDefine(DefinePayload(STROBE_KIND_HISTOGRAM, true, 1, "", "", {1, INFINITY}), &d));
  EXPECT_FALSE(DecodeDefine(DefinePayload(STROBE_KIND_COUNTER, true, 1, "", "", {1}), &d));
  EXPECT_FALSE(
      DecodeDefine(DefinePayload(STROBE_KIND_COUNTER, true, 1, std::string_view("a\0b", 3)), &d));
  EXPECT_FALSE(DecodeDefine(DefinePayload(STROBE_KIND_COUNTER, true, 1,
                                          std::string(STROBE_DEFINE_MAX_DESCRIPTION + 1, 'd')),
                            &d));
  EXPECT_FALSE(DecodeDefine(DefinePayload(STROBE_KIND_HISTOGRAM, true, 1, "", "",
                                          std::vector<double>(STROBE_DEFINE_MAX_BOUNDS + 1, 0.0)),
                            &d));
}

TEST(ShmRingTest, DefinitionsWithMetadataRoundTripAndBadMetadataIsNotWritten) {
  TempDir d;
  auto p = Producer::Connect(Opts(d));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Producer& w = **p;
  const double bounds[] = {0.25, 1};
  EXPECT_EQ(w.DefineSeries(STROBE_KIND_HISTOGRAM, "h", {}, {"Help.", "ms", bounds}), 1u);
  EXPECT_EQ(w.DefineSeries(STROBE_KIND_COUNTER, "c", {}), 2u);  // no metadata: original form
  const double unsorted[] = {1, 0.25};
  EXPECT_EQ(w.DefineSeries(STROBE_KIND_HISTOGRAM, "x", {}, {"", "", unsorted}), 0u);
  EXPECT_EQ(w.DefineSeries(STROBE_KIND_GAUGE, "x", {}, {"", "", bounds}), 0u);
  auto c = OpenConsumer(d);
  CollectingSink sink;
  c->Scan(sink);
  c->Poll(sink);
  ASSERT_EQ(sink.types.size(), 2u);
  SeriesDefineRecord def;
  ASSERT_TRUE(DecodeSeriesDefine(View(sink, 0), &def));
  EXPECT_EQ(def.description, "Help.");
  EXPECT_EQ(def.unit, "ms");
  ASSERT_EQ(def.bounds_count, 2u);
  EXPECT_EQ(def.Bound(1), 1.0);
  ASSERT_TRUE(DecodeSeriesDefine(View(sink, 1), &def));
  EXPECT_EQ(def.meta_version, 0u);
  // Exactly the original record: 16 fixed bytes + "c\0".
  EXPECT_EQ(sink.payloads[1].size(), 18u);
}

// A daemon from before the metadata block writes a marker with only its pid: a producer then
// leaves the block out (that daemon would refuse the whole definition). A current daemon's
// marker names the feature; with no marker at all the producer assumes a current daemon.
TEST(ShmRingTest, MetadataIsLeftOutForADaemonWhoseMarkerLacksTheFeature) {
  const double bounds[] = {1, 2};
  const SeriesMeta meta{"Help.", "s", bounds};
  for (const std::string& marker :
       {std::string("\n"), std::string("\nfeatures 1\n"), std::string()}) {
    TempDir d;
    if (!marker.empty()) {
      std::ofstream(DaemonMarkerPath(d.path(), "t")) << getpid() << marker;
    }
    auto p = Producer::Connect(Opts(d));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    const bool old_daemon = marker == "\n";
    EXPECT_EQ((*p)->daemon_features(), old_daemon ? 0u : uint32_t{STROBE_FEATURE_DEFINE_META});
    ASSERT_EQ((*p)->DefineSeries(STROBE_KIND_HISTOGRAM, "h", {}, meta), 1u);
    ConsumerOptions co;
    co.ring = "t";
    co.dir = d.path();
    co.write_daemon_marker = false;
    auto c = Consumer::Open(co);
    ASSERT_TRUE(c.ok());
    CollectingSink sink;
    (*c)->Scan(sink);
    (*c)->Poll(sink);
    ASSERT_EQ(sink.types.size(), 1u);
    SeriesDefineRecord def;
    ASSERT_TRUE(DecodeSeriesDefine(View(sink, 0), &def));
    EXPECT_EQ(def.meta_version, old_daemon ? 0u : 1u);
    EXPECT_EQ(def.bounds_count, old_daemon ? 0u : 2u);
  }
  // The marker a consumer writes names the features.
  TempDir d;
  auto c = OpenConsumer(d);
  std::ifstream in(DaemonMarkerPath(d.path(), "t"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, std::to_string(getpid()) + "\nfeatures 1\n");
}

// A directory the producer's user may not use (a daemon of another user) is reported as
// PermissionDenied naming the path, both when the marker cannot be opened and when the segment
// cannot be created; root bypasses file modes, so as root the producer runs as `nobody` (65534)
// in a child process.
TEST(ShmRingTest, APermissionProblemIsPermissionDeniedNotUnavailable) {
  TempDir d;
  auto c = OpenConsumer(d);  // a live daemon's marker
  ASSERT_EQ(chmod(d.path().c_str(), 0700), 0);
  // Run in a child: the exit code says which status Connect returned (0 = as expected).
  auto connect_as_other = [&](bool require_daemon, const std::string& expect) {
    const pid_t pid = fork();
    if (pid == 0) {
      if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
      if (geteuid() != 0) chmod(d.path().c_str(), require_daemon ? 0000 : 0500);
      ProducerOptions o = Opts(d);
      o.require_daemon = require_daemon;
      auto p = Producer::Connect(o);
      if (p.ok()) _exit(11);
      if (p.status().code() != StatusCode::kPermissionDenied) _exit(12);
      if (p.status().message().find(expect) == std::string::npos) _exit(13);
      _exit(0);
    }
    int status = 0;
    EXPECT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  };
  connect_as_other(true, DaemonMarkerPath(d.path(), "t"));
  if (geteuid() == 0) {
    ASSERT_EQ(chmod(d.path().c_str(), 0755), 0);  // the marker (0600) is still unreadable
  }
  connect_as_other(false, "permission denied creating shm segment " + d.path());
  chmod(d.path().c_str(), 0700);
}

// Two Producers of one process on one ring each get their own file, and both are read. The
// second Connect used to take the first one's file for a dead process's leftover and unlink
// it: the first producer's records and flushes then went to a file nobody read.
TEST(ShmRingTest, SecondProducerOfAProcessOnARingGetsItsOwnFile) {
  TempDir d;
  auto first = Producer::Connect(Opts(d)).value();
  auto second = Producer::Connect(Opts(d)).value();
  const auto pid = static_cast<uint32_t>(getpid());
  EXPECT_EQ(first->path(), SegmentPath(d.path(), "t", pid));
  EXPECT_EQ(second->path(), SegmentPath(d.path(), "t", pid + (uint32_t{1} << 22)));
  EXPECT_TRUE(std::filesystem::exists(first->path()));
  ASSERT_TRUE(first->CounterAdd(1, 5));
  ASSERT_TRUE(second->CounterAdd(2, 7));
  auto c = OpenConsumer(d);
  CollectingSink sink;
  c->Scan(sink);
  EXPECT_EQ(c->ring_count(), 2u);
  while (c->Poll(sink) > 0) {
  }
  ASSERT_EQ(sink.payloads.size(), 2u);
  std::vector<uint64_t> series;
  for (const auto& p : sink.payloads) {
    uint64_t id = 0;
    std::memcpy(&id, p.data(), 8);
    series.push_back(id);
  }
  std::sort(series.begin(), series.end());
  EXPECT_EQ(series, (std::vector<uint64_t>{1, 2}));
  // A closed ring not drained yet keeps its file: a new Producer takes another id.
  ASSERT_TRUE(first->CounterAdd(1, 1));
  const std::string closed = first->path();
  first.reset();
  auto third = Producer::Connect(Opts(d)).value();
  EXPECT_NE(third->path(), closed);
  EXPECT_NE(third->path(), second->path());
  EXPECT_TRUE(std::filesystem::exists(closed));
}

// A segment whose id is not a pid (ProducerOptions::instance) and whose header is not
// published yet is a producer mid-Connect: it must survive a scan (it used to be unlinked
// because no process had the id, orphaning the producer's ring), and it becomes a ring once
// published. A file that stays unpublished past the grace period is junk and removed.
TEST(ShmRingTest, UnpublishedSegmentsOfInstanceIdsAreLeftAloneUntilStale) {
  TempDir d;
  auto c = Consumer::Open({.ring = "t", .dir = d.path(), .write_daemon_marker = false}).value();
  CollectingSink sink;
  const std::string young = SegmentPath(d.path(), "t", 4'000'000'001u);
  const std::string old = SegmentPath(d.path(), "t", 4'000'000'002u);
  for (const std::string& p : {young, old}) {
    std::ofstream f(p);
    f << std::string(STROBE_RING_HEADER_BYTES + STROBE_RING_MIN_CAPACITY, '\0');
  }
  const timespec past[2] = {{time(nullptr) - 600, 0}, {time(nullptr) - 600, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, old.c_str(), past, 0), 0);
  c->Scan(sink);
  EXPECT_TRUE(std::filesystem::exists(young));
  EXPECT_FALSE(std::filesystem::exists(old));
  EXPECT_EQ(c->stats().rings_rejected, 0u);
  EXPECT_EQ(c->ring_count(), 0u);

  ProducerOptions o;
  o.ring = "t";
  o.dir = d.path();
  o.capacity_bytes = STROBE_RING_MIN_CAPACITY;
  o.instance = 4'000'000'003u;
  auto p = Producer::Connect(o).value();
  ASSERT_TRUE(p->CounterAdd(1, 5));
  c->Scan(sink);
  EXPECT_EQ(c->ring_count(), 1u);
  while (c->Poll(sink) > 0) {
  }
  ASSERT_EQ(sink.types.size(), 1u);
  EXPECT_EQ(sink.producers[0], 4'000'000'003u);
}

}  // namespace
}  // namespace strobe::shm
