#include "strobe/shm/fault_guard.h"

#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <mutex>

namespace strobe::shm {

// The scope of this thread; read by the SIGBUS handler, which runs on the faulting thread. (In
// the executables that consume rings this is static TLS; in a dlopen()ed module the first
// access happens in FaultScope, outside the handler, so the handler never allocates it.)
thread_local FaultScope* t_scope = nullptr;

struct FaultGuardAccess {
  static FaultScope* Scope() { return t_scope; }
  static bool Contains(const FaultScope* s, uintptr_t a) { return a >= s->begin_ && a < s->end_; }
  static bool Replace(FaultScope* s) {
    // mmap is a plain system call on Linux and safe here in practice (Wayland compositors do
    // the same); MAP_FIXED atomically replaces the file pages with private zero pages.
    void* p = mmap(reinterpret_cast<void*>(s->begin_), s->end_ - s->begin_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
    s->faulted_ = 1;
    return p != MAP_FAILED;
  }
};

namespace {

struct sigaction g_previous;
std::once_flag g_once;
std::atomic<bool> g_installed{false};

void OnSigbus(int sig, siginfo_t* info, void* context) {
  (void)context;
  FaultScope* s = FaultGuardAccess::Scope();
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  if (s != nullptr && FaultGuardAccess::Contains(s, addr)) {
    // Mapped: the load re-executes and reads zeros.
    if (FaultGuardAccess::Replace(s)) return;
  }
  // Not ours (or the remap failed): hand the fault back to whoever handled it before.
  sigaction(sig, &g_previous, nullptr);
}

}  // namespace

bool InstallFaultGuard() {
  std::call_once(g_once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = OnSigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    g_installed.store(sigaction(SIGBUS, &sa, &g_previous) == 0, std::memory_order_release);
  });
  return g_installed.load(std::memory_order_acquire);
}

FaultScope::FaultScope(void* base, size_t size) noexcept
    : begin_(reinterpret_cast<uintptr_t>(base)),
      end_(reinterpret_cast<uintptr_t>(base) + size),
      previous_(t_scope) {
  // A signal on this thread sees either the old or the new scope, both valid.
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_scope = this;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

FaultScope::~FaultScope() {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_scope = previous_;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

}  // namespace strobe::shm
