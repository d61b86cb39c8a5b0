#include "strobed/stream/cep.h"

#include <algorithm>

#include "strobed/base/yaml_util.h"
#include "strobed/stream/aggregation.h"

namespace strobed::stream {
namespace {

strobe::Status Err(std::string_view file, const YAML::Node& node, const std::string& msg) {
  return strobe::InvalidArgument(base::YamlWhere(file, node) + ": " + msg);
}

}  // namespace

std::string_view CepTypeName(CepType type) {
  switch (type) {
    case CepType::kThreshold:
      return "threshold";
    case CepType::kSequence:
      return "sequence";
    case CepType::kAbsence:
      return "absence";
    case CepType::kRateOfChange:
      return "rate_of_change";
  }
  return "?";
}

strobe::Result<CepRule> CepRule::Parse(const YAML::Node& node, std::string_view file,
                                       event::KeyTable& keys) {
  if (!node.IsMap()) return Err(file, node, "cep rule: expected a map");
  CepRule r;
  r.file_line = base::YamlWhere(file, node);
  if (!node["name"] || !node["name"].IsScalar()) return Err(file, node, "cep rule: missing name");
  r.name = node["name"].Scalar();
  const YAML::Node type = node["type"];
  const std::string t = type && type.IsScalar() ? type.Scalar() : "";
  if (t == "threshold") {
    r.type = CepType::kThreshold;
  } else if (t == "sequence") {
    r.type = CepType::kSequence;
  } else if (t == "absence") {
    r.type = CepType::kAbsence;
  } else if (t == "rate_of_change") {
    r.type = CepType::kRateOfChange;
  } else {
    return Err(
        file, type ? type : node,
        "cep rule '" + r.name + "': type must be threshold, sequence, absence or rate_of_change");
  }
  auto pred = [&](const char* key, Predicate& out, bool required) -> strobe::Status {
    const YAML::Node n = node[key];
    if (!n) {
      if (required) return Err(file, node, "cep rule '" + r.name + "': missing '" + key + "'");
      return strobe::OkStatus();
    }
    auto p = Predicate::Parse(n, file, keys);
    if (!p.ok()) return p.status();
    out = std::move(*p);
    return strobe::OkStatus();
  };
  auto duration = [&](const char* key, uint64_t& out) -> strobe::Status {
    const YAML::Node n = node[key];
    if (!n) return strobe::OkStatus();
    auto d = base::ParseDurationNode(n, file, key);
    if (!d.ok()) return d.status();
    if (*d == 0) return Err(file, n, std::string(key) + ": must be > 0");
    out = *d;
    return strobe::OkStatus();
  };
  static const char* const kKnown[] = {
      "name",      "type",     "match",    "first",    "then",         "missing",
      "within",    "count",    "interval", "change",   "direction",    "of",
      "min_count", "group_by", "same_key", "severity", "idle_timeout", "max_keys"};
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown)) {
      return Err(file, kv.first, "cep rule '" + r.name + "': unknown key '" + k + "'");
    }
  }
  switch (r.type) {
    case CepType::kThreshold:
    case CepType::kRateOfChange:
      STROBE_RETURN_IF_ERROR(pred("match", r.first, true));
      break;
    case CepType::kSequence:
      STROBE_RETURN_IF_ERROR(pred("first", r.first, true));
      STROBE_RETURN_IF_ERROR(pred("then", r.second, true));
      break;
    case CepType::kAbsence:
      STROBE_RETURN_IF_ERROR(pred("first", r.first, true));
      STROBE_RETURN_IF_ERROR(pred("missing", r.second, true));
      break;
  }
  STROBE_RETURN_IF_ERROR(duration("within", r.within_ns));
  STROBE_RETURN_IF_ERROR(duration("interval", r.interval_ns));
  STROBE_RETURN_IF_ERROR(duration("idle_timeout", r.idle_timeout_ns));
  if (const YAML::Node n = node["count"]) {
    int64_t c = 0;
    if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, c) || c < 1 || c > 100000) {
      return Err(file, n, "count: expected an integer in [1, 100000]");
    }
    r.count = static_cast<uint64_t>(c);
  }
  if (const YAML::Node n = node["min_count"]) {
    int64_t c = 0;
    if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, c) || c < 0) {
      return Err(file, n, "min_count: expected a non-negative integer");
    }
    r.min_count = static_cast<uint64_t>(c);
  }
  if (const YAML::Node n = node["max_keys"]) {
    int64_t c = 0;
    if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, c) || c < 1) {
      return Err(file, n, "max_keys: expected a positive integer");
    }
    r.max_keys = static_cast<std::size_t>(c);
  }
  if (const YAML::Node n = node["change"]) {
    auto v = n.IsScalar() ? ParseNumberWithUnit(n.Scalar())
                          : strobe::Result<double>(strobe::InvalidArgument("x"));
    if (!v.ok() || *v <= 0) return Err(file, n, "change: expected a positive number or N%");
    r.change = *v;
  }
  if (const YAML::Node n = node["direction"]) {
    const std::string d = n.IsScalar() ? n.Scalar() : "";
    if (d == "up") {
      r.direction = ChangeDirection::kUp;
    } else if (d == "down") {
      r.direction = ChangeDirection::kDown;
    } else if (d == "any") {
      r.direction = ChangeDirection::kAny;
    } else {
      return Err(file, n, "direction: expected up, down or any");
    }
  }
  if (const YAML::Node n = node["of"]) {
    const std::string d = n.IsScalar() ? n.Scalar() : "";
    if (d == "count") {
      r.of_mean = false;
    } else if (d == "mean") {
      r.of_mean = true;
    } else {
      return Err(file, n, "of: expected count or mean");
    }
  }
  if (const YAML::Node n = node["severity"]) r.severity = n.as<std::string>();
  const YAML::Node group = node["group_by"] ? node["group_by"] : node["same_key"];
  if (group) {
    if (!group.IsSequence()) return Err(file, group, "group_by: expected a list of attributes");
    for (const auto& g : group) {
      auto id = keys.Intern(g.as<std::string>());
      if (!id) return Err(file, g, "group_by: attribute key table is full");
      r.key_names.push_back(g.as<std::string>());
      r.keys.push_back(*id);
    }
    if (r.keys.size() > kMaxGroupBy) return Err(file, group, "group_by: at most 8 attributes");
  }
  return r;
}

