#include "strobe/shm/reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

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
  if (hb < STROBE_RING_HEADER_BYTES || hb % 64 != 0 || cap < STROBE_RING_MIN_CAPACITY ||
      cap > STROBE_RING_MAX_CAPACITY || (cap & (cap - 1)) != 0 || hb + cap > size) {
    return InvalidArgument("shm ring header has an invalid size or capacity");
  }
  return RingReader(h, base + hb, cap);
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

void RingReader::SkipTo(uint64_t write_pos, uint64_t read_pos, ReaderStats& stats) noexcept {
  ++stats.malformed;
  stats.malformed_bytes += write_pos - read_pos;
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
        // Release pairs with the producer's acquire load in AckSeq(): everything the sink did
        // for the records up to this PING happens-before the producer sees the ack.
        Word(header_, &strobe_ring_header::ack_seq).store(seq, std::memory_order_release);
      }
    }
    stats.bytes += total;
    r += total;
  }
  stats.records += n;
  // Release pairs with the producer's acquire load of read_pos: we are done with these bytes.
  Word(header_, &strobe_ring_header::read_pos).store(r, std::memory_order_release);
  return n;
}

Result<std::unique_ptr<Consumer>> Consumer::Open(const ConsumerOptions& options) {
  if (!ValidRingName(options.ring)) {
    return InvalidArgument("shm ring name '" + options.ring + "' must match [A-Za-z0-9_.]{1,64}");
  }
  struct stat st {};
  if (stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFound("shm directory " + options.dir + " does not exist");
  }
  if (options.write_daemon_marker) {
    const std::string marker = DaemonMarkerPath(options.dir, options.ring);
    // One consumer per ring name: two daemons draining the same rings would split and
    // reorder every producer's stream. A marker of a dead daemon is stale and replaced.
    {
      std::ifstream in(marker);
      long other = 0;
      if (in >> other && other > 0 && other != static_cast<long>(getpid()) &&
          ProcessAlive(static_cast<uint32_t>(other))) {
        return FailedPrecondition("shm ring '" + options.ring + "' in " + options.dir +
                                  " is already consumed by pid " + std::to_string(other) + " (" +
                                  marker + ")");
      }
    }
    const std::string tmp = marker + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << getpid() << '\n';
      if (!out) return Unavailable("cannot write daemon marker " + tmp);
    }
    chmod(tmp.c_str(), 0600);
    if (rename(tmp.c_str(), marker.c_str()) != 0) {
      return Unavailable("cannot publish daemon marker " + marker + ": " + std::strerror(errno));
    }
  }
  return std::unique_ptr<Consumer>(new Consumer(options));
}

Consumer::~Consumer() {
  if (options_.write_daemon_marker) unlink(DaemonMarkerPath(options_.dir, options_.ring).c_str());
}

bool Consumer::Reclaim(Ring& ring, RecordSink& sink) {
  while (ring.reader.Drain(sink, SIZE_MAX, stats_) > 0) {
  }
  // The producer is gone, so write_pos no longer moves: records left mean the drain stopped at
  // a PING the sink was not ready to acknowledge. Keep the ring; a later Scan finishes it.
  if (!ring.reader.Empty()) return false;
  if (ring.reader.HasTornRecord()) ++stats_.torn;
  const uint64_t dropped = ring.reader.DroppedByProducer();
  stats_.producer_dropped += dropped - std::min(dropped, ring.dropped_seen);
  ring.dropped_seen = dropped;
  unlink(ring.path.c_str());
  ++stats_.rings_reclaimed;
  sink.OnRingClosed(ring.reader.segment_id());
  return true;
}

size_t Consumer::Scan(RecordSink& sink) {
  // Rings whose producer died: drain, count, remove.
  for (auto it = rings_.begin(); it != rings_.end();) {
    Ring& ring = **it;
    const uint64_t dropped = ring.reader.DroppedByProducer();
    stats_.producer_dropped += dropped - std::min(dropped, ring.dropped_seen);
    ring.dropped_seen = dropped;
    if ((ring.reader.Closed() || !ProcessAlive(ring.reader.producer_pid())) &&
        Reclaim(ring, sink)) {
      it = rings_.erase(it);
    } else {
      ++it;
    }
  }
  DIR* d = opendir(options_.dir.c_str());
  if (d == nullptr) return rings_.size();
  while (dirent* e = readdir(d)) {
    uint32_t pid = 0;
    if (!ParseSegmentName(e->d_name, options_.ring, &pid)) continue;
    const std::string path = options_.dir + "/" + e->d_name;
    bool known =
        std::any_of(rings_.begin(), rings_.end(), [&](const auto& r) { return r->path == path; });
    if (known || std::find(rejected_.begin(), rejected_.end(), path) != rejected_.end()) continue;
    const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    struct stat st {};
    void* base = MAP_FAILED;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size >= static_cast<off_t>(STROBE_RING_HEADER_BYTES)) {
      base =
          mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    }
    close(fd);
    // The id in a file name is not necessarily a pid (ProducerOptions::instance): liveness
    // comes from the published header only. A file that never became a ring (a producer
    // between open() and publishing, or junk) is removed once it is older than a producer
    // could take to publish; until then it is looked at again next scan.
    const bool old_junk = time(nullptr) - st.st_mtime > kUnpublishedGraceSeconds;
    if (base == MAP_FAILED) {
      if (old_junk) unlink(path.c_str());
      continue;
    }
    Mapping m(base, static_cast<size_t>(st.st_size));
    // Judge the header only once it is published: the magic is stored last (release), so a
    // header read before it may be half written. (Reading the magic only after a failed
    // Attach raced with a producer publishing in between and rejected good rings for good.)
    const bool published =
        std::atomic_ref<uint32_t>(reinterpret_cast<strobe_ring_header*>(m.data())->magic)
            .load(std::memory_order_acquire) == STROBE_RING_MAGIC;
    auto reader = published ? RingReader::Attach(m.data(), m.size())
                            : Result<RingReader>(Unavailable("ring header not published yet"));
    if (!reader.ok()) {
      const uint32_t writer =
          published ? std::atomic_ref<uint32_t>(
                          reinterpret_cast<strobe_ring_header*>(m.data())->producer_pid)
                          .load(std::memory_order_relaxed)
                    : 0;
      if (published ? !ProcessAlive(writer) : old_junk) {
        unlink(path.c_str());  // stale and unreadable
      } else if (published) {
        ++stats_.rings_rejected;  // published but invalid: never retry
        rejected_.push_back(path);
      }
      continue;
    }
    auto ring = std::make_unique<Ring>(Ring{path, std::move(m), *reader, 0});
    ring->reader.set_segment_id(pid);
    // Relaxed: diagnostics only.
    std::atomic_ref<uint32_t>(ring->reader.header()->consumer_pid)
        .store(static_cast<uint32_t>(getpid()), std::memory_order_relaxed);
    ++stats_.rings_attached;
    // A stale segment from before: deliver what it holds, then remove it (or keep it attached
    // until the sink takes the rest).
    if ((ring->reader.Closed() || !ProcessAlive(ring->reader.producer_pid())) &&
        Reclaim(*ring, sink)) {
      continue;
    }
    rings_.push_back(std::move(ring));
  }
  closedir(d);
  return rings_.size();
}

size_t Consumer::Poll(RecordSink& sink) noexcept {
  size_t n = 0;
  for (auto& ring : rings_) n += ring->reader.Drain(sink, options_.max_records_per_ring, stats_);
  return n;
}

}  // namespace strobe::shm
