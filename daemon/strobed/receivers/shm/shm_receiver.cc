#include "strobed/receivers/shm/shm_receiver.h"

#include <grp.h>
#include <pwd.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "strobe/base/check.h"
#include "strobe/base/clock.h"
#include "strobe/shm/segment.h"

namespace strobed::receivers {
namespace {

using strobe::metrics::Counter;
using strobe::metrics::Family;
using strobe::metrics::Gauge;

const char* RecordTypeName(size_t type) {
  switch (type) {
    case STROBE_REC_PAD:
      return "pad";
    case STROBE_REC_SERIES_DEFINE:
      return "series_define";
    case STROBE_REC_COUNTER_ADD:
      return "counter_add";
    case STROBE_REC_GAUGE_SET:
      return "gauge_set";
    case STROBE_REC_HISTOGRAM_RECORD:
      return "histogram_record";
    case STROBE_REC_SPAN:
      return "span";
    case STROBE_REC_EVENT:
      return "event";
    case STROBE_REC_BATCH:
      return "batch";
    case STROBE_REC_PING:
      return "ping";
    case STROBE_REC_HISTOGRAM_MERGE:
      return "histogram_merge";
    default:
      return "unknown";
  }
}

void SleepNs(uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  nanosleep(&ts, nullptr);
}

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

uint64_t Delta(uint64_t now, uint64_t& seen) {
  uint64_t d = now >= seen ? now - seen : 0;
  seen = now;
  return d;
}

}  // namespace

// Handles resolved once (With() hashes labels: never on the per-record path).
struct ShmReceiver::Metrics {
  Counter* accepted_spans;
  Counter* accepted_points;
  Counter* accepted_logs;
  Family<Counter>* refused_spans;
  Family<Counter>* refused_points;
  Family<Counter>* refused_logs;
  Counter* records[STROBE_REC_TYPE_COUNT];
  Counter* malformed;
  Counter* torn;
  Counter* undecodable;
  Counter* unknown_series;
  Counter* invalid_value;
  Counter* kind_mismatch;
  Counter* series_limit;
  Counter* key_table_full;
  Counter* key_too_long;
  Counter* dropped_attributes;
  Counter* invalid_utf8;
  Counter* key_source_limit;
  Counter* producer_dropped;
  Counter* retries_throttled;
  Counter* retries_refused;
  Counter* attached;
  Counter* reclaimed;
  Counter* rejected_invalid;
  Counter* rejected_owner;
  Counter* rejected_truncated;
  Gauge* rings;
  Gauge* series;
};

ShmReceiver::ShmReceiver(ShmReceiverOptions options) : options_(std::move(options)) {
  STROBE_CHECK(options_.metrics != nullptr);  // required: the factory passes the host's
  strobe::metrics::Registry& reg = *options_.metrics;
  // Registration of fixed, valid names only fails on a programming error.
  auto counter_family = [&](const std::string& name, const std::string& help,
                            std::vector<std::string> labels) {
    auto f = reg.AddCounterFamily({name, help, ""}, std::move(labels));
    STROBE_CHECK(f.ok());
    return *f;
  };
  auto gauge_family = [&](const std::string& name, const std::string& help) {
    auto f = reg.AddGaugeFamily({name, help, ""}, {"receiver"});
    STROBE_CHECK(f.ok());
    return *f;
  };
  const std::string& r = options_.name;
  auto m = std::make_unique<Metrics>();
  const char* accepted_help = "Items a receiver pushed into the pipeline successfully.";
  const char* refused_help = "Items a receiver could not push into the pipeline, by reason.";
  m->accepted_spans =
      &counter_family("strobe_receiver_accepted_spans_total", accepted_help, {"receiver"})
           ->With({{"receiver", r}});
  m->accepted_points =
      &counter_family("strobe_receiver_accepted_metric_points_total", accepted_help, {"receiver"})
           ->With({{"receiver", r}});
  m->accepted_logs =
      &counter_family("strobe_receiver_accepted_log_records_total", accepted_help, {"receiver"})
           ->With({{"receiver", r}});
  m->refused_spans =
      counter_family("strobe_receiver_refused_spans_total", refused_help, {"receiver", "reason"});
  m->refused_points = counter_family("strobe_receiver_refused_metric_points_total", refused_help,
                                     {"receiver", "reason"});
  m->refused_logs = counter_family("strobe_receiver_refused_log_records_total", refused_help,
                                   {"receiver", "reason"});
  auto* records = counter_family("strobe_shm_records_total",
                                 "Records read from shared-memory rings, by record type.",
                                 {"receiver", "type"});
  for (size_t t = 0; t < STROBE_REC_TYPE_COUNT; ++t) {
    m->records[t] = &records->With({{"receiver", r}, {"type", RecordTypeName(t)}});
  }
  auto* invalid = counter_family(
      "strobe_shm_invalid_records_total",
      "Records read from shm rings and not used, by reason (malformed_frame: invalid framing, "
      "the rest of the ring up to the producer's write position skipped; torn: reserved by a "
      "producer that died before committing; undecodable; unknown_series: a point of a series "
      "never defined or refused; invalid_value; kind_mismatch (also a definition with other "
      "histogram buckets than the series'); series_limit: a definition over "
      "max_series; key_table_full / key_too_long / key_source_limit: a definition whose label key "
      "the attribute key table refused (key_source_limit: the ring's max_new_keys_per_ring); "
      "invalid_utf8: a definition whose label value, description or unit is not UTF-8). All "
      "but torn "
      "are reported to the producer's flush as data loss (a "
      "run of malformed frames as one).",
      {"receiver", "reason"});
  m->malformed = &invalid->With({{"receiver", r}, {"reason", "malformed_frame"}});
  m->torn = &invalid->With({{"receiver", r}, {"reason", "torn"}});
  m->undecodable = &invalid->With({{"receiver", r}, {"reason", "undecodable"}});
  m->unknown_series = &invalid->With({{"receiver", r}, {"reason", "unknown_series"}});
  m->invalid_value = &invalid->With({{"receiver", r}, {"reason", "invalid_value"}});
  m->kind_mismatch = &invalid->With({{"receiver", r}, {"reason", "kind_mismatch"}});
  m->series_limit = &invalid->With({{"receiver", r}, {"reason", "series_limit"}});
  m->key_table_full = &invalid->With({{"receiver", r}, {"reason", "key_table_full"}});
  m->key_too_long = &invalid->With({{"receiver", r}, {"reason", "key_too_long"}});
  m->dropped_attributes =
      &counter_family("strobe_shm_dropped_attributes_total",
                      "Span and event attributes dropped because the attribute key table refused "
                      "their key (the record is kept, with dropped_attributes_count set).",
                      {"receiver"})
           ->With({{"receiver", r}});
  m->invalid_utf8 = &invalid->With({{"receiver", r}, {"reason", "invalid_utf8"}});
  m->key_source_limit = &invalid->With({{"receiver", r}, {"reason", "key_source_limit"}});
  m->producer_dropped =
      &counter_family("strobe_shm_producer_dropped_records_total",
                      "Records producers dropped because their ring was full (from the ring "
                      "headers).",
                      {"receiver"})
           ->With({{"receiver", r}});
  auto* retries = counter_family(
      "strobe_shm_push_retries_total",
      "Times the pipeline pushed back and the shm receiver held its batch and paused draining.",
      {"receiver", "reason"});
  m->retries_throttled = &retries->With({{"receiver", r}, {"reason", "throttled"}});
  m->retries_refused = &retries->With({{"receiver", r}, {"reason", "refused"}});
  m->attached = &counter_family("strobe_shm_rings_attached_total",
                                "Producer rings the shm receiver attached to.", {"receiver"})
                     ->With({{"receiver", r}});
  m->reclaimed =
      &counter_family("strobe_shm_rings_reclaimed_total",
                      "Rings of exited or dead producers drained and removed.", {"receiver"})
           ->With({{"receiver", r}});
  auto* rejected = counter_family(
      "strobe_shm_rejected_rings_total",
      "Files named like a ring the shm receiver does not read, by reason (invalid_header: left "
      "in place; owner_not_allowed: owner not in shm allowed_users/allowed_groups, never read, "
      "written or removed; truncated: the file shrank while attached, the ring was dropped).",
      {"receiver", "reason"});
  m->rejected_invalid = &rejected->With({{"receiver", r}, {"reason", "invalid_header"}});
  m->rejected_owner = &rejected->With({{"receiver", r}, {"reason", "owner_not_allowed"}});
  m->rejected_truncated = &rejected->With({{"receiver", r}, {"reason", "truncated"}});
  m->rings =
      &gauge_family("strobe_shm_rings", "Producer rings attached now.")->With({{"receiver", r}});
  m->series = &gauge_family("strobe_shm_series", "Distinct metric series the shm receiver holds.")
                   ->With({{"receiver", r}});
  metrics_ = std::move(m);
}

ShmReceiver::~ShmReceiver() {
  if (thread_.joinable()) (void)Shutdown(std::chrono::milliseconds(0));
}

uint64_t ShmReceiver::NowNs() const {
  return options_.clock != nullptr ? options_.clock->NowNs()
                                   : base::MonotonicClock::Steady().NowNs();
}

std::string ShmReceiver::Endpoint() const {
  return options_.dir + "/strobe-" + options_.ring + "-*";
}

strobe::Status ShmReceiver::Start(pipeline::Ingest& ingest) {
  if (thread_.joinable()) return strobe::FailedPrecondition("shm receiver already started");
  strobe::shm::ConsumerOptions co;
  co.ring = options_.ring;
  co.dir = options_.dir;
  co.max_records_per_ring = options_.max_records_per_ring;
  co.allowed_uids = options_.allowed_uids;
  co.allowed_gids = options_.allowed_gids;
  co.allow_any_owner = options_.allow_any_owner;
  auto consumer = strobe::shm::Consumer::Open(co);
  if (!consumer.ok()) return consumer.status().WithContext("shm receiver " + options_.name);
  consumer_ = std::move(*consumer);
  ingest_ = &ingest;
  event::KeyTable& keys = options_.keys != nullptr ? *options_.keys : event::KeyTable::Global();
  translator_ = std::make_unique<ShmTranslator>(ingest.pool(), keys, options_.translator);
  // A PING acknowledges everything before it: hand what was read to the pipeline first, and
  // hold the PING (the producer's flush waits) while the pipeline refuses any of it. While a
  // refused batch waits for its Retry-After, a PING does not push ahead of the schedule.
  translator_->set_on_ping([this] {
    if (!pending_.empty() && NowNs() < retry_at_ns_) return false;
    MoveToPending(/*metrics=*/true, /*all_series=*/false);
    return PushPending(NowNs() + 1'000'000);
  });
  stop_.store(false, std::memory_order_relaxed);
  thread_ = std::thread([this] { Run(); });
  return strobe::OkStatus();
}

void ShmReceiver::MoveToPending(bool metrics, bool all_series) {
  if (event::BatchPtr b = translator_->TakeEvents()) pending_.push_back(std::move(b));
  events_since_ns_ = 0;
  if (metrics) {
    if (event::BatchPtr b = translator_->CollectMetrics(strobe::WallNowNs(), all_series)) {
      pending_.push_back(std::move(b));
    }
  }
}

bool ShmReceiver::PushPending(uint64_t deadline_ns) {
  while (!pending_.empty()) {
    event::BatchPtr& front = pending_.front();
    const uint64_t spans = front->spans().size();
    const uint64_t points = front->metrics().size();
    const uint64_t logs = front->logs().size();
    pipeline::PushResult r = ingest_->Push(std::move(front), {.deadline_ns = deadline_ns});
    if (r.accepted()) {
      pending_.pop_front();
      metrics_->accepted_spans->Add(spans);
      metrics_->accepted_points->Add(points);
      metrics_->accepted_logs->Add(logs);
      std::lock_guard<std::mutex> lock(mu_);
      totals_.spans += spans;
      totals_.metric_points += points;
      totals_.log_records += logs;
      continue;
    }
    front = std::move(r.batch);
    if (r.status == pipeline::PushStatus::kShutdown) {
      // The pipeline is gone: what is left cannot be delivered. Counted, then released.
      const std::string reason(pipeline::PushStatusName(r.status));
      metrics_->refused_spans->With({{"receiver", options_.name}, {"reason", reason}}).Add(spans);
      metrics_->refused_points->With({{"receiver", options_.name}, {"reason", reason}}).Add(points);
      metrics_->refused_logs->With({{"receiver", options_.name}, {"reason", reason}}).Add(logs);
      pending_.pop_front();
      continue;
    }
    (r.status == pipeline::PushStatus::kThrottled ? metrics_->retries_throttled
                                                  : metrics_->retries_refused)
        ->Inc();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++totals_.push_retries;
    }
    const uint64_t hint_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(r.retry_after).count());
    retry_at_ns_ = NowNs() + std::clamp<uint64_t>(hint_ns, 1'000'000, 100'000'000);
    return false;
  }
  return true;
}

