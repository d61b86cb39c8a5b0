#include "strobed/pipeline/component.h"

#include <cctype>
#include <cmath>
#include <set>

#include "strobe/base/check.h"

namespace strobed::pipeline {

namespace {

bool IsTypeChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

std::string Location(std::string_view file, const YAML::Node& node) {
  std::string out(file);
  if (node.IsDefined() && node.Mark().line >= 0) {
    out += ":" + std::to_string(node.Mark().line + 1);
  }
  return out;
}

// Checks that `node` can be read as `type`; returns an error message or "".
std::string CheckType(const YAML::Node& node, OptionType type) {
  try {
    switch (type) {
      case OptionType::kString:
        if (!node.IsScalar()) return "expected a string";
        return "";
      case OptionType::kInt:
        if (!node.IsScalar()) return "expected an integer";
        (void)node.as<int64_t>();
        return "";
      case OptionType::kDouble: {
        if (!node.IsScalar()) return "expected a number";
        double d = node.as<double>();
        if (!std::isfinite(d)) return "expected a finite number";
        return "";
      }
      case OptionType::kBool:
        if (!node.IsScalar()) return "expected true or false";
        (void)node.as<bool>();
        return "";
      case OptionType::kDuration: {
        if (!node.IsScalar()) return "expected a duration like 100ms";
        auto d = ParseDuration(node.Scalar());
        return d.ok() ? "" : d.status().message();
      }
      case OptionType::kBytes: {
        if (!node.IsScalar()) return "expected a size like 64MiB";
        auto b = ParseBytes(node.Scalar());
        return b.ok() ? "" : b.status().message();
      }
      case OptionType::kStringList:
        if (node.IsScalar()) return "";
        if (!node.IsSequence()) return "expected a list of strings";
        for (const auto& item : node) {
          if (!item.IsScalar()) return "expected a list of strings";
        }
        return "";
      case OptionType::kNode:
        return "";
    }
  } catch (const YAML::Exception&) {
  }
  return std::string("expected ") + std::string(OptionTypeName(type));
}

}  // namespace

strobe::Result<ComponentId> ComponentId::Parse(std::string_view text) {
  ComponentId id;
  auto slash = text.find('/');
  id.type = std::string(text.substr(0, slash));
  if (slash != std::string_view::npos) {
    id.name = std::string(text.substr(slash + 1));
    if (id.name.empty()) {
      return strobe::InvalidArgument("component id '" + std::string(text) +
                                     "' has an empty name after '/'");
    }
  }
  if (id.type.empty()) {
    return strobe::InvalidArgument("component id '" + std::string(text) + "' has an empty type");
  }
  for (char c : id.type) {
    if (!IsTypeChar(c)) {
      return strobe::InvalidArgument("component type '" + id.type +
                                     "' may only contain a-z, 0-9 and _");
    }
  }
  return id;
}

std::string_view OptionTypeName(OptionType type) {
  switch (type) {
    case OptionType::kString:
      return "string";
    case OptionType::kInt:
      return "integer";
    case OptionType::kDouble:
      return "number";
    case OptionType::kBool:
      return "bool";
    case OptionType::kDuration:
      return "duration";
    case OptionType::kBytes:
      return "bytes";
    case OptionType::kStringList:
      return "list of strings";
    case OptionType::kNode:
      return "yaml";
  }
  return "?";
}

strobe::Result<Options> Options::Parse(const YAML::Node& node, std::span<const OptionSpec> spec,
                                       std::string_view file, std::string_view component) {
  Options opts;
  opts.file_ = std::string(file);
  // An absent key yields an invalid node on which IsNull()/IsMap() throw: test IsDefined first.
  bool present = node.IsDefined() && !node.IsNull();
  if (present && !node.IsMap()) {
    return strobe::InvalidArgument(Location(file, node) + ": " + std::string(component) +
                                   ": options must be a map");
  }
  for (const OptionSpec& o : spec) opts.declared_[o.key] = o.type;
  std::set<std::string> seen;
  if (present) {
    for (const auto& kv : node) {
      std::string key = kv.first.Scalar();
      const OptionSpec* s = nullptr;
      for (const OptionSpec& o : spec) {
        if (o.key == key) s = &o;
      }
      if (s == nullptr) {
        std::string known;
        for (const OptionSpec& o : spec) known += (known.empty() ? "" : ", ") + o.key;
        return strobe::InvalidArgument(Location(file, kv.first) + ": " + std::string(component) +
                                       ": unknown option '" + key +
                                       "' (known: " + (known.empty() ? "none" : known) + ")");
      }
      std::string err = CheckType(kv.second, s->type);
      if (!err.empty()) {
        return strobe::InvalidArgument(Location(file, kv.second) + ": " + std::string(component) +
                                       "." + key + ": " + err);
      }
      opts.values_[key] = Entry{s->type, kv.second, kv.second.Mark().line + 1};
      seen.insert(key);
    }
  }
  for (const OptionSpec& o : spec) {
    if (seen.count(o.key) != 0 || o.default_value.empty()) continue;
    YAML::Node def = YAML::Load(o.default_value);
    STROBE_CHECK(CheckType(def, o.type).empty());  // a bad default is a programming error
    opts.values_[o.key] = Entry{o.type, def, 0};
  }
  return opts;
}

bool Options::Has(const std::string& key) const { return values_.count(key) != 0; }

const Options::Entry& Options::Get(const std::string& key, OptionType type) const {
  auto d = declared_.find(key);
  STROBE_CHECK(d != declared_.end());  // not in the option table: a programming error
  STROBE_CHECK(d->second == type);
  auto it = values_.find(key);
  if (it != values_.end()) return it->second;
  // Declared, no default, not set: an empty value of the type.
  static const auto* empties = [] {
    auto* m = new std::map<OptionType, Entry>();
    (*m)[OptionType::kString] = Entry{OptionType::kString, YAML::Node(""), 0};
    (*m)[OptionType::kInt] = Entry{OptionType::kInt, YAML::Node(0), 0};
    (*m)[OptionType::kDouble] = Entry{OptionType::kDouble, YAML::Node(0.0), 0};
    (*m)[OptionType::kBool] = Entry{OptionType::kBool, YAML::Node(false), 0};
    (*m)[OptionType::kDuration] = Entry{OptionType::kDuration, YAML::Node("0ms"), 0};
    (*m)[OptionType::kBytes] = Entry{OptionType::kBytes, YAML::Node("0"), 0};
    (*m)[OptionType::kStringList] =
        Entry{OptionType::kStringList, YAML::Node(YAML::NodeType::Sequence), 0};
    (*m)[OptionType::kNode] = Entry{OptionType::kNode, YAML::Node(), 0};
    return m;
  }();
  return empties->at(type);
}

std::string Options::GetString(const std::string& key) const {
  return Get(key, OptionType::kString).node.Scalar();
}
int64_t Options::GetInt(const std::string& key) const {
  return Get(key, OptionType::kInt).node.as<int64_t>();
}
double Options::GetDouble(const std::string& key) const {
  return Get(key, OptionType::kDouble).node.as<double>();
}
bool Options::GetBool(const std::string& key) const {
  return Get(key, OptionType::kBool).node.as<bool>();
}
std::chrono::nanoseconds Options::GetDuration(const std::string& key) const {
  return ParseDuration(Get(key, OptionType::kDuration).node.Scalar()).value();
}
uint64_t Options::GetBytes(const std::string& key) const {
  return ParseBytes(Get(key, OptionType::kBytes).node.Scalar()).value();
}
std::vector<std::string> Options::GetStringList(const std::string& key) const {
  const Entry& e = Get(key, OptionType::kStringList);
  std::vector<std::string> out;
  if (e.node.IsScalar()) {
    out.push_back(e.node.Scalar());
  } else {
    for (const auto& item : e.node) out.push_back(item.Scalar());
  }
  return out;
}
YAML::Node Options::Node(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return YAML::Node();
  return it->second.node;
}
std::string Options::Where(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.line == 0) return file_;
  return file_ + ":" + std::to_string(it->second.line);
}

