// Machine conditions: release preset (-O2), an otherwise idle machine, the data dir on the
// machine's own disk (WAL_BENCH_DIR, default /tmp; tmpfs makes fdatasync free); figures are
// medians of --benchmark_repetitions. Append throughput of the write-ahead log in spans/s on
// one core: each append is one OTLP/HTTP request of 1,000 spans with 6 attributes (what
// `strobe bench otlp` sends; encoded once, its bytes appended every time).
//   wal_append_otlp_1000_interval  the default policy (fdatasync every 100 ms, in the background)
//   wal_append_otlp_1000_always    fdatasync before every acknowledgement
//   wal_append_otlp_1000_always/threads:8  eight appenders sharing fdatasyncs (group commit)
// Baseline in the same run: wal_write_only_otlp_1000, a bare write(2) of the same bytes to a
// file (what the log costs beyond the system call that stores the data).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "strobed/otlp/synthetic.h"
#include "strobed/wal/wal.h"

namespace {

std::string BenchDir(const char* name) {
  const char* base = std::getenv("WAL_BENCH_DIR");
  std::string dir = std::string(base != nullptr ? base : "/tmp") + "/wal_benchmark_" + name + "_" +
                    std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  return dir;
}

const std::string& Body() {
  static const std::string* body = [] {
    strobed::otlp::SyntheticTraces gen(1);
    return new std::string(gen.Next());
  }();
  return *body;
}

// Shared between the threads of one run.
std::unique_ptr<strobed::wal::Wal> g_wal;
std::string g_dir;

void Append(benchmark::State& state, strobed::wal::SyncPolicy policy, const char* name) {
  if (state.thread_index() == 0) {
    g_dir = BenchDir(name);
    strobed::wal::WalOptions o;
    o.dir = g_dir;
    o.sync = policy;
    auto w = strobed::wal::Wal::Open(o);
    if (!w.ok()) {
      state.SkipWithError(w.status().ToString().c_str());
      return;
    }
    g_wal = std::move(*w);
  }
  const std::string& body = Body();
  uint64_t since_truncate = 0;
  for (auto _ : state) {
    auto seq = g_wal->Append(1, body);
    if (!seq.ok()) {
      state.SkipWithError(seq.status().ToString().c_str());
      break;
    }
    // Keep the disk footprint bounded, as exporters' checkpoints would.
    if (state.thread_index() == 0 && ++since_truncate == 2000) {
      since_truncate = 0;
      (void)g_wal->TruncateBefore(*seq);
    }
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  if (state.thread_index() == 0) {
    state.counters["syncs"] = static_cast<double>(g_wal->Stats().syncs);
    g_wal.reset();
    std::filesystem::remove_all(g_dir);
  }
}

void wal_append_otlp_1000_interval(benchmark::State& state) {
  Append(state, strobed::wal::SyncPolicy::kInterval, "interval");
}
BENCHMARK(wal_append_otlp_1000_interval)->UseRealTime();

void wal_append_otlp_1000_always(benchmark::State& state) {
  Append(state, strobed::wal::SyncPolicy::kAlways, "always");
}
BENCHMARK(wal_append_otlp_1000_always)->UseRealTime()->Threads(1)->Threads(8);

void wal_write_only_otlp_1000(benchmark::State& state) {
  std::string dir = BenchDir("write_only");
  std::filesystem::create_directories(dir);
  std::string path = dir + "/out";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const std::string& body = Body();
  uint64_t n = 0;
  for (auto _ : state) {
    if (::write(fd, body.data(), body.size()) != static_cast<ssize_t>(body.size())) {
      state.SkipWithError("write failed");
      break;
    }
    if (++n == 2000) {  // bounded footprint, like the truncation above
      n = 0;
      if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) break;
    }
  }
  ::close(fd);
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(wal_write_only_otlp_1000)->UseRealTime();

}  // namespace