void ShmReceiver::PublishStats() {
  const strobe::shm::ReaderStats& rs = consumer_->stats();
  const ShmTranslatorStats& ts = translator_->stats();
  Metrics& m = *metrics_;
  m.malformed->Add(Delta(rs.malformed, published_reader_.malformed));
  m.torn->Add(Delta(rs.torn, published_reader_.torn));
  m.producer_dropped->Add(Delta(rs.producer_dropped, published_reader_.producer_dropped));
  m.attached->Add(Delta(rs.rings_attached, published_reader_.rings_attached));
  m.reclaimed->Add(Delta(rs.rings_reclaimed, published_reader_.rings_reclaimed));
  m.rejected_invalid->Add(Delta(rs.rings_rejected, published_reader_.rings_rejected));
  m.rejected_owner->Add(Delta(rs.rings_rejected_owner, published_reader_.rings_rejected_owner));
  m.rejected_truncated->Add(Delta(rs.rings_truncated, published_reader_.rings_truncated));
  for (size_t t = 0; t < STROBE_REC_TYPE_COUNT; ++t) {
    m.records[t]->Add(Delta(ts.records[t], published_translator_.records[t]));
  }
  m.undecodable->Add(Delta(ts.invalid_records, published_translator_.invalid_records));
  m.unknown_series->Add(Delta(ts.unknown_series, published_translator_.unknown_series));
  m.invalid_value->Add(Delta(ts.invalid_values, published_translator_.invalid_values));
  m.kind_mismatch->Add(Delta(ts.kind_mismatch, published_translator_.kind_mismatch));
  m.series_limit->Add(Delta(ts.series_limit, published_translator_.series_limit));
  m.key_table_full->Add(Delta(ts.key_table_full, published_translator_.key_table_full));
  m.key_too_long->Add(Delta(ts.key_too_long, published_translator_.key_too_long));
  m.dropped_attributes->Add(Delta(ts.dropped_attributes, published_translator_.dropped_attributes));
  m.invalid_utf8->Add(Delta(ts.invalid_utf8, published_translator_.invalid_utf8));
  m.key_source_limit->Add(Delta(ts.key_source_limit, published_translator_.key_source_limit));
  m.rings->Set(static_cast<double>(consumer_->ring_count()));
  m.series->Set(static_cast<double>(ts.series));
  std::lock_guard<std::mutex> lock(mu_);
  totals_.records = rs.records;
  totals_.malformed = rs.malformed;
  totals_.torn = rs.torn;
  totals_.producer_dropped = rs.producer_dropped;
  totals_.invalid = translator_->RejectedRecords();
  totals_.rings = consumer_->ring_count();
  totals_.rejected_owner = rs.rings_rejected_owner;
  totals_.truncated = rs.rings_truncated;
  totals_.rejected_invalid = rs.rings_rejected;
  totals_.series = ts.series;
}

