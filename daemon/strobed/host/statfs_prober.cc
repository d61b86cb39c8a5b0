#include "strobed/host/statfs_prober.h"

#include <cerrno>
#include <set>
#include <thread>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"

namespace strobed::host {

struct StatfsProber::Shared {
  mutable strobe::Mutex mu;
  std::set<std::string> stuck STROBE_GUARDED_BY(mu);
};

struct StatfsProber::Worker {
  strobe::Mutex mu;
  strobe::CondVar cv;
  bool has_job STROBE_GUARDED_BY(mu) = false;
  bool done STROBE_GUARDED_BY(mu) = false;
  bool stop STROBE_GUARDED_BY(mu) = false;
  bool abandoned STROBE_GUARDED_BY(mu) = false;
  std::string path STROBE_GUARDED_BY(mu);
  int rc STROBE_GUARDED_BY(mu) = 0;
  struct statvfs result STROBE_GUARDED_BY(mu) {};
};

StatfsProber::StatfsProber(StatFn fn)
    : fn_(fn ? std::move(fn)
             : StatFn([](const char* p, struct statvfs* o) { return ::statvfs(p, o); })),
      shared_(std::make_shared<Shared>()) {}

StatfsProber::~StatfsProber() {
  if (worker_ == nullptr) return;
  {
    strobe::MutexLock lock(worker_->mu);
    worker_->stop = true;
  }
  worker_->cv.NotifyAll();
}

void StatfsProber::StartWorker() {
  worker_ = std::make_shared<Worker>();
  // Detached: the thread holds its own references, so an abandoned (blocked) worker may
  // outlive the prober and the collector.
  std::thread([w = worker_, shared = shared_, fn = fn_] {
    strobe::MutexLock lock(w->mu);
    while (true) {
      w->cv.Wait(w->mu, [&w]() STROBE_REQUIRES(w->mu) { return w->stop || w->has_job; });
      if (w->stop && !w->has_job) return;
      w->has_job = false;
      const std::string path = w->path;
      lock.Unlock();
      struct statvfs st {};
      const int rc = fn(path.c_str(), &st);
      lock.Lock();
      if (w->abandoned) {
        // The caller gave up on this call: clear the stuck mark and end this thread.
        strobe::MutexLock s(shared->mu);
        shared->stuck.erase(path);
        return;
      }
      w->rc = rc;
      w->result = st;
      w->done = true;
      w->cv.NotifyAll();
    }
  }).detach();
}

StatfsProber::Outcome StatfsProber::Stat(const std::string& path, std::chrono::milliseconds timeout,
                                         struct statvfs* out) {
  if (IsStuck(path)) return Outcome::kStuck;
  if (worker_ == nullptr) StartWorker();
  Worker& w = *worker_;
  strobe::MutexLock lock(w.mu);
  w.path = path;
  w.has_job = true;
  w.done = false;
  w.cv.NotifyAll();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!w.cv.WaitUntil(w.mu, deadline, [&w]() STROBE_REQUIRES(w.mu) { return w.done; })) {
    {
      strobe::MutexLock s(shared_->mu);
      shared_->stuck.insert(path);
    }
    w.abandoned = true;  // the worker clears the mark when its call returns, then exits
    lock.Unlock();
    worker_.reset();
    return Outcome::kTimeout;
  }
  if (w.rc != 0) return Outcome::kError;
  *out = w.result;
  return Outcome::kOk;
}

bool StatfsProber::IsStuck(const std::string& path) const {
  strobe::MutexLock lock(shared_->mu);
  return shared_->stuck.count(path) != 0;
}

}  // namespace strobed::host
