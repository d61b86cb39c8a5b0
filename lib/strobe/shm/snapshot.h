#pragma once

// strobe::shm snapshots: the daemon's current results (metrics, stream windows, alerts) in a
// read-only shared-memory segment, so local programs read them back without HTTP.
//
//   daemon:  auto w = SnapshotWriter::Create({.ring = "strobe"}).value();
//            w->Publish(json, now_unix_ns);                 // every shm.snapshot_interval
//   reader:  auto r = SnapshotReader::Open("/dev/shm", "strobe").value();
//            Snapshot s = r.Read().value();                 // consistent copy of the document
//
// Segment `<dir>/strobe-<ring>.snapshot` (mode 0600), layout in docs/shm-format.md:
//
//   [0, 256)         header: magic "STSN", version, header_bytes, capacity, writer pid,
//                    created; at offset 64 (own cache line) seq, generation, length, time
//   [256, +cap)      the document (UTF-8 JSON), `length` bytes
//
// Concurrency: one writer, any number of readers in any process, a seqlock. The writer
// makes seq odd, writes the document and the fields, makes seq even again; a reader copies
// between two reads of seq and retries when they differ or are odd. Memory orders (also
// what makes it TSan-visible, without fences): the writer stores the odd seq relaxed and
// then every document word and field with release (so the odd seq cannot become visible
// after any of them); it publishes the even seq with release. The reader loads seq with
// acquire, every word with acquire (so the second seq load cannot move before them), then
// seq again: if it read any word of a newer publish, that word's release carried the newer
// odd seq, so the second load cannot return the first value, and the copy is retried.
//
// Readers map the segment PROT_READ: a reader cannot disturb the writer or other readers.
// Every length in the header is checked against the mapping before use.
//
// Thread class: SnapshotWriter is owner-thread only; SnapshotReader::Read is thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobe/shm/segment.h"

namespace strobe::shm {

inline constexpr uint32_t kSnapshotMagic = 0x4E535453u;  // bytes 'S','T','S','N' in memory
inline constexpr uint16_t kSnapshotVersion = 1;
inline constexpr uint32_t kSnapshotHeaderBytes = 256;
inline constexpr uint64_t kSnapshotMaxCapacity = uint64_t{1} << 30;

// "<dir>/strobe-<ring>.snapshot"
std::string SnapshotPath(std::string_view dir, std::string_view ring);

struct SnapshotWriterOptions {
  std::string ring = "strobe";
  std::string dir = "/dev/shm";
  uint64_t capacity_bytes = uint64_t{8} << 20;  // largest document; the file is sparse
  uint32_t mode = 0600;
};

class SnapshotWriter {
 public:
  // Creates the segment. An existing one of a dead writer (or not a snapshot at all) is
  // replaced; one whose writer is alive fails with FailedPrecondition.
  static Result<std::unique_ptr<SnapshotWriter>> Create(const SnapshotWriterOptions& options);
  ~SnapshotWriter();  // unlinks the segment
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // Publishes `document` (replaces the previous one). ResourceExhausted (counted in
  // too_large()) when it exceeds the capacity; the previous document stays readable.
  Status Publish(std::string_view document, uint64_t time_unix_ns);

  const std::string& path() const { return path_; }
  uint64_t publishes() const { return publishes_; }
  uint64_t too_large() const { return too_large_; }

 private:
  SnapshotWriter(Mapping mapping, std::string path, uint64_t capacity)
      : mapping_(std::move(mapping)), path_(std::move(path)), capacity_(capacity) {}

  Mapping mapping_;
  std::string path_;
  uint64_t capacity_;
  uint64_t seq_ = 0;
  uint64_t generation_ = 0;
  uint64_t publishes_ = 0;
  uint64_t too_large_ = 0;
};

// A file RemoveStaleDaemonFiles removed, and the dead pid it named.
struct StaleDaemonFile {
  std::string path;
  uint32_t pid = 0;
};

// Removes what crashed daemons of this user left in `dir`, for every ring name: snapshot
// segments (`strobe-<ring>.snapshot`, up to 8 MiB each) and daemon markers
// (`strobe-<ring>.daemon`) — a clean exit removes its own. A file is removed only when it is
// a regular file owned by the effective uid (never followed through a symlink, never a FIFO
// blocked on) and the pid it records (the snapshot header's writer pid, the marker's text)
// is not this process and names no live process. Other users' files, files of live
// daemons, files whose pid cannot be read (a segment being created has pid 0) and a pid
// reused by another process are kept. The inode is checked again right before unlink(), so a
// file a starting daemon just renamed into place is not taken for the stale one.
// Returns what was removed. Thread-safe.
std::vector<StaleDaemonFile> RemoveStaleDaemonFiles(std::string_view dir);

struct Snapshot {
  uint64_t generation = 0;  // 1 for the first publish, +1 per publish
  uint64_t time_unix_ns = 0;
  uint32_t writer_pid = 0;
  std::string document;
};

class SnapshotReader {
 public:
  // Maps the segment read-only. NotFound when it does not exist, InvalidArgument when it is
  // not a valid snapshot segment.
  static Result<SnapshotReader> Open(std::string_view dir, std::string_view ring);

  // A consistent copy of the current document. Unavailable when the writer is gone (the
  // daemon stopped: its segment is unlinked, this mapping is stale), nothing was published
  // yet, or a publish kept overlapping the copy for ~1 s.
  Result<Snapshot> Read() const;

  uint64_t capacity() const { return capacity_; }

 private:
  SnapshotReader(Mapping mapping, uint64_t capacity)
      : mapping_(std::make_shared<Mapping>(std::move(mapping))), capacity_(capacity) {}

  std::shared_ptr<Mapping> mapping_;  // shared: readers are cheap to copy
  uint64_t capacity_;
};

}  // namespace strobe::shm
