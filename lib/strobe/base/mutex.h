#pragma once

// Mutexes that clang's -Wthread-safety can check. libstdc++ does not annotate std::mutex or
// std::shared_mutex, so STROBE_GUARDED_BY(a std::mutex) is rejected by clang and nothing is
// checked; every annotated mutex in lib/ and daemon/ is one of these instead.
//
//   strobe::Mutex          exclusive mutex (a std::mutex inside): Lock/Unlock/TryLock
//   strobe::MutexLock      scoped lock; may Unlock() and Lock() again inside its scope
//   strobe::CondVar        condition variable bound to a strobe::Mutex at each wait
//   strobe::SharedMutex    reader/writer mutex (a std::shared_mutex inside)
//   strobe::WriterMutexLock / strobe::ReaderMutexLock   scoped exclusive / shared locks
//
//   class Worker {
//     strobe::Mutex mu_;
//     strobe::CondVar cv_;
//     bool stop_ STROBE_GUARDED_BY(mu_) = false;
//   };
//   strobe::MutexLock lock(mu_);
//   while (!stop_) cv_.Wait(mu_);                                       // checked by clang
//   cv_.WaitFor(mu_, 100ms, [this]() STROBE_REQUIRES(mu_) { return stop_; });
//
// Condition variables: std::condition_variable needs a std::unique_lock<std::mutex>, which the
// analysis cannot see. CondVar takes the strobe::Mutex the caller holds (STROBE_REQUIRES(mu)),
// adopts its std::mutex for the duration of the wait and hands it back locked, so the cost is
// that of a plain std::condition_variable (no condition_variable_any, no extra mutex). A
// predicate lambda reads guarded state, so it is annotated STROBE_REQUIRES(mu_) as above; the
// loop form `while (!cond) cv_.Wait(mu_);` needs no annotation.
//
// Thread class: all types are thread-safe. Control-plane locking only: the recording path
// takes no lock (STYLE.md section 5).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "strobe/base/thread_annotations.h"

namespace strobe {

class CondVar;

class STROBE_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() STROBE_ACQUIRE() { mu_.lock(); }
  void Unlock() STROBE_RELEASE() { mu_.unlock(); }
  // Returns true when the mutex was acquired.
  bool TryLock() STROBE_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` from construction to destruction. Unlock() / Lock() release and re-take it inside
// the scope (the analysis follows both); the destructor unlocks only when held.
class STROBE_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) STROBE_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() STROBE_RELEASE() {
    if (locked_) mu_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() STROBE_RELEASE() {
    locked_ = false;
    mu_.Unlock();
  }
  void Lock() STROBE_ACQUIRE() {
    mu_.Lock();
    locked_ = true;
  }

 private:
  Mutex& mu_;
  bool locked_ = true;
};

// A std::condition_variable whose waits take the strobe::Mutex the caller holds. Every wait
// releases `mu` while blocked and returns with `mu` held again; waits may wake spuriously
// (use the predicate forms or a loop). Notify*() may be called with or without the mutex.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex& mu) STROBE_REQUIRES(mu) {
    Adopted lock(mu);
    cv_.wait(lock.lk);
  }
  template <typename Predicate>
  void Wait(Mutex& mu, Predicate pred) STROBE_REQUIRES(mu) {
    Adopted lock(mu);
    cv_.wait(lock.lk, std::move(pred));
  }

  // Return false when the timeout elapsed (or the deadline passed) without a notification.
  template <typename Rep, typename Period>
  bool WaitFor(Mutex& mu, std::chrono::duration<Rep, Period> timeout) STROBE_REQUIRES(mu) {
    Adopted lock(mu);
    return cv_.wait_for(lock.lk, timeout) == std::cv_status::no_timeout;
  }
  template <typename Clock, typename Duration>
  bool WaitUntil(Mutex& mu, std::chrono::time_point<Clock, Duration> deadline) STROBE_REQUIRES(mu) {
    Adopted lock(mu);
    return cv_.wait_until(lock.lk, deadline) == std::cv_status::no_timeout;
  }

  // Return pred() as last evaluated: false means the wait timed out with pred() still false.
  template <typename Rep, typename Period, typename Predicate>
  bool WaitFor(Mutex& mu, std::chrono::duration<Rep, Period> timeout, Predicate pred)
      STROBE_REQUIRES(mu) {
    Adopted lock(mu);
    return cv_.wait_for(lock.lk, timeout, std::move(pred));
  }
  template <typename Clock, typename Duration, typename Predicate>
  bool WaitUntil(Mutex& mu, std::chrono::time_point<Clock, Duration> deadline, Predicate pred)
      STROBE_REQUIRES(mu) {
    Adopted lock(mu);
    return cv_.wait_until(lock.lk, deadline, std::move(pred));
  }

  void NotifyOne() noexcept { cv_.notify_one(); }
  void NotifyAll() noexcept { cv_.notify_all(); }

 private:
  // Lends the caller's locked std::mutex to a unique_lock for one wait and gives it back
  // still locked, also if the predicate throws (the caller's MutexLock unlocks it).
  struct Adopted {
    explicit Adopted(Mutex& mu) : lk(mu.mu_, std::adopt_lock) {}
    ~Adopted() { lk.release(); }
    Adopted(const Adopted&) = delete;
    Adopted& operator=(const Adopted&) = delete;
    std::unique_lock<std::mutex> lk;
  };

  std::condition_variable cv_;
};

class STROBE_CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() STROBE_ACQUIRE() { mu_.lock(); }
  void Unlock() STROBE_RELEASE() { mu_.unlock(); }
  void LockShared() STROBE_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() STROBE_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds `mu` exclusively (writers) for its scope.
class STROBE_SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex& mu) STROBE_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterMutexLock() STROBE_RELEASE() { mu_.Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds `mu` shared (readers) for its scope; readers run concurrently with each other.
class STROBE_SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex& mu) STROBE_ACQUIRE_SHARED(mu) : mu_(mu) {
    mu_.LockShared();
  }
  ~ReaderMutexLock() STROBE_RELEASE() { mu_.UnlockShared(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace strobe
