#include "strobed/exporters/prometheus/mapping.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "strobe/metrics/histogram_data.h"
#include "strobed/exporters/prometheus/naming.h"

namespace strobed::exporters::prometheus {

using strobe::snapshot::Label;

void AppendNumberLabelText(std::string* out, double v) {
  char buf[32];
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else if (v == std::trunc(v) && std::fabs(v) < 1e15) {
    auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
    out->append(buf, r.ptr);
  } else {
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, r.ptr);
  }
}

std::string NumberLabelText(double v) {
  std::string s;
  AppendNumberLabelText(&s, v);
  return s;
}

std::string LabelValueText(const event::Value& v) {
  switch (v.type()) {
    case event::ValueType::kString:
      return std::string(v.AsString());
    case event::ValueType::kBool:
      return v.AsBool() ? "true" : "false";
    case event::ValueType::kInt:
      return std::to_string(v.AsInt());
    case event::ValueType::kDouble: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof(buf), v.AsDouble());
      return std::string(buf, r.ptr);
    }
    default:
      return v.ToString();
  }
}

void NormalizeLabels(std::vector<Label>* labels) {
  std::stable_sort(labels->begin(), labels->end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  size_t out = 0;
  for (size_t i = 0; i < labels->size(); ++i) {
    if (out > 0 && (*labels)[out - 1].name == (*labels)[i].name) {
      (*labels)[out - 1].value += ";" + (*labels)[i].value;
      continue;
    }
    if (out != i) (*labels)[out] = std::move((*labels)[i]);
    ++out;
  }
  labels->resize(out);
}

SeriesLabeler::SeriesLabeler(event::KeyTable& keys, bool resource_to_telemetry)
    : keys_(keys), resource_to_telemetry_(resource_to_telemetry) {
  service_name_key_ = keys_.Intern("service.name");
  service_namespace_key_ = keys_.Intern("service.namespace");
  service_instance_key_ = keys_.Intern("service.instance.id");
}

void SeriesLabeler::Reset() noexcept {
  // As a pair (nullptr ↔ no labels): a point without a resource never takes another's job.
  cached_resource_ = nullptr;
  cached_resource_labels_.clear();
}

void SeriesLabeler::ResourceLabels(const event::Resource* r, std::vector<Label>* out,
                                   bool all) const {
  if (r == nullptr) return;
  std::string name, ns, instance;
  bool has_name = false, has_instance = false;
  for (const event::Attribute& a : r->attributes) {
    if (service_name_key_ && a.key == *service_name_key_) {
      name = LabelValueText(a.value);
      has_name = true;
    } else if (service_namespace_key_ && a.key == *service_namespace_key_) {
      ns = LabelValueText(a.value);
    } else if (service_instance_key_ && a.key == *service_instance_key_) {
      instance = LabelValueText(a.value);
      has_instance = true;
    } else if (all) {
      out->push_back({SanitizeLabelName(keys_.Name(a.key)), LabelValueText(a.value)});
    }
  }
  if (has_name) out->push_back({"job", ns.empty() ? name : ns + "/" + name});
  if (has_instance) out->push_back({"instance", instance});
}

const std::string& SeriesLabeler::LabelName(event::KeyId key) {
  constexpr size_t kMaxCachedNames = 4096;
  const std::string_view raw = keys_.Name(key);
  auto it = label_names_.find(key.index);
  if (it != label_names_.end() && it->second.raw == raw) return it->second.sanitized;
  if (it == label_names_.end() && label_names_.size() >= kMaxCachedNames) label_names_.clear();
  CachedName& c = label_names_[key.index];
  c.raw.assign(raw);
  c.sanitized = SanitizeLabelName(raw);
  return c.sanitized;
}

std::vector<Label> SeriesLabeler::Labels(const event::MetricPoint& p, std::string_view reserved) {
  std::vector<Label> labels;
  labels.reserve(p.labels.size() + 2);
  for (const event::Attribute& a : p.labels) {
    std::string name = LabelName(a.key);
    if (name == "job" || name == "instance" || (!reserved.empty() && name == reserved)) {
      name = "exported_" + name;
    }
    labels.push_back({std::move(name), LabelValueText(a.value)});
  }
  if (p.resource != cached_resource_) {
    cached_resource_ = p.resource;
    cached_resource_labels_.clear();
    ResourceLabels(p.resource, &cached_resource_labels_, resource_to_telemetry_);
  }
  const size_t own = labels.size();
  for (const Label& l : cached_resource_labels_) {
    bool taken = false;
    for (size_t i = 0; i < own && !taken; ++i) taken = labels[i].name == l.name;
    if (!taken || l.name == "job" || l.name == "instance") labels.push_back(l);
  }
  NormalizeLabels(&labels);
  return labels;
}

bool SeriesLabeler::TargetInfoLabels(const event::Resource& r, std::vector<Label>* out) const {
  out->clear();
  ResourceLabels(&r, out, true);
  const size_t identifying =
      static_cast<size_t>(std::count_if(out->begin(), out->end(), [](const Label& l) {
        return l.name == "job" || l.name == "instance";
      }));
  if (out->size() == identifying) return false;  // nothing beyond job/instance
  NormalizeLabels(out);
  return true;
}

double ExponentialUpper(int32_t scale, int64_t index) {
  return std::exp2(static_cast<double>(index + 1) * std::ldexp(1.0, -scale));
}

void ExponentialToClassic(int32_t scale, uint64_t zero_count, int32_t positive_offset,
                          std::span<const uint64_t> positive, int32_t negative_offset,
                          std::span<const uint64_t> negative, std::span<const double> bounds,
                          std::vector<uint64_t>* counts) {
  strobe::snapshot::HistogramValue h;
  h.scale = scale;
  h.zero_count = zero_count;
  h.positive_offset = positive_offset;
  h.positive_counts.assign(positive.begin(), positive.end());
  strobe::metrics::FillClassicBuckets(bounds, &h);
  *counts = std::move(h.bucket_counts);
  // Negative bucket i holds [-base^(i+1), -base^i): counted at the first bound >= its lowest
  // value. Most negative first, so the bin only moves forward.
  size_t bin = 0;
  for (size_t i = negative.size(); i-- > 0;) {
    if (negative[i] == 0) continue;
    const double lowest = -ExponentialUpper(scale, negative_offset + static_cast<int64_t>(i));
    while (bin < bounds.size() && bounds[bin] < lowest) ++bin;
    (*counts)[bin] += negative[i];
  }
}

}  // namespace strobed::exporters::prometheus

