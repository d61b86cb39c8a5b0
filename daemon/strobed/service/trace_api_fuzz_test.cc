// Fuzzes the trace API's request parameters (service/trace_api.h) as they arrive from an HTTP
// client: the input is a request target ("/api/v1/traces?limit=%31%30", "/api/v1/traces/<id>",
// "/api/v1/service-graph?…"), split into path and query as the server does, routed by the
// real Router and answered by the real handlers over a TraceStore holding four complete
// synthetic traces (injected clock: no sleeping).
//
// Checked for every input: the answer is 200, 400 or 404 (or the router's 404/405); its body
// is valid JSON (simdjson); a trace list holds at most `limit` ids and only stored ones; the
// path of a stored trace id (either case of hex) answers 200 with that id; a limit outside
// 1..10000 or not a decimal integer answers 400.
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/otlp/otlp_decode.h"
#include "strobed/otlp/synthetic.h"
#include "strobed/server/http.h"
#include "strobed/server/router.h"
#include "strobed/service/trace_api.h"
#include "strobed/trace/trace_store.h"

namespace {

#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

struct Api {
  Api() {
    strobed::trace::TraceStoreOptions o;
    store = std::make_unique<strobed::trace::TraceStore>(o);
    strobed::otlp::SyntheticTraces gen(7, {.spans = 20, .attributes = 2, .spans_per_trace = 5});
    strobed::event::Batch batch(nullptr, 4096, 1 << 20);
    const std::string body = gen.Next();
    auto r = strobed::otlp::Decode(strobed::otlp::Signal::kTraces,
                                   strobed::otlp::Encoding::kProtobuf, body, batch);
    FUZZ_CHECK(r.ok());
    store->Add(batch.spans(), strobed::event::KeyTable::Global(), clock.NowNs());
    clock.AdvanceNs(60'000'000'000);  // past the quiet period and max age: all complete
    store->Tick(clock.NowNs());
    for (const auto& id : store->Recent(100)) ids.push_back(id.ToHex());
    FUZZ_CHECK(ids.size() == 4);
    strobed::service::MountTraceApi(router, *store, clock);
  }
  strobed::base::ManualMonotonicClock clock;
  std::unique_ptr<strobed::trace::TraceStore> store;
  strobed::server::Router router;
  std::vector<std::string> ids;
  simdjson::dom::parser json;
};

// What the handler must answer for ?limit=<text>: 0 when the parameter is absent (default 50).
bool LimitValid(const std::string& text, size_t* limit) {
  size_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v == 0 || v > 10000) return false;
  *limit = v;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Api* api = new Api();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  in = in.substr(0, in.find('\n'));
  strobed::server::Request req;
  req.method = "GET";
  req.target = std::string(in);
  const size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);

  const strobed::server::Router::Match m = api->router.Find(req.method, req.path);
  if (m.status != 200) {
    FUZZ_CHECK(m.status == 404 || m.status == 405);
    return 0;
  }
  req.route = m.route->pattern;
  const strobed::server::Response resp = m.route->handler(req);
  FUZZ_CHECK(resp.status == 200 || resp.status == 400 || resp.status == 404);
  simdjson::padded_string body(resp.body);
  simdjson::dom::element doc;
  FUZZ_CHECK(api->json.parse(body).get(doc) == simdjson::SUCCESS);

  const bool one_trace = req.path.rfind("/api/v1/traces/", 0) == 0;
  if (req.path == "/api/v1/traces") {
    size_t limit = 50;
    const auto param = req.QueryParam("limit");
    const bool valid = !param || LimitValid(*param, &limit);
    FUZZ_CHECK(resp.status == (valid ? 200 : 400));
    if (resp.status == 200) {
      simdjson::dom::array traces;
      FUZZ_CHECK(doc["traces"].get(traces) == simdjson::SUCCESS);
      FUZZ_CHECK(traces.size() == std::min(limit, api->ids.size()));
      for (simdjson::dom::element t : traces) {
        std::string_view id;
        FUZZ_CHECK(t.get(id) == simdjson::SUCCESS);
        FUZZ_CHECK(std::find(api->ids.begin(), api->ids.end(), id) != api->ids.end());
      }
    }
  } else if (one_trace) {
    std::string id = req.path.substr(std::string_view("/api/v1/traces/").size());
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::find(api->ids.begin(), api->ids.end(), id) != api->ids.end()) {
      FUZZ_CHECK(resp.status == 200);
      std::string_view got;
      FUZZ_CHECK(doc["traceId"].get(got) == simdjson::SUCCESS && got == id);
    }
  }
  return 0;
}
