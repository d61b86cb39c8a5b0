#include "strobe/metrics/exposition.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "strobe/metrics/labels.h"

namespace strobe::metrics {
namespace {

using internal::FamilyInfo;
using internal::SeriesView;
using snapshot::MetricType;

void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

void AppendDouble(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    AppendInt(out, static_cast<int64_t>(v));
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out->append(buf, static_cast<size_t>(r.ptr - buf));
  }
}

// Unix seconds with nanosecond digits, e.g. 1700000000.123456789 (exact, no double).
void AppendUnixSeconds(std::string* out, uint64_t unix_ns) {
  AppendUint(out, unix_ns / 1'000'000'000);
  const uint64_t frac = unix_ns % 1'000'000'000;
  if (frac == 0) return;
  char buf[10];
  uint64_t f = frac;
  for (int i = 8; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + f % 10);
    f /= 10;
  }
  size_t len = 9;
  while (len > 0 && buf[len - 1] == '0') --len;
  out->push_back('.');
  out->append(buf, len);
}

const char* TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
  }
  return "untyped";
}

bool ExemplarIsValid(const snapshot::Exemplar& e) {
  for (const auto& l : e.labels) {
    if (!IsValidLabelName(l.name) || !IsValidUtf8(l.value)) return false;
  }
  return true;
}

class TextVisitor final : public internal::Visitor {
 public:
  TextVisitor(Format format, std::string* out) : om_(format == Format::kOpenMetrics), out_(out) {}

  void BeginFamily(const FamilyInfo& info) override {
    info_ = &info;
    const bool counter = info.type == MetricType::kCounter;
    // Prometheus text names the counter family by its sample name.
    std::string_view suffix = counter && !om_ ? "_total" : "";
    if (om_) {
      Line("# TYPE ", info.name, suffix);
      out_->append(TypeName(info.type));
      out_->push_back('\n');
      if (!info.unit.empty()) {
        Line("# UNIT ", info.name, suffix);
        out_->append(info.unit);
        out_->push_back('\n');
      }
    }
    if (!info.help.empty()) {
      Line("# HELP ", info.name, suffix);
      AppendEscapedHelp(out_, info.help, om_);
      out_->push_back('\n');
    }
    if (!om_) {
      Line("# TYPE ", info.name, suffix);
      out_->append(TypeName(info.type));
      out_->push_back('\n');
    }
  }

  void Series(const SeriesView& s) override {
    switch (info_->type) {
      case MetricType::kCounter:
        Sample(s, "_total", {});
        Value(s);
        if (om_ && s.exemplar != nullptr) Exemplar(*s.exemplar, 1.0);
        out_->push_back('\n');
        break;
      case MetricType::kGauge:
        Sample(s, "", {});
        Value(s);
        out_->push_back('\n');
        break;
      case MetricType::kHistogram:
        Histogram(s);
        break;
      case MetricType::kSummary:
        Summary(s);
        break;
    }
    if (om_ && info_->type != MetricType::kGauge) {
      Sample(s, "_created", {});
      AppendUnixSeconds(out_, s.created_unix_ns);
      out_->push_back('\n');
    }
  }

 private:
  void Line(std::string_view prefix, std::string_view name, std::string_view suffix) {
    out_->append(prefix);
    out_->append(name);
    out_->append(suffix);
    out_->push_back(' ');
  }

  // `<name><suffix>{labels[,extra]} ` — extra is a pre-rendered `le="..."` or similar.
  void Sample(const SeriesView& s, std::string_view suffix, std::string_view extra) {
    out_->append(info_->name);
    out_->append(suffix);
    if (!s.label_text.empty() || !extra.empty()) {
      out_->push_back('{');
      out_->append(s.label_text);
      if (!s.label_text.empty() && !extra.empty()) out_->push_back(',');
      out_->append(extra);
      out_->push_back('}');
    }
    out_->push_back(' ');
  }

  void Value(const SeriesView& s) {
    switch (s.num_kind) {
      case internal::NumKind::kUnsigned:
        AppendUint(out_, s.uint_value);
        break;
      case internal::NumKind::kSigned:
        AppendInt(out_, s.int_value);
        break;
      case internal::NumKind::kDouble:
        AppendDouble(out_, s.value);
        break;
    }
  }

  void Exemplar(const snapshot::Exemplar& e, double scale) {
    if (!ExemplarIsValid(e)) return;
    out_->append(" # {");
    for (size_t i = 0; i < e.labels.size(); ++i) {
      if (i > 0) out_->push_back(',');
      out_->append(e.labels[i].name);
      out_->append("=\"");
      AppendEscapedLabelValue(out_, e.labels[i].value);
      out_->push_back('"');
    }
    out_->append("} ");
    AppendDouble(out_, e.value * scale);
    if (e.timestamp_unix_ns != 0) {
      out_->push_back(' ');
      AppendUnixSeconds(out_, e.timestamp_unix_ns);
    }
  }

