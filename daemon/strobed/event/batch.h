#pragma once

// strobed::event::Batch: the unit that moves through the pipeline. A batch holds any mix of
// spans, metric points and log records, plus the Arena their strings and arrays live in.
// Receivers fill a batch and push it; processors edit it in place (samplers remove events);
// exporters read it as an immutable snapshot (`const Batch&`).
//
// Ownership: a batch is owned by exactly one BatchPtr at a time (a unique_ptr whose deleter
// clears the batch and returns it to its BatchPool). Nothing is reference counted; fan-out
// to several exporters happens on one thread while the owner keeps the batch alive.
//
// Steady state allocates nothing per event: a pooled batch keeps its arena chunks and vector
// capacity across uses, and Append() merges batches by moving the small event structs and
// adopting the other batch's storage (no string or attribute is copied).
//
// Key ids: a batch is registered with its KeyTable's epoch while it is out of its pool
// (KeyTable::EnterEpoch on Acquire, re-registered at the current epoch by Clear, left when it
// goes back), so a key table sweep never recycles an id a live batch may carry. Copies take
// the older epoch of the two batches (EventCopier), adopted batches stay registered until
// their adopter is cleared (attribute.h, "Who holds a KeyId").
//
// Memory accounting: the pipeline's memory limiter charges a batch on admission
// (SetCharge); the charge is returned when the batch is cleared or freed, including batches
// adopted by Append().
//
// Thread class: Batch is thread-compatible (one owner). BatchPool is thread-safe and
// lock-free; a pool must outlive every batch it handed out.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "strobe/base/mpmc_queue.h"
#include "strobed/event/arena.h"
#include "strobed/event/attribute.h"
#include "strobed/event/log.h"
#include "strobed/event/metric.h"
#include "strobed/event/resource.h"
#include "strobed/event/span.h"

namespace strobed::event {

class Batch;
class BatchPool;

struct BatchDeleter {
  void operator()(Batch* batch) const noexcept;
};
using BatchPtr = std::unique_ptr<Batch, BatchDeleter>;

// Where a batch's memory charge goes back to. Implemented by pipeline::MemoryLimiter.
class MemoryAccount {
 public:
  virtual void Release(std::size_t bytes) noexcept = 0;

 protected:
  ~MemoryAccount() = default;
};

// Which event kinds a batch or a component deals with (bit set).
enum Signal : uint8_t {
  kSignalNone = 0,
  kSignalTraces = 1,
  kSignalMetrics = 2,
  kSignalLogs = 4,
  kSignalAll = 7,
};

class Batch {
 public:
  // Batches come from BatchPool::Acquire(); `pool` may be nullptr for a free-standing batch
  // (then the deleter simply deletes it). `keys` (nullptr: KeyTable::Global()) is the table
  // whose ids the batch carries; a free-standing batch registers with it at once.
  Batch(BatchPool* pool, std::size_t first_chunk_bytes, std::size_t max_retained_bytes,
        KeyTable* keys = nullptr);
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  Arena& arena() noexcept { return arena_; }

  // Appends a default-initialised event and returns it for filling. The reference is valid
  // until the next Add* of the same kind.
  Span& AddSpan() { return spans_.emplace_back(); }
  MetricPoint& AddMetric() { return metrics_.emplace_back(); }
  LogRecord& AddLog() { return logs_.emplace_back(); }

  std::span<const Span> spans() const noexcept { return spans_; }
  std::span<const MetricPoint> metrics() const noexcept { return metrics_; }
  std::span<const LogRecord> logs() const noexcept { return logs_; }
  std::span<Span> mutable_spans() noexcept { return spans_; }
  std::span<MetricPoint> mutable_metrics() noexcept { return metrics_; }
  std::span<LogRecord> mutable_logs() noexcept { return logs_; }

  // Number of events of all kinds.
  std::size_t size() const noexcept { return spans_.size() + metrics_.size() + logs_.size(); }
  bool empty() const noexcept { return size() == 0; }
  // Which kinds are present.
  uint8_t signals() const noexcept;

  // Removes the events for which `pred(event)` is true, keeping order. Returns the number
  // removed. Hot path: no allocation.
  template <typename Pred>
  std::size_t RemoveSpansIf(Pred pred) {
    return RemoveIf(spans_, pred);
  }
  template <typename Pred>
  std::size_t RemoveMetricsIf(Pred pred) {
    return RemoveIf(metrics_, pred);
  }
  template <typename Pred>
  std::size_t RemoveLogsIf(Pred pred) {
    return RemoveIf(logs_, pred);
  }

  // Moves every event of `other` to the end of this batch and takes ownership of `other`'s
  // storage (its arena stays alive until this batch is cleared). Allocation-free once the
  // vectors have grown to their working size. `other`'s memory charge travels with it.
  void Append(BatchPtr&& other);

  // Memory estimate of everything this batch keeps alive: arena chunks, event vectors and
  // adopted batches.
  std::size_t bytes() const noexcept;

