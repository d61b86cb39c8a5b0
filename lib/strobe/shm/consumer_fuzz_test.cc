// Fuzz target: the ring consumer as the daemon runs it (Consumer::Open, Scan, Poll on a real
// segment file in a shm directory, under the SIGBUS fault guard), while the file's owner
// truncates it, extends it, scribbles on it, keeps appending after claiming to be dead, and
// writes from a second thread as the consumer reads. The input (consumer_fuzz.h) is the initial
// ring file (seeds: rings written by the real Producer, lib/strobe/shm/corpus/consumer) and a
// script of those actions interleaved with Scan/Poll.
//
// Every outcome must be a decoded record, a counted rejection or end of data. Checked here:
// no crash, no read outside the mapping (every payload lies inside the ring's mapping as
// /proc/self/maps showed it at attach; decoded views inside their payload), no hang (with no
// writer, Poll reaches end of data within the bound the ring's size implies), bounded work per
// Scan (a "dead" ring that keeps filling cannot hold Scan: at most capacity/8 records), and the
// consumer's counters agree with what the sink saw (records, attach/close pairs, the refusals
// published to the header's rejected_records, the last acknowledged PING).
#include "strobe/shm/consumer_fuzz.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"
#include "strobe/shm/test_util.h"

namespace {

using namespace strobe::shm;  // NOLINT(google-build-using-namespace): fuzz harness

constexpr uint32_t kSegmentId = 1;
// Largest file the harness makes (keeps every exec small; tmpfs allocates only written pages).
constexpr uint64_t kMaxFile = (uint64_t{1} << 20) + (uint64_t{1} << 16);

// Aborts with a message: libFuzzer reports it as a crash with the input.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

// Reads the input front to back; missing bytes read as 0.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool empty() const { return i_ >= n_; }
  uint8_t U8() { return i_ < n_ ? p_[i_++] : 0; }
  uint16_t U16() {
    const uint16_t lo = U8();
    return static_cast<uint16_t>(lo | U8() << 8);
  }
  uint32_t U32() {
    const uint32_t lo = U16();
    return lo | uint32_t{U16()} << 16;
  }
  uint64_t U64() {
    const uint64_t lo = U32();
    return lo | uint64_t{U32()} << 32;
  }
  std::string_view Bytes(size_t n) {
    n = std::min(n, n_ - std::min(i_, n_));
    std::string_view v(reinterpret_cast<const char*>(p_ + i_), n);
    i_ += n;
    return v;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
};

uint64_t PRead64(int fd, uint64_t off) {
  uint64_t v = 0;
  if (pread(fd, &v, 8, static_cast<off_t>(off)) != 8) return 0;
  return v;
}
void PWrite(int fd, uint64_t off, const void* p, size_t n) {
  if (off + n > kMaxFile) return;
  (void)!pwrite(fd, p, n, static_cast<off_t>(off));
}
void PWrite64(int fd, uint64_t off, uint64_t v) { PWrite(fd, off, &v, 8); }
uint64_t FileSize(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

struct Layout {
  uint64_t hb = 0, cap = 0, defs = 0;
};
// The layout the header claims, if a producer could have written it within kMaxFile.
bool ReadLayout(int fd, Layout* l) {
  uint16_t hb = 0;
  if (pread(fd, &hb, 2, STROBE_OFF_HEADER_BYTES) != 2) return false;
  l->hb = hb;
  l->cap = PRead64(fd, STROBE_OFF_CAPACITY);
  l->defs = PRead64(fd, STROBE_OFF_DEFS_BYTES);
  return l->hb >= STROBE_RING_HEADER_BYTES && l->hb % 64 == 0 &&
         l->cap >= STROBE_RING_MIN_CAPACITY && (l->cap & (l->cap - 1)) == 0 && l->cap <= kMaxFile &&
         l->defs <= kMaxFile && l->hb + l->cap + l->defs <= kMaxFile;
}

// Appends one record the way Producer::ReserveSlow/Commit do, through the file (pwrite: the
// harness never maps the file, so its own writes cannot fault). False when there is no room.
bool AppendRecord(int fd, uint16_t type, std::string_view payload) {
  Layout l;
  if (!ReadLayout(fd, &l) || payload.size() > STROBE_RECORD_MAX_PAYLOAD) return false;
  const uint64_t w = PRead64(fd, STROBE_OFF_WRITE_POS);
  const uint64_t r = PRead64(fd, STROBE_OFF_READ_POS);
  const uint64_t total = (uint64_t{STROBE_FRAME_BYTES} + payload.size() + 7) & ~uint64_t{7};
  const uint64_t off = w & (l.cap - 1);
  const bool wrap = off + total > l.cap;
  const uint64_t need = wrap ? l.cap - off + total : total;
  if (total > l.cap / 2 || w + need - r > l.cap) return false;
  uint64_t at = off;
  if (wrap) {
    const strobe_frame pad{static_cast<uint32_t>(l.cap - off - STROBE_FRAME_BYTES), STROBE_REC_PAD,
                           0};
    PWrite(fd, l.hb + off, &pad, sizeof pad);
    at = 0;
  }
  const strobe_frame f{static_cast<uint32_t>(payload.size()), type, 0};
  PWrite64(fd, STROBE_OFF_RESERVE_POS, w + need);
  PWrite(fd, l.hb + at, &f, sizeof f);
  PWrite(fd, l.hb + at + STROBE_FRAME_BYTES, payload.data(), payload.size());
  PWrite64(fd, STROBE_OFF_WRITE_POS, w + need);
  return true;
}

// Appends a definitions-log entry (ring_abi.h) for ring position write_pos.
void LogDefinition(int fd, std::string_view payload) {
  Layout l;
  if (!ReadLayout(fd, &l) || payload.size() > STROBE_RECORD_MAX_PAYLOAD) return;
  const uint64_t end = PRead64(fd, STROBE_OFF_DEFS_END);
  const uint64_t total = (uint64_t{STROBE_FRAME_BYTES} + 8 + payload.size() + 7) & ~uint64_t{7};
  if (end > l.defs || total > l.defs - end) return;
  const strobe_frame f{static_cast<uint32_t>(8 + payload.size()), STROBE_REC_SERIES_DEFINE, 0};
  const uint64_t at = l.hb + l.cap + end;
  PWrite(fd, at, &f, sizeof f);
  PWrite64(fd, at + STROBE_FRAME_BYTES, PRead64(fd, STROBE_OFF_WRITE_POS));
  PWrite(fd, at + STROBE_FRAME_BYTES + 8, payload.data(), payload.size());
  PWrite64(fd, STROBE_OFF_DEFS_END, end + total);
}

// Address ranges where `path` is mapped (as /proc/self/maps says now).
std::vector<std::pair<uintptr_t, uintptr_t>> MappedRanges(const std::string& path) {
  std::vector<std::pair<uintptr_t, uintptr_t>> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const size_t at = line.find(path);
    if (at == std::string::npos) continue;
    const std::string_view rest = std::string_view(line).substr(at + path.size());
    if (!rest.empty() && rest != " (deleted)") continue;  // another file with this prefix
    uintptr_t begin = 0, end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &begin, &end) == 2) out.emplace_back(begin, end);
  }
  return out;
}

