#pragma once

// host::StatfsProber: statvfs(2) with a deadline, for the filesystem metrics. A statvfs on a
// mount whose server is gone (NFS, FUSE) can block for minutes in the kernel and cannot be
// cancelled; the host collector must not stall with it. So each call runs on a worker thread
// and the caller waits at most `timeout`. When a call times out, its worker is abandoned (it
// stays blocked in the kernel, detached) and the mount point is marked stuck: later calls for
// it return kStuck at once, without starting another thread, until the abandoned call
// returns and clears the mark (node_exporter's "stuck mounts" rule). Other mounts get a fresh
// worker. At most one thread per stuck mount plus one live worker exist.
//
//   StatfsProber prober;                              // ::statvfs
//   struct statvfs st;
//   switch (prober.Stat("/", std::chrono::seconds(1), &st)) { ... }
//
// Thread class: thread-compatible (one collector thread calls Stat); IsStuck() thread-safe.
// Destruction does not wait for a blocked call: the abandoned worker owns its own state.

#include <sys/statvfs.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace strobed::host {

class StatfsProber {
 public:
  using StatFn = std::function<int(const char* path, struct statvfs* out)>;
  enum class Outcome : uint8_t {
    kOk,       // *out filled
    kError,    // statvfs failed (errno ENOENT, EACCES, ...)
    kTimeout,  // no answer within the timeout: the mount is now stuck
    kStuck,    // an earlier call on this path has not returned yet: not tried
  };

  // `fn` replaces ::statvfs (tests); it must be callable from another thread.
  explicit StatfsProber(StatFn fn = nullptr);
  ~StatfsProber();
  StatfsProber(const StatfsProber&) = delete;
  StatfsProber& operator=(const StatfsProber&) = delete;

  // Runs statvfs(path) on the worker and waits at most `timeout` for it.
  Outcome Stat(const std::string& path, std::chrono::milliseconds timeout, struct statvfs* out);
  // True while an abandoned call on `path` is still blocked.
  bool IsStuck(const std::string& path) const;

 private:
  struct Shared;  // the stuck set, shared with abandoned workers
  struct Worker;  // one worker's job slot, shared with its thread
  void StartWorker();

  StatFn fn_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Worker> worker_;
};

}  // namespace strobed::host