ShmReceiver::Totals ShmReceiver::totals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return totals_;
}

void ShmReceiver::Run() {
  const uint64_t scan_ns = static_cast<uint64_t>(options_.scan_interval.count());
  const uint64_t metrics_ns = static_cast<uint64_t>(options_.metrics_interval.count());
  const uint64_t batch_ns = static_cast<uint64_t>(options_.batch_timeout.count());
  const uint64_t busy_ns = static_cast<uint64_t>(options_.busy_poll.count());
  const uint64_t max_sleep_ns = static_cast<uint64_t>(options_.idle_sleep.count());
  const uint64_t deep_sleep_ns =
      std::max(max_sleep_ns, static_cast<uint64_t>(options_.deep_idle_sleep.count()));
  const uint64_t deep_after_ns = static_cast<uint64_t>(options_.deep_idle_after.count());
  uint64_t next_scan = 0;
  uint64_t next_metrics = NowNs() + metrics_ns;
  uint64_t last_record_ns = 0;
  uint64_t sleep_ns = 0;
  uint64_t flush_seen = 0;
  while (!stop_.load(std::memory_order_acquire)) {
    const uint64_t now = NowNs();
    // Back-pressure: nothing new is drained while the pipeline refuses what we hold.
    if (!pending_.empty()) {
      if (now < retry_at_ns_ || !PushPending(now + 5'000'000)) {
        if (now >= next_scan) {
          PublishStats();
          next_scan = now + scan_ns;
        }
        SleepNs(std::min<uint64_t>(retry_at_ns_ > now ? retry_at_ns_ - now : 1'000'000, 1'000'000));
        continue;
      }
    }
    if (now >= next_scan) {
      consumer_->Scan(*translator_);
      PublishStats();
      next_scan = now + scan_ns;
    }
    const size_t n = consumer_->Poll(*translator_);
    if (translator_->pending_events() > 0 && events_since_ns_ == 0) events_since_ns_ = now;
    const bool events_due = translator_->pending_events() >= options_.batch_events ||
                            (events_since_ns_ != 0 && now - events_since_ns_ >= batch_ns);
    const bool metrics_due = now >= next_metrics;
    const uint64_t flush_req = flush_requested_.load(std::memory_order_acquire);
    if (events_due || metrics_due || flush_req != flush_seen) {
      if (flush_req != flush_seen) consumer_->Scan(*translator_);  // producer drop counters
      MoveToPending(metrics_due || flush_req != flush_seen, false);
      if (metrics_due) next_metrics = now + metrics_ns;
      const bool pushed = PushPending(now + 5'000'000);
      if (flush_req != flush_seen && pushed) {
        flush_seen = flush_req;
        PublishStats();
        {
          std::lock_guard<std::mutex> lock(mu_);
          flush_done_ = flush_req;
        }
        cv_.notify_all();
      }
    }
    if (n > 0) {
      last_record_ns = now;
      sleep_ns = 0;
    } else if (now - last_record_ns < busy_ns) {
      CpuRelax();
    } else {
      const uint64_t cap = now - last_record_ns >= deep_after_ns ? deep_sleep_ns : max_sleep_ns;
      sleep_ns = sleep_ns == 0 ? 20'000 : std::min(sleep_ns * 2, cap);
      SleepNs(sleep_ns);
    }
  }
  // Shutdown: drain what producers committed, then push until the deadline.
  const uint64_t deadline = stop_deadline_ns_;
  consumer_->Scan(*translator_);
  while (consumer_->Poll(*translator_) > 0 && NowNs() < deadline) {
    if (translator_->pending_events() >= options_.batch_events) MoveToPending(false, false);
  }
  MoveToPending(true, false);
  while (!PushPending(std::max(deadline, NowNs() + 1'000'000)) && NowNs() < deadline) {
    SleepNs(std::min<uint64_t>(1'000'000, retry_at_ns_ > NowNs() ? retry_at_ns_ - NowNs() : 0));
  }
  // What the pipeline never took is counted as refused.
  for (event::BatchPtr& b : pending_) {
    metrics_->refused_spans->With({{"receiver", options_.name}, {"reason", "deadline"}})
        .Add(b->spans().size());
    metrics_->refused_points->With({{"receiver", options_.name}, {"reason", "deadline"}})
        .Add(b->metrics().size());
    metrics_->refused_logs->With({{"receiver", options_.name}, {"reason", "deadline"}})
        .Add(b->logs().size());
  }
  pending_.clear();
  PublishStats();
}

