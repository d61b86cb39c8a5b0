// Fuzzes the prometheus exporter with what crosses the network: OTLP metrics request bodies
// (first byte even: protobuf, odd: JSON) are decoded, exported twice (delta merges) into one
// long-lived exporter (series, summaries and exponential histograms accumulate across inputs,
// expiry runs as the injected clock advances), then the registry is rendered in both text
// formats and collected. Any input must be kept or dropped and counted — never crash, hang,
// allocate without bound or read out of bounds.

#include <cstdint>
#include <string>
#include <string_view>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/clock.h"
#include "strobed/event/batch.h"
#include "strobed/exporters/prometheus/prometheus.h"
#include "strobed/otlp/otlp_decode.h"

namespace {

struct State {
  State() {
    strobed::exporters::PrometheusExporterOptions o;
    o.metrics = &registry;
    o.clock = &clock;
    o.max_series = 200;
    o.metric_expiration = std::chrono::seconds(10);
    exporter = std::move(strobed::exporters::PrometheusExporter::Create(o)).value();
  }
  strobe::metrics::Registry registry;
  strobed::base::ManualMonotonicClock clock;
  std::unique_ptr<strobed::exporters::PrometheusExporter> exporter;
  strobe::metrics::TextRenderer renderer;
  std::string text;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static State* state = new State();
  if (size == 0) return 0;
  const auto encoding =
      (data[0] & 1) != 0 ? strobed::otlp::Encoding::kJson : strobed::otlp::Encoding::kProtobuf;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  strobed::event::Batch batch(nullptr, 4096, 1 << 20);
  auto r = strobed::otlp::Decode(strobed::otlp::Signal::kMetrics, encoding, body, batch);
  if (r.ok()) {
    (void)state->exporter->Export(batch);
    (void)state->exporter->Export(batch);
  }
  state->clock.AdvanceNs(1'000'000'000);
  state->renderer.Render(state->registry, strobe::metrics::Format::kPrometheusText, &state->text);
  state->renderer.Render(state->registry, strobe::metrics::Format::kOpenMetrics, &state->text);
  (void)state->registry.Collect();
  return 0;
}
