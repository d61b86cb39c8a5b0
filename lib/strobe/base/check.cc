#include "strobe/base/check.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace strobe {
namespace {
std::atomic<uint64_t> g_bug_count{0};
}  // namespace

uint64_t BugCount() { return g_bug_count.load(std::memory_order_relaxed); }

namespace internal {

void CheckFailed(const char* file, int line, const char* expr) {
  std::fprintf(stderr, "strobe: check failed at %s:%d: %s\n", file, line, expr);
  std::fflush(stderr);
  std::abort();
}

void BugReported(const char* file, int line, const char* msg) {
  // Relaxed: a statistic read by exposition; no data is published through it.
  if (g_bug_count.fetch_add(1, std::memory_order_relaxed) < 16) {
    std::fprintf(stderr, "strobe: BUG at %s:%d: %s\n", file, line, msg);
  }
}

}  // namespace internal
}  // namespace strobe
