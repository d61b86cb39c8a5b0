#include "strobed/processors/schema_validator/schema_validator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <utility>

#include "strobe/base/check.h"
#include "strobed/base/clock.h"
#include "strobed/base/json.h"
#include "strobed/server/router.h"

namespace strobed::processors {

using event::Attribute;
using event::Value;
using event::ValueType;
using semconv::ScalarType;

std::string_view SchemaRuleName(SchemaRule rule) {
  switch (rule) {
    case SchemaRule::kMissingRequired:
      return "missing_required";
    case SchemaRule::kWrongType:
      return "wrong_type";
    case SchemaRule::kEnumValue:
      return "enum_value";
    case SchemaRule::kDeprecated:
      return "deprecated";
    case SchemaRule::kUnknownAttribute:
      return "unknown_attribute";
    case SchemaRule::kMetricInstrument:
      return "metric_instrument";
    case SchemaRule::kMetricUnit:
      return "metric_unit";
    case SchemaRule::kCount:
      break;
  }
  return "unknown";
}

namespace {

constexpr std::string_view kSignalNames[] = {"spans", "metrics", "logs"};
constexpr std::size_t kSignalSlots = 3;
constexpr uint64_t kPublishRetryNs = 10'000'000;  // a busy reader delays a publish by 10 ms

std::size_t SignalSlot(uint8_t signal) {
  return signal == event::kSignalTraces ? 0 : signal == event::kSignalMetrics ? 1 : 2;
}

void CopyTruncated(std::string_view s, char* out, std::size_t cap, uint8_t* len) noexcept {
  std::size_t n = std::min(s.size(), cap);
  std::memcpy(out, s.data(), n);
  *len = static_cast<uint8_t>(n);
}

// Renders `v` into out[0..cap) without allocating; returns the length.
std::size_t RenderValue(const Value& v, char* out, std::size_t cap) noexcept {
  auto put = [&](std::string_view s) {
    std::size_t n = std::min(s.size(), cap);
    std::memcpy(out, s.data(), n);
    return n;
  };
  switch (v.type()) {
    case ValueType::kString:
      return put(v.AsString());
    case ValueType::kBool:
      return put(v.AsBool() ? "true" : "false");
    case ValueType::kInt: {
      auto r = std::to_chars(out, out + cap, v.AsInt());
      return r.ec == std::errc() ? static_cast<std::size_t>(r.ptr - out) : 0;
    }
    case ValueType::kDouble: {
      auto r = std::to_chars(out, out + cap, v.AsDouble());
      return r.ec == std::errc() ? static_cast<std::size_t>(r.ptr - out) : 0;
    }
    case ValueType::kArray:
      return put("<array>");
    case ValueType::kKvList:
      return put("<kvlist>");
    case ValueType::kBytes:
      return put("<bytes>");
    case ValueType::kEmpty:
      break;
  }
  return put("<empty>");
}

bool ScalarMatches(ScalarType t, const Value& v) noexcept {
  switch (t) {
    case ScalarType::kString:
      return v.type() == ValueType::kString;
    case ScalarType::kInt:
      return v.type() == ValueType::kInt;
    case ScalarType::kDouble:  // an integral double is often sent as an int (JS, JSON)
      return v.type() == ValueType::kDouble || v.type() == ValueType::kInt;
    case ScalarType::kBoolean:
      return v.type() == ValueType::kBool;
    case ScalarType::kAny:
      break;
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TopKSketch

TopKSketch::TopKSketch(std::size_t capacity) : entries_(std::max<std::size_t>(capacity, 1)) {}

SketchEntry& TopKSketch::Add(std::string_view name, uint8_t signal, uint64_t now_ns) noexcept {
  name = name.substr(0, kSketchNameBytes);
  // Linear scans: k is small (default 20, at most kMaxTopK) and only violating events get here.
  for (std::size_t i = 0; i < size_; ++i) {
    SketchEntry& e = entries_[i];
    if (e.signal == signal && std::string_view(e.name, e.name_len) == name) {
      ++e.count;
      e.last_seen_ns = now_ns;
      return e;
    }
  }
  SketchEntry* slot = nullptr;
  uint64_t inherited = 0;
  if (size_ < entries_.size()) {
    slot = &entries_[size_++];
  } else {
    slot = &entries_[0];
    for (SketchEntry& e : entries_) {
      if (e.count < slot->count) slot = &e;
    }
    inherited = slot->count;
  }
  *slot = SketchEntry{};
  CopyTruncated(name, slot->name, kSketchNameBytes, &slot->name_len);
  slot->signal = signal;
  slot->count = inherited + 1;
  slot->error = inherited;
  slot->first_seen_ns = now_ns;
  slot->last_seen_ns = now_ns;
  return *slot;
}

void TopKSketch::CopyFrom(const TopKSketch& other) noexcept {
  std::size_t n = std::min(other.size_, entries_.size());
  std::copy_n(other.entries_.begin(), n, entries_.begin());
  size_ = n;
}

// ---------------------------------------------------------------------------------------------
// Compiled registry

struct SchemaValidator::CompiledAttr {
  std::string id;
  ScalarType scalar = ScalarType::kString;
  bool array = false;
  bool is_template = false;
  bool is_enum = false;
  bool allow_custom_values = true;
  bool deprecated = false;
  std::string renamed_to;
  uint32_t ns = UINT32_MAX;  // index into namespaces_
  event::KeyId key{};
  bool has_key = false;
  std::vector<std::string> string_members;
  std::vector<int64_t> int_members;
  std::vector<double> double_members;
};

struct SchemaValidator::CompiledGroup {
  std::string id;
  semconv::GroupType type = semconv::GroupType::kOther;
  std::vector<uint32_t> required;  // attrs_ indices with requirement level `required`
  std::string name;                // metric_name (metrics) or event name (events): the lookup key
  std::string instrument;
  std::string unit;
};

struct SchemaValidator::Found {
  struct Violation {
    SchemaRule rule;
    int32_t attr;  // attrs_ index, or -1 (unknown key: `key`; metric rules: none)
    event::KeyId key;
    const Value* value;
  };
  uint32_t count = 0;
  uint32_t stored = 0;
  uint64_t ns_mask = 0;  // registry namespaces seen (bit i: namespaces_[i], i < 64)
  uint8_t signal = 0;
  uint64_t now_ns = 0;
  Violation v[kMaxAnnotatedViolations];
};

struct SchemaValidator::Shared {
  explicit Shared(std::size_t attr_count, std::size_t sketch_capacity)
      : by_attribute(new std::atomic<uint64_t>[attr_count]()),
        subjects(sketch_capacity),
        unknown_keys(sketch_capacity) {}

  // Counters: written by the worker only (relaxed load + store), read by anyone.
  std::atomic<uint64_t> validated[kSignalSlots] = {};
  std::atomic<uint64_t> invalid[kSignalSlots] = {};
  std::atomic<uint64_t> matched[kSignalSlots] = {};
  std::atomic<uint64_t> by_rule[kSchemaRuleCount] = {};
  std::unique_ptr<std::atomic<uint64_t>[]> by_attribute;

  // Immutable after construction.
  std::vector<std::string> attribute_ids;
  std::vector<std::string> renamed_to;
  std::string registry_root;
  std::string schema_url;
  std::size_t files = 0;
  std::size_t attributes = 0;
  std::size_t groups_by_type[7] = {};
  std::vector<std::string> errors;  // the first kMaxErrorsShown load errors
  std::size_t error_count = 0;
  std::string mode;
  std::size_t top_k = 0;
  base::WallClock* wall_clock = nullptr;

  // The worker's sketches as of its latest publish.
  mutable strobe::Mutex mu;
  TopKSketch subjects STROBE_GUARDED_BY(mu);
  TopKSketch unknown_keys STROBE_GUARDED_BY(mu);
  uint64_t publishes STROBE_GUARDED_BY(mu) = 0;

  static void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
    // Single writer (the worker): a load and a store instead of a locked RMW.
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

namespace {
constexpr std::size_t kMaxErrorsShown = 100;

std::string_view FirstSegment(std::string_view id) { return id.substr(0, id.find('.')); }

int SpanKindIndex(std::string_view kind) {
  if (kind == "internal") return static_cast<int>(event::SpanKind::kInternal);
  if (kind == "server") return static_cast<int>(event::SpanKind::kServer);
  if (kind == "client") return static_cast<int>(event::SpanKind::kClient);
  if (kind == "producer") return static_cast<int>(event::SpanKind::kProducer);
  if (kind == "consumer") return static_cast<int>(event::SpanKind::kConsumer);
  return -1;
}
}  // namespace

SchemaValidator::SchemaValidator(const semconv::Registry& registry, event::KeyTable& keys,
                                 SchemaValidatorOptions options, base::WallClock* wall_clock)
    : options_(std::move(options)),
      keys_(keys),
      span_groups_by_kind_(6),
      subjects_(std::clamp<std::size_t>(options_.top_k, 1, kMaxTopK)),
      unknown_keys_(std::clamp<std::size_t>(options_.top_k, 1, kMaxTopK)) {
  shared_ = std::make_shared<Shared>(registry.attributes.size(),
                                     std::clamp<std::size_t>(options_.top_k, 1, kMaxTopK));
  shared_->wall_clock = wall_clock;
  // Namespaces: first segments of every attribute id, in registry order.
  for (const semconv::AttributeDef& d : registry.attributes) {
    std::string ns(FirstSegment(d.id));
    if (std::find(namespaces_.begin(), namespaces_.end(), ns) == namespaces_.end()) {
      namespaces_.push_back(ns);
    }
  }
  uint32_t max_key = 0;
  for (const semconv::AttributeDef& d : registry.attributes) {
    CompiledAttr a;
    a.id = d.id;
    a.scalar = d.type.scalar;
    a.array = d.type.array;
    a.is_template = d.type.is_template;
    a.is_enum = d.type.is_enum;
    a.allow_custom_values = d.type.allow_custom_values;
    a.deprecated = d.deprecated.present;
    a.renamed_to = d.deprecated.renamed_to;
    a.ns = static_cast<uint32_t>(
        std::find(namespaces_.begin(), namespaces_.end(), FirstSegment(d.id)) -
        namespaces_.begin());
    for (const semconv::EnumMember& m : d.type.members) {
      a.string_members.push_back(m.value);
      a.int_members.push_back(m.int_value);
      a.double_members.push_back(m.double_value);
    }
    if (!a.is_template) {
      // Permanent: the id never changes meaning while by_key_ refers to it.
      if (auto k = keys_.Intern(a.id)) {
        a.key = *k;
        a.has_key = true;
        max_key = std::max(max_key, k->index + 1);
      }
    } else {
      templates_.emplace_back(a.id + ".", static_cast<uint32_t>(attrs_.size()));
    }
    shared_->attribute_ids.push_back(a.id);
    shared_->renamed_to.push_back(a.renamed_to);
    attrs_.push_back(std::move(a));
  }
  by_key_.assign(max_key, -1);
  for (std::size_t i = 0; i < attrs_.size(); ++i) {
    if (attrs_[i].has_key) by_key_[attrs_[i].key.index] = static_cast<int32_t>(i);
  }
  for (const semconv::Group& g : registry.groups) {
    CompiledGroup cg;
    cg.id = g.id;
    cg.type = g.type;
    cg.name = g.type == semconv::GroupType::kMetric ? g.metric_name : g.name;
    cg.instrument = g.instrument;
    cg.unit = g.unit;
    for (const semconv::AttributeUse& u : g.attributes) {
      if (u.requirement_level == semconv::RequirementLevel::kRequired &&
          !attrs_[u.attribute].is_template) {
        cg.required.push_back(static_cast<uint32_t>(u.attribute));
      }
    }
    groups_.push_back(std::move(cg));
  }
  // Lookup tables point into groups_ (not resized from here on).
  for (std::size_t i = 0; i < registry.groups.size(); ++i) {
    const semconv::Group& g = registry.groups[i];
    auto idx = static_cast<uint32_t>(i);
    group_by_id_.emplace(groups_[i].id, idx);
    if (g.type == semconv::GroupType::kSpan) {
      int kind = SpanKindIndex(g.span_kind);
      std::string_view rest = std::string_view(g.id).substr(g.id.rfind("span.", 0) == 0 ? 5 : 0);
      auto ns = static_cast<uint32_t>(
          std::find(namespaces_.begin(), namespaces_.end(), FirstSegment(rest)) -
          namespaces_.begin());
      if (kind >= 0 && ns < 64) {
        span_groups_by_kind_[static_cast<std::size_t>(kind)].emplace_back(ns, idx);
      }
    } else if (g.type == semconv::GroupType::kMetric && !groups_[i].name.empty()) {
      metric_groups_.emplace(groups_[i].name, idx);  // first definition wins
    } else if (g.type == semconv::GroupType::kEvent && !groups_[i].name.empty()) {
      event_groups_.emplace(groups_[i].name, idx);
    }
  }
  if (auto k = keys_.Intern(options_.group_attribute); k && !options_.group_attribute.empty()) {
    group_key_ = *k;
    has_group_key_ = true;
  }
  if (auto k = keys_.Intern("strobe.schema.violations")) {
    annotation_key_ = *k;
    has_annotation_key_ = true;
  }

  shared_->registry_root = registry.root;
  shared_->schema_url = registry.manifest.schema_url;
  shared_->files = registry.files.size();
  shared_->attributes = registry.attributes.size();
  for (const semconv::Group& g : registry.groups) {
    ++shared_->groups_by_type[static_cast<std::size_t>(g.type)];
  }
  shared_->error_count = registry.errors.size();
  for (std::size_t i = 0; i < registry.errors.size() && i < kMaxErrorsShown; ++i) {
    shared_->errors.push_back(registry.errors[i].ToString());
  }
  shared_->mode = options_.mode == SchemaMode::kAnnotate ? "annotate"
                  : options_.mode == SchemaMode::kDrop   ? "drop"
                                                         : "count";
  shared_->top_k = std::clamp<std::size_t>(options_.top_k, 1, kMaxTopK);
}

SchemaValidator::~SchemaValidator() = default;

// ---------------------------------------------------------------------------------------------
// Hot path

void SchemaValidator::Add(Found& found, SchemaRule rule, int32_t attr, event::KeyId key,
                          const Value* value) noexcept {
  ++found.count;
  Shared::Bump(shared_->by_rule[static_cast<std::size_t>(rule)]);
  if (attr >= 0) Shared::Bump(shared_->by_attribute[static_cast<std::size_t>(attr)]);
  if (rule == SchemaRule::kUnknownAttribute) {
    SketchEntry& e = unknown_keys_.Add(keys_.Name(key), found.signal, found.now_ns);
    e.last_rule = static_cast<uint8_t>(rule);
    if (value != nullptr) {
      e.value_len = static_cast<uint8_t>(RenderValue(*value, e.value, kSketchValueBytes));
    }
  }
  if (found.stored < kMaxAnnotatedViolations) found.v[found.stored++] = {rule, attr, key, value};
}

void SchemaValidator::CheckAttributes(std::span<const Attribute> attrs, Found& found) noexcept {
  for (const Attribute& a : attrs) {
    int32_t idx = a.key.index < by_key_.size() ? by_key_[a.key.index] : -1;
    if (idx >= 0) {
      const CompiledAttr& c = attrs_[static_cast<std::size_t>(idx)];
      if (c.ns < 64) found.ns_mask |= uint64_t{1} << c.ns;
      bool type_ok = true;
      if (c.scalar != ScalarType::kAny) {
        if (c.array) {
          type_ok = a.value.type() == ValueType::kArray;
          if (type_ok) {
            for (const Value& e : a.value.AsArray())
              type_ok = type_ok && ScalarMatches(c.scalar, e);
          }
        } else {
          type_ok = ScalarMatches(c.scalar, a.value);
        }
      }
      if (!type_ok) {
        Add(found, SchemaRule::kWrongType, idx, a.key, &a.value);
      } else if (c.is_enum && !c.array && (!c.allow_custom_values || options_.strict_enums)) {
        bool member = false;
        if (a.value.type() == ValueType::kString) {
          std::string_view s = a.value.AsString();
          for (const std::string& m : c.string_members) member = member || m == s;
        } else if (a.value.type() == ValueType::kInt) {
          for (int64_t m : c.int_members) member = member || m == a.value.AsInt();
        } else if (a.value.type() == ValueType::kDouble) {
          for (double m : c.double_members) member = member || m == a.value.AsDouble();
        }
        if (!member) Add(found, SchemaRule::kEnumValue, idx, a.key, &a.value);
      }
      if (c.deprecated) Add(found, SchemaRule::kDeprecated, idx, a.key, &a.value);
      continue;
    }
    if ((has_group_key_ && a.key == group_key_) ||
        (has_annotation_key_ && a.key == annotation_key_)) {
      continue;
    }
    // Not a registry key: a template key, or unknown. The text is valid while the batch lives.
    std::string_view name = keys_.Name(a.key);
    bool templated = false;
    for (const auto& [prefix, t] : templates_) {
      if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) {
        templated = true;
        const CompiledAttr& c = attrs_[t];
        if (c.ns < 64) found.ns_mask |= uint64_t{1} << c.ns;
        bool ok = c.array ? a.value.type() == ValueType::kArray : ScalarMatches(c.scalar, a.value);
        if (ok && c.array) {
          for (const Value& e : a.value.AsArray()) ok = ok && ScalarMatches(c.scalar, e);
        }
        if (!ok) Add(found, SchemaRule::kWrongType, static_cast<int32_t>(t), a.key, &a.value);
        break;
      }
    }
    if (templated || options_.unknown_attributes == UnknownAttributePolicy::kOff) continue;
    if (options_.unknown_attributes == UnknownAttributePolicy::kNamespace) {
      std::string_view ns = FirstSegment(name);
      if (ns.size() == name.size()) continue;  // no namespace at all
      bool known_ns = false;
      for (const std::string& n : namespaces_) known_ns = known_ns || n == ns;
      if (!known_ns) continue;
    }
    Add(found, SchemaRule::kUnknownAttribute, -1, a.key, &a.value);
  }
}

void SchemaValidator::CheckRequired(const CompiledGroup& g, std::span<const Attribute> attrs,
                                    Found& found) noexcept {
  for (uint32_t r : g.required) {
    const CompiledAttr& c = attrs_[r];
    if (!c.has_key || event::FindAttribute(attrs, c.key) == nullptr) {
      Add(found, SchemaRule::kMissingRequired, static_cast<int32_t>(r), c.key, nullptr);
    }
  }
}

int32_t SchemaValidator::MatchSpanGroup(const event::Span& span, uint64_t ns_mask) const noexcept {
  if (has_group_key_) {
    const Value* v = event::FindAttribute(span.attributes, group_key_);
    if (v != nullptr && v->type() == ValueType::kString) {
      auto it = group_by_id_.find(v->AsString());
      if (it != group_by_id_.end()) return static_cast<int32_t>(it->second);
    }
  }
  auto kind = static_cast<std::size_t>(span.kind);
  if (kind >= span_groups_by_kind_.size()) return -1;
  for (const auto& [ns, group] : span_groups_by_kind_[kind]) {
    if ((ns_mask >> ns) & 1) return static_cast<int32_t>(group);
  }
  return -1;
}

uint32_t SchemaValidator::DoCheckSpan(const event::Span& span, Found& found) noexcept {
  found.signal = event::kSignalTraces;
  CheckAttributes(span.attributes, found);
  int32_t g = MatchSpanGroup(span, found.ns_mask);
  if (g >= 0) {
    Shared::Bump(shared_->matched[0]);
    CheckRequired(groups_[static_cast<std::size_t>(g)], span.attributes, found);
  }
  return Record(found, span.name);
}

uint32_t SchemaValidator::DoCheckMetric(const event::MetricPoint& point, Found& found) noexcept {
  found.signal = event::kSignalMetrics;
  CheckAttributes(point.labels, found);
  auto it = metric_groups_.find(point.name);
  if (it != metric_groups_.end()) {
    Shared::Bump(shared_->matched[1]);
    const CompiledGroup& g = groups_[it->second];
    CheckRequired(g, point.labels, found);
    bool fits = true;
    using event::MetricType;
    if (g.instrument == "counter") {
      fits = point.type == MetricType::kSum && point.is_monotonic;
    } else if (g.instrument == "updowncounter") {
      fits = point.type == MetricType::kSum && !point.is_monotonic;
    } else if (g.instrument == "gauge") {
      fits = point.type == MetricType::kGauge;
    } else if (g.instrument == "histogram") {
      fits =
          point.type == MetricType::kHistogram || point.type == MetricType::kExponentialHistogram;
    }
    if (!fits) Add(found, SchemaRule::kMetricInstrument, -1, {}, nullptr);
    if (point.unit != g.unit) Add(found, SchemaRule::kMetricUnit, -1, {}, nullptr);
  }
  return Record(found, point.name);
}

uint32_t SchemaValidator::DoCheckLog(const event::LogRecord& log, Found& found) noexcept {
  found.signal = event::kSignalLogs;
  CheckAttributes(log.attributes, found);
  if (!log.event_name.empty()) {
    auto it = event_groups_.find(log.event_name);
    if (it != event_groups_.end()) {
      Shared::Bump(shared_->matched[2]);
      CheckRequired(groups_[it->second], log.attributes, found);
    }
  }
  return Record(found, log.event_name);
}

uint32_t SchemaValidator::Record(const Found& found, std::string_view subject) noexcept {
  std::size_t slot = SignalSlot(found.signal);
  Shared::Bump(shared_->validated[slot]);
  if (found.count == 0) return 0;
  Shared::Bump(shared_->invalid[slot]);
  SketchEntry& e = subjects_.Add(subject, found.signal, found.now_ns);
  const Found::Violation& v = found.v[0];
  e.last_rule = static_cast<uint8_t>(v.rule);
  std::string_view attr = v.attr >= 0 ? attrs_[static_cast<std::size_t>(v.attr)].id
                          : v.rule == SchemaRule::kUnknownAttribute ? keys_.Name(v.key)
                                                                    : std::string_view();
  CopyTruncated(attr, e.attribute, kSketchNameBytes, &e.attribute_len);
  e.value_len = v.value == nullptr
                    ? 0
                    : static_cast<uint8_t>(RenderValue(*v.value, e.value, kSketchValueBytes));
  dirty_ = true;
  return found.count;
}

uint32_t SchemaValidator::CheckSpan(const event::Span& span, uint64_t now_ns) noexcept {
  Found f;
  f.now_ns = now_ns;
  return DoCheckSpan(span, f);
}

uint32_t SchemaValidator::CheckMetric(const event::MetricPoint& point, uint64_t now_ns) noexcept {
  Found f;
  f.now_ns = now_ns;
  return DoCheckMetric(point, f);
}

uint32_t SchemaValidator::CheckLog(const event::LogRecord& log, uint64_t now_ns) noexcept {
  Found f;
  f.now_ns = now_ns;
  return DoCheckLog(log, f);
}

std::span<const Attribute> SchemaValidator::Annotate(std::span<const Attribute> attrs,
                                                     const Found& found,
                                                     event::Batch& batch) noexcept {
  if (!has_annotation_key_) return attrs;
  char text[kMaxAnnotatedViolations * (24 + kSketchNameBytes)];
  std::size_t n = 0;
  auto put = [&](std::string_view s) {
    std::size_t k = std::min(s.size(), sizeof(text) - n);
    std::memcpy(text + n, s.data(), k);
    n += k;
  };
  for (uint32_t i = 0; i < found.stored; ++i) {
    const Found::Violation& v = found.v[i];
    if (i != 0) put(";");
    put(SchemaRuleName(v.rule));
    std::string_view attr = v.attr >= 0
                                ? std::string_view(attrs_[static_cast<std::size_t>(v.attr)].id)
                            : v.rule == SchemaRule::kUnknownAttribute ? keys_.Name(v.key)
                                                                      : std::string_view();
    if (!attr.empty()) {
      put(":");
      put(attr.substr(0, kSketchNameBytes));
    }
  }
  event::Arena& arena = batch.arena();
  std::string_view copied = arena.CopyString(std::string_view(text, n));
  Attribute* out = arena.AllocateArray<Attribute>(attrs.size() + 1);
  std::size_t m = 0;
  for (const Attribute& a : attrs) {
    if (a.key != annotation_key_) out[m++] = a;  // a stale annotation is replaced
  }
  out[m++] = Attribute{annotation_key_, Value::String(copied)};
  return {out, m};
}

void SchemaValidator::Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept {
  uint64_t now = ctx.NowNs();
  uint64_t stamp = shared_->wall_clock != nullptr ? shared_->wall_clock->NowUnixNs() : now;
  if (options_.mode == SchemaMode::kDrop) {
    std::size_t removed =
        batch->RemoveSpansIf([&](const event::Span& s) { return CheckSpan(s, stamp) != 0; });
    removed += batch->RemoveMetricsIf(
        [&](const event::MetricPoint& p) { return CheckMetric(p, stamp) != 0; });
    removed +=
        batch->RemoveLogsIf([&](const event::LogRecord& l) { return CheckLog(l, stamp) != 0; });
    if (removed != 0) ctx.Drop(pipeline::DropReason::kInvalid, removed);
  } else {
    bool annotate = options_.mode == SchemaMode::kAnnotate;
    for (event::Span& s : batch->mutable_spans()) {
      Found f;
      f.now_ns = stamp;
      if (DoCheckSpan(s, f) != 0 && annotate) s.attributes = Annotate(s.attributes, f, *batch);
    }
    // Metric points are never annotated: a new label would change the series' identity.
    for (const event::MetricPoint& p : batch->metrics()) CheckMetric(p, stamp);
    for (event::LogRecord& l : batch->mutable_logs()) {
      Found f;
      f.now_ns = stamp;
      if (DoCheckLog(l, f) != 0 && annotate) l.attributes = Annotate(l.attributes, f, *batch);
    }
  }
  ctx.Emit(std::move(batch));
  MaybePublish(now);
}

// ---------------------------------------------------------------------------------------------
// Publishing and statistics

bool SchemaValidator::TryPublish() noexcept {
  Shared& s = *shared_;
  if (!s.mu.TryLock()) return false;
  s.subjects.CopyFrom(subjects_);
  s.unknown_keys.CopyFrom(unknown_keys_);
  ++s.publishes;
  s.mu.Unlock();
  return true;
}

void SchemaValidator::MaybePublish(uint64_t now_ns) noexcept {
  if (!dirty_) return;
  if (TryPublish()) {
    dirty_ = false;
    publish_due_ns_ = pipeline::kNoDeadline;
  } else {
    publish_due_ns_ = now_ns + kPublishRetryNs;
  }
}

void SchemaValidator::OnTick(pipeline::ProcessContext& ctx) noexcept { MaybePublish(ctx.NowNs()); }

uint64_t SchemaValidator::NextDeadlineNs() const noexcept {
  return dirty_ ? publish_due_ns_ : pipeline::kNoDeadline;
}

void SchemaValidator::Flush(pipeline::ProcessContext& ctx) noexcept { MaybePublish(ctx.NowNs()); }

void SchemaValidator::PublishForTest() {
  Shared& s = *shared_;
  strobe::MutexLock lock(s.mu);
  s.subjects.CopyFrom(subjects_);
  s.unknown_keys.CopyFrom(unknown_keys_);
  dirty_ = false;
}

uint64_t SchemaValidator::violations(SchemaRule rule) const noexcept {
  return shared_->by_rule[static_cast<std::size_t>(rule)].load(std::memory_order_relaxed);
}

uint64_t SchemaValidator::attribute_violations(std::string_view id) const noexcept {
  for (std::size_t i = 0; i < shared_->attribute_ids.size(); ++i) {
    if (shared_->attribute_ids[i] == id) {
      return shared_->by_attribute[i].load(std::memory_order_relaxed);
    }
  }
  return 0;
}

std::vector<pipeline::ProcessorStat> SchemaValidator::Stats() const {
  const Shared& s = *shared_;
  std::vector<pipeline::ProcessorStat> out;
  for (std::size_t i = 0; i < kSignalSlots; ++i) {
    out.push_back({"schema_validated_events_total", "signal", std::string(kSignalNames[i]),
                   static_cast<double>(s.validated[i].load(std::memory_order_relaxed)), true});
    out.push_back({"schema_invalid_events_total", "signal", std::string(kSignalNames[i]),
                   static_cast<double>(s.invalid[i].load(std::memory_order_relaxed)), true});
    out.push_back({"schema_matched_events_total", "signal", std::string(kSignalNames[i]),
                   static_cast<double>(s.matched[i].load(std::memory_order_relaxed)), true});
  }
  for (std::size_t r = 0; r < kSchemaRuleCount; ++r) {
    out.push_back({"schema_violations_total", "rule",
                   std::string(SchemaRuleName(static_cast<SchemaRule>(r))),
                   static_cast<double>(s.by_rule[r].load(std::memory_order_relaxed)), true});
  }
  // Bounded by the registry's attribute count; only attributes that were violated. The pipeline
  // registers one family per statistic name it sees at startup, so while a list is empty it
  // holds one placeholder series with an empty label value (0).
  std::size_t before = out.size();
  for (std::size_t i = 0; i < s.attribute_ids.size(); ++i) {
    uint64_t n = s.by_attribute[i].load(std::memory_order_relaxed);
    if (n != 0) {
      out.push_back({"schema_attribute_violations_total", "attribute", s.attribute_ids[i],
                     static_cast<double>(n), true});
    }
  }
  if (out.size() == before)
    out.push_back({"schema_attribute_violations_total", "attribute", "", 0});
  before = out.size();
  {
    strobe::MutexLock lock(s.mu);
    for (std::size_t i = 0; i < s.subjects.size(); ++i) {
      const SketchEntry& e = s.subjects.entries()[i];
      if (e.signal != event::kSignalTraces) continue;
      out.push_back({"schema_top_violating_span_violations", "span",
                     std::string(e.name, e.name_len), static_cast<double>(e.count), false});
    }
  }
  if (out.size() == before) {
    out.push_back({"schema_top_violating_span_violations", "span", "", 0, false});
  }
  out.push_back({"schema_registry_errors", "", "", static_cast<double>(s.error_count), false});
  out.push_back({"schema_registry_attributes", "", "", static_cast<double>(s.attributes), false});
  return out;
}

std::string SchemaValidator::StatsJson() const { return RenderJson(*shared_); }

std::string SchemaValidator::RenderJson(const Shared& s) {
  base::JsonWriter w;
  w.BeginObject();
  w.Key("mode");
  w.String(s.mode);
  w.Key("registry");
  w.BeginObject();
  w.Key("path");
  w.String(s.registry_root);
  w.Key("schema_url");
  w.String(s.schema_url);
  w.Key("files");
  w.Uint(s.files);
  w.Key("attributes");
  w.Uint(s.attributes);
  w.Key("groups");
  w.BeginObject();
  for (std::size_t t = 0; t < 7; ++t) {
    if (s.groups_by_type[t] == 0) continue;
    w.Key(semconv::GroupTypeName(static_cast<semconv::GroupType>(t)));
    w.Uint(s.groups_by_type[t]);
  }
  w.EndObject();
  w.Key("error_count");
  w.Uint(s.error_count);
  w.Key("errors");
  w.BeginArray();
  for (const std::string& e : s.errors) w.String(e);
  w.EndArray();
  w.EndObject();
  auto per_signal = [&](std::string_view key, const std::atomic<uint64_t>* counters) {
    w.Key(key);
    w.BeginObject();
    for (std::size_t i = 0; i < kSignalSlots; ++i) {
      w.Key(kSignalNames[i]);
      w.Uint(counters[i].load(std::memory_order_relaxed));
    }
    w.EndObject();
  };
  per_signal("validated", s.validated);
  per_signal("invalid", s.invalid);
  per_signal("matched", s.matched);
  w.Key("violations_by_rule");
  w.BeginObject();
  for (std::size_t r = 0; r < kSchemaRuleCount; ++r) {
    w.Key(SchemaRuleName(static_cast<SchemaRule>(r)));
    w.Uint(s.by_rule[r].load(std::memory_order_relaxed));
  }
  w.EndObject();
  w.Key("violations_by_attribute");
  w.BeginArray();
  for (std::size_t i = 0; i < s.attribute_ids.size(); ++i) {
    uint64_t n = s.by_attribute[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    w.BeginObject();
    w.Key("attribute");
    w.String(s.attribute_ids[i]);
    w.Key("violations");
    w.Uint(n);
    if (!s.renamed_to[i].empty()) {
      w.Key("renamed_to");
      w.String(s.renamed_to[i]);
    }
    w.EndObject();
  }
  w.EndArray();
  auto sketch = [&](std::string_view key, const TopKSketch& k) {
    std::vector<const SketchEntry*> sorted;
    for (std::size_t i = 0; i < k.size(); ++i) sorted.push_back(&k.entries()[i]);
    std::stable_sort(sorted.begin(), sorted.end(), [](const SketchEntry* a, const SketchEntry* b) {
      return a->count > b->count;
    });
    w.Key(key);
    w.BeginArray();
    for (const SketchEntry* e : sorted) {
      w.BeginObject();
      w.Key("signal");
      w.String(kSignalNames[SignalSlot(e->signal)]);
      w.Key("name");
      w.String(std::string_view(e->name, e->name_len));
      w.Key("count");
      w.Uint(e->count);
      w.Key("count_error");
      w.Uint(e->error);
      w.Key("first_seen_unix_ns");
      w.Uint(e->first_seen_ns);
      w.Key("last_seen_unix_ns");
      w.Uint(e->last_seen_ns);
      w.Key("last_rule");
      w.String(SchemaRuleName(static_cast<SchemaRule>(e->last_rule)));
      w.Key("example_attribute");
      w.String(std::string_view(e->attribute, e->attribute_len));
      w.Key("example_value");
      w.String(std::string_view(e->value, e->value_len));
      w.EndObject();
    }
    w.EndArray();
  };
  {
    strobe::MutexLock lock(s.mu);
    w.Key("top_k");
    w.Uint(s.top_k);
    sketch("top_violating", s.subjects);
    sketch("top_unknown_attributes", s.unknown_keys);
  }
  w.EndObject();
  return std::move(w).Take();
}

// ---------------------------------------------------------------------------------------------
// Registration

void RegisterSchemaValidator(pipeline::PluginRegistry& registry) {
  using pipeline::OptionType;
  STROBE_CHECK(
      registry
          .AddProcessor({
              .type = "schema_validator",
              .description =
                  "Validates spans, metric points and log events against a semantic-convention "
                  "registry (OpenTelemetry YAML model): required attributes, types, enum values, "
                  "deprecated and unknown attributes, metric instrument and unit. Statistics on "
                  "/metrics and GET /api/v1/schema/<processor id>.",
              .signals = event::kSignalAll,
              .options =
                  {
                      {"registry", OptionType::kString, "",
                       "directory of the registry's YAML files (required)"},
                      {"mode",
                       OptionType::kString,
                       "count",
                       "count: pass everything, count violations; annotate: also add "
                       "strobe.schema.violations to violating spans and logs; drop: remove "
                       "violating events",
                       {.choices = {"count", "annotate", "drop"}}},
                      {"unknown_attributes",
                       OptionType::kString,
                       "namespace",
                       "report keys the registry does not define: inside a registry namespace, "
                       "all, or off",
                       {.choices = {"namespace", "all", "off"}}},
                      {"strict_enums", OptionType::kBool, "true",
                       "report enum values outside the members even where the enum allows "
                       "custom values"},
                      {"group_attribute", OptionType::kString, "strobe.schema.group",
                       "span attribute that names the convention group explicitly"},
                      {"top_k",
                       OptionType::kInt,
                       "20",
                       "entries kept in each most-violated list",
                       {.min = "1", .max = "256"}},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Processor>> {
                std::string path = ctx.options.GetString("registry");
                if (path.empty()) {
                  return strobe::InvalidArgument(std::string(ctx.file) + ": processors." +
                                                 ctx.id.ToString() + ": 'registry' is required");
                }
                auto reg = semconv::LoadRegistry(path);
                if (!reg.ok()) {
                  return strobe::InvalidArgument("processors." + ctx.id.ToString() + ": " +
                                                 std::string(reg.status().message()));
                }
                if (ctx.services.logger != nullptr) {
                  for (const semconv::LoadError& e : reg->errors) {
                    ctx.services.logger->warn("schema_validator {}: registry: {}",
                                              ctx.id.ToString(), e.ToString());
                  }
                }
                SchemaValidatorOptions o;
                std::string mode = ctx.options.GetString("mode");
                o.mode = mode == "annotate" ? SchemaMode::kAnnotate
                         : mode == "drop"   ? SchemaMode::kDrop
                                            : SchemaMode::kCount;
                std::string unknown = ctx.options.GetString("unknown_attributes");
                o.unknown_attributes = unknown == "all"   ? UnknownAttributePolicy::kAll
                                       : unknown == "off" ? UnknownAttributePolicy::kOff
                                                          : UnknownAttributePolicy::kNamespace;
                o.strict_enums = ctx.options.GetBool("strict_enums");
                o.group_attribute = ctx.options.GetString("group_attribute");
                o.top_k = static_cast<std::size_t>(ctx.options.GetInt("top_k"));
                auto v =
                    std::make_unique<SchemaValidator>(*reg, ctx.keys, o, ctx.services.wall_clock);
                if (ctx.services.router != nullptr) {
                  // The handler keeps the statistics alive (shared), not the processor: the
                  // route may outlive the pipeline. It renders from the shared part only.
                  std::shared_ptr<SchemaValidator::Shared> shared = v->shared();
                  auto handler = [shared](const server::Request&) {
                    return server::Response::Json(200, SchemaValidator::RenderJson(*shared));
                  };
                  ctx.services.router->Handle("GET", "/api/v1/schema/" + ctx.id.ToString(),
                                              handler);
                  if (ctx.id.name.empty())
                    ctx.services.router->Handle("GET", "/api/v1/schema", handler);
                }
                return std::unique_ptr<pipeline::Processor>(std::move(v));
              },
          })
          .ok());
}

}  // namespace strobed::processors
