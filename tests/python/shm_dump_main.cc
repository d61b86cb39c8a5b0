// strobe_shm_dump: the C++ side of the Python golden tests. A real strobe::shm::Consumer (the
// reader the daemon runs) that prints every record it decodes as one JSON line on stdout, so
// tests/python can assert exactly what C++ read from what Python wrote: series definitions
// with labels, points, spans with their parent ids, events with attributes, batches. Stdout is
// flushed at every PING, before the consumer stores ack_seq, so after `conn.flush()` returns
// every earlier record is already on the pipe.
//
//   strobe_shm_dump --dir DIR --ring NAME
// Prints {"ready":true} once the daemon marker is written; exits on SIGTERM/SIGINT after a
// final {"stats":{...}} line with the reader's counters.
#include <signal.h>

#include <atomic>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"
#include "strobed/base/json.h"

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int /*sig*/) { g_stop.store(true); }

using strobe::shm::Pairs;
using strobe::shm::RecordView;

// Strings through the daemon's escaper (invalid UTF-8 becomes U+FFFD, as on every daemon
// JSON path).
std::string Json(std::string_view s) { return strobed::base::JsonQuote(s); }

std::string JsonPairs(const Pairs& pairs) {
  std::string out = "{";
  for (const auto& [k, v] : pairs) {
    if (out.size() > 1) out += ',';
    out += Json(k) + ":" + Json(v);
  }
  return out + "}";
}

std::string U64(uint64_t v) { return std::to_string(v); }

// Python's json module reads NaN / Infinity / -Infinity (not strict JSON; test-only tool).
std::string Double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

struct DumpSink : strobe::shm::RecordSink {
  void OnRecord(const RecordView& r) override {
    std::string line = "{\"producer\":" + U64(r.producer) + ",";
    strobe::shm::PointRecord p;
    strobe::shm::SeriesDefineRecord d;
    strobe::shm::SpanRecord s;
    strobe::shm::EventRecord e;
    strobe::shm::BatchRecord b;
    uint64_t seq = 0;
    bool ok = true;
    switch (r.type) {
      case STROBE_REC_SERIES_DEFINE:
        ok = DecodeSeriesDefine(r, &d);
        if (ok) {
          line += "\"type\":\"define\",\"series\":" + U64(d.series_id) +
                  ",\"kind\":" + U64(d.kind) + ",\"name\":" + Json(d.name) +
                  ",\"labels\":" + JsonPairs(d.labels);
          if (d.meta_version != 0) {
            std::string bounds = "[";
            for (uint32_t i = 0; i < d.bounds_count; ++i) {
              bounds += (i == 0 ? "" : ",") + Double(d.Bound(i));
            }
            line += ",\"meta_version\":" + U64(d.meta_version) +
                    ",\"description\":" + Json(d.description) + ",\"unit\":" + Json(d.unit) +
                    ",\"bounds\":" + bounds + "]";
          }
        }
        break;
      case STROBE_REC_COUNTER_ADD:
        ok = DecodePoint(r, &p);
        line += "\"type\":\"counter\",\"series\":" + U64(p.series_id) +
                ",\"ts\":" + U64(p.timestamp_ns) + ",\"delta\":" + U64(p.delta);
        break;
      case STROBE_REC_GAUGE_SET:
      case STROBE_REC_HISTOGRAM_RECORD:
        ok = DecodePoint(r, &p);
        line += std::string("\"type\":\"") +
                (r.type == STROBE_REC_GAUGE_SET ? "gauge" : "histogram") +
                "\",\"series\":" + U64(p.series_id) + ",\"ts\":" + U64(p.timestamp_ns) +
                ",\"value\":" + Double(p.value);
        break;
      case STROBE_REC_SPAN: {
        ok = DecodeSpan(r, &s);
        std::string tid;
        for (uint8_t byte : s.trace_id) {
          char buf[3];
          std::snprintf(buf, sizeof buf, "%02x", byte);
          tid += buf;
        }
        line += "\"type\":\"span\",\"trace_id\":\"" + tid + "\",\"span_id\":" + U64(s.span_id) +
                ",\"parent_span_id\":" + U64(s.parent_span_id) +
                ",\"start_ns\":" + U64(s.start_ns) + ",\"end_ns\":" + U64(s.end_ns) +
                ",\"name\":" + Json(s.name) + ",\"attributes\":" + JsonPairs(s.attributes);
        break;
      }
      case STROBE_REC_EVENT:
        ok = DecodeEvent(r, &e);
        line += "\"type\":\"event\",\"ts\":" + U64(e.timestamp_ns) + ",\"name\":" + Json(e.name) +
                ",\"attributes\":" + JsonPairs(e.attributes);
        break;
      case STROBE_REC_BATCH: {
        ok = DecodeBatch(r, &b);
        std::string ids = "[", tss = "[", vals = "[";
        for (uint32_t i = 0; ok && i < b.count; ++i) {
          uint64_t id = 0, ts = 0;
          double v = 0;
          b.Entry(i, &id, &ts, &v);
          const char* sep = i == 0 ? "" : ",";
          ids += sep + U64(id);
          tss += sep + U64(ts);
          vals += sep + Double(v);
        }
        line += "\"type\":\"batch\",\"kind\":" + U64(b.kind) + ",\"series\":" + ids +
                "],\"ts\":" + tss + "],\"values\":" + vals + "]";
        break;
      }
      case STROBE_REC_PING:
        ok = DecodePing(r, &seq);
        line += "\"type\":\"ping\",\"seq\":" + U64(seq);
        break;
      case STROBE_REC_HISTOGRAM_MERGE: {
        strobe::shm::HistogramMergeRecord h;
        ok = strobe::shm::DecodeHistogramMerge(r, &h);
        line += "\"type\":\"histogram_merge\",\"series\":" + U64(h.series_id) +
                ",\"count\":" + U64(h.count);
        break;
      }
      default:
        ok = false;
    }
    if (!ok) line += std::string(line.back() == ',' ? "" : ",") + "\"invalid\":" + U64(r.type);
    line += "}\n";
    std::fputs(line.c_str(), stdout);
    if (r.type == STROBE_REC_PING) std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  strobe::shm::ConsumerOptions o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--dir") {
      o.dir = argv[i + 1];
    } else if (k == "--ring") {
      o.ring = argv[i + 1];
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  auto c = strobe::shm::Consumer::Open(o);
  if (!c.ok()) {
    std::fprintf(stderr, "strobe_shm_dump: %s\n", c.status().ToString().c_str());
    return 1;
  }
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  std::printf("{\"ready\":true}\n");
  std::fflush(stdout);
  DumpSink sink;
  uint64_t idle = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    if ((*c)->Poll(sink) == 0 && (++idle & 255) == 0) (*c)->Scan(sink);
  }
  (*c)->Scan(sink);
  while ((*c)->Poll(sink) != 0) {
  }
  const auto& st = (*c)->stats();
  std::printf("{\"stats\":{\"records\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"torn\":%" PRIu64
              ",\"producer_dropped\":%" PRIu64 ",\"rings_reclaimed\":%" PRIu64 "}}\n",
              st.records, st.malformed, st.torn, st.producer_dropped, st.rings_reclaimed);
  return 0;
}
