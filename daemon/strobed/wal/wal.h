#pragma once

// strobed::wal::Wal: the write-ahead log. Every batch a receiver accepts is appended here before
// the client is acknowledged; exporters deliver from it at least once (docs/design/wal.md).
//
//   auto wal = Wal::Open({.dir = data_dir + "/wal"});          // scans, truncates a torn tail
//   STROBE_ASSIGN_OR_RETURN(uint64_t seq, (*wal)->Append(kTypeTraces, body));  // durable now
//   WalReader r = (*wal)->NewReader(from_seq);                 // replay
//   (*wal)->TruncateBefore(checkpoint);                        // drop delivered segments
//
// Records get consecutive sequence numbers (the WAL "position"), never reused, across
// restarts. The log is a folder of segments (segment.h has the format), rotated when one
// would grow past `segment_bytes`.
//
// Group commit: Append() queues its record (a 32-byte frame header on the caller's stack and a
// pointer to the caller's payload: no copy) and either becomes the leader — writes every queued
// record with writev() and, under `always`, fdatasync()s — or waits for the leader that is
// already writing. Appenders are blocked until their record is durable per the policy, so
// their payloads stay valid while the leader reads them.
//   interval  Append returns once the record is written to the file (in the page cache): it
//             survives a crash of the process at once. A background thread fdatasync()s every
//             `sync_interval` (and rotation syncs the finished segment), so a power loss or
//             kernel crash loses at most the last interval (plus the sync's own duration).
//   always    Append returns once fdatasync() covering the record returned: it survives a
//             power loss. Concurrent appenders share one fdatasync.
// An I/O error on write or sync puts the log in a failed state: that Append and every later
// one return the error (after a failed fsync the page cache cannot be trusted to hold the data,
// so retrying it would acknowledge data that may be lost).
//
// Open() validates every segment: a record that is incomplete, fails its checksum or breaks
// the sequence ends the segment's valid prefix; the rest is truncated (fdatasync'ed) and
// counted in strobe_wal_torn_tails_total, never returned. A segment with a torn header is
// removed. Only the last segment can be torn by a crash (rotation syncs the one before); a
// corrupt record in an earlier segment (disk damage) truncates that segment likewise, and the
// readers skip the gap up to the next segment.
//
// Self-metrics (in WalOptions::metrics): strobe_wal_bytes, strobe_wal_segments,
// strobe_wal_appended_records_total, strobe_wal_appended_bytes_total,
// strobe_wal_sync_seconds (histogram), strobe_wal_torn_tails_total,
// strobe_wal_truncated_bytes_total, strobe_wal_replayed_records_total.
//
// Thread class: thread-safe; Append from any number of threads, readers concurrently with
// appends (a reader sees what was written when it reaches that point, bounded by NewReader's
// end). Close() must not run concurrently with Append.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/base/clock.h"
#include "strobed/wal/segment.h"

namespace strobe::metrics {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace strobe::metrics

namespace strobed::wal {

enum class SyncPolicy : uint8_t { kInterval, kAlways };
std::string_view SyncPolicyName(SyncPolicy policy);
strobe::Result<SyncPolicy> ParseSyncPolicy(std::string_view name);

struct WalOptions {
  std::string dir;  // the log's folder; created 0700 when missing (PreparePrivateDir)
  SyncPolicy sync = SyncPolicy::kInterval;
  std::chrono::milliseconds sync_interval{100};    // kInterval: background fdatasync period
  uint64_t segment_bytes = uint64_t{64} << 20;     // rotate before a segment grows past this
  uint32_t max_record_bytes = uint32_t{64} << 20;  // larger payloads are refused (and read back
                                                   // as corrupt, so keep it when reopening)
  // The first seq of an empty log (a log whose segments were all deleted still continues after
  // the highest seq a checkpoint names: the owner passes that + 1).
  uint64_t min_next_seq = 1;
  strobe::metrics::Registry* metrics = nullptr;  // self-metrics; nullptr = none
  base::WallClock* wall_clock =
      nullptr;  // stamps records (RecordView::unix_ns); nullptr = System()
};

struct WalStats {
  uint64_t first_seq = 0;    // lowest retained seq (== next_seq when empty)
  uint64_t next_seq = 0;     // seq the next Append gets
  uint64_t written_seq = 0;  // every seq below is written to the OS
  uint64_t synced_seq = 0;   // every seq below is fdatasync'ed
  uint64_t bytes = 0;        // retained bytes, all segments
  uint64_t segments = 0;
  uint64_t appended_records = 0;  // since Open
  uint64_t syncs = 0;             // fdatasync calls since Open
  uint64_t torn_tails = 0;        // found by Open
  uint64_t truncated_bytes = 0;   // removed by Open
  uint64_t replayed_records = 0;  // CountReplayed()
};

class WalReader;

class Wal {
 public:
  // Opens (creating when missing) the log in options.dir and recovers it (see the overview).
  // INVALID_ARGUMENT for bad options, PERMISSION_DENIED for an unsafe folder, INTERNAL for I/O
  // errors. Control thread.
  static strobe::Result<std::unique_ptr<Wal>> Open(WalOptions options);
  ~Wal();  // Close()s
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends one record and returns its seq once it is durable per the policy. `type` is the
  // owner's tag (signal and encoding); `payload` must stay valid until Append returns (it
  // does: Append blocks). INVALID_ARGUMENT above max_record_bytes; FAILED_PRECONDITION after
  // Close(); the I/O error (INTERNAL) once the log has failed. Thread-safe; blocks.
  strobe::Result<uint64_t> Append(uint32_t type, std::string_view payload);

