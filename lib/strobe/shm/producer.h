#pragma once

// strobe::shm::Producer — the writer side of a per-process shared-memory ring (ring_abi.h).
//
//   auto p = strobe::shm::Producer::Connect({.ring = "strobe"});   // Result<unique_ptr<Producer>>
//   uint64_t id = (*p)->DefineSeries(STROBE_KIND_COUNTER, "requests_total", {{"path", "/"}});
//   (*p)->CounterAdd(id, 1);
//   (*p)->Span(trace_id, span_id, parent, start_ns, end_ns, "db.query", {{"db", "pg"}});
//   (*p)->Event(ts_ns, "deploy", {{"version", "1.2"}});
//   strobe::Status s = (*p)->Flush(std::chrono::seconds(1));          // the daemon has it
//   (*p)->Ping(seq); while ((*p)->AckSeq() < seq) {}                 // the same, by hand
//
// Connect() creates `<dir>/strobe-<ring>-<pid>` (mode 0600 by default; a stale file left by an
// earlier process with the same pid is replaced), maps it and publishes the header. The
// destructor unmaps it; the daemon drains what is left and then removes the file. A producer
// killed at any point never makes the ring unreadable: nothing becomes visible before the
// release store of write_pos, and the daemon reclaims the segment of a dead pid.
//
// Hot path (Write and the typed helpers): no lock, allocation, syscall or exception. When the
// ring is full the record is dropped and counted in the header (dropped_records), or, with
// FullPolicy::kSpin, the producer spins up to spin_limit iterations for the consumer first.
// The daemon is never blocked by a producer.
//
// Thread class: owner-thread only (one writer per ring; a process with several writer threads
// uses one Producer per thread — each gets its own segment file — or serialises calls itself,
// as the Python module does with the GIL).

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strobe/base/status.h"
#include "strobe/shm/ring_abi.h"
#include "strobe/shm/segment.h"

