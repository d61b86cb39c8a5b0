#pragma once

// strobed::event::NewKeyQuota: how many keys new to the KeyTable each source (an OTLP client
// address, a shm ring) may add per time window. KeyTable::Intern charges it, through a
// KeyBudget, only when a key is about to be added, so input that uses known keys never
// touches it; one source can therefore take at most `keys_per_window` table entries per
// window, and filling the table takes it capacity / keys_per_window windows instead of one
// request.
//
// Windows are fixed per source: the first charge opens a window of `window_ns`; when it has
// passed, the next charge opens a new one. At most `max_sources` sources are tracked; when
// that many windows are open, expired ones are forgotten first and, if none has expired,
// further new sources share one overflow window with the same limit (so a client that can
// appear under many addresses gains nothing beyond that window).
//
// Thread class: thread-safe (one mutex). Take() is called on the slow path of Intern only
// (a key new to the table, which already takes the table's mutex and allocates the entry).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"

namespace strobed::event {

class NewKeyQuota {
 public:
  static constexpr std::size_t kDefaultMaxSources = 4096;

  // `keys_per_window` new keys per source per `window_ns` (0 refuses every new key).
  NewKeyQuota(uint64_t keys_per_window, uint64_t window_ns,
              std::size_t max_sources = kDefaultMaxSources);
  NewKeyQuota(const NewKeyQuota&) = delete;
  NewKeyQuota& operator=(const NewKeyQuota&) = delete;

  // Charges one new key to `source` at steady time `now_ns`: true when the source's window has
  // room (and counts it), false when it is used up (counted in refused()). Thread-safe.
  bool Take(std::string_view source, uint64_t now_ns);

  // Keys `source` may still add at `now_ns` (tests, status). Thread-safe.
  uint64_t Remaining(std::string_view source, uint64_t now_ns) const;

  uint64_t keys_per_window() const noexcept { return keys_per_window_; }
  uint64_t window_ns() const noexcept { return window_ns_; }
  // Charges refused so far. Thread-safe.
  uint64_t refused() const;
  // Sources tracked now (the overflow window not included). Thread-safe.
  std::size_t sources() const;

 private:
  struct Window {
    uint64_t start_ns = 0;
    uint64_t used = 0;
  };
  // The window that charges `source`: its own, a new one, or the overflow window.
  Window& WindowFor(std::string_view source, uint64_t now_ns) STROBE_REQUIRES(mu_);

  const uint64_t keys_per_window_;
  const uint64_t window_ns_;
  const std::size_t max_sources_;
  mutable strobe::Mutex mu_;
  std::unordered_map<std::string, Window> windows_ STROBE_GUARDED_BY(mu_);
  Window overflow_ STROBE_GUARDED_BY(mu_);
  uint64_t refused_ STROBE_GUARDED_BY(mu_) = 0;
};

}  // namespace strobed::event
