#include "strobe/base/mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace strobe {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

// Polls `cond` until it holds or 10 s pass.
template <typename Cond>
bool Eventually(Cond cond) {
  const auto deadline = steady_clock::now() + seconds(10);
  while (!cond()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Whether another thread can take `mu` right now.
bool FreeElsewhere(Mutex& mu) {
  bool acquired = false;
  std::thread([&] {
    if (mu.TryLock()) {
      acquired = true;
      mu.Unlock();
    }
  }).join();
  return acquired;
}

struct Flagged {
  Mutex mu;
  CondVar cv;
  bool flag STROBE_GUARDED_BY(mu) = false;

  void Set() {
    {
      MutexLock lock(mu);
      flag = true;
    }
    cv.NotifyAll();
  }
};

TEST(MutexTest, TryLockFailsWhileHeldElsewhere) {
  Mutex mu;
  MutexLock lock(mu);
  EXPECT_FALSE(FreeElsewhere(mu));
}

TEST(MutexTest, ScopedLockUnlocksAndRelocksInsideItsScope) {
  Mutex mu;
  MutexLock lock(mu);
  lock.Unlock();
  EXPECT_TRUE(FreeElsewhere(mu));
  lock.Lock();
  EXPECT_FALSE(FreeElsewhere(mu));
}

// Runtime behaviour the analysis does not model (it sees ~MutexLock release `mu` here).
void HandOverToManualLock(Mutex& mu) STROBE_NO_THREAD_SAFETY_ANALYSIS {
  MutexLock lock(mu);
  lock.Unlock();
  mu.Lock();  // held by hand now; ~MutexLock must leave it alone
}

void ReleaseManualLock(Mutex& mu) STROBE_NO_THREAD_SAFETY_ANALYSIS { mu.Unlock(); }

TEST(MutexTest, DestructorOfAnUnlockedScopeDoesNotUnlockAgain) {
  Mutex mu;
  HandOverToManualLock(mu);
  EXPECT_FALSE(FreeElsewhere(mu));
  ReleaseManualLock(mu);
}

TEST(CondVarTest, LoopWaitSeesTheFlagSetByAnotherThread) {
  Flagged f;
  std::thread setter([&] { f.Set(); });
  {
    MutexLock lock(f.mu);
    while (!f.flag) f.cv.Wait(f.mu);
    EXPECT_TRUE(f.flag);
  }
  setter.join();
}

TEST(CondVarTest, PredicateWaitForReturnsTrueWhenNotified) {
  Flagged f;
  std::thread setter([&] { f.Set(); });
  bool ok = false;
  {
    MutexLock lock(f.mu);
    ok = f.cv.WaitFor(f.mu, seconds(10), [&f]() STROBE_REQUIRES(f.mu) { return f.flag; });
  }
  setter.join();
  EXPECT_TRUE(ok);
}

TEST(CondVarTest, PredicateWaitReturnsFalseOnTimeoutAndKeepsTheMutexHeld) {
  Flagged f;
  MutexLock lock(f.mu);
  EXPECT_FALSE(
      f.cv.WaitFor(f.mu, milliseconds(1), [&f]() STROBE_REQUIRES(f.mu) { return f.flag; }));
  EXPECT_FALSE(
      f.cv.WaitUntil(f.mu, steady_clock::now(), [&f]() STROBE_REQUIRES(f.mu) { return f.flag; }));
  EXPECT_FALSE(f.cv.WaitUntil(f.mu, steady_clock::now() - seconds(1)));
  EXPECT_FALSE(FreeElsewhere(f.mu));
}

TEST(CondVarTest, WaitReleasesTheMutexWhileBlocked) {
  Flagged f;
  // The setter can take the mutex only while the waiter is blocked inside Wait.
  std::thread setter([&] { f.Set(); });
  {
    MutexLock lock(f.mu);
    f.cv.Wait(f.mu, [&f]() STROBE_REQUIRES(f.mu) { return f.flag; });
  }
  setter.join();
  MutexLock lock(f.mu);
  EXPECT_TRUE(f.flag);
}

TEST(SharedMutexTest, ReadersHoldItTogether) {
  SharedMutex mu;
  std::atomic<bool> second_reader_in{false};
  std::atomic<bool> release{false};
  std::thread reader;
  {
    ReaderMutexLock lock(mu);
    reader = std::thread([&] {
      ReaderMutexLock inner(mu);
      second_reader_in.store(true);
      Eventually([&] { return release.load(); });
    });
    EXPECT_TRUE(Eventually([&] { return second_reader_in.load(); }));
    release.store(true);
  }
  reader.join();
}

TEST(SharedMutexTest, WriterWaitsForReaders) {
  SharedMutex mu;
  int value = 0;  // written by the writer under mu
  std::atomic<bool> writer_done{false};
  std::thread writer;
  {
    ReaderMutexLock lock(mu);
    writer = std::thread([&] {
      WriterMutexLock w(mu);
      value = 1;
      writer_done.store(true);
    });
    EXPECT_EQ(value, 0);
    EXPECT_FALSE(writer_done.load());  // cannot be in: this reader still holds the mutex
  }
  writer.join();
  ReaderMutexLock lock(mu);
  EXPECT_EQ(value, 1);
}

}  // namespace
}  // namespace strobe
