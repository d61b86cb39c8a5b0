#pragma once

// The `schema_validator` processor: checks spans, metric points and log events live against a
// semantic-convention registry (semconv/registry.h, loaded from the `registry` path the user
// configures) and keeps statistics of what violates it.
//
// Matching. A span is matched to a span group by an explicit attribute naming the group
// (`group_attribute`, default strobe.schema.group), else by its kind and namespace: the first
// span group (registry file order) whose span_kind equals the span's kind and whose namespace
// (the segment after "span.", e.g. "http" for span.http.server) is the namespace of at least one
// registry attribute on the span. A metric point is matched by metric name to a metric group, a
// log record by event_name to an event group.
//
// Checks (rules, the `rule` label of the statistics):
//   missing_required   a `required` attribute of the matched group is absent
//                      (conditionally_required conditions are prose and not evaluated)
//   wrong_type         a registry attribute (or template key) with a value of another type
//                      (an int is accepted for a double; arrays are checked element-wise)
//   enum_value         a value that is no member of the attribute's enum, when the enum does not
//                      allow custom values or `strict_enums` is set (the default)
//   deprecated         a deprecated attribute is present; the statistics name its renamed_to
//   unknown_attribute  a key the registry does not define: with unknown_attributes=namespace
//                      (default) only inside a namespace the registry defines attributes in
//                      (`http.foo` yes, `myapp.foo` no); `all` reports every unknown key, `off`
//                      none
//   metric_instrument  a point whose type does not fit the group's instrument
//   metric_unit        a point whose unit differs from the group's unit
// Attribute checks (types, enums, deprecation, unknown keys) apply to every event, matched or
// not; required attributes need a matched group.
//
// Modes: count (default) passes everything on; annotate adds the attribute
// strobe.schema.violations ("rule:attribute;...", at most kMaxAnnotatedViolations entries) to
// every span and log record that violates; drop removes invalid events (DropReason kInvalid).
//
// Statistics (bounded): totals and counts by rule and by registry attribute are fixed arrays;
// the most violated spans/metrics/events and the most frequent unknown keys are Space-Saving
// top-k sketches of `top_k` entries each (names and example values truncated to fixed sizes), so
// memory is O(registry + top_k) whatever the traffic. They are exported as
// strobe_processor_schema_* self-metrics and as JSON at GET /api/v1/schema/<processor id> (and
// /api/v1/schema for a processor named plainly `schema_validator`).
//
// Thread class: Process/OnTick/Flush on the pipeline worker; they take no lock that can block
// (the published snapshot is updated with try_lock, retried on the next batch or tick) and
// allocate only in the batch arena (annotate mode). Stats() and the API handler run on other
// threads and read atomics and the published snapshot.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/event/attribute.h"
#include "strobed/pipeline/plugin_registry.h"
#include "strobed/pipeline/processor.h"
#include "strobed/semconv/registry.h"

namespace strobed::base {
class WallClock;
}  // namespace strobed::base

namespace strobed::processors {

enum class SchemaRule : uint8_t {
  kMissingRequired = 0,
  kWrongType,
  kEnumValue,
  kDeprecated,
  kUnknownAttribute,
  kMetricInstrument,
  kMetricUnit,
  kCount,
};
inline constexpr std::size_t kSchemaRuleCount = static_cast<std::size_t>(SchemaRule::kCount);
std::string_view SchemaRuleName(SchemaRule rule);

enum class SchemaMode : uint8_t { kCount, kAnnotate, kDrop };
enum class UnknownAttributePolicy : uint8_t { kNamespace, kAll, kOff };

inline constexpr std::size_t kMaxAnnotatedViolations = 8;
inline constexpr std::size_t kMaxTopK = 256;
inline constexpr std::size_t kSketchNameBytes = 96;
inline constexpr std::size_t kSketchValueBytes = 64;

struct SchemaValidatorOptions {
  SchemaMode mode = SchemaMode::kCount;
  UnknownAttributePolicy unknown_attributes = UnknownAttributePolicy::kNamespace;
  bool strict_enums = true;
  std::string group_attribute = "strobe.schema.group";
  std::size_t top_k = 20;  // 1..kMaxTopK
};

// One entry of a top-k sketch (fixed size: nothing allocated per entry).
struct SketchEntry {
  char name[kSketchNameBytes] = {};
  uint8_t name_len = 0;
  uint8_t signal = 0;  // event::Signal of the subject
  uint8_t last_rule = 0;
  uint64_t count = 0;
  uint64_t error = 0;  // Space-Saving overestimate bound: true count is in [count-error, count]
  uint64_t first_seen_ns = 0;
  uint64_t last_seen_ns = 0;
  char attribute[kSketchNameBytes] = {};  // the latest offending attribute and its value
  uint8_t attribute_len = 0;
  char value[kSketchValueBytes] = {};
  uint8_t value_len = 0;
};

// A Space-Saving top-k sketch (Metwally et al.): at most `capacity` entries; a new name replaces
// the entry with the smallest count and inherits it as its error bound. Any name whose true
// count exceeds total/capacity is guaranteed to be present. Owner-thread only; no allocation
// after construction.
class TopKSketch {
 public:
  explicit TopKSketch(std::size_t capacity);
  // Counts one occurrence of `name` (truncated to kSketchNameBytes) and returns its entry.
  SketchEntry& Add(std::string_view name, uint8_t signal, uint64_t now_ns) noexcept;
  std::size_t size() const noexcept { return size_; }
  const SketchEntry* entries() const noexcept { return entries_.data(); }
  // Copies `other` into this sketch (same capacity); allocation-free.
  void CopyFrom(const TopKSketch& other) noexcept;

