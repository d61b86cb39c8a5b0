#include "strobed/base/options.h"

#include <set>

#include "strobe/base/check.h"
#include "strobed/base/parse.h"
#include "strobed/base/yaml_util.h"

namespace strobed::base {

namespace {

bool IsScalarType(OptionType type) {
  return type != OptionType::kStringList && type != OptionType::kNode;
}

bool HasRange(OptionType type) {
  return type == OptionType::kInt || type == OptionType::kDouble || type == OptionType::kDuration ||
         type == OptionType::kBytes;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The declared spelling of `text` among `choices` (case-insensitive), or an error.
strobe::Result<std::string> MatchChoice(const OptionBounds& bounds, std::string_view text) {
  if (bounds.choices.empty()) return std::string(text);
  const std::string lower = AsciiLower(TrimSpace(text));
  for (const std::string& c : bounds.choices) {
    if (AsciiLower(c) == lower) return c;
  }
  return strobe::InvalidArgument("'" + std::string(text) + "' is not one of " +
                                 Join(bounds.choices, ", "));
}

// Checks `v` (parsed from `text`) against the spec's min/max, parsed with `parse`.
template <typename T, typename Parse>
strobe::Status CheckRange(const OptionSpec& spec, std::string_view text, T v, Parse parse) {
  const OptionBounds& b = spec.bounds;
  bool ok = true;
  if (!b.min.empty()) {
    auto min = parse(b.min);
    if (!min.ok()) return strobe::Internal("option '" + spec.key + "': bad min: " + b.min);
    ok = b.min_exclusive ? v > *min : v >= *min;
  }
  if (ok && !b.max.empty()) {
    auto max = parse(b.max);
    if (!max.ok()) return strobe::Internal("option '" + spec.key + "': bad max: " + b.max);
    ok = b.max_exclusive ? v < *max : v <= *max;
  }
  if (ok) return strobe::OkStatus();
  const std::string bounds = BoundsText(spec);
  const bool interval = !b.min.empty() && !b.max.empty();
  return strobe::InvalidArgument(std::string(TrimSpace(text)) + " is out of range " +
                                 (interval ? bounds : "(must be " + bounds + ")"));
}

strobe::Result<std::vector<std::string>> ParseList(const OptionSpec& spec, const YAML::Node& node) {
  std::vector<std::string> out;
  if (node.IsScalar()) {
    out.push_back(node.Scalar());
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar()) return strobe::InvalidArgument("expected a list of strings");
      out.push_back(item.Scalar());
    }
  } else {
    return strobe::InvalidArgument("expected a list of strings");
  }
  for (std::string& s : out) {
    STROBE_ASSIGN_OR_RETURN(s, MatchChoice(spec.bounds, s));
  }
  return out;
}

std::string_view ExpectedText(OptionType type) {
  switch (type) {
    case OptionType::kString:
      return "expected a string";
    case OptionType::kInt:
      return "expected an integer";
    case OptionType::kDouble:
      return "expected a number";
    case OptionType::kBool:
      return "expected true or false";
    case OptionType::kDuration:
      return "expected a duration like 100ms";
    case OptionType::kBytes:
      return "expected a size like 64MiB";
    case OptionType::kStringList:
      return "expected a list of strings";
    case OptionType::kNode:
      return "expected YAML";
  }
  return "unexpected value";
}

}  // namespace

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