// Decodes every record as the daemon's translator would, checks what the reader promises, and
// keeps the counts the consumer's statistics are checked against.
class FuzzSink : public RecordSink {
 public:
  FuzzSink(const std::string& path, int fd, bool refuse_acks)
      : path_(path), fd_(fd), refuse_acks_(refuse_acks) {}

  void OnRecord(const RecordView& r) override {
    FUZZ_CHECK(open_);
    FUZZ_CHECK(r.producer == kSegmentId);
    FUZZ_CHECK(r.type != STROBE_REC_PAD && r.type < STROBE_REC_TYPE_COUNT);
    FUZZ_CHECK(r.length <= STROBE_RECORD_MAX_PAYLOAD);
    FUZZ_CHECK(r.payload != nullptr);
    const auto p = reinterpret_cast<uintptr_t>(r.payload);
    FUZZ_CHECK(std::any_of(ranges_.begin(), ranges_.end(), [&](const auto& m) {
      return p >= m.first && p + r.length <= m.second;
    }));
    ++delivered;
    if (!Decode(r)) {
      ++(in_replay_ ? rejected_in_replay : rejected_in_drain);
    }
    if (feedback_budget > 0) {
      --feedback_budget;
      const uint64_t point[3] = {1, 0, delivered};
      AppendRecord(fd_, STROBE_REC_COUNTER_ADD,
                   std::string_view(reinterpret_cast<const char*>(point), sizeof point));
    }
  }
  bool ReadyToAck(uint32_t producer) override {
    FUZZ_CHECK(producer == kSegmentId && open_);
    return !refuse_acks_ || (++ack_asks_ & 1) == 0;
  }
  void OnRingAttached(uint32_t producer, uint32_t owner_uid) override {
    FUZZ_CHECK(producer == kSegmentId && !open_);
    FUZZ_CHECK(owner_uid == geteuid());
    open_ = true;
    in_replay_ = true;
    ++attached;
    ranges_ = MappedRanges(path_);  // mapped before this call
    FUZZ_CHECK(!ranges_.empty());
  }
  void OnRingClosed(uint32_t producer) override {
    FUZZ_CHECK(producer == kSegmentId && open_);
    open_ = false;
    ++closed;
  }
  // The consumer was destroyed: its ring stays for the next one without OnRingClosed.
  void ConsumerGone() { open_ = false; }
  uint64_t RejectedRecords() const override {
    // The reader asks at the start of each drain: what follows is no longer the replay of the
    // definitions log (whose refusals an earlier consumer already published).
    in_replay_ = false;
    return rejected_in_replay + rejected_in_drain;
  }

