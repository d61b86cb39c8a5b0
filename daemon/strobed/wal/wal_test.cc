#include "strobed/wal/wal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/wal/data_dir.h"
#include "strobed/wal/segment.h"

namespace strobed::wal {
namespace {

namespace fs = std::filesystem;

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wal_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/wal";
  }
  void TearDown() override { fs::remove_all(root_); }

  WalOptions Opts(SyncPolicy sync = SyncPolicy::kInterval) const {
    WalOptions o;
    o.dir = dir_;
    o.sync = sync;
    return o;
  }
  std::unique_ptr<Wal> OpenOrDie(WalOptions o) {
    auto w = Wal::Open(std::move(o));
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  struct Rec {
    uint64_t seq;
    uint32_t type;
    std::string payload;
  };
  static std::vector<Rec> ReadAll(const Wal& w, uint64_t from = 1, uint64_t* skipped = nullptr) {
    std::vector<Rec> out;
    WalReader r = w.NewReader(from);
    RecordView v;
    while (true) {
      auto more = r.Next(&v);
      EXPECT_TRUE(more.ok()) << more.status().ToString();
      if (!more.ok() || !*more) break;
      out.push_back({v.seq, v.type, std::string(v.payload)});
    }
    if (skipped != nullptr) *skipped = r.skipped();
    return out;
  }
  static std::string Payload(uint64_t i, std::size_t size) {
    std::string p(size, '\0');
    for (std::size_t k = 0; k < size; ++k) p[k] = static_cast<char>('a' + (i * 7 + k) % 26);
    return p;
  }
  std::string SegPath(uint64_t first) const {
    char name[32];
    std::snprintf(name, sizeof(name), "/%020llu.wal", static_cast<unsigned long long>(first));
    return dir_ + name;
  }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static void WriteFile(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  std::string root_;
  std::string dir_;
};

TEST_F(WalTest, RoundTripAcrossReopen) {
  {
    auto w = OpenOrDie(Opts());
    ASSERT_NE(w, nullptr);
    for (uint64_t i = 0; i < 100; ++i) {
      auto seq = w->Append(static_cast<uint32_t>(i % 3), Payload(i, i * 13));
      ASSERT_TRUE(seq.ok());
      EXPECT_EQ(*seq, i + 1);
    }
    ASSERT_TRUE(w->Close().ok());
  }
  auto w = OpenOrDie(Opts());
  ASSERT_NE(w, nullptr);
  std::vector<Rec> recs = ReadAll(*w);
  ASSERT_EQ(recs.size(), 100u);
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(recs[i].seq, i + 1);
    EXPECT_EQ(recs[i].type, i % 3);
    EXPECT_EQ(recs[i].payload, Payload(i, i * 13));
  }
  WalStats s = w->Stats();
  EXPECT_EQ(s.next_seq, 101u);
  EXPECT_EQ(s.torn_tails, 0u);
  EXPECT_EQ(s.segments, 1u);
  // Header + 100 frames of 32 bytes + payloads 13 * (0 + ... + 99).
  EXPECT_EQ(s.bytes, 32u + 100u * 32u + 13u * 4950u);
  // Appends continue the sequence.
  EXPECT_EQ(*w->Append(7, "x"), 101u);
  // A reader from the middle.
  std::vector<Rec> tail = ReadAll(*w, 98);
  ASSERT_EQ(tail.size(), 4u);
  EXPECT_EQ(tail[0].seq, 98u);
  EXPECT_EQ(tail[3].payload, "x");
}

TEST_F(WalTest, RefusesOversizedRecordAndAppendAfterClose) {
  WalOptions o = Opts();
  o.max_record_bytes = 100;
  auto w = OpenOrDie(o);
  EXPECT_EQ(w->Append(0, std::string(101, 'a')).status().code(),
            strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(*w->Append(0, std::string(100, 'a')), 1u);
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(w->Append(0, "a").status().code(), strobe::StatusCode::kFailedPrecondition);
}

// 4096-byte segments, 1000-byte payloads: frames of 1032, so 3 per segment (32 + 3 * 1032 =
// 3128; a fourth would make 4160).
TEST_F(WalTest, RotatesBySizeAndTruncatesDeliveredSegments) {
  WalOptions o = Opts();
  o.segment_bytes = 4096;
  auto w = OpenOrDie(o);
  for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(w->Append(1, Payload(i, 1000)).ok());
  auto firsts = ListSegments(dir_);
  ASSERT_TRUE(firsts.ok());
  EXPECT_EQ(*firsts, (std::vector<uint64_t>{1, 4, 7, 10}));
  EXPECT_EQ(w->Stats().segments, 4u);
  EXPECT_EQ(w->Stats().bytes, 4u * 32u + 10u * 1032u);
  EXPECT_EQ(fs::file_size(SegPath(1)), 3128u);
  // Rotation synced every finished segment.
  EXPECT_GE(w->Stats().synced_seq, 10u);
  ASSERT_EQ(ReadAll(*w).size(), 10u);

  // Segments whose every record is below 7: [1..3] and [4..6].
  auto deleted = w->TruncateBefore(7);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 2u);
  EXPECT_EQ(w->first_seq(), 7u);
  EXPECT_EQ(*ListSegments(dir_), (std::vector<uint64_t>{7, 10}));
  uint64_t skipped = 0;
  std::vector<Rec> rest = ReadAll(*w, 1, &skipped);
  ASSERT_EQ(rest.size(), 4u);
  EXPECT_EQ(rest.front().seq, 7u);
  EXPECT_EQ(skipped, 6u);
  // The active segment is never deleted, even when everything is delivered.
  EXPECT_EQ(*w->TruncateBefore(1000), 1u);
  EXPECT_EQ(*ListSegments(dir_), (std::vector<uint64_t>{10}));
  ASSERT_TRUE(w->Close().ok());
  auto again = OpenOrDie(o);
  EXPECT_EQ(again->first_seq(), 10u);
  EXPECT_EQ(*again->Append(1, "z"), 11u);
}

// Cuts the last record at every byte offset: the open truncates back to the previous record,
// counts one torn tail (none when the cut falls exactly on the boundary), and never returns a
// partial record; the log then continues with the next seq.
TEST_F(WalTest, TornTailAtEveryOffsetOfTheLastRecord) {
  {
    auto w = OpenOrDie(Opts());
    ASSERT_TRUE(w->Append(1, Payload(1, 50)).ok());
    ASSERT_TRUE(w->Append(2, Payload(2, 60)).ok());
    ASSERT_TRUE(w->Append(3, Payload(3, 70)).ok());
  }
  const std::string full = ReadFile(SegPath(1));
  const std::size_t last_start = 32 + (32 + 50) + (32 + 60);
  ASSERT_EQ(full.size(), last_start + 32 + 70);
  for (std::size_t cut = last_start; cut < full.size(); ++cut) {
    SCOPED_TRACE(cut);
    WriteFile(SegPath(1), full.substr(0, cut));
    auto w = OpenOrDie(Opts());
    ASSERT_NE(w, nullptr);
    WalStats s = w->Stats();
    EXPECT_EQ(s.torn_tails, cut > last_start ? 1u : 0u);
    EXPECT_EQ(s.truncated_bytes, cut - last_start);
    EXPECT_EQ(fs::file_size(SegPath(1)), last_start);
    std::vector<Rec> recs = ReadAll(*w);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[1].payload, Payload(2, 60));
    EXPECT_EQ(*w->Append(9, "after"), 3u);
    ASSERT_TRUE(w->Close().ok());
    auto w2 = OpenOrDie(Opts());
    std::vector<Rec> recs2 = ReadAll(*w2);
    ASSERT_EQ(recs2.size(), 3u);
    EXPECT_EQ(recs2[2].payload, "after");
    EXPECT_EQ(w2->Stats().torn_tails, 0u);
  }
}