strobe::Status ShmReceiver::Flush(std::chrono::milliseconds deadline) {
  if (!thread_.joinable()) return strobe::OkStatus();
  const uint64_t req = flush_requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, deadline, [&] { return flush_done_ >= req; })) {
    return strobe::DeadlineExceeded("shm receiver " + options_.name +
                                    ": flush not done (pipeline pushing back)");
  }
  return strobe::OkStatus();
}

strobe::Status ShmReceiver::Shutdown(std::chrono::milliseconds deadline) {
  if (!thread_.joinable()) return strobe::OkStatus();
  stop_deadline_ns_ = NowNs() + static_cast<uint64_t>(std::chrono::nanoseconds(deadline).count());
  stop_.store(true, std::memory_order_release);  // publishes stop_deadline_ns_
  thread_.join();
  consumer_.reset();  // removes the daemon marker; rings stay for the next daemon
  return strobe::OkStatus();
}

strobe::Result<std::vector<uint32_t>> ResolveOwners(std::string_view list, bool groups) {
  std::vector<uint32_t> ids;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string item(list.substr(pos, comma - pos));
    pos = comma + 1;
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty()) continue;
    uint32_t id = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (ec == std::errc() && end == item.data() + item.size()) {
      ids.push_back(id);
      continue;
    }
    // A name: resolved once, at configuration (getpw/getgr may read files or ask NSS).
    std::vector<char> buf(16384);
    if (groups) {
      struct group g {};
      struct group* found = nullptr;
      if (getgrnam_r(item.c_str(), &g, buf.data(), buf.size(), &found) != 0 || !found) {
        return strobe::InvalidArgument("unknown group '" + item + "'");
      }
      ids.push_back(static_cast<uint32_t>(found->gr_gid));
    } else {
      struct passwd pw {};
      struct passwd* found = nullptr;
      if (getpwnam_r(item.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
        return strobe::InvalidArgument("unknown user '" + item + "'");
      }
      ids.push_back(static_cast<uint32_t>(found->pw_uid));
    }
  }
  return ids;
}

