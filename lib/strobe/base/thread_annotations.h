#pragma once

// Clang thread-safety annotations (-Wthread-safety). Expand to nothing on other compilers.
// Shared state behind a mutex carries STROBE_GUARDED_BY(mu_) (STYLE.md section 6). The
// argument must be a capability: strobe::Mutex or strobe::SharedMutex (strobe/base/mutex.h),
// never a bare std::mutex (libstdc++ does not annotate it, so clang rejects the attribute).

#if defined(__clang__)
#define STROBE_THREAD_ANNOTATION_(x) __attribute__((x))
#else
#define STROBE_THREAD_ANNOTATION_(x)
#endif

#define STROBE_GUARDED_BY(x) STROBE_THREAD_ANNOTATION_(guarded_by(x))
#define STROBE_PT_GUARDED_BY(x) STROBE_THREAD_ANNOTATION_(pt_guarded_by(x))
#define STROBE_REQUIRES(...) STROBE_THREAD_ANNOTATION_(requires_capability(__VA_ARGS__))
#define STROBE_REQUIRES_SHARED(...) \
  STROBE_THREAD_ANNOTATION_(requires_shared_capability(__VA_ARGS__))
#define STROBE_EXCLUDES(...) STROBE_THREAD_ANNOTATION_(locks_excluded(__VA_ARGS__))
#define STROBE_CAPABILITY(x) STROBE_THREAD_ANNOTATION_(capability(x))
#define STROBE_SCOPED_CAPABILITY STROBE_THREAD_ANNOTATION_(scoped_lockable)
#define STROBE_ACQUIRE(...) STROBE_THREAD_ANNOTATION_(acquire_capability(__VA_ARGS__))
#define STROBE_ACQUIRE_SHARED(...) STROBE_THREAD_ANNOTATION_(acquire_shared_capability(__VA_ARGS__))
#define STROBE_RELEASE(...) STROBE_THREAD_ANNOTATION_(release_capability(__VA_ARGS__))
#define STROBE_RELEASE_SHARED(...) STROBE_THREAD_ANNOTATION_(release_shared_capability(__VA_ARGS__))
#define STROBE_TRY_ACQUIRE(...) STROBE_THREAD_ANNOTATION_(try_acquire_capability(__VA_ARGS__))
#define STROBE_TRY_ACQUIRE_SHARED(...) \
  STROBE_THREAD_ANNOTATION_(try_acquire_shared_capability(__VA_ARGS__))
#define STROBE_NO_THREAD_SAFETY_ANALYSIS STROBE_THREAD_ANNOTATION_(no_thread_safety_analysis)
