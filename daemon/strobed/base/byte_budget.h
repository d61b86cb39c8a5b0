#pragma once

// strobed::base::ByteBudget: a process-wide count of bytes against a limit, charged before
// the memory is allocated and released after it is freed, so that what the count covers can
// never exceed the limit. Two users:
//
//   - the ingress budget of `strobe serve` (server.max_inflight_body_bytes): request bodies
//     being read by every HTTP listener (the API and every otlp_http receiver) and the output
//     of decompressing them (base/compression.h). A growth the budget refuses makes the
//     request fail with 503 + Retry-After instead of allocating (docs/security.md, "Memory
//     bound").
//   - pipeline::MemoryLimiter, which adds a soft limit on top (TryCharge with `soft_limit`).
//
// ByteLease is the RAII holder of one owner's share (one connection's body buffer, one
// decompression's output): it charges growth steps and gives everything back when it is reset
// or destroyed. GrowStringCharged grows a std::string's buffer through a lease, charging the
// new buffer before it exists (the old one is still live while the bytes move, so both are
// charged for that moment).
//
//   base::ByteBudget budget(256 << 20);
//   base::ByteLease lease(&budget);
//   if (!base::GrowStringCharged(lease, body, 2 * body.capacity())) return Refuse503();
//
// Cost: a charge is one relaxed load and one CAS (plus a second CAS when it sets a new peak);
// a release is one fetch_sub. Callers charge per buffer growth, never per byte.
//
// Thread class: ByteBudget is thread-safe and lock-free. A ByteLease is thread-compatible
// (owned by one connection or one call); the budget it points to must outlive it.

#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace strobed::base {

class ByteBudget {
 public:
  enum class Charge : uint8_t {
    kOk = 0,    // charged; give it back with Release
    kSoft,      // refused: usage was already at or above the soft limit
    kOverLimit  // refused: the charge would have taken usage above the limit
  };

  explicit ByteBudget(uint64_t limit_bytes) noexcept : limit_(limit_bytes) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  // Charges `bytes` unless usage is already >= `soft_limit` (kSoft) or usage + bytes would
  // exceed the limit (kOverLimit). The check and the add are one CAS, so usage never exceeds
  // the limit however many threads charge at once. Thread-safe, lock-free.
  Charge TryCharge(uint64_t bytes,
                   uint64_t soft_limit = std::numeric_limits<uint64_t>::max()) noexcept {
    uint64_t used = used_.load(std::memory_order_relaxed);
    for (;;) {
      if (used >= soft_limit) return Charge::kSoft;
      if (bytes > limit_ || used > limit_ - bytes) return Charge::kOverLimit;
      // Relaxed: the counter is the only shared state; no data is published through it.
      if (used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed)) {
        UpdatePeak(used + bytes);
        return Charge::kOk;
      }
    }
  }

  // Gives back `bytes` of an earlier successful charge. Thread-safe, lock-free.
  void Release(uint64_t bytes) noexcept {
    used_.fetch_sub(bytes, std::memory_order_relaxed);  // pairs with the CAS above; counter only
  }

  uint64_t used_bytes() const noexcept { return used_.load(std::memory_order_relaxed); }
  // The highest usage since construction.
  uint64_t peak_bytes() const noexcept { return peak_.load(std::memory_order_relaxed); }
  uint64_t limit_bytes() const noexcept { return limit_; }

 private:
  void UpdatePeak(uint64_t v) noexcept {
    uint64_t p = peak_.load(std::memory_order_relaxed);
    while (v > p && !peak_.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
    }
  }

  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> peak_{0};
};

// One owner's share of a ByteBudget. A lease without a budget (default-constructed, or given
// nullptr) grants every charge and counts nothing: the unbounded case of tests and tools.
// Move-only; thread-compatible.
class ByteLease {
 public:
  ByteLease() = default;
  explicit ByteLease(ByteBudget* budget) noexcept : budget_(budget) {}
  ByteLease(ByteLease&& o) noexcept
      : budget_(std::exchange(o.budget_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  ByteLease& operator=(ByteLease&& o) noexcept {
    if (this != &o) {
      Reset();
      budget_ = std::exchange(o.budget_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  ByteLease(const ByteLease&) = delete;
  ByteLease& operator=(const ByteLease&) = delete;
  ~ByteLease() { Reset(); }

  // Charges `bytes` more to the budget. False (nothing charged) when the budget refuses.
  bool Add(uint64_t bytes) noexcept {
    if (budget_ != nullptr && budget_->TryCharge(bytes) != ByteBudget::Charge::kOk) return false;
    bytes_ += bytes;
    return true;
  }
  // Gives back `bytes` of this lease (at most what it holds).
  void Release(uint64_t bytes) noexcept {
    if (bytes > bytes_) bytes = bytes_;
    bytes_ -= bytes;
    if (budget_ != nullptr) budget_->Release(bytes);
  }
  // Gives back everything this lease holds.
  void Reset() noexcept { Release(bytes_); }

  uint64_t bytes() const noexcept { return bytes_; }
  ByteBudget* budget() const noexcept { return budget_; }

 private:
  ByteBudget* budget_ = nullptr;
  uint64_t bytes_ = 0;
};

// Gives `s` a heap buffer of exactly `capacity` bytes, keeping its contents (size unchanged),
// charging `lease` for the new buffer before allocating it and releasing the old buffer's
// capacity once it is freed (the lease must hold s's heap capacity, as it does when every
// growth of `s` goes through here). Exact: std::string::reserve on a grown string may round
// up to twice its capacity, which the charge would not cover. No-op (true) when `s` already
// has the capacity. False, with `s` and the lease unchanged, when the budget refuses. Throws
// only what allocation throws.
bool GrowStringCharged(ByteLease& lease, std::string& s, size_t capacity);

// The allocator's half of a memory bound: makes the C allocator return every block of
// `threshold_bytes` or more to the system when it is freed (glibc: mmap'd blocks, a fixed
// M_MMAP_THRESHOLD, which also stops glibc from raising the threshold to 32 MiB after the first
// large free). Without it, a budget's freed body buffers stay resident in malloc's arenas and
// RSS follows the sum of every arena's peak, not the budget (measured: 40 connections against a
// 64 MiB budget held 126 MiB RSS with 45 MiB allocated). Blocks below the threshold are reused
// from the arenas as before. Process-wide; call once at start (`strobe serve` does). Returns
// false when the allocator refused the setting.
bool ReturnLargeBlocksToSystem(size_t threshold_bytes = size_t{1} << 20);

}  // namespace strobed::base
