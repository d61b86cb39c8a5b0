#pragma once

// strobed::event::Arena: a chunked bump allocator that owns the variable-size parts of
// events (strings, attribute arrays, histogram buckets, summary quantiles) in one Batch.
//
// Why an arena: an event is a handful of small arrays and strings. Allocating each with
// new/malloc would cost several allocations per event; a bump pointer costs a compare and an
// add. Reset() keeps the chunks (up to `max_retained_bytes`), so a pooled batch that is
// filled, exported and reset again allocates nothing in steady state.
//
// Only trivially destructible objects live in an arena: nothing is destroyed on Reset().
// Thread class: thread-compatible (one owner at a time; a Batch moves between threads
// through the queues, which provide the happens-before edges).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

namespace strobed::event {

class Arena {
 public:
  static constexpr std::size_t kDefaultFirstChunkBytes = 4096;
  static constexpr std::size_t kDefaultMaxRetainedBytes = std::size_t{1} << 20;

  // The first chunk is allocated lazily, on the first Allocate(). Chunks grow geometrically
  // (x2, capped at 1 MiB unless a single request is larger).
  explicit Arena(std::size_t first_chunk_bytes = kDefaultFirstChunkBytes,
                 std::size_t max_retained_bytes = kDefaultMaxRetainedBytes) noexcept;
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `bytes` of storage aligned to `align` (a power of two <= 64). Never null:
  // allocation failure is fatal (STYLE.md section 5). Hot path: a compare and an add unless
  // the current chunk is exhausted.
  void* Allocate(std::size_t bytes, std::size_t align) noexcept {
    auto p = (cursor_ + (align - 1)) & ~static_cast<std::uintptr_t>(align - 1);
    if (p + bytes <= limit_ && cursor_ != 0) {
      cursor_ = p + bytes;
      used_bytes_ += bytes;
      return reinterpret_cast<void*>(p);
    }
    return AllocateSlow(bytes, align);
  }

  // Uninitialised storage for `n` objects of a trivially destructible T.
  template <typename T>
  T* AllocateArray(std::size_t n) noexcept {
    static_assert(std::is_trivially_destructible_v<T>, "arena objects are never destroyed");
    return static_cast<T*>(Allocate(sizeof(T) * n, alignof(T)));
  }

  // Copies `s` into the arena. The view stays valid until Reset() or destruction.
  std::string_view CopyString(std::string_view s) noexcept {
    if (s.empty()) return {};
    char* p = AllocateArray<char>(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  // Copies a span of trivially copyable values into the arena.
  template <typename T>
  std::span<T> CopyArray(std::span<const T> src) noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    if (src.empty()) return {};
    T* p = AllocateArray<T>(src.size());
    std::memcpy(static_cast<void*>(p), src.data(), sizeof(T) * src.size());
    return {p, src.size()};
  }

  // Forgets every allocation. Keeps chunks while their total stays within
  // `max_retained_bytes`; frees the rest. All views into the arena become dangling.
  void Reset() noexcept;

  // Bytes handed out since the last Reset() (excluding alignment padding).
  std::size_t used_bytes() const noexcept { return used_bytes_; }
  // Bytes of chunks currently owned (what the arena costs in memory).
  std::size_t reserved_bytes() const noexcept { return reserved_bytes_; }

 private:
  struct Chunk {
    Chunk* next;
    std::size_t size;  // usable bytes after the header
  };

  void* AllocateSlow(std::size_t bytes, std::size_t align) noexcept;
  static std::uintptr_t ChunkBegin(Chunk* c) noexcept;

  std::uintptr_t cursor_ = 0;
  std::uintptr_t limit_ = 0;
  Chunk* head_ = nullptr;     // first chunk
  Chunk* current_ = nullptr;  // chunk the cursor is in
  std::size_t first_chunk_bytes_;
  std::size_t max_retained_bytes_;
  std::size_t used_bytes_ = 0;
  std::size_t reserved_bytes_ = 0;
};

}  // namespace strobed::event
