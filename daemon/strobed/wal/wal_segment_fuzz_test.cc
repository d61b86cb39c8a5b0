// Fuzz target of the write-ahead-log segment reader: any bytes as a segment file. Both readers
// (ScanSegment over memory, SegmentReader streaming from a file descriptor) must agree on the
// valid prefix and the records in it, never crash, never return a record that does not
// re-validate, and the valid prefix alone must scan clean with the same records.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "strobed/wal/segment.h"

namespace {

constexpr uint32_t kMaxPayload = 1 << 20;

void Require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using strobed::wal::RecordView;
  using strobed::wal::SegmentReader;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  std::vector<std::string> scanned;
  strobed::wal::ScanResult scan = strobed::wal::ScanSegment(
      bytes, kMaxPayload, [&](const RecordView& r) { scanned.emplace_back(r.payload); });
  Require(scan.valid_bytes <= size);
  Require(scan.torn == (scan.valid_bytes < size));
  Require(scanned.size() == scan.records);

  if (scan.header_ok) {
    std::vector<std::string> again;
    strobed::wal::ScanResult prefix =
        strobed::wal::ScanSegment(bytes.substr(0, scan.valid_bytes), kMaxPayload,
                                  [&](const RecordView& r) { again.emplace_back(r.payload); });
    Require(!prefix.torn && prefix.records == scan.records && again == scanned);
  }

  int fd = ::memfd_create("wal_segment_fuzz", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (size > 0 && ::write(fd, data, size) != static_cast<ssize_t>(size)) {
    ::close(fd);
    return 0;
  }
  auto reader = SegmentReader::FromFd(fd, "fuzz", kMaxPayload);
  Require(reader.ok() == scan.header_ok);
  if (!reader.ok()) return 0;
  Require(reader->first_seq() == scan.first_seq);
  std::size_t n = 0;
  RecordView rec;
  while (true) {
    auto step = reader->Next(&rec);
    Require(step.ok());
    if (*step != SegmentReader::Step::kRecord) {
      Require((*step == SegmentReader::Step::kTorn) == scan.torn);
      break;
    }
    Require(n < scanned.size() && rec.payload == scanned[n]);
    Require(rec.seq == scan.first_seq + n);
    ++n;
  }
  Require(n == scan.records);
  Require(reader->valid_bytes() == scan.valid_bytes);
  return 0;
}
