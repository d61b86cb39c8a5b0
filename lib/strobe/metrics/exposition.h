#pragma once

// Text exposition: Prometheus text format 0.0.4 and OpenMetrics 1.0, chosen by the HTTP
// Accept header as Prometheus negotiates it.
//
//   Negotiation n = NegotiateFormat(request["Accept"]);
//   TextRenderer renderer;                      // keep one per server thread: buffers reused
//   renderer.Render(Registry::Default(), n.format, &body);
//   response.set("Content-Type", n.content_type);
//
// What each format gets:
//   both        # HELP, # TYPE; counters as <base>_total; histograms as _bucket{le} (cumulative,
//               +Inf last), _sum, _count; summaries as {quantile="0.5"} ..., _sum, _count;
//               label values escaped (\\, \", \n); numbers via std::to_chars (shortest
//               round-trip), integers exactly, NaN/+Inf/-Inf spelled as Prometheus does.
//   OpenMetrics # UNIT, <base>_created (Unix seconds), exemplars on counters and histogram
//               buckets (`# {trace_id="..."} value timestamp`), `# EOF` at the end.
// Histogram values are exposed multiplied by HistogramOptions::unit_scale.
//
// Families with no series are rendered with their HELP/TYPE lines only. Rendering several
// registries into one page is the caller's choice; names must then not repeat across them.
//
// Cost: ~0.1 us per counter line; no allocation per series once the buffers have grown.
// Reading never blocks writers (see registry.h).
//
// Thread class: the free functions are thread-safe; a TextRenderer is thread-compatible.

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/metrics/internal/family_base.h"
#include "strobe/metrics/registry.h"
#include "strobe/snapshot/snapshot.h"

namespace strobe::metrics {

enum class Format : uint8_t {
  kPrometheusText,  // text/plain; version=0.0.4
  kOpenMetrics,     // application/openmetrics-text; version=1.0.0
};

inline constexpr std::string_view kPrometheusTextContentType =
    "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

struct Negotiation {
  Format format = Format::kPrometheusText;
  std::string_view content_type = kPrometheusTextContentType;
};

// Picks the format for an Accept header: OpenMetrics when
// `application/openmetrics-text` (version 1.0.0, 0.0.1 or none) has a q-value above 0 and
// at least that of text/plain; otherwise (empty header, `*/*`, text/plain, anything else)
// Prometheus text. Never fails: a malformed header falls back to Prometheus text.
Negotiation NegotiateFormat(std::string_view accept_header);
std::string_view ContentType(Format format);

class TextRenderer {
 public:
  TextRenderer();
  ~TextRenderer();

  // Replaces *out with the exposition of the registries, in order (capacity reused).
  void Render(const Registry& registry, Format format, std::string* out);
  void Render(std::span<const Registry* const> registries, Format format, std::string* out);
  // Renders a snapshot (e.g. merged from several sources by the daemon).
  void Render(const snapshot::Snapshot& snapshot, Format format, std::string* out);

 private:
  std::unique_ptr<internal::VisitScratch> scratch_;
};

// Convenience: a fresh renderer and string.
std::string RenderText(const Registry& registry, Format format);

// One sample line of the Prometheus text exposition (format 0.0.4), without the text: the
// series a Prometheus scrape of Render() stores. Used by the daemon's rule history so rules
// see the same names as /metrics (one naming code, here).
struct ExposedSample {
  std::string_view name;                       // `<base>_total`, `<base>_bucket`, `<base>`
  const std::vector<snapshot::Label>* labels;  // the point's labels, family order
  std::string_view extra_name;                 // "le", "quantile" or empty
  std::string_view extra_value;                // "0.25", "+Inf", as rendered
  double value = 0;
  // Set on the `_count` line of a histogram family (not summaries): the whole histogram, for
  // consumers that keep its exponential buckets (the daemon's native histogram queries), and
  // the family's base name (`name` without `_count`).
  const snapshot::HistogramValue* histogram = nullptr;
  std::string_view family_name;
};
using ExposedSampleFn = std::function<void(const ExposedSample&)>;

// Calls `fn` for every sample line Render(registry, kPrometheusText) writes, in the same
// order and with the same names, label values and values (histograms in exposed units,
// buckets cumulative; families skipped by the exposition are skipped). Holds the registry's
// collection locks while calling `fn`, which must not call into the registry.
void VisitExposedSamples(const Registry& registry, const ExposedSampleFn& fn);
// The same for collected families (what Render(snapshot) writes).
void VisitExposedSamples(std::span<const snapshot::Family> families, const ExposedSampleFn& fn);

}  // namespace strobe::metrics
