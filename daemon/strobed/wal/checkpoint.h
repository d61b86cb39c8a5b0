#pragma once

// strobed::wal::CheckpointStore: each exporter's delivery checkpoint — the write-ahead-log seq
// below which everything was delivered to it — persisted in <data_dir>/checkpoints/, one file
// per exporter (docs/design/wal.md, "Durable delivery"). On restart an exporter resumes from
// its checkpoint; segments below every checkpoint can be deleted (Wal::TruncateBefore).
//
// A checkpoint file is 24 bytes: "STRBCKP1" | u64 seq | u32 crc32c(bytes 0..16) | u32 0. Save
// writes a temporary file and renames it over the old one, so a crash leaves the old or the new
// value, never a torn one; with `sync` the file and the folder are fdatasync'ed/fsync'ed first
// (survives a power loss). A file that fails its checks at Open is reported as corrupt and
// ignored (the exporter then starts from the log's beginning: duplicates, never loss).
//
// Thread class: thread-safe (one mutex; Save does file I/O under it).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"

namespace strobed::wal {

class CheckpointStore {
 public:
  // Opens (creating, mode 0700) `dir` and loads every checkpoint in it. PERMISSION_DENIED for
  // an unsafe folder (data_dir.h), INTERNAL for I/O errors.
  static strobe::Result<std::unique_ptr<CheckpointStore>> Open(std::string dir);

  // The checkpoint of `exporter` (e.g. "otlp_http/b"); 0 when it has none.
  uint64_t Get(std::string_view exporter) const;
  // Every checkpoint loaded or saved, by exporter name.
  std::map<std::string, uint64_t, std::less<>> All() const;
  // Files that were present but invalid at Open (ignored), by file name.
  const std::vector<std::string>& corrupt() const { return corrupt_; }

  // Persists `seq` for `exporter` (see the overview). A checkpoint never moves backwards:
  // a lower seq than the stored one is ignored (OK). INTERNAL on I/O errors.
  strobe::Status Save(std::string_view exporter, uint64_t seq, bool sync);

  // Removes the checkpoint of an exporter that is no longer configured, so it stops holding
  // back log truncation. OK when absent.
  strobe::Status Remove(std::string_view exporter);

  // File name of an exporter's checkpoint: the name with every byte outside [A-Za-z0-9_.-]
  // as %XX, plus ".ckpt".
  static std::string FileName(std::string_view exporter);

 private:
  explicit CheckpointStore(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t, std::less<>> seqs_;  // guarded by mu_
  std::vector<std::string> corrupt_;                   // set at Open
};

}  // namespace strobed::wal
