// A call-heavy workload compiled twice, with and without -fno-omit-frame-pointer (see
// CMakeLists.txt: STROBE_FP_WORKLOAD_NS names each copy), so profile_benchmark measures what
// keeping frame pointers costs on code that calls small functions. Plain functions only, no
// templates: identical inline template instances from the two objects would be merged by the
// linker and both copies would run the same code.

#include <cstddef>
#include <cstdint>

namespace strobe::profile::STROBE_FP_WORKLOAD_NS {
namespace {

__attribute__((noinline)) uint64_t Mix(uint64_t x, uint64_t y) {
  x ^= y + 0x9e3779b97f4a7c15ull + (x << 6) + (x >> 2);
  return x * 0xff51afd7ed558ccdull;
}

__attribute__((noinline)) uint64_t Fib(uint32_t n) { return n < 2 ? n : Fib(n - 1) + Fib(n - 2); }

__attribute__((noinline)) void Sort(uint64_t* a, ptrdiff_t lo, ptrdiff_t hi) {
  while (lo < hi) {
    uint64_t pivot = a[lo + (hi - lo) / 2];
    ptrdiff_t i = lo;
    ptrdiff_t j = hi;
    while (i <= j) {
      while (a[i] < pivot) ++i;
      while (a[j] > pivot) --j;
      if (i <= j) {
        uint64_t t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (j - lo < hi - i) {
      Sort(a, lo, j);
      lo = i;
    } else {
      Sort(a, i, hi);
      hi = j;
    }
  }
}

}  // namespace

// Sorts 1024 pseudo-random numbers, hashes them pairwise and adds fib(18): ~0.1 ms.
uint64_t CallHeavyWorkload(uint64_t seed) {
  uint64_t a[1024];
  for (size_t i = 0; i < 1024; ++i) a[i] = seed = Mix(seed, i);
  Sort(a, 0, 1023);
  uint64_t h = 0;
  for (size_t i = 0; i + 1 < 1024; ++i) h = Mix(h, a[i] ^ a[i + 1]);
  return h + Fib(18);
}

}  // namespace strobe::profile::STROBE_FP_WORKLOAD_NS
