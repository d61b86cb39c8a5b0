// Crash-point test of the write-ahead log: a forked child appends numbered records from three
// threads and reports each acknowledged (seq, id) to the parent through a pipe; the parent
// SIGKILLs it at a random moment (0..8 ms after its first acknowledgement), reopens the log and
// checks that every acknowledged record is there with exactly its payload, that every record read
// back is intact (its payload is a pure function of the id it carries), and that no gap appears.
// 240 rounds on one log, alternating the interval and always policies, with 64 KiB segments so that
// kills land in rotations too. Bounded: each round is a few milliseconds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "strobed/wal/wal.h"

namespace strobed::wal {
namespace {

struct Ack {
  uint64_t seq;
  uint64_t id;
};

std::string PayloadFor(uint64_t id) {
  // "id=<n>;" then filler bytes derived from id: mostly up to 300, every 16th 256 KiB (a
  // write the kill can cut short: the kernel checks for fatal signals between pages).
  std::string p = "id=" + std::to_string(id) + ";";
  const std::size_t n = id % 16 == 5 ? std::size_t{256} << 10 : id % 300;
  for (std::size_t k = 0; k < n; ++k) p.push_back(static_cast<char>('A' + (id + k * 31) % 26));
  return p;
}

// The id a payload claims, or UINT64_MAX when the payload is not exactly PayloadFor(id).
uint64_t CheckPayload(std::string_view p) {
  if (p.substr(0, 3) != "id=") return UINT64_MAX;
  std::size_t semi = p.find(';');
  if (semi == std::string_view::npos) return UINT64_MAX;
  uint64_t id = std::stoull(std::string(p.substr(3, semi - 3)));
  return PayloadFor(id) == p ? id : UINT64_MAX;
}

[[noreturn]] void Child(const WalOptions& options, int fd, uint64_t round) {
  auto wal = Wal::Open(options);
  if (!wal.ok()) _exit(3);
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        const uint64_t id = (round << 40) | (t << 32) | i;
        std::string p = PayloadFor(id);
        auto seq = (*wal)->Append(static_cast<uint32_t>(t), p);
        if (!seq.ok()) _exit(4);
        Ack ack{*seq, id};
        if (::write(fd, &ack, sizeof(ack)) != static_cast<ssize_t>(sizeof(ack))) _exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  _exit(0);
}

TEST(WalCrashTest, EveryAcknowledgedRecordSurvivesSigkill) {
  char tmpl[] = "/tmp/wal_crash_test.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  WalOptions options;
  options.dir = root + "/wal";
  options.segment_bytes = 64 << 10;

  std::mt19937_64 rng(20261207);
  std::map<uint64_t, uint64_t> acked;  // seq -> id, retained part of the log
  uint64_t total_acked = 0;
  uint64_t torn_tails = 0;
  constexpr int kRounds = 240;
  for (int round = 1; round <= kRounds; ++round) {
    SCOPED_TRACE(round);
    options.sync = round % 2 == 0 ? SyncPolicy::kAlways : SyncPolicy::kInterval;
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const auto kill_after = std::chrono::microseconds(rng() % 8000);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      Child(options, fds[1], static_cast<uint64_t>(round));
    }
    ::close(fds[1]);
    const auto start = std::chrono::steady_clock::now();
    std::vector<Ack> acks;
    auto drain = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return false;
      Ack buf[256];
      ssize_t n = ::read(fds[0], buf, sizeof(buf));
      if (n <= 0) return false;
      // Writes of one Ack are atomic (< PIPE_BUF), so reads return whole Acks.
      for (ssize_t k = 0; k < n / static_cast<ssize_t>(sizeof(Ack)); ++k) acks.push_back(buf[k]);
      return true;
    };
    // The clock starts at the first acknowledgement, so the kill lands while appends run.
    while (acks.empty() && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
      drain(5);
    }
    const auto first_ack = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - first_ack < kill_after) drain(0);
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    while (drain(5000)) {
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    for (const Ack& a : acks) {
      ASSERT_TRUE(acked.emplace(a.seq, a.id).second) << "seq acknowledged twice: " << a.seq;
    }
    total_acked += acks.size();

    auto wal = Wal::Open(options);
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    torn_tails += (*wal)->Stats().torn_tails;
    const uint64_t first = (*wal)->first_seq();
    WalReader reader = (*wal)->NewReader(first);
    RecordView rec;
    uint64_t expect_seq = first;
    std::size_t found_acked = 0;
    while (true) {
      auto more = reader.Next(&rec);
      ASSERT_TRUE(more.ok()) << more.status().ToString();
      if (!*more) break;
      ASSERT_EQ(rec.seq, expect_seq++) << "gap in the log";
      const uint64_t id = CheckPayload(rec.payload);
      ASSERT_NE(id, UINT64_MAX) << "corrupt record returned at seq " << rec.seq;
      auto it = acked.find(rec.seq);
      if (it != acked.end()) {
        ASSERT_EQ(it->second, id) << "seq " << rec.seq << " holds another record";
        ++found_acked;
      }
    }
    EXPECT_EQ(reader.skipped(), 0u);
    ASSERT_EQ(found_acked, acked.size()) << "acknowledged records missing after the kill";
    // Keep the log small: drop what is older than the last few segments' worth.
    const uint64_t keep_from = (*wal)->next_seq() > 400 ? (*wal)->next_seq() - 400 : 1;
    ASSERT_TRUE((*wal)->TruncateBefore(keep_from).ok());
    ASSERT_TRUE((*wal)->Close().ok());
    acked.erase(acked.begin(), acked.lower_bound((*wal)->first_seq()));
  }
  RecordProperty("acknowledged_records", std::to_string(total_acked));
  RecordProperty("torn_tails", std::to_string(torn_tails));
  // The kills must have hit the child while it was appending, not only before it started.
  EXPECT_GT(total_acked, uint64_t{kRounds});
  std::printf("rounds=%d acknowledged=%llu torn_tails=%llu\n", kRounds,
              static_cast<unsigned long long>(total_acked),
              static_cast<unsigned long long>(torn_tails));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace strobed::wal
