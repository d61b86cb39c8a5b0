#include "strobed/wal/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

#include "strobe/metrics/counter.h"
#include "strobe/metrics/gauge.h"
#include "strobe/metrics/histogram.h"
#include "strobe/metrics/registry.h"
#include "strobed/wal/crc32c.h"
#include "strobed/wal/data_dir.h"

namespace strobed::wal {
namespace {

std::string Err(int err) { return std::strerror(err); }

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

// writev() takes at most IOV_MAX entries; two per record.
constexpr std::size_t kMaxIov = 512;

bool ParseSegmentName(const char* name, uint64_t* seq) {
  // <20 digits>.wal
  if (std::strlen(name) != 24 || std::strcmp(name + 20, ".wal") != 0) return false;
  uint64_t v = 0;
  for (int i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    uint64_t d = static_cast<uint64_t>(name[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *seq = v;
  return true;
}

}  // namespace

std::string_view SyncPolicyName(SyncPolicy policy) {
  return policy == SyncPolicy::kAlways ? "always" : "interval";
}

strobe::Result<SyncPolicy> ParseSyncPolicy(std::string_view name) {
  if (name == "interval") return SyncPolicy::kInterval;
  if (name == "always") return SyncPolicy::kAlways;
  return strobe::InvalidArgument("wal.sync: '" + std::string(name) +
                                 "' is not one of interval, always");
}

strobe::Result<std::vector<uint64_t>> ListSegments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return strobe::Internal(dir + ": opendir: " + Err(errno));
  std::vector<uint64_t> out;
  while (dirent* e = ::readdir(d)) {
    uint64_t seq = 0;
    if (ParseSegmentName(e->d_name, &seq)) out.push_back(seq);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// One open segment file, written at `size` (the leader's) and synced by whoever holds it.
class Wal::File {
 public:
  File(int fd, std::string path, uint64_t size) : fd_(fd), path_(std::move(path)), size_(size) {}
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Writes all of `iov` at the end; leader only.
  strobe::Status Write(iovec* iov, int count) {
    while (count > 0) {
      ssize_t n = ::pwritev(fd_, iov, count, static_cast<off_t>(size_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return strobe::Internal(path_ + ": write: " + Err(errno));
      }
      size_ += static_cast<uint64_t>(n);
      auto left = static_cast<std::size_t>(n);
      while (count > 0 && left >= iov->iov_len) {  // skip what was written
        left -= iov->iov_len;
        ++iov;
        --count;
      }
      if (count > 0) {
        iov->iov_base = static_cast<char*>(iov->iov_base) + left;
        iov->iov_len -= left;
      }
    }
    return strobe::OkStatus();
  }
  strobe::Status DataSync() {
    if (::fdatasync(fd_) != 0) return strobe::Internal(path_ + ": fdatasync: " + Err(errno));
    return strobe::OkStatus();
  }
  uint64_t size() const { return size_; }

 private:
  int fd_;
  std::string path_;
  uint64_t size_;
};

Wal::Wal(WalOptions options) : options_(std::move(options)) {}

Wal::~Wal() { (void)Close(); }

strobe::Result<std::unique_ptr<Wal>> Wal::Open(WalOptions options) {
  if (options.dir.empty()) return strobe::InvalidArgument("wal: empty directory");
  if (options.segment_bytes < 4096) {
    return strobe::InvalidArgument("wal: segment_bytes must be at least 4096");
  }
  if (options.sync_interval.count() <= 0) {
    return strobe::InvalidArgument("wal: sync_interval must be positive");
  }
  if (options.min_next_seq == 0) options.min_next_seq = 1;
  if (options.wall_clock == nullptr) options.wall_clock = &base::WallClock::System();
  std::unique_ptr<Wal> wal(new Wal(std::move(options)));
  STROBE_RETURN_IF_ERROR(wal->Recover());
  if (strobe::metrics::Registry* r = wal->options_.metrics) {
    using strobe::metrics::HistogramOptions;
    auto g1 =
        r->AddGauge({"strobe_wal_bytes", "Bytes of write-ahead-log segments on disk", "bytes"});
    auto g2 = r->AddGauge({"strobe_wal_segments", "Write-ahead-log segment files on disk", ""});
    auto c1 = r->AddCounter(
        {"strobe_wal_appended_records_total", "Records appended to the write-ahead log", ""});
    auto c2 = r->AddCounter({"strobe_wal_appended_bytes_total",
                             "Payload bytes appended to the write-ahead log", "bytes"});
    auto h = r->AddHistogram(
        {"strobe_wal_sync_seconds", "Duration of write-ahead-log fdatasync calls", "seconds"},
        HistogramOptions{.unit_scale = 1e-9});
    auto c3 =
        r->AddCounter({"strobe_wal_torn_tails_total",
                       "Torn or corrupt segment tails truncated when the log was opened", ""});
    auto c4 =
        r->AddCounter({"strobe_wal_truncated_bytes_total",
                       "Bytes of torn or corrupt tails removed when the log was opened", "bytes"});
    auto c5 = r->AddCounter({"strobe_wal_replayed_records_total",
                             "Write-ahead-log records re-delivered after a restart", ""});
    for (const strobe::Status& s : {g1.status(), g2.status(), c1.status(), c2.status(), h.status(),
                                    c3.status(), c4.status(), c5.status()}) {
      STROBE_RETURN_IF_ERROR(s);
    }
    wal->bytes_gauge_ = *g1;
    wal->segments_gauge_ = *g2;
    wal->appended_counter_ = *c1;
    wal->appended_bytes_counter_ = *c2;
    wal->sync_hist_ = *h;
    wal->replayed_counter_ = *c5;
    (*c3)->Add(wal->torn_tails_);
    (*c4)->Add(wal->truncated_bytes_);
    std::lock_guard lk(wal->mu_);
    wal->PublishGauges();
  }
  if (wal->options_.sync == SyncPolicy::kInterval) {
    wal->sync_thread_ = std::thread([w = wal.get()] { w->SyncLoop(); });
  }
  return wal;
}

std::string Wal::SegmentPath(uint64_t first_seq) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020" PRIu64 ".wal", first_seq);
  return options_.dir + "/" + name;
}

strobe::Status Wal::Recover() {
  STROBE_RETURN_IF_ERROR(PreparePrivateDir(options_.dir));
  STROBE_ASSIGN_OR_RETURN(std::vector<uint64_t> firsts, ListSegments(options_.dir));
  bool removed = false;
  uint64_t next = 0;  // seq after the last valid record seen
  for (uint64_t first : firsts) {
    std::string path = SegmentPath(first);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return strobe::Internal(path + ": stat: " + Err(errno));
    const auto file_bytes = static_cast<uint64_t>(st.st_size);
    auto reader = SegmentReader::Open(path, options_.max_record_bytes);
    if (!reader.ok() && reader.status().code() != strobe::StatusCode::kDataLoss) {
      return reader.status();
    }
    if (!reader.ok() || reader->first_seq() != first) {
      // A header torn while the segment was being created (or damaged): nothing in it can be
      // trusted, and its records (if any) cannot be sequenced.
      if (::unlink(path.c_str()) != 0) return strobe::Internal(path + ": unlink: " + Err(errno));
      removed = true;
      ++torn_tails_;
      truncated_bytes_ += file_bytes;
      continue;
    }
    SegmentReader::Step step = SegmentReader::Step::kRecord;
    RecordView rec;
    while (step == SegmentReader::Step::kRecord) {
      STROBE_ASSIGN_OR_RETURN(step, reader->Next(&rec));
    }
    const uint64_t valid = reader->valid_bytes();
    if (step == SegmentReader::Step::kTorn || valid < file_bytes) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return strobe::Internal(path + ": open: " + Err(errno));
      int rc = ::ftruncate(fd, static_cast<off_t>(valid));
      if (rc == 0) rc = ::fdatasync(fd);
      int err = errno;
      ::close(fd);
      if (rc != 0) return strobe::Internal(path + ": truncate torn tail: " + Err(err));
      ++torn_tails_;
      truncated_bytes_ += file_bytes - valid;
    }
    segments_.push_back({first, valid});
    next = reader->next_seq();
  }
  if (removed) STROBE_RETURN_IF_ERROR(SyncDir(options_.dir));

  next_seq_ = std::max(next, options_.min_next_seq);
  if (segments_.empty() || next_seq_ != next) {
    // Nothing to continue, or the sequence must jump: a fresh segment (records in a segment are
    // consecutive from its first seq).
    STROBE_ASSIGN_OR_RETURN(active_, CreateSegment(next_seq_));
    segments_.push_back({next_seq_, kSegmentHeaderBytes});
  } else {
    std::string path = SegmentPath(segments_.back().first_seq);
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return strobe::Internal(path + ": open: " + Err(errno));
    active_ = std::make_shared<File>(fd, path, segments_.back().bytes);
  }
  written_seq_ = synced_seq_ = pending_first_seq_ = next_seq_;
  logical_bytes_ = segments_.back().bytes;
  return strobe::OkStatus();
}

strobe::Result<std::shared_ptr<Wal::File>> Wal::CreateSegment(uint64_t first_seq) {
  std::string path = SegmentPath(first_seq);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return strobe::Internal(path + ": create: " + Err(errno));
  auto file = std::make_shared<File>(fd, path, 0);
  std::string header = EncodeSegmentHeader(first_seq);
  iovec iov{header.data(), header.size()};
  STROBE_RETURN_IF_ERROR(file->Write(&iov, 1));
  // The header and the directory entry are made durable now, so a power loss never leaves a
  // segment that later records were written into but that is not there.
  STROBE_RETURN_IF_ERROR(SyncFile(*file));
  STROBE_RETURN_IF_ERROR(SyncDir(options_.dir));
  return file;
}

strobe::Status Wal::SyncFile(File& file) {
  uint64_t t0 = NowNs();
  strobe::Status st = file.DataSync();
  syncs_.fetch_add(1, std::memory_order_relaxed);
  if (sync_hist_ != nullptr) sync_hist_->RecordUnsigned(NowNs() - t0);
  return st;
}

strobe::Status Wal::WriteBatch(const std::vector<Pending>& batch, uint64_t first_seq) {
  iovec iov[kMaxIov];
  int n = 0;
  uint64_t payload_bytes = 0;
  auto flush = [&]() -> strobe::Status {
    strobe::Status st = active_->Write(iov, n);
    n = 0;
    return st;
  };
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Pending& p = batch[i];
    if (p.new_segment) {
      STROBE_RETURN_IF_ERROR(flush());
      STROBE_RETURN_IF_ERROR(SyncFile(*active_));  // rotation syncs the finished segment
      const uint64_t seq = first_seq + i;
      STROBE_ASSIGN_OR_RETURN(std::shared_ptr<File> next, CreateSegment(seq));
      std::lock_guard lk(mu_);
      segments_.back().bytes = active_->size();
      segments_.push_back({seq, next->size()});
      active_ = std::move(next);
      // Everything before `seq` is in synced files now.
      written_seq_ = std::max(written_seq_, seq);
      synced_seq_ = std::max(synced_seq_, seq);
      PublishGauges();
    }
    iov[n++] = {const_cast<char*>(p.header), kFrameHeaderBytes};
    if (p.size > 0) iov[n++] = {const_cast<char*>(p.payload), p.size};
    payload_bytes += p.size;
    if (n + 2 > static_cast<int>(kMaxIov)) STROBE_RETURN_IF_ERROR(flush());
  }
  if (n > 0) STROBE_RETURN_IF_ERROR(flush());
  if (appended_bytes_counter_ != nullptr) appended_bytes_counter_->Add(payload_bytes);
  return strobe::OkStatus();
}

strobe::Result<uint64_t> Wal::Append(uint32_t type, std::string_view payload) {
  if (payload.size() > options_.max_record_bytes) {
    return strobe::InvalidArgument("wal: record of " + std::to_string(payload.size()) +
                                   " bytes exceeds max_record_bytes " +
                                   std::to_string(options_.max_record_bytes));
  }
  const auto size = static_cast<uint32_t>(payload.size());
  const uint32_t payload_crc = Crc32cExtend(0, payload.data(), payload.size());  // outside mu_
  const uint64_t unix_ns = options_.wall_clock->NowUnixNs();
  char header[kFrameHeaderBytes];
  std::unique_lock lk(mu_);
  if (closed_) return strobe::FailedPrecondition("wal: closed");
  if (!failed_.ok()) return failed_;
  const uint64_t seq = next_seq_++;
  EncodeFrameHeader(seq, unix_ns, type, size, payload_crc, header);
  const uint64_t frame = kFrameHeaderBytes + uint64_t{size};
  const bool rotate =
      logical_bytes_ > kSegmentHeaderBytes && logical_bytes_ + frame > options_.segment_bytes;
  if (rotate) logical_bytes_ = kSegmentHeaderBytes;
  logical_bytes_ += frame;
  if (pending_.empty()) pending_first_seq_ = seq;
  pending_.push_back({header, payload.data(), size, rotate});

  const bool always = options_.sync == SyncPolicy::kAlways;
  std::vector<Pending> batch;
  while ((always ? synced_seq_ : written_seq_) <= seq) {
    if (!failed_.ok()) return failed_;
    if (leader_active_) {
      done_cv_.wait(lk);
      continue;
    }
    // Leader: write everything queued (ours included), then wake the followers it covered.
    leader_active_ = true;
    batch.swap(pending_);
    const uint64_t first = pending_first_seq_;
    const uint64_t end = first + batch.size();
    lk.unlock();
    strobe::Status st = WriteBatch(batch, first);
    if (st.ok() && always) st = SyncFile(*active_);
    lk.lock();
    leader_active_ = false;
    batch.clear();
    if (st.ok()) {
      written_seq_ = std::max(written_seq_, end);
      if (always) synced_seq_ = std::max(synced_seq_, end);
      segments_.back().bytes = active_->size();
      PublishGauges();
    } else if (failed_.ok()) {
      failed_ = st;
    }
    done_cv_.notify_all();
  }
  lk.unlock();
  appended_records_.fetch_add(1, std::memory_order_relaxed);
  if (appended_counter_ != nullptr) appended_counter_->Add(1);
  return seq;
}

void Wal::SyncLoop() {
  std::unique_lock lk(mu_);
  while (!stop_sync_) {
    sync_cv_.wait_for(lk, options_.sync_interval);
    if (stop_sync_ || !failed_.ok() || synced_seq_ >= written_seq_) continue;
    std::shared_ptr<File> file = active_;  // everything below written_seq_ is here or synced
    const uint64_t target = written_seq_;
    lk.unlock();
    strobe::Status st = SyncFile(*file);
    lk.lock();
    if (st.ok()) {
      synced_seq_ = std::max(synced_seq_, target);
    } else if (failed_.ok()) {
      failed_ = st;
    }
    done_cv_.notify_all();
  }
}

strobe::Status Wal::Sync() {
  std::unique_lock lk(mu_);
  if (active_ == nullptr) return failed_;
  std::shared_ptr<File> file = active_;
  const uint64_t target = written_seq_;
  lk.unlock();
  strobe::Status st = SyncFile(*file);
  lk.lock();
  if (st.ok()) synced_seq_ = std::max(synced_seq_, target);
  return st;
}

strobe::Result<uint64_t> Wal::TruncateBefore(uint64_t seq) {
  std::vector<uint64_t> doomed;
  {
    std::lock_guard lk(mu_);
    std::size_t k = 0;
    while (k + 1 < segments_.size() && segments_[k + 1].first_seq <= seq) {
      doomed.push_back(segments_[k].first_seq);
      ++k;
    }
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(k));
    PublishGauges();
  }
  for (uint64_t first : doomed) {
    std::string path = SegmentPath(first);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return strobe::Internal(path + ": unlink: " + Err(errno));
    }
  }
  if (!doomed.empty()) STROBE_RETURN_IF_ERROR(SyncDir(options_.dir));
  return static_cast<uint64_t>(doomed.size());
}

WalReader Wal::NewReader(uint64_t from) const {
  std::lock_guard lk(mu_);
  return WalReader(options_.dir, from, written_seq_, options_.max_record_bytes);
}

strobe::Status Wal::Close() {
  {
    std::unique_lock lk(mu_);
    if (closed_) return strobe::OkStatus();
    closed_ = true;
    stop_sync_ = true;
    done_cv_.wait(lk, [this] { return !leader_active_; });
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  strobe::Status st = failed_;
  if (st.ok() && active_ != nullptr) {
    st = SyncFile(*active_);
    std::lock_guard lk(mu_);
    if (st.ok()) synced_seq_ = written_seq_;
  }
  std::lock_guard lk(mu_);
  active_.reset();
  done_cv_.notify_all();
  return st;
}

uint64_t Wal::AppendTimeOf(uint64_t seq) const {
  WalReader r;
  {
    std::lock_guard lk(mu_);
    if (seq >= written_seq_) return 0;
    r = WalReader(options_.dir, seq, seq + 1, options_.max_record_bytes);
  }
  RecordView rec;
  auto more = r.Next(&rec);
  return more.ok() && *more && rec.seq == seq ? rec.unix_ns : 0;
}

void Wal::CountReplayed(uint64_t records) noexcept {
  replayed_records_.fetch_add(records, std::memory_order_relaxed);
  if (replayed_counter_ != nullptr) replayed_counter_->Add(records);
}

void Wal::PublishGauges() {
  if (bytes_gauge_ == nullptr) return;
  uint64_t bytes = 0;
  for (const Segment& s : segments_) bytes += s.bytes;
  bytes_gauge_->Set(static_cast<double>(bytes));
  segments_gauge_->Set(static_cast<double>(segments_.size()));
}

uint64_t Wal::next_seq() const {
  std::lock_guard lk(mu_);
  return next_seq_;
}

uint64_t Wal::first_seq() const {
  std::lock_guard lk(mu_);
  return segments_.empty() ? next_seq_ : segments_.front().first_seq;
}

uint64_t Wal::retained_bytes() const {
  std::lock_guard lk(mu_);
  uint64_t bytes = 0;
  for (const Segment& s : segments_) bytes += s.bytes;
  return bytes;
}

WalStats Wal::Stats() const {
  std::lock_guard lk(mu_);
  WalStats s;
  s.first_seq = segments_.empty() ? next_seq_ : segments_.front().first_seq;
  s.next_seq = next_seq_;
  s.written_seq = written_seq_;
  s.synced_seq = synced_seq_;
  for (const Segment& seg : segments_) s.bytes += seg.bytes;
  s.segments = segments_.size();
  s.appended_records = appended_records_.load(std::memory_order_relaxed);
  s.syncs = syncs_.load(std::memory_order_relaxed);
  s.torn_tails = torn_tails_;
  s.truncated_bytes = truncated_bytes_;
  s.replayed_records = replayed_records_.load(std::memory_order_relaxed);
  return s;
}

WalReader::WalReader(std::string dir, uint64_t from, uint64_t end, uint32_t max_payload)
    : dir_(std::move(dir)), next_(from), end_(end), max_payload_(max_payload) {}

strobe::Status WalReader::OpenNextSegment() {
  seg_.reset();
  while (next_ < end_) {
    STROBE_ASSIGN_OR_RETURN(std::vector<uint64_t> firsts, ListSegments(dir_));
    // Segments after the last one read only (progress even past empty or unreadable ones).
    auto begin = std::upper_bound(firsts.begin(), firsts.end(), last_first_);
    if (!opened_any_) begin = firsts.begin();
    // The segment holding next_: the last one starting at or before it; else the first after.
    auto it = std::upper_bound(begin, firsts.end(), next_);
    if (it != begin) {
      --it;
    } else if (it == firsts.end()) {
      skipped_ += end_ - next_;
      next_ = end_;
      return strobe::OkStatus();
    }
    const uint64_t first = *it;
    if (first > next_) {  // a gap: those records are gone
      skipped_ += std::min(first, end_) - next_;
      next_ = std::min(first, end_);
    }
    char name[32];
    std::snprintf(name, sizeof(name), "/%020" PRIu64 ".wal", first);
    auto r = SegmentReader::Open(dir_ + name, max_payload_);
    if (!r.ok() && r.status().code() == strobe::StatusCode::kNotFound) continue;  // deleted: relist
    opened_any_ = true;
    last_first_ = first;
    if (!r.ok() && r.status().code() == strobe::StatusCode::kDataLoss) continue;  // bad header
    if (!r.ok()) return r.status();
    seg_.emplace(std::move(*r));
    return strobe::OkStatus();
  }
  return strobe::OkStatus();
}

strobe::Result<bool> WalReader::Next(RecordView* out) {
  while (next_ < end_) {
    if (!seg_.has_value()) {
      STROBE_RETURN_IF_ERROR(OpenNextSegment());
      if (!seg_.has_value()) return false;
    }
    STROBE_ASSIGN_OR_RETURN(SegmentReader::Step step, seg_->Next(out));
    if (step == SegmentReader::Step::kRecord) {
      if (out->seq < next_) continue;  // before the start position
      if (out->seq >= end_) {          // appended after this reader was made
        next_ = end_;
        return false;
      }
      next_ = out->seq + 1;
      return true;
    }
    // End of this segment's valid data: go on with the next segment (OpenNextSegment counts a
    // gap between them as skipped).
    if (seg_->next_seq() > next_) next_ = seg_->next_seq();
    seg_.reset();
  }
  if (next_ < end_) {
    skipped_ += end_ - next_;
    next_ = end_;
  }
  return false;
}

}  // namespace strobed::wal
