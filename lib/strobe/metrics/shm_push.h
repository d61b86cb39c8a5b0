#pragma once

// ShmPusher: pushes a Registry's metrics to the local strobe daemon through a shared-memory
// ring (strobe::shm::Producer), so a C++ program's libstrobe metrics reach `strobe serve`
// without the daemon scraping it.
//
//   auto ring = strobe::shm::Producer::Connect({.require_daemon = true}).value();
//   strobe::metrics::ShmPusher pusher(strobe::metrics::Registry::Default(), *ring);
//   every second: pusher.Push();
//
// What a push writes (docs/shm-format.md): each series is declared once (SERIES_DEFINE with
// the family's base name and labels); counters as COUNTER_ADD of the whole increase since the
// last push (a float counter's fraction is carried to the next push), gauges as GAUGE_SET,
// histograms and summaries as HISTOGRAM_MERGE of the bucket counts, count, zero count and sum
// added since the last push (min/max are the series' own). The daemon sums deltas from every
// producer into one series. A record the ring cannot take is counted in dropped() and its
// delta stays pending: the next push sends it, so a full ring delays data, never loses it.
// Histograms with a unit_scale other than 1 are not pushed (their buckets are in recorded
// units and cannot be rescaled exactly); they are counted in skipped().
//
// Thread class: owner-thread only (the ring's single writer); Push() allocates and collects
// the registry: it is a periodic task, not a hot path.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "strobe/metrics/registry.h"
#include "strobe/shm/producer.h"

namespace strobe::metrics {

struct ShmPushStats {
  uint64_t pushes = 0;
  uint64_t records = 0;  // records written
  uint64_t dropped = 0;  // records the ring could not take (their data is retried)
  uint64_t skipped = 0;  // histogram series not pushable (unit_scale != 1), per push
};

class ShmPusher {
 public:
  // `registry` and `producer` must outlive the pusher.
  ShmPusher(const Registry& registry, shm::Producer& producer);

  // Collects the registry and writes what changed. Returns the records written.
  size_t Push();

  const ShmPushStats& stats() const { return stats_; }

 private:
  struct Sent {
    uint64_t series_id = 0;
    double counter = 0;  // counter value already sent
    uint64_t count = 0, zero = 0;
    double sum = 0;
    int32_t offset = 0;
    std::vector<uint64_t> buckets;  // cumulative bucket counts already sent
  };
  bool Define(Sent& s, strobe_series_kind kind, const snapshot::Family& f,
              const snapshot::Point& p);
  void PushHistogram(Sent& s, const snapshot::HistogramValue& h);

  const Registry& registry_;
  shm::Producer& producer_;
  std::unordered_map<std::string, Sent> sent_;
  std::vector<uint64_t> delta_;  // scratch
  ShmPushStats stats_;
};

}  // namespace strobe::metrics
