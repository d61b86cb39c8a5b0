#include "strobed/exporters/debug/debug.h"

#include <cerrno>
#include <cstring>
#include <memory>

#include "strobe/base/check.h"

namespace strobed::exporters {

namespace {

std::string Attrs(std::span<const event::Attribute> attrs) {
  std::string out = "{";
  const event::KeyTable& keys = event::KeyTable::Global();
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (i != 0) out += ", ";
    out += std::string(keys.Name(attrs[i].key)) + "=" + attrs[i].value.ToString();
  }
  return out + "}";
}

const char* StatusName(event::StatusCode c) {
  switch (c) {
    case event::StatusCode::kUnset:
      return "unset";
    case event::StatusCode::kOk:
      return "ok";
    case event::StatusCode::kError:
      return "error";
  }
  return "?";
}

const char* MetricTypeName(event::MetricType t) {
  switch (t) {
    case event::MetricType::kGauge:
      return "gauge";
    case event::MetricType::kSum:
      return "sum";
    case event::MetricType::kHistogram:
      return "histogram";
    case event::MetricType::kExponentialHistogram:
      return "exponential_histogram";
    case event::MetricType::kSummary:
      return "summary";
  }
  return "?";
}

}  // namespace

DebugExporter::DebugExporter(DebugVerbosity verbosity, std::FILE* out, bool owns, std::string name)
    : verbosity_(verbosity), out_(out), owns_(owns), name_(std::move(name)) {}

DebugExporter::~DebugExporter() {
  if (owns_ && out_ != nullptr) std::fclose(out_);
}

std::string DebugExporter::Format(const event::Batch& batch, DebugVerbosity verbosity,
                                  const std::string& name) {
  std::string out = name + ": " + std::to_string(batch.spans().size()) + " spans, " +
                    std::to_string(batch.metrics().size()) + " metric points, " +
                    std::to_string(batch.logs().size()) + " log records\n";
  if (verbosity == DebugVerbosity::kBasic) return out;
  bool detailed = verbosity == DebugVerbosity::kDetailed;
  for (const event::Span& s : batch.spans()) {
    out += "  span " + s.trace_id.ToHex() + "/" + s.span_id.ToHex() + " '" + std::string(s.name) +
           "' " + std::to_string(s.DurationNs()) + "ns status=" + StatusName(s.status.code);
    if (detailed) {
      out += " parent=" + s.parent_span_id.ToHex() +
             " kind=" + std::to_string(static_cast<int>(s.kind)) +
             " start=" + std::to_string(s.start_ns) + " attrs=" + Attrs(s.attributes) +
             " events=" + std::to_string(s.events.size()) +
             " links=" + std::to_string(s.links.size());
      if (s.resource != nullptr) out += " resource=" + Attrs(s.resource->attributes);
    }
    out += "\n";
  }
  for (const event::MetricPoint& m : batch.metrics()) {
    out += "  metric " + std::string(m.name) + " " + MetricTypeName(m.type);
    if (m.type == event::MetricType::kGauge || m.type == event::MetricType::kSum) {
      out += " value=" + event::Value::Double(m.Number()).ToString();
    } else if (m.histogram != nullptr) {
      out += " count=" + std::to_string(m.histogram->count) +
             " buckets=" + std::to_string(m.histogram->bucket_counts.size());
    } else if (m.exp_histogram != nullptr) {
      out += " count=" + std::to_string(m.exp_histogram->count) +
             " scale=" + std::to_string(m.exp_histogram->scale);
    } else if (m.summary != nullptr) {
      out += " count=" + std::to_string(m.summary->count) +
             " sum=" + event::Value::Double(m.summary->sum).ToString() +
             " quantiles=" + std::to_string(m.summary->quantiles.size());
    }
    out += " labels=" + Attrs(m.labels);
    if (detailed) out += " time=" + std::to_string(m.time_ns);
    out += "\n";
  }
  for (const event::LogRecord& l : batch.logs()) {
    out += "  log severity=" + std::to_string(l.severity_number) + " body=" + l.body.ToString();
    if (detailed) out += " attrs=" + Attrs(l.attributes) + " time=" + std::to_string(l.time_ns);
    out += "\n";
  }
  return out;
}

pipeline::ExportResult DebugExporter::Export(const event::Batch& batch) noexcept {
  try {
    std::string text = Format(batch, verbosity_, name_);
    if (std::fwrite(text.data(), 1, text.size(), out_) != text.size()) {
      return pipeline::ExportResult::kFailed;
    }
  } catch (...) {  // formatting allocates; allocation failure is the only throw
    return pipeline::ExportResult::kFailed;
  }
  return pipeline::ExportResult::kOk;
}

strobe::Status DebugExporter::Flush(std::chrono::milliseconds deadline) {
  (void)deadline;
  std::fflush(out_);
  return strobe::OkStatus();
}

strobe::Status DebugExporter::Shutdown(std::chrono::milliseconds deadline) {
  return Flush(deadline);
}

void RegisterDebugExporter(pipeline::PluginRegistry& registry) {
  using pipeline::OptionType;
  STROBE_CHECK(registry
                   .AddExporter({
                       .type = "debug",
                       .description = "Writes batches as text (summary, one line per event, or "
                                      "every field) to stderr, stdout or a file.",
                       .signals = event::kSignalAll,
                       .options =
                           {
                               {"verbosity",
                                OptionType::kString,
                                "basic",
                                "how much of each event is printed",
                                {.choices = {"basic", "normal", "detailed"}}},
                               {"output", OptionType::kString, "stderr",
                                "stderr, stdout, or a file path (appended)"},
                           },
                       .create = [](const pipeline::ComponentContext& ctx)
                           -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                         std::string v = ctx.options.GetString("verbosity");
                         DebugVerbosity verbosity;
                         if (v == "basic") {
                           verbosity = DebugVerbosity::kBasic;
                         } else if (v == "normal") {
                           verbosity = DebugVerbosity::kNormal;
                         } else {  // "detailed": the option's choices allow nothing else
                           verbosity = DebugVerbosity::kDetailed;
                         }
                         std::string output = ctx.options.GetString("output");
                         std::FILE* out = nullptr;
                         bool owns = false;
                         if (output == "stderr") {
                           out = stderr;
                         } else if (output == "stdout") {
                           out = stdout;
                         } else {
                           out = std::fopen(output.c_str(), "a");
                           if (out == nullptr) {
                             return strobe::InvalidArgument(ctx.options.Where("output") +
                                                            ": cannot open '" + output +
                                                            "': " + std::strerror(errno));
                           }
                           owns = true;
                         }
                         return std::unique_ptr<pipeline::Exporter>(std::make_unique<DebugExporter>(
                             verbosity, out, owns, ctx.id.ToString()));
                       },
                   })
                   .ok());
}

}  // namespace strobed::exporters