// Flips one bit at every byte of the last record: every flip (length, checksums, seq, type,
// payload) is detected and the record is dropped, never returned altered.
TEST_F(WalTest, BitFlipAnywhereInTheLastRecordIsDetected) {
  {
    auto w = OpenOrDie(Opts());
    ASSERT_TRUE(w->Append(1, Payload(1, 40)).ok());
    ASSERT_TRUE(w->Append(2, Payload(2, 40)).ok());
  }
  const std::string full = ReadFile(SegPath(1));
  const std::size_t last_start = 32 + 32 + 40;
  for (std::size_t at = last_start; at < full.size(); ++at) {
    SCOPED_TRACE(at);
    std::string bad = full;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    WriteFile(SegPath(1), bad);
    auto w = OpenOrDie(Opts());
    EXPECT_EQ(w->Stats().torn_tails, 1u);
    std::vector<Rec> recs = ReadAll(*w);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].payload, Payload(1, 40));
  }
}

TEST_F(WalTest, CorruptRecordInTheMiddleOfTheLastSegmentEndsIt) {
  {
    auto w = OpenOrDie(Opts());
    for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(w->Append(0, Payload(i, 100)).ok());
  }
  std::string bytes = ReadFile(SegPath(1));
  const std::size_t rec5_payload = 32 + 4 * 132 + 32;
  bytes[rec5_payload + 10] = static_cast<char>(bytes[rec5_payload + 10] ^ 1);
  WriteFile(SegPath(1), bytes);
  auto w = OpenOrDie(Opts());
  EXPECT_EQ(w->Stats().torn_tails, 1u);
  EXPECT_EQ(w->Stats().truncated_bytes, 6u * 132u);
  std::vector<Rec> recs = ReadAll(*w);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs.back().seq, 4u);
  EXPECT_EQ(*w->Append(0, "next"), 5u);
}

