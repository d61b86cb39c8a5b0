#include "strobed/host/host_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>

#include "strobe/metrics/registry.h"
#include "strobed/base/json.h"
#include "strobed/config/config.h"

namespace strobed::host {

namespace m = strobe::metrics;
using Sink = m::CallbackSink;

namespace {

uint64_t CountDirEntries(const std::string& path, bool* ok) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    *ok = false;
    return 0;
  }
  uint64_t n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  *ok = true;
  return n;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

HostCollector::~HostCollector() {
  if (thread_.joinable()) (void)Shutdown(std::chrono::steady_clock::now());
}

std::string HostCollector::ReadFile(const std::string& path, const char* what, bool* ok) {
  std::string out;
  if (ok != nullptr) *ok = true;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (ok != nullptr) *ok = false;
    strobe::MutexLock lock(mu_);
    ++errors_[what];
    return out;
  }
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > (16u << 20)) break;  // bounded: /proc files are far smaller
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (ok != nullptr) *ok = false;
      strobe::MutexLock lock(mu_);
      ++errors_[what];
    }
    break;
  }
  ::close(fd);
  return out;
}

void HostCollector::CollectOnce() {
  const auto start = std::chrono::steady_clock::now();
  const std::string& proc = options_.proc_root;
  HostSnapshot s;
  // Which files were read; one that was not keeps its metrics' last values (below).
  bool stat_ok = true, mem_ok = true, load_ok = true, net_ok = true, disk_ok = true,
       self_stat_ok = true, self_status_ok = true, limits_ok = true;
  s.stat = ParseProcStat(ReadFile(proc + "/stat", "stat", &stat_ok), ticks_per_second_);
  s.mem = ParseMemInfo(ReadFile(proc + "/meminfo", "meminfo", &mem_ok));
  s.load = ParseLoadAvg(ReadFile(proc + "/loadavg", "loadavg", &load_ok));
  s.net = ParseNetDev(ReadFile(proc + "/net/dev", "net/dev", &net_ok));
  for (const auto& d : s.net.devices) {
    HostSnapshot::NetSys ns;
    const std::string base = options_.sys_root + "/class/net/" + d.device;
    std::string oper = Trimmed(ReadFile(base + "/operstate", "sys/class/net"));
    ns.up = oper == "up" || (oper == "unknown" && d.device == "lo");
    std::string mtu = Trimmed(ReadFile(base + "/mtu", "sys/class/net"));
    ns.mtu = mtu.empty() ? 0 : std::strtoull(mtu.c_str(), nullptr, 10);
    s.net_sys[d.device] = ns;
  }
  s.disks = ParseDiskStats(ReadFile(proc + "/diskstats", "diskstats", &disk_ok));
  const std::string self = proc + "/" + options_.self;
  s.self = ParseProcessStat(ReadFile(self + "/stat", "self/stat", &self_stat_ok), ticks_per_second_,
                            page_bytes_);
  s.self_status = ParseProcessStatus(ReadFile(self + "/status", "self/status", &self_status_ok));
  s.max_fds = ParseMaxOpenFiles(ReadFile(self + "/limits", "self/limits", &limits_ok));
  bool fds_ok = false;
  s.open_fds = CountDirEntries(self + "/fd", &fds_ok);
  const bool mounts_ok = CollectFilesystems(s);
  struct utsname u {};
  if (::uname(&u) == 0) {
    s.uname = {u.sysname, u.release, u.version, u.machine, u.nodename, u.domainname};
    s.has_uname = true;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  strobe::MutexLock lock(mu_);
  if (!fds_ok) ++errors_["self/fd"];
  if (collections_ > 0) {
    if (!stat_ok) s.stat = snap_.stat;
    if (!mem_ok) s.mem = snap_.mem;
    if (!load_ok) s.load = snap_.load;
    if (!net_ok) {
      s.net = snap_.net;
      s.net_sys = snap_.net_sys;
    }
    if (!disk_ok) s.disks = snap_.disks;
    if (!self_stat_ok) s.self = snap_.self;
    if (!self_status_ok) s.self_status = snap_.self_status;
    if (!limits_ok) s.max_fds = snap_.max_fds;
    if (!fds_ok) s.open_fds = snap_.open_fds;
    if (!mounts_ok) {
      s.filesystems = snap_.filesystems;
      s.filesystems_over_limit = snap_.filesystems_over_limit;
      s.network_filesystems_skipped = snap_.network_filesystems_skipped;
      s.filesystems_stuck = snap_.filesystems_stuck;
    }
  }
  // Busy fraction since the previous collection, per core and in total.
  auto usage = [](const CpuTimes& now, const CpuTimes& before) {
    double total = now.Total() - before.Total();
    double busy = now.Busy() - before.Busy();
    if (total <= 0) return 0.0;
    double r = busy / total;
    return r < 0 ? 0.0 : (r > 1 ? 1.0 : r);
  };
  if (collections_ > 0) {
    s.cpu_usage["total"] = usage(s.stat.total, snap_.stat.total);
    for (const auto& c : s.stat.cpus) {
      for (const auto& old : snap_.stat.cpus) {
        if (old.cpu == c.cpu) s.cpu_usage[c.cpu] = usage(c, old);
      }
    }
  }
  snap_ = std::move(s);
  ++collections_;
  last_duration_seconds_ = seconds;
}

bool HostCollector::CollectFilesystems(HostSnapshot& s) {
  bool ok = true;
  MountInfo info = ParseMountInfo(
      ReadFile(options_.proc_root + "/" + options_.self + "/mountinfo", "mountinfo", &ok));
  if (!ok) return false;
  // A later mount on the same path hides the earlier ones: statvfs sees the last, so only
  // that one is reported (and no series is duplicated).
  std::map<std::string_view, std::size_t> top;
  for (std::size_t i = 0; i < info.mounts.size(); ++i) top[info.mounts[i].mount_point] = i;
  if (prober_ == nullptr) prober_ = std::make_unique<StatfsProber>(options_.statfs);
  for (std::size_t i = 0; i < info.mounts.size(); ++i) {
    const MountEntry& m = info.mounts[i];
    if (top[m.mount_point] != i) continue;
    const MountClass cls = ClassifyMount(m);
    if (cls == MountClass::kPseudo || cls == MountClass::kExcludedPath) continue;
    if (cls == MountClass::kNetwork && !options_.network_filesystems) {
      ++s.network_filesystems_skipped;
      continue;
    }
    if (s.filesystems.size() >= kMaxFilesystems) {
      ++s.filesystems_over_limit;
      continue;
    }
    HostSnapshot::Filesystem fs;
    fs.mount = m;
    struct statvfs st {};
    switch (prober_->Stat(m.mount_point, options_.statfs_timeout, &st)) {
      case StatfsProber::Outcome::kOk: {
        // f_blocks, f_bfree and f_bavail count f_frsize units (statvfs(3)); Linux reports
        // f_frsize == f_bsize for the common file systems.
        const double unit = static_cast<double>(st.f_frsize != 0 ? st.f_frsize : st.f_bsize);
        fs.size_bytes = static_cast<double>(st.f_blocks) * unit;
        fs.free_bytes = static_cast<double>(st.f_bfree) * unit;
        fs.avail_bytes = static_cast<double>(st.f_bavail) * unit;
        fs.files = static_cast<double>(st.f_files);
        fs.files_free = static_cast<double>(st.f_ffree);
        break;
      }
      case StatfsProber::Outcome::kTimeout:
      case StatfsProber::Outcome::kStuck:
        ++s.filesystems_stuck;
        fs.device_error = true;
        break;
      case StatfsProber::Outcome::kError:
        fs.device_error = true;
        break;
    }
    s.filesystems.push_back(std::move(fs));
  }
  return true;
}

HostSnapshot HostCollector::SnapshotForTest() const {
  strobe::MutexLock lock(mu_);
  return snap_;
}

strobe::Status HostCollector::RegisterMetrics(m::Registry& r) {
  auto fam = [&](m::MetricDesc desc, m::CallbackType type, std::vector<std::string> labels,
                 std::function<void(const HostSnapshot&, Sink&)> fn) -> strobe::Status {
    std::string name = desc.name;
    STROBE_RETURN_IF_ERROR(
        r.AddCallbackFamily(desc, type, std::move(labels), [this, fn = std::move(fn)](Sink& sink) {
          strobe::MutexLock lock(mu_);
          if (collections_ > 0) fn(snap_, sink);
        }));
    registered_.push_back(std::move(name));
    return strobe::OkStatus();
  };
  const auto kC = m::CallbackType::kCounter;
  const auto kG = m::CallbackType::kGauge;
  auto d = [](uint64_t v) { return static_cast<double>(v); };

  STROBE_RETURN_IF_ERROR(
      fam({"node_cpu_seconds_total", "Seconds the CPUs spent in each mode", "seconds"}, kC,
          {"cpu", "mode"}, [](const HostSnapshot& s, Sink& k) {
            for (const auto& c : s.stat.cpus) {
              k.Emit({c.cpu, "user"}, c.user);
              k.Emit({c.cpu, "nice"}, c.nice);
              k.Emit({c.cpu, "system"}, c.system);
              k.Emit({c.cpu, "idle"}, c.idle);
              k.Emit({c.cpu, "iowait"}, c.iowait);
              k.Emit({c.cpu, "irq"}, c.irq);
              k.Emit({c.cpu, "softirq"}, c.softirq);
              k.Emit({c.cpu, "steal"}, c.steal);
            }
          }));
  STROBE_RETURN_IF_ERROR(fam({"node_cpu_usage_ratio",
                              "Busy fraction of each CPU (and cpu=\"total\") over the last "
                              "collection interval",
                              "ratio"},
                             kG, {"cpu"}, [](const HostSnapshot& s, Sink& k) {
                               for (const auto& [cpu, v] : s.cpu_usage) k.Emit({cpu}, v);
                             }));
  struct MemField {
    const char* name;
    const char* help;
    uint64_t MemInfo::*field;
  };
  static const MemField kMem[] = {
      {"node_memory_MemTotal_bytes", "Total usable memory", &MemInfo::total_bytes},
      {"node_memory_MemFree_bytes", "Unused memory", &MemInfo::free_bytes},
      {"node_memory_MemAvailable_bytes", "Memory available for new work without swapping",
       &MemInfo::available_bytes},
      {"node_memory_Buffers_bytes", "Block device buffers", &MemInfo::buffers_bytes},
      {"node_memory_Cached_bytes", "Page cache", &MemInfo::cached_bytes},
      {"node_memory_SwapTotal_bytes", "Total swap", &MemInfo::swap_total_bytes},
      {"node_memory_SwapFree_bytes", "Unused swap", &MemInfo::swap_free_bytes},
  };
  for (const auto& f : kMem) {
    auto field = f.field;
    STROBE_RETURN_IF_ERROR(
        fam({f.name, f.help, "bytes"}, kG, {},
            [field, d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.mem.*field)); }));
  }
  STROBE_RETURN_IF_ERROR(
      fam({"node_memory_used_bytes", "MemTotal - MemAvailable", "bytes"}, kG, {},
          [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.mem.UsedBytes())); }));
  STROBE_RETURN_IF_ERROR(fam({"node_load1", "1-minute load average", ""}, kG, {},
                             [](const HostSnapshot& s, Sink& k) { k.Emit({}, s.load.load1); }));
  STROBE_RETURN_IF_ERROR(fam({"node_load5", "5-minute load average", ""}, kG, {},
                             [](const HostSnapshot& s, Sink& k) { k.Emit({}, s.load.load5); }));
  STROBE_RETURN_IF_ERROR(fam({"node_load15", "15-minute load average", ""}, kG, {},
                             [](const HostSnapshot& s, Sink& k) { k.Emit({}, s.load.load15); }));
  struct NetField {
    const char* name;
    const char* help;
    const char* unit;
    uint64_t NetDev::*field;
  };
  static const NetField kNet[] = {
      {"node_network_receive_bytes_total", "Bytes received", "bytes", &NetDev::rx_bytes},
      {"node_network_receive_packets_total", "Packets received", "", &NetDev::rx_packets},
      {"node_network_receive_errs_total", "Receive errors", "", &NetDev::rx_errors},
      {"node_network_receive_drop_total", "Received packets dropped", "", &NetDev::rx_dropped},
      {"node_network_transmit_bytes_total", "Bytes sent", "bytes", &NetDev::tx_bytes},
      {"node_network_transmit_packets_total", "Packets sent", "", &NetDev::tx_packets},
      {"node_network_transmit_errs_total", "Transmit errors", "", &NetDev::tx_errors},
      {"node_network_transmit_drop_total", "Sent packets dropped", "", &NetDev::tx_dropped},
  };
  for (const auto& f : kNet) {
    auto field = f.field;
    STROBE_RETURN_IF_ERROR(
        fam({f.name, f.help, f.unit}, kC, {"device"}, [field, d](const HostSnapshot& s, Sink& k) {
          for (const auto& n : s.net.devices) {
            k.Emit({n.device}, d(n.*field));
          }
        }));
  }
  STROBE_RETURN_IF_ERROR(fam({"node_network_up", "1 when the interface is up (operstate)", ""}, kG,
                             {"device"}, [](const HostSnapshot& s, Sink& k) {
                               for (const auto& [dev, ns] : s.net_sys) {
                                 k.Emit({dev}, ns.up ? 1 : 0);
                               }
                             }));
  STROBE_RETURN_IF_ERROR(fam({"node_network_mtu_bytes", "Interface MTU", "bytes"}, kG, {"device"},
                             [d](const HostSnapshot& s, Sink& k) {
                               for (const auto& [dev, ns] : s.net_sys) k.Emit({dev}, d(ns.mtu));
                             }));
  struct DiskField {
    const char* name;
    const char* help;
    const char* unit;
    uint64_t DiskStat::*field;
  };
  static const DiskField kDisk[] = {
      {"node_disk_reads_completed_total", "Reads completed", "", &DiskStat::reads_completed},
      {"node_disk_writes_completed_total", "Writes completed", "", &DiskStat::writes_completed},
      {"node_disk_read_bytes_total", "Bytes read", "bytes", &DiskStat::read_bytes},
      {"node_disk_written_bytes_total", "Bytes written", "bytes", &DiskStat::written_bytes},
  };
  for (const auto& f : kDisk) {
    auto field = f.field;
    STROBE_RETURN_IF_ERROR(
        fam({f.name, f.help, f.unit}, kC, {"device"}, [field, d](const HostSnapshot& s, Sink& k) {
          for (const auto& x : s.disks.devices) {
            k.Emit({x.device}, d(x.*field));
          }
        }));
  }
  STROBE_RETURN_IF_ERROR(
      fam({"node_disk_io_time_seconds_total", "Seconds spent doing I/O", "seconds"}, kC, {"device"},
          [](const HostSnapshot& s, Sink& k) {
            for (const auto& x : s.disks.devices) {
              k.Emit({x.device}, x.io_time_seconds);
            }
          }));
  STROBE_RETURN_IF_ERROR(fam({"node_disk_io_now", "I/Os in progress", ""}, kG, {"device"},
                             [d](const HostSnapshot& s, Sink& k) {
                               for (const auto& x : s.disks.devices) {
                                 k.Emit({x.device}, d(x.io_in_progress));
                               }
                             }));
  STROBE_RETURN_IF_ERROR(
      fam({"node_context_switches_total", "Context switches", ""}, kC, {},
          [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.stat.context_switches)); }));
  STROBE_RETURN_IF_ERROR(fam({"node_forks_total", "Processes created", ""}, kC, {},
                             [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.stat.forks)); }));
  STROBE_RETURN_IF_ERROR(
      fam({"node_procs_running", "Runnable processes", ""}, kG, {},
          [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.stat.procs_running)); }));
  STROBE_RETURN_IF_ERROR(
      fam({"node_procs_blocked", "Processes blocked on I/O", ""}, kG, {},
          [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.stat.procs_blocked)); }));
  STROBE_RETURN_IF_ERROR(
      fam({"node_boot_time_seconds", "Boot time, Unix seconds", "seconds"}, kG, {},
          [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.stat.boot_time_unix)); }));
  struct FsField {
    const char* name;
    const char* help;
    const char* unit;
    double HostSnapshot::Filesystem::*field;
  };
  static const FsField kFs[] = {
      {"node_filesystem_size_bytes", "File system size", "bytes",
       &HostSnapshot::Filesystem::size_bytes},
      {"node_filesystem_free_bytes", "Free space (including space reserved for root)", "bytes",
       &HostSnapshot::Filesystem::free_bytes},
      {"node_filesystem_avail_bytes", "Space available to unprivileged users", "bytes",
       &HostSnapshot::Filesystem::avail_bytes},
      {"node_filesystem_files", "Inodes", "", &HostSnapshot::Filesystem::files},
      {"node_filesystem_files_free", "Free inodes", "", &HostSnapshot::Filesystem::files_free},
  };
  const std::vector<std::string> fs_labels = {"device", "fstype", "mountpoint"};
  for (const auto& f : kFs) {
    auto field = f.field;
    STROBE_RETURN_IF_ERROR(
        fam({f.name, f.help, f.unit}, kG, fs_labels, [field](const HostSnapshot& s, Sink& k) {
          for (const auto& x : s.filesystems) {
            if (x.device_error) continue;
            k.Emit({x.mount.device, x.mount.fstype, x.mount.mount_point}, x.*field);
          }
        }));
  }
  STROBE_RETURN_IF_ERROR(fam(
      {"node_filesystem_readonly", "1 when mounted read-only", ""}, kG, fs_labels,
      [](const HostSnapshot& s, Sink& k) {
        for (const auto& x : s.filesystems) {
          k.Emit({x.mount.device, x.mount.fstype, x.mount.mount_point}, x.mount.read_only ? 1 : 0);
        }
      }));
  STROBE_RETURN_IF_ERROR(fam(
      {"node_filesystem_device_error", "1 when statvfs failed, timed out or is still blocked", ""},
      kG, fs_labels, [](const HostSnapshot& s, Sink& k) {
        for (const auto& x : s.filesystems) {
          k.Emit({x.mount.device, x.mount.fstype, x.mount.mount_point}, x.device_error ? 1 : 0);
        }
      }));
  STROBE_RETURN_IF_ERROR(
      fam({"node_uname_info", "uname(2) of the host; value 1", ""}, kG,
          {"sysname", "release", "version", "machine", "nodename", "domainname"},
          [](const HostSnapshot& s, Sink& k) {
            if (!s.has_uname) return;
            const auto& u = s.uname;
            k.Emit({u.sysname, u.release, u.version, u.machine, u.nodename, u.domainname}, 1);
          }));
  STROBE_RETURN_IF_ERROR(
      fam({"strobe_host_filesystems_skipped",
           "Mounts not measured in the last collection: limit (beyond the bound), network "
           "(host.network_filesystems is off), stuck (statvfs timed out or still blocked)",
           ""},
          kG, {"reason"}, [d](const HostSnapshot& s, Sink& k) {
            k.Emit({"limit"}, d(s.filesystems_over_limit));
            k.Emit({"network"}, d(s.network_filesystems_skipped));
            k.Emit({"stuck"}, d(s.filesystems_stuck));
          }));
  // process_* (the daemon itself), as Prometheus client libraries name them.
  STROBE_RETURN_IF_ERROR(fam({"process_cpu_seconds_total", "User and system CPU time", "seconds"},
                             kC, {}, [](const HostSnapshot& s, Sink& k) {
                               k.Emit({}, s.self.user_seconds + s.self.system_seconds);
                             }));
  STROBE_RETURN_IF_ERROR(
      fam({"process_resident_memory_bytes", "Resident set size", "bytes"}, kG, {},
          [d](const HostSnapshot& s, Sink& k) {
            k.Emit({}, d(s.self_status.ok ? s.self_status.rss_bytes : s.self.rss_bytes));
          }));
  STROBE_RETURN_IF_ERROR(
      fam({"process_virtual_memory_bytes", "Virtual memory size", "bytes"}, kG, {},
          [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.self.virtual_bytes)); }));
  STROBE_RETURN_IF_ERROR(fam({"process_open_fds", "Open file descriptors", ""}, kG, {},
                             [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.open_fds)); }));
  STROBE_RETURN_IF_ERROR(fam({"process_max_fds", "File descriptor limit", ""}, kG, {},
                             [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.max_fds)); }));
  STROBE_RETURN_IF_ERROR(
      fam({"process_threads", "OS threads", ""}, kG, {},
          [d](const HostSnapshot& s, Sink& k) { k.Emit({}, d(s.self.threads)); }));
  STROBE_RETURN_IF_ERROR(fam({"process_context_switches_total", "Context switches by type", ""}, kC,
                             {"type"}, [d](const HostSnapshot& s, Sink& k) {
                               k.Emit({"voluntary"}, d(s.self_status.voluntary_switches));
                               k.Emit({"involuntary"}, d(s.self_status.involuntary_switches));
                             }));
  const double ticks = ticks_per_second_;
  STROBE_RETURN_IF_ERROR(fam({"process_start_time_seconds", "Start time, Unix seconds", "seconds"},
                             kG, {}, [ticks, d](const HostSnapshot& s, Sink& k) {
                               k.Emit({}, d(s.stat.boot_time_unix) +
                                              static_cast<double>(s.self.start_ticks) / ticks);
                             }));
  // The collector's own health.
  STROBE_RETURN_IF_ERROR(r.AddCallbackFamily(
      {"strobe_host_collections_total", "Host metric collections", ""}, kC, {}, [this](Sink& k) {
        strobe::MutexLock lock(mu_);
        k.Emit({}, static_cast<double>(collections_));
      }));
  registered_.emplace_back("strobe_host_collections_total");
  STROBE_RETURN_IF_ERROR(r.AddCallbackFamily(
      {"strobe_host_collection_errors_total", "Failed reads of /proc and /sys files", ""}, kC,
      {"file"}, [this](Sink& k) {
        strobe::MutexLock lock(mu_);
        for (const auto& [file, n] : errors_) k.Emit({file}, static_cast<double>(n));
      }));
  registered_.emplace_back("strobe_host_collection_errors_total");
  STROBE_RETURN_IF_ERROR(r.AddCallbackFamily(
      {"strobe_host_collection_duration_seconds", "Duration of the last collection", "seconds"}, kG,
      {}, [this](Sink& k) {
        strobe::MutexLock lock(mu_);
        k.Emit({}, last_duration_seconds_);
      }));
  registered_.emplace_back("strobe_host_collection_duration_seconds");
  return strobe::OkStatus();
}

