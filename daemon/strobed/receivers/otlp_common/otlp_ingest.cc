#include "strobed/receivers/otlp_common/otlp_ingest.h"

#include <algorithm>
#include <charconv>

#include "strobe/base/check.h"

namespace strobed::receivers {

OtlpIngest::OtlpIngest(OtlpIngestOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : base::MonotonicClock::Steady()),
      key_quota_(options_.max_new_keys_per_source,
                 static_cast<uint64_t>(std::max<int64_t>(1, options_.new_keys_window.count()))) {
  STROBE_CHECK(options_.metrics != nullptr);  // required: the factories pass the host's
  strobe::metrics::Registry& reg = *options_.metrics;
  for (otlp::Signal s : {otlp::Signal::kTraces, otlp::Signal::kMetrics, otlp::Signal::kLogs}) {
    std::string item = otlp::ItemName(s);
    auto acc = reg.AddCounterFamily({"strobe_receiver_accepted_" + item + "_total",
                                     "Items a receiver pushed into the pipeline successfully.", ""},
                                    {"receiver"});
    auto ref =
        reg.AddCounterFamily({"strobe_receiver_refused_" + item + "_total",
                              "Items a receiver could not push into the pipeline, by reason.", ""},
                             {"receiver", "reason"});
    // Registration of fixed, valid names only fails on a programming error.
    STROBE_CHECK(acc.ok() && ref.ok());
    counters_[static_cast<size_t>(s)] = {*acc, *ref};
  }
  auto req = reg.AddCounterFamily({"strobe_receiver_refused_requests_total",
                                   "Requests a receiver refused, by signal and reason.", ""},
                                  {"receiver", "signal", "reason"});
  STROBE_CHECK(req.ok());
  refused_requests_ = *req;
  auto dropped = reg.AddCounterFamily(
      {"strobe_receiver_dropped_attributes_total",
       "Span and log attributes dropped because their key could not be interned (also in the "
       "element's dropped_attributes_count), by signal and reason.",
       ""},
      {"receiver", "signal", "reason"});
  STROBE_CHECK(dropped.ok());
  dropped_attributes_ = *dropped;
}

void OtlpIngest::CountKeyRefusals(otlp::Signal signal, const otlp::DecodeStats& stats) {
  for (std::size_t r = 0; r < event::kKeyRefusalCount; ++r) {
    const std::string_view reason = event::KeyRefusalName(static_cast<event::KeyRefusal>(r));
    if (stats.refused_by[r] > 0) {
      counters_[static_cast<size_t>(signal)]
          .refused->With({{"receiver", options_.name}, {"reason", reason}})
          .Add(stats.refused_by[r]);
    }
    // Attributes of refused metric points went with their point: counted there only.
    if (signal != otlp::Signal::kMetrics && stats.dropped_by[r] > 0) {
      dropped_attributes_
          ->With({{"receiver", options_.name},
                  {"signal", otlp::SignalName(signal)},
                  {"reason", reason}})
          .Add(stats.dropped_by[r]);
    }
  }
}

void OtlpIngest::CountRefused(otlp::Signal signal, std::string_view reason, uint64_t items) {
  counters_[static_cast<size_t>(signal)]
      .refused->With({{"receiver", options_.name}, {"reason", reason}})
      .Add(items);
  refused_requests_
      ->With(
          {{"receiver", options_.name}, {"signal", otlp::SignalName(signal)}, {"reason", reason}})
      .Inc();
}

OtlpIngestResult OtlpIngest::Ingest(pipeline::Ingest& ingest, otlp::Signal signal,
                                    otlp::Encoding encoding, std::string_view body,
                                    std::string_view source) {
  OtlpIngestResult result;
  event::BatchPtr batch = ingest.pool().Acquire();
  event::KeyBudget budget;
  budget.max_new_keys = options_.max_new_keys_per_request;
  budget.quota = &key_quota_;
  budget.source = source;
  budget.now_ns = clock_.NowNs();
  otlp::DecodeOptions dopts;
  dopts.keys = options_.keys;
  dopts.budget = &budget;
  strobe::Result<otlp::DecodeStats> decoded = otlp::Decode(signal, encoding, body, *batch, dopts);
  if (!decoded.ok()) {
    CountRefused(signal, "invalid", 0);
    result.kind = OtlpIngestResult::Kind::kInvalid;
    result.message = std::string(otlp::SignalName(signal)) + ": " + decoded.status().message();
    return result;
  }
  const uint64_t items = decoded->items;
  result.items = items;
  // Points refused by the decoder go back to the client as partial success (so it does not
  // retry them) and are counted per point; the rest of the request goes on. Two causes: a label
  // value that is not UTF-8, and a key of the point's identity the key table refused.
  const uint64_t invalid = decoded->invalid_utf8;
  const uint64_t key_refused = decoded->refused_items;
  const uint64_t refused = invalid + key_refused;
  std::string message;
  if (invalid > 0) {
    counters_[static_cast<size_t>(signal)]
        .refused->With({{"receiver", options_.name}, {"reason", "invalid_utf8"}})
        .Add(invalid);
    message = std::to_string(invalid) +
              " data points refused: a label or resource attribute value is not valid UTF-8";
  }
  if (key_refused > 0) {
    if (!message.empty()) message += "; ";
    message += std::to_string(key_refused) +
               " metric points refused: an attribute key could not be added to the key table (";
    bool first = true;
    for (std::size_t r = 0; r < event::kKeyRefusalCount; ++r) {
      if (decoded->refused_by[r] == 0) continue;
      if (!first) message += ", ";
      first = false;
      message += std::string(event::KeyRefusalName(static_cast<event::KeyRefusal>(r))) + ": " +
                 std::to_string(decoded->refused_by[r]);
    }
    message += ")";
  }
  if (items == 0) {
    CountKeyRefusals(signal, *decoded);
    result.rejected = static_cast<int64_t>(refused);
    result.message = std::move(message);
    return result;
  }
  pipeline::PushResult pushed = ingest.Push(std::move(batch));
  switch (pushed.status) {
    case pipeline::PushStatus::kAccepted:
      counters_[static_cast<size_t>(signal)]
          .accepted->With({{"receiver", options_.name}})
          .Add(items);
      CountKeyRefusals(signal, *decoded);
      result.rejected = static_cast<int64_t>(refused);
      result.message = std::move(message);
      return result;
    case pipeline::PushStatus::kDropped:
      CountRefused(signal, "pipeline_dropped", items);
      CountKeyRefusals(signal, *decoded);
      result.rejected = static_cast<int64_t>(items + refused);
      result.message = "dropped by the pipeline's back-pressure policy" +
                       (message.empty() ? std::string() : "; " + message);
      return result;
    case pipeline::PushStatus::kThrottled:
    case pipeline::PushStatus::kRefused:
    case pipeline::PushStatus::kShutdown:
      break;
  }
  result.kind = OtlpIngestResult::Kind::kPushBack;
  result.push_status = pushed.status;
  result.reason = pushed.refuse_reason == pipeline::RefuseReason::kCount
                      ? std::string("shutdown")
                      : std::string(pipeline::RefuseReasonName(pushed.refuse_reason));
  result.retry_after = pushed.retry_after;
  result.message = "pipeline " + std::string(pipeline::PushStatusName(pushed.status)) + " (" +
                   result.reason + "); retry later";
  CountRefused(signal, result.reason, items);
  return result;
}

std::string_view SourceAddress(std::string_view peer) {
  for (std::string_view scheme : {"ipv4:", "ipv6:"}) {
    if (peer.starts_with(scheme)) {
      peer.remove_prefix(scheme.size());
      break;
    }
  }
  return peer.substr(0, peer.rfind(':'));
}

strobe::Status ParseListenEndpoint(std::string_view text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return strobe::InvalidArgument("endpoint '" + std::string(text) + "' must be host:port");
  }
  host = std::string(text.substr(0, colon));
  if (host.empty()) host = "127.0.0.1";
  std::string_view p = text.substr(colon + 1);
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || ptr != p.data() + p.size() || v > 65535) {
    return strobe::InvalidArgument("endpoint '" + std::string(text) + "': bad port");
  }
  port = static_cast<uint16_t>(v);
  return strobe::OkStatus();
}

}  // namespace strobed::receivers