// Disk damage in an earlier segment: that segment is cut at the bad record, later segments
// stay; a reader returns every intact record and counts the gap.
TEST_F(WalTest, CorruptRecordInAnEarlierSegmentLeavesAGap) {
  WalOptions o = Opts();
  o.segment_bytes = 4096;
  {
    auto w = OpenOrDie(o);
    for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(w->Append(1, Payload(i, 1000)).ok());
  }
  std::string seg = ReadFile(SegPath(1));
  seg[32 + 1032 + 32 + 500] ^= 0x40;  // payload of seq 2
  WriteFile(SegPath(1), seg);
  auto w = OpenOrDie(o);
  EXPECT_EQ(w->Stats().torn_tails, 1u);
  EXPECT_EQ(w->Stats().next_seq, 11u);
  uint64_t skipped = 0;
  std::vector<Rec> recs = ReadAll(*w, 1, &skipped);
  std::vector<uint64_t> seqs;
  for (const Rec& r : recs) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(skipped, 2u);
}

TEST_F(WalTest, TornSegmentHeaderIsRemoved) {
  WalOptions o = Opts();
  o.segment_bytes = 4096;
  {
    auto w = OpenOrDie(o);
    for (uint64_t i = 0; i < 4; ++i) ASSERT_TRUE(w->Append(1, Payload(i, 1000)).ok());
  }
  // The crash hit while segment 4's header was being written.
  WriteFile(SegPath(4), ReadFile(SegPath(4)).substr(0, 20));
  auto w = OpenOrDie(o);
  EXPECT_EQ(w->Stats().torn_tails, 1u);
  EXPECT_EQ(ReadAll(*w).size(), 3u);
  EXPECT_EQ(*w->Append(1, "x"), 4u);
}

