#include "strobed/base/byte_budget.h"

#include <malloc.h>

#include <algorithm>

namespace strobed::base {

namespace {

// Heap bytes of `s`'s buffer: 0 while it lives in the small-string buffer inside the object.
size_t HeapCapacity(const std::string& s) {
  return s.capacity() > std::string().capacity() ? s.capacity() : 0;
}

}  // namespace

bool GrowStringCharged(ByteLease& lease, std::string& s, size_t capacity) {
  if (capacity <= s.capacity()) return true;
  // Below twice the small-string size libstdc++ allocates that much anyway.
  capacity = std::max(capacity, 2 * std::string().capacity());
  if (!lease.Add(capacity)) return false;
  const size_t old_heap = HeapCapacity(s);
  {
    // reserve() on an empty string allocates exactly `capacity` (above the small-string
    // size); on `s` itself libstdc++ would round up to 2 * s.capacity().
    std::string bigger;
    bigger.reserve(capacity);
    bigger.append(s);
    s.swap(bigger);
  }  // the old buffer is freed here
  lease.Release(old_heap);
  return true;
}

bool ReturnLargeBlocksToSystem(size_t threshold_bytes) {
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(threshold_bytes)) == 1;
}

}  // namespace strobed::base
