#pragma once

// Mutex and MutexLock annotated for clang's -Wthread-safety (std::mutex is not annotated in
// libstdc++, so STROBE_GUARDED_BY(a std::mutex) does not compile under clang -Werror).
// Control-plane locking only; the recording path takes no lock.

#include <mutex>

#include "strobe/base/thread_annotations.h"

namespace strobe::metrics::internal {

class STROBE_CAPABILITY("mutex") Mutex {
 public:
  void Lock() STROBE_ACQUIRE() { mu_.lock(); }
  void Unlock() STROBE_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class STROBE_THREAD_ANNOTATION_(scoped_lockable) MutexLock {
 public:
  explicit MutexLock(Mutex& mu) STROBE_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() STROBE_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace strobe::metrics::internal