TEST_F(WalTest, RecordsCarryTheirAppendTime) {
  base::ManualWallClock clock(1'000);
  WalOptions o = Opts();
  o.wall_clock = &clock;
  auto w = OpenOrDie(o);
  ASSERT_TRUE(w->Append(0, "a").ok());
  clock.SetUnixNs(2'500);
  ASSERT_TRUE(w->Append(0, "b").ok());
  EXPECT_EQ(w->AppendTimeOf(1), 1'000u);
  EXPECT_EQ(w->AppendTimeOf(2), 2'500u);
  EXPECT_EQ(w->AppendTimeOf(3), 0u);  // not written
  WalReader r = w->NewReader(2);
  RecordView v;
  ASSERT_TRUE(*r.Next(&v));
  EXPECT_EQ(v.unix_ns, 2'500u);
}

TEST_F(WalTest, EmptyLogStartsAtMinNextSeq) {
  WalOptions o = Opts();
  o.min_next_seq = 500;
  auto w = OpenOrDie(o);
  EXPECT_EQ(*w->Append(0, "a"), 500u);
  ASSERT_TRUE(w->Close().ok());
  // A checkpoint beyond the log's end makes the sequence jump into a fresh segment.
  o.min_next_seq = 900;
  auto w2 = OpenOrDie(o);
  EXPECT_EQ(*w2->Append(0, "b"), 900u);
  std::vector<Rec> recs = ReadAll(*w2, 1);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].seq, 500u);
  EXPECT_EQ(recs[1].seq, 900u);
}

TEST_F(WalTest, AlwaysSyncsBeforeReturning) {
  auto w = OpenOrDie(Opts(SyncPolicy::kAlways));
  for (int i = 0; i < 5; ++i) {
    uint64_t seq = *w->Append(0, "durable");
    EXPECT_GT(w->Stats().synced_seq, seq);
  }
  EXPECT_GE(w->Stats().syncs, 5u);  // segment creation adds one
}

TEST_F(WalTest, IntervalSyncsInTheBackground) {
  WalOptions o = Opts();
  o.sync_interval = std::chrono::milliseconds(10);
  auto w = OpenOrDie(o);
  uint64_t seq = *w->Append(0, "soon");
  EXPECT_GT(w->Stats().written_seq, seq);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (w->Stats().synced_seq <= seq && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling with a deadline
  }
  EXPECT_GT(w->Stats().synced_seq, seq);
}

class ConcurrentWalTest : public WalTest, public ::testing::WithParamInterface<SyncPolicy> {};

// 8 threads append 300 records each (small segments, so rotation happens under contention):
// every seq 1..2400 is handed out once, and each reads back as its appender wrote it.
TEST_P(ConcurrentWalTest, ConcurrentAppendersGetUniqueDurableSeqs) {
  WalOptions o = Opts(GetParam());
  o.segment_bytes = 64 << 10;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  std::map<uint64_t, std::string> expect;
  std::mutex mu;
  {
    auto w = OpenOrDie(o);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          std::string p = "t" + std::to_string(t) + "/" + std::to_string(i) + "/" +
                          Payload(static_cast<uint64_t>(i), static_cast<std::size_t>(i % 200));
          auto seq = w->Append(static_cast<uint32_t>(t), p);
          ASSERT_TRUE(seq.ok());
          std::lock_guard lk(mu);
          EXPECT_TRUE(expect.emplace(*seq, p).second) << *seq;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(w->Stats().appended_records, uint64_t{kThreads * kPerThread});
    EXPECT_GT(w->Stats().segments, 1u);
  }
  ASSERT_EQ(expect.size(), std::size_t{kThreads * kPerThread});
  EXPECT_EQ(expect.begin()->first, 1u);
  EXPECT_EQ(expect.rbegin()->first, uint64_t{kThreads * kPerThread});
  auto w = OpenOrDie(o);
  std::vector<Rec> recs = ReadAll(*w);
  ASSERT_EQ(recs.size(), expect.size());
  for (const Rec& r : recs) EXPECT_EQ(r.payload, expect[r.seq]) << r.seq;
}

INSTANTIATE_TEST_SUITE_P(Policies, ConcurrentWalTest,
                         ::testing::Values(SyncPolicy::kInterval, SyncPolicy::kAlways));

TEST_F(WalTest, SelfMetrics) {
  strobe::metrics::Registry reg;
  {
    auto w = OpenOrDie(Opts());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->Append(0, "abc").ok());
  }
  std::string seg = ReadFile(SegPath(1));
  WriteFile(SegPath(1), seg.substr(0, seg.size() - 1));  // tear the third record
  WalOptions o = Opts();
  o.metrics = &reg;
  auto w = OpenOrDie(o);
  ASSERT_TRUE(w->Append(0, "defg").ok());
  w->CountReplayed(2);
  std::string text = strobe::metrics::RenderText(reg, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(text.find("strobe_wal_torn_tails_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("strobe_wal_truncated_bytes_total 34\n"), std::string::npos) << text;
  EXPECT_NE(text.find("strobe_wal_appended_records_total 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("strobe_wal_appended_bytes_total 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("strobe_wal_replayed_records_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("strobe_wal_segments 1\n"), std::string::npos) << text;
  // 32 + 2 * (32 + 3) + (32 + 4)
  EXPECT_NE(text.find("strobe_wal_bytes 138\n"), std::string::npos) << text;
  EXPECT_NE(text.find("strobe_wal_sync_seconds_count"), std::string::npos) << text;
}

// The fuzz seeds (written by an independent Python encoder of the format) decode as named:
// the valid segment has 4 records from seq 7, every torn or flipped copy keeps the 3 before.
TEST(SegmentCorpusTest, SeedsDecodeAsTheirNamesSay) {
  auto scan = [](const std::string& name) {
    std::ifstream in(std::string(WAL_CORPUS_DIR) + "/" + name, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return ScanSegment(bytes, 1 << 20);
  };
  ScanResult valid = scan("valid_4_records");
  EXPECT_TRUE(valid.header_ok);
  EXPECT_EQ(valid.first_seq, 7u);
  EXPECT_EQ(valid.records, 4u);
  EXPECT_FALSE(valid.torn);
  for (const char* name :
       {"torn_last_plus_1", "torn_last_plus_12", "torn_last_plus_31", "torn_last_plus_32",
        "torn_last_plus_40", "torn_last_minus_1", "flip_last_len", "flip_last_crc", "flip_last_seq",
        "flip_last_time", "flip_last_type", "flip_last_payload_crc", "flip_last_payload"}) {
    ScanResult r = scan(name);
    EXPECT_EQ(r.records, 3u) << name;
    EXPECT_TRUE(r.torn) << name;
  }
  EXPECT_EQ(scan("flip_second_payload").records, 1u);
  EXPECT_EQ(scan("zero_tail").records, 4u);
  EXPECT_TRUE(scan("zero_tail").torn);
  EXPECT_EQ(scan("empty_payload").records, 2u);
  EXPECT_FALSE(scan("torn_header").header_ok);
  EXPECT_FALSE(scan("bad_version").header_ok);
  EXPECT_EQ(scan("huge_length").records, 0u);
}

TEST(SyncPolicyTest, Parse) {
  EXPECT_EQ(*ParseSyncPolicy("interval"), SyncPolicy::kInterval);
  EXPECT_EQ(*ParseSyncPolicy("always"), SyncPolicy::kAlways);
  EXPECT_EQ(ParseSyncPolicy("never").status().code(), strobe::StatusCode::kInvalidArgument);
}

class DataDirTest : public WalTest {};

TEST_F(DataDirTest, CreatesPrivateDirectories) {
  std::string path = root_ + "/a/b/data";
  ASSERT_TRUE(PrepareDataDir(path).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((root_ + "/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(PrepareDataDir(path).ok());  // idempotent
}

TEST_F(DataDirTest, RefusesGroupOrOtherWritable) {
  std::string path = root_ + "/data";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0770), 0);
  EXPECT_EQ(PrepareDataDir(path).code(), strobe::StatusCode::kPermissionDenied);
  ASSERT_EQ(::chmod(path.c_str(), 0702), 0);
  EXPECT_EQ(PrepareDataDir(path).code(), strobe::StatusCode::kPermissionDenied);
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0);
  EXPECT_TRUE(PrepareDataDir(path).ok());
}

TEST_F(DataDirTest, RefusesAnotherUsersDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  std::string path = root_ + "/data";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  strobe::Status st = PrepareDataDir(path);
  EXPECT_EQ(st.code(), strobe::StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("owned by uid 65534"), std::string::npos) << st.message();
}

TEST_F(DataDirTest, RefusesAFile) {
  std::string path = root_ + "/file";
  WriteFile(path, "x");
  EXPECT_EQ(PrepareDataDir(path).code(), strobe::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strobed::wal
