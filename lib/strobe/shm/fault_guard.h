#pragma once

// strobe::shm fault guard: lets the consumer read a ring mapping that its (untrusted) owner may
// shrink at any time without dying of SIGBUS.
//
// A producer owns its segment file and can ftruncate() it while the daemon has it mapped; the
// next load from a page past the new end raises SIGBUS, which by default kills the daemon. The
// guard (the technique of Wayland compositors' wl_shm) installs a process-wide SIGBUS handler
// once; a thread marks the mapping it is about to touch with a FaultScope. When a SIGBUS hits
// an address inside the marked mapping, the handler maps anonymous zero pages over the whole
// mapping (MAP_FIXED, same size), records the fault in the scope and returns: the faulting
// load re-executes and reads zeros, which the reader rejects as a malformed frame. The caller
// checks faulted() after the scope and drops the ring. A SIGBUS anywhere else restores the
// previous disposition and returns, so the fault repeats and is handled as before this guard.
//
// Cost on the read path: two thread-local stores per drained ring (no syscall); see
// docs/design/ring.md for the measurement and for the alternative (sealed memfds) not chosen.
//
// Thread class: InstallFaultGuard() is thread-safe (once per process); a FaultScope belongs to
// the thread that created it and must not outlive the mapping it names.

#include <cstddef>
#include <cstdint>

namespace strobe::shm {

// Installs the SIGBUS handler (idempotent, thread-safe). Returns false when sigaction failed
// (the reads are then unguarded, as before).
bool InstallFaultGuard();

// Marks [base, base + size) as the mapping this thread reads until the scope ends. Scopes do
// not nest (the inner one replaces the outer one for its duration and restores it after).
class FaultScope {
 public:
  FaultScope(void* base, size_t size) noexcept;
  ~FaultScope();
  FaultScope(const FaultScope&) = delete;
  FaultScope& operator=(const FaultScope&) = delete;

  // True when a SIGBUS hit the mapping during the scope (it now holds zero pages).
  bool faulted() const noexcept { return faulted_ != 0; }

 private:
  friend struct FaultGuardAccess;
  uintptr_t begin_;
  uintptr_t end_;
  volatile int faulted_ = 0;  // written by the signal handler of this thread
  FaultScope* previous_;
};

}  // namespace strobe::shm
