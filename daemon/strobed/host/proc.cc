#include "strobed/host/proc.h"

#include <charconv>
#include <cstdlib>

namespace strobed::host {
namespace {

// Splits `text` into lines (no terminators).
template <typename Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    fn(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// Splits on runs of spaces/tabs.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool ToU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ToDouble(std::string_view s, double* out) {
  std::string tmp(s);
  char* end = nullptr;
  *out = std::strtod(tmp.c_str(), &end);
  return !tmp.empty() && end == tmp.c_str() + tmp.size();
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

ProcStat ParseProcStat(std::string_view text, double ticks_per_second) {
  ProcStat st;
  if (ticks_per_second <= 0) ticks_per_second = 100;
  ForEachLine(text, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.empty()) return;
    if (StartsWith(f[0], "cpu")) {
      // cpu user nice system idle iowait irq softirq steal [guest guest_nice]
      if (f.size() < 5) {
        ++st.malformed_lines;
        return;
      }
      double v[8] = {};
      for (size_t i = 1; i < f.size() && i <= 8; ++i) {
        uint64_t ticks = 0;
        if (!ToU64(f[i], &ticks)) {
          ++st.malformed_lines;
          return;
        }
        v[i - 1] = static_cast<double>(ticks) / ticks_per_second;
      }
      CpuTimes c;
      c.cpu = f[0] == "cpu" ? "cpu" : std::string(f[0].substr(3));
      c.user = v[0];
      c.nice = v[1];
      c.system = v[2];
      c.idle = v[3];
      c.iowait = v[4];
      c.irq = v[5];
      c.softirq = v[6];
      c.steal = v[7];
      if (f[0] == "cpu") {
        st.total = c;
      } else {
        st.cpus.push_back(std::move(c));
      }
      return;
    }
    if (f.size() < 2) return;
    uint64_t v = 0;
    if (f[0] == "ctxt") {
      if (!ToU64(f[1], &v)) ++st.malformed_lines;
      st.context_switches = v;
    } else if (f[0] == "processes") {
      if (!ToU64(f[1], &v)) ++st.malformed_lines;
      st.forks = v;
    } else if (f[0] == "procs_running") {
      if (!ToU64(f[1], &v)) ++st.malformed_lines;
      st.procs_running = v;
    } else if (f[0] == "procs_blocked") {
      if (!ToU64(f[1], &v)) ++st.malformed_lines;
      st.procs_blocked = v;
    } else if (f[0] == "btime") {
      if (!ToU64(f[1], &v)) ++st.malformed_lines;
      st.boot_time_unix = v;
    }
  });
  return st;
}

MemInfo ParseMemInfo(std::string_view text) {
  MemInfo m;
  ForEachLine(text, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.empty()) return;
    if (f.size() < 2 || f[0].back() != ':') {
      ++m.malformed_lines;
      return;
    }
    uint64_t v = 0;
    if (!ToU64(f[1], &v)) {
      ++m.malformed_lines;
      return;
    }
    if (f.size() >= 3 && f[2] == "kB") v *= 1024;
    std::string_view key = f[0].substr(0, f[0].size() - 1);
    if (key == "MemTotal") {
      m.total_bytes = v;
    } else if (key == "MemFree") {
      m.free_bytes = v;
    } else if (key == "MemAvailable") {
      m.available_bytes = v;
      m.has_available = true;
    } else if (key == "Buffers") {
      m.buffers_bytes = v;
    } else if (key == "Cached") {
      m.cached_bytes = v;
    } else if (key == "SwapTotal") {
      m.swap_total_bytes = v;
    } else if (key == "SwapFree") {
      m.swap_free_bytes = v;
    }
  });
  return m;
}

LoadAvg ParseLoadAvg(std::string_view text) {
  LoadAvg l;
  auto f = Fields(text.substr(0, text.find('\n')));
  if (f.size() < 3) return l;
  l.ok = ToDouble(f[0], &l.load1) && ToDouble(f[1], &l.load5) && ToDouble(f[2], &l.load15);
  return l;
}