strobe::Result<OptionValue> ParseOptionValue(const OptionSpec& spec, std::string_view text) {
  switch (spec.type) {
    case OptionType::kString: {
      STROBE_ASSIGN_OR_RETURN(std::string s, MatchChoice(spec.bounds, text));
      return OptionValue(std::move(s));
    }
    case OptionType::kInt: {
      STROBE_ASSIGN_OR_RETURN(int64_t v, ParseInt(text));
      STROBE_RETURN_IF_ERROR(CheckRange(spec, text, v, ParseInt));
      return OptionValue(v);
    }
    case OptionType::kDouble: {
      STROBE_ASSIGN_OR_RETURN(double v, ParseDouble(text));
      STROBE_RETURN_IF_ERROR(CheckRange(spec, text, v, ParseDouble));
      return OptionValue(v);
    }
    case OptionType::kBool: {
      STROBE_ASSIGN_OR_RETURN(bool v, ParseBool(text));
      return OptionValue(v);
    }
    case OptionType::kDuration: {
      STROBE_ASSIGN_OR_RETURN(std::chrono::nanoseconds v, ParseDuration(text));
      STROBE_RETURN_IF_ERROR(CheckRange(spec, text, v, ParseDuration));
      return OptionValue(v);
    }
    case OptionType::kBytes: {
      STROBE_ASSIGN_OR_RETURN(uint64_t v, ParseBytes(text));
      STROBE_RETURN_IF_ERROR(CheckRange(spec, text, v, ParseBytes));
      return OptionValue(v);
    }
    case OptionType::kStringList:
    case OptionType::kNode:
      break;
  }
  return strobe::InvalidArgument("option '" + spec.key + "' (" +
                                 std::string(OptionTypeName(spec.type)) + ") is not a scalar");
}

std::string BoundsText(const OptionSpec& spec) {
  const OptionBounds& b = spec.bounds;
  if (!b.choices.empty()) return "one of: " + Join(b.choices, ", ");
  if (!b.min.empty() && !b.max.empty()) {
    return std::string(b.min_exclusive ? "(" : "[") + b.min + ", " + b.max +
           (b.max_exclusive ? ")" : "]");
  }
  if (!b.min.empty()) return std::string(b.min_exclusive ? "> " : ">= ") + b.min;
  if (!b.max.empty()) return std::string(b.max_exclusive ? "< " : "<= ") + b.max;
  return "";
}

strobe::Status ValidateSpec(const OptionSpec& spec) {
  const OptionBounds& b = spec.bounds;
  auto bad = [&](const std::string& why) {
    return strobe::InvalidArgument("option '" + spec.key + "': " + why);
  };
  if (spec.key.empty()) return bad("empty key");
  if ((!b.min.empty() || !b.max.empty() || b.min_exclusive || b.max_exclusive) &&
      !HasRange(spec.type)) {
    return bad("min/max need an integer, number, duration or bytes option");
  }
  if (b.min_exclusive && b.min.empty()) return bad("min_exclusive without min");
  if (b.max_exclusive && b.max.empty()) return bad("max_exclusive without max");
  if (!b.choices.empty() && spec.type != OptionType::kString &&
      spec.type != OptionType::kStringList) {
    return bad("choices need a string or list-of-strings option");
  }
  OptionSpec unbounded = spec;
  unbounded.bounds = {};
  OptionValue min;
  OptionValue max;
  if (!b.min.empty()) {
    auto v = ParseOptionValue(unbounded, b.min);
    if (!v.ok()) return bad("min: " + v.status().message());
    min = *v;
  }
  if (!b.max.empty()) {
    auto v = ParseOptionValue(unbounded, b.max);
    if (!v.ok()) return bad("max: " + v.status().message());
    max = *v;
  }
  if (!b.min.empty() && !b.max.empty() &&
      ((b.min_exclusive || b.max_exclusive) ? !(min < max) : max < min)) {
    return bad("min " + b.min + " is not below max " + b.max);
  }
  if (spec.default_value.empty()) return strobe::OkStatus();
  if (IsScalarType(spec.type)) {
    auto v = ParseOptionValue(spec, spec.default_value);
    if (!v.ok()) return bad("default: " + v.status().message());
    return strobe::OkStatus();
  }
  try {
    YAML::Node def = YAML::Load(spec.default_value);
    if (spec.type == OptionType::kStringList) {
      auto list = ParseList(spec, def);
      if (!list.ok()) return bad("default: " + list.status().message());
    }
  } catch (const YAML::Exception& e) {
    return bad(std::string("default: invalid YAML: ") + e.what());
  }
  return strobe::OkStatus();
}

