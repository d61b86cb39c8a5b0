#pragma once

// What every series keeps beside its hot cell: label text for exposition, creation time, and
// the latest exemplar. Private to strobe::metrics.

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "strobe/metrics/labels.h"
#include "strobe/snapshot/snapshot.h"

namespace strobe::metrics::internal {

// The latest exemplar of a series. Writers try-lock `busy` and drop the exemplar (counted in
// strobe_metrics_exemplars_dropped_total) when another writer holds it, so a record never
// waits; the collector spins on `busy` for at most one copy of <= 128 bytes.
// `busy` exchange(acquire) / store(release) pairs order the plain fields between owners.
class ExemplarCell {
 public:
  // OpenMetrics limits the exemplar label set to 128 UTF-8 characters.
  static constexpr size_t kMaxTextBytes = 128;
  static constexpr size_t kMaxLabels = 8;

  // Returns false (and counts) when the labels are too long or another writer is busy.
  bool Write(std::span<const LabelPair> labels, double value, uint64_t unix_ns) noexcept;
  // Copies the exemplar into `out`; false when none was ever written.
  bool Read(snapshot::Exemplar* out) const;

 private:
  mutable std::atomic<bool> busy_{false};
  // Set once after the first write (release; partner: the acquire load in Read()), so the
  // collector skips series that never had an exemplar without touching `busy_`.
  std::atomic<bool> has_{false};
  bool present_ = false;
  uint8_t labels_ = 0;
  uint8_t name_len_[kMaxLabels] = {};
  uint8_t value_len_[kMaxLabels] = {};
  double value_ = 0;
  uint64_t unix_ns_ = 0;
  char text_[kMaxTextBytes] = {};
};

struct SeriesMeta {
  std::string label_text;               // `a="x",b="y"`, escaped; empty without labels
  std::vector<snapshot::Label> labels;  // unescaped, family label order
  uint64_t created_unix_ns = 0;
  ExemplarCell exemplar;
};

// Counts a dropped exemplar in the process-wide cell.
void CountExemplarDropped() noexcept;
// Counts a rejected observation (negative, NaN, infinite) in the process-wide cell.
void CountInvalidObservation() noexcept;

}  // namespace strobe::metrics::internal