NetDevs ParseNetDev(std::string_view text) {
  NetDevs out;
  int line_no = 0;
  ForEachLine(text, [&](std::string_view line) {
    if (++line_no <= 2 || line.find_first_not_of(" \t") == std::string_view::npos) return;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      ++out.malformed_lines;
      return;
    }
    auto name = Fields(line.substr(0, colon));
    auto f = Fields(line.substr(colon + 1));
    if (name.size() != 1 || f.size() < 16) {
      ++out.malformed_lines;
      return;
    }
    uint64_t v[16];
    for (size_t i = 0; i < 16; ++i) {
      if (!ToU64(f[i], &v[i])) {
        ++out.malformed_lines;
        return;
      }
    }
    NetDev d;
    d.device = std::string(name[0]);
    d.rx_bytes = v[0];
    d.rx_packets = v[1];
    d.rx_errors = v[2];
    d.rx_dropped = v[3];
    d.tx_bytes = v[8];
    d.tx_packets = v[9];
    d.tx_errors = v[10];
    d.tx_dropped = v[11];
    out.devices.push_back(std::move(d));
  });
  return out;
}

DiskStats ParseDiskStats(std::string_view text) {
  DiskStats out;
  ForEachLine(text, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.empty()) return;
    // major minor name reads merged sectors ms writes merged sectors ms inflight io_ms wio_ms
    if (f.size() < 14) {
      ++out.malformed_lines;
      return;
    }
    uint64_t v[11];
    for (size_t i = 0; i < 11; ++i) {
      if (!ToU64(f[3 + i], &v[i])) {
        ++out.malformed_lines;
        return;
      }
    }
    std::string_view name = f[2];
    if (StartsWith(name, "ram") || StartsWith(name, "loop") || StartsWith(name, "fd")) return;
    DiskStat d;
    d.device = std::string(name);
    d.reads_completed = v[0];
    d.read_bytes = v[2] * 512;
    d.read_time_seconds = static_cast<double>(v[3]) / 1000;
    d.writes_completed = v[4];
    d.written_bytes = v[6] * 512;
    d.write_time_seconds = static_cast<double>(v[7]) / 1000;
    d.io_in_progress = v[8];
    d.io_time_seconds = static_cast<double>(v[9]) / 1000;
    out.devices.push_back(std::move(d));
  });
  return out;
}

ProcessStat ParseProcessStat(std::string_view text, double ticks_per_second, uint64_t page_bytes) {
  ProcessStat p;
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) return p;
  auto f = Fields(text.substr(close + 1));
  // After ")": state(0) ppid(1) ... utime(11) stime(12) ... num_threads(17) ... starttime(19)
  // vsize(20) rss(21)
  if (f.size() < 22) return p;
  uint64_t utime = 0, stime = 0, threads = 0, start = 0, vsize = 0, rss = 0;
  if (!ToU64(f[11], &utime) || !ToU64(f[12], &stime) || !ToU64(f[17], &threads) ||
      !ToU64(f[19], &start) || !ToU64(f[20], &vsize) || !ToU64(f[21], &rss)) {
    return p;
  }
  if (ticks_per_second <= 0) ticks_per_second = 100;
  p.user_seconds = static_cast<double>(utime) / ticks_per_second;
  p.system_seconds = static_cast<double>(stime) / ticks_per_second;
  p.threads = threads;
  p.start_ticks = start;
  p.virtual_bytes = vsize;
  p.rss_bytes = rss * page_bytes;
  p.ok = true;
  return p;
}

ProcessStatus ParseProcessStatus(std::string_view text) {
  ProcessStatus s;
  ForEachLine(text, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.size() < 2) return;
    uint64_t v = 0;
    if (!ToU64(f[1], &v)) return;
    if (f[0] == "VmRSS:") {
      s.rss_bytes = v * (f.size() >= 3 && f[2] == "kB" ? 1024 : 1);
      s.ok = true;
    } else if (f[0] == "Threads:") {
      s.threads = v;
    } else if (f[0] == "voluntary_ctxt_switches:") {
      s.voluntary_switches = v;
    } else if (f[0] == "nonvoluntary_ctxt_switches:") {
      s.involuntary_switches = v;
    }
  });
  return s;
}