CepOperator::CepOperator(const CepRule& rule, CepSink& sink)
    : rule_(rule), sink_(sink), watermark_(WatermarkOptions{0, rule.idle_timeout_ns}) {}

CepOperator::KeyState* CepOperator::Key(const Item& item) noexcept {
  char bufs[kMaxGroupBy][32];
  std::string_view views[kMaxGroupBy];
  uint64_t hash = 0x9e3779b97f4a7c15ULL;
  for (std::size_t i = 0; i < rule_.keys.size(); ++i) {
    views[i] = ValueText(item.Find(rule_.keys[i]), bufs[i]);
    hash = HashBytes(views[i], hash + i);
  }
  auto it = keys_.find(hash);
  if (it != keys_.end()) return &it->second;
  if (keys_.size() >= rule_.max_keys) {
    stats_.dropped_key_limit.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  KeyState ks;
  for (std::size_t i = 0; i < rule_.keys.size(); ++i) ks.labels.emplace_back(views[i]);
  if (rule_.type == CepType::kThreshold) ks.times.assign(rule_.count, 0);
  if (rule_.type == CepType::kAbsence) ks.times.reserve(kMaxPending);
  return &keys_.emplace(hash, std::move(ks)).first->second;
}

void CepOperator::Fire(const KeyState& key, uint64_t time_ns, double value) {
  CepMatch m;
  m.rule = &rule_;
  m.labels = key.labels;
  m.time_ns = time_ns;
  m.value = value;
  stats_.matches.fetch_add(1, std::memory_order_relaxed);
  sink_.OnMatch(m);
}

void CepOperator::CloseBucket(KeyState& k, uint64_t time_ns) {
  const double value =
      rule_.of_mean ? (k.cur_count > 0 ? k.cur_sum / k.cur_count : 0) : k.cur_count;
  if (k.has_prev && k.prev_count >= static_cast<double>(rule_.min_count) && k.prev_value > 0) {
    const double change = (value - k.prev_value) / k.prev_value;
    const bool fire = (rule_.direction == ChangeDirection::kUp && change >= rule_.change) ||
                      (rule_.direction == ChangeDirection::kDown && -change >= rule_.change) ||
                      (rule_.direction == ChangeDirection::kAny &&
                       (change >= rule_.change || -change >= rule_.change));
    if (fire) Fire(k, time_ns, change);
  }
  k.prev_value = value;
  k.prev_count = k.cur_count;
  k.has_prev = true;
  k.cur_count = 0;
  k.cur_sum = 0;
}

void CepOperator::Add(const Item& item, uint64_t wall_ns, SourceId source) noexcept {
  const bool is_first = rule_.first.Matches(item);
  const bool is_second = (rule_.type == CepType::kSequence || rule_.type == CepType::kAbsence) &&
                         rule_.second.Matches(item);
  if (!is_first && !is_second) return;
  KeyState* k = Key(item);
  if (k == nullptr) return;
  watermark_.Observe(source, item.time_ns, wall_ns);
  const uint64_t t = item.time_ns;
  switch (rule_.type) {
    case CepType::kThreshold: {
      const std::size_t n = k->times.size();
      k->times[(k->head + k->size) % n] = t;
      if (k->size < n) {
        ++k->size;
      } else {
        k->head = (k->head + 1) % n;
      }
      // Drop times that fell out of the window (relative to this item).
      while (k->size > 0 && k->times[k->head] + rule_.within_ns < t) {
        k->head = (k->head + 1) % n;
        --k->size;
      }
      if (k->size >= rule_.count) {
        Fire(*k, t, static_cast<double>(k->size));
        k->size = 0;
      }
      break;
    }
    case CepType::kSequence:
      if (is_second && k->last_first != 0 && t >= k->last_first &&
          t - k->last_first <= rule_.within_ns) {
        Fire(*k, t, static_cast<double>(t - k->last_first) * 1e-9);
        k->last_first = 0;
      } else if (is_first) {
        k->last_first = t;
      }
      break;
    case CepType::kAbsence:
      if (is_second) {
        auto& p = k->times;
        p.erase(std::remove_if(p.begin(), p.end(),
                               [&](uint64_t a) { return a <= t && t <= a + rule_.within_ns; }),
                p.end());
      }
      if (is_first && !is_second) {
        if (k->times.size() >= kMaxPending) {
          k->times.erase(k->times.begin());
          stats_.dropped_pending.fetch_add(1, std::memory_order_relaxed);
        }
        k->times.push_back(t);
      }
      break;
    case CepType::kRateOfChange: {
      const uint64_t start = t - t % rule_.interval_ns;
      if (k->bucket_start == 0) k->bucket_start = start;
      if (start > k->bucket_start) {
        CloseBucket(*k, k->bucket_start + rule_.interval_ns);
        // A gap of empty intervals between: the previous interval was empty.
        if (start > k->bucket_start + rule_.interval_ns) CloseBucket(*k, start);
        k->bucket_start = start;
      } else if (start < k->bucket_start) {
        break;  // an item for an interval already closed: ignored (no double counting)
      }
      k->cur_count += static_cast<double>(item.weight);
      k->cur_sum += item.value * static_cast<double>(item.weight);
      break;
    }
  }
}

void CepOperator::Advance(uint64_t wall_ns) {
  const uint64_t w = watermark_.Current(wall_ns);
  if (w == 0) return;
  for (auto& [hash, k] : keys_) {
    if (rule_.type == CepType::kAbsence) {
      auto& p = k.times;
      std::size_t kept = 0;
      for (uint64_t a : p) {
        if (a + rule_.within_ns < w) {
          Fire(k, a + rule_.within_ns, 0);
        } else {
          p[kept++] = a;
        }
      }
      p.resize(kept);
    } else if (rule_.type == CepType::kRateOfChange && k.bucket_start != 0 &&
               k.bucket_start + rule_.interval_ns <= w) {
      CloseBucket(k, k.bucket_start + rule_.interval_ns);
      k.bucket_start += rule_.interval_ns;
    }
  }
}

}  // namespace strobed::stream
