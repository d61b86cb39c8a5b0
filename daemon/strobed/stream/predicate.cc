#include "strobed/stream/predicate.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "strobed/base/yaml_util.h"

namespace strobed::stream {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

strobe::Status Err(std::string_view file, const YAML::Node& node, const std::string& msg) {
  return strobe::InvalidArgument(base::YamlWhere(file, node) + ": " + msg);
}

}  // namespace

std::optional<CompareOp> ParseCompareOp(std::string_view text) {
  if (text == "==") return CompareOp::kEq;
  if (text == "!=") return CompareOp::kNe;
  if (text == "<") return CompareOp::kLt;
  if (text == "<=") return CompareOp::kLe;
  if (text == ">") return CompareOp::kGt;
  if (text == ">=") return CompareOp::kGe;
  return std::nullopt;
}

std::string_view CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "==";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

bool Compare(double lhs, CompareOp op, double rhs) noexcept {
  switch (op) {
    case CompareOp::kEq:
      return lhs == rhs;
    case CompareOp::kNe:
      return lhs != rhs;
    case CompareOp::kLt:
      return lhs < rhs;
    case CompareOp::kLe:
      return lhs <= rhs;
    case CompareOp::kGt:
      return lhs > rhs;
    case CompareOp::kGe:
      return lhs >= rhs;
  }
  return false;
}

strobe::Result<double> ParseNumberWithUnit(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return strobe::InvalidArgument("empty number");
  double v = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || !std::isfinite(v)) {
    return strobe::InvalidArgument("not a number: '" + std::string(text) + "'");
  }
  const std::string_view unit = Trim(std::string_view(ptr, static_cast<std::size_t>(end - ptr)));
  double scale = 1;
  if (unit.empty() || unit == "s") {
    scale = 1;
  } else if (unit == "ns") {
    scale = 1e-9;
  } else if (unit == "us") {
    scale = 1e-6;
  } else if (unit == "ms") {
    scale = 1e-3;
  } else if (unit == "m") {
    scale = 60;
  } else if (unit == "h") {
    scale = 3600;
  } else if (unit == "%") {
    scale = 0.01;
  } else {
    return strobe::InvalidArgument("unknown unit '" + std::string(unit) + "' in '" +
                                   std::string(text) + "' (use ns, us, ms, s, m, h or %)");
  }
  return v * scale;
}

strobe::Result<Predicate> Predicate::Parse(const YAML::Node& node, std::string_view file,
                                           event::KeyTable& keys) {
  Predicate p;
  if (!node.IsDefined() || node.IsNull()) return p;
  auto set_name = [&p](std::string n) {
    if (!n.empty() && n.back() == '*') {
      n.pop_back();
      p.name_prefix_ = true;
    }
    p.name_ = std::move(n);
  };
  if (node.IsScalar()) {
    set_name(node.Scalar());
    return p;
  }
  if (!node.IsMap()) return Err(file, node, "match: expected a name or a map");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "name") {
      if (!v.IsScalar()) return Err(file, v, "match.name: expected a string");
      set_name(v.Scalar());
    } else if (key == "kind") {
      const std::string k = v.IsScalar() ? v.Scalar() : "";
      if (k == "span") {
        p.kind_ = ItemKind::kSpan;
      } else if (k == "metric") {
        p.kind_ = ItemKind::kMetric;
      } else if (k == "log") {
        p.kind_ = ItemKind::kLog;
      } else {
        return Err(file, v, "match.kind: expected span, metric or log");
      }
    } else if (key == "status") {
      const std::string s = v.IsScalar() ? v.Scalar() : "";
      if (s == "error") {
        p.status_ = ItemStatus::kError;
      } else if (s == "ok") {
        p.status_ = ItemStatus::kOk;
      } else if (s == "unset") {
        p.status_ = ItemStatus::kUnset;
      } else {
        return Err(file, v, "match.status: expected error, ok or unset");
      }
    } else if (key == "attributes") {
      if (!v.IsMap()) return Err(file, v, "match.attributes: expected a map");
      for (const auto& a : v) {
        auto id = keys.Intern(a.first.as<std::string>());
        if (!id) return Err(file, a.first, "match.attributes: attribute key table is full");
        if (!a.second.IsScalar()) {
          return Err(file, a.second, "match.attributes: expected a scalar value");
        }
        p.attributes_.emplace_back(*id, a.second.Scalar());
      }
    } else if (key == "where") {
      std::vector<YAML::Node> clauses;
      if (v.IsScalar()) {
        clauses.push_back(v);
      } else if (v.IsSequence()) {
        for (const auto& c : v) clauses.push_back(c);
      } else {
        return Err(file, v, "match.where: expected a string or a list of strings");
      }
      for (const YAML::Node& c : clauses) {
        if (!c.IsScalar()) return Err(file, c, "match.where: expected a string");
        std::string_view text = Trim(c.Scalar());
        std::size_t op_pos = text.find_first_of("=!<>");
        if (op_pos == std::string_view::npos || op_pos == 0) {
          return Err(file, c,
                     "match.where: expected '<field> <op> <value>' in '" + std::string(text) + "'");
        }
        std::size_t op_end = op_pos + 1;
        if (op_end < text.size() && text[op_end] == '=') ++op_end;
        auto op = ParseCompareOp(text.substr(op_pos, op_end - op_pos));
        if (!op) {
          return Err(file, c, "match.where: bad operator in '" + std::string(text) + "'");
        }
        Clause clause;
        clause.op = *op;
        std::string_view field = Trim(text.substr(0, op_pos));
        std::string_view lit = Trim(text.substr(op_end));
        if (lit.empty())
          return Err(file, c, "match.where: missing value in '" + std::string(text) + "'");
        if (field == "value" || field == "duration") {
          clause.on_value = true;
        } else {
          clause.on_value = false;
          auto id = keys.Intern(field);
          if (!id) return Err(file, c, "match.where: attribute key table is full");
          clause.key = *id;
        }
        auto num = ParseNumberWithUnit(lit);
        if (num.ok()) {
          clause.numeric = true;
          clause.number = *num;
        } else {
          if (clause.on_value) {
            return Err(file, c, "match.where: " + num.status().message());
          }
          if (clause.op != CompareOp::kEq && clause.op != CompareOp::kNe) {
            return Err(
                file, c,
                "match.where: strings compare only with == or != in '" + std::string(text) + "'");
          }
          if (lit.size() >= 2 && (lit.front() == '"' || lit.front() == '\'') &&
              lit.back() == lit.front()) {
            lit = lit.substr(1, lit.size() - 2);
          }
          clause.numeric = false;
          clause.text = std::string(lit);
        }
        p.where_.push_back(std::move(clause));
      }
    } else {
      return Err(file, kv.first,
                 "match: unknown key '" + key + "' (known: name, kind, status, attributes, where)");
    }
  }
  return p;
}

