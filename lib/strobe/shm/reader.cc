#include "strobe/shm/reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "strobe/shm/fault_guard.h"

namespace strobe::shm {
namespace {
// How long a segment file may exist without a published header before it counts as junk.
constexpr time_t kUnpublishedGraceSeconds = 10;
}  // namespace

Result<RingReader> RingReader::Attach(uint8_t* base, size_t size) {
  if (size < STROBE_RING_HEADER_BYTES) return InvalidArgument("shm segment shorter than header");
  auto* h = reinterpret_cast<strobe_ring_header*>(base);
  // Pairs with the producer's release store of magic in Connect().
  if (std::atomic_ref<uint32_t>(h->magic).load(std::memory_order_acquire) != STROBE_RING_MAGIC) {
    return InvalidArgument("shm segment has no strobe magic");
  }
  if (h->version != STROBE_RING_VERSION) {
    return InvalidArgument("shm ring version " + std::to_string(h->version) + " unsupported");
  }
  const uint64_t cap = h->capacity_bytes;
  const uint64_t hb = h->header_bytes;
  const uint64_t defs = h->defs_bytes;
  if (hb < STROBE_RING_HEADER_BYTES || hb % 64 != 0 || cap < STROBE_RING_MIN_CAPACITY ||
      cap > STROBE_RING_MAX_CAPACITY || (cap & (cap - 1)) != 0 || hb + cap > size ||
      defs % STROBE_RECORD_ALIGN != 0 || defs > size - hb - cap) {
    return InvalidArgument("shm ring header has an invalid size or capacity");
  }
  return RingReader(h, base + hb, cap, defs);
}

size_t RingReader::ReplayDefinitions(RecordSink& sink, ReaderStats& stats) noexcept {
  if (defs_bytes_ == 0) return 0;
  const uint8_t* log = data_ + capacity_;
  // Acquire pairs with the producer's release store of defs_end after writing the frame.
  const uint64_t end = std::min(
      Word(header_, &strobe_ring_header::defs_end).load(std::memory_order_acquire), defs_bytes_);
  // Definitions at ring positions from read_pos on are still in the ring: they arrive there.
  const uint64_t read_pos =
      Word(header_, &strobe_ring_header::read_pos).load(std::memory_order_relaxed);
  // Definitions the sink refuses here (series limit, a label key it cannot intern) are this
  // ring's refusals like any other: reported to the producer's next flush.
  uint64_t rejected_seen = sink.RejectedRecords();
  uint64_t off = 0;
  size_t n = 0;
  while (off + STROBE_FRAME_BYTES <= end) {
    strobe_frame f;
    std::memcpy(&f, log + off, sizeof f);  // read once: the bytes are untrusted
    const uint64_t total = (uint64_t{STROBE_FRAME_BYTES} + f.length + 7) & ~uint64_t{7};
    if (f.type != STROBE_REC_SERIES_DEFINE || f.flags != 0 || f.length < 8 ||
        f.length > STROBE_RECORD_MAX_PAYLOAD + 8 || total > end - off) {
      ++stats.malformed;
      stats.malformed_bytes += end - off;
      AddRejected(1);  // the rest of the log is lost: at least one definition
      break;
    }
    const uint8_t* entry = log + off + STROBE_FRAME_BYTES;
    uint64_t ring_pos = 0;
    std::memcpy(&ring_pos, entry, 8);
    if (ring_pos < read_pos) {
      sink.OnRecord(RecordView{segment_id_, f.type, entry + 8, f.length - 8});
      ++n;
    }
    off += total;
  }
  stats.definitions_replayed += n;
  PublishRejected(sink, &rejected_seen);
  return n;
}

bool RingReader::Empty() const noexcept {
  // Acquire pairs with the producer's release store of write_pos.
  return Word(header_, &strobe_ring_header::write_pos).load(std::memory_order_acquire) ==
         Word(header_, &strobe_ring_header::read_pos).load(std::memory_order_relaxed);
}

bool RingReader::Closed() const noexcept {
  // Acquire pairs with the release store of `closed` in ~Producer().
  return Word(header_, &strobe_ring_header::closed).load(std::memory_order_acquire) != 0;
}

bool RingReader::HasTornRecord() const noexcept {
  // Relaxed: the producer is dead; its last stores are as visible as they will ever be.
  return Word(header_, &strobe_ring_header::reserve_pos).load(std::memory_order_relaxed) !=
         Word(header_, &strobe_ring_header::write_pos).load(std::memory_order_relaxed);
}

uint64_t RingReader::DroppedByProducer() const noexcept {
  // Relaxed: a statistic; pairs with nothing.
  return Word(header_, &strobe_ring_header::dropped_records).load(std::memory_order_relaxed);
}

void RingReader::AddRejected(uint64_t n) noexcept {
  auto word = Word(header_, &strobe_ring_header::rejected_records);
  // Relaxed: we are its only writer; the release store of ack_seq that follows publishes it.
  word.store(word.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

void RingReader::PublishRejected(const RecordSink& sink, uint64_t* seen) noexcept {
  const uint64_t now = sink.RejectedRecords();
  if (now == *seen) return;
  AddRejected(now - *seen);
  *seen = now;
}

void RingReader::SkipTo(uint64_t write_pos, uint64_t read_pos, ReaderStats& stats) noexcept {
  ++stats.malformed;
  stats.malformed_bytes += write_pos - read_pos;
  // What was skipped cannot be counted in records; the producer's flush must still not report
  // success, so the skip counts as one (as in strobe_shm_invalid_records_total).
  AddRejected(1);
  // Release pairs with the producer's acquire load of read_pos in HasRoom().
  Word(header_, &strobe_ring_header::read_pos).store(write_pos, std::memory_order_release);
}

size_t RingReader::Drain(RecordSink& sink, size_t max_records, ReaderStats& stats) noexcept {
  // Acquire pairs with the producer's release store in Commit(): the bytes up to w are written.
  const uint64_t w = Word(header_, &strobe_ring_header::write_pos).load(std::memory_order_acquire);
  // read_pos is ours (single consumer); relaxed is enough to read our own last store.
  uint64_t r = Word(header_, &strobe_ring_header::read_pos).load(std::memory_order_relaxed);
  if (w == r) return 0;
  if (w - r > capacity_ || (w - r) % STROBE_RECORD_ALIGN != 0 || r % STROBE_RECORD_ALIGN != 0) {
    // Positions a correct producer cannot produce; resynchronise at its write position.
    SkipTo(w, r, stats);
    return 0;
  }
  // What the sink refuses from here on is this ring's (one virtual call per drain, not per
  // record).
  uint64_t rejected_seen = sink.RejectedRecords();
  size_t n = 0;
  while (r != w && n < max_records) {
    const uint64_t off = r & mask_;
    strobe_frame f;
    std::memcpy(&f, data_ + off, sizeof f);  // read once: the bytes are untrusted
    const uint64_t total = (uint64_t{STROBE_FRAME_BYTES} + f.length + 7) & ~uint64_t{7};
    const bool fits = off + total <= capacity_ && total <= w - r;
    if (!fits || f.flags != 0 || f.type >= STROBE_REC_TYPE_COUNT ||
        (f.type == STROBE_REC_PAD && off + total != capacity_) ||
        (f.type != STROBE_REC_PAD && f.length > STROBE_RECORD_MAX_PAYLOAD)) {
      // The records delivered before the bad frame count, and so do the sink's refusals of
      // them (the producer's next flush reports those).
      stats.records += n;
      PublishRejected(sink, &rejected_seen);
      SkipTo(w, r, stats);
      return n;
    }
    if (f.type != STROBE_REC_PAD) {
      RecordView v{segment_id_, f.type, data_ + off + STROBE_FRAME_BYTES, f.length};
      uint64_t seq = 0;
      const bool ping = f.type == STROBE_REC_PING && DecodePing(v, &seq);
      // The sink could not hand on what came before: leave the PING unconsumed (read_pos stops
      // in front of it) and unanswered; the next Drain offers it again.
      if (ping && !sink.ReadyToAck(segment_id_)) break;
      sink.OnRecord(v);
      ++n;
      if (ping) {
        PublishRejected(sink, &rejected_seen);
        // Release pairs with the producer's acquire load in AckSeq(): everything the sink did
        // for the records up to this PING happens-before the producer sees the ack.
        Word(header_, &strobe_ring_header::ack_seq).store(seq, std::memory_order_release);
      }
    }
    stats.bytes += total;
    r += total;
  }
  stats.records += n;
  PublishRejected(sink, &rejected_seen);
  // Release pairs with the producer's acquire load of read_pos: we are done with these bytes.
  Word(header_, &strobe_ring_header::read_pos).store(r, std::memory_order_release);
  return n;
}

namespace {

// Reads the pid in a daemon marker we may trust: a regular file owned by `euid` (opened
// without following links or blocking on a FIFO). 0 when absent or untrusted.
long TrustedMarkerPid(const std::string& path, uid_t euid) {
  struct stat st {};
  const int fd = OpenRegularFile(path, euid, &st);
  if (fd < 0) return 0;
  const uint32_t pid = ReadMarkerPid(fd);
  close(fd);
  return static_cast<long>(pid);
}

// Creates a new file next to `base` under an unpredictable name with O_CREAT|O_EXCL|
// O_NOFOLLOW (nothing planted in a shared directory can be followed or reused). Returns the fd
// and sets *path, or -1 with errno set.
int CreateExclusive(const std::string& base, mode_t mode, std::string* path) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
      r = static_cast<uint64_t>(getpid()) * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(attempt);
    }
    char suffix[24];
    std::snprintf(suffix, sizeof suffix, ".tmp.%016llx", static_cast<unsigned long long>(r));
    *path = base + suffix;
    const int fd = open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

// Largest segment we map: header, the largest data area and a definitions log of up to
// 64 MiB. A larger (sparse) file is mapped only up to this.
constexpr uint64_t kMaxSegmentBytes =
    STROBE_RING_HEADER_BYTES + STROBE_RING_MAX_CAPACITY + (uint64_t{64} << 20);

}  // namespace

Result<std::unique_ptr<Consumer>> Consumer::Open(const ConsumerOptions& options) {
  if (!ValidRingName(options.ring)) {
    return InvalidArgument("shm ring name '" + options.ring + "' must match [A-Za-z0-9_.]{1,64}");
  }
  struct stat st {};
  if (stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFound("shm directory " + options.dir + " does not exist");
  }
  const uid_t euid = geteuid();
  if (options.write_daemon_marker) {
    const std::string marker = DaemonMarkerPath(options.dir, options.ring);
    // One consumer per ring name: two daemons draining the same rings would split and
    // reorder every producer's stream. A marker of a dead daemon is stale and replaced; a
    // marker not owned by our user proves nothing (anyone can write a live pid into a file)
    // and is replaced too.
    const long other = TrustedMarkerPid(marker, euid);
    if (other > 0 && other != static_cast<long>(getpid()) &&
        ProcessAlive(static_cast<uint32_t>(other))) {
      return FailedPrecondition("shm ring '" + options.ring + "' in " + options.dir +
                                " is already consumed by pid " + std::to_string(other) + " (" +
                                marker + ")");
    }
    std::string tmp;
    const int fd = CreateExclusive(marker, 0600, &tmp);
    if (fd < 0) {
      return Unavailable("cannot create daemon marker next to " + marker + ": " +
                         std::strerror(errno));
    }
    fchmod(fd, 0600);  // not narrowed or widened by the umask
    // The pid first: producers of every version read it; the features line tells newer ones
    // what this daemon reads (ring_abi.h).
    const std::string text =
        std::to_string(getpid()) + "\nfeatures " + std::to_string(STROBE_FEATURES_ALL) + "\n";
    const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    close(fd);
    // rename() replaces whatever is at `marker` (a symlink is replaced, never followed).
    if (!written || rename(tmp.c_str(), marker.c_str()) != 0) {
      const int err = written ? errno : EIO;
      unlink(tmp.c_str());
      std::string why = std::strerror(err);
      struct stat in_way {};
      if (lstat(marker.c_str(), &in_way) == 0 && in_way.st_uid != euid) {
        why += "; it is owned by uid " + std::to_string(in_way.st_uid) +
               ", not by this daemon's user: remove it";
      }
      return Unavailable("cannot publish daemon marker " + marker + ": " + why);
    }
  }
  ConsumerOptions o = options;
  if (o.allowed_uids.empty() && o.allowed_gids.empty()) {
    o.allowed_uids.push_back(static_cast<uint32_t>(euid));
    o.allowed_gids.push_back(static_cast<uint32_t>(getegid()));
  }
  InstallFaultGuard();
  auto c = std::unique_ptr<Consumer>(new Consumer(std::move(o)));
  c->euid_ = euid;
  return c;
}

Consumer::~Consumer() {
  if (!options_.write_daemon_marker) return;
  // Remove the marker only while it is still ours (another daemon may have replaced it).
  const std::string marker = DaemonMarkerPath(options_.dir, options_.ring);
  if (TrustedMarkerPid(marker, euid_) == static_cast<long>(getpid())) unlink(marker.c_str());
}

bool Consumer::Allowed(uint32_t uid, uint32_t gid) const {
  if (options_.allow_any_owner) return true;
  return std::find(options_.allowed_uids.begin(), options_.allowed_uids.end(), uid) !=
             options_.allowed_uids.end() ||
         std::find(options_.allowed_gids.begin(), options_.allowed_gids.end(), gid) !=
             options_.allowed_gids.end();
}

bool Consumer::Reclaim(Ring& ring, RecordSink& sink) {
  FaultScope scope(ring.mapping.data(), ring.mapping.size());
  // A dead producer's write_pos no longer moves: its ring holds at most capacity/8 records.
  // One that still moves belongs to a producer that only claims to be dead (closed, or a
  // dead pid in its header) and keeps writing; draining it until it stops would hold this
  // thread, and every other ring, for as long as it likes. Drain one ring's worth per Scan;
  // the rest waits for Poll and the next Scan, like a live ring's.
  size_t budget = static_cast<size_t>(ring.reader.capacity() / STROBE_RECORD_ALIGN);
  while (budget > 0 && !scope.faulted()) {
    const size_t n = ring.reader.Drain(sink, budget, stats_);
    if (n == 0) break;
    budget -= n;
  }
  if (scope.faulted()) {
    ring.faulted = true;
    return false;
  }
  // The producer is gone, so write_pos no longer moves: records left mean the drain stopped at
  // a PING the sink was not ready to acknowledge. Keep the ring; a later Scan finishes it.
  if (!ring.reader.Empty()) return false;
  if (ring.reader.HasTornRecord()) ++stats_.torn;
  const uint64_t dropped = ring.reader.DroppedByProducer();
  stats_.producer_dropped += dropped - std::min(dropped, ring.dropped_seen);
  ring.dropped_seen = dropped;
  if (scope.faulted()) {
    ring.faulted = true;
    return false;
  }
  // Only files of allowed owners are ever attached, so this removes no one else's file.
  unlink(ring.path.c_str());
  ++stats_.rings_reclaimed;
  sink.OnRingClosed(ring.reader.segment_id());
  return true;
}

void Consumer::DropFaulted(Ring& ring, RecordSink& sink) {
  ++stats_.rings_truncated;
  rejected_.push_back({ring.path, ring.inode, true});
  sink.OnRingClosed(ring.reader.segment_id());
}

void Consumer::TryAttach(const std::string& path, uint32_t id, RecordSink& sink) {
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return;
  }
  if (!Allowed(st.st_uid, st.st_gid)) {
    // Not ours to read, write or remove: counted once, looked at again only if replaced.
    close(fd);
    ++stats_.rings_rejected_owner;
    rejected_.push_back({path, st.st_ino, true});
    return;
  }
  void* base = MAP_FAILED;
  const size_t size = static_cast<size_t>(
      std::min<uint64_t>(static_cast<uint64_t>(std::max<off_t>(st.st_size, 0)), kMaxSegmentBytes));
  if (size >= STROBE_RING_HEADER_BYTES) {
    base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  close(fd);
  // The id in a file name is not necessarily a pid (ProducerOptions::instance): liveness
  // comes from the published header only. A file that never became a ring (a producer
  // between open() and publishing, or junk) is removed once it is older than a producer
  // could take to publish; until then it is looked at again next scan.
  const bool old_junk = time(nullptr) - st.st_mtime > kUnpublishedGraceSeconds;
  if (base == MAP_FAILED) {
    if (old_junk) unlink(path.c_str());
    return;
  }
  Mapping m(base, size);
  std::unique_ptr<Ring> ring;
  bool unlink_it = false;
  {
    // The owner may shrink the file at any time, even now.
    FaultScope scope(m.data(), m.size());
    auto* header = reinterpret_cast<strobe_ring_header*>(m.data());
    // Judge the header only once it is published: the magic is stored last (release), so a
    // header read before it may be half written. (Reading the magic only after a failed
    // Attach raced with a producer publishing in between and rejected good rings for good.)
    const bool published =
        std::atomic_ref<uint32_t>(header->magic).load(std::memory_order_acquire) ==
        STROBE_RING_MAGIC;
    auto reader = published ? RingReader::Attach(m.data(), m.size())
                            : Result<RingReader>(Unavailable("ring header not published yet"));
    if (scope.faulted()) {
      ++stats_.rings_truncated;
      rejected_.push_back({path, st.st_ino, true});
      return;
    }
    if (!reader.ok()) {
      const uint32_t writer =
          published
              ? std::atomic_ref<uint32_t>(header->producer_pid).load(std::memory_order_relaxed)
              : 0;
      if (published ? !ProcessAlive(writer) : old_junk) {
        unlink_it = true;  // stale and unreadable (and its owner is allowed)
      } else if (published) {
        ++stats_.rings_rejected;  // published but invalid: never retry
        rejected_.push_back({path, st.st_ino, true});
      }
    } else {
      ring = std::make_unique<Ring>(Ring{path, std::move(m), *reader, st.st_ino, 0, false});
    }
  }
  if (unlink_it) unlink(path.c_str());
  if (ring == nullptr) return;
  ring->reader.set_segment_id(id);
  ++stats_.rings_attached;
  {
    FaultScope scope(ring->mapping.data(), ring->mapping.size());
    // Relaxed: diagnostics only.
    std::atomic_ref<uint32_t>(ring->reader.header()->consumer_pid)
        .store(static_cast<uint32_t>(getpid()), std::memory_order_relaxed);
    sink.OnRingAttached(id, static_cast<uint32_t>(st.st_uid));
    // Series defined before we attached (a restarted daemon) become known before any point.
    ring->reader.ReplayDefinitions(sink, stats_);
    if (scope.faulted()) {
      DropFaulted(*ring, sink);
      return;
    }
  }
  // A stale segment from before: deliver what it holds, then remove it (or keep it attached
  // until the sink takes the rest).
  bool dead = false;
  {
    FaultScope scope(ring->mapping.data(), ring->mapping.size());
    dead = ring->reader.Closed() || !ProcessAlive(ring->reader.producer_pid());
  }
  if (dead && Reclaim(*ring, sink)) return;
  if (ring->faulted) {
    DropFaulted(*ring, sink);
    return;
  }
  rings_.push_back(std::move(ring));
}

size_t Consumer::Scan(RecordSink& sink) {
  // Rings whose producer died: drain, count, remove. Rings whose file shrank: drop.
  for (auto it = rings_.begin(); it != rings_.end();) {
    Ring& ring = **it;
    bool dead = false;
    if (!ring.faulted) {
      FaultScope scope(ring.mapping.data(), ring.mapping.size());
      const uint64_t dropped = ring.reader.DroppedByProducer();
      stats_.producer_dropped += dropped - std::min(dropped, ring.dropped_seen);
      ring.dropped_seen = dropped;
      dead = ring.reader.Closed() || !ProcessAlive(ring.reader.producer_pid());
      if (scope.faulted()) ring.faulted = true;
    }
    if (!ring.faulted && dead && Reclaim(ring, sink)) {
      it = rings_.erase(it);
    } else if (ring.faulted) {
      DropFaulted(ring, sink);
      it = rings_.erase(it);
    } else {
      ++it;
    }
  }
  DIR* d = opendir(options_.dir.c_str());
  if (d == nullptr) return rings_.size();
  for (Rejected& r : rejected_) r.seen = false;
  while (dirent* e = readdir(d)) {
    uint32_t id = 0;
    if (!ParseSegmentName(e->d_name, options_.ring, &id)) continue;
    const std::string path = options_.dir + "/" + e->d_name;
    bool known =
        std::any_of(rings_.begin(), rings_.end(), [&](const auto& r) { return r->path == path; });
    if (known) continue;
    auto rej = std::find_if(rejected_.begin(), rejected_.end(),
                            [&](const Rejected& r) { return r.path == path; });
    if (rej != rejected_.end()) {
      if (rej->inode == e->d_ino) {
        rej->seen = true;
        continue;
      }
      rejected_.erase(rej);  // replaced by a new file: look at it afresh
    }
    TryAttach(path, id, sink);
  }
  closedir(d);
  // Forget rejected files that are gone (the list stays as small as the directory).
  std::erase_if(rejected_, [](const Rejected& r) { return !r.seen; });
  return rings_.size();
}

size_t Consumer::Poll(RecordSink& sink) noexcept {
  size_t n = 0;
  bool faulted = false;
  for (auto& ring : rings_) {
    if (ring->faulted) continue;
    // Two thread-local stores: the owner may shrink the file while we read it.
    FaultScope scope(ring->mapping.data(), ring->mapping.size());
    n += ring->reader.Drain(sink, options_.max_records_per_ring, stats_);
    if (scope.faulted()) {
      ring->faulted = true;
      faulted = true;
    }
  }
  if (faulted) {
    for (auto it = rings_.begin(); it != rings_.end();) {
      if ((*it)->faulted) {
        DropFaulted(**it, sink);
        it = rings_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return n;
}

}  // namespace strobe::shm
