#pragma once

// The stream engine's results and statistics, published as callback families in a metrics
// registry (read at each scrape; the one way the daemon publishes metrics):
//   strobe_stream_<aggregate>{window, <group-by labels>}  latest closed-window value (gauge);
//       one family per aggregate name, labels = window + the union of every window's group-by
//       attributes in Prometheus form ("" where a window lacks one); strobe_stream_anomaly_score
//       when detectors exist
//   strobe_stream_events_total{window}                items aggregated
//   strobe_stream_dropped_events_total{window,reason} late, key_limit, future
//   strobe_stream_watermark_timestamp_seconds{window} event time the window is complete up to
//   strobe_stream_watermark_sources{window}           sources its watermark tracks
//   strobe_stream_watermark_sources_evicted_total{window}  sources evicted at max_sources
//   strobe_stream_series_dropped_total                result series refused at max_series
//   strobe_stream_cep_matches_total{rule, <key labels>}  complex-event matches per rule and
//       key (the Series kCepMatches); labels = rule + the union of every rule's group_by
//       attributes in Prometheus form ("" where a rule lacks one); a rule with no match
//       yet shows 0
//   strobe_stream_cep_dropped_total{rule}             CEP keys or pending items dropped at limits
//
// Thread class: call from the control thread; the callbacks are thread-safe (the engine is).

#include "strobe/base/status.h"
#include "strobe/metrics/registry.h"
#include "strobed/stream/engine.h"

namespace strobed::stream {

// Adds the families above for `engine`, which must outlive the registry's use of them.
// ALREADY_EXISTS when one is registered already.
strobe::Status RegisterStreamMetrics(strobe::metrics::Registry& registry,
                                     const StreamEngine& engine);

}  // namespace strobed::stream
