#pragma once

// strobed::host::HostCollector: the daemon component that reads host and process metrics
// from /proc and /sys every `host.interval` (default 1 s) and exposes them in the daemon's
// registry with node_exporter's names (Prometheus users know them; docs/daemon.md lists
// them), plus the standard process_* metrics of the daemon itself:
//
//   node_cpu_seconds_total{cpu,mode}           /proc/stat (per core; mode user, nice, system,
//                                              idle, iowait, irq, softirq, steal)
//   node_cpu_usage_ratio{cpu}                  busy fraction over the last interval, per core
//                                              and cpu="total" (strobe addition)
//   node_memory_MemTotal_bytes, _MemFree_bytes, _MemAvailable_bytes, _Buffers_bytes,
//   _Cached_bytes, _SwapTotal_bytes, _SwapFree_bytes, node_memory_used_bytes (total -
//   available; strobe addition)                /proc/meminfo
//   node_load1, node_load5, node_load15        /proc/loadavg
//   node_network_{receive,transmit}_{bytes,packets,errs,drop}_total{device}  /proc/net/dev
//   node_network_up{device}, node_network_mtu_bytes{device}                  /sys/class/net
//   node_disk_{reads,writes}_completed_total{device}, node_disk_read_bytes_total,
//   node_disk_written_bytes_total, node_disk_io_time_seconds_total,
//   node_disk_io_now{device}                   /proc/diskstats
//   node_context_switches_total, node_forks_total, node_procs_running,
//   node_procs_blocked, node_boot_time_seconds /proc/stat
//   node_filesystem_{size,free,avail}_bytes, node_filesystem_files,
//   node_filesystem_files_free, node_filesystem_readonly,
//   node_filesystem_device_error{device,fstype,mountpoint}
//                                              /proc/self/mountinfo + statvfs(2), one series
//                                              per mount point (the mount on top when several
//                                              share one); pseudo file systems and system
//                                              paths excluded as node_exporter does by
//                                              default (proc.h ClassifyMount), network file
//                                              systems skipped unless
//                                              host.network_filesystems; at most
//                                              kMaxFilesystems mounts
//   node_uname_info{sysname,release,version,machine,nodename,domainname}  uname(2), value 1
//   process_cpu_seconds_total, process_resident_memory_bytes,
//   process_virtual_memory_bytes, process_open_fds, process_max_fds, process_threads,
//   process_start_time_seconds, process_context_switches_total{type}   /proc/self
//   strobe_host_collections_total, strobe_host_collection_errors_total{file},
//   strobe_host_collection_duration_seconds,
//   strobe_host_filesystems_skipped{reason}    the collector's own health (skipped mounts in
//                                              the last collection: limit, network, stuck)
//
// Threading: one collector thread reads the files into a Snapshot and swaps it in under a
// mutex; registry callbacks (run at scrape time) copy values out under the same mutex. A
// file that cannot be read is counted and its metrics keep the last values. statvfs runs
// through a StatfsProber with a timeout (statfs_timeout, 1 s): a mount whose statvfs hangs
// costs one collection that timeout once, then shows node_filesystem_device_error 1 (and no
// size series) until the blocked call returns; the other mounts are read as usual.
//
// Thread class: component methods on the control thread; callbacks thread-safe.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/daemon/component.h"
#include "strobed/host/proc.h"
#include "strobed/host/statfs_prober.h"

namespace strobed::host {

struct HostSnapshot {
  ProcStat stat;
  MemInfo mem;
  LoadAvg load;
  NetDevs net;
  struct NetSys {
    bool up = false;
    uint64_t mtu = 0;
  };
  std::map<std::string, NetSys> net_sys;
  DiskStats disks;
  ProcessStat self;
  ProcessStatus self_status;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
  std::map<std::string, double> cpu_usage;  // "total", "0", ... → 0..1
  struct Filesystem {
    MountEntry mount;
    double size_bytes = 0, free_bytes = 0, avail_bytes = 0, files = 0, files_free = 0;
    bool device_error = false;  // statvfs failed, timed out or is still stuck
  };
  std::vector<Filesystem> filesystems;
  uint64_t filesystems_over_limit = 0;  // reportable mounts beyond kMaxFilesystems
  uint64_t network_filesystems_skipped = 0;
  uint64_t filesystems_stuck = 0;
  struct Uname {
    std::string sysname, release, version, machine, nodename, domainname;
  };
  Uname uname;
  bool has_uname = false;
};

class HostCollector : public daemon::Component {
 public:
  struct Options {
    std::string proc_root = "/proc";
    std::string sys_root = "/sys";
    std::chrono::milliseconds interval{1000};
    std::string self = "self";         // the process whose process_* metrics are exposed
    bool network_filesystems = false;  // statvfs network mounts too (host.network_filesystems)
    std::chrono::milliseconds statfs_timeout{1000};
    StatfsProber::StatFn statfs;  // nullptr: ::statvfs (tests inject one)
  };
  // At most this many mounts are reported; more are counted in
  // strobe_host_filesystems_skipped{reason="limit"} (a host running many containers can have
  // thousands of mounts).
  static constexpr std::size_t kMaxFilesystems = 256;
  HostCollector() = default;
  // Fixed options (tests); otherwise Start() takes them from the configuration.
  explicit HostCollector(Options options) : fixed_(true), options_(std::move(options)) {}
  ~HostCollector() override;

  std::string Name() const override { return "host"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;
  strobe::Status Reload(const config::Config& next) override;
  daemon::Readiness Ready() const override;
  std::string StatusJson() const override;

  // Reads every file once and publishes the snapshot (the thread calls this each interval).
  void CollectOnce();
  HostSnapshot SnapshotForTest() const;

 private:
  // The file's text; on failure "" with errors_[what] counted and *ok (if given) false.
  std::string ReadFile(const std::string& path, const char* what, bool* ok = nullptr);
  // Fills s.filesystems from mountinfo + statvfs; false when mountinfo could not be read.
  bool CollectFilesystems(HostSnapshot& s);
  strobe::Status RegisterMetrics(strobe::metrics::Registry& registry);
  void Loop();

  bool fixed_ = false;
  Options options_;
  strobe::metrics::Registry* registry_ = nullptr;
  std::vector<std::string> registered_;
  double ticks_per_second_ = 100;
  uint64_t page_bytes_ = 4096;
  std::unique_ptr<StatfsProber> prober_;  // used by the collecting thread only

  mutable strobe::Mutex mu_;
  strobe::CondVar cv_;
  HostSnapshot snap_ STROBE_GUARDED_BY(mu_);
  bool stop_ STROBE_GUARDED_BY(mu_) = false;
  std::chrono::milliseconds interval_ STROBE_GUARDED_BY(mu_){1000};
  uint64_t collections_ STROBE_GUARDED_BY(mu_) = 0;
  double last_duration_seconds_ STROBE_GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> errors_ STROBE_GUARDED_BY(mu_);  // file → failed reads
  std::thread thread_;
};

}  // namespace strobed::host
