#include "strobed/event/batch.h"

#include <algorithm>

namespace strobed::event {

void BatchDeleter::operator()(Batch* batch) const noexcept {
  if (batch == nullptr) return;
  BatchPool* pool = batch->pool();
  if (pool != nullptr) {
    pool->Release(batch);
  } else {
    delete batch;
  }
}

Batch::Batch(BatchPool* pool, std::size_t first_chunk_bytes, std::size_t max_retained_bytes,
             KeyTable* keys)
    : pool_(pool),
      keys_(keys != nullptr ? keys : &KeyTable::Global()),
      arena_(first_chunk_bytes, max_retained_bytes) {
  if (pool == nullptr) {
    key_epoch_ = keys_->EnterEpoch();
    registered_ = true;
  }
}

Batch::~Batch() {
  ClearEvents();
  if (registered_) keys_->LeaveEpoch(key_epoch_);
}

void Batch::HoldIdsOf(const Batch& other) noexcept {
  if (&other == this || other.keys_ != keys_ || !registered_ || !other.registered_) return;
  key_epoch_ = keys_->LowerEpoch(key_epoch_, other.key_epoch_);
}

uint8_t Batch::signals() const noexcept {
  uint8_t s = kSignalNone;
  if (!spans_.empty()) s |= kSignalTraces;
  if (!metrics_.empty()) s |= kSignalMetrics;
  if (!logs_.empty()) s |= kSignalLogs;
  return s;
}

void Batch::Append(BatchPtr&& other) {
  if (!other) return;
  spans_.insert(spans_.end(), other->spans_.begin(), other->spans_.end());
  metrics_.insert(metrics_.end(), other->metrics_.begin(), other->metrics_.end());
  logs_.insert(logs_.end(), other->logs_.begin(), other->logs_.end());
  other->spans_.clear();
  other->metrics_.clear();
  other->logs_.clear();
  if (ingest_ns_ == 0 || (other->ingest_ns_ != 0 && other->ingest_ns_ < ingest_ns_)) {
    ingest_ns_ = other->ingest_ns_;
  }
  // The other batch's own adoptions move up so that the chain stays one level deep.
  for (BatchPtr& b : other->adopted_) adopted_.push_back(std::move(b));
  other->adopted_.clear();
  adopted_.push_back(std::move(other));
}

std::size_t Batch::bytes() const noexcept {
  std::size_t total = sizeof(Batch) + arena_.reserved_bytes() + spans_.capacity() * sizeof(Span) +
                      metrics_.capacity() * sizeof(MetricPoint) +
                      logs_.capacity() * sizeof(LogRecord) + adopted_.capacity() * sizeof(BatchPtr);
  for (const BatchPtr& b : adopted_) total += b->bytes();
  return total;
}

void Batch::SetCharge(MemoryAccount* account, std::size_t bytes) noexcept {
  if (charge_account_ != nullptr) charge_account_->Release(charge_bytes_);
  charge_account_ = account;
  charge_bytes_ = bytes;
}

void Batch::Clear() noexcept {
  ClearEvents();
  if (registered_) {
    // Enter before leaving: the batch is never unregistered while its owner holds it.
    const uint32_t e = keys_->EnterEpoch();
    keys_->LeaveEpoch(key_epoch_);
    key_epoch_ = e;
  }
}

void Batch::ClearEvents() noexcept {
  spans_.clear();
  metrics_.clear();
  logs_.clear();
  adopted_.clear();  // returns adopted batches to their pools (and their charges)
  arena_.Reset();
  if (charge_account_ != nullptr) {
    charge_account_->Release(charge_bytes_);
    charge_account_ = nullptr;
  }
  charge_bytes_ = 0;
  ingest_ns_ = 0;
}

BatchPool::BatchPool(BatchPoolOptions options)
    : options_(options), free_(std::max<std::size_t>(options.max_pooled, 2)) {
  if (options_.keys == nullptr) options_.keys = &KeyTable::Global();
}

BatchPool::~BatchPool() {
  Batch* b = nullptr;
  while (free_.TryPop(b)) {
    b->pool_ = nullptr;
    delete b;
  }
}

BatchPool& BatchPool::Default() {
  static BatchPool* pool = new BatchPool();
  return *pool;
}

BatchPtr BatchPool::Acquire() {
  Batch* b = nullptr;
  if (free_.TryPop(b)) {
    reused_.fetch_add(1, std::memory_order_relaxed);
  } else {
    allocated_.fetch_add(1, std::memory_order_relaxed);
    b = new Batch(this, options_.first_chunk_bytes, options_.max_retained_bytes, options_.keys);
  }
  b->key_epoch_ = b->keys_->EnterEpoch();
  b->registered_ = true;
  return BatchPtr(b);
}

void BatchPool::Release(Batch* batch) noexcept {
  batch->ClearEvents();
  if (batch->registered_) {
    batch->keys_->LeaveEpoch(batch->key_epoch_);
    batch->registered_ = false;
  }
  if (!free_.TryPush(batch)) {
    batch->pool_ = nullptr;
    delete batch;  // unregistered above: the destructor leaves nothing
  }
}

Value EventCopier::CopyValue(const Value& v) {
  Arena& arena = dst_.arena();
  switch (v.type()) {
    case ValueType::kString:
      return Value::String(arena.CopyString(v.AsString()));
    case ValueType::kBytes:
      return Value::Bytes(arena.CopyArray<uint8_t>(v.AsBytes()));
    case ValueType::kArray: {
      auto src = v.AsArray();
      Value* out = arena.AllocateArray<Value>(src.size());
      for (std::size_t i = 0; i < src.size(); ++i) out[i] = CopyValue(src[i]);
      return Value::Array({out, src.size()});
    }
    case ValueType::kKvList:
      return Value::KvList(CopyAttributes(v.AsKvList()));
    default:
      return v;
  }
}

std::span<const Attribute> EventCopier::CopyAttributes(std::span<const Attribute> src) {
  if (src.empty()) return {};
  Attribute* out = dst_.arena().AllocateArray<Attribute>(src.size());
  for (std::size_t i = 0; i < src.size(); ++i) {
    out[i].key = src[i].key;
    out[i].value = CopyValue(src[i].value);
  }
  return {out, src.size()};
}

const Resource* EventCopier::CopyResource(const Resource* src) {
  if (src == nullptr) return nullptr;
  for (int i = 0; i < kCacheSize; ++i) {
    if (cache_src_[i] == src) return static_cast<const Resource*>(cache_dst_[i]);
  }
  Arena& arena = dst_.arena();
  auto* r = arena.AllocateArray<Resource>(1);
  r->attributes = CopyAttributes(src->attributes);
  r->schema_url = arena.CopyString(src->schema_url);
  r->dropped_attributes_count = src->dropped_attributes_count;
  cache_src_[cache_next_] = src;
  cache_dst_[cache_next_] = r;
  cache_next_ = (cache_next_ + 1) % kCacheSize;
  return r;
}

const InstrumentationScope* EventCopier::CopyScope(const InstrumentationScope* src) {
  if (src == nullptr) return nullptr;
  for (int i = 0; i < kCacheSize; ++i) {
    if (cache_src_[i] == src) return static_cast<const InstrumentationScope*>(cache_dst_[i]);
  }
  Arena& arena = dst_.arena();
  auto* s = arena.AllocateArray<InstrumentationScope>(1);
  s->name = arena.CopyString(src->name);
  s->version = arena.CopyString(src->version);
  s->attributes = CopyAttributes(src->attributes);
  s->schema_url = arena.CopyString(src->schema_url);
  cache_src_[cache_next_] = src;
  cache_dst_[cache_next_] = s;
  cache_next_ = (cache_next_ + 1) % kCacheSize;
  return s;
}

Span& EventCopier::CopySpan(const Span& src) {
  Arena& arena = dst_.arena();
  Span& s = dst_.AddSpan();
  s = src;
  s.trace_state = arena.CopyString(src.trace_state);
  s.name = arena.CopyString(src.name);
  s.status.message = arena.CopyString(src.status.message);
  s.attributes = CopyAttributes(src.attributes);
  if (!src.events.empty()) {
    auto* ev = arena.AllocateArray<SpanEvent>(src.events.size());
    for (std::size_t i = 0; i < src.events.size(); ++i) {
      ev[i] = src.events[i];
      ev[i].name = arena.CopyString(src.events[i].name);
      ev[i].attributes = CopyAttributes(src.events[i].attributes);
    }
    s.events = {ev, src.events.size()};
  }
  if (!src.links.empty()) {
    auto* ln = arena.AllocateArray<SpanLink>(src.links.size());
    for (std::size_t i = 0; i < src.links.size(); ++i) {
      ln[i] = src.links[i];
      ln[i].trace_state = arena.CopyString(src.links[i].trace_state);
      ln[i].attributes = CopyAttributes(src.links[i].attributes);
    }
    s.links = {ln, src.links.size()};
  }
  s.resource = CopyResource(src.resource);
  s.scope = CopyScope(src.scope);
  return s;
}

MetricPoint& EventCopier::CopyMetric(const MetricPoint& src) {
  Arena& arena = dst_.arena();
  MetricPoint& m = dst_.AddMetric();
  m = src;
  m.name = arena.CopyString(src.name);
  m.unit = arena.CopyString(src.unit);
  m.description = arena.CopyString(src.description);
  m.labels = CopyAttributes(src.labels);
  if (src.histogram != nullptr) {
    auto* h = arena.AllocateArray<HistogramData>(1);
    *h = *src.histogram;
    h->explicit_bounds = arena.CopyArray<double>(src.histogram->explicit_bounds);
    h->bucket_counts = arena.CopyArray<uint64_t>(src.histogram->bucket_counts);
    m.histogram = h;
  }
  if (src.exp_histogram != nullptr) {
    auto* h = arena.AllocateArray<ExponentialHistogramData>(1);
    *h = *src.exp_histogram;
    h->positive.counts = arena.CopyArray<uint64_t>(src.exp_histogram->positive.counts);
    h->negative.counts = arena.CopyArray<uint64_t>(src.exp_histogram->negative.counts);
    m.exp_histogram = h;
  }
  if (src.summary != nullptr) {
    auto* q = arena.AllocateArray<SummaryData>(1);
    *q = *src.summary;
    q->quantiles = arena.CopyArray<QuantileValue>(src.summary->quantiles);
    m.summary = q;
  }
  m.resource = CopyResource(src.resource);
  m.scope = CopyScope(src.scope);
  return m;
}

LogRecord& EventCopier::CopyLog(const LogRecord& src) {
  Arena& arena = dst_.arena();
  LogRecord& l = dst_.AddLog();
  l = src;
  l.severity_text = arena.CopyString(src.severity_text);
  l.body = CopyValue(src.body);
  l.attributes = CopyAttributes(src.attributes);
  l.event_name = arena.CopyString(src.event_name);
  l.resource = CopyResource(src.resource);
  l.scope = CopyScope(src.scope);
  return l;
}

void EventCopier::CopyAll(const Batch& src) {
  dst_.HoldIdsOf(src);
  for (const Span& s : src.spans()) CopySpan(s);
  for (const MetricPoint& m : src.metrics()) CopyMetric(m);
  for (const LogRecord& l : src.logs()) CopyLog(l);
}

}  // namespace strobed::event
