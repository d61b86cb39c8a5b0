#include "strobe/metrics/exposition.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "strobe/metrics/labels.h"

namespace strobe::metrics {
namespace {

using internal::FamilyInfo;
using internal::SeriesView;
using snapshot::MetricType;

// Appends into a std::string through a raw pointer: std::string::push_back/append are out of
// line in libstdc++ and were ~10% of a 10k-series render. The string is grown to its capacity
// while writing and cut to the written length by Finish().
class Writer {
 public:
  explicit Writer(std::string* s) : s_(s) {
    s_->resize(std::max<size_t>(s_->capacity(), 4096));
    data_ = s_->data();
    cap_ = s_->size();
  }
  void Finish() { s_->resize(pos_); }

  void Put(char c) {
    Ensure(1);
    data_[pos_++] = c;
  }
  void Append(std::string_view v) {
    if (v.empty()) return;  // data() may be null; memcpy must not see it
    Ensure(v.size());
    std::memcpy(data_ + pos_, v.data(), v.size());
    pos_ += v.size();
  }
  void AppendUint(uint64_t v) {
    Ensure(24);
    pos_ = static_cast<size_t>(std::to_chars(data_ + pos_, data_ + pos_ + 24, v).ptr - data_);
  }
  void AppendInt(int64_t v) {
    Ensure(24);
    pos_ = static_cast<size_t>(std::to_chars(data_ + pos_, data_ + pos_ + 24, v).ptr - data_);
  }
  void AppendDouble(double v) {
    if (std::isnan(v)) {
      Append("NaN");
    } else if (std::isinf(v)) {
      Append(v > 0 ? "+Inf" : "-Inf");
    } else if (v == std::trunc(v) && std::fabs(v) < 1e15) {
      AppendInt(static_cast<int64_t>(v));
    } else {
      Ensure(32);
      pos_ = static_cast<size_t>(std::to_chars(data_ + pos_, data_ + pos_ + 32, v).ptr - data_);
    }
  }
  // Unix seconds with nanosecond digits, e.g. 1700000000.123456789 (exact, no double).
  void AppendUnixSeconds(uint64_t unix_ns) {
    AppendUint(unix_ns / 1'000'000'000);
    uint64_t frac = unix_ns % 1'000'000'000;
    if (frac == 0) return;
    char buf[9];
    for (int i = 8; i >= 0; --i) {
      buf[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    size_t len = 9;
    while (len > 0 && buf[len - 1] == '0') --len;
    Put('.');
    Append(std::string_view(buf, len));
  }

 private:
  void Ensure(size_t n) {
    if (__builtin_expect(pos_ + n > cap_, 0)) Grow(n);
  }
  void Grow(size_t n) {
    s_->resize(std::max(cap_ * 2, pos_ + n));
    data_ = s_->data();
    cap_ = s_->size();
  }

  std::string* s_;
  char* data_;
  size_t cap_;
  size_t pos_ = 0;
};

void AppendDoubleTo(std::string* out, double v) {
  std::string tmp;
  Writer w(&tmp);
  w.AppendDouble(v);
  w.Finish();
  out->append(tmp);
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
  TextVisitor(Format format, Writer* out) : om_(format == Format::kOpenMetrics), out_(out) {}

  void BeginFamily(const FamilyInfo& info) override {
    info_ = &info;
    const bool counter = info.type == MetricType::kCounter;
    // Prometheus text names the counter family by its sample name.
    std::string_view suffix = counter && !om_ ? "_total" : "";
    if (om_) {
      Line("# TYPE ", info.name, suffix);
      out_->Append(TypeName(info.type));
      out_->Put('\n');
      if (!info.unit.empty()) {
        Line("# UNIT ", info.name, suffix);
        out_->Append(info.unit);
        out_->Put('\n');
      }
    }
    if (!info.help.empty()) {
      Line("# HELP ", info.name, suffix);
      escaped_.clear();
      AppendEscapedHelp(&escaped_, info.help, om_);
      out_->Append(escaped_);
      out_->Put('\n');
    }
    if (!om_) {
      Line("# TYPE ", info.name, suffix);
      out_->Append(TypeName(info.type));
      out_->Put('\n');
    }
  }

  void Series(const SeriesView& s) override {
    switch (info_->type) {
      case MetricType::kCounter:
        Sample(s, "_total", {});
        Value(s);
        if (om_ && s.exemplar != nullptr) Exemplar(*s.exemplar, 1.0);
        out_->Put('\n');
        break;
      case MetricType::kGauge:
        Sample(s, "", {});
        Value(s);
        out_->Put('\n');
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
      out_->AppendUnixSeconds(s.created_unix_ns);
      out_->Put('\n');
    }
  }

 private:
  void Line(std::string_view prefix, std::string_view name, std::string_view suffix) {
    out_->Append(prefix);
    out_->Append(name);
    out_->Append(suffix);
    out_->Put(' ');
  }

  // `<name><suffix>{labels[,extra]} ` — extra is a pre-rendered `le="..."` or similar.
  void Sample(const SeriesView& s, std::string_view suffix, std::string_view extra) {
    out_->Append(info_->name);
    out_->Append(suffix);
    if (!s.label_text.empty() || !extra.empty()) {
      out_->Put('{');
      out_->Append(s.label_text);
      if (!s.label_text.empty() && !extra.empty()) out_->Put(',');
      out_->Append(extra);
      out_->Put('}');
    }
    out_->Put(' ');
  }

  void Value(const SeriesView& s) {
    switch (s.num_kind) {
      case internal::NumKind::kUnsigned:
        out_->AppendUint(s.uint_value);
        break;
      case internal::NumKind::kSigned:
        out_->AppendInt(s.int_value);
        break;
      case internal::NumKind::kDouble:
        out_->AppendDouble(s.value);
        break;
    }
  }

  void Exemplar(const snapshot::Exemplar& e, double scale) {
    if (!ExemplarIsValid(e)) return;
    out_->Append(" # {");
    for (size_t i = 0; i < e.labels.size(); ++i) {
      if (i > 0) out_->Put(',');
      out_->Append(e.labels[i].name);
      out_->Append("=\"");
      escaped_.clear();
      AppendEscapedLabelValue(&escaped_, e.labels[i].value);
      out_->Append(escaped_);
      out_->Put('"');
    }
    out_->Append("} ");
    out_->AppendDouble(e.value * scale);
    if (e.timestamp_unix_ns != 0) {
      out_->Put(' ');
      out_->AppendUnixSeconds(e.timestamp_unix_ns);
    }
  }

  // `le="<bound>"` strings, rendered once per distinct bounds vector (families share them).
  const std::vector<std::string>& LeLabels(const std::vector<double>& bounds) {
    if (bounds != le_bounds_ || le_labels_.empty()) {
      le_bounds_ = bounds;
      le_labels_.clear();
      for (size_t i = 0; i <= bounds.size(); ++i) {
        std::string& le = le_labels_.emplace_back("le=\"");
        if (i < bounds.size()) {
          AppendDoubleTo(&le, bounds[i]);
        } else {
          le.append("+Inf");
        }
        le.push_back('"');
      }
    }
    return le_labels_;
  }

  void Histogram(const SeriesView& s) {
    const snapshot::HistogramValue& h = *s.histogram;
    const std::vector<std::string>& le = LeLabels(h.bounds);
    uint64_t cumulative = 0;
    const double ex_value =
        s.exemplar != nullptr ? s.exemplar->value * h.unit_scale : 0;  // exposed units
    bool ex_done = s.exemplar == nullptr || !om_;
    for (size_t i = 0; i <= h.bounds.size(); ++i) {
      cumulative += i < h.bucket_counts.size() ? h.bucket_counts[i] : 0;
      Sample(s, "_bucket", le[i]);
      out_->AppendUint(cumulative);
      if (!ex_done && (i == h.bounds.size() || ex_value <= h.bounds[i])) {
        Exemplar(*s.exemplar, h.unit_scale);
        ex_done = true;
      }
      out_->Put('\n');
    }
    SumCount(s, h);
  }

  void Summary(const SeriesView& s) {
    const snapshot::HistogramValue& h = *s.histogram;
    for (const auto& q : h.quantiles) {
      le_.assign("quantile=\"");
      AppendDoubleTo(&le_, q.q);
      le_.push_back('"');
      Sample(s, "", le_);
      out_->AppendDouble(q.value);
      out_->Put('\n');
    }
    SumCount(s, h);
  }

  void SumCount(const SeriesView& s, const snapshot::HistogramValue& h) {
    Sample(s, "_sum", {});
    out_->AppendDouble(h.sum * h.unit_scale);
    out_->Put('\n');
    Sample(s, "_count", {});
    out_->AppendUint(h.count);
    out_->Put('\n');
  }

  const bool om_;
  Writer* out_;
  const FamilyInfo* info_ = nullptr;
  std::string le_;
  std::string escaped_;
  std::vector<double> le_bounds_;
  std::vector<std::string> le_labels_;
};

// The samples TextVisitor writes in Prometheus text, handed over as values instead of text
// (VisitExposedSamples). Keep the two in step: same suffixes, same `le`/`quantile` rendering
// (AppendDoubleTo), same cumulative buckets and exposed-unit sums.
class SampleVisitor final : public internal::Visitor {
 public:
  explicit SampleVisitor(const ExposedSampleFn* fn) : fn_(fn) {}

  void BeginFamily(const FamilyInfo& info) override {
    info_ = &info;
    name_.assign(info.name);
    base_len_ = name_.size();
  }

  void Series(const SeriesView& s) override {
    labels_ = s.labels != nullptr ? s.labels : &empty_;
    switch (info_->type) {
      case MetricType::kCounter:
        Emit("_total", {}, {}, NumberOf(s));
        break;
      case MetricType::kGauge:
        Emit("", {}, {}, NumberOf(s));
        break;
      case MetricType::kHistogram: {
        const snapshot::HistogramValue& h = *s.histogram;
        uint64_t cumulative = 0;
        for (size_t i = 0; i <= h.bounds.size(); ++i) {
          cumulative += i < h.bucket_counts.size() ? h.bucket_counts[i] : 0;
          bound_.clear();
          if (i < h.bounds.size()) {
            AppendDoubleTo(&bound_, h.bounds[i]);
          } else {
            bound_.assign("+Inf");
          }
          Emit("_bucket", "le", bound_, static_cast<double>(cumulative));
        }
        SumCount(h);
        break;
      }
      case MetricType::kSummary: {
        const snapshot::HistogramValue& h = *s.histogram;
        for (const auto& q : h.quantiles) {
          bound_.clear();
          AppendDoubleTo(&bound_, q.q);
          Emit("", "quantile", bound_, q.value);
        }
        SumCount(h);
        break;
      }
    }
  }

 private:
  static double NumberOf(const SeriesView& s) {
    switch (s.num_kind) {
      case internal::NumKind::kUnsigned:
        return static_cast<double>(s.uint_value);
      case internal::NumKind::kSigned:
        return static_cast<double>(s.int_value);
      case internal::NumKind::kDouble:
        break;
    }
    return s.value;
  }
  void SumCount(const snapshot::HistogramValue& h) {
    Emit("_sum", {}, {}, h.sum * h.unit_scale);
    Emit("_count", {}, {}, static_cast<double>(h.count),
         info_->type == MetricType::kHistogram ? &h : nullptr);
  }
  void Emit(std::string_view suffix, std::string_view extra_name, std::string_view extra_value,
            double value, const snapshot::HistogramValue* histogram = nullptr) {
    name_.resize(base_len_);
    name_.append(suffix);
    ExposedSample sample;
    sample.name = name_;
    sample.labels = labels_;
    sample.extra_name = extra_name;
    sample.extra_value = extra_value;
    sample.value = value;
    sample.histogram = histogram;
    if (histogram != nullptr) sample.family_name = std::string_view(name_).substr(0, base_len_);
    (*fn_)(sample);
  }

  const ExposedSampleFn* fn_;
  const FamilyInfo* info_ = nullptr;
  const std::vector<snapshot::Label>* labels_ = nullptr;
  const std::vector<snapshot::Label> empty_;
  std::string name_;
  size_t base_len_ = 0;
  std::string bound_;
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
  Writer writer(out);
  TextVisitor visitor(format, &writer);
  for (const Registry* r : registries) r->Visit(visitor, *scratch_);
  if (format == Format::kOpenMetrics) writer.Append("# EOF\n");
  writer.Finish();
}

void TextRenderer::Render(const snapshot::Snapshot& snap, Format format, std::string* out) {
  Writer writer(out);
  TextVisitor visitor(format, &writer);
  std::string label_text;
  for (const snapshot::Family& f : snap.families) {
    const FamilyInfo info = internal::InfoOf(f);
    visitor.BeginFamily(info);
    for (const snapshot::Point& p : f.points) {
      internal::RenderLabelText(p.labels, &label_text);
      visitor.Series(internal::ViewOf(p, label_text));
    }
  }
  if (format == Format::kOpenMetrics) writer.Append("# EOF\n");
  writer.Finish();
}

std::string RenderText(const Registry& registry, Format format) {
  std::string out;
  TextRenderer().Render(registry, format, &out);
  return out;
}

void VisitExposedSamples(const Registry& registry, const ExposedSampleFn& fn) {
  SampleVisitor visitor(&fn);
  internal::VisitScratch scratch;
  registry.Visit(visitor, scratch);
}

void VisitExposedSamples(std::span<const snapshot::Family> families, const ExposedSampleFn& fn) {
  SampleVisitor visitor(&fn);
  std::string label_text;
  for (const snapshot::Family& f : families) {
    const FamilyInfo info = internal::InfoOf(f);
    visitor.BeginFamily(info);
    for (const snapshot::Point& p : f.points) {
      internal::RenderLabelText(p.labels, &label_text);
      visitor.Series(internal::ViewOf(p, label_text));
    }
  }
}

}  // namespace strobe::metrics
