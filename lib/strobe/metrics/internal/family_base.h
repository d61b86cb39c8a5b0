#pragma once

// FamilyBase and the visitor interface through which collection (snapshot::Snapshot) and
// exposition (text) read a registry without allocating per series. Private to
// strobe::metrics.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/metrics/histogram.h"
#include "strobe/snapshot/snapshot.h"

namespace strobe::metrics::internal {

enum class Kind : uint8_t {
  kCounter,
  kFloatCounter,
  kGauge,
  kUpDownCounter,
  kHistogram,
  kCallbackCounter,
  kCallbackGauge,
};
const char* KindName(Kind kind);

struct FamilyInfo {
  std::string name;  // base name (no `_total`)
  std::string help;
  std::string unit;
  snapshot::MetricType type = snapshot::MetricType::kGauge;
  std::vector<std::string> label_names;
};

enum class NumKind : uint8_t { kUnsigned, kSigned, kDouble };

struct SeriesView {
  std::string_view label_text;  // `a="x",b="y"`, escaped; may be empty
  const std::vector<snapshot::Label>* labels = nullptr;
  NumKind num_kind = NumKind::kDouble;
  uint64_t uint_value = 0;
  int64_t int_value = 0;
  double value = 0;
  const snapshot::HistogramValue* histogram = nullptr;  // histograms and summaries
  uint64_t created_unix_ns = 0;
  const snapshot::Exemplar* exemplar = nullptr;
};

class Visitor {
 public:
  virtual ~Visitor() = default;
  virtual void BeginFamily(const FamilyInfo& info) = 0;
  virtual void Series(const SeriesView& series) = 0;
};

// Reused across series and families of one collection.
struct VisitScratch {
  HistogramCollector histograms;
  snapshot::HistogramValue histogram;
  snapshot::Exemplar exemplar;
};

// Per-registry counters the families bump (rendered as self-metrics).
struct RegistryCounters {
  std::atomic<uint64_t> cardinality_overflow{0};  // With() calls folded into overflow
  std::atomic<uint64_t> label_errors{0};          // With()/Emit() calls with bad labels
  std::atomic<uint64_t> collector_conflicts{0};   // collected families skipped: name taken
  std::atomic<uint64_t> collector_invalid{0};     // collected families skipped: bad name/unit
};

class FamilyBase {
 public:
  FamilyBase(FamilyInfo info, Kind kind) : info_(std::move(info)), kind_(kind) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const FamilyInfo& info() const { return info_; }
  Kind kind() const { return kind_; }

  // Calls visitor.BeginFamily once, then Series for every series. Takes the family mutex and
  // the shard read lock (lock order: registry -> family -> shards).
  virtual void Visit(Visitor& visitor, VisitScratch& scratch) = 0;
  virtual size_t SeriesCount() const = 0;
  virtual uint64_t OwnedBytes() const = 0;

 private:
  FamilyInfo info_;
  Kind kind_;
};

// Renders `labels` as `a="x",b="y"` (escaped) into *out.
void RenderLabelText(const std::vector<snapshot::Label>& labels, std::string* out);

// The FamilyInfo of a snapshot family, and the view of one of its points whose label text
// `label_text` was rendered by RenderLabelText (snapshot rendering and collectors).
FamilyInfo InfoOf(const snapshot::Family& family);
SeriesView ViewOf(const snapshot::Point& point, std::string_view label_text);

}  // namespace strobe::metrics::internal
