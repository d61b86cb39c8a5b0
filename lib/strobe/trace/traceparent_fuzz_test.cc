// Fuzzes the W3C traceparent/tracestate parsers (header values come from the network): no
// crash, and whatever parses must format back to a header that parses to the same context.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "strobe/trace/trace_context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view tp = in.substr(0, nl);
  auto r = strobe::trace::ParseTraceparent(tp);
  if (r.ok()) {
    auto again = strobe::trace::ParseTraceparent(strobe::trace::FormatTraceparent(*r));
    if (!again.ok() || again->trace_id != r->trace_id || again->span_id != r->span_id) {
      std::abort();
    }
  }
  if (nl != std::string_view::npos) {
    auto ts = strobe::trace::TraceState::Parse(in.substr(nl + 1));
    if (ts.ok()) {
      auto again = strobe::trace::TraceState::Parse(ts->ToHeader());
      if (!again.ok() || again->size() != ts->size()) std::abort();
    }
  }
  return 0;
}
