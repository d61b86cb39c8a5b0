#include "strobe/shm/producer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>

namespace strobe::shm {
namespace {

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

uint64_t RealtimeNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

void AppendU32(std::string& s, uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
void AppendU64(std::string& s, uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
void AppendPairs(std::string& s, const Labels& pairs) {
  for (const auto& [k, v] : pairs) {
    s.append(k);
    s.push_back('\0');
    s.append(v);
    s.push_back('\0');
  }
}
size_t PairsBytes(const Labels& pairs) {
  size_t n = 0;
  for (const auto& [k, v] : pairs) n += k.size() + v.size() + 2;
  return n;
}

// Linux pids stay below 2^22 (PID_MAX_LIMIT), so pid + k * 2^22 names no other process.
constexpr uint32_t kPidBits = 22;
constexpr uint32_t kMaxSegmentsPerRing = 1024;  // pid + k * 2^22 < 2^32 for k < 1024

// Creates the segment file for `options` (O_EXCL, so two Connects never share a file) and
// returns its fd, or -1 with errno set; `path` is the file created (or the last one tried).
// With options.instance set, exactly that id. Otherwise our pid, then pid + k * 2^22: an
// existing file is never replaced, because it may be another live Producer of this process on
// the same ring, our own closed ring the daemon has not drained yet, or a leftover of a dead
// process whose pid we reuse with records still unread; the daemon drains and removes those.
int CreateSegment(const ProducerOptions& options, uint32_t pid, std::string* path) {
  const int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
  if (options.instance != 0) {
    *path = SegmentPath(options.dir, options.ring, options.instance);
    return open(path->c_str(), flags, options.mode);
  }
  for (uint32_t k = 0; k < kMaxSegmentsPerRing; ++k) {
    *path = SegmentPath(options.dir, options.ring, pid + (k << kPidBits));
    const int fd = open(path->c_str(), flags, options.mode);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;  // errno is EEXIST
}

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Connect(const ProducerOptions& options) {
  if (!ValidRingName(options.ring)) {
    return InvalidArgument("shm ring name '" + options.ring + "' must match [A-Za-z0-9_.]{1,64}");
  }
  const uint64_t cap = options.capacity_bytes;
  if (cap < STROBE_RING_MIN_CAPACITY || cap > STROBE_RING_MAX_CAPACITY || (cap & (cap - 1)) != 0) {
    return InvalidArgument("shm capacity_bytes must be a power of two in [4096, 2^30], got " +
                           std::to_string(cap));
  }
  uint32_t features = STROBE_FEATURES_ALL;
  if (Status s = DaemonStatus(options.dir, options.ring, &features);
      !s.ok() && options.require_daemon) {
    return s;
  }
  const uint64_t defs = options.definitions_bytes;
  if (defs % STROBE_RECORD_ALIGN != 0 || defs > (uint64_t{64} << 20)) {
    return InvalidArgument("shm definitions_bytes must be a multiple of 8 up to 64 MiB, got " +
                           std::to_string(defs));
  }
  const uint32_t pid = static_cast<uint32_t>(getpid());
  std::string path;
  const int fd = CreateSegment(options, pid, &path);
  if (fd < 0) {
    if (PermissionErrno(errno)) {
      // Named as what it is: the usual cause is a daemon running as another user whose ring
      // directory this user may not write (docs/python.md, "Permissions").
      return PermissionDenied(Errno("permission denied creating shm segment", path) + " (uid " +
                              std::to_string(getuid()) + "): the directory " + options.dir +
                              " is not writable by this user; is the daemon running as "
                              "another user?");
    }
    return Unavailable(Errno("cannot create shm segment", path));
  }
  fchmod(fd, options.mode);  // not subject to the umask
  const size_t size = STROBE_RING_HEADER_BYTES + cap + defs;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    Status s = ResourceExhausted(Errno("cannot size shm segment", path));
    close(fd);
    unlink(path.c_str());
    return s;
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) {
    Status s = ResourceExhausted(Errno("cannot map shm segment", path));
    unlink(path.c_str());
    return s;
  }
  auto* h = static_cast<strobe_ring_header*>(base);
  h->version = STROBE_RING_VERSION;
  h->header_bytes = STROBE_RING_HEADER_BYTES;
  h->capacity_bytes = cap;
  h->producer_pid = pid;
  h->producer_slots = 1;
  h->created_ns = RealtimeNs();
  h->defs_bytes = defs;
  // Pairs with the consumer's acquire load of magic: the fields above are visible first.
  std::atomic_ref<uint32_t>(h->magic).store(STROBE_RING_MAGIC, std::memory_order_release);
  auto producer = std::unique_ptr<Producer>(new Producer(Mapping(base, size), path, options));
  producer->daemon_features_ = features;
  return producer;
}

Producer::Producer(Mapping mapping, std::string path, const ProducerOptions& options)
    : mapping_(std::move(mapping)),
      path_(std::move(path)),
      header_(reinterpret_cast<strobe_ring_header*>(mapping_.data())),
      data_(mapping_.data() + STROBE_RING_HEADER_BYTES),
      capacity_(options.capacity_bytes),
      mask_(options.capacity_bytes - 1),
      policy_(options.policy),
      spin_limit_(options.spin_limit),
      defs_(data_ + options.capacity_bytes),
      defs_bytes_(options.definitions_bytes) {}

Producer::~Producer() {
  // Pairs with the consumer's acquire load in RingReader::Closed(): every commit before this
  // is visible once the consumer sees the flag, so it can drain and remove the segment.
  Word(header_, &strobe_ring_header::closed).store(1, std::memory_order_release);
}

bool Producer::HasRoom(uint64_t need) noexcept {
  // Pairs with the consumer's release store of read_pos: once we see the new position, the
  // consumer no longer reads the bytes we are about to overwrite.
  cached_read_pos_ = Word(header_, &strobe_ring_header::read_pos).load(std::memory_order_acquire);
  if (write_pos_ + need - cached_read_pos_ <= capacity_) return true;
  if (policy_ == FullPolicy::kSpin) {
    for (uint64_t i = 0; i < spin_limit_; ++i) {
      CpuRelax();
      cached_read_pos_ =
          Word(header_, &strobe_ring_header::read_pos).load(std::memory_order_acquire);
      if (write_pos_ + need - cached_read_pos_ <= capacity_) return true;
    }
  }
  return false;
}

void Producer::CountDrop(uint64_t bytes) noexcept {
  // Relaxed: statistics only written here, read by the daemon for its dropped_* metric.
  auto dr = Word(header_, &strobe_ring_header::dropped_records);
  dr.store(dr.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  auto db = Word(header_, &strobe_ring_header::dropped_bytes);
  db.store(db.load(std::memory_order_relaxed) + bytes, std::memory_order_relaxed);
}

uint8_t* Producer::ReserveSlow(uint16_t type, uint32_t length) noexcept {
  const uint64_t total = (uint64_t{STROBE_FRAME_BYTES} + length + 7) & ~uint64_t{7};
  if (length > STROBE_RECORD_MAX_PAYLOAD || total > capacity_ / 2) {
    CountDrop(total);
    return nullptr;
  }
  const uint64_t off = write_pos_ & mask_;
  const uint64_t tail = capacity_ - off;
  const bool wrap = off + total > capacity_;
  if (!HasRoom(wrap ? tail + total : total)) {
    CountDrop(total);
    return nullptr;
  }
  if (wrap) {
    // PAD frame up to the end of the area, published together with the record that follows.
    Word(header_, &strobe_ring_header::reserve_pos)
        .store(write_pos_ + tail, std::memory_order_relaxed);
    strobe_frame pad{static_cast<uint32_t>(tail - STROBE_FRAME_BYTES), STROBE_REC_PAD, 0};
    std::memcpy(data_ + off, &pad, sizeof pad);
    write_pos_ += tail;
    return Emplace(0, total, type, length);
  }
  return Emplace(off, total, type, length);
}

Status Producer::Flush(std::chrono::nanoseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + timeout;
  const auto ms = [&] {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  };
  // Wait for room first instead of retrying Ping(): a failed write would count as a drop.
  const uint64_t total = (uint64_t{STROBE_FRAME_BYTES} + sizeof(uint64_t) + 7) & ~uint64_t{7};
  const uint64_t off = write_pos_ & mask_;
  const uint64_t need = off + total > capacity_ ? capacity_ - off + total : total;
  // Acquire pairs with the consumer's release store of read_pos (as in HasRoom()).
  auto read_pos = [&] {
    return Word(header_, &strobe_ring_header::read_pos).load(std::memory_order_acquire);
  };
  uint64_t sleep_ns = 10'000;
  const auto wait = [&] {
    timespec ts{0, static_cast<long>(sleep_ns)};
    nanosleep(&ts, nullptr);
    sleep_ns = std::min<uint64_t>(sleep_ns * 2, 1'000'000);
  };
  while (write_pos_ + need - read_pos() > capacity_) {
    if (Clock::now() >= deadline) {
      return ResourceExhausted("shm flush: ring " + path_ + " stayed full for " + ms() +
                               " ms (the daemon is not draining it)");
    }
    wait();
  }
  const uint64_t seq = std::max(last_ping_seq_, AckSeq()) + 1;
  if (!Ping(seq)) return ResourceExhausted("shm flush: PING dropped on ring " + path_);
  const Clock::time_point spin_end = start + std::chrono::microseconds(50);
  sleep_ns = 10'000;
  while (AckSeq() < seq) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      return DeadlineExceeded("shm flush: the daemon did not acknowledge ring " + path_ +
                              " within " + ms() +
                              " ms (no daemon drains it, or the daemon's pipeline is refusing "
                              "data: back-pressure)");
    }
    if (now < spin_end) {
      CpuRelax();
    } else {
      wait();
    }
  }
  // The acquire load of ack_seq above makes the refusals counted before the ack visible.
  const uint64_t rejected = RejectedRecords();
  if (rejected != rejected_seen_) {
    const uint64_t n = rejected - rejected_seen_;
    rejected_seen_ = rejected;
    return DataLoss("shm flush: the daemon refused " + std::to_string(n) + " record(s) of ring " +
                    path_ +
                    " since the previous flush (definitions refused: series limit or attribute "
                    "key table full; points of undefined or refused series; invalid payloads or "
                    "values; see strobe_shm_invalid_records_total by reason)");
  }
  return OkStatus();
}

bool Producer::WriteText(uint16_t type, const std::string& payload) {
  if (payload.size() > STROBE_RECORD_MAX_PAYLOAD) {
    CountDrop(payload.size());
    return false;
  }
  return Write(type, payload.data(), static_cast<uint32_t>(payload.size()));
}

void Producer::LogDefinition(const std::string& payload) {
  const uint64_t length = 8 + payload.size();
  const uint64_t total = (uint64_t{STROBE_FRAME_BYTES} + length + 7) & ~uint64_t{7};
  if (payload.size() > STROBE_RECORD_MAX_PAYLOAD || total > defs_bytes_ - defs_end_) {
    ++defs_overflow_;
    return;
  }
  // Where Reserve() will put the ring record: after a PAD when it does not fit before the end.
  const uint64_t ring_total = (uint64_t{STROBE_FRAME_BYTES} + payload.size() + 7) & ~uint64_t{7};
  const uint64_t off = write_pos_ & mask_;
  const uint64_t ring_pos =
      off + ring_total > capacity_ ? write_pos_ + (capacity_ - off) : write_pos_;
  strobe_frame f{static_cast<uint32_t>(length), STROBE_REC_SERIES_DEFINE, 0};
  uint8_t* dst = defs_ + defs_end_;
  std::memcpy(dst, &f, sizeof f);
  std::memcpy(dst + STROBE_FRAME_BYTES, &ring_pos, 8);
  std::memcpy(dst + STROBE_FRAME_BYTES + 8, payload.data(), payload.size());
  defs_end_ += total;
  // Pairs with the consumer's acquire load in ReplayDefinitions(): the entry is written first.
  Word(header_, &strobe_ring_header::defs_end).store(defs_end_, std::memory_order_release);
}

uint64_t Producer::DefineSeries(strobe_series_kind kind, std::string_view name,
                                const Labels& labels, const SeriesMeta& meta) {
  std::string p;
  const uint64_t id = next_series_id_;
  AppendU64(p, id);
  AppendU32(p, static_cast<uint32_t>(kind));
  AppendU32(p, static_cast<uint32_t>(name.size() + 1 + PairsBytes(labels)));
  p.append(name);
  p.push_back('\0');
  AppendPairs(p, labels);
  if (!meta.empty()) {
    // The same checks as the decoder's: a definition the daemon would refuse is not written.
    if (meta.description.size() > STROBE_DEFINE_MAX_DESCRIPTION ||
        meta.unit.size() > STROBE_DEFINE_MAX_UNIT ||
        meta.bounds.size() > STROBE_DEFINE_MAX_BOUNDS ||
        meta.description.find('\0') != std::string_view::npos ||
        meta.unit.find('\0') != std::string_view::npos ||
        (!meta.bounds.empty() && kind != STROBE_KIND_HISTOGRAM)) {
      return 0;
    }
    for (size_t i = 0; i < meta.bounds.size(); ++i) {
      if (!std::isfinite(meta.bounds[i]) || (i > 0 && !(meta.bounds[i] > meta.bounds[i - 1]))) {
        return 0;
      }
    }
  }
  if (!meta.empty() && (daemon_features_ & STROBE_FEATURE_DEFINE_META) != 0) {
    AppendU32(p, STROBE_DEFINE_META_VERSION);
    AppendU32(p, static_cast<uint32_t>(meta.description.size()));
    AppendU32(p, static_cast<uint32_t>(meta.unit.size()));
    AppendU32(p, static_cast<uint32_t>(meta.bounds.size()));
    p.append(meta.description);
    p.append(meta.unit);
    p.append(reinterpret_cast<const char*>(meta.bounds.data()), meta.bounds.size_bytes());
  }
  // Log first: a daemon restarting between the two writes then still finds the definition.
  LogDefinition(p);
  if (!WriteText(STROBE_REC_SERIES_DEFINE, p)) return 0;
  ++next_series_id_;
  return id;
}

bool Producer::Span(const uint8_t trace_id[16], uint64_t span_id, uint64_t parent_span_id,
                    uint64_t start_ns, uint64_t end_ns, std::string_view name,
                    const Labels& attributes) {
  std::string p;
  p.append(reinterpret_cast<const char*>(trace_id), 16);
  AppendU64(p, span_id);
  AppendU64(p, parent_span_id);
  AppendU64(p, start_ns);
  AppendU64(p, end_ns);
  AppendU32(p, static_cast<uint32_t>(name.size()));
  AppendU32(p, static_cast<uint32_t>(PairsBytes(attributes)));
  p.append(name);
  AppendPairs(p, attributes);
  return WriteText(STROBE_REC_SPAN, p);
}

bool Producer::Event(uint64_t timestamp_ns, std::string_view name, const Labels& attributes) {
  std::string p;
  AppendU64(p, timestamp_ns);
  AppendU32(p, static_cast<uint32_t>(name.size()));
  AppendU32(p, static_cast<uint32_t>(PairsBytes(attributes)));
  p.append(name);
  AppendPairs(p, attributes);
  return WriteText(STROBE_REC_EVENT, p);
}

bool Producer::HistogramMerge(uint64_t series_id, uint64_t timestamp_ns, uint64_t count,
                              uint64_t zero_count, double sum, double min, double max,
                              int32_t scale, int32_t offset, const uint64_t* counts,
                              uint32_t n) noexcept {
  constexpr uint64_t kFixed = 8 * 7 + 4 * 4;
  const uint64_t length = kFixed + uint64_t{n} * 8;
  if (length > STROBE_RECORD_MAX_PAYLOAD) {
    CountDrop(length);
    return false;
  }
  uint8_t* d = Reserve(STROBE_REC_HISTOGRAM_MERGE, static_cast<uint32_t>(length));
  if (d == nullptr) return false;
  const uint32_t n32 = n, reserved = 0;
  std::memcpy(d, &series_id, 8);
  std::memcpy(d + 8, &timestamp_ns, 8);
  std::memcpy(d + 16, &count, 8);
  std::memcpy(d + 24, &zero_count, 8);
  std::memcpy(d + 32, &sum, 8);
  std::memcpy(d + 40, &min, 8);
  std::memcpy(d + 48, &max, 8);
  std::memcpy(d + 56, &scale, 4);
  std::memcpy(d + 60, &offset, 4);
  std::memcpy(d + 64, &n32, 4);
  std::memcpy(d + 68, &reserved, 4);
  if (n != 0) std::memcpy(d + kFixed, counts, size_t{n} * 8);
  Commit();
  return true;
}

size_t Producer::Batch(strobe_series_kind kind, const uint64_t* series_ids,
                       const uint64_t* timestamps_ns, const double* values, size_t count) noexcept {
  constexpr size_t kEntry = 24;
  // Chunks of at most 1/8 of the ring so a batch never needs the whole ring at once.
  const size_t max_per =
      std::min<size_t>((STROBE_RECORD_MAX_PAYLOAD - 8) / kEntry, (capacity_ / 8 - 16) / kEntry);
  size_t done = 0;
  while (done < count) {
    const size_t n = std::min(max_per, count - done);
    uint8_t* dst = Reserve(STROBE_REC_BATCH, static_cast<uint32_t>(8 + n * kEntry));
    if (dst == nullptr) break;
    const uint32_t n32 = static_cast<uint32_t>(n);
    const uint32_t k32 = static_cast<uint32_t>(kind);
    std::memcpy(dst, &n32, 4);
    std::memcpy(dst + 4, &k32, 4);
    uint8_t* e = dst + 8;
    for (size_t i = done; i < done + n; ++i, e += kEntry) {
      const uint64_t ts = timestamps_ns != nullptr ? timestamps_ns[i] : 0;
      std::memcpy(e, &series_ids[i], 8);
      std::memcpy(e + 8, &ts, 8);
      std::memcpy(e + 16, &values[i], 8);
    }
    Commit();
    done += n;
  }
  return done;
}

}  // namespace strobe::shm