  // Records that `bytes` were charged to `account` when this batch was admitted; Clear()
  // and destruction give them back. A batch carries at most one charge.
  void SetCharge(MemoryAccount* account, std::size_t bytes) noexcept;
  std::size_t charged_bytes() const noexcept { return charge_bytes_; }

  // Steady-clock nanoseconds when the batch entered the pipeline (set by the pipeline; used
  // for latency statistics). Append keeps the earliest.
  uint64_t ingest_ns() const noexcept { return ingest_ns_; }
  void set_ingest_ns(uint64_t ns) noexcept { ingest_ns_ = ns; }

  // Drops all events, releases adopted batches and the memory charge, resets the arena.
  // Keeps vector capacity and retained arena chunks. The batch is re-registered at the key
  // table's current epoch (it holds no id any more).
  void Clear() noexcept;

  // The key table epoch this batch is registered at (see the header comment).
  uint32_t key_epoch() const noexcept { return key_epoch_; }
  KeyTable& keys() const noexcept { return *keys_; }
  // Lowers this batch's registration to `other`'s epoch when that is older: called before ids
  // of `other` (a live batch of the same table) are copied into this one.
  void HoldIdsOf(const Batch& other) noexcept;

  BatchPool* pool() const noexcept { return pool_; }

 private:
  friend class BatchPool;

  template <typename T, typename Pred>
  static std::size_t RemoveIf(std::vector<T>& v, Pred& pred) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!pred(v[i])) {
        if (out != i) v[out] = v[i];
        ++out;
      }
    }
    std::size_t removed = v.size() - out;
    v.resize(out);
    return removed;
  }

  // Clear() without the re-registration.
  void ClearEvents() noexcept;

  BatchPool* pool_;
  KeyTable* keys_;
  uint32_t key_epoch_ = 0;
  bool registered_ = false;  // false only while pooled
  Arena arena_;
  std::vector<Span> spans_;
  std::vector<MetricPoint> metrics_;
  std::vector<LogRecord> logs_;
  std::vector<BatchPtr> adopted_;
  MemoryAccount* charge_account_ = nullptr;
  std::size_t charge_bytes_ = 0;
  uint64_t ingest_ns_ = 0;
};

struct BatchPoolOptions {
  std::size_t max_pooled = 4096;             // batches kept for reuse; extra ones are freed
  std::size_t first_chunk_bytes = 4096;      // arena first chunk of each batch
  std::size_t max_retained_bytes = 1 << 20;  // arena bytes a pooled batch keeps on reset
  KeyTable* keys = nullptr;                  // the batches' key table; nullptr: Global()
};

class BatchPool {
 public:
  explicit BatchPool(BatchPoolOptions options = {});
  ~BatchPool();
  BatchPool(const BatchPool&) = delete;
  BatchPool& operator=(const BatchPool&) = delete;

  // The daemon-wide pool (never destroyed).
  static BatchPool& Default();

  // Returns an empty batch: a pooled one when available, else a new one. Thread-safe,
  // lock-free (allocates only while the pool warms up).
  BatchPtr Acquire();

  // The key table the pool's batches register with.
  KeyTable& keys() const noexcept { return *options_.keys; }

  uint64_t allocated() const noexcept { return allocated_.load(std::memory_order_relaxed); }
  uint64_t reused() const noexcept { return reused_.load(std::memory_order_relaxed); }
  std::size_t pooled() const noexcept { return free_.SizeApprox(); }

 private:
  friend struct BatchDeleter;
  void Release(Batch* batch) noexcept;

  BatchPoolOptions options_;
  strobe::MpmcQueue<Batch*> free_;
  std::atomic<uint64_t> allocated_{0};  // statistics only; relaxed
  std::atomic<uint64_t> reused_{0};
};

// Deep-copies events into `dst` (strings, attributes, nested values, resource and scope).
// Used when an event must outlive its source batch independently (tail sampling, fan-out to
// a second pipeline). Resources and scopes are de-duplicated within one copier's lifetime.
// Key ids are copied as they are, so a copier is made for one source batch: `dst` takes its
// key epoch when older (Batch::HoldIdsOf) and every event copied must come from `src`.
class EventCopier {
 public:
  EventCopier(Batch& dst, const Batch& src) : dst_(dst) { dst.HoldIdsOf(src); }

  Span& CopySpan(const Span& src);
  MetricPoint& CopyMetric(const MetricPoint& src);
  LogRecord& CopyLog(const LogRecord& src);
  // Copies every event of `src` (the copier's source batch).
  void CopyAll(const Batch& src);

  std::span<const Attribute> CopyAttributes(std::span<const Attribute> src);
  Value CopyValue(const Value& v);

 private:
  const Resource* CopyResource(const Resource* src);
  const InstrumentationScope* CopyScope(const InstrumentationScope* src);

  static constexpr int kCacheSize = 8;
  Batch& dst_;
  const void* cache_src_[kCacheSize] = {};
  const void* cache_dst_[kCacheSize] = {};
  int cache_next_ = 0;
};

}  // namespace strobed::event
