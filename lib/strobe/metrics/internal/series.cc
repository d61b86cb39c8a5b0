#include "strobe/metrics/internal/series.h"

#include <cstring>

#include "strobe/metrics/internal/shard.h"

namespace strobe::metrics::internal {

bool ExemplarCell::Write(std::span<const LabelPair> labels, double value,
                         uint64_t unix_ns) noexcept {
  size_t total = 0;
  for (const LabelPair& l : labels) total += l.name.size() + l.value.size();
  if (labels.size() > kMaxLabels || total > kMaxTextBytes) {
    CountExemplarDropped();
    return false;
  }
  if (busy_.exchange(true, std::memory_order_acquire)) {
    CountExemplarDropped();
    return false;
  }
  size_t pos = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    std::memcpy(text_ + pos, labels[i].name.data(), labels[i].name.size());
    pos += labels[i].name.size();
    std::memcpy(text_ + pos, labels[i].value.data(), labels[i].value.size());
    pos += labels[i].value.size();
    name_len_[i] = static_cast<uint8_t>(labels[i].name.size());
    value_len_[i] = static_cast<uint8_t>(labels[i].value.size());
  }
  labels_ = static_cast<uint8_t>(labels.size());
  value_ = value;
  unix_ns_ = unix_ns;
  present_ = true;
  busy_.store(false, std::memory_order_release);
  if (!has_.load(std::memory_order_relaxed)) has_.store(true, std::memory_order_release);
  return true;
}

bool ExemplarCell::Read(snapshot::Exemplar* out) const {
  if (!has_.load(std::memory_order_acquire)) return false;
  while (busy_.exchange(true, std::memory_order_acquire)) {
  }
  const bool present = present_;
  if (present) {
    out->labels.resize(labels_);
    size_t pos = 0;
    for (size_t i = 0; i < labels_; ++i) {
      out->labels[i].name.assign(text_ + pos, name_len_[i]);
      pos += name_len_[i];
      out->labels[i].value.assign(text_ + pos, value_len_[i]);
      pos += value_len_[i];
    }
    out->value = value_;
    out->timestamp_unix_ns = unix_ns_;
  }
  busy_.store(false, std::memory_order_release);
  return present;
}

void CountExemplarDropped() noexcept { Bump(LocalCell(Globals().exemplars_dropped), 1); }

void CountInvalidObservation() noexcept { Bump(LocalCell(Globals().invalid_observations), 1); }

}  // namespace strobe::metrics::internal
