// Compiled (never linked) by the mutex_thread_safety_analysis_test: each function below breaks
// a locking rule, and the test passes only when clang's -Wthread-safety reports every one. It
// proves the strobe::Mutex annotations are live (a bare std::mutex would report nothing).
#include "strobe/base/mutex.h"

namespace strobe {

struct Guarded {
  Mutex mu_;
  CondVar cv_;
  bool stop_ STROBE_GUARDED_BY(mu_) = false;
  SharedMutex smu_;
  int value_ STROBE_GUARDED_BY(smu_) = 0;

  void NeedsLock() STROBE_REQUIRES(mu_) {}

  void WritesWithoutLock() { stop_ = true; }  // expected: stop_
  void WritesAfterUnlock() {
    MutexLock lock(mu_);
    lock.Unlock();
    stop_ = true;  // expected: stop_
  }
  void CallsWithoutLock() { NeedsLock(); }    // expected: NeedsLock
  void WaitsWithoutLock() { cv_.Wait(mu_); }  // expected: Wait
  void WritesUnderReaderLock() {
    ReaderMutexLock lock(smu_);
    value_ = 1;  // expected: value_
  }
  int ReadsWithoutLock() { return value_; }  // expected: value_
};

}  // namespace strobe
