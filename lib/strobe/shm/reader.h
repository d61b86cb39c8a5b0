#pragma once

// strobe::shm reader side: RingReader drains one ring (any mapped bytes claiming to be one —
// the header and every frame are validated); Consumer owns all rings of one ring name in a
// directory, discovers new producers, and reclaims the segments of dead ones.
//
//   auto c = strobe::shm::Consumer::Open({.ring = "strobe"});
//   struct Sink : strobe::shm::RecordSink { void OnRecord(const RecordView& r) override {...} };
//   for (;;) { (*c)->Scan(); (*c)->Poll(sink); }      // Scan every ~100 ms, Poll in a loop
//
// Crash story (docs/design/ring.md): a producer publishes a record only by the release store
// of write_pos, so a producer killed mid-write leaves reserve_pos > write_pos and no visible
// partial record. Scan() notices the dead pid (kill(pid, 0)), drains what was committed, counts
// a torn record when reserve_pos != write_pos, and unlinks the segment. A frame that fails
// validation (garbage written by a buggy producer) is counted as malformed and the reader skips
// to the producer's write_pos, a frame boundary. A restarted consumer attaches to the segments it
// finds, replays each ring's definitions log (ring_abi.h) so it knows the series defined before
// it started, and resumes at each ring's read_pos (records of the batch in flight when the
// previous consumer died are delivered again: at-least-once).
//
// Hostile local users (docs/security.md): only rings whose file owner (or group) is allowed
// are attached (ConsumerOptions::allowed_uids/allowed_gids, default: our own euid and egid);
// others are left alone and counted. A producer shrinking its file while we read it cannot
// crash us: every access to a mapping runs inside a FaultScope (fault_guard.h), and a ring
// that faulted is dropped and counted. Files are removed only when their owner is allowed;
// the daemon marker is created with O_CREAT|O_EXCL|O_NOFOLLOW under a random name and renamed
// into place, and a marker not owned by our euid is never trusted.
//
// Thread class: owner-thread only (one consumer thread per ring name). Never blocks on a
// producer; Poll() does no syscalls (unless a ring faulted: it is unmapped); Scan() does
// (readdir, kill, open, fstat, mmap).

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "strobe/base/status.h"
#include "strobe/shm/record.h"
#include "strobe/shm/ring_abi.h"
#include "strobe/shm/segment.h"

namespace strobe::shm {

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // Called for every valid frame except PAD. The payload is valid only during the call.
  virtual void OnRecord(const RecordView& record) = 0;
  // Called for a PING record before it is delivered and acknowledged: the sink hands on what
  // it holds from before the PING (a daemon pushes it into its pipeline) and returns true once
  // that was accepted. The reader then calls OnRecord for the PING and stores ack_seq. false
  // (the sink's downstream refuses for now): the reader stops in front of the PING without
  // consuming it and offers it again on the next Drain, so the producer's flush keeps waiting
  // instead of being told "delivered" for data that was not.
  virtual bool ReadyToAck(uint32_t producer) {
    (void)producer;
    return true;
  }
  // Called once a ring is gone for good (its producer closed it or died, and everything it
  // committed was delivered, or the ring was dropped after its file shrank): state kept per
  // producer id may be released.
  virtual void OnRingClosed(uint32_t producer) { (void)producer; }
  // Called when a ring is attached, before its definitions log is replayed: `owner_uid` is the
  // uid owning the segment file (the producer's identity as far as the kernel vouches for it).
  virtual void OnRingAttached(uint32_t producer, uint32_t owner_uid) {
    (void)producer;
    (void)owner_uid;
  }
  // Total of records this sink refused so far (unknown series, undecodable payload, ...),
  // monotonic. The reader reads it around each drain (not per record) and adds what grew to
  // the ring's rejected_records before acknowledging a PING, so the producer's flush reports
  // refused data instead of success.
  virtual uint64_t RejectedRecords() const { return 0; }
};

struct ReaderStats {
  uint64_t records = 0;           // frames delivered to the sink
  uint64_t bytes = 0;             // bytes consumed, frames and padding included
  uint64_t malformed = 0;         // invalid frames or positions (rest skipped to write_pos)
  uint64_t malformed_bytes = 0;   // bytes skipped because of them
  uint64_t torn = 0;              // records a dead producer reserved but never committed
  uint64_t producer_dropped = 0;  // records producers dropped on a full ring (header counters)
  uint64_t rings_attached = 0;
  uint64_t rings_reclaimed = 0;  // segments of dead producers removed
  uint64_t rings_rejected = 0;   // files that are not valid rings (left in place, counted once)
  uint64_t rings_rejected_owner = 0;  // rings whose owner is not allowed (left alone, once)
  uint64_t rings_truncated = 0;       // rings dropped because their file shrank under us
  uint64_t definitions_replayed = 0;  // SERIES_DEFINE records replayed from definitions logs
};

class RingReader {
 public:
  // Validates the header of `size` mapped bytes at `base`. Does not take ownership.
  static Result<RingReader> Attach(uint8_t* base, size_t size);

  // Delivers up to `max_records` committed records to `sink`, then publishes read_pos.
  // Returns the number delivered. Answers a PING by storing ack_seq after the sink ran, and
  // only when the sink's ReadyToAck() agreed; otherwise stops in front of the PING (it is
  // delivered again on the next call). What the sink refused during the drain (its
  // RejectedRecords() grew), and one per run of malformed frames skipped, is added to the
  // header's rejected_records before ack_seq is stored, so the producer's flush reports it.
  size_t Drain(RecordSink& sink, size_t max_records, ReaderStats& stats) noexcept;

