#include "strobed/trace/trace_store.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace strobed::trace {

TraceStore::TraceStore(TraceStoreOptions options) : options_(std::move(options)) {}

bool TraceStore::Configure(const TraceStoreOptions& options) {
  strobe::MutexLock lock(mu_);
  if (configured_ || stats_.spans_received != 0) return false;
  options_ = options;
  configured_ = true;
  return true;
}

TraceStoreOptions TraceStore::options() const {
  strobe::MutexLock lock(mu_);
  return options_;
}

size_t TraceStore::Add(std::span<const event::Span> spans, const event::KeyTable& keys,
                       uint64_t now_ns) {
  // Copy outside the lock: the expensive part (strings) does not need it.
  std::vector<StoredSpan> stored;
  stored.reserve(spans.size());
  for (const event::Span& s : spans) stored.push_back(StoreSpan(s, keys));
  strobe::MutexLock lock(mu_);
  for (StoredSpan& s : stored) {
    ++stats_.spans_received;
    if (completed_index_.count(s.trace_id) != 0) ++stats_.late_spans;
    auto [it, inserted] = pending_.try_emplace(s.trace_id);
    Pending& p = it->second;
    if (inserted) {
      p.first_ns = now_ns;
      arrival_.emplace_back(s.trace_id, now_ns);
    }
    p.last_ns = now_ns;
    p.has_root = p.has_root || !s.HasParent();
    size_t b = s.Bytes();
    p.bytes += b;
    stats_.pending_bytes += b;
    p.spans.push_back(std::move(s));
  }
  const size_t evicted = EvictLocked();
  stats_.pending_traces = pending_.size();
  return evicted;
}

size_t TraceStore::EvictLocked() {
  size_t spans = 0;
  while (!pending_.empty() && (pending_.size() > options_.max_pending_traces ||
                               stats_.pending_bytes > options_.max_pending_bytes)) {
    // The front of the arrival order that is still pending (same first_ns: not a newer
    // incarnation of a trace id that completed and came back).
    if (arrival_.empty()) break;  // cannot happen: every pending trace has an entry
    auto [id, first_ns] = arrival_.front();
    arrival_.pop_front();
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.first_ns != first_ns) continue;
    stats_.pending_bytes -= it->second.bytes;
    ++stats_.traces_evicted;
    spans += it->second.spans.size();
    pending_.erase(it);
  }
  if (arrival_.size() > 2 * pending_.size() + 1024) {
    // Drop ids of traces that completed, keeping the order.
    std::erase_if(arrival_, [this](const auto& e) STROBE_REQUIRES(mu_) {
      auto it = pending_.find(e.first);
      return it == pending_.end() || it->second.first_ns != e.second;
    });
  }
  stats_.spans_evicted += spans;
  return spans;
}

void TraceStore::Tick(uint64_t now_ns) {
  strobe::MutexLock lock(mu_);
  auto quiet = static_cast<uint64_t>(options_.quiet_period.count());
  auto max_age = static_cast<uint64_t>(options_.max_trace_age.count());
  for (auto it = pending_.begin(); it != pending_.end();) {
    const Pending& p = it->second;
    bool due = (p.has_root && now_ns >= p.last_ns + quiet) || now_ns >= p.first_ns + max_age;
    if (!due) {
      ++it;
      continue;
    }
    event::TraceId id = it->first;
    Pending done = std::move(it->second);
    it = pending_.erase(it);
    CompleteLocked(id, std::move(done), now_ns);
  }
  stats_.pending_traces = pending_.size();
}

void TraceStore::FlushAll(uint64_t now_ns) {
  strobe::MutexLock lock(mu_);
  for (auto& [id, p] : pending_) CompleteLocked(id, std::move(p), now_ns);
  pending_.clear();
  arrival_.clear();
  stats_.pending_traces = 0;
}

