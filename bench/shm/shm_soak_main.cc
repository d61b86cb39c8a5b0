// shm_soak: the soak benchmark of the shm path (issue 7: "no memory growth in the daemon or the
// producer after 10^9 records"). Writes --records records into its ring — counter adds over
// --series series, one histogram record in 8, a span every --span-every (4,096) records and an
// event every --event-every (65,536; 0 = none) — with the spin policy (nothing dropped), then a
// PING round trip so the daemon has processed everything. It reads its own RSS and the daemon's
// (pid from the daemon marker, /proc/<pid>/status VmRSS) after a warm-up of 1% of the records and
// at the end, and prints one JSON object. Run against `strobe serve` by bench/shm/soak.sh.
//
//   shm_soak --dir DIR --ring NAME [--records N] [--series K] [--span-every N] [--event-every N]
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "strobe/shm/producer.h"
#include "strobe/shm/segment.h"

namespace {

uint64_t RssKiB(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

long DaemonPid(const std::string& dir, const std::string& ring) {
  std::ifstream in(strobe::shm::DaemonMarkerPath(dir, ring));
  long pid = 0;
  in >> pid;
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/dev/shm", ring = "strobe";
  uint64_t records = 1'000'000'000, series = 1000, span_every = 4096, event_every = 65536;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--dir") {
      dir = v;
    } else if (k == "--ring") {
      ring = v;
    } else if (k == "--records") {
      records = std::strtoull(v, nullptr, 10);
    } else if (k == "--series") {
      series = std::strtoull(v, nullptr, 10);
    } else if (k == "--span-every") {
      span_every = std::strtoull(v, nullptr, 10);
    } else if (k == "--event-every") {
      event_every = std::strtoull(v, nullptr, 10);
    } else {
      std::fprintf(stderr, "shm_soak: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (series == 0 || records < 100) {
    std::fprintf(stderr, "shm_soak: --series must be > 0 and --records >= 100\n");
    return 2;
  }
  strobe::shm::ProducerOptions o;
  o.dir = dir;
  o.ring = ring;
  o.policy = strobe::shm::FullPolicy::kSpin;
  o.spin_limit = UINT64_MAX;
  o.require_daemon = true;
  auto p = strobe::shm::Producer::Connect(o);
  if (!p.ok()) {
    std::fprintf(stderr, "shm_soak: %s\n", p.status().message().c_str());
    return 1;
  }
  const long daemon = DaemonPid(dir, ring);
  std::vector<uint64_t> counters, histograms;
  for (uint64_t s = 0; s < series; ++s) {
    counters.push_back((*p)->DefineSeries(STROBE_KIND_COUNTER, "soak_requests_total",
                                          {{"series", std::to_string(s)}}));
    histograms.push_back((*p)->DefineSeries(STROBE_KIND_HISTOGRAM, "soak_latency_ns",
                                            {{"series", std::to_string(s % 16)}}));
  }
  uint8_t trace[16] = {};
  const uint64_t warmup = records / 100;
  uint64_t producer_start = 0, daemon_start = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto t_warm = t0;
  for (uint64_t i = 0; i < records; ++i) {
    const uint64_t s = i % series;
    if (span_every != 0 && i % span_every == span_every - 1) {
      // Distinct ids spread over both halves, as random W3C ids are.
      const uint64_t hi = i * 0x9E3779B97F4A7C15ull, lo = ~i * 0xC2B2AE3D27D4EB4Full;
      std::memcpy(trace, &hi, 8);
      std::memcpy(trace + 8, &lo, 8);
      (*p)->Span(trace, i | 1, 0, i, i + 1000, "soak.op", {{"service.name", "soak"}});
    } else if (event_every != 0 && i % event_every == event_every - 2) {
      (*p)->Event(0, "soak.tick", {{"i", std::to_string(i)}});
    } else if ((i & 7) == 7) {
      (*p)->HistogramRecord(histograms[s], static_cast<double>(1000 + (i & 4095)));
    } else {
      (*p)->CounterAdd(counters[s], 1);
    }
    if (i + 1 == warmup) {
      (*p)->Ping(1);
      while ((*p)->AckSeq() < 1) {
      }
      producer_start = RssKiB(getpid());
      daemon_start = RssKiB(daemon);
      t_warm = std::chrono::steady_clock::now();
    }
  }
  (*p)->Ping(2);
  while ((*p)->AckSeq() < 2) {
  }
  const auto t1 = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(t1 - t_warm).count();
  std::printf("{\"records\":%" PRIu64 ",\"series\":%" PRIu64 ",\"span_every\":%" PRIu64
              ",\"event_every\":%" PRIu64
              ",\"seconds_after_warmup\":%.2f,"
              "\"records_per_second\":%.0f,\"dropped\":%" PRIu64
              ",\"producer_rss_kib_start\":%" PRIu64 ",\"producer_rss_kib_end\":%" PRIu64
              ",\"daemon_pid\":%ld,\"daemon_rss_kib_start\":%" PRIu64
              ",\"daemon_rss_kib_end\":%" PRIu64 "}\n",
              records, series, span_every, event_every, secs,
              static_cast<double>(records - warmup) / secs, (*p)->DroppedRecords(), producer_start,
              RssKiB(getpid()), daemon, daemon_start, RssKiB(daemon));
  return 0;
}