  void Histogram(const SeriesView& s) {
    const snapshot::HistogramValue& h = *s.histogram;
    uint64_t cumulative = 0;
    const double ex_value =
        s.exemplar != nullptr ? s.exemplar->value * h.unit_scale : 0;  // exposed units
    bool ex_done = s.exemplar == nullptr || !om_;
    for (size_t i = 0; i <= h.bounds.size(); ++i) {
      cumulative += i < h.bucket_counts.size() ? h.bucket_counts[i] : 0;
      le_.assign("le=\"");
      if (i < h.bounds.size()) {
        AppendDouble(&le_, h.bounds[i]);
      } else {
        le_.append("+Inf");
      }
      le_.push_back('"');
      Sample(s, "_bucket", le_);
      AppendUint(out_, cumulative);
      if (!ex_done && (i == h.bounds.size() || ex_value <= h.bounds[i])) {
        Exemplar(*s.exemplar, h.unit_scale);
        ex_done = true;
      }
      out_->push_back('\n');
    }
    SumCount(s, h);
  }

  void Summary(const SeriesView& s) {
    const snapshot::HistogramValue& h = *s.histogram;
    for (const auto& q : h.quantiles) {
      le_.assign("quantile=\"");
      AppendDouble(&le_, q.q);
      le_.push_back('"');
      Sample(s, "", le_);
      AppendDouble(out_, q.value);
      out_->push_back('\n');
    }
    SumCount(s, h);
  }

  void SumCount(const SeriesView& s, const snapshot::HistogramValue& h) {
    Sample(s, "_sum", {});
    AppendDouble(out_, h.sum * h.unit_scale);
    out_->push_back('\n');
    Sample(s, "_count", {});
    AppendUint(out_, h.count);
    out_->push_back('\n');
  }

  const bool om_;
  std::string* out_;
  const FamilyInfo* info_ = nullptr;
  std::string le_;
};

double QValue(std::string_view params) {
  // params: "; version=1.0.0; q=0.5" (already split off the media type)
  size_t pos = 0;
  while ((pos = params.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < params.size() && params[pos] == ' ') ++pos;
    if (params.substr(pos).starts_with("q=")) {
      double q = 0;
      const char* b = params.data() + pos + 2;
      auto r = std::from_chars(b, params.data() + params.size(), q);
      if (r.ec != std::errc()) return 0;
      return q;
    }
  }
  return 1.0;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Negotiation NegotiateFormat(std::string_view accept) {
  double om_q = -1;
  double text_q = -1;
  size_t start = 0;
  while (start <= accept.size()) {
    size_t end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = Trim(accept.substr(start, end - start));
    start = end + 1;
    const size_t semi = item.find(';');
    const std::string_view type = Trim(item.substr(0, semi));
    const std::string_view params = semi == std::string_view::npos ? "" : item.substr(semi);
    const double q = QValue(params);
    if (type == "application/openmetrics-text") {
      const bool version_ok = params.find("version=") == std::string_view::npos ||
                              params.find("version=1.0.0") != std::string_view::npos ||
                              params.find("version=0.0.1") != std::string_view::npos;
      if (version_ok) om_q = std::max(om_q, q);
    } else if (type == "text/plain" || type == "*/*" || type == "text/*") {
      text_q = std::max(text_q, q);
    }
    if (end == accept.size()) break;
  }
  if (om_q > 0 && om_q >= text_q) {
    return {Format::kOpenMetrics, kOpenMetricsContentType};
  }
  return {Format::kPrometheusText, kPrometheusTextContentType};
}

std::string_view ContentType(Format format) {
  return format == Format::kOpenMetrics ? kOpenMetricsContentType : kPrometheusTextContentType;
}

TextRenderer::TextRenderer() : scratch_(std::make_unique<internal::VisitScratch>()) {}
TextRenderer::~TextRenderer() = default;

void TextRenderer::Render(const Registry& registry, Format format, std::string* out) {
  const Registry* one[] = {&registry};
  Render(one, format, out);
}

void TextRenderer::Render(std::span<const Registry* const> registries, Format format,
                          std::string* out) {
  out->clear();
  TextVisitor visitor(format, out);
  for (const Registry* r : registries) r->Visit(visitor, *scratch_);
  if (format == Format::kOpenMetrics) out->append("# EOF\n");
}

void TextRenderer::Render(const snapshot::Snapshot& snap, Format format, std::string* out) {
  out->clear();
  TextVisitor visitor(format, out);
  FamilyInfo info;
  std::string label_text;
  for (const snapshot::Family& f : snap.families) {
    info.name = f.name;
    info.help = f.help;
    info.unit = f.unit;
    info.type = f.type;
    info.label_names = f.label_names;
    visitor.BeginFamily(info);
    for (const snapshot::Point& p : f.points) {
      internal::RenderLabelText(p.labels, &label_text);
      SeriesView v;
      v.label_text = label_text;
      v.labels = &p.labels;
      // Counter values that are whole numbers print as integers either way (AppendDouble).
      v.value = p.value;
      v.histogram = &p.histogram;
      v.created_unix_ns = p.created_unix_ns;
      v.exemplar = p.has_exemplar ? &p.exemplar : nullptr;
      visitor.Series(v);
    }
  }
  if (format == Format::kOpenMetrics) out->append("# EOF\n");
}

std::string RenderText(const Registry& registry, Format format) {
  std::string out;
  TextRenderer().Render(registry, format, &out);
  return out;
}

}  // namespace strobe::metrics