namespace strobed::exporters {
namespace {

// Durations in milliseconds: 1 ms .. 10 s in 1-2.5-5 steps (Prometheus' client defaults span
// 5 ms .. 10 s), then 30 s and 60 s.
constexpr double kDurationBoundsMs[] = {1,   2.5,  5,    10,   25,    50,    100,  250,
                                        500, 1000, 2500, 5000, 10000, 30000, 60000};

}  // namespace

std::vector<double> DefaultHistogramBounds(std::string_view family, std::string_view unit) {
  std::string_view word = unit;
  if (word.empty()) {
    const size_t underscore = family.rfind('_');
    if (underscore != std::string_view::npos) word = family.substr(underscore + 1);
  }
  std::vector<double> out;
  // Each bound computed with one correctly rounded operation from exact values, so 2.5 ms is
  // the double nearest 0.0025 s (it prints as "0.0025").
  if (word == "seconds") {
    for (double ms : kDurationBoundsMs) out.push_back(ms / 1000);
  } else if (word == "milliseconds") {
    out.assign(std::begin(kDurationBoundsMs), std::end(kDurationBoundsMs));
  } else if (word == "microseconds" || word == "nanoseconds") {
    const double per_ms = word == "microseconds" ? 1e3 : 1e6;
    for (double ms : kDurationBoundsMs) out.push_back(ms * per_ms);
  } else if (word == "bytes") {
    for (int e = 4; e <= 32; e += 2) out.push_back(std::ldexp(1.0, e));  // 16 B .. 4 GiB
  } else {
    for (int e = -3; e <= 9; ++e) out.push_back(e < 0 ? 1 / std::pow(10.0, -e) : std::pow(10.0, e));
  }
  return out;
}

std::vector<double> SelectHistogramBounds(std::span<const HistogramBucketsRule> rules,
                                          std::string_view source_name, const std::string& family,
                                          std::string_view unit) {
  const std::string source(source_name);  // fnmatch wants NUL-terminated names
  for (const HistogramBucketsRule& r : rules) {
    if (fnmatch(r.pattern.c_str(), source.c_str(), 0) == 0 ||
        fnmatch(r.pattern.c_str(), family.c_str(), 0) == 0) {
      return r.bounds;
    }
  }
  return DefaultHistogramBounds(family, unit);
}

}  // namespace strobed::exporters
