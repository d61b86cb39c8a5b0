#pragma once

// Invariant macros (STYLE.md section 5). For broken *internal* assumptions only; untrusted
// input is validated and counted, never asserted on.
//   STROBE_CHECK(cond)  always fatal when false.
//   STROBE_DCHECK(cond) fatal in debug builds, compiled out with NDEBUG.
//   STROBE_BUG(msg)     fatal in debug builds; in release logs once per call site and counts
//                       (BugCount()), so production keeps running.
// Thread class: thread-safe.

#include <cstdint>

namespace strobe::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr);
void BugReported(const char* file, int line, const char* msg);
}  // namespace strobe::internal

namespace strobe {
// Number of STROBE_BUG hits in this process (release builds); exported as a self-metric.
uint64_t BugCount();
}  // namespace strobe

#define STROBE_CHECK(cond)                                                                        \
  do {                                                                                            \
    if (__builtin_expect(!(cond), 0)) ::strobe::internal::CheckFailed(__FILE__, __LINE__, #cond); \
  } while (false)

#ifdef NDEBUG
#define STROBE_DCHECK(cond) \
  do {                      \
    (void)sizeof(cond);     \
  } while (false)
#define STROBE_BUG(msg) ::strobe::internal::BugReported(__FILE__, __LINE__, msg)
#else
#define STROBE_DCHECK(cond) STROBE_CHECK(cond)
#define STROBE_BUG(msg) ::strobe::internal::CheckFailed(__FILE__, __LINE__, msg)
#endif