std::string_view ValueText(const event::Value* value, char* buf) noexcept {
  if (value == nullptr) return {};
  switch (value->type()) {
    case event::ValueType::kString:
      return value->AsString();
    case event::ValueType::kBool:
      return value->AsBool() ? "true" : "false";
    case event::ValueType::kInt: {
      auto r = std::to_chars(buf, buf + 32, value->AsInt());
      return {buf, static_cast<std::size_t>(r.ptr - buf)};
    }
    case event::ValueType::kDouble: {
      auto r = std::to_chars(buf, buf + 32, value->AsDouble());
      if (r.ec != std::errc()) return {};
      return {buf, static_cast<std::size_t>(r.ptr - buf)};
    }
    default:
      return {};
  }
}

bool Predicate::ClauseMatches(const Clause& c, const Item& item) noexcept {
  if (c.on_value) return Compare(item.value, c.op, c.number);
  const event::Value* v = item.Find(c.key);
  if (v == nullptr) return c.op == CompareOp::kNe;
  if (c.numeric) {
    double x = 0;
    switch (v->type()) {
      case event::ValueType::kInt:
        x = static_cast<double>(v->AsInt());
        break;
      case event::ValueType::kDouble:
        x = v->AsDouble();
        break;
      case event::ValueType::kBool:
        x = v->AsBool() ? 1 : 0;
        break;
      case event::ValueType::kString: {
        std::string_view s = v->AsString();
        auto r = std::from_chars(s.data(), s.data() + s.size(), x);
        if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return false;
        break;
      }
      default:
        return false;
    }
    return Compare(x, c.op, c.number);
  }
  char buf[32];
  const bool eq = ValueText(v, buf) == c.text;
  return c.op == CompareOp::kEq ? eq : !eq;
}

bool Predicate::MayMatch(ItemKind kind, std::string_view name) const noexcept {
  if (kind_ && kind != *kind_) return false;
  if (name_prefix_) return name.substr(0, name_.size()) == name_;
  return name_.empty() || name == name_;
}

bool Predicate::Matches(const Item& item) const noexcept {
  if (!name_.empty() || name_prefix_) {
    if (name_prefix_) {
      if (item.name.substr(0, name_.size()) != name_) return false;
    } else if (item.name != name_) {
      return false;
    }
  }
  if (kind_ && item.kind != *kind_) return false;
  if (status_ && item.status != *status_) return false;
  for (const auto& [key, text] : attributes_) {
    char buf[32];
    if (ValueText(item.Find(key), buf) != text) return false;
  }
  for (const Clause& c : where_) {
    if (!ClauseMatches(c, item)) return false;
  }
  return true;
}

}  // namespace strobed::stream