  uint64_t delivered = 0;
  uint64_t attached = 0;
  uint64_t closed = 0;
  uint64_t rejected_in_drain = 0;
  uint64_t rejected_in_replay = 0;
  uint64_t acked_pings = 0;
  uint64_t last_ping = 0;
  uint64_t feedback_budget = 0;

 private:
  static bool Inside(std::string_view v, const RecordView& r) {
    const auto* b = reinterpret_cast<const uint8_t*>(v.data());
    return v.empty() || (b >= r.payload && b + v.size() <= r.payload + r.length);
  }
  static bool PairsInside(const Pairs& pairs, const RecordView& r) {
    return std::all_of(pairs.begin(), pairs.end(), [&](const auto& kv) {
      return !kv.first.empty() && Inside(kv.first, r) && Inside(kv.second, r);
    });
  }
  bool Decode(const RecordView& r) {
    switch (r.type) {
      case STROBE_REC_SERIES_DEFINE: {
        SeriesDefineRecord d;
        if (!DecodeSeriesDefine(r, &d)) return false;
        FUZZ_CHECK(d.series_id != 0 && !d.name.empty() && Inside(d.name, r));
        FUZZ_CHECK(PairsInside(d.labels, r));
        return true;
      }
      case STROBE_REC_SPAN: {
        SpanRecord s;
        if (!DecodeSpan(r, &s)) return false;
        FUZZ_CHECK(!s.name.empty() && Inside(s.name, r) && PairsInside(s.attributes, r));
        FUZZ_CHECK(s.end_ns >= s.start_ns);
        return true;
      }
      case STROBE_REC_EVENT: {
        EventRecord e;
        if (!DecodeEvent(r, &e)) return false;
        FUZZ_CHECK(!e.name.empty() && Inside(e.name, r) && PairsInside(e.attributes, r));
        return true;
      }
      case STROBE_REC_BATCH: {
        BatchRecord b;
        if (!DecodeBatch(r, &b)) return false;
        FUZZ_CHECK(uint64_t{b.count} * 24 + 8 == r.length && b.entries == r.payload + 8);
        uint64_t sum = 0;
        for (uint32_t i = 0; i < b.count; ++i) {
          uint64_t id = 0, ts = 0;
          double v = 0;
          b.Entry(i, &id, &ts, &v);
          sum += id ^ ts;
        }
        sink_ += sum;
        return true;
      }
      case STROBE_REC_HISTOGRAM_MERGE: {
        HistogramMergeRecord h;
        if (!DecodeHistogramMerge(r, &h)) return false;
        FUZZ_CHECK(72 + uint64_t{h.n} * 8 == r.length && h.counts == r.payload + 72);
        for (uint32_t i = 0; i < h.n; ++i) sink_ += h.Count(i);
        return true;
      }
      case STROBE_REC_PING: {
        uint64_t seq = 0;
        if (!DecodePing(r, &seq)) return false;
        ++acked_pings;  // the reader stores ack_seq = seq right after this call
        last_ping = seq;
        return true;
      }
      default: {
        PointRecord pt;
        return DecodePoint(r, &pt);
      }
    }
  }

  std::string path_;
  int fd_;
  bool refuse_acks_;
  bool open_ = false;
  mutable bool in_replay_ = false;
  uint64_t ack_asks_ = 0;
  uint64_t sink_ = 0;  // keeps the decoded values alive
  std::vector<std::pair<uintptr_t, uintptr_t>> ranges_;
};

// One consumer's life: the sink's counts when it was opened, checked against its statistics.
struct Life {
  std::unique_ptr<Consumer> consumer;
  uint64_t delivered = 0, attached = 0, closed = 0;
};

Life OpenConsumer(const std::string& dir, const FuzzSink& sink, bool small_budget) {
  ConsumerOptions o;
  o.ring = "fz";
  o.dir = dir;
  o.write_daemon_marker = false;  // nothing else to coordinate with; saves syscalls per exec
  o.max_records_per_ring = small_budget ? 64 : 4096;
  auto c = Consumer::Open(o);
  FUZZ_CHECK(c.ok());
  return Life{std::move(*c), sink.delivered, sink.attached, sink.closed};
}

