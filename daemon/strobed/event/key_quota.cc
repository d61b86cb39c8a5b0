#include "strobed/event/key_quota.h"

#include <iterator>

namespace strobed::event {

NewKeyQuota::NewKeyQuota(uint64_t keys_per_window, uint64_t window_ns, std::size_t max_sources)
    : keys_per_window_(keys_per_window), window_ns_(window_ns), max_sources_(max_sources) {}

NewKeyQuota::Window& NewKeyQuota::WindowFor(std::string_view source, uint64_t now_ns) {
  auto expired = [&](const Window& w) { return now_ns - w.start_ns >= window_ns_; };
  Window* w = nullptr;
  if (auto it = windows_.find(std::string(source)); it != windows_.end()) {
    w = &it->second;
  } else {
    if (windows_.size() >= max_sources_) {
      for (auto i = windows_.begin(); i != windows_.end();) {
        i = expired(i->second) ? windows_.erase(i) : std::next(i);
      }
    }
    if (windows_.size() >= max_sources_) {
      w = &overflow_;
    } else {
      w = &windows_.emplace(std::string(source), Window{now_ns, 0}).first->second;
    }
  }
  if (expired(*w)) *w = Window{now_ns, 0};
  return *w;
}

bool NewKeyQuota::Take(std::string_view source, uint64_t now_ns) {
  strobe::MutexLock lock(mu_);
  Window& w = WindowFor(source, now_ns);
  if (w.used >= keys_per_window_) {
    ++refused_;
    return false;
  }
  ++w.used;
  return true;
}

uint64_t NewKeyQuota::Remaining(std::string_view source, uint64_t now_ns) const {
  strobe::MutexLock lock(mu_);
  auto it = windows_.find(std::string(source));
  const Window* w = it != windows_.end()              ? &it->second
                    : windows_.size() >= max_sources_ ? &overflow_
                                                      : nullptr;
  if (w == nullptr || now_ns - w->start_ns >= window_ns_) return keys_per_window_;
  return keys_per_window_ - w->used;
}

uint64_t NewKeyQuota::refused() const {
  strobe::MutexLock lock(mu_);
  return refused_;
}

std::size_t NewKeyQuota::sources() const {
  strobe::MutexLock lock(mu_);
  return windows_.size();
}

}  // namespace strobed::event
