#include "strobe/shm/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace strobe::shm {
namespace {

// Header offsets (docs/shm-format.md).
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 4;
constexpr size_t kOffHeaderBytes = 6;
constexpr size_t kOffCapacity = 8;
constexpr size_t kOffWriterPid = 16;
constexpr size_t kOffCreatedNs = 24;
constexpr size_t kOffSeq = 64;
constexpr size_t kOffGeneration = 72;
constexpr size_t kOffLength = 80;
constexpr size_t kOffTime = 88;

std::atomic_ref<uint64_t> U64(uint8_t* base, size_t off) {
  return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(base + off));
}
// Reader side: the mapping is read-only; atomic_ref needs a non-const object, and only
// loads are made through it.
std::atomic_ref<uint64_t> U64(const uint8_t* base, size_t off) {
  return U64(const_cast<uint8_t*>(base), off);
}
std::atomic_ref<uint32_t> U32(const uint8_t* base, size_t off) {
  return std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(const_cast<uint8_t*>(base) + off));
}

uint64_t WallNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Validates the fixed header of `size` mapped bytes; returns the capacity.
Result<uint64_t> CheckHeader(const uint8_t* base, size_t size) {
  if (size < kSnapshotHeaderBytes) return InvalidArgument("snapshot segment shorter than header");
  // Acquire: pairs with the writer's release store of the magic (stored last in Create).
  if (U32(base, kOffMagic).load(std::memory_order_acquire) != kSnapshotMagic) {
    return InvalidArgument("not a strobe snapshot segment (bad magic)");
  }
  uint16_t version, header_bytes;
  std::memcpy(&version, base + kOffVersion, 2);
  std::memcpy(&header_bytes, base + kOffHeaderBytes, 2);
  if (version != kSnapshotVersion) {
    return InvalidArgument("snapshot version " + std::to_string(version) + " unsupported");
  }
  const uint64_t cap = U64(base, kOffCapacity).load(std::memory_order_relaxed);
  if (header_bytes != kSnapshotHeaderBytes || cap % 8 != 0 || cap > kSnapshotMaxCapacity ||
      kSnapshotHeaderBytes + cap > size) {
    return InvalidArgument("snapshot header has an invalid size or capacity");
  }
  return cap;
}

}  // namespace

std::string SnapshotPath(std::string_view dir, std::string_view ring) {
  return std::string(dir) + "/strobe-" + std::string(ring) + ".snapshot";
}

Result<std::unique_ptr<SnapshotWriter>> SnapshotWriter::Create(
    const SnapshotWriterOptions& options) {
  if (!ValidRingName(options.ring)) {
    return InvalidArgument("shm ring name '" + options.ring + "' must match [A-Za-z0-9_.]{1,64}");
  }
  const uint64_t cap = (options.capacity_bytes + 7) & ~uint64_t{7};
  if (cap == 0 || cap > kSnapshotMaxCapacity) {
    return InvalidArgument("snapshot capacity must be in (0, 1 GiB]");
  }
  const std::string path = SnapshotPath(options.dir, options.ring);
  // An existing segment: refuse if its writer is alive (another daemon), else replace it.
  // A file under our name that our user does not own proves nothing and is not ours to remove
  // (docs/security.md): refuse clearly instead of trusting or deleting it.
  struct stat in_way {};
  if (lstat(path.c_str(), &in_way) == 0 && in_way.st_uid != geteuid()) {
    return FailedPrecondition("snapshot " + path + " exists and is owned by uid " +
                              std::to_string(in_way.st_uid) +
                              ", not by this daemon's user: remove it");
  }
  if (auto existing = SnapshotReader::Open(options.dir, options.ring); existing.ok()) {
    auto s = existing->Read();
    const uint32_t pid = s.ok() ? s->writer_pid : 0;
    if (pid != 0 && pid != static_cast<uint32_t>(getpid()) && ProcessAlive(pid)) {
      return FailedPrecondition("snapshot " + path + " is written by live pid " +
                                std::to_string(pid) + " (another strobe daemon on ring '" +
                                options.ring + "')");
    }
  }
  unlink(path.c_str());  // stale (ours) or absent
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                      static_cast<mode_t>(options.mode));
  if (fd < 0) return Unavailable("cannot create " + path + ": " + std::strerror(errno));
  fchmod(fd, static_cast<mode_t>(options.mode));  // not narrowed by the umask
  const size_t size = kSnapshotHeaderBytes + cap;
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    const int err = errno;
    close(fd);
    unlink(path.c_str());
    return Unavailable("cannot size " + path + ": " + std::strerror(err));
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) {
    unlink(path.c_str());
    return Unavailable("cannot map " + path + ": " + std::strerror(errno));
  }
  Mapping m(base, size);
  uint8_t* b = m.data();
  const uint16_t version = kSnapshotVersion, header_bytes = kSnapshotHeaderBytes;
  std::memcpy(b + kOffVersion, &version, 2);
  std::memcpy(b + kOffHeaderBytes, &header_bytes, 2);
  U64(b, kOffCapacity).store(cap, std::memory_order_relaxed);
  U32(b, kOffWriterPid).store(static_cast<uint32_t>(getpid()), std::memory_order_relaxed);
  U64(b, kOffCreatedNs).store(WallNs(), std::memory_order_relaxed);
  // Release: readers that see the magic see every field above.
  U32(b, kOffMagic).store(kSnapshotMagic, std::memory_order_release);
  return std::unique_ptr<SnapshotWriter>(new SnapshotWriter(std::move(m), path, cap));
}

