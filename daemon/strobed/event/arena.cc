#include "strobed/event/arena.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "strobe/base/check.h"

namespace strobed::event {

namespace {
constexpr std::size_t kMaxChunkBytes = std::size_t{1} << 20;
constexpr std::size_t kHeaderBytes = 64;  // keeps chunk payloads 64-byte aligned
}  // namespace

Arena::Arena(std::size_t first_chunk_bytes, std::size_t max_retained_bytes) noexcept
    : first_chunk_bytes_(std::max<std::size_t>(first_chunk_bytes, 256)),
      max_retained_bytes_(max_retained_bytes) {}

Arena::~Arena() {
  Chunk* c = head_;
  while (c != nullptr) {
    Chunk* next = c->next;
    std::free(c);  // NOLINT(cppcoreguidelines-no-malloc): chunks come from aligned_alloc
    c = next;
  }
}

std::uintptr_t Arena::ChunkBegin(Chunk* c) noexcept {
  return reinterpret_cast<std::uintptr_t>(c) + kHeaderBytes;
}

void* Arena::AllocateSlow(std::size_t bytes, std::size_t align) noexcept {
  STROBE_DCHECK(align != 0 && (align & (align - 1)) == 0 && align <= 64);
  // Try the chunks retained after the current one (kept by Reset()).
  Chunk* next = current_ == nullptr ? head_ : current_->next;
  while (next != nullptr) {
    current_ = next;
    cursor_ = ChunkBegin(next);
    limit_ = cursor_ + next->size;
    auto p = (cursor_ + (align - 1)) & ~static_cast<std::uintptr_t>(align - 1);
    if (p + bytes <= limit_) {
      cursor_ = p + bytes;
      used_bytes_ += bytes;
      return reinterpret_cast<void*>(p);
    }
    next = next->next;
  }
  // Allocate a new chunk, appended at the end of the list.
  std::size_t last = current_ == nullptr ? first_chunk_bytes_ / 2 : current_->size;
  std::size_t size = std::min(std::max(last * 2, first_chunk_bytes_), kMaxChunkBytes);
  size = std::max(size, bytes + align);
  std::size_t total = (kHeaderBytes + size + 63) & ~std::size_t{63};
  void* mem = std::aligned_alloc(64, total);  // NOLINT(cppcoreguidelines-no-malloc)
  if (mem == nullptr) {
    // Allocation failure is fatal (STYLE.md section 5).
    STROBE_CHECK(mem != nullptr);
  }
  auto* chunk = static_cast<Chunk*>(mem);
  chunk->next = nullptr;
  chunk->size = total - kHeaderBytes;
  reserved_bytes_ += total;
  if (head_ == nullptr) {
    head_ = chunk;
  } else {
    Chunk* tail = current_ == nullptr ? head_ : current_;
    while (tail->next != nullptr) tail = tail->next;
    tail->next = chunk;
  }
  current_ = chunk;
  cursor_ = ChunkBegin(chunk);
  limit_ = cursor_ + chunk->size;
  auto p = (cursor_ + (align - 1)) & ~static_cast<std::uintptr_t>(align - 1);
  cursor_ = p + bytes;
  used_bytes_ += bytes;
  return reinterpret_cast<void*>(p);
}

void Arena::Reset() noexcept {
  // Keep a prefix of the chunk list within the retention budget; free the rest.
  std::size_t kept = 0;
  Chunk* prev = nullptr;
  Chunk* c = head_;
  while (c != nullptr) {
    std::size_t total = c->size + kHeaderBytes;
    if (prev != nullptr && kept + total > max_retained_bytes_) break;
    kept += total;
    prev = c;
    c = c->next;
  }
  if (prev != nullptr) prev->next = nullptr;
  while (c != nullptr) {
    Chunk* next = c->next;
    std::free(c);  // NOLINT(cppcoreguidelines-no-malloc)
    c = next;
  }
  reserved_bytes_ = kept;
  current_ = head_;
  if (head_ != nullptr) {
    cursor_ = ChunkBegin(head_);
    limit_ = cursor_ + head_->size;
  } else {
    cursor_ = limit_ = 0;
  }
  used_bytes_ = 0;
}

}  // namespace strobed::event