  // Delivers the SERIES_DEFINE records of the ring's definitions log (ring_abi.h) to `sink`.
  // Called once after Attach, before the first Drain. Returns the number delivered; a frame
  // that is not a valid definition ends the replay (counted as malformed). Definitions the sink
  // refuses, and a malformed log, are added to rejected_records like refusals in Drain (the
  // producer's next flush reports them).
  size_t ReplayDefinitions(RecordSink& sink, ReaderStats& stats) noexcept;

  // True when everything committed has been consumed.
  bool Empty() const noexcept;
  // The producer closed the ring (destroyed its Producer); nothing more will be committed.
  bool Closed() const noexcept;
  uint32_t producer_pid() const { return header_->producer_pid; }
  // Size of the data area (validated at Attach; a ring holds at most capacity() / 8 records).
  uint64_t capacity() const { return capacity_; }
  // Id handed out as RecordView::producer: the segment id of the file name (defaults to the pid).
  uint32_t segment_id() const { return segment_id_; }
  void set_segment_id(uint32_t id) { segment_id_ = id; }
  // reserve_pos != write_pos: a record was claimed but not committed (only meaningful once the
  // producer is known to be dead).
  bool HasTornRecord() const noexcept;
  uint64_t DroppedByProducer() const noexcept;
  strobe_ring_header* header() const { return header_; }

 private:
  RingReader(strobe_ring_header* h, uint8_t* data, uint64_t capacity, uint64_t defs_bytes)
      : header_(h),
        data_(data),
        capacity_(capacity),
        defs_bytes_(defs_bytes),
        mask_(capacity - 1),
        segment_id_(h->producer_pid) {}
  void SkipTo(uint64_t write_pos, uint64_t read_pos, ReaderStats& stats) noexcept;
  // Adds what the sink refused since `*seen` to the header's rejected_records.
  void PublishRejected(const RecordSink& sink, uint64_t* seen) noexcept;
  // Adds `n` to the header's rejected_records (we are its only writer).
  void AddRejected(uint64_t n) noexcept;

  strobe_ring_header* header_;
  uint8_t* data_;
  uint64_t capacity_;
  uint64_t defs_bytes_;  // definitions log after the data area (0: none)
  uint64_t mask_;
  uint32_t segment_id_;
};

struct ConsumerOptions {
  std::string ring = "strobe";
  std::string dir = "/dev/shm";
  // Write `<dir>/strobe-<ring>.daemon` with our pid so producers see a live daemon.
  bool write_daemon_marker = true;
  size_t max_records_per_ring = 4096;  // per Poll(), for fairness between producers
  // Owners whose rings are attached: a ring is allowed when its file's uid is in
  // `allowed_uids` or its gid in `allowed_gids`. Both empty: our own euid and egid. Files of
  // other owners are never read, written or removed.
  std::vector<uint32_t> allowed_uids{};
  std::vector<uint32_t> allowed_gids{};
  bool allow_any_owner = false;  // every owner (the behaviour before owner checks)
};

class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> Open(const ConsumerOptions& options);
  ~Consumer();  // removes the daemon marker; leaves live rings for the next consumer
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Attaches new segments, drains and reclaims rings whose producer died, removes segments
  // of dead producers left from before. Returns the number of attached rings. A dead ring whose
  // drain stopped at a PING the sink was not ready to acknowledge stays attached and is
  // reclaimed by a later Scan, so nothing it holds is lost. Bounded work: a dead ring is
  // drained by at most capacity/8 records per Scan (a ring that still fills after its producer
  // claimed to be dead stays attached and is drained like a live one).
  size_t Scan(RecordSink& sink);
  // One pass over all attached rings. Returns records delivered. No syscalls.
  size_t Poll(RecordSink& sink) noexcept;

  const ReaderStats& stats() const { return stats_; }
  size_t ring_count() const { return rings_.size(); }

  // Whether a file owned by `uid`:`gid` may publish to us (ConsumerOptions::allowed_*).
  bool Allowed(uint32_t uid, uint32_t gid) const;

 private:
  struct Ring {
    std::string path;
    Mapping mapping;
    RingReader reader;
    ino_t inode = 0;
    uint64_t dropped_seen = 0;
    bool faulted = false;  // the file shrank under us: drop at the next chance
  };
  // A file we do not read (invalid, foreign, truncated), remembered by inode so that a new
  // file under the same name is looked at again.
  struct Rejected {
    std::string path;
    ino_t inode;
    bool seen;  // present in the current scan
  };
  explicit Consumer(ConsumerOptions options) : options_(std::move(options)) {}
  // Drains `ring` completely and removes its file; false (ring kept) when the sink held a PING.
  bool Reclaim(Ring& ring, RecordSink& sink);
  // Drops a ring whose mapping faulted: counted, remembered as rejected, file left alone.
  void DropFaulted(Ring& ring, RecordSink& sink);
  // Attaches the file `path` (a segment name of our ring) if it is an allowed, valid ring.
  void TryAttach(const std::string& path, uint32_t id, RecordSink& sink);

  ConsumerOptions options_;
  uid_t euid_ = 0;
  std::vector<std::unique_ptr<Ring>> rings_;
  std::vector<Rejected> rejected_;
  ReaderStats stats_;
};

}  // namespace strobe::shm
