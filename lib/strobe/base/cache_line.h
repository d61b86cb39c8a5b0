#pragma once

// Cache-line helpers. The hot path never lets two threads write one cache line
// (DESIGN.md, hot path rules); these make that explicit in types.

#include <cstddef>

namespace strobe {

// 64 bytes on x86-64 and most ARM cores. Not std::hardware_destructive_interference_size:
// g++ warns that its value may change between compiler versions, and ring_abi.h needs a
// fixed number shared across processes and languages.
inline constexpr std::size_t kCacheLineBytes = 64;

// A T alone on its own cache line(s).
template <typename T>
struct alignas(kCacheLineBytes) CacheLinePadded {
  T value{};
};

}  // namespace strobe