void CheckLife(const Life& l, const FuzzSink& sink) {
  const ReaderStats& s = l.consumer->stats();
  // Every record the sink saw is counted once, as drained or as replayed.
  FUZZ_CHECK(sink.delivered - l.delivered == s.records + s.definitions_replayed);
  FUZZ_CHECK(s.bytes % STROBE_RECORD_ALIGN == 0 && s.bytes >= s.records * STROBE_FRAME_BYTES);
  FUZZ_CHECK(sink.attached - l.attached == s.rings_attached);
  FUZZ_CHECK(s.rings_attached - (sink.closed - l.closed) == l.consumer->ring_count());
  FUZZ_CHECK(l.consumer->ring_count() <= 1);
  FUZZ_CHECK(s.rings_reclaimed + l.consumer->ring_count() <= s.rings_attached);
  FUZZ_CHECK(s.rings_rejected_owner == 0);
}

bool Overlaps(uint64_t off, uint64_t n, uint64_t field) {
  return off < field + 8 && field < off + n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static strobe::shm::testing::TempDir dir;
  const std::string path = SegmentPath(dir.path(), "fz", kSegmentId);
  Reader in(data, size);
  const uint8_t mode = in.U8();
  const uint32_t image_len = in.U32();
  const uint64_t file_len = std::min<uint64_t>(in.U32(), kMaxFile);
  std::string_view image = in.Bytes(image_len);
  image = image.substr(0, file_len);

  unlink(path.c_str());
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  FUZZ_CHECK(fd >= 0);
  PWrite(fd, 0, image.data(), image.size());
  FUZZ_CHECK(ftruncate(fd, static_cast<off_t>(file_len)) == 0);
  const auto liveness = mode & 3;
  if (liveness != fuzz::kPidAsIs && file_len >= STROBE_OFF_PRODUCER_PID + 4) {
    const uint32_t pid = liveness == fuzz::kDead ? 0 : static_cast<uint32_t>(getpid());
    PWrite(fd, STROBE_OFF_PRODUCER_PID, &pid, 4);
  }
  const uint64_t rejected_before = PRead64(fd, STROBE_OFF_REJECTED_RECORDS);
  // Whether the harness itself touched the words checked at the end (then they prove nothing).
  bool rejected_touched = false, ack_touched = false, capacity_touched = false, writer = false;
  bool truncated = false;          // some consumer dropped the ring because its file shrank
  uint64_t malformed_earlier = 0;  // malformed runs seen by consumers already restarted
  uint64_t max_capacity = 0;
  const auto note_capacity = [&] {
    Layout l;
    if (ReadLayout(fd, &l)) max_capacity = std::max(max_capacity, l.cap);
  };
  const auto note_write = [&](uint64_t off, uint64_t n) {
    rejected_touched |= Overlaps(off, n, STROBE_OFF_REJECTED_RECORDS);
    ack_touched |= Overlaps(off, n, STROBE_OFF_ACK_SEQ);
    // The capacity, and the word holding magic, version and header_bytes.
    capacity_touched |= Overlaps(off, n, STROBE_OFF_CAPACITY) || Overlaps(off, n, 0);
  };

  FuzzSink sink(path, fd, (mode & fuzz::kRefuseAcks) != 0);
  const bool small_budget = (mode & fuzz::kSmallBudget) != 0;
  Life life = OpenConsumer(dir.path(), sink, small_budget);
  const auto scan = [&] {
    note_capacity();
    const uint64_t before = life.consumer->stats().records;
    if ((mode & fuzz::kFeedback) != 0) sink.feedback_budget = 2 * (max_capacity / 8) + 16;
    life.consumer->Scan(sink);
    sink.feedback_budget = 0;
    // A ring claiming to be dead is drained in one Scan only up to what it can hold: a
    // producer that keeps writing cannot keep the consumer thread from its other rings.
    if (!writer && !capacity_touched) {
      FUZZ_CHECK(life.consumer->stats().records - before <= max_capacity / STROBE_RECORD_ALIGN);
    }
  };

  while (!in.empty()) {
    switch (static_cast<fuzz::Op>(in.U8() % fuzz::kOpCount)) {
      case fuzz::kPoll:
        for (int i = in.U8() % 8; i >= 0; --i) life.consumer->Poll(sink);
        break;
      case fuzz::kScan:
        scan();
        break;
      case fuzz::kTruncate: {
        const uint64_t to = std::min<uint64_t>(in.U32(), FileSize(fd));
        note_write(to, kMaxFile);
        FUZZ_CHECK(ftruncate(fd, static_cast<off_t>(to)) == 0);
        break;
      }
      case fuzz::kExtend: {
        const uint64_t to = std::min<uint64_t>(FileSize(fd) + in.U32(), kMaxFile);
        FUZZ_CHECK(ftruncate(fd, static_cast<off_t>(to)) == 0);
        break;
      }
      case fuzz::kWrite: {
        const uint64_t off = in.U32() % kMaxFile;
        const std::string_view bytes = in.Bytes(in.U8());
        note_write(off, bytes.size());
        PWrite(fd, off, bytes.data(), bytes.size());
        break;
      }
      case fuzz::kSetWord: {
        const uint32_t field = fuzz::kWords[in.U8() % fuzz::kWordCount];
        const bool add = (in.U8() & 1) != 0;
        const uint64_t v = in.U64();
        note_write(field, 8);
        PWrite64(fd, field, add ? PRead64(fd, field) + v : v);
        break;
      }
      case fuzz::kAppend: {
        const uint16_t type = in.U16();
        AppendRecord(fd, type, in.Bytes(in.U16()));
        break;
      }
      case fuzz::kWriter: {
        // A second thread writes while this one polls: a fixed script, replayable except for
        // the interleaving.
        const int rounds = in.U8() % 32 + 1;
        struct Step {
          uint32_t off;
          std::string_view bytes;
        };
        std::vector<Step> steps(in.U8());
        for (Step& s : steps) {
          s.off = in.U32();
          s.bytes = in.Bytes(in.U8());
        }
        writer = true;
        rejected_touched = ack_touched = capacity_touched = true;
        std::atomic<bool> go{false}, done{false};
        std::thread t([&] {
          while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
          for (int round = 0; round < rounds; ++round) {
            for (const Step& s : steps) {
              if (s.bytes.empty()) {
                (void)!ftruncate(fd, static_cast<off_t>(s.off % kMaxFile));
              } else if ((s.off & fuzz::kAppendStep) != 0) {
                AppendRecord(fd, static_cast<uint16_t>(s.off), s.bytes);
              } else {
                PWrite(fd, s.off % kMaxFile, s.bytes.data(), s.bytes.size());
              }
            }
          }
          done.store(true, std::memory_order_release);
        });
        go.store(true, std::memory_order_release);
        for (int i = 0; i < 100000 && !done.load(std::memory_order_acquire); ++i) {
          life.consumer->Poll(sink);
        }
        t.join();
        break;
      }
      case fuzz::kRestart:
        CheckLife(life, sink);
        truncated |= life.consumer->stats().rings_truncated > 0;
        malformed_earlier += life.consumer->stats().malformed;
        life.consumer.reset();
        sink.ConsumerGone();
        life = OpenConsumer(dir.path(), sink, small_budget);
        break;
      case fuzz::kLogDefine: {
        const uint16_t n = in.U16();
        LogDefinition(fd, in.Bytes(n));
        break;
      }
      case fuzz::kOpCount:
        break;
    }
  }

  // End of data: with nobody writing, Poll runs dry within what the ring can hold.
  const uint64_t budget = small_budget ? 64 : 4096;
  const uint64_t max_polls = kMaxFile / STROBE_RECORD_ALIGN / budget + 3;
  uint64_t polls = 0;
  while (life.consumer->Poll(sink) > 0) FUZZ_CHECK(++polls <= max_polls);
  CheckLife(life, sink);
  const ReaderStats& s = life.consumer->stats();
  // What the consumer wrote to the header, if it was still writing to the file (a ring whose
  // file shrank is read from private zero pages afterwards) and nobody else touched it.
  truncated |= s.rings_truncated > 0;
  const bool file_intact =
      !writer && !truncated && sink.attached > 0 && FileSize(fd) >= STROBE_RING_HEADER_BYTES;
  if (file_intact && !rejected_touched) {
    // Every refusal of the sink (in drains and in definition-log replays) and every malformed
    // run skipped (counted as one record: the producer's flush must not succeed) is published.
    FUZZ_CHECK(PRead64(fd, STROBE_OFF_REJECTED_RECORDS) - rejected_before ==
               sink.rejected_in_drain + sink.rejected_in_replay + malformed_earlier + s.malformed);
  }
  if (file_intact && !ack_touched && sink.acked_pings > 0) {
    FUZZ_CHECK(PRead64(fd, STROBE_OFF_ACK_SEQ) == sink.last_ping);
  }
  life.consumer.reset();
  close(fd);
  unlink(path.c_str());
  return 0;
}
