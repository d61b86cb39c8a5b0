#pragma once

// The on-disk format of write-ahead-log segments (docs/design/wal.md) and the reader that
// validates it. A segment is one file `<first_seq, 20 digits>.wal`:
//
//   header (32 bytes)  "STRBWAL\0" | u32 version=1 | u32 header_bytes=32 | u64 first_seq |
//                      u32 reserved=0 | u32 crc32c(bytes 0..28)
//   record (32 + n)    u32 n | u32 frame_crc | u64 seq | u64 unix_ns | u32 type |
//                      u32 payload_crc | n bytes
//
// Integers are little-endian. payload_crc = crc32c(payload); frame_crc = crc32c over n, seq,
// type and payload_crc, so one check covers the length (a corrupt length cannot send the reader
// off into the payload) and the payload transitively. Record seqs in a segment are consecutive
// from first_seq. A record is valid only when its frame is complete, both checksums match,
// n <= the reader's max payload and seq is the one expected; the first invalid byte ends the
// segment's valid prefix: everything from there on is a torn or corrupt tail and is never
// returned (Wal::Open truncates it).
//
// Thread class: the free functions are thread-safe; a SegmentReader is thread-compatible.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "strobe/base/status.h"

namespace strobed::wal {

inline constexpr std::size_t kSegmentHeaderBytes = 32;
inline constexpr std::size_t kFrameHeaderBytes = 32;
inline constexpr uint32_t kSegmentVersion = 1;

// One record as read back. `payload` points into the reader's buffer (valid until the next
// call on the reader, or into the scanned bytes).
struct RecordView {
  uint64_t seq = 0;
  uint64_t unix_ns = 0;  // wall-clock time of the append
  uint32_t type = 0;
  std::string_view payload;
};

// The 32-byte header of a segment whose first record has `first_seq`.
std::string EncodeSegmentHeader(uint64_t first_seq);
// True when `bytes` starts with a valid header; sets *first_seq.
bool ParseSegmentHeader(std::string_view bytes, uint64_t* first_seq) noexcept;

// Writes the 32-byte frame header of a record into `out`. `payload_crc` = Crc32c(payload)
// (computed by the caller, possibly outside a lock).
void EncodeFrameHeader(uint64_t seq, uint64_t unix_ns, uint32_t type, uint32_t payload_size,
                       uint32_t payload_crc, char* out) noexcept;

enum class DecodeStatus : uint8_t {
  kOk,          // a valid record; *frame_bytes is its size
  kIncomplete,  // `bytes` ends inside the frame (torn, if nothing more can come)
  kCorrupt,     // checksum, length bound or sequence mismatch
};
// Decodes the frame at the start of `bytes` expecting `expected_seq`. On kOk fills *record
// (payload viewing `bytes`) and *frame_bytes. On kIncomplete, *frame_bytes is how many bytes
// the frame needs when known (else kFrameHeaderBytes).
DecodeStatus DecodeFrame(std::string_view bytes, uint64_t expected_seq, uint32_t max_payload,
                         RecordView* record, std::size_t* frame_bytes) noexcept;

// Result of validating a whole segment held in memory (tests, the fuzz target).
struct ScanResult {
  bool header_ok = false;
  uint64_t first_seq = 0;
  std::size_t valid_bytes = 0;  // header + complete valid records (0 when the header is bad)
  uint64_t records = 0;
  bool torn = false;  // bytes follow the valid prefix
};
// Validates `bytes` as a segment, calling `fn` (if set) for each valid record in order.
ScanResult ScanSegment(std::string_view bytes, uint32_t max_payload,
                       const std::function<void(const RecordView&)>& fn = {});

// Streams the records of one segment file with bounded memory (one record plus a read chunk).
class SegmentReader {
 public:
  enum class Step : uint8_t { kRecord, kEnd, kTorn };

  // Opens `path` and checks its header: DATA_LOSS when the header is missing or invalid,
  // NOT_FOUND when the file does not exist, INTERNAL for other I/O errors.
  static strobe::Result<SegmentReader> Open(const std::string& path, uint32_t max_payload);
  // The same on an open descriptor (taken over; closed by the reader).
  static strobe::Result<SegmentReader> FromFd(int fd, std::string name, uint32_t max_payload);

  SegmentReader(SegmentReader&& other) noexcept;
  SegmentReader& operator=(SegmentReader&& other) noexcept;
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;
  ~SegmentReader();

  // The next record (kRecord, *out valid until the next call), kEnd at a clean end of file, or
  // kTorn when the bytes after valid_bytes() are not a valid record (incomplete or corrupt);
  // after kEnd/kTorn every call returns the same. INTERNAL on a read error.
  strobe::Result<Step> Next(RecordView* out);

  uint64_t first_seq() const { return first_seq_; }
  uint64_t next_seq() const { return next_seq_; }        // seq the next record must have
  uint64_t valid_bytes() const { return valid_bytes_; }  // end of the valid prefix
  std::string_view torn_reason() const { return torn_reason_; }

 private:
  SegmentReader(int fd, std::string name, uint32_t max_payload);
  // Makes at least `need` bytes available at buf_pos_ unless the file ends first. Returns the
  // bytes available.
  strobe::Result<std::size_t> Fill(std::size_t need);

  int fd_ = -1;
  std::string name_;
  uint32_t max_payload_ = 0;
  uint64_t first_seq_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t valid_bytes_ = 0;
  std::string buf_;
  std::size_t buf_pos_ = 0;  // next unread byte in buf_
  std::size_t buf_end_ = 0;  // bytes of buf_ holding file data
  uint64_t file_pos_ = 0;    // file offset of buf_[buf_end_]
  bool eof_ = false;
  bool done_ = false;
  Step final_ = Step::kEnd;
  std::string_view torn_reason_;
};

}  // namespace strobed::wal
