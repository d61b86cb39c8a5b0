// Writes the seed corpus of shm_consumer_fuzz_test (consumer_fuzz.h): ring files produced by the
// real Producer (and advanced by a real Consumer where a case needs a read position), each with
// a script of the actions the fuzz target applies. Deterministic: the pid, creation time and
// consumer pid in each image are zeroed (the target sets the pid per input).
//
//   build/release/lib/strobe/shm/shm_consumer_fuzz_corpus lib/strobe/shm/corpus/consumer
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "strobe/shm/consumer_fuzz.h"
#include "strobe/shm/producer.h"
#include "strobe/shm/reader.h"
#include "strobe/shm/test_util.h"

namespace {

using namespace strobe::shm;  // NOLINT(google-build-using-namespace): a test tool
using fuzz::InputBuilder;

constexpr uint64_t kCap = STROBE_RING_MIN_CAPACITY;
constexpr uint64_t kDefs = 512;
constexpr uint32_t kData = STROBE_RING_HEADER_BYTES;  // offset of the data area
constexpr uint32_t kLog = kData + kCap;               // offset of the definitions log
constexpr uint32_t kFileLen = kLog + kDefs;

std::string Bytes(const void* p, size_t n) { return {static_cast<const char*>(p), n}; }
template <typename T>
std::string Le(T v) {
  return Bytes(&v, sizeof v);
}
std::string Frame(uint32_t length, uint16_t type, uint16_t flags = 0) {
  const strobe_frame f{length, type, flags};
  return Bytes(&f, sizeof f);
}
std::string Point(uint64_t series, uint64_t value) {
  return Le(series) + Le(uint64_t{0}) + Le(value);
}

class Ring {
 public:
  explicit Ring(const testing::TempDir& dir) {
    ProducerOptions o;
    o.ring = "g";
    o.dir = dir.path();
    o.capacity_bytes = kCap;
    o.definitions_bytes = kDefs;
    o.instance = 1;
    auto p = Producer::Connect(o);
    if (!p.ok()) {
      std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
      std::exit(1);
    }
    p_ = std::move(*p);
    dir_ = dir.path();
  }
  Producer& p() { return *p_; }
  // A daemon that came and went: reads everything committed, then detaches.
  void Consume() {
    ConsumerOptions o;
    o.ring = "g";
    o.dir = dir_;
    o.write_daemon_marker = false;
    auto c = Consumer::Open(o);
    testing::CollectingSink sink;
    (*c)->Scan(sink);
    while ((*c)->Poll(sink) > 0) {
    }
  }
  // The file as it is now, with the per-run fields zeroed.
  std::string Image() const {
    std::ifstream f(p_->path(), std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::memset(s.data() + STROBE_OFF_PRODUCER_PID, 0, 4);
    std::memset(s.data() + STROBE_OFF_CREATED_NS, 0, 8);
    std::memset(s.data() + STROBE_OFF_CONSUMER_PID, 0, 4);
    return s;
  }

 private:
  std::unique_ptr<Producer> p_;
  std::string dir_;
};

// One of every record type, with the definitions first.
void WriteAllTypes(Producer& p) {
  const uint64_t c = p.DefineSeries(STROBE_KIND_COUNTER, "requests_total", {{"path", "/a"}});
  const uint64_t g = p.DefineSeries(STROBE_KIND_GAUGE, "queue_depth", {});
  const uint64_t h = p.DefineSeries(STROBE_KIND_HISTOGRAM, "latency_seconds", {{"op", "get"}});
  p.CounterAdd(c, 3);
  p.GaugeSet(g, 2.5, 1000);
  p.HistogramRecord(h, 0.25);
  const uint64_t buckets[3] = {1, 0, 2};
  p.HistogramMerge(h, 0, 4, 1, 1.5, 0.0, 1.0, 6, -64, buckets, 3);
  const uint8_t trace[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  p.Span(trace, 7, 0, 100, 200, "db.query", {{"db", "pg"}});
  p.Event(300, "deploy", {{"version", "1.2"}});
  const uint64_t ids[2] = {c, c};
  const double values[2] = {1, 2};
  p.Batch(STROBE_KIND_COUNTER, ids, nullptr, values, 2);
  p.Ping(1);
}

void Save(const std::filesystem::path& dir, const std::string& name, const InputBuilder& b) {
  std::ofstream(dir / name, std::ios::binary | std::ios::trunc) << b.bytes();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  const std::string counter = Point(1, 1);
  const uint32_t kAppendCounter = fuzz::kAppendStep | STROBE_REC_COUNTER_ADD;

  std::string all_types;
  {
    testing::TempDir d;
    Ring r(d);
    WriteAllTypes(r.p());
    all_types = r.Image();
  }
  // A valid ring, live producer (Poll drains it) and dead (Scan drains and reclaims it).
  Save(out, "valid_alive", InputBuilder(fuzz::kAlive, all_types, kFileLen).Scan().Poll().Poll());
  Save(out, "valid_dead", InputBuilder(fuzz::kDead, all_types, kFileLen).Scan().Scan());
  // The producer keeps appending while the consumer polls, and then its records wrap (PAD).
  {
    InputBuilder b(fuzz::kAlive, all_types, kFileLen);
    b.Scan();
    for (int i = 0; i < 40; ++i)
      b.Append(STROBE_REC_COUNTER_ADD, counter).Append(STROBE_REC_PING, Le(uint64_t(i + 2))).Poll();
    Save(out, "producer_appends_and_wraps", b);
  }
  // A ring whose positions already wrapped, with a PAD frame at the end of the area.
  {
    testing::TempDir d;
    Ring r(d);
    const uint64_t id = r.p().DefineSeries(STROBE_KIND_COUNTER, "c_total", {});
    for (int round = 0; round < 6; ++round) {
      for (int i = 0; i < 50; ++i) r.p().CounterAdd(id, 1);
      r.Consume();
    }
    for (int i = 0; i < 60; ++i) r.p().CounterAdd(id, 1);
    Save(out, "wrapped_with_pad", InputBuilder(fuzz::kAlive, r.Image(), kFileLen).Scan().Poll());
  }
  // A restarted daemon: the definitions an earlier consumer read are replayed from the log.
  std::string restarted;
  {
    testing::TempDir d;
    Ring r(d);
    const uint64_t a = r.p().DefineSeries(STROBE_KIND_COUNTER, "a_total", {{"k", "v"}});
    const uint64_t b = r.p().DefineSeries(STROBE_KIND_GAUGE, "b", {});
    r.p().CounterAdd(a, 1);
    r.Consume();
    r.p().GaugeSet(b, 2.5);
    const uint64_t late = r.p().DefineSeries(STROBE_KIND_GAUGE, "late", {});
    r.p().GaugeSet(late, 1);
    restarted = r.Image();
  }
  Save(out, "restart_replays_definitions",
       InputBuilder(fuzz::kAlive, restarted, kFileLen).Scan().Poll().Restart().Scan().Poll());
  // Definitions with the metadata block (description, unit, explicit bounds; issue 15), read
  // from the ring and replayed from the definitions log by a restarted daemon, then a
  // fractional counter increment (a one-entry BATCH).
  std::string with_metadata;
  {
    testing::TempDir d;
    Ring r(d);
    const double bounds[4] = {0.005, 0.1, 1, 5};
    const uint64_t h = r.p().DefineSeries(STROBE_KIND_HISTOGRAM, "latency", {{"op", "get"}},
                                          {"Request latency.", "s", bounds});
    const uint64_t c =
        r.p().DefineSeries(STROBE_KIND_COUNTER, "jobs_total", {}, {"Jobs done.", "1", {}});
    r.p().HistogramRecord(h, 0.25);
    r.Consume();
    const double fraction = 1.5;
    r.p().Batch(STROBE_KIND_COUNTER, &c, nullptr, &fraction, 1);
    r.p().HistogramRecord(h, 7);
    with_metadata = r.Image();
  }
  Save(out, "definitions_with_metadata",
       InputBuilder(fuzz::kAlive, with_metadata, kFileLen).Scan().Poll().Restart().Scan().Poll());
  // Hole 2: the owner truncates its ring to zero while the consumer has it attached.
  Save(out, "hole2_truncated_while_attached",
       InputBuilder(fuzz::kAlive, all_types, kFileLen)
           .Scan()
           .Poll()
           .Append(STROBE_REC_COUNTER_ADD, counter)
           .Truncate(0)
           .Poll()
           .Scan()
           .Extend(kFileLen)
           .Scan());
  Save(out, "truncated_to_zero", InputBuilder(fuzz::kAlive, "", 0).Scan().Poll());
  // Cut in the middle of a record: shorter than the header claims (rejected at attach), and
  // shrunk under an attached reader with records on the page past the new end.
  Save(out, "truncated_mid_record_before_attach",
       InputBuilder(fuzz::kAlive, all_types, kData + 300).Scan().Poll());
  {
    testing::TempDir d;
    Ring r(d);
    const uint64_t id = r.p().DefineSeries(STROBE_KIND_COUNTER, "c_total", {});
    for (int i = 0; i < 120; ++i) r.p().CounterAdd(id, 1);  // 4 KiB: records on two pages
    Save(out, "truncated_mid_record_while_attached",
         InputBuilder(fuzz::kAlive, r.Image(), kFileLen).Scan().Truncate(kData + 2004).Poll());
  }
  // The definitions log: a garbled frame type, a length past the log, defs_end past defs_bytes.
  Save(out, "definitions_log_bad_type",
       InputBuilder(fuzz::kAlive, restarted, kFileLen)
           .Write(kLog + 4, Le(uint16_t{STROBE_REC_SPAN}))
           .Scan()
           .Poll());
  Save(out, "definitions_log_bad_length",
       InputBuilder(fuzz::kAlive, restarted, kFileLen)
           .Write(kLog, Le(uint32_t{0xfffffff0}))
           .Scan()
           .Poll());
  Save(out, "definitions_end_past_log",
       InputBuilder(fuzz::kAlive, restarted, kFileLen).SetWord(4, kDefs * 4).Scan().Poll());
  // An entry logged for ring position write_pos, then read_pos moved past it: replayed.
  uint64_t all_types_end = 0;
  std::memcpy(&all_types_end, all_types.data() + STROBE_OFF_WRITE_POS, 8);
  Save(out, "definitions_logged_by_hand",
       InputBuilder(fuzz::kAlive, all_types, kFileLen)
           .LogDefine(Le(uint64_t{9}) + Le(uint32_t{STROBE_KIND_GAUGE}) + Le(uint32_t{6}) +
                      std::string("x\0k\0v\0", 6))
           .Append(STROBE_REC_COUNTER_ADD, counter)
           .SetWord(1, all_types_end + 32)
           .Scan()
           .Poll());
  // Cursors a correct producer cannot produce.
  Save(out, "cursor_beyond_capacity",
       InputBuilder(fuzz::kAlive, all_types, kFileLen)
           .SetWord(0, kCap + 64)
           .Scan()
           .Poll()
           .SetWord(1, 3)
           .Append(STROBE_REC_COUNTER_ADD, counter)
           .Poll());
  Save(out, "read_pos_ahead_of_write_pos",
       InputBuilder(fuzz::kDead, all_types, kFileLen).SetWord(1, 1u << 20).Scan());
  Save(out, "capacity_past_file",
       InputBuilder(fuzz::kAlive, all_types, kFileLen).SetWord(5, kCap * 2).Scan().Poll());
  // Torn writes: a frame's length and flags changed under an attached reader.
  Save(out, "torn_frame_length",
       InputBuilder(fuzz::kAlive, all_types, kFileLen)
           .Scan()
           .Write(kData + 8 * 13, Frame(60000, STROBE_REC_SPAN))
           .Poll()
           .Append(STROBE_REC_COUNTER_ADD, counter)
           .Write(kData, Frame(24, STROBE_REC_GAUGE_SET, 1))
           .Poll());
  // A second thread appends, scribbles and moves write_pos while the consumer polls.
  Save(out, "concurrent_writer",
       InputBuilder(fuzz::kAlive, all_types, kFileLen)
           .Scan()
           .Writer(16, {{kAppendCounter, counter},
                        {fuzz::kAppendStep | STROBE_REC_PING, Le(uint64_t{7})},
                        {kData + 64, Frame(16, STROBE_REC_EVENT) + std::string(16, 'x')},
                        {STROBE_OFF_WRITE_POS, Le(uint64_t{1024})}})
           .Poll());
  // ... and truncates the file to the middle of the data area and extends it back.
  Save(out, "concurrent_truncate_extend",
       InputBuilder(fuzz::kAlive, all_types, kFileLen)
           .Scan()
           .Writer(8, {{kAppendCounter, counter}, {kData + 1024, ""}, {kFileLen, ""}})
           .Poll()
           .Scan());
  // A producer that claims to be dead but keeps writing must not hold Scan forever.
  Save(out, "dead_producer_keeps_writing",
       InputBuilder(fuzz::kDead | fuzz::kFeedback, all_types, kFileLen).Scan().Scan());
  // The sink refuses every other PING (back-pressure), with a small per-poll budget.
  {
    InputBuilder b(fuzz::kAlive | fuzz::kRefuseAcks | fuzz::kSmallBudget, all_types, kFileLen);
    b.Scan();
    for (int i = 0; i < 100; ++i) b.Append(STROBE_REC_COUNTER_ADD, counter);
    b.Append(STROBE_REC_PING, Le(uint64_t{50})).Poll(3).Poll(3);
    Save(out, "refused_acks_small_budget", b);
  }
  std::printf("wrote the corpus to %s\n", out.c_str());
  return 0;
}