strobe::Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  std::string number(text.substr(0, i));
  std::string unit(text.substr(i));
  if (number.empty()) {
    return strobe::InvalidArgument("invalid duration '" + std::string(text) +
                                   "' (expected e.g. 100ms, 2s, 1m)");
  }
  double value = 0;
  try {
    std::size_t used = 0;
    value = std::stod(number, &used);
    if (used != number.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    return strobe::InvalidArgument("invalid duration '" + std::string(text) + "'");
  }
  double scale = 0;
  if (unit.empty() || unit == "ms") {
    scale = 1e6;
  } else if (unit == "ns") {
    scale = 1;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "s") {
    scale = 1e9;
  } else if (unit == "m") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else {
    return strobe::InvalidArgument("invalid duration unit in '" + std::string(text) +
                                   "' (use ns, us, ms, s, m or h)");
  }
  double ns = value * scale;
  if (!(ns < 9.2e18))
    return strobe::InvalidArgument("duration '" + std::string(text) + "' too large");
  return std::chrono::nanoseconds(static_cast<int64_t>(ns));
}

strobe::Result<uint64_t> ParseBytes(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  std::string number(text.substr(0, i));
  std::string unit(text.substr(i));
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  if (number.empty()) {
    return strobe::InvalidArgument("invalid size '" + std::string(text) +
                                   "' (expected e.g. 4096, 64KiB, 512MiB, 1GB)");
  }
  double value = 0;
  try {
    std::size_t used = 0;
    value = std::stod(number, &used);
    if (used != number.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    return strobe::InvalidArgument("invalid size '" + std::string(text) + "'");
  }
  double scale = 0;
  if (unit.empty() || unit == "B") {
    scale = 1;
  } else if (unit == "KiB") {
    scale = 1024.0;
  } else if (unit == "MiB") {
    scale = 1024.0 * 1024;
  } else if (unit == "GiB") {
    scale = 1024.0 * 1024 * 1024;
  } else if (unit == "KB" || unit == "kB") {
    scale = 1e3;
  } else if (unit == "MB") {
    scale = 1e6;
  } else if (unit == "GB") {
    scale = 1e9;
  } else {
    return strobe::InvalidArgument("invalid size unit in '" + std::string(text) +
                                   "' (use B, KiB, MiB, GiB, KB, MB or GB)");
  }
  double bytes = value * scale;
  if (!(bytes < 1.8e19))
    return strobe::InvalidArgument("size '" + std::string(text) + "' too large");
  return static_cast<uint64_t>(bytes);
}

}  // namespace strobed::pipeline
