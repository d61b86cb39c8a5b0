#include "strobed/outputs/shm_snapshot/shm_snapshot.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "strobe/base/check.h"
#include "strobe/base/clock.h"
#include "strobe/metrics/registry.h"
#include "strobe/shm/snapshot.h"
#include "strobed/base/json.h"
#include "strobed/config/config.h"
#include "strobed/server/router.h"

namespace strobed::outputs {
namespace {

struct Part {
  const char* key;
  const char* path;
};
constexpr Part kParts[] = {
    {"metrics", "/api/v1/metrics"},
    {"windows", "/api/v1/stream/series"},
    {"alerts", "/api/v1/alerts"},
    {"service_graph", "/api/v1/service-graph"},
};

}  // namespace

ShmSnapshotComponent::ShmSnapshotComponent() = default;

ShmSnapshotComponent::~ShmSnapshotComponent() {
  if (thread_.joinable()) (void)Shutdown(std::chrono::steady_clock::now());
}

strobe::Status ShmSnapshotComponent::Start(const daemon::ComponentContext& ctx) {
  const config::Config& c = ctx.config;
  interval_ = c.shm_snapshot_interval;
  if (c.shm_name == "off") return strobe::OkStatus();
  // Snapshots and markers a crashed daemon of this user left behind, of any ring name: a
  // clean exit removes its own, a SIGKILL or a crash cannot (8 MiB of tmpfs each).
  auto stale = ctx.registry.AddCounter(
      {"strobe_shm_stale_files_removed_total",
       "Snapshot segments and daemon markers of dead daemons (this user's) removed at start.", ""});
  STROBE_CHECK(stale.ok());  // fixed, valid name
  for (const strobe::shm::StaleDaemonFile& f : strobe::shm::RemoveStaleDaemonFiles(c.shm_dir)) {
    spdlog::info("removed {} left by dead daemon pid {}", f.path, f.pid);
    (*stale)->Inc();
  }
  if (interval_.count() <= 0) return strobe::OkStatus();
  api_ = &ctx.api;
  strobe::shm::SnapshotWriterOptions o;
  o.ring = c.shm_name;
  o.dir = c.shm_dir;
  auto writer = strobe::shm::SnapshotWriter::Create(o);
  if (!writer.ok()) return writer.status().WithContext("shm snapshot");
  writer_ = std::move(*writer);
  auto publishes = ctx.registry.AddCounter(
      {"strobe_shm_snapshot_publishes_total", "Results snapshots written to shared memory.", ""});
  auto too_large = ctx.registry.AddCounter(
      {"strobe_shm_snapshot_too_large_total",
       "Results snapshots not written because they exceeded the segment's capacity.", ""});
  auto bytes = ctx.registry.AddGauge(
      {"strobe_shm_snapshot_bytes", "Size of the last results snapshot document.", "bytes"});
  STROBE_CHECK(publishes.ok() && too_large.ok() && bytes.ok());  // fixed, valid names
  publishes_ = *publishes;
  too_large_ = *too_large;
  bytes_ = *bytes;
  if (ctx.report_listener) ctx.report_listener("shm_snapshot", writer_->path());
  PublishOnce();  // readable as soon as the daemon is up
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
  return strobe::OkStatus();
}

std::string ShmSnapshotComponent::BuildDocument() const {
  std::string doc = "{\"time_unix_ns\":" + std::to_string(strobe::WallNowNs());
  if (api_ != nullptr) {
    for (const Part& part : kParts) {
      server::Router::Match m = api_->Find("GET", part.path);
      if (m.status != 200 || !m.route || !m.route->handler) continue;
      server::Request req;
      req.method = "GET";
      req.target = part.path;
      req.path = part.path;
      req.route = m.route->pattern;
      req.remote_address = "shm";
      server::Response r;
      try {
        r = m.route->handler(req);
      } catch (...) {
        continue;  // a failing handler leaves its part out; the rest is still published
      }
      if (r.status != 200 || r.body.empty()) continue;
      doc += ",\"";
      doc += part.key;
      doc += "\":";
      doc += r.body;
    }
  }
  doc += "}";
  return doc;
}

void ShmSnapshotComponent::PublishOnce() {
  if (!writer_) return;
  const std::string doc = BuildDocument();
  strobe::Status s = writer_->Publish(doc, strobe::WallNowNs());
  if (s.ok()) {
    publishes_->Inc();
    bytes_->Set(static_cast<double>(doc.size()));
    published_.fetch_add(1, std::memory_order_relaxed);  // statistic
    last_bytes_.store(doc.size(), std::memory_order_relaxed);
  } else {
    too_large_->Inc();
  }
}

void ShmSnapshotComponent::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    PublishOnce();
    lock.lock();
  }
}

strobe::Status ShmSnapshotComponent::Shutdown(daemon::Deadline deadline) {
  (void)deadline;
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  writer_.reset();  // removes the segment: readers see "daemon not running"
  return strobe::OkStatus();
}

std::string ShmSnapshotComponent::StatusJson() const {
  if (!writer_) return "";
  return "{\"path\":" + base::JsonQuote(writer_->path()) +
         ",\"publishes\":" + std::to_string(published_.load(std::memory_order_relaxed)) +
         ",\"bytes\":" + std::to_string(last_bytes_.load(std::memory_order_relaxed)) + "}";
}

}  // namespace strobed::outputs
