#include "strobed/host/proc.h"

#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/config/config.h"
#include "strobed/host/host_collector.h"
#include "strobed/server/router.h"

namespace strobed::host {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream f(std::string(STROBE_HOST_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(ProcTest, ParsesProcStat) {
  ProcStat s = ParseProcStat(Fixture("stat"), 100);
  EXPECT_EQ(s.malformed_lines, 0u);
  EXPECT_EQ(s.total.cpu, "cpu");
  EXPECT_DOUBLE_EQ(s.total.user, 861.33);
  EXPECT_DOUBLE_EQ(s.total.idle, 13015.98);
  ASSERT_EQ(s.cpus.size(), 2u);
  EXPECT_EQ(s.cpus[1].cpu, "1");
  EXPECT_DOUBLE_EQ(s.cpus[1].system, 80.91);
  EXPECT_GT(s.context_switches, 0u);
  EXPECT_GT(s.boot_time_unix, 1'600'000'000u);
}

TEST(ProcTest, ProcStatSkipsAndCountsGarbage) {
  ProcStat s = ParseProcStat("cpu 1 2 x 4 5\ncpu0 1\nctxt 12\nnonsense\n", 100);
  EXPECT_EQ(s.malformed_lines, 2u);
  EXPECT_TRUE(s.cpus.empty());
  EXPECT_EQ(s.context_switches, 12u);
}

TEST(ProcTest, ParsesMemInfo) {
  MemInfo m = ParseMemInfo(Fixture("meminfo"));
  EXPECT_EQ(m.total_bytes, 24684084ull * 1024);
  EXPECT_EQ(m.available_bytes, 23056820ull * 1024);
  EXPECT_EQ(m.buffers_bytes, 5776ull * 1024);
  EXPECT_TRUE(m.has_available);
  EXPECT_EQ(m.UsedBytes(), (24684084ull - 23056820ull) * 1024);
}

TEST(ProcTest, ParsesLoadAvg) {
  LoadAvg l = ParseLoadAvg(Fixture("loadavg"));
  ASSERT_TRUE(l.ok);
  EXPECT_DOUBLE_EQ(l.load1, 2.11);
  EXPECT_DOUBLE_EQ(l.load15, 1.09);
  EXPECT_FALSE(ParseLoadAvg("abc").ok);
}

TEST(ProcTest, ParsesNetDev) {
  NetDevs n = ParseNetDev(Fixture("net_dev"));
  EXPECT_EQ(n.malformed_lines, 0u);
  ASSERT_EQ(n.devices.size(), 4u);
  EXPECT_EQ(n.devices[0].device, "lo");
  EXPECT_EQ(n.devices[3].device, "eth0");
  EXPECT_EQ(n.devices[3].rx_bytes, 52296137u);
  EXPECT_EQ(n.devices[3].rx_packets, 1227u);
  EXPECT_EQ(n.devices[3].tx_bytes, 49706u);
  EXPECT_EQ(n.devices[3].tx_packets, 624u);
}

TEST(ProcTest, ParsesDiskStatsSkippingLoopDevices) {
  DiskStats d = ParseDiskStats(Fixture("diskstats"));
  EXPECT_EQ(d.malformed_lines, 0u);
  ASSERT_EQ(d.devices.size(), 2u);  // vda, zram0
  EXPECT_EQ(d.devices[0].device, "vda");
  EXPECT_EQ(d.devices[0].reads_completed, 67860u);
  EXPECT_EQ(d.devices[0].read_bytes, 6728442ull * 512);
  EXPECT_EQ(d.devices[0].written_bytes, 5247696ull * 512);
  EXPECT_DOUBLE_EQ(d.devices[0].io_time_seconds, 11.96);
}

TEST(ProcTest, ParsesProcessStatWithParensInName) {
  ProcessStat p = ParseProcessStat(Fixture("odd_stat"), 100, 4096);
  ASSERT_TRUE(p.ok);
  EXPECT_DOUBLE_EQ(p.user_seconds, 2.5);
  EXPECT_DOUBLE_EQ(p.system_seconds, 1.2);
  EXPECT_EQ(p.threads, 7u);
  EXPECT_EQ(p.start_ticks, 5000u);
  EXPECT_EQ(p.virtual_bytes, 104857600u);
  EXPECT_EQ(p.rss_bytes, 2560u * 4096);
  EXPECT_FALSE(ParseProcessStat("1 (x) S 1 2", 100, 4096).ok);
}

TEST(ProcTest, ParsesProcessStatusAndLimits) {
  ProcessStatus s = ParseProcessStatus(Fixture("self_status"));
  ASSERT_TRUE(s.ok);
  EXPECT_EQ(s.rss_bytes, 2152u * 1024);
  EXPECT_EQ(s.threads, 1u);
  EXPECT_EQ(s.involuntary_switches, 1u);
  EXPECT_EQ(ParseMaxOpenFiles(Fixture("self_limits")), 20000u);
}

TEST(ProcTest, ParsesMountInfo) {
  MountInfo m = ParseMountInfo(Fixture("mountinfo"));
  EXPECT_EQ(m.malformed_lines, 1u);  // "this line is not mountinfo"
  ASSERT_EQ(m.mounts.size(), 11u);
  EXPECT_EQ(m.mounts[2].mount_point, "/");
  EXPECT_EQ(m.mounts[2].device, "/dev/vda");
  EXPECT_EQ(m.mounts[2].fstype, "ext4");
  EXPECT_FALSE(m.mounts[2].read_only);
  // Two optional fields before "-", an escaped space, per-mount "ro".
  EXPECT_EQ(m.mounts[5].mount_point, "/mnt/my disk");
  EXPECT_EQ(m.mounts[5].device, "/dev/sdb1");
  EXPECT_TRUE(m.mounts[5].read_only);
  EXPECT_EQ(m.mounts[6].device, "fileserver:/export");
  EXPECT_EQ(m.mounts[6].fstype, "nfs4");
  EXPECT_EQ(m.mounts[10].mount_point, "/run");
  EXPECT_EQ(m.mounts[10].fstype, "xfs");
  // No "-" separator, a relative mount point, too few fields, a bad backslash escape kept.
  MountInfo bad = ParseMountInfo(
      "1 2 3:4 / /a rw ext4 /dev/x rw\n1 2 3:4 / rel rw - ext4 /dev/x rw\n1 2 3 / -\n"
      "x 2 3:4 / /b rw - ext4 /dev/y rw\n5 2 3:4 / /c\\09 rw - ext4 /dev/z rw\n");
  EXPECT_EQ(bad.malformed_lines, 4u);
  ASSERT_EQ(bad.mounts.size(), 1u);
  EXPECT_EQ(bad.mounts[0].mount_point, "/c\\09");
}

TEST(ProcTest, ClassifiesMountsAsNodeExporterDefaults) {
  auto cls = [](const char* mount_point, const char* fstype) {
    return ClassifyMount(MountEntry{"dev", mount_point, fstype, false});
  };
  EXPECT_EQ(cls("/", "ext4"), MountClass::kReported);
  EXPECT_EQ(cls("/run", "tmpfs"), MountClass::kReported);  // tmpfs is reported, as there
  EXPECT_EQ(cls("/sys/fs/cgroup", "cgroup2"), MountClass::kPseudo);
  EXPECT_EQ(cls("/", "overlay"), MountClass::kPseudo);
  EXPECT_EQ(cls("/proc", "proc"), MountClass::kPseudo);
  EXPECT_EQ(cls("/dev", "ext4"), MountClass::kExcludedPath);
  EXPECT_EQ(cls("/dev/shm", "tmpfs"), MountClass::kExcludedPath);
  EXPECT_EQ(cls("/device", "ext4"), MountClass::kReported);  // ($|/) after the name
  EXPECT_EQ(cls("/var/lib/docker/volumes/x", "ext4"), MountClass::kExcludedPath);
  EXPECT_EQ(cls("/var/lib/docker", "ext4"), MountClass::kReported);  // /.+ after it
  EXPECT_EQ(cls("/run/credentials/a.service", "ramfs"), MountClass::kExcludedPath);
  EXPECT_EQ(cls("/srv/nfs", "nfs4"), MountClass::kNetwork);
  EXPECT_EQ(cls("/mnt/remote", "fuse.sshfs"), MountClass::kNetwork);
  EXPECT_EQ(cls("/mnt/local", "fuse.ntfs"), MountClass::kReported);
}

// A fake /proc tree made of the fixtures: the collector exposes node_* metrics from it.
class HostCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ =
        std::filesystem::temp_directory_path() / ("strobe-host-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_ / "proc/net");
    std::filesystem::create_directories(root_ / "proc/self/fd");
    std::filesystem::create_directories(root_ / "sys/class/net/eth0");
    auto copy = [&](const char* from, const std::string& to) {
      std::filesystem::copy_file(std::string(STROBE_HOST_TESTDATA) + "/" + from, root_ / to,
                                 std::filesystem::copy_options::overwrite_existing);
    };
    copy("stat", "proc/stat");
    copy("meminfo", "proc/meminfo");
    copy("loadavg", "proc/loadavg");
    copy("net_dev", "proc/net/dev");
    copy("diskstats", "proc/diskstats");
    copy("odd_stat", "proc/self/stat");
    copy("self_status", "proc/self/status");
    copy("self_limits", "proc/self/limits");
    copy("mountinfo", "proc/self/mountinfo");
    std::ofstream(root_ / "proc/self/fd/0") << "";
    std::ofstream(root_ / "proc/self/fd/1") << "";
    std::ofstream(root_ / "sys/class/net/eth0/operstate") << "up\n";
    std::ofstream(root_ / "sys/class/net/eth0/mtu") << "1500\n";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(HostCollectorTest, ExposesNodeMetricsFromFixtures) {
  HostCollector::Options o;
  o.proc_root = (root_ / "proc").string();
  o.sys_root = (root_ / "sys").string();
  o.interval = std::chrono::hours(1);  // only the synchronous first collection
  HostCollector c(o);
  strobe::metrics::Registry registry;
  server::Router router;
  config::Config cfg;
  daemon::ComponentContext ctx{cfg, registry, router};
  ASSERT_TRUE(c.Start(ctx).ok());
  EXPECT_TRUE(c.Ready().ready);
  std::string text =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(text.find("node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 426.21"), std::string::npos)
      << text.substr(0, 2000);
  EXPECT_NE(text.find("node_memory_MemTotal_bytes 25276502016"), std::string::npos);
  EXPECT_NE(text.find("node_load1 2.11"), std::string::npos);
  EXPECT_NE(text.find("node_network_receive_bytes_total{device=\"eth0\"} 52296137"),
            std::string::npos);
  EXPECT_NE(text.find("node_network_up{device=\"eth0\"} 1"), std::string::npos);
  EXPECT_NE(text.find("node_network_mtu_bytes{device=\"eth0\"} 1500"), std::string::npos);
  EXPECT_NE(text.find("node_disk_read_bytes_total{device=\"vda\"} 3444962304"), std::string::npos);
  EXPECT_NE(text.find("process_threads 7"), std::string::npos);
  EXPECT_NE(text.find("process_open_fds 2"), std::string::npos);
  EXPECT_NE(text.find("process_max_fds 20000"), std::string::npos);
  EXPECT_NE(text.find("node_boot_time_seconds 1795375357\n"), std::string::npos);  // btime
  // Interfaces without /sys entries are counted as read errors, not fatal.
  EXPECT_NE(text.find("strobe_host_collection_errors_total{file=\"sys/class/net\"}"),
            std::string::npos);
  // Second collection: usage ratios appear (same fixture → 0 busy delta).
  c.CollectOnce();
  EXPECT_EQ(c.SnapshotForTest().cpu_usage.count("total"), 1u);
  // A file that can no longer be read is counted, and its metrics keep their last values.
  std::filesystem::remove(root_ / "proc/meminfo");
  std::filesystem::remove(root_ / "proc/self/mountinfo");
  const std::size_t mounts = c.SnapshotForTest().filesystems.size();
  c.CollectOnce();
  text = strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(text.find("node_memory_MemTotal_bytes 25276502016"), std::string::npos);
  EXPECT_NE(text.find("strobe_host_collection_errors_total{file=\"meminfo\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("strobe_host_collection_errors_total{file=\"mountinfo\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(c.SnapshotForTest().filesystems.size(), mounts);
  EXPECT_GT(mounts, 0u);
  ASSERT_TRUE(c.Shutdown(std::chrono::steady_clock::now()).ok());
  // Families are removed at shutdown so the registry never calls into a dead collector.
  text = strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_EQ(text.find("node_cpu_seconds_total"), std::string::npos);
}

// statvfs is injected: "/" answers, "/mnt/my disk" fails, "/run" blocks until released.
TEST_F(HostCollectorTest, FilesystemsFromMountInfoWithAHangingMount) {
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    std::atomic<int> run_calls{0};
  };
  auto gate = std::make_shared<Gate>();  // shared with the (detached) blocked worker
  HostCollector::Options o;
  o.proc_root = (root_ / "proc").string();
  o.sys_root = (root_ / "sys").string();
  o.interval = std::chrono::hours(1);
  o.statfs_timeout = std::chrono::milliseconds(100);
  o.statfs = [gate](const char* path, struct statvfs* st) {
    const std::string p = path;
    if (p == "/run") {
      gate->run_calls.fetch_add(1);
      std::unique_lock<std::mutex> lock(gate->mu);
      gate->cv.wait(lock, [&] { return gate->open; });
    } else if (p != "/") {
      return -1;
    }
    *st = {};
    st->f_bsize = 4096;
    st->f_frsize = 4096;
    st->f_blocks = p == "/" ? 1000 : 10;
    st->f_bfree = 600;
    st->f_bavail = 500;
    st->f_files = 100;
    st->f_ffree = 40;
    return 0;
  };
  HostCollector c(o);
  strobe::metrics::Registry registry;
  server::Router router;
  config::Config cfg;
  daemon::ComponentContext ctx{cfg, registry, router};
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Start(ctx).ok());  // collects once: "/run" times out after 100 ms
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  auto render = [&] {
    return strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  };
  std::string text = render();
  const std::string root = "{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}";
  const std::string disk = "{device=\"/dev/sdb1\",fstype=\"ext4\",mountpoint=\"/mnt/my disk\"}";
  const std::string run = "{device=\"/dev/sdc1\",fstype=\"xfs\",mountpoint=\"/run\"}";
  EXPECT_NE(text.find("node_filesystem_size_bytes" + root + " 4096000\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("node_filesystem_free_bytes" + root + " 2457600\n"), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_avail_bytes" + root + " 2048000\n"), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_files" + root + " 100\n"), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_files_free" + root + " 40\n"), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_readonly" + root + " 0\n"), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_device_error" + root + " 0\n"), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_readonly" + disk + " 1\n"), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_device_error" + disk + " 1\n"), std::string::npos);
  EXPECT_EQ(text.find("node_filesystem_size_bytes" + disk), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_device_error" + run + " 1\n"), std::string::npos);
  EXPECT_EQ(text.find("node_filesystem_size_bytes" + run), std::string::npos);
  EXPECT_NE(text.find("strobe_host_filesystems_skipped{reason=\"network\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("strobe_host_filesystems_skipped{reason=\"stuck\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("strobe_host_filesystems_skipped{reason=\"limit\"} 0\n"), std::string::npos);
  // Exactly three mounts: "/", "/mnt/my disk" and the xfs on top of the tmpfs at "/run"; the
  // pseudo, excluded-path and network ones are absent.
  const HostSnapshot snap = c.SnapshotForTest();
  ASSERT_EQ(snap.filesystems.size(), 3u);
  for (const char* absent :
       {"/proc", "/dev", "/srv/nfs", "/mnt/snap", "/sys/fs/cgroup/systemd",
        "/run/credentials/getty.service", "/var/lib/docker/overlay2/abc/merged"}) {
    EXPECT_EQ(text.find(std::string("mountpoint=\"") + absent + "\""), std::string::npos) << absent;
  }
  for (const char* absent : {"tmpfs", "fileserver:/export"}) {
    EXPECT_EQ(text.find(std::string("device=\"") + absent + "\""), std::string::npos) << absent;
  }
  // While the call is blocked, "/run" is stuck: not tried again (no second call, no wait).
  const auto again = std::chrono::steady_clock::now();
  c.CollectOnce();
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::milliseconds(100));
  EXPECT_EQ(gate->run_calls.load(), 1);
  EXPECT_TRUE(c.SnapshotForTest().filesystems[2].device_error);
  // Once the blocked call returns, the mount is read again.
  {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->open = true;
  }
  gate->cv.notify_all();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (c.SnapshotForTest().filesystems[2].device_error &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling with a deadline
    c.CollectOnce();
  }
  EXPECT_NE(render().find("node_filesystem_size_bytes" + run + " 40960\n"), std::string::npos);
  EXPECT_EQ(gate->run_calls.load(), 2);
  // uname(2) of this host, value 1.
  struct utsname u {};
  ASSERT_EQ(::uname(&u), 0);
  EXPECT_NE(render().find(std::string("node_uname_info{sysname=\"") + u.sysname + "\",release=\"" +
                          u.release + "\""),
            std::string::npos);
  ASSERT_TRUE(c.Shutdown(std::chrono::steady_clock::now()).ok());
}

// A host with more mounts than the bound: kMaxFilesystems are reported, the rest counted.
TEST_F(HostCollectorTest, MountsBeyondTheBoundAreCountedNotReported) {
  {
    std::ofstream f(root_ / "proc/self/mountinfo");
    for (int i = 0; i < 300; ++i) {
      f << 100 + i << " 1 0:" << i << " / /srv/m" << i << " rw - tmpfs tmpfs rw\n";
    }
    f << "999 1 0:999 / /srv/nfs rw - nfs fs:/x rw\n";
  }
  std::atomic<int> calls{0};
  HostCollector::Options o;
  o.proc_root = (root_ / "proc").string();
  o.sys_root = (root_ / "sys").string();
  o.interval = std::chrono::hours(1);
  o.statfs = [&calls](const char*, struct statvfs* st) {
    calls.fetch_add(1);
    *st = {};
    st->f_frsize = 1024;
    st->f_blocks = 8;
    return 0;
  };
  HostCollector c(o);
  strobe::metrics::Registry registry;
  server::Router router;
  config::Config cfg;
  daemon::ComponentContext ctx{cfg, registry, router};
  ASSERT_TRUE(c.Start(ctx).ok());
  const HostSnapshot snap = c.SnapshotForTest();
  ASSERT_EQ(snap.filesystems.size(), HostCollector::kMaxFilesystems);
  EXPECT_EQ(snap.filesystems.front().mount.mount_point, "/srv/m0");
  EXPECT_EQ(snap.filesystems.back().mount.mount_point, "/srv/m255");
  EXPECT_EQ(snap.filesystems_over_limit, 300u - HostCollector::kMaxFilesystems);
  EXPECT_EQ(snap.network_filesystems_skipped, 1u);
  EXPECT_EQ(calls.load(), 256);  // statvfs only on the reported mounts
  const std::string text =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(text.find("strobe_host_filesystems_skipped{reason=\"limit\"} 44\n"), std::string::npos);
  EXPECT_NE(text.find("node_filesystem_size_bytes{device=\"tmpfs\",fstype=\"tmpfs\","
                      "mountpoint=\"/srv/m255\"} 8192\n"),
            std::string::npos);
  EXPECT_EQ(text.find("mountpoint=\"/srv/m256\""), std::string::npos);
  ASSERT_TRUE(c.Shutdown(std::chrono::steady_clock::now()).ok());
}

TEST_F(HostCollectorTest, MissingProcRootFailsToStart) {
  HostCollector::Options o;
  o.proc_root = (root_ / "nope").string();
  HostCollector c(o);
  strobe::metrics::Registry registry;
  server::Router router;
  config::Config cfg;
  daemon::ComponentContext ctx{cfg, registry, router};
  strobe::Status s = c.Start(ctx);
  EXPECT_EQ(s.code(), strobe::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("host.proc_root"), std::string::npos);
}

}  // namespace
}  // namespace strobed::host