namespace {

strobe::Status ParseAllowedOwners(const pipeline::Options& o, ShmReceiverOptions& out) {
  const std::string users = o.GetString("allowed_users");
  const std::string groups = o.GetString("allowed_groups");
  if (users == "*" || groups == "*") {
    out.allow_any_owner = true;
    return strobe::OkStatus();
  }
  auto u = ResolveOwners(users, false);
  if (!u.ok())
    return strobe::InvalidArgument(o.Where("allowed_users") + ": " + u.status().message());
  auto g = ResolveOwners(groups, true);
  if (!g.ok()) {
    return strobe::InvalidArgument(o.Where("allowed_groups") + ": " + g.status().message());
  }
  out.allowed_uids = std::move(*u);
  out.allowed_gids = std::move(*g);
  return strobe::OkStatus();
}

}  // namespace

void RegisterShmReceiver(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(
      registry
          .AddReceiver({
              .type = "shm",
              .description = "Shared-memory rings of local producers (libstrobe, the Python "
                             "package): metrics aggregated per series, spans, events.",
              .signals = event::kSignalAll,
              .options =
                  {
                      {"name", pipeline::OptionType::kString, "strobe",
                       "ring name: producers connect to <dir>/strobe-<name>-<pid>"},
                      {"dir", pipeline::OptionType::kString, "/dev/shm",
                       "directory of the segments (a tmpfs)"},
                      {"scan_interval",
                       pipeline::OptionType::kDuration,
                       "100ms",
                       "how often new and dead producers are looked for",
                       {.min = "0ms", .min_exclusive = true}},
                      {"metrics_interval",
                       pipeline::OptionType::kDuration,
                       "1s",
                       "how often changed series are pushed as cumulative points",
                       {.min = "0ms", .min_exclusive = true}},
                      {"batch_timeout",
                       pipeline::OptionType::kDuration,
                       "100ms",
                       "longest a span or event waits in a partial batch",
                       {.min = "0ms", .min_exclusive = true}},
                      {"batch_events",
                       pipeline::OptionType::kInt,
                       "1000",
                       "spans and events per pushed batch",
                       {.min = "1", .max = "1000000"}},
                      {"busy_poll", pipeline::OptionType::kDuration, "200us",
                       "spin this long after the last record before sleeping"},
                      {"idle_sleep",
                       pipeline::OptionType::kDuration,
                       "1ms",
                       "longest sleep between polls when idle",
                       {.min = "0ms", .min_exclusive = true}},
                      {"deep_idle_sleep",
                       pipeline::OptionType::kDuration,
                       "10ms",
                       "longest sleep between polls after 1s without records",
                       {.min = "0ms", .min_exclusive = true}},
                      {"max_series",
                       pipeline::OptionType::kInt,
                       "100000",
                       "distinct metric series kept; more are refused and counted",
                       {.min = "1", .max = "100000000"}},
                      {"max_new_keys_per_ring",
                       pipeline::OptionType::kInt,
                       "4096",
                       "attribute keys new to the daemon's key table one ring may add per "
                       "new_keys_window (series with a refused label key are refused)",
                       {.min = "0", .max = "65536"}},
                      {"new_keys_window",
                       pipeline::OptionType::kDuration,
                       "1h",
                       "window of max_new_keys_per_ring",
                       {.min = "1s"}},
                      {"allowed_users", pipeline::OptionType::kString, "",
                       "users (names or uids, comma-separated, * for anyone) whose rings are "
                       "read; empty with allowed_groups empty: the daemon's own user and "
                       "group"},
                      {"allowed_groups", pipeline::OptionType::kString, "",
                       "groups (names or gids, comma-separated) whose members' rings are read"},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Receiver>> {
                ShmReceiverOptions o;
                o.name = ctx.id.ToString();
                o.ring = ctx.options.GetString("name");
                if (!strobe::shm::ValidRingName(o.ring)) {
                  return strobe::InvalidArgument(ctx.options.Where("name") + ": shm ring name '" +
                                                 o.ring + "' must match [A-Za-z0-9_.]{1,64}");
                }
                o.dir = ctx.options.GetString("dir");
                o.scan_interval = ctx.options.GetDuration("scan_interval");
                o.metrics_interval = ctx.options.GetDuration("metrics_interval");
                o.batch_timeout = ctx.options.GetDuration("batch_timeout");
                o.busy_poll = ctx.options.GetDuration("busy_poll");
                o.idle_sleep = ctx.options.GetDuration("idle_sleep");
                o.deep_idle_sleep = ctx.options.GetDuration("deep_idle_sleep");
                // Bounds are in the option table (validated before the factory runs).
                STROBE_RETURN_IF_ERROR(ParseAllowedOwners(ctx.options, o));
                o.batch_events = static_cast<size_t>(ctx.options.GetInt("batch_events"));
                o.translator.max_series = static_cast<size_t>(ctx.options.GetInt("max_series"));
                o.translator.max_new_keys_per_ring =
                    static_cast<uint64_t>(ctx.options.GetInt("max_new_keys_per_ring"));
                o.translator.new_keys_window_ns =
                    static_cast<uint64_t>(ctx.options.GetDuration("new_keys_window").count());
                o.keys = &ctx.keys;
                o.clock = &ctx.clock;
                o.metrics = ctx.services.metrics;
                return std::unique_ptr<pipeline::Receiver>(
                    std::make_unique<ShmReceiver>(std::move(o)));
              },
          })
          .ok());
}

}  // namespace strobed::receivers