namespace strobe::shm {

enum class FullPolicy : uint8_t { kDrop, kSpin };

struct ProducerOptions {
  std::string ring = "strobe";
  std::string dir = "/dev/shm";
  uint64_t capacity_bytes = uint64_t{1} << 22;  // power of two, [4 KiB, 1 GiB]
  FullPolicy policy = FullPolicy::kDrop;
  uint64_t spin_limit = 1 << 16;  // kSpin: polls of read_pos before dropping
  uint32_t mode = 0600;
  // Fail with Unavailable unless a live daemon marker exists for `ring`.
  bool require_daemon = false;
  // Segment id in the file name. 0: getpid(), or getpid() + k * 2^22 (k >= 1) when that file
  // exists (another Producer of this process on the ring, or an undrained leftover), so every
  // Producer gets its own file. Liveness is judged by the pid in the header, never by the id.
  uint32_t instance = 0;
  // Size of the definitions log after the data area (ring_abi.h): a copy of every series
  // definition, so that a restarted daemon knows them. A multiple of 8 up to 64 MiB; 0 = none.
  // tmpfs allocates only the pages written (~100 bytes per definition).
  uint64_t definitions_bytes = uint64_t{1} << 20;
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// What a series definition may carry besides name and labels (the SERIES_DEFINE metadata block,
// ring_abi.h). Empty (the default) writes the original record, which every daemon reads.
struct SeriesMeta {
  std::string_view description;
  std::string_view unit;           // UCUM, as in OTLP ("s", "By", "1")
  std::span<const double> bounds;  // HISTOGRAM only: explicit bucket bounds, strictly increasing
  bool empty() const { return description.empty() && unit.empty() && bounds.empty(); }
};

class Producer {
 public:
  static Result<std::unique_ptr<Producer>> Connect(const ProducerOptions& options);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Appends one record of `type` with `length` payload bytes. Returns false (and counts the
  // drop) if the ring is full after the policy's wait, or if length > STROBE_RECORD_MAX_PAYLOAD.
  bool Write(uint16_t type, const void* payload, uint32_t length) noexcept {
    uint8_t* dst = Reserve(type, length);
    if (dst == nullptr) return false;
    std::memcpy(dst, payload, length);
    Commit();
    return true;
  }

  // Two-step form for callers that build the payload in place: Reserve returns where to write
  // `length` bytes (nullptr = dropped and counted); Commit publishes them. Nothing may be
  // reserved again before Commit.
  uint8_t* Reserve(uint16_t type, uint32_t length) noexcept {
    const uint64_t total = (uint64_t{STROBE_FRAME_BYTES} + length + 7) & ~uint64_t{7};
    const uint64_t off = write_pos_ & mask_;
    if (length > STROBE_RECORD_MAX_PAYLOAD || off + total > capacity_ ||
        write_pos_ + total - cached_read_pos_ > capacity_) {
      return ReserveSlow(type, length);
    }
    return Emplace(off, total, type, length);
  }
  void Commit() noexcept {
    write_pos_ = pending_pos_;
    // Pairs with the consumer's acquire load of write_pos: the record bytes written above are
    // visible to the consumer before it sees the new position.
    Word(header_, &strobe_ring_header::write_pos).store(write_pos_, std::memory_order_release);
  }

  bool CounterAdd(uint64_t series_id, uint64_t delta, uint64_t timestamp_ns = 0) noexcept {
    return Point(STROBE_REC_COUNTER_ADD, series_id, timestamp_ns, delta);
  }
  bool GaugeSet(uint64_t series_id, double value, uint64_t timestamp_ns = 0) noexcept {
    return Point(STROBE_REC_GAUGE_SET, series_id, timestamp_ns, std::bit_cast<uint64_t>(value));
  }
  bool HistogramRecord(uint64_t series_id, double value, uint64_t timestamp_ns = 0) noexcept {
    return Point(STROBE_REC_HISTOGRAM_RECORD, series_id, timestamp_ns,
                 std::bit_cast<uint64_t>(value));
  }
  // Writes a PING with `seq` (a round trip: the daemon stores ack_seq = seq once everything
  // before it was accepted). Seqs should increase; Flush() continues after the largest.
  bool Ping(uint64_t seq) noexcept {
    if (!Write(STROBE_REC_PING, &seq, sizeof seq)) return false;
    last_ping_seq_ = std::max(last_ping_seq_, seq);
    return true;
  }
  // A histogram delta (HISTOGRAM_MERGE, ring_abi.h): `n` bucket counts starting at bucket
  // `offset` of `scale`. False (dropped and counted) when the ring is full or n is too large
  // for one record (8,182 buckets).
  bool HistogramMerge(uint64_t series_id, uint64_t timestamp_ns, uint64_t count,
                      uint64_t zero_count, double sum, double min, double max, int32_t scale,
                      int32_t offset, const uint64_t* counts, uint32_t n) noexcept;

  // Declares a series and returns its id (ids count up from 1 per producer). Cold path: builds
  // the payload in a std::string. `meta` is left out (the original record is written) when the
  // daemon lacks STROBE_FEATURE_DEFINE_META: it would refuse the whole definition, so the series
  // is kept without description, unit and explicit bounds (an exponential histogram).
  // Returns 0 if the definition was dropped (ring full) or too big,
  // or when `meta` breaks the limits of ring_abi.h (sizes, NUL bytes, bounds not finite and
  // strictly increasing, bounds on a series that is not a HISTOGRAM).
  // The definition is also appended to the definitions log (while it has room; see
  // DefinitionsLogFull()), which a restarted daemon replays.
  uint64_t DefineSeries(strobe_series_kind kind, std::string_view name, const Labels& labels,
                        const SeriesMeta& meta = {});
  bool Span(const uint8_t trace_id[16], uint64_t span_id, uint64_t parent_span_id,
            uint64_t start_ns, uint64_t end_ns, std::string_view name, const Labels& attributes);
  bool Event(uint64_t timestamp_ns, std::string_view name, const Labels& attributes);
  // `count` points of one kind: series_ids[i], timestamps_ns[i] (nullptr = all 0), values[i].
  // Splits into as many BATCH records as needed; returns the number of points written.
  size_t Batch(strobe_series_kind kind, const uint64_t* series_ids, const uint64_t* timestamps_ns,
               const double* values, size_t count) noexcept;

  // Flush: writes a PING with the next seq and waits until the daemon acknowledged it, i.e.
  // until every record written before was accepted by the daemon's pipeline (the daemon holds
  // the acknowledgement while its pipeline refuses data). Spins ~50 us, then sleeps 10 us
  // doubling to 1 ms. Control plane: blocks the calling thread up to `timeout`.
  // Errors: ResourceExhausted when the ring stayed full for `timeout` (the PING could not be
  // written); DeadlineExceeded when no acknowledgement came within `timeout` (no daemon drains
  // this ring, or the daemon's pipeline is refusing data); DataLoss when the daemon received
  // but refused records since the previous flush, whatever the cause: definitions refused
  // (series limit, a label key the daemon's key table could not take), points of undefined or
  // refused series, undecodable payloads, invalid values, malformed frames (each counted by
  // reason in the daemon's strobe_shm_invalid_records_total). The refused records are lost;
  // a series whose definition was refused stays refused until it is defined again.
  // Owner-thread only.
  Status Flush(std::chrono::nanoseconds timeout);

  // Last PING seq the daemon acknowledged (acquire; pairs with the consumer's release store).
  uint64_t AckSeq() const noexcept {
    return Word(header_, &strobe_ring_header::ack_seq).load(std::memory_order_acquire);
  }
  uint64_t DroppedRecords() const noexcept {
    return Word(header_, &strobe_ring_header::dropped_records).load(std::memory_order_relaxed);
  }
  // Records the daemon read and refused so far (ring_abi.h rejected_records). Acquire on
  // ack_seq first (AckSeq()) to see at least the refusals before that acknowledgement.
  uint64_t RejectedRecords() const noexcept {
    return Word(header_, &strobe_ring_header::rejected_records).load(std::memory_order_relaxed);
  }
  // What the daemon reads (ring_abi.h STROBE_FEATURE_*): from its marker at Connect, or
  // STROBE_FEATURES_ALL when there was no live daemon's marker. DefineSeries leaves out
  // metadata the daemon would refuse.
  uint32_t daemon_features() const { return daemon_features_; }
  // Definitions that did not fit in the definitions log (they went through the ring only, and
  // a daemon restarted after them will not know them).
  uint64_t DefinitionsLogFull() const { return defs_overflow_; }
  const std::string& path() const { return path_; }
  uint64_t capacity_bytes() const { return capacity_; }

 private:
  Producer(Mapping mapping, std::string path, const ProducerOptions& options);

  bool Point(uint16_t type, uint64_t series_id, uint64_t ts, uint64_t bits) noexcept {
    uint8_t* dst = Reserve(type, 24);
    if (dst == nullptr) return false;
    std::memcpy(dst, &series_id, 8);
    std::memcpy(dst + 8, &ts, 8);
    std::memcpy(dst + 16, &bits, 8);
    Commit();
    return true;
  }
  uint8_t* Emplace(uint64_t off, uint64_t total, uint16_t type, uint32_t length) noexcept {
    pending_pos_ = write_pos_ + total;
    // Relaxed: read by the consumer only after this process died (torn-record accounting).
    Word(header_, &strobe_ring_header::reserve_pos).store(pending_pos_, std::memory_order_relaxed);
    strobe_frame f{length, type, 0};
    std::memcpy(data_ + off, &f, sizeof f);
    return data_ + off + STROBE_FRAME_BYTES;
  }
  uint8_t* ReserveSlow(uint16_t type, uint32_t length) noexcept;
  bool HasRoom(uint64_t need) noexcept;
  void CountDrop(uint64_t bytes) noexcept;
  bool WriteText(uint16_t type, const std::string& payload);
  void LogDefinition(const std::string& payload);

  Mapping mapping_;
  std::string path_;
  strobe_ring_header* header_;
  uint8_t* data_;
  uint64_t capacity_;
  uint64_t mask_;
  FullPolicy policy_;
  uint64_t spin_limit_;
  uint64_t write_pos_ = 0;        // mirror of header write_pos (we are its only writer)
  uint64_t pending_pos_ = 0;      // end of the reserved, uncommitted record
  uint64_t cached_read_pos_ = 0;  // last read_pos seen; refreshed only when the ring looks full
  uint64_t next_series_id_ = 1;
  uint64_t last_ping_seq_ = 0;  // largest seq written by Ping()
  uint8_t* defs_;               // definitions log (after the data area)
  uint64_t defs_bytes_;
  uint64_t defs_end_ = 0;       // mirror of header defs_end (we are its only writer)
  uint64_t defs_overflow_ = 0;  // definitions the log had no room for
  uint64_t rejected_seen_ = 0;  // RejectedRecords() at the last Flush
  uint32_t daemon_features_ = STROBE_FEATURES_ALL;
};

}  // namespace strobe::shm
