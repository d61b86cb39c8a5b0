#include "strobed/processors/tail_sampler/tail_sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <utility>

#include "strobe/base/check.h"
#include "strobed/base/parse.h"
#include "strobed/pipeline/component.h"
#include "strobed/pipeline/sampling.h"

namespace strobed::processors {

namespace {

void Bump(std::atomic<uint64_t>& a, uint64_t n) {
  // Single writer (the worker): load+store instead of a locked RMW; readers load relaxed.
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
void Drop(std::atomic<uint64_t>& a, uint64_t n) {
  a.store(a.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}

uint64_t HashTrace(const event::TraceId& id) {
  uint64_t h = id.High() * 0x9e3779b97f4a7c15ULL ^ id.Low();
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 32);
}

std::string ValueText(const event::Value& v) {
  switch (v.type()) {
    case event::ValueType::kString:
      return std::string(v.AsString());
    case event::ValueType::kBool:
      return v.AsBool() ? "true" : "false";
    case event::ValueType::kInt:
      return std::to_string(v.AsInt());
    default:
      return v.ToString();
  }
}

bool ValueMatches(const event::Value& v, const std::vector<std::string>& values) {
  if (v.type() == event::ValueType::kString) {
    for (const auto& want : values) {
      if (v.AsString() == want) return true;
    }
    return false;
  }
  std::string text = ValueText(v);
  return std::find(values.begin(), values.end(), text) != values.end();
}

std::string At(std::string_view file, const YAML::Node& n) {
  return std::string(file) + ":" + std::to_string(n.Mark().line + 1);
}

strobe::Result<TailPolicy> ParsePolicy(const YAML::Node& n, std::string_view file,
                                       event::KeyTable& keys, bool in_composite) {
  if (!n.IsMap()) return strobe::InvalidArgument(At(file, n) + ": a policy must be a map");
  TailPolicy p;
  auto str = [&](const char* key) -> std::string {
    YAML::Node v = n[key];
    return v.IsDefined() && v.IsScalar() ? v.Scalar() : std::string();
  };
  p.name = str("name");
  std::string type = str("type");
  if (p.name.empty()) return strobe::InvalidArgument(At(file, n) + ": policy needs a name");
  std::string where = At(file, n) + ": policy '" + p.name + "'";
  auto number = [&](const char* key, double& out) -> strobe::Status {
    YAML::Node v = n[key];
    if (!v.IsDefined()) return strobe::InvalidArgument(where + " needs '" + key + "'");
    try {
      out = v.as<double>();
    } catch (const YAML::Exception&) {
      return strobe::InvalidArgument(At(file, v) + ": policy '" + p.name + "': '" + key +
                                     "' must be a number");
    }
    if (!std::isfinite(out) || out < 0) {
      return strobe::InvalidArgument(At(file, v) + ": policy '" + p.name + "': '" + key +
                                     "' must be >= 0");
    }
    return strobe::OkStatus();
  };
  if (in_composite) {
    if (n["share"].IsDefined()) {
      STROBE_RETURN_IF_ERROR(number("share", p.share));
      if (p.share > 1) return strobe::InvalidArgument(where + ": share must be in [0, 1]");
    }
  }
  if (type == "always_sample") {
    p.type = TailPolicy::Type::kAlwaysSample;
  } else if (type == "status_code") {
    p.type = TailPolicy::Type::kStatusCode;
  } else if (type == "latency") {
    p.type = TailPolicy::Type::kLatency;
    YAML::Node t = n["threshold"];
    if (!t.IsDefined() || !t.IsScalar()) {
      return strobe::InvalidArgument(where + " needs 'threshold' (e.g. 500ms)");
    }
    auto d = base::ParseDuration(t.Scalar());
    if (!d.ok()) return d.status().WithContext(At(file, t));
    p.latency_threshold_ns = static_cast<uint64_t>(d->count());
  } else if (type == "attribute") {
    p.type = TailPolicy::Type::kAttribute;
    std::string key = str("key");
    if (key.empty()) return strobe::InvalidArgument(where + " needs 'key'");
    auto id = keys.Intern(key);
    if (!id) return strobe::InvalidArgument(where + ": attribute key table full or key too long");
    p.key = *id;
    YAML::Node vals = n["values"];
    if (!vals.IsDefined() || !vals.IsSequence() || vals.size() == 0) {
      return strobe::InvalidArgument(where + " needs a non-empty 'values' list");
    }
    for (const auto& v : vals) p.values.push_back(v.Scalar());
  } else if (type == "probabilistic") {
    p.type = TailPolicy::Type::kProbabilistic;
    double ratio = 0;
    STROBE_RETURN_IF_ERROR(number("ratio", ratio));
    if (ratio > 1) return strobe::InvalidArgument(where + ": ratio must be in [0, 1]");
    p.threshold = pipeline::RatioToThreshold(ratio);
  } else if (type == "rate_limit") {
    p.type = TailPolicy::Type::kRateLimit;
    STROBE_RETURN_IF_ERROR(number("spans_per_second", p.spans_per_second));
  } else if (type == "composite") {
    if (in_composite) return strobe::InvalidArgument(where + ": composites do not nest");
    p.type = TailPolicy::Type::kComposite;
    STROBE_RETURN_IF_ERROR(number("max_spans_per_second", p.spans_per_second));
    YAML::Node subs = n["policies"];
    if (!subs.IsDefined() || !subs.IsSequence() || subs.size() == 0) {
      return strobe::InvalidArgument(where + " needs a non-empty 'policies' list");
    }
    double total = 0;
    for (const auto& s : subs) {
      auto sub = ParsePolicy(s, file, keys, /*in_composite=*/true);
      if (!sub.ok()) return sub.status();
      total += sub->share;
      p.subs.push_back(std::move(sub).value());
    }
    if (total > 1.0 + 1e-9) {
      return strobe::InvalidArgument(where + ": sub-policy shares add up to more than 1");
    }
  } else {
    return strobe::InvalidArgument(where + ": unknown type '" + type +
                                   "' (use always_sample, status_code, latency, attribute, "
                                   "probabilistic, rate_limit or composite)");
  }
  return p;
}

// Spends `spans` from a per-second budget of `limit` spans; false if it would exceed it.
bool SpendBudget(TailPolicy& p, double limit, uint64_t spans, uint64_t now_ns) {
  if (now_ns - p.window_start_ns >= 1'000'000'000 || p.window_start_ns == 0) {
    p.window_start_ns = now_ns;
    p.spent = 0;
  }
  if (p.spent + static_cast<double>(spans) > limit) return false;
  p.spent += static_cast<double>(spans);
  return true;
}

}  // namespace

struct TailSampler::Trace {
  event::TraceId id;
  bool in_use = false;
  bool root_seen = false;
  bool has_error = false;
  uint32_t generation = 0;
  uint32_t prev = kNil;  // arrival list
  uint32_t next = kNil;
  uint64_t first_ns = 0;
  uint64_t decide_at_ns = 0;
  uint64_t min_start_ns = ~uint64_t{0};
  uint64_t max_end_ns = 0;
  uint64_t bytes = 0;  // storage bytes accounted in held_storage_bytes_
  uint64_t copier_epoch = ~uint64_t{0};
  event::BatchPtr spans;
  std::optional<event::EventCopier> copier;
};

strobe::Result<std::vector<TailPolicy>> ParseTailPolicies(const YAML::Node& node,
                                                          std::string_view file,
                                                          event::KeyTable& keys) {
  std::vector<TailPolicy> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsSequence()) {
    return strobe::InvalidArgument(At(file, node) + ": tail_sampler.policies must be a list");
  }
  for (const auto& n : node) {
    auto p = ParsePolicy(n, file, keys, /*in_composite=*/false);
    if (!p.ok()) return p.status();
    out.push_back(std::move(p).value());
  }
  return out;
}

TailSampler::TailSampler(TailSamplerOptions options)
    : options_(std::move(options)),
      storage_pool_(event::BatchPoolOptions{
          .max_pooled = options_.num_traces + 16,
          .first_chunk_bytes = 512,
          .max_retained_bytes = 16384,
          // Held traces carry ids of the output pool's key
          // table: their batches register with it.
          .keys = options_.output_pool != nullptr ? &options_.output_pool->keys() : nullptr}),
      output_pool_(options_.output_pool != nullptr ? options_.output_pool
                                                   : &event::BatchPool::Default()),
      traces_(options_.num_traces),
      slot_mask_(std::bit_ceil(options_.num_traces * 2) - 1),
      ready_(std::bit_ceil(options_.num_traces * 2)),
      cache_(std::bit_ceil(std::max<std::size_t>(options_.decision_cache, 1))),
      policy_hits_(std::make_unique<std::atomic<uint64_t>[]>(options_.policies.size() + 1)) {
  STROBE_CHECK(options_.num_traces > 0);
  slots_.assign(slot_mask_ + 1, 0);
  free_.reserve(options_.num_traces);
  for (std::size_t i = options_.num_traces; i > 0; --i)
    free_.push_back(static_cast<uint32_t>(i - 1));
  for (std::size_t i = 0; i <= options_.policies.size(); ++i) policy_hits_[i].store(0);
}

TailSampler::~TailSampler() {
  out_.reset();
  for (Trace& t : traces_) {
    t.copier.reset();
    t.spans.reset();
  }
}

uint32_t TailSampler::Find(const event::TraceId& id) const noexcept {
  for (std::size_t i = HashTrace(id) & slot_mask_;; i = (i + 1) & slot_mask_) {
    uint32_t v = slots_[i];
    if (v == 0) return kNil;
    if (traces_[v - 1].id == id) return v - 1;
  }
}

uint32_t TailSampler::Insert(const event::TraceId& id, uint64_t now_ns) noexcept {
  STROBE_DCHECK(!free_.empty());
  uint32_t index = free_.back();
  free_.pop_back();
  Trace& t = traces_[index];
  t.id = id;
  t.in_use = true;
  t.root_seen = false;
  t.has_error = false;
  t.first_ns = now_ns;
  t.decide_at_ns = 0;
  t.min_start_ns = ~uint64_t{0};
  t.max_end_ns = 0;
  t.bytes = 0;
  t.copier_epoch = ~uint64_t{0};
  t.spans = storage_pool_.Acquire();
  std::size_t i = HashTrace(id) & slot_mask_;
  while (slots_[i] != 0) i = (i + 1) & slot_mask_;
  slots_[i] = index + 1;
  // Append to the arrival list.
  t.prev = newest_;
  t.next = kNil;
  if (newest_ != kNil) traces_[newest_].next = index;
  newest_ = index;
  if (oldest_ == kNil) oldest_ = index;
  Bump(held_traces_, 1);
  return index;
}

void TailSampler::Erase(uint32_t index) noexcept {
  Trace& t = traces_[index];
  // Remove from the table (linear probing, backward-shift deletion).
  std::size_t i = HashTrace(t.id) & slot_mask_;
  while (slots_[i] != index + 1) i = (i + 1) & slot_mask_;
  std::size_t j = i;
  for (;;) {
    j = (j + 1) & slot_mask_;
    if (slots_[j] == 0) break;
    std::size_t home = HashTrace(traces_[slots_[j] - 1].id) & slot_mask_;
    // Move slot j back to i unless its home lies cyclically in (i, j].
    bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!between) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = 0;
  // Unlink from the arrival list.
  if (t.prev != kNil) {
    traces_[t.prev].next = t.next;
  } else {
    oldest_ = t.next;
  }
  if (t.next != kNil) {
    traces_[t.next].prev = t.prev;
  } else {
    newest_ = t.prev;
  }
  t.in_use = false;
  t.generation++;
  t.copier.reset();
  t.spans.reset();
  Drop(held_storage_bytes_, t.bytes);
  Drop(held_traces_, 1);
  free_.push_back(index);
}

int TailSampler::CachedDecision(const event::TraceId& id) const noexcept {
  const CacheSlot& s = cache_[HashTrace(id) & (cache_.size() - 1)];
  if (s.decision == 0 || !(s.id == id)) return -1;
  return s.decision == 2 ? 1 : 0;
}

void TailSampler::RememberDecision(const event::TraceId& id, bool keep) noexcept {
  CacheSlot& s = cache_[HashTrace(id) & (cache_.size() - 1)];
  s.id = id;
  s.decision = keep ? 2 : 1;
}

bool TailSampler::Matches(TailPolicy& p, const Trace& t, uint64_t now_ns) noexcept {
  uint64_t n = t.spans->spans().size();
  switch (p.type) {
    case TailPolicy::Type::kAlwaysSample:
      return true;
    case TailPolicy::Type::kStatusCode:
      return t.has_error;
    case TailPolicy::Type::kLatency:
      return t.max_end_ns > t.min_start_ns &&
             t.max_end_ns - t.min_start_ns >= p.latency_threshold_ns;
    case TailPolicy::Type::kAttribute:
      for (const event::Span& s : t.spans->spans()) {
        if (const event::Value* v = event::FindAttribute(s.attributes, p.key)) {
          if (ValueMatches(*v, p.values)) return true;
        }
        if (s.resource != nullptr) {
          if (const event::Value* v = event::FindAttribute(s.resource->attributes, p.key)) {
            if (ValueMatches(*v, p.values)) return true;
          }
        }
      }
      return false;
    case TailPolicy::Type::kProbabilistic:
      return pipeline::KeepTrace(t.id, p.threshold);
    case TailPolicy::Type::kRateLimit:
      return SpendBudget(p, p.spans_per_second, n, now_ns);
    case TailPolicy::Type::kComposite:
      for (TailPolicy& sub : p.subs) {
        if (sub.type == TailPolicy::Type::kRateLimit) {
          // A rate_limit sub-policy is bounded by its own limit and its share.
          if (!SpendBudget(sub, std::min(sub.spans_per_second, sub.share * p.spans_per_second), n,
                           now_ns)) {
            continue;
          }
          if (SpendBudget(p, p.spans_per_second, n, now_ns)) return true;
          continue;
        }
        if (!Matches(sub, t, now_ns)) continue;
        // Sub-policy budget: its share of the composite's per-second maximum.
        uint64_t window = sub.window_start_ns;
        double spent = sub.spent;
        if (!SpendBudget(sub, sub.share * p.spans_per_second, n, now_ns)) continue;
        if (SpendBudget(p, p.spans_per_second, n, now_ns)) return true;
        sub.window_start_ns = window;  // roll back the sub-policy spend
        sub.spent = spent;
      }
      return false;
  }
  return false;
}

bool TailSampler::Evaluate(std::vector<TailPolicy>& policies, const Trace& t, uint64_t now_ns,
                           bool record) noexcept {
  for (std::size_t i = 0; i < policies.size(); ++i) {
    if (Matches(policies[i], t, now_ns)) {
      if (record) Bump(policy_hits_[i], 1);
      return true;
    }
  }
  if (record) Bump(policy_hits_[policies.size()], 1);  // "none"
  return false;
}

void TailSampler::Decide(uint32_t index, Why why, pipeline::ProcessContext& ctx) noexcept {
  Trace& t = traces_[index];
  uint64_t n = t.spans->spans().size();
  bool keep = Evaluate(options_.policies, t, ctx.NowNs(), /*record=*/true);
  RememberDecision(t.id, keep);
  if (why == Why::kSpill) Bump(spill_decisions_, 1);
  if (why == Why::kAge) Bump(age_decisions_, 1);
  if (keep) {
    Bump(traces_kept_, 1);
    Bump(spans_kept_, n);
    t.copier.reset();
    if (!out_) {
      out_ = std::move(t.spans);
    } else {
      out_->Append(std::move(t.spans));
    }
  } else {
    Bump(traces_dropped_, 1);
    Bump(spans_dropped_, n);
    ctx.Drop(pipeline::DropReason::kSampled, n);
  }
  Drop(held_spans_, n);
  Erase(index);
}

void TailSampler::DecideDue(uint64_t now_ns, pipeline::ProcessContext& ctx) noexcept {
  while (ready_size_ > 0) {
    Ready r = ready_[ready_head_];
    const Trace& t = traces_[r.index];
    bool stale = !t.in_use || t.generation != r.generation;
    if (!stale && t.decide_at_ns > now_ns) break;
    ready_head_ = (ready_head_ + 1) & (ready_.size() - 1);
    --ready_size_;
    if (!stale) Decide(r.index, Why::kComplete, ctx);
  }
  auto age = static_cast<uint64_t>(options_.max_trace_age.count());
  while (oldest_ != kNil && traces_[oldest_].first_ns + age <= now_ns) {
    Decide(oldest_, Why::kAge, ctx);
  }
}

uint64_t TailSampler::NextDeadlineNs() const noexcept {
  uint64_t next = pipeline::kNoDeadline;
  if (ready_size_ > 0) next = traces_[ready_[ready_head_].index].decide_at_ns;
  if (oldest_ != kNil) {
    next = std::min(
        next, traces_[oldest_].first_ns + static_cast<uint64_t>(options_.max_trace_age.count()));
  }
  return next;
}

void TailSampler::EmitOutput(pipeline::ProcessContext& ctx) noexcept {
  if (out_) ctx.Emit(std::move(out_));
  out_.reset();
}

void TailSampler::Process(event::BatchPtr&& batch, pipeline::ProcessContext& ctx) noexcept {
  uint64_t now = ctx.NowNs();
  ++epoch_;
  DecideDue(now, ctx);
  uint64_t late_dropped = 0;
  uint64_t late_kept = 0;
  uint64_t overflow = 0;
  uint64_t held = 0;
  batch->RemoveSpansIf([&](const event::Span& s) {
    int cached = CachedDecision(s.trace_id);
    if (cached == 1) {
      ++late_kept;
      return false;  // stays in the batch and passes through
    }
    if (cached == 0) {
      ++late_dropped;
      return true;
    }
    uint32_t index = Find(s.trace_id);
    if (index == kNil) {
      if (free_.empty()) {
        uint32_t victim = oldest_;
        Decide(victim, Why::kSpill, ctx);
      }
      index = Insert(s.trace_id, now);
    }
    Trace& t = traces_[index];
    if (t.spans->spans().size() >= options_.max_spans_per_trace) {
      ++overflow;
      return true;
    }
    if (t.copier_epoch != epoch_) {
      // Resources are de-duplicated per input batch only: a cached source pointer from an
      // earlier batch could alias a new object at the same address.
      t.copier.emplace(*t.spans, *batch);
      t.copier_epoch = epoch_;
    }
    t.copier->CopySpan(s);
    ++held;
    if (s.status.code == event::StatusCode::kError) t.has_error = true;
    t.min_start_ns = std::min(t.min_start_ns, s.start_ns);
    t.max_end_ns = std::max(t.max_end_ns, s.end_ns);
    uint64_t bytes = t.spans->bytes();
    Bump(held_storage_bytes_, bytes - t.bytes);
    t.bytes = bytes;
    if (s.IsRoot() && !t.root_seen) {
      t.root_seen = true;
      t.decide_at_ns = now + static_cast<uint64_t>(options_.decision_wait.count());
      if (ready_size_ == ready_.size()) {
        // Full of entries (mostly stale): decide the front now to make room.
        Ready r = ready_[ready_head_];
        ready_head_ = (ready_head_ + 1) & (ready_.size() - 1);
        --ready_size_;
        if (traces_[r.index].in_use && traces_[r.index].generation == r.generation &&
            r.index != index) {
          Decide(r.index, Why::kSpill, ctx);
        }
      }
      ready_[(ready_head_ + ready_size_) & (ready_.size() - 1)] = Ready{index, t.generation};
      ++ready_size_;
    }
    return true;
  });
  Bump(held_spans_, held);
  if (late_kept != 0) Bump(late_kept_, late_kept);
  if (late_dropped != 0) {
    Bump(late_dropped_, late_dropped);
    ctx.Drop(pipeline::DropReason::kSampled, late_dropped);
  }
  if (overflow != 0) {
    Bump(overflow_spans_, overflow);
    ctx.Drop(pipeline::DropReason::kTailOverflow, overflow);
  }
  if (!batch->empty()) {
    if (!out_) {
      out_ = std::move(batch);
    } else {
      out_->Append(std::move(batch));
    }
  }
  EmitOutput(ctx);
}

void TailSampler::OnTick(pipeline::ProcessContext& ctx) noexcept {
  DecideDue(ctx.NowNs(), ctx);
  EmitOutput(ctx);
}

void TailSampler::Flush(pipeline::ProcessContext& ctx) noexcept {
  while (oldest_ != kNil) Decide(oldest_, Why::kFlush, ctx);
  ready_head_ = 0;
  ready_size_ = 0;
  EmitOutput(ctx);
}

uint64_t TailSampler::held_bytes() const {
  return held_storage_bytes_.load(std::memory_order_relaxed);
}

std::vector<pipeline::ProcessorStat> TailSampler::Stats() const {
  auto v = [](const std::atomic<uint64_t>& a) {
    return static_cast<double>(a.load(std::memory_order_relaxed));
  };
  double kept = v(spans_kept_) + v(late_kept_);
  double dropped = v(spans_dropped_) + v(late_dropped_) + v(overflow_spans_);
  std::vector<pipeline::ProcessorStat> out = {
      {"tail_traces_kept_total", "", "", v(traces_kept_), true},
      {"tail_traces_dropped_total", "", "", v(traces_dropped_), true},
      {"tail_spill_decisions_total", "", "", v(spill_decisions_), true},
      {"tail_age_decisions_total", "", "", v(age_decisions_), true},
      {"tail_late_spans_total", "decision", "kept", v(late_kept_), true},
      {"tail_late_spans_total", "decision", "dropped", v(late_dropped_), true},
      {"tail_overflow_spans_total", "", "", v(overflow_spans_), true},
      {"tail_held_traces", "", "", v(held_traces_), false},
      {"tail_held_bytes", "", "", v(held_storage_bytes_), false},
      {"sampler_effective_ratio", "", "", kept + dropped > 0 ? kept / (kept + dropped) : 1.0,
       false},
  };
  for (std::size_t i = 0; i <= options_.policies.size(); ++i) {
    out.push_back({"tail_policy_decisions_total", "policy",
                   i < options_.policies.size() ? options_.policies[i].name : "none",
                   v(policy_hits_[i]), true});
  }
  return out;
}

void RegisterTailSampler(pipeline::PluginRegistry& registry) {
  using pipeline::OptionType;
  STROBE_CHECK(
      registry
          .AddProcessor({
              .type = "tail_sampler",
              .description = "Tail sampling: holds each trace until its root span ended plus "
                             "decision_wait, then keeps it if a policy (status_code, latency, "
                             "attribute, probabilistic, rate_limit, composite, always_sample) "
                             "says so. Bounded by num_traces; early decisions are counted.",
              .signals = event::kSignalTraces,
              .options =
                  {
                      {"decision_wait", OptionType::kDuration, "5s",
                       "wait after the root span before deciding"},
                      {"max_trace_age", OptionType::kDuration, "30s",
                       "decide a trace this long after its first span even without a root"},
                      {"num_traces",
                       OptionType::kInt,
                       "100000",
                       "traces held at most",
                       {.min = "1", .max = "67108864"}},
                      {"max_spans_per_trace",
                       OptionType::kInt,
                       "10000",
                       "spans kept per trace; more are dropped (tail_overflow)",
                       {.min = "1"}},
                      {"decision_cache",
                       OptionType::kInt,
                       "65536",
                       "remembered decisions for late spans",
                       {.min = "1", .max = "67108864"}},
                      {"policies", OptionType::kNode, "",
                       "list of {name, type, ...} policies (see docs/pipeline.md)"},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Processor>> {
                TailSamplerOptions o;
                o.decision_wait = ctx.options.GetDuration("decision_wait");
                o.max_trace_age = ctx.options.GetDuration("max_trace_age");
                // Bounds (1..2^26 where a power-of-two table is sized) are in the option table.
                o.num_traces = static_cast<std::size_t>(ctx.options.GetInt("num_traces"));
                o.max_spans_per_trace =
                    static_cast<std::size_t>(ctx.options.GetInt("max_spans_per_trace"));
                o.decision_cache = static_cast<std::size_t>(ctx.options.GetInt("decision_cache"));
                auto policies = ParseTailPolicies(ctx.options.Node("policies"), ctx.file, ctx.keys);
                if (!policies.ok()) return policies.status();
                if (policies->empty()) {
                  return strobe::InvalidArgument(ctx.options.Where("policies") +
                                                 ": tail_sampler needs at least one policy");
                }
                o.policies = std::move(policies).value();
                o.output_pool = &ctx.pool;
                return std::unique_ptr<pipeline::Processor>(
                    std::make_unique<TailSampler>(std::move(o)));
              },
          })
          .ok());
}

}  // namespace strobed::processors
