#include "strobed/wal/segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <utility>

#include "strobed/wal/crc32c.h"

namespace strobed::wal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the segment format is little-endian and is read with memcpy");

constexpr char kMagic[8] = {'S', 'T', 'R', 'B', 'W', 'A', 'L', '\0'};
constexpr std::size_t kReadChunk = std::size_t{1} << 20;

template <typename T>
T Load(const char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void Store(char* p, T v) noexcept {
  std::memcpy(p, &v, sizeof(T));
}

// crc over n (bytes 0..4) and seq, unix_ns, type, payload_crc (bytes 8..32) of a frame header.
uint32_t FrameCrc(const char* header) noexcept {
  uint32_t crc = Crc32cExtend(0, header, 4);
  return Crc32cExtend(crc, header + 8, kFrameHeaderBytes - 8);
}

std::string ErrnoText(int err) { return std::strerror(err); }

}  // namespace

std::string EncodeSegmentHeader(uint64_t first_seq) {
  std::string h(kSegmentHeaderBytes, '\0');
  std::memcpy(h.data(), kMagic, sizeof(kMagic));
  Store<uint32_t>(h.data() + 8, kSegmentVersion);
  Store<uint32_t>(h.data() + 12, static_cast<uint32_t>(kSegmentHeaderBytes));
  Store<uint64_t>(h.data() + 16, first_seq);
  Store<uint32_t>(h.data() + 24, 0);
  Store<uint32_t>(h.data() + 28, Crc32cExtend(0, h.data(), 28));
  return h;
}

bool ParseSegmentHeader(std::string_view bytes, uint64_t* first_seq) noexcept {
  if (bytes.size() < kSegmentHeaderBytes) return false;
  const char* p = bytes.data();
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) return false;
  if (Load<uint32_t>(p + 8) != kSegmentVersion) return false;
  if (Load<uint32_t>(p + 12) != kSegmentHeaderBytes) return false;
  if (Load<uint32_t>(p + 24) != 0) return false;
  if (Load<uint32_t>(p + 28) != Crc32cExtend(0, p, 28)) return false;
  *first_seq = Load<uint64_t>(p + 16);
  return true;
}

void EncodeFrameHeader(uint64_t seq, uint64_t unix_ns, uint32_t type, uint32_t payload_size,
                       uint32_t payload_crc, char* out) noexcept {
  Store<uint32_t>(out, payload_size);
  Store<uint64_t>(out + 8, seq);
  Store<uint64_t>(out + 16, unix_ns);
  Store<uint32_t>(out + 24, type);
  Store<uint32_t>(out + 28, payload_crc);
  Store<uint32_t>(out + 4, FrameCrc(out));
}

DecodeStatus DecodeFrame(std::string_view bytes, uint64_t expected_seq, uint32_t max_payload,
                         RecordView* record, std::size_t* frame_bytes) noexcept {
  *frame_bytes = kFrameHeaderBytes;
  if (bytes.size() < kFrameHeaderBytes) return DecodeStatus::kIncomplete;
  const char* p = bytes.data();
  // The header checksum first: a corrupt length must not decide how much more to read.
  if (Load<uint32_t>(p + 4) != FrameCrc(p)) return DecodeStatus::kCorrupt;
  const auto n = Load<uint32_t>(p);
  if (n > max_payload) return DecodeStatus::kCorrupt;
  if (Load<uint64_t>(p + 8) != expected_seq) return DecodeStatus::kCorrupt;
  *frame_bytes = kFrameHeaderBytes + n;
  if (bytes.size() < *frame_bytes) return DecodeStatus::kIncomplete;
  if (Crc32cExtend(0, p + kFrameHeaderBytes, n) != Load<uint32_t>(p + 28)) {
    return DecodeStatus::kCorrupt;
  }
  record->seq = expected_seq;
  record->unix_ns = Load<uint64_t>(p + 16);
  record->type = Load<uint32_t>(p + 24);
  record->payload = bytes.substr(kFrameHeaderBytes, n);
  return DecodeStatus::kOk;
}

ScanResult ScanSegment(std::string_view bytes, uint32_t max_payload,
                       const std::function<void(const RecordView&)>& fn) {
  ScanResult r;
  if (!ParseSegmentHeader(bytes, &r.first_seq)) {
    r.torn = !bytes.empty();
    return r;
  }
  r.header_ok = true;
  std::size_t pos = kSegmentHeaderBytes;
  uint64_t seq = r.first_seq;
  while (pos < bytes.size()) {
    RecordView rec;
    std::size_t frame = 0;
    if (DecodeFrame(bytes.substr(pos), seq, max_payload, &rec, &frame) != DecodeStatus::kOk) break;
    if (fn) fn(rec);
    pos += frame;
    ++seq;
    ++r.records;
  }
  r.valid_bytes = pos;
  r.torn = pos < bytes.size();
  return r;
}

