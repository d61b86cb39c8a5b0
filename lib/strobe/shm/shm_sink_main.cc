// strobe_shm_sink: a stand-alone consumer of the shm rings (the same Consumer the daemon's shm
// receiver runs). Busy-polls the rings, validates and counts every record by type, answers
// PINGs, and on SIGTERM/SIGINT (or after --seconds) prints one JSON object with the counts.
// Used by the Python tests and bench/python/bench_client.py for round trips.
//
//   strobe_shm_sink --dir /dev/shm --ring strobe [--seconds N]
// Prints "ready" on stdout once the daemon marker is written.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int /*sig*/) { g_stop.store(true); }

using namespace strobe::shm;  // NOLINT(google-build-using-namespace): small tool

struct CountingSink : RecordSink {
  void OnRecord(const RecordView& r) override {
    ++by_type[r.type];
    bool ok = true;
    PointRecord p;
    SeriesDefineRecord d;
    SpanRecord s;
    EventRecord e;
    BatchRecord b;
    uint64_t seq;
    switch (r.type) {
      case STROBE_REC_SERIES_DEFINE:
        ok = DecodeSeriesDefine(r, &d);
        break;
      case STROBE_REC_COUNTER_ADD:
        ok = DecodePoint(r, &p);
        counter_sum += p.delta;
        break;
      case STROBE_REC_GAUGE_SET:
      case STROBE_REC_HISTOGRAM_RECORD:
        ok = DecodePoint(r, &p);
        value_sum += p.value;
        break;
      case STROBE_REC_SPAN:
        ok = DecodeSpan(r, &s);
        break;
      case STROBE_REC_EVENT:
        ok = DecodeEvent(r, &e);
        break;
      case STROBE_REC_BATCH:
        ok = DecodeBatch(r, &b);
        if (ok) {
          batch_values += b.count;
          for (uint32_t i = 0; i < b.count; ++i) {
            uint64_t id, ts;
            double v;
            b.Entry(i, &id, &ts, &v);
            value_sum += v;
          }
        }
        break;
      case STROBE_REC_PING:
        ok = DecodePing(r, &seq);
        break;
      case STROBE_REC_HISTOGRAM_MERGE: {
        HistogramMergeRecord h;
        ok = DecodeHistogramMerge(r, &h);
        break;
      }
      default:
        ok = false;
    }
    if (!ok) ++invalid;
  }
  uint64_t by_type[STROBE_REC_TYPE_COUNT] = {};
  uint64_t counter_sum = 0;
  uint64_t batch_values = 0;
  uint64_t invalid = 0;
  double value_sum = 0;
};

}  // namespace

int main(int argc, char** argv) {
  ConsumerOptions o;
  double seconds = 3600;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--dir") {
      o.dir = argv[i + 1];
    } else if (k == "--ring") {
      o.ring = argv[i + 1];
    } else if (k == "--seconds") {
      seconds = std::stod(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  auto c = Consumer::Open(o);
  if (!c.ok()) {
    std::fprintf(stderr, "strobe_shm_sink: %s\n", c.status().ToString().c_str());
    return 1;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  std::printf("ready\n");
  std::fflush(stdout);
  CountingSink sink;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t idle = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    if ((*c)->Poll(sink) == 0 && (++idle & 1023) == 0) {
      (*c)->Scan(sink);
      if (std::chrono::steady_clock::now() > deadline) break;
    }
  }
  (*c)->Scan(sink);
  (*c)->Poll(sink);
  const ReaderStats& st = (*c)->stats();
  std::printf(
      "{\"define\":%llu,\"counter\":%llu,\"gauge\":%llu,\"histogram\":%llu,\"span\":%llu,"
      "\"event\":%llu,\"batch\":%llu,\"ping\":%llu,\"counter_sum\":%llu,\"batch_values\":%llu,"
      "\"value_sum\":%.17g,\"invalid\":%llu,\"malformed\":%llu,\"torn\":%llu,"
      "\"producer_dropped\":%llu,\"rings_reclaimed\":%llu}\n",
      static_cast<unsigned long long>(sink.by_type[STROBE_REC_SERIES_DEFINE]),
      static_cast<unsigned long long>(sink.by_type[STROBE_REC_COUNTER_ADD]),
      static_cast<unsigned long long>(sink.by_type[STROBE_REC_GAUGE_SET]),
      static_cast<unsigned long long>(sink.by_type[STROBE_REC_HISTOGRAM_RECORD]),
      static_cast<unsigned long long>(sink.by_type[STROBE_REC_SPAN]),
      static_cast<unsigned long long>(sink.by_type[STROBE_REC_EVENT]),
      static_cast<unsigned long long>(sink.by_type[STROBE_REC_BATCH]),
      static_cast<unsigned long long>(sink.by_type[STROBE_REC_PING]),
      static_cast<unsigned long long>(sink.counter_sum),
      static_cast<unsigned long long>(sink.batch_values), sink.value_sum,
      static_cast<unsigned long long>(sink.invalid), static_cast<unsigned long long>(st.malformed),
      static_cast<unsigned long long>(st.torn),
      static_cast<unsigned long long>(st.producer_dropped),
      static_cast<unsigned long long>(st.rings_reclaimed));
  return 0;
}