strobe::Result<Options> Options::Parse(const YAML::Node& node, std::span<const OptionSpec> spec,
                                       std::string_view file, std::string_view component) {
  Options opts;
  opts.file_ = std::string(file);
  const std::string comp(component);
  // An absent key yields an invalid node on which IsNull()/IsMap() throw: test IsDefined first.
  const bool present = node.IsDefined() && !node.IsNull();
  if (present && !node.IsMap()) {
    return YamlError(file, node, comp + ": options must be a map");
  }
  for (const OptionSpec& o : spec) opts.declared_[o.key] = o.type;
  // Reads one value node of `o`; errors as "file:line: component.key: reason".
  auto read = [&](const OptionSpec& o, const YAML::Node& v, int line) -> strobe::Result<Entry> {
    Entry e;
    e.line = line;
    auto fail = [&](std::string_view why) {
      return YamlError(file, v, comp + "." + o.key + ": " + std::string(why));
    };
    if (o.type == OptionType::kNode) {
      e.node = v;
    } else if (o.type == OptionType::kStringList) {
      auto list = ParseList(o, v);
      if (!list.ok()) return fail(list.status().message());
      e.list = std::move(*list);
    } else {
      if (!v.IsScalar()) return fail(ExpectedText(o.type));
      auto value = ParseOptionValue(o, v.Scalar());
      if (!value.ok()) return fail(value.status().message());
      e.value = std::move(*value);
    }
    return e;
  };
  std::set<std::string> seen;
  if (present) {
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const OptionSpec* s = nullptr;
      for (const OptionSpec& o : spec) {
        if (o.key == key) s = &o;
      }
      if (s == nullptr) {
        std::string known;
        for (const OptionSpec& o : spec) known += (known.empty() ? "" : ", ") + o.key;
        return YamlError(file, kv.first,
                         comp + ": unknown option '" + key +
                             "' (known: " + (known.empty() ? "none" : known) + ")");
      }
      STROBE_ASSIGN_OR_RETURN(Entry e, read(*s, kv.second, kv.second.Mark().line + 1));
      opts.values_[key] = std::move(e);
      seen.insert(key);
    }
  }
  for (const OptionSpec& o : spec) {
    if (seen.count(o.key) != 0 || o.default_value.empty()) continue;
    auto e = read(o, YAML::Load(o.default_value), 0);
    STROBE_CHECK(e.ok());  // a bad default is a programming error (ValidateSpec catches it)
    opts.values_[o.key] = std::move(*e);
  }
  return opts;
}

bool Options::Has(const std::string& key) const { return values_.count(key) != 0; }

const Options::Entry* Options::Get(const std::string& key, OptionType type) const {
  auto d = declared_.find(key);
  STROBE_CHECK(d != declared_.end());  // not in the option table: a programming error
  STROBE_CHECK(d->second == type);
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

std::string Options::GetString(const std::string& key) const {
  const Entry* e = Get(key, OptionType::kString);
  return e == nullptr ? std::string() : std::get<std::string>(e->value);
}
int64_t Options::GetInt(const std::string& key) const {
  const Entry* e = Get(key, OptionType::kInt);
  return e == nullptr ? 0 : std::get<int64_t>(e->value);
}
double Options::GetDouble(const std::string& key) const {
  const Entry* e = Get(key, OptionType::kDouble);
  return e == nullptr ? 0.0 : std::get<double>(e->value);
}
bool Options::GetBool(const std::string& key) const {
  const Entry* e = Get(key, OptionType::kBool);
  return e != nullptr && std::get<bool>(e->value);
}
std::chrono::nanoseconds Options::GetDuration(const std::string& key) const {
  const Entry* e = Get(key, OptionType::kDuration);
  return e == nullptr ? std::chrono::nanoseconds(0) : std::get<std::chrono::nanoseconds>(e->value);
}
uint64_t Options::GetBytes(const std::string& key) const {
  const Entry* e = Get(key, OptionType::kBytes);
  return e == nullptr ? 0 : std::get<uint64_t>(e->value);
}
std::vector<std::string> Options::GetStringList(const std::string& key) const {
  const Entry* e = Get(key, OptionType::kStringList);
  return e == nullptr ? std::vector<std::string>() : e->list;
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

}  // namespace strobed::base