 private:
  std::vector<SketchEntry> entries_;
  std::size_t size_ = 0;
};

class SchemaValidator final : public pipeline::Processor {
 public:
  // Compiles `registry` against `keys` (interning every registry attribute id there as a
  // permanent key: bounded by the registry's size). `wall_clock` (may be null: then times are
  // the pipeline clock's) stamps first/last seen. Control plane.
  SchemaValidator(const semconv::Registry& registry, event::KeyTable& keys,
                  SchemaValidatorOptions options, base::WallClock* wall_clock);
  ~SchemaValidator() override;

  void Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept override;
  void OnTick(pipeline::ProcessContext& ctx) noexcept override;
  uint64_t NextDeadlineNs() const noexcept override;
  void Flush(pipeline::ProcessContext& ctx) noexcept override;
  std::vector<pipeline::ProcessorStat> Stats() const override;

  // The statistics as the API serves them (JSON). Thread-safe.
  std::string StatsJson() const;

  // The shared part: the route handler keeps it alive after the processor is gone.
  struct Shared;
  std::shared_ptr<Shared> shared() const { return shared_; }
  // StatsJson() of the processor that owns `shared`. Thread-safe.
  static std::string RenderJson(const Shared& shared);

  // Validates one event; returns the number of violations (the detail goes to the statistics).
  // For tests and benchmarks; Process calls these. Worker thread only.
  uint32_t CheckSpan(const event::Span& span, uint64_t now_ns) noexcept;
  uint32_t CheckMetric(const event::MetricPoint& point, uint64_t now_ns) noexcept;
  uint32_t CheckLog(const event::LogRecord& log, uint64_t now_ns) noexcept;

  // Violations by rule so far. Thread-safe.
  uint64_t violations(SchemaRule rule) const noexcept;
  // Violations (any rule) attributed to registry attribute `id`; 0 for an unknown id.
  uint64_t attribute_violations(std::string_view id) const noexcept;

  // Makes the published snapshot current (blocking lock; tests). Worker thread only.
  void PublishForTest();

 private:
  struct CompiledAttr;
  struct CompiledGroup;
  struct Found;

  // Checks `attrs` against the registry; records violations in `found`.
  void CheckAttributes(std::span<const event::Attribute> attrs, Found& found) noexcept;
  void CheckRequired(const CompiledGroup& g, std::span<const event::Attribute> attrs,
                     Found& found) noexcept;
  void Add(Found& found, SchemaRule rule, int32_t attr, event::KeyId key,
           const event::Value* value) noexcept;
  uint32_t DoCheckSpan(const event::Span& span, Found& found) noexcept;
  uint32_t DoCheckMetric(const event::MetricPoint& point, Found& found) noexcept;
  uint32_t DoCheckLog(const event::LogRecord& log, Found& found) noexcept;
  // Counts `found` against `subject` in the statistics; returns found.count.
  uint32_t Record(const Found& found, std::string_view subject) noexcept;
  // Adds strobe.schema.violations to `attrs` (allocating in `batch`'s arena).
  std::span<const event::Attribute> Annotate(std::span<const event::Attribute> attrs,
                                             const Found& found, event::Batch& batch) noexcept;
  int32_t MatchSpanGroup(const event::Span& span, uint64_t ns_mask) const noexcept;
  void MaybePublish(uint64_t now_ns) noexcept;
  bool TryPublish() noexcept;

  const SchemaValidatorOptions options_;
  event::KeyTable& keys_;
  std::vector<CompiledAttr> attrs_;
  std::vector<int32_t> by_key_;  // KeyId.index -> index into attrs_, or -1
  std::vector<CompiledGroup> groups_;
  std::vector<std::pair<std::string, uint32_t>> templates_;  // "id." prefix -> attrs_ index
  std::vector<std::string> namespaces_;                      // first segments of attribute ids
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> span_groups_by_kind_;  // (ns, group)
  // Name lookups hash the name once per event: metric names and event names are strings on the
  // wire, there is no interned id to use instead. Keys view groups_' strings.
  std::unordered_map<std::string_view, uint32_t> group_by_id_;    // group id -> group
  std::unordered_map<std::string_view, uint32_t> metric_groups_;  // metric name -> group
  std::unordered_map<std::string_view, uint32_t> event_groups_;   // event name -> group
  event::KeyId group_key_{};
  bool has_group_key_ = false;
  event::KeyId annotation_key_{};
  bool has_annotation_key_ = false;

  // Worker-owned statistics; published into shared_ (try_lock) after each batch.
  TopKSketch subjects_;
  TopKSketch unknown_keys_;
  bool dirty_ = false;
  uint64_t publish_due_ns_ = pipeline::kNoDeadline;
  std::shared_ptr<Shared> shared_;
};

void RegisterSchemaValidator(pipeline::PluginRegistry& registry);

}  // namespace strobed::processors