strobe::Status HostCollector::Start(const daemon::ComponentContext& ctx) {
  if (!fixed_) {
    options_.proc_root = ctx.config.host.proc_root;
    options_.sys_root = ctx.config.host.sys_root;
    options_.interval = ctx.config.host.interval;
    options_.network_filesystems = ctx.config.host.network_filesystems;
  }
  if (options_.interval < std::chrono::milliseconds(10)) {
    return strobe::InvalidArgument("host.interval must be at least 10ms");
  }
  long hz = sysconf(_SC_CLK_TCK);
  ticks_per_second_ = hz > 0 ? static_cast<double>(hz) : 100;
  long page = sysconf(_SC_PAGESIZE);
  page_bytes_ = page > 0 ? static_cast<uint64_t>(page) : 4096;
  if (access((options_.proc_root + "/stat").c_str(), R_OK) != 0) {
    return strobe::Unavailable("cannot read " + options_.proc_root +
                               "/stat (set host.proc_root or host.enabled: false)");
  }
  {
    strobe::MutexLock lock(mu_);
    interval_ = options_.interval;
    stop_ = false;
  }
  CollectOnce();  // the first scrape already has values
  registry_ = &ctx.registry;
  if (strobe::Status s = RegisterMetrics(ctx.registry); !s.ok()) {
    for (const auto& n : registered_) (void)registry_->Remove(n);
    registered_.clear();
    return s;
  }
  thread_ = std::thread([this] { Loop(); });
  return strobe::OkStatus();
}