uint64_t ParseMaxOpenFiles(std::string_view text) {
  uint64_t result = 0;
  ForEachLine(text, [&](std::string_view line) {
    if (!StartsWith(line, "Max open files")) return;
    auto f = Fields(line.substr(14));
    uint64_t v = 0;
    if (!f.empty() && ToU64(f[0], &v)) result = v;
  });
  return result;
}

namespace {

// Decodes the kernel's octal escapes (\040 and friends) of mountinfo fields; a backslash not
// followed by three octal digits is kept as is.
std::string UnescapeMountField(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const auto oct = [](char c) { return c >= '0' && c <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && oct(s[i + 1]) && oct(s[i + 2]) && oct(s[i + 3])) {
      const int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      if (v <= 0xff) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool HasOption(std::string_view options, std::string_view option) {
  while (!options.empty()) {
    const size_t comma = options.find(',');
    if (options.substr(0, comma) == option) return true;
    if (comma == std::string_view::npos) break;
    options.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

MountInfo ParseMountInfo(std::string_view text) {
  MountInfo info;
  ForEachLine(text, [&](std::string_view line) {
    auto f = Fields(line);
    if (f.empty()) return;
    // At least: id parent dev root mount-point options "-" fstype source (super options may
    // be missing on old kernels). The optional fields end at the lone "-".
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    uint64_t id = 0;
    if (dash + 2 >= f.size() || !ToU64(f[0], &id) || f[4][0] != '/') {
      ++info.malformed_lines;
      return;
    }
    MountEntry m;
    m.mount_point = UnescapeMountField(f[4]);
    m.read_only = HasOption(f[5], "ro");
    m.fstype = std::string(f[dash + 1]);
    m.device = UnescapeMountField(f[dash + 2]);
    info.mounts.push_back(std::move(m));
  });
  return info;
}

MountClass ClassifyMount(const MountEntry& m) {
  static constexpr std::string_view kPseudo[] = {
      "autofs",     "binfmt_misc", "bpf",       "cgroup",   "cgroup2",   "configfs",
      "debugfs",    "devpts",      "devtmpfs",  "fusectl",  "hugetlbfs", "iso9660",
      "mqueue",     "nsfs",        "overlay",   "proc",     "procfs",    "pstore",
      "rpc_pipefs", "securityfs",  "selinuxfs", "squashfs", "sysfs",     "tracefs"};
  static constexpr std::string_view kNetwork[] = {
      "nfs",  "nfs4",       "cifs",           "smb3",      "smbfs",     "ncpfs",
      "afs",  "ceph",       "glusterfs",      "9p",        "lustre",    "davfs",
      "coda", "fuse.sshfs", "fuse.glusterfs", "fuse.ceph", "fuse.s3fs", "fuse.rclone"};
  for (std::string_view t : kPseudo) {
    if (m.fstype == t) return MountClass::kPseudo;
  }
  // ^/(dev|proc|sys)($|/) and ^/(run/credentials|var/lib/docker|var/lib/containers/storage)/.+
  const std::string_view p = m.mount_point;
  for (std::string_view dir : {"/dev", "/proc", "/sys"}) {
    if (StartsWith(p, dir) && (p.size() == dir.size() || p[dir.size()] == '/')) {
      return MountClass::kExcludedPath;
    }
  }
  for (std::string_view dir :
       {"/run/credentials/", "/var/lib/docker/", "/var/lib/containers/storage/"}) {
    if (StartsWith(p, dir) && p.size() > dir.size()) return MountClass::kExcludedPath;
  }
  for (std::string_view t : kNetwork) {
    if (m.fstype == t) return MountClass::kNetwork;
  }
  return MountClass::kReported;
}

}  // namespace strobed::host