void TraceStore::CompleteLocked(const event::TraceId& id, Pending&& p, uint64_t now_ns) {
  stats_.pending_bytes -= p.bytes;
  auto t = std::make_shared<AnalyzedTrace>(Analyze(std::move(p.spans)));
  ++stats_.traces_completed;
  if (!t->complete) ++stats_.traces_incomplete;

  uint64_t bucket_ns = static_cast<uint64_t>(options_.bucket.count());
  uint64_t index = bucket_ns > 0 ? now_ns / bucket_ns : 0;
  size_t nb = std::max<size_t>(1, options_.window_buckets);
  for (const ServiceCall& c : t->calls) {
    Edge& e = edges_[{c.caller, c.callee}];
    if (e.buckets.empty()) e.buckets.resize(nb);
    EdgeBucket& b = e.buckets[index % nb];
    if (b.index != index) {
      b = EdgeBucket();
      b.index = index;
    }
    ++b.calls;
    if (c.error) ++b.errors;
    b.latency_ns.RecordUnsigned(c.latency_ns);
  }
  for (const Breakdown& op : t->breakdown) {
    Breakdown& tot = totals_[{op.service, op.operation}];
    tot.service = op.service;
    tot.operation = op.operation;
    tot.spans += op.spans;
    tot.errors += op.errors;
    tot.self_ns += op.self_ns;
    tot.critical_ns += op.critical_ns;
  }

  auto old = completed_index_.find(id);
  if (old != completed_index_.end()) {
    // A late part of a trace completed again: keep the newer analysis only.
    std::erase(completed_, old->second);
  }
  completed_index_[id] = t;
  completed_.push_back(std::move(t));
  while (completed_.size() > options_.max_completed_traces) {
    auto it = completed_index_.find(completed_.front()->trace_id);
    if (it != completed_index_.end() && it->second == completed_.front()) {
      completed_index_.erase(it);
    }
    completed_.pop_front();
  }
}

std::optional<AnalyzedTrace> TraceStore::Find(const event::TraceId& id) const {
  std::vector<StoredSpan> pending_copy;
  {
    strobe::MutexLock lock(mu_);
    auto it = completed_index_.find(id);
    if (it != completed_index_.end()) return *it->second;
    auto p = pending_.find(id);
    if (p == pending_.end()) return std::nullopt;
    pending_copy = p->second.spans;
  }
  AnalyzedTrace t = Analyze(std::move(pending_copy));
  t.complete = false;  // still assembling
  return t;
}

std::vector<event::TraceId> TraceStore::Recent(size_t limit) const {
  strobe::MutexLock lock(mu_);
  std::vector<event::TraceId> ids;
  for (auto it = completed_.rbegin(); it != completed_.rend() && ids.size() < limit; ++it) {
    ids.push_back((*it)->trace_id);
  }
  return ids;
}

std::vector<ServiceEdge> TraceStore::ServiceGraph(uint64_t now_ns) const {
  strobe::MutexLock lock(mu_);
  uint64_t bucket_ns = static_cast<uint64_t>(options_.bucket.count());
  uint64_t index = bucket_ns > 0 ? now_ns / bucket_ns : 0;
  size_t nb = std::max<size_t>(1, options_.window_buckets);
  std::vector<ServiceEdge> out;
  for (const auto& [key, e] : edges_) {
    strobe::metrics::HistogramData merged;
    ServiceEdge se;
    se.caller = key.first;
    se.callee = key.second;
    for (const EdgeBucket& b : e.buckets) {
      if (b.index == UINT64_MAX || b.index + nb <= index || b.index > index) continue;
      se.calls += b.calls;
      se.errors += b.errors;
      merged.Merge(b.latency_ns);
    }
    if (se.calls == 0) continue;
    // Quantiles are within [min, max] of the recorded integers, so the casts cannot overflow.
    se.p50_ns = static_cast<uint64_t>(std::llround(merged.Quantile(0.5)));
    se.p90_ns = static_cast<uint64_t>(std::llround(merged.Quantile(0.9)));
    se.p99_ns = static_cast<uint64_t>(std::llround(merged.Quantile(0.99)));
    se.sum_ns = static_cast<uint64_t>(merged.sum());
    out.push_back(std::move(se));
  }
  return out;
}

std::vector<Breakdown> TraceStore::OperationTotals() const {
  strobe::MutexLock lock(mu_);
  std::vector<Breakdown> out;
  for (const auto& [k, b] : totals_) out.push_back(b);
  return out;
}

TraceStoreStats TraceStore::Stats() const {
  strobe::MutexLock lock(mu_);
  return stats_;
}

}  // namespace strobed::trace
