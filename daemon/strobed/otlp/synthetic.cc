#include "strobed/otlp/synthetic.h"

#include <chrono>
#include <cstring>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace strobed::otlp {
namespace {

namespace pb_trace = opentelemetry::proto::trace::v1;

constexpr const char* kServices[] = {"frontend", "checkout", "inventory"};
constexpr const char* kOperations[] = {"GET /cart", "POST /checkout", "SELECT items", "cache.get",
                                       "publish order"};
constexpr const char* kAttrKeys[] = {"http.method",      "http.route", "http.status_code",
                                     "net.peer.name",    "db.system",  "user.id",
                                     "messaging.system", "retry.count"};

}  // namespace

SyntheticTraces::SyntheticTraces(uint64_t seed, SyntheticOptions options)
    : state_(seed * 0x9e3779b97f4a7c15ULL + 1), options_(options) {}

uint64_t SyntheticTraces::NextRandom() {
  // splitmix64: fast, good enough for varied load.
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string SyntheticTraces::Next() {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  int per_trace = options_.spans_per_trace < 1 ? 1 : options_.spans_per_trace;
  pb_trace::ScopeSpans* scopes[3];
  for (int s = 0; s < 3; ++s) {
    auto* rs = req.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    kv->mutable_value()->set_string_value(kServices[s]);
    scopes[s] = rs->add_scope_spans();
    scopes[s]->mutable_scope()->set_name("strobe.bench");
  }
  char trace_id[16] = {};
  char root_id[8] = {};
  uint64_t root_start = 0;
  for (int i = 0; i < options_.spans; ++i) {
    int pos = i % per_trace;
    int svc = pos == 0 ? 0 : 1 + static_cast<int>(NextRandom() % 2);
    pb_trace::Span* sp = scopes[svc]->add_spans();
    uint64_t r1 = NextRandom(), r2 = NextRandom(), r3 = NextRandom() | 1;
    if (pos == 0) {
      std::memcpy(trace_id, &r1, 8);
      std::memcpy(trace_id + 8, &r2, 8);
      std::memcpy(root_id, &r3, 8);
      root_start = now - 5'000'000;
    }
    sp->set_trace_id(trace_id, 16);
    if (pos == 0) {
      sp->set_span_id(root_id, 8);
      sp->set_kind(pb_trace::Span::SPAN_KIND_SERVER);
      sp->set_start_time_unix_nano(root_start);
      sp->set_end_time_unix_nano(root_start + 4'000'000);
    } else {
      sp->set_span_id(&r3, 8);
      sp->set_parent_span_id(root_id, 8);
      sp->set_kind(pos % 2 == 0 ? pb_trace::Span::SPAN_KIND_CLIENT
                                : pb_trace::Span::SPAN_KIND_INTERNAL);
      uint64_t off = 100'000 + (r1 % 1'000'000);
      sp->set_start_time_unix_nano(root_start + off);
      sp->set_end_time_unix_nano(root_start + off + 50'000 + (r2 % 2'000'000));
    }
    sp->set_name(kOperations[(counter_ + static_cast<uint64_t>(i)) % 5]);
    for (int a = 0; a < options_.attributes; ++a) {
      auto* kv = sp->add_attributes();
      kv->set_key(kAttrKeys[a % 8]);
      if (a % 3 == 2) {
        kv->mutable_value()->set_int_value(static_cast<int64_t>(NextRandom() % 1000));
      } else {
        kv->mutable_value()->set_string_value("value-" + std::to_string(NextRandom() % 10000));
      }
    }
    if (NextRandom() % 100 == 0) {
      sp->mutable_status()->set_code(pb_trace::Status::STATUS_CODE_ERROR);
      sp->mutable_status()->set_message("synthetic failure");
    }
  }
  ++counter_;
  return req.SerializeAsString();
}

}  // namespace strobed::otlp
