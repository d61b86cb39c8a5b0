// Hostile local users against the consumer side of the ring (issue 14, docs/security.md):
// a ring shrunk under the reader, symlinks and markers planted in the shared directory, rings
// of users not allowed to publish, and definitions that must survive a consumer restart.
// Some tests need root (chown to another uid); they skip otherwise.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "strobe/shm/producer.h"
#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"
#include "strobe/shm/test_util.h"

namespace strobe::shm {
namespace {

// The marker a consumer of this process writes: its pid, then the features it reads.
std::string OurMarker() {
  return std::to_string(getpid()) + "\nfeatures " + std::to_string(STROBE_FEATURES_ALL) + "\n";
}

using testing::CollectingSink;
using testing::TempDir;

constexpr uint32_t kNobody = 65534;

std::unique_ptr<Producer> Connect(const std::string& dir, uint32_t instance = 0) {
  ProducerOptions o;
  o.ring = "h";
  o.dir = dir;
  o.capacity_bytes = 1 << 16;
  o.instance = instance;
  return Producer::Connect(o).value();
}

std::unique_ptr<Consumer> Open(const std::string& dir, ConsumerOptions o = {}) {
  o.ring = "h";
  o.dir = dir;
  return Consumer::Open(o).value();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ShmHostileTest, ARingTruncatedWhileAttachedIsDroppedAndCounted) {
  TempDir dir;
  auto c = Open(dir.path());
  CollectingSink sink;
  auto p = Connect(dir.path());
  const off_t size = static_cast<off_t>(std::filesystem::file_size(p->path()));
  for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(p->CounterAdd(1, i));
  ASSERT_EQ(c->Scan(sink), 1u);
  c->Poll(sink);
  ASSERT_EQ(sink.types.size(), 10u);
  for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(p->CounterAdd(1, i));
  // The owner shrinks its file: every page the consumer has mapped is now past the end.
  ASSERT_EQ(truncate(p->path().c_str(), 0), 0);
  c->Poll(sink);  // the old code died here of SIGBUS
  EXPECT_EQ(c->ring_count(), 0u);
  EXPECT_EQ(c->stats().rings_truncated, 1u);
  EXPECT_EQ(sink.types.size(), 10u);  // nothing read from the zero pages
  // The dropped file is not attached again while it stays the same file.
  c->Scan(sink);
  EXPECT_EQ(c->ring_count(), 0u);
  EXPECT_EQ(c->stats().rings_truncated, 1u);
  // Other producers are unaffected.
  auto other = Connect(dir.path(), 7);
  ASSERT_TRUE(other->CounterAdd(1, 1));
  c->Scan(sink);
  c->Poll(sink);
  EXPECT_EQ(sink.types.size(), 11u);
  // (Our own producer maps the same file: give it its pages back before it writes `closed`.)
  ASSERT_EQ(truncate(p->path().c_str(), size), 0);
}

TEST(ShmHostileTest, ARingTruncatedBeforeAttachIsRejectedNotFatal) {
  TempDir dir;
  auto p = Connect(dir.path());
  const off_t size = static_cast<off_t>(std::filesystem::file_size(p->path()));
  ASSERT_TRUE(p->CounterAdd(1, 1));
  // Shrunk to less than the header claims: the mapping is short, Attach refuses it.
  ASSERT_EQ(truncate(p->path().c_str(), 4096), 0);
  auto c = Open(dir.path());
  CollectingSink sink;
  c->Scan(sink);
  c->Poll(sink);
  EXPECT_EQ(c->ring_count(), 0u);
  EXPECT_EQ(c->stats().rings_rejected, 1u);
  ASSERT_EQ(truncate(p->path().c_str(), size), 0);
}

TEST(ShmHostileTest, APlantedSymlinkIsNeverFollowed) {
  TempDir dir;
  const std::string victim = dir.path() + "/victim";
  { std::ofstream(victim) << "precious\n"; }
  ASSERT_EQ(chmod(victim.c_str(), 0644), 0);
  const std::string marker = DaemonMarkerPath(dir.path(), "h");
  // The old code wrote <marker>.tmp through this link, then chmod()ed and renamed it.
  ASSERT_EQ(symlink(victim.c_str(), (marker + ".tmp").c_str()), 0);
  {
    auto c = Open(dir.path());
    struct stat st {};
    ASSERT_EQ(lstat(marker.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(ReadFile(marker), OurMarker());
  }
  EXPECT_EQ(ReadFile(victim), "precious\n");
  struct stat st {};
  ASSERT_EQ(stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  // A link planted at the marker itself is replaced, not followed, and not read.
  ASSERT_EQ(symlink(victim.c_str(), marker.c_str()), 0);
  {
    auto c = Open(dir.path());
    ASSERT_EQ(lstat(marker.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
  }
  EXPECT_EQ(ReadFile(victim), "precious\n");
  EXPECT_FALSE(std::filesystem::exists(marker));  // removed on close: it was ours
}

TEST(ShmHostileTest, AMarkerOfAnotherOwnerIsNotTrusted) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown a file to another uid";
  TempDir dir;
  const std::string marker = DaemonMarkerPath(dir.path(), "h");
  { std::ofstream(marker) << "1\n"; }  // pid 1 is alive
  ASSERT_EQ(chown(marker.c_str(), kNobody, kNobody), 0);
  auto c = Consumer::Open({.ring = "h", .dir = dir.path()});
  ASSERT_TRUE(c.ok()) << c.status().message();  // the old code refused to start
  EXPECT_EQ(ReadFile(marker), OurMarker());
  c->reset();
  // Our own marker naming a live process still means "taken".
  { std::ofstream(marker) << "1\n"; }
  auto second = Consumer::Open({.ring = "h", .dir = dir.path()});
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
}

TEST(ShmHostileTest, RingsOfOwnersNotAllowedAreIgnoredCountedAndLeftAlone) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown a file to another uid";
  TempDir dir;
  auto p = Connect(dir.path());
  ASSERT_TRUE(p->CounterAdd(1, 1));
  ASSERT_EQ(chown(p->path().c_str(), kNobody, kNobody), 0);
  // A stale file of another user, long past the grace period for unpublished segments.
  const std::string junk = SegmentPath(dir.path(), "h", 999999);
  { std::ofstream(junk) << "x"; }
  ASSERT_EQ(chown(junk.c_str(), kNobody, kNobody), 0);
  timeval old[2] = {{1, 0}, {1, 0}};
  ASSERT_EQ(utimes(junk.c_str(), old), 0);
  {
    auto c = Open(dir.path());
    CollectingSink sink;
    c->Scan(sink);
    c->Poll(sink);
    EXPECT_EQ(c->ring_count(), 0u);
    EXPECT_TRUE(sink.types.empty());
    EXPECT_EQ(c->stats().rings_rejected_owner, 2u);
    c->Scan(sink);  // counted once per file
    EXPECT_EQ(c->stats().rings_rejected_owner, 2u);
  }
  EXPECT_TRUE(std::filesystem::exists(junk));
  EXPECT_TRUE(std::filesystem::exists(p->path()));
  // Allowed by configuration: read.
  ConsumerOptions allow;
  allow.allowed_uids = {kNobody};
  auto c = Open(dir.path(), allow);
  CollectingSink sink;
  c->Scan(sink);
  c->Poll(sink);
  EXPECT_EQ(c->ring_count(), 1u);
  EXPECT_EQ(sink.types.size(), 1u);
}

// The owner's uid is handed to the sink when a ring is attached.
struct OwnerSink : CollectingSink {
  void OnRingAttached(uint32_t producer, uint32_t uid) override {
    owners.emplace_back(producer, uid);
  }
  std::vector<std::pair<uint32_t, uint32_t>> owners;
};

TEST(ShmHostileTest, TheSinkLearnsTheOwnerOfEachRing) {
  TempDir dir;
  auto p = Connect(dir.path(), 42);
  auto c = Open(dir.path());
  OwnerSink sink;
  c->Scan(sink);
  ASSERT_EQ(sink.owners.size(), 1u);
  EXPECT_EQ(sink.owners[0].first, 42u);
  EXPECT_EQ(sink.owners[0].second, geteuid());
}

TEST(ShmHostileTest, ARestartedConsumerReplaysTheDefinitionsFirst) {
  TempDir dir;
  auto p = Connect(dir.path());
  const uint64_t a = p->DefineSeries(STROBE_KIND_COUNTER, "a_total", {{"k", "v"}});
  const uint64_t b = p->DefineSeries(STROBE_KIND_GAUGE, "b", {});
  ASSERT_TRUE(p->CounterAdd(a, 1));
  {
    auto first = Open(dir.path());
    CollectingSink sink;
    first->Scan(sink);
    first->Poll(sink);
    ASSERT_EQ(sink.types.size(), 3u);
  }
  ASSERT_TRUE(p->GaugeSet(b, 2.5));
  const uint64_t late = p->DefineSeries(STROBE_KIND_GAUGE, "late", {});
  ASSERT_TRUE(p->GaugeSet(late, 1));
  auto second = Open(dir.path());
  CollectingSink sink;
  second->Scan(sink);
  second->Poll(sink);
  // The two definitions the first consumer read (replayed from the log), then the ring from
  // where the first consumer stopped: the point, the late definition (once), its point.
  ASSERT_EQ(sink.types.size(), 5u);
  EXPECT_EQ(sink.types[0], STROBE_REC_SERIES_DEFINE);
  EXPECT_EQ(sink.types[1], STROBE_REC_SERIES_DEFINE);
  EXPECT_EQ(sink.types[2], STROBE_REC_GAUGE_SET);
  EXPECT_EQ(sink.types[3], STROBE_REC_SERIES_DEFINE);
  EXPECT_EQ(sink.types[4], STROBE_REC_GAUGE_SET);
  SeriesDefineRecord d;
  RecordView v{0, STROBE_REC_SERIES_DEFINE, sink.payloads[0].data(),
               static_cast<uint32_t>(sink.payloads[0].size())};
  ASSERT_TRUE(DecodeSeriesDefine(v, &d));
  EXPECT_EQ(d.series_id, a);
  EXPECT_EQ(d.name, "a_total");
  EXPECT_EQ(second->stats().definitions_replayed, 2u);
}

TEST(ShmHostileTest, AGarbledDefinitionsLogIsCountedNotTrusted) {
  TempDir dir;
  auto p = Connect(dir.path());
  ASSERT_NE(p->DefineSeries(STROBE_KIND_COUNTER, "a_total", {}), 0u);
  {
    auto first = Open(dir.path());
    CollectingSink sink;
    first->Scan(sink);
    first->Poll(sink);
  }
  ASSERT_TRUE(p->CounterAdd(1, 1));
  // Scribble over the first log frame (its type).
  const int fd = open(p->path().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const uint16_t bad = STROBE_REC_SPAN;
  ASSERT_EQ(pwrite(fd, &bad, 2, STROBE_RING_HEADER_BYTES + p->capacity_bytes() + 4), 2);
  close(fd);
  auto c = Open(dir.path());
  CollectingSink sink;
  c->Scan(sink);
  EXPECT_EQ(c->stats().definitions_replayed, 0u);
  EXPECT_EQ(c->stats().malformed, 1u);
  c->Poll(sink);
  ASSERT_EQ(sink.types.size(), 1u);  // the point; its definition is not replayed from junk
  EXPECT_EQ(sink.types[0], STROBE_REC_COUNTER_ADD);
}

// A producer that marks its ring closed (or writes a dead pid) but keeps writing as fast as the
// consumer reads: a Scan drains at most one ring's worth (capacity/8 records) and moves on; the
// old code stayed in Scan for as long as the producer kept writing.
TEST(ShmHostileTest, AProducerThatClaimsToBeDeadButKeepsWritingCannotHoldTheScan) {
  TempDir dir;
  auto p = Connect(dir.path());  // 64 KiB ring: at most 8,192 records
  for (uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(p->CounterAdd(1, 1));
  const int fd = open(p->path().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const uint64_t closed = 1;
  ASSERT_EQ(pwrite(fd, &closed, 8, STROBE_OFF_CLOSED), 8);
  close(fd);
  struct Feeder : RecordSink {
    void OnRecord(const RecordView&) override {
      ++received;
      // Bounded only so that the old code ends this test: it read all 1,000,000.
      if (feeding && written < 1'000'000 && producer->CounterAdd(1, 1)) ++written;
    }
    Producer* producer = nullptr;
    bool feeding = true;
    uint64_t received = 0;
    uint64_t written = 100;
  } sink;
  sink.producer = p.get();
  auto c = Open(dir.path());
  c->Scan(sink);
  EXPECT_LE(sink.received, (uint64_t{1} << 16) / 8);
  EXPECT_EQ(c->ring_count(), 1u);  // not reclaimed: its write position still moves
  EXPECT_EQ(c->stats().rings_reclaimed, 0u);
  // Once it really stops, the rest is delivered and the ring reclaimed.
  sink.feeding = false;
  for (int i = 0; i < 4 && c->ring_count() > 0; ++i) c->Scan(sink);
  EXPECT_EQ(c->ring_count(), 0u);
  EXPECT_EQ(c->stats().rings_reclaimed, 1u);
  EXPECT_EQ(sink.received, sink.written);
  EXPECT_EQ(c->stats().records, sink.written);
}

// Records delivered before a malformed frame are counted, and the sink's refusals of them reach
// the header (the producer's flush reports them); the old code lost both on the skip. The
// skipped run itself counts as one more rejected record.
TEST(ShmHostileTest, RecordsBeforeAMalformedFrameAreCountedAndTheirRefusalsPublished) {
  TempDir dir;
  auto p = Connect(dir.path());
  for (uint64_t i = 0; i < 3; ++i) ASSERT_TRUE(p->CounterAdd(1, 1));
  uint8_t* payload = p->Reserve(STROBE_REC_COUNTER_ADD, 24);
  ASSERT_NE(payload, nullptr);
  std::memset(payload, 0, 24);
  const uint16_t bad_flags = 1;  // unknown flag bits: the frame is rejected
  std::memcpy(payload - STROBE_FRAME_BYTES + 6, &bad_flags, 2);
  p->Commit();
  struct Refusing : RecordSink {
    void OnRecord(const RecordView&) override { ++refused; }
    uint64_t RejectedRecords() const override { return refused; }
    uint64_t refused = 0;
  } sink;
  auto c = Open(dir.path());
  c->Scan(sink);
  c->Poll(sink);
  EXPECT_EQ(sink.refused, 3u);
  EXPECT_EQ(c->stats().records, 3u);
  EXPECT_EQ(c->stats().malformed, 1u);
  EXPECT_EQ(p->RejectedRecords(), 3u + 1u);
  // The stream goes on after the skip.
  ASSERT_TRUE(p->CounterAdd(1, 1));
  c->Poll(sink);
  EXPECT_EQ(c->stats().records, 4u);
  EXPECT_EQ(p->RejectedRecords(), 5u);
}

}  // namespace
}  // namespace strobe::shm
