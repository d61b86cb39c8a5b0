#pragma once

// Parsers for the Linux /proc and /sys files the host and process collectors read, into
// plain structs. Pure functions of the file text (unit-tested against fixture files in
// testdata/), so the collector's I/O and the parsing are separate. Malformed lines are
// skipped and counted in the result's `malformed_lines`; a parser never throws or crashes.
//
// Units are converted here: CPU times to seconds (given USER_HZ), memory to bytes, disk
// sectors to bytes (512-byte sectors, as the kernel always reports them in diskstats).
//
// Thread class: pure functions, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strobed::host {

struct CpuTimes {
  std::string cpu;  // "cpu" for the total line, "0", "1", ... per core
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
         steal = 0;  // seconds
  double Total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
  double Busy() const { return Total() - idle - iowait; }
};

struct ProcStat {
  CpuTimes total;
  std::vector<CpuTimes> cpus;
  uint64_t context_switches = 0;
  uint64_t forks = 0;
  uint64_t procs_running = 0;
  uint64_t procs_blocked = 0;
  uint64_t boot_time_unix = 0;
  uint64_t malformed_lines = 0;
};
ProcStat ParseProcStat(std::string_view text, double ticks_per_second);

struct MemInfo {
  uint64_t total_bytes = 0, free_bytes = 0, available_bytes = 0, buffers_bytes = 0,
           cached_bytes = 0, swap_total_bytes = 0, swap_free_bytes = 0;
  bool has_available = false;  // MemAvailable exists since Linux 3.14
  uint64_t malformed_lines = 0;
  uint64_t UsedBytes() const {
    uint64_t avail = has_available ? available_bytes : free_bytes + buffers_bytes + cached_bytes;
    return total_bytes > avail ? total_bytes - avail : 0;
  }
};
MemInfo ParseMemInfo(std::string_view text);

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  bool ok = false;
};
LoadAvg ParseLoadAvg(std::string_view text);

struct NetDev {
  std::string device;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_dropped = 0;
};
struct NetDevs {
  std::vector<NetDev> devices;
  uint64_t malformed_lines = 0;
};
NetDevs ParseNetDev(std::string_view text);

struct DiskStat {
  std::string device;
  uint64_t reads_completed = 0, read_bytes = 0, writes_completed = 0, written_bytes = 0;
  double read_time_seconds = 0, write_time_seconds = 0, io_time_seconds = 0;
  uint64_t io_in_progress = 0;
};
struct DiskStats {
  std::vector<DiskStat> devices;
  uint64_t malformed_lines = 0;
};
// Skips ram*, loop*, fd* and zram-less virtual devices with no I/O ever.
DiskStats ParseDiskStats(std::string_view text);

struct ProcessStat {
  double user_seconds = 0, system_seconds = 0;
  uint64_t threads = 0;
  uint64_t start_ticks = 0;  // since boot
  uint64_t virtual_bytes = 0;
  uint64_t rss_bytes = 0;
  bool ok = false;
};
// /proc/<pid>/stat; the command name may contain spaces and parentheses.
ProcessStat ParseProcessStat(std::string_view text, double ticks_per_second, uint64_t page_bytes);

struct ProcessStatus {
  uint64_t rss_bytes = 0;
  uint64_t threads = 0;
  uint64_t voluntary_switches = 0, involuntary_switches = 0;
  bool ok = false;
};
ProcessStatus ParseProcessStatus(std::string_view text);

// "Max open files" soft limit from /proc/<pid>/limits; 0 when unknown or unlimited.
uint64_t ParseMaxOpenFiles(std::string_view text);

// One line of /proc/<pid>/mountinfo (man 5 proc):
//   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//   id parent dev root mount-point per-mount-options [optional...] - fstype source super-options
// Octal escapes in the mount point and source (\040 space, \011 tab, \012 newline, \134
// backslash) are decoded.
struct MountEntry {
  std::string device;       // the mount source: "/dev/vda", "tmpfs", "server:/export"
  std::string mount_point;  // "/", "/home"
  std::string fstype;       // "ext4"; FUSE file systems as "fuse.<subtype>"
  bool read_only = false;   // "ro" among the per-mount options (node_exporter's definition)
};
struct MountInfo {
  std::vector<MountEntry> mounts;  // in file order (a later mount on a path hides earlier ones)
  uint64_t malformed_lines = 0;
};
MountInfo ParseMountInfo(std::string_view text);

// Why a mount is or is not reported as node_filesystem_* (node_exporter's Linux defaults):
//   kPseudo           fstype matches ^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|
//                     devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|
//                     procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$
//   kExcludedPath     mount point matches ^/(dev|proc|run/credentials/.+|sys|
//                     var/lib/docker/.+|var/lib/containers/storage/.+)($|/)
//   kNetwork          a network file system (nfs, nfs4, cifs, smb3, smbfs, ncpfs, afs, ceph,
//                     glusterfs, 9p, lustre, davfs, coda, fuse.sshfs, fuse.glusterfs, fuse.ceph,
//                     fuse.s3fs, fuse.rclone): statvfs on it can block for as long as the
//                     server is unreachable, so it is skipped unless configured otherwise
//                     (node_exporter reports them and relies on its timeout alone)
//   kReported         everything else
enum class MountClass : uint8_t { kReported, kPseudo, kExcludedPath, kNetwork };
MountClass ClassifyMount(const MountEntry& mount);

}  // namespace strobed::host
