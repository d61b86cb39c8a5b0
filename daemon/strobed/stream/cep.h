#pragma once

// Complex event processing: rules that look at raw items (not window results) in event time.
//
//   threshold       N items matching `match` within `within` (per key)          → match
//   sequence        an item matching `first`, then one matching `then` within
//                   `within` (per key: `same_key` attributes)                    → match
//   absence         an item matching `first` and no item matching `missing`
//                   within `within` after it (per key)                           → match
//   rate_of_change  the count (or mean value) of matching items in consecutive
//                   `interval`s changes by at least `change` (relative: 0.5 = 50%)
//                   `direction` up | down | any; the earlier interval must hold
//                   at least `min_count` items                                   → match
//
// YAML (inside `stream.cep`), e.g.:
//   - name: login_bruteforce
//     type: threshold
//     match: {name: login, status: error}
//     count: 5
//     within: 1m
//     group_by: [user.id]
//
// Time: a CEP operator keeps its own watermark (watermark.h: per source, the minimum over active
// sources of the largest event time seen; with an idle timeout it advances with wall time) and
// evaluates absence deadlines and rate intervals in Advance().
// Per-key state is bounded: at most max_keys keys (new keys beyond are dropped and counted),
// absence keeps at most 64 pending `first` items per key (older ones dropped and counted).
//
// Thread class: a CepOperator is owned by one thread; stats are relaxed atomics.

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/event/attribute.h"
#include "strobed/stream/item.h"
#include "strobed/stream/predicate.h"
#include "strobed/stream/window.h"

namespace strobed::stream {

enum class CepType : uint8_t { kThreshold, kSequence, kAbsence, kRateOfChange };
std::string_view CepTypeName(CepType type);

enum class ChangeDirection : uint8_t { kUp, kDown, kAny };

struct CepRule {
  std::string name;
  CepType type = CepType::kThreshold;
  Predicate first;   // threshold/rate_of_change: match; sequence/absence: first
  Predicate second;  // sequence: then; absence: missing
  uint64_t within_ns = 60'000'000'000;
  uint64_t count = 1;  // threshold
  uint64_t interval_ns = 60'000'000'000;
  double change = 0.5;
  ChangeDirection direction = ChangeDirection::kUp;
  bool of_mean = false;  // rate_of_change on the mean value instead of the count
  uint64_t min_count = 1;
  uint64_t idle_timeout_ns = 0;
  std::size_t max_keys = 10'000;
  std::vector<std::string> key_names;
  std::vector<event::KeyId> keys;
  std::string severity = "warning";
  std::string file_line;  // where the rule was defined

  // Parses one rule map. Errors: INVALID_ARGUMENT "file:line: reason".
  static strobe::Result<CepRule> Parse(const YAML::Node& node, std::string_view file,
                                       event::KeyTable& keys);
};

struct CepMatch {
  const CepRule* rule = nullptr;
  std::span<const std::string> labels;  // parallel to rule->key_names
  uint64_t time_ns = 0;                 // event time of the match
  double value = 0;  // threshold: count; sequence: seconds between; absence: 0; rate: change
};

class CepSink {
 public:
  virtual ~CepSink() = default;
  virtual void OnMatch(const CepMatch& match) = 0;
};

struct CepStats {
  // Relaxed: independent statistics.
  std::atomic<uint64_t> matches{0};
  std::atomic<uint64_t> dropped_key_limit{0};
  std::atomic<uint64_t> dropped_pending{0};
};

class CepOperator {
 public:
  CepOperator(const CepRule& rule, CepSink& sink);
  // Feeds one item of `source` (no-op when it matches neither predicate). Allocation-free for
  // known keys and sources.
  void Add(const Item& item, uint64_t wall_ns, SourceId source = kNoSource) noexcept;
  // Fires absence matches whose deadline passed and closes rate intervals.
  void Advance(uint64_t wall_ns);

  const CepRule& rule() const { return rule_; }
  const CepStats& stats() const { return stats_; }
  std::size_t active_keys() const { return keys_.size(); }

 private:
  static constexpr std::size_t kMaxPending = 64;
  struct KeyState {
    std::vector<std::string> labels;
    std::vector<uint64_t> times;  // threshold: ring of recent times; absence: pending firsts
    std::size_t head = 0;         // threshold ring head
    std::size_t size = 0;         // threshold ring size
    uint64_t last_first = 0;      // sequence: time of the latest `first` (0 = none)
    uint64_t bucket_start = 0;    // rate_of_change
    double cur_count = 0, cur_sum = 0;
    double prev_value = 0;
    double prev_count = 0;
    bool has_prev = false;
  };
  KeyState* Key(const Item& item) noexcept;
  void Fire(const KeyState& key, uint64_t time_ns, double value);
  void CloseBucket(KeyState& key, uint64_t time_ns);

  const CepRule& rule_;
  CepSink& sink_;
  Watermark watermark_;
  std::unordered_map<uint64_t, KeyState> keys_;  // by 64-bit hash of the key values
  CepStats stats_;
};

}  // namespace strobed::stream
