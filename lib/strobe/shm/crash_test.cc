// SIGKILLs producers in the middle of writes, in a loop, and checks that the consumer keeps
// ingesting the other producers' records with exact counts, sees only whole records from the
// killed ones, counts their torn records, and reclaims their segments.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>

#include "strobe/shm/producer.h"
#include "strobe/shm/reader.h"
#include "strobe/shm/test_util.h"

namespace strobe::shm {
namespace {

using testing::TempDir;

constexpr uint64_t kSteadyRecords = 10000;

// Checks per-producer sequence numbers: every producer's records must arrive as 0,1,2,...
struct SeqSink : RecordSink {
  void OnRecord(const RecordView& r) override {
    if (r.type != STROBE_REC_COUNTER_ADD || r.length != 24) {
      ++bad;
      return;
    }
    uint64_t seq;
    std::memcpy(&seq, r.payload + 16, 8);
    uint64_t& next = next_seq[r.producer];
    if (seq != next) ++bad;
    next = seq + 1;
  }
  std::map<uint32_t, uint64_t> next_seq;
  uint64_t bad = 0;
};

// Child body: writes sequence numbers; with `hang_mid_write` it stops inside a reservation
// after `hang_after` records so the kill is guaranteed to land mid-write.
[[noreturn]] void RunProducer(const std::string& dir, int ready_fd, uint64_t limit,
                              bool hang_mid_write, uint64_t hang_after) {
  ProducerOptions o;
  o.ring = "c";
  o.dir = dir;
  o.capacity_bytes = 1 << 14;
  o.policy = FullPolicy::kSpin;
  o.spin_limit = UINT64_MAX;  // never drop: counts must be exact
  auto p = Producer::Connect(o);
  if (!p.ok()) _exit(2);
  char c = 'r';
  if (write(ready_fd, &c, 1) != 1) _exit(3);
  for (uint64_t seq = 0; seq < limit; ++seq) {
    if (hang_mid_write && seq == hang_after) {
      uint8_t* slot = (*p)->Reserve(STROBE_REC_COUNTER_ADD, 24);
      if (slot != nullptr) std::memset(slot, 0xAB, 12);  // half a payload
      if (write(ready_fd, &c, 1) != 1) _exit(3);
      for (;;) pause();
    }
    (*p)->CounterAdd(1, seq);  // delta carries the sequence number (payload offset 16)
  }
  _exit(0);
}

pid_t Spawn(const std::string& dir, uint64_t limit, bool hang, uint64_t hang_after, int* fd) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    RunProducer(dir, fds[1], limit, hang, hang_after);
  }
  close(fds[1]);
  *fd = fds[0];
  return pid;
}

void WaitByte(int fd) {
  char c;
  ASSERT_EQ(read(fd, &c, 1), 1);
}

// True once `fd` has a byte to read (consumed); never blocks.
bool TryByte(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) != 1) return false;
  char c;
  return read(fd, &c, 1) == 1;
}

TEST(ShmCrashTest, KilledProducersNeverCorruptOrBlockOthers) {
  TempDir d;
  ConsumerOptions co;
  co.ring = "c";
  co.dir = d.path();
  auto consumer = Consumer::Open(co);
  ASSERT_TRUE(consumer.ok());
  Consumer& c = **consumer;
  SeqSink sink;
  std::mt19937_64 rng(7);
  uint64_t expected_torn = 0;
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    int steady_fd = -1, victim_fd = -1, hung_fd = -1;
    const pid_t steady = Spawn(d.path(), kSteadyRecords, false, 0, &steady_fd);
    const pid_t victim = Spawn(d.path(), UINT64_MAX, false, 0, &victim_fd);  // killed anywhere
    const pid_t hung = Spawn(d.path(), UINT64_MAX, true, 100 + rng() % 5000, &hung_fd);
    ASSERT_GT(steady, 0);
    ASSERT_GT(victim, 0);
    ASSERT_GT(hung, 0);
    WaitByte(steady_fd);
    WaitByte(victim_fd);
    WaitByte(hung_fd);
    // Consume while they run; kill the free-running victim after a random amount of traffic.
    // The hung producer needs the consumer to keep draining until it has written its
    // `hang_after` records and parked inside a reservation, so keep polling until it says so.
    const uint64_t kill_after = 1000 + rng() % 20000;
    bool victim_killed = false;
    bool steady_done = false;
    bool hung_parked = false;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!(victim_killed && steady_done && hung_parked) &&
           std::chrono::steady_clock::now() < deadline) {
      c.Scan(sink);
      c.Poll(sink);
      auto it = sink.next_seq.find(static_cast<uint32_t>(victim));
      const uint64_t seen_victim = it == sink.next_seq.end() ? 0 : it->second;
      if (!victim_killed && seen_victim >= kill_after) {
        kill(victim, SIGKILL);
        victim_killed = true;
      }
      auto st = sink.next_seq.find(static_cast<uint32_t>(steady));
      steady_done = st != sink.next_seq.end() && st->second == kSteadyRecords;
      if (!hung_parked) hung_parked = TryByte(hung_fd);
    }
    if (!(victim_killed && steady_done && hung_parked)) {  // do not leak children on failure
      for (pid_t p : {steady, victim, hung}) kill(p, SIGKILL);
      for (pid_t p : {steady, victim, hung}) waitpid(p, nullptr, 0);
    }
    ASSERT_TRUE(victim_killed) << "round " << round;
    ASSERT_TRUE(steady_done) << "round " << round;
    ASSERT_TRUE(hung_parked) << "round " << round;
    kill(hung, SIGKILL);
    ++expected_torn;
    for (pid_t p : {steady, victim, hung}) waitpid(p, nullptr, 0);
    for (int fd : {steady_fd, victim_fd, hung_fd}) close(fd);
    c.Scan(sink);  // reclaims all three segments
    EXPECT_EQ(c.ring_count(), 0u);
    EXPECT_EQ(sink.next_seq[static_cast<uint32_t>(steady)], kSteadyRecords) << "round " << round;
    EXPECT_GE(sink.next_seq[static_cast<uint32_t>(hung)], 100u);
    EXPECT_EQ(sink.bad, 0u) << "round " << round;
    sink.next_seq.clear();
  }
  // The free-running victim may die between two records (no torn) or inside one (torn).
  EXPECT_GE(c.stats().torn, expected_torn);
  EXPECT_LE(c.stats().torn, 2u * kRounds);
  EXPECT_EQ(c.stats().rings_reclaimed, 3u * kRounds);
  EXPECT_EQ(c.stats().malformed, 0u);
}

}  // namespace
}  // namespace strobe::shm