  // fdatasync()s everything written so far (policy-independent). Thread-safe.
  strobe::Status Sync();

  // Deletes the segments whose every record has seq < `seq` (never the segment being
  // written). Returns how many were deleted. Thread-safe.
  strobe::Result<uint64_t> TruncateBefore(uint64_t seq);

  // A reader of the records with seq in [from, the next seq at this call): what is written
  // when the reader reaches it. Records below first_seq() are gone (the reader starts at the
  // first retained one). Thread-safe.
  WalReader NewReader(uint64_t from) const;

  // Syncs and closes the active segment and stops the sync thread; appends are refused after.
  // Idempotent. Not concurrently with Append.
  strobe::Status Close();

  // Append time (RecordView::unix_ns) of record `seq`, or 0 when it is not retained or not
  // written yet: the age of the oldest record behind an exporter's checkpoint. Reads one frame
  // header. Thread-safe.
  uint64_t AppendTimeOf(uint64_t seq) const;

  // Counts records a replayer re-delivered (strobe_wal_replayed_records_total).
  void CountReplayed(uint64_t records) noexcept;

  uint64_t next_seq() const;
  uint64_t first_seq() const;
  uint64_t retained_bytes() const;
  WalStats Stats() const;
  const WalOptions& options() const { return options_; }

 private:
  struct Segment {
    uint64_t first_seq = 0;
    uint64_t bytes = 0;
  };
  class File;
  struct Pending {
    const char* header;  // kFrameHeaderBytes on the appender's stack
    const char* payload;
    uint32_t size;
    bool new_segment;  // rotate before writing this record
  };

  explicit Wal(WalOptions options);
  strobe::Status Recover();
  std::string SegmentPath(uint64_t first_seq) const;
  strobe::Result<std::shared_ptr<File>> CreateSegment(uint64_t first_seq);
  // Leader: writes `batch` (records first_seq...) to the file(s). I/O error → Status.
  strobe::Status WriteBatch(const std::vector<Pending>& batch, uint64_t first_seq);
  strobe::Status SyncFile(File& file);
  void SyncLoop();
  void PublishGauges();

  WalOptions options_;

  mutable std::mutex mu_;
  std::condition_variable done_cv_;  // written_seq_/synced_seq_/failed_ advanced
  std::vector<Pending> pending_;     // queued records, seqs written_seq_ + in-flight...
  uint64_t pending_first_seq_ = 0;   // seq of pending_[0]
  uint64_t next_seq_ = 1;
  uint64_t written_seq_ = 1;
  uint64_t synced_seq_ = 1;
  bool leader_active_ = false;
  uint64_t logical_bytes_ = 0;     // active segment size including queued records
  std::shared_ptr<File> active_;   // the leader writes; the sync thread syncs a copy
  std::vector<Segment> segments_;  // retained, by first_seq; back() is active
  strobe::Status failed_;          // sticky I/O error
  bool closed_ = false;
  bool stop_sync_ = false;
  std::condition_variable sync_cv_;
  std::thread sync_thread_;

  std::atomic<uint64_t> appended_records_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> replayed_records_{0};
  uint64_t torn_tails_ = 0;
  uint64_t truncated_bytes_ = 0;

  strobe::metrics::Gauge* bytes_gauge_ = nullptr;
  strobe::metrics::Gauge* segments_gauge_ = nullptr;
  strobe::metrics::Counter* appended_counter_ = nullptr;
  strobe::metrics::Counter* appended_bytes_counter_ = nullptr;
  strobe::metrics::Histogram* sync_hist_ = nullptr;
  strobe::metrics::Counter* replayed_counter_ = nullptr;
};

// Iterates records across segments from a position. Thread-compatible (one thread per reader).
class WalReader {
 public:
  WalReader() = default;
  WalReader(std::string dir, uint64_t from, uint64_t end, uint32_t max_payload);

  // The next record with seq >= from and < end: true and *out set (valid until the next call),
  // false at the end. Segments that are gone, or torn, end where their valid data ends and
  // reading continues with the next segment (a gap in seqs, counted in skipped()). INTERNAL on
  // a read error.
  strobe::Result<bool> Next(RecordView* out);

  // Records in [from, end) that could not be read (deleted or corrupt segments).
  uint64_t skipped() const { return skipped_; }

 private:
  strobe::Status OpenNextSegment();

  std::string dir_;
  uint64_t next_ = 0;  // seq expected next
  uint64_t end_ = 0;
  uint32_t max_payload_ = 0;
  std::optional<SegmentReader> seg_;
  uint64_t last_first_ = 0;  // first seq of the last segment opened
  bool opened_any_ = false;
  uint64_t skipped_ = 0;
};

// All segment first seqs in `dir`, ascending (files named <20 digits>.wal; others ignored).
strobe::Result<std::vector<uint64_t>> ListSegments(const std::string& dir);

}  // namespace strobed::wal