SnapshotWriter::~SnapshotWriter() { unlink(path_.c_str()); }

namespace {

// The pid recorded in an open daemon file: the writer pid of a snapshot header (0 unless the
// magic is there), or the decimal text of a marker.
uint32_t RecordedPid(int fd, bool snapshot) {
  if (snapshot) {
    uint8_t head[kOffCreatedNs] = {};
    if (pread(fd, head, sizeof head, 0) != static_cast<ssize_t>(sizeof head)) return 0;
    uint32_t magic = 0, pid = 0;
    std::memcpy(&magic, head + kOffMagic, 4);
    std::memcpy(&pid, head + kOffWriterPid, 4);
    return magic == kSnapshotMagic ? pid : 0;
  }
  return ReadMarkerPid(fd);
}

}  // namespace

std::vector<StaleDaemonFile> RemoveStaleDaemonFiles(std::string_view dir) {
  std::vector<StaleDaemonFile> removed;
  const std::string d(dir);
  DIR* listing = opendir(d.c_str());
  if (listing == nullptr) return removed;
  const uid_t euid = geteuid();
  const auto self = static_cast<uint32_t>(getpid());
  while (const dirent* e = readdir(listing)) {
    const std::string_view name = e->d_name;
    constexpr std::string_view kPrefix = "strobe-", kSnap = ".snapshot", kMarker = ".daemon";
    if (name.substr(0, kPrefix.size()) != kPrefix) continue;
    const bool snapshot = name.ends_with(kSnap);
    if (!snapshot && !name.ends_with(kMarker)) continue;
    const std::string_view ring = name.substr(
        kPrefix.size(), name.size() - kPrefix.size() - (snapshot ? kSnap : kMarker).size());
    if (!ValidRingName(ring)) continue;
    const std::string path = d + "/" + std::string(name);
    struct stat st {};
    const int fd = OpenRegularFile(path, euid, &st);
    if (fd < 0) continue;
    const uint32_t pid = RecordedPid(fd, snapshot);
    close(fd);
    if (pid == 0 || pid == self || ProcessAlive(pid)) continue;
    struct stat now {};
    if (lstat(path.c_str(), &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
      continue;  // replaced since we looked: not the file we judged
    }
    if (unlink(path.c_str()) == 0) removed.push_back({path, pid});
  }
  closedir(listing);
  return removed;
}

Status SnapshotWriter::Publish(std::string_view document, uint64_t time_unix_ns) {
  if (document.size() > capacity_) {
    ++too_large_;
    return ResourceExhausted("snapshot document of " + std::to_string(document.size()) +
                             " bytes exceeds the segment's " + std::to_string(capacity_));
  }
  uint8_t* b = mapping_.data();
  // Odd: a publish is in progress. Relaxed is enough: every store below is a release, so
  // none of them can become visible before this one.
  U64(b, kOffSeq).store(++seq_, std::memory_order_relaxed);
  uint8_t* data = b + kSnapshotHeaderBytes;
  const size_t whole = document.size() / 8;
  for (size_t w = 0; w < whole; ++w) {
    uint64_t v;
    std::memcpy(&v, document.data() + w * 8, 8);
    U64(data, w * 8).store(v, std::memory_order_release);
  }
  if (const size_t rest = document.size() % 8; rest != 0) {
    uint64_t v = 0;
    std::memcpy(&v, document.data() + whole * 8, rest);
    U64(data, whole * 8).store(v, std::memory_order_release);
  }
  U64(b, kOffGeneration).store(++generation_, std::memory_order_release);
  U64(b, kOffLength).store(document.size(), std::memory_order_release);
  U64(b, kOffTime).store(time_unix_ns, std::memory_order_release);
  // Even: done. Release: a reader that sees it sees the whole document.
  U64(b, kOffSeq).store(++seq_, std::memory_order_release);
  ++publishes_;
  return OkStatus();
}

Result<SnapshotReader> SnapshotReader::Open(std::string_view dir, std::string_view ring) {
  if (!ValidRingName(ring)) {
    return InvalidArgument("shm ring name '" + std::string(ring) +
                           "' must match [A-Za-z0-9_.]{1,64}");
  }
  const std::string path = SnapshotPath(dir, ring);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("no strobe snapshot " + path + " (daemon not running?)");
    return Unavailable("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return InvalidArgument(path + " is not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size < kSnapshotHeaderBytes) {
    close(fd);
    return InvalidArgument(path + ": snapshot segment shorter than header");
  }
  void* base = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (base == MAP_FAILED) return Unavailable("cannot map " + path + ": " + std::strerror(errno));
  Mapping m(base, size);
  auto cap = CheckHeader(m.data(), m.size());
  if (!cap.ok()) return cap.status().WithContext(path);
  return SnapshotReader(std::move(m), *cap);
}

Result<Snapshot> SnapshotReader::Read() const {
  const uint8_t* b = mapping_->data();
  const uint8_t* data = b + kSnapshotHeaderBytes;
  Snapshot out;
  out.writer_pid = U32(b, kOffWriterPid).load(std::memory_order_relaxed);
  if (out.writer_pid == 0 || !ProcessAlive(out.writer_pid)) {
    return Unavailable("the strobe daemon that wrote this snapshot is not running");
  }
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const uint64_t s1 = U64(b, kOffSeq).load(std::memory_order_acquire);
    if (s1 == 0) return Unavailable("no snapshot published yet");
    if (s1 % 2 == 0) {
      const uint64_t length = U64(b, kOffLength).load(std::memory_order_acquire);
      out.generation = U64(b, kOffGeneration).load(std::memory_order_acquire);
      out.time_unix_ns = U64(b, kOffTime).load(std::memory_order_acquire);
      if (length <= capacity_) {
        const size_t words = (length + 7) / 8;
        out.document.resize(words * 8);
        for (size_t w = 0; w < words; ++w) {
          const uint64_t v = U64(data, w * 8).load(std::memory_order_acquire);
          std::memcpy(out.document.data() + w * 8, &v, 8);
        }
        out.document.resize(length);
      }
      // The acquire loads above keep this load after them (see the header comment).
      if (U64(b, kOffSeq).load(std::memory_order_relaxed) == s1) {
        if (length > capacity_) return InvalidArgument("snapshot length exceeds its capacity");
        return out;
      }
    }
    // A publish is in progress: let the writer finish.
    timespec pause{0, 50'000};
    nanosleep(&pause, nullptr);
  }
  return Unavailable("snapshot kept changing while being read");
}

}  // namespace strobe::shm