strobe::Result<SegmentReader> SegmentReader::Open(const std::string& path, uint32_t max_payload) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return strobe::NotFound(path + ": no such segment");
    return strobe::Internal(path + ": cannot open: " + ErrnoText(err));
  }
  return FromFd(fd, path, max_payload);
}

strobe::Result<SegmentReader> SegmentReader::FromFd(int fd, std::string name,
                                                    uint32_t max_payload) {
  SegmentReader r(fd, std::move(name), max_payload);
  STROBE_ASSIGN_OR_RETURN(std::size_t have, r.Fill(kSegmentHeaderBytes));
  if (have < kSegmentHeaderBytes ||
      !ParseSegmentHeader(std::string_view(r.buf_).substr(r.buf_pos_, have), &r.first_seq_)) {
    return strobe::DataLoss(r.name_ + ": missing or invalid segment header");
  }
  r.buf_pos_ += kSegmentHeaderBytes;
  r.valid_bytes_ = kSegmentHeaderBytes;
  r.next_seq_ = r.first_seq_;
  return r;
}

SegmentReader::SegmentReader(int fd, std::string name, uint32_t max_payload)
    : fd_(fd), name_(std::move(name)), max_payload_(max_payload) {}

SegmentReader::SegmentReader(SegmentReader&& other) noexcept { *this = std::move(other); }

SegmentReader& SegmentReader::operator=(SegmentReader&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
    max_payload_ = other.max_payload_;
    first_seq_ = other.first_seq_;
    next_seq_ = other.next_seq_;
    valid_bytes_ = other.valid_bytes_;
    buf_ = std::move(other.buf_);
    buf_pos_ = other.buf_pos_;
    buf_end_ = other.buf_end_;
    file_pos_ = other.file_pos_;
    eof_ = other.eof_;
    done_ = other.done_;
    final_ = other.final_;
    torn_reason_ = other.torn_reason_;
  }
  return *this;
}

SegmentReader::~SegmentReader() {
  if (fd_ >= 0) ::close(fd_);
}

strobe::Result<std::size_t> SegmentReader::Fill(std::size_t need) {
  while (buf_end_ - buf_pos_ < need && !eof_) {
    if (buf_pos_ > 0) {  // keep only the unread bytes
      buf_.erase(0, buf_pos_);
      buf_end_ -= buf_pos_;
      buf_pos_ = 0;
    }
    std::size_t want = need > kReadChunk ? need : kReadChunk;
    if (buf_.size() < want) buf_.resize(want);
    ssize_t n =
        ::pread(fd_, buf_.data() + buf_end_, buf_.size() - buf_end_, static_cast<off_t>(file_pos_));
    if (n < 0) {
      if (errno == EINTR) continue;
      return strobe::Internal(name_ + ": read: " + ErrnoText(errno));
    }
    if (n == 0) {
      eof_ = true;
      break;
    }
    buf_end_ += static_cast<std::size_t>(n);
    file_pos_ += static_cast<uint64_t>(n);
  }
  return buf_end_ - buf_pos_;
}

strobe::Result<SegmentReader::Step> SegmentReader::Next(RecordView* out) {
  if (done_) return final_;
  STROBE_ASSIGN_OR_RETURN(std::size_t have, Fill(kFrameHeaderBytes));
  if (have == 0) {
    done_ = true;
    final_ = Step::kEnd;
    return final_;
  }
  std::size_t frame = 0;
  DecodeStatus st = DecodeFrame(std::string_view(buf_).substr(buf_pos_, have), next_seq_,
                                max_payload_, out, &frame);
  if (st == DecodeStatus::kIncomplete && frame > have) {
    STROBE_ASSIGN_OR_RETURN(have, Fill(frame));
    st = DecodeFrame(std::string_view(buf_).substr(buf_pos_, have), next_seq_, max_payload_, out,
                     &frame);
  }
  if (st != DecodeStatus::kOk) {
    done_ = true;
    final_ = Step::kTorn;
    torn_reason_ = st == DecodeStatus::kIncomplete ? "incomplete record" : "corrupt record";
    return final_;
  }
  buf_pos_ += frame;
  valid_bytes_ += frame;
  ++next_seq_;
  return Step::kRecord;
}

}  // namespace strobed::wal
