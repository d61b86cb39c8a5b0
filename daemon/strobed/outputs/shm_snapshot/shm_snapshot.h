#pragma once

// strobed::outputs::ShmSnapshotComponent: publishes the daemon's current results into a
// read-only shared-memory snapshot (<shm.dir>/strobe-<shm.name>.snapshot, mode 0600, format
// in docs/shm-format.md) every `shm.snapshot_interval`, so local programs read them back
// without HTTP (the Python package: `conn.snapshot()`, `conn.metrics()`, ...).
//
// The document is one JSON object built from the same handlers as the HTTP API, called in
// process (no socket):
//   {"time_unix_ns": N,
//    "metrics": <GET /api/v1/metrics>,        current values of every metric
//    "windows": <GET /api/v1/stream/series>,  stream window results per series
//    "alerts":  <GET /api/v1/alerts>,         alert states and history
//    "service_graph": <GET /api/v1/service-graph>}
// A part whose component is not running is left out. A document over the segment's capacity
// is not published (the previous one stays readable) and is counted.
//
// An output, not a pipeline exporter: it publishes the daemon's results, not pipeline data
// (docs/design/plugins.md, "Outputs").
//
// At start (unless shm.name is off) it removes the snapshots and daemon markers that crashed
// daemons of this user left in shm.dir, of any ring name (strobe::shm::RemoveStaleDaemonFiles:
// never another user's file, never a live daemon's), logs each and counts them in
// strobe_shm_stale_files_removed_total.
//
// Self-metrics: strobe_shm_snapshot_publishes_total, strobe_shm_snapshot_too_large_total,
// strobe_shm_snapshot_bytes, strobe_shm_stale_files_removed_total.
//
// Thread class: Component methods on the control thread; one private publishing thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "strobed/daemon/component.h"

namespace strobe::shm {
class SnapshotWriter;
}  // namespace strobe::shm
namespace strobe::metrics {
class Counter;
class Gauge;
}  // namespace strobe::metrics

namespace strobed::outputs {

class ShmSnapshotComponent final : public daemon::Component {
 public:
  ShmSnapshotComponent();
  ~ShmSnapshotComponent() override;

  std::string Name() const override { return "shm_snapshot"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;
  std::string StatusJson() const override;

  // Builds the document now (also used by tests).
  std::string BuildDocument() const;
  // Publishes one document now (the thread does this every interval).
  void PublishOnce();

 private:
  void Run();

  server::Router* api_ = nullptr;
  std::unique_ptr<strobe::shm::SnapshotWriter> writer_;
  std::chrono::milliseconds interval_{250};
  strobe::metrics::Counter* publishes_ = nullptr;
  strobe::metrics::Counter* too_large_ = nullptr;
  strobe::metrics::Gauge* bytes_ = nullptr;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> last_bytes_{0};

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
};

}  // namespace strobed::outputs