void HostCollector::Loop() {
  strobe::MutexLock lock(mu_);
  while (!stop_) {
    auto next = std::chrono::steady_clock::now() + interval_;
    if (cv_.WaitUntil(mu_, next, [this]() STROBE_REQUIRES(mu_) { return stop_; })) break;
    lock.Unlock();
    CollectOnce();
    lock.Lock();
  }
}

strobe::Status HostCollector::Shutdown(daemon::Deadline /*deadline*/) {
  {
    strobe::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
  if (registry_ != nullptr) {
    for (const auto& n : registered_) (void)registry_->Remove(n);
  }
  registered_.clear();
  return strobe::OkStatus();
}

strobe::Status HostCollector::Reload(const config::Config& next) {
  if (next.host.interval < std::chrono::milliseconds(10)) {
    return strobe::InvalidArgument("host.interval must be at least 10ms");
  }
  {
    strobe::MutexLock lock(mu_);
    interval_ = next.host.interval;
  }
  cv_.NotifyAll();
  return strobe::OkStatus();
}

daemon::Readiness HostCollector::Ready() const {
  strobe::MutexLock lock(mu_);
  if (collections_ == 0) return {false, "no collection yet"};
  return {};
}

std::string HostCollector::StatusJson() const {
  strobe::MutexLock lock(mu_);
  base::JsonWriter w;
  w.BeginObject();
  w.Key("interval_ms");
  w.Int(interval_.count());
  w.Key("collections");
  w.Uint(collections_);
  uint64_t errors = 0;
  for (const auto& [f, n] : errors_) errors += n;
  w.Key("read_errors");
  w.Uint(errors);
  w.Key("cpus");
  w.Uint(snap_.stat.cpus.size());
  w.EndObject();
  return std::move(w).Take();
}

}  // namespace strobed::host
