#pragma once

// W3C Trace Context (https://www.w3.org/TR/trace-context/): strict parsing and formatting of the
// `traceparent` and `tracestate` headers, and Inject/Extract over any text-map carrier (HTTP
// headers, message properties).
//
// Strictness: a traceparent that is not exactly what the spec allows is rejected with a reason
// (uppercase hex, all-zero ids, version ff, wrong lengths or separators, trailing data on
// version 00). Future versions (01..fe) are accepted when their first four fields parse and any
// extra data starts with '-', as the spec requires. A tracestate with a bad member, a duplicate
// key or more than 32 members is discarded whole, and Extract ignores tracestate when
// traceparent is invalid.
//
// Thread class: functions are thread-safe; TraceState is a thread-compatible value type.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strobe/base/status.h"
#include "strobe/trace/span_context.h"

namespace strobe::trace {

inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";
inline constexpr size_t kTraceparentV0Length = 55;  // "00-" 32 "-" 16 "-" 2
inline constexpr size_t kMaxTracestateMembers = 32;

// Parses a traceparent header value. The result is marked remote. Errors are
// InvalidArgument with the reason.
Result<SpanContext> ParseTraceparent(std::string_view value);
// Version-00 header value for `ctx` (55 characters).
std::string FormatTraceparent(const SpanContext& ctx);

// An ordered list of vendor key=value entries; the first entry is the most recent.
class TraceState {
 public:
  // Parses a tracestate header value (possibly the comma-joined values of several headers).
  // Empty members and optional whitespace are allowed; anything else malformed is an error.
  static Result<TraceState> Parse(std::string_view value);

  // Checks key and value syntax per W3C.
  static bool ValidKey(std::string_view key) noexcept;
  static bool ValidValue(std::string_view value) noexcept;

  // Returns the value for `key` or an empty view.
  std::string_view Get(std::string_view key) const noexcept;
  // Moves/adds `key` to the front with `value`, as a vendor does when it participates.
  // InvalidArgument on bad syntax; the oldest entry is dropped beyond 32 members.
  Status Set(std::string_view key, std::string_view value);
  void Erase(std::string_view key);

  bool empty() const noexcept { return entries_.empty(); }
  size_t size() const noexcept { return entries_.size(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  // "k1=v1,k2=v2".
  std::string ToHeader() const;

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// Access to a carrier's text keys; header names are compared case-insensitively by the
// carrier when its transport says so (HTTP).
class TextMapCarrier {
 public:
  virtual ~TextMapCarrier() = default;
  // The value for `key`, or empty when absent.
  virtual std::string_view Get(std::string_view key) const = 0;
  virtual void Set(std::string_view key, std::string_view value) = 0;
};

struct RemoteContext {
  SpanContext context;
  TraceState state;
};

// Reads traceparent/tracestate from `carrier`. NotFound when there is no traceparent,
// InvalidArgument when it is malformed. A malformed tracestate is dropped (the context stays).
Result<RemoteContext> Extract(const TextMapCarrier& carrier);
// Writes traceparent (and tracestate when non-empty). Does nothing for an invalid context.
void Inject(const SpanContext& context, const TraceState& state, TextMapCarrier& carrier);

}  // namespace strobe::trace
