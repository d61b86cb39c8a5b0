#include "strobed/alert/expr.h"

#include <cctype>

namespace strobed::alert {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  void Ws() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])) != 0) ++pos_;
  }
  bool Eat(char c) {
    Ws();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    Ws();
    return pos_ >= s_.size();
  }
  char Peek() {
    Ws();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  strobe::Status Error(const std::string& msg) const {
    return strobe::InvalidArgument("col " + std::to_string(pos_ + 1) + ": " + msg + " in '" +
                                   std::string(s_) + "'");
  }
  // [A-Za-z_][A-Za-z0-9_.]* with an optional "(...)" suffix kept for distinct(attr).
  std::string Ident() {
    Ws();
    const std::size_t start = pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
          (c == '.' && pos_ > start)) {
        ++pos_;
      } else {
        break;
      }
    }
    return std::string(s_.substr(start, pos_ - start));
  }
  std::string Source() {
    Ws();
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '(' && s_[pos_] != ')' && s_[pos_] != '{' &&
           s_[pos_] != '}' && std::isspace(static_cast<unsigned char>(s_[pos_])) == 0) {
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }
  strobe::Status Matchers(std::vector<LabelMatcher>& out) {
    // '{' already eaten.
    if (Eat('}')) return strobe::OkStatus();
    while (true) {
      LabelMatcher m;
      m.name = Ident();
      if (m.name.empty()) return Error("expected a label name");
      if (Eat('!')) {
        if (!Eat('=')) return Error("expected '!='");
        m.negate = true;
      } else if (!Eat('=')) {
        return Error("expected '=' or '!='");
      }
      Ws();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("expected a quoted value");
      ++pos_;
      const std::size_t start = pos_;
      while (pos_ < s_.size() && s_[pos_] != '"') ++pos_;
      if (pos_ >= s_.size()) return Error("unterminated string");
      m.value = std::string(s_.substr(start, pos_ - start));
      ++pos_;
      out.push_back(std::move(m));
      if (Eat('}')) return strobe::OkStatus();
      if (!Eat(',')) return Error("expected ',' or '}'");
    }
  }
  std::string_view Rest() {
    Ws();
    return s_.substr(pos_);
  }
  std::size_t pos_ = 0;

 private:
  std::string_view s_;
};

}  // namespace

strobe::Result<AlertExpr> AlertExpr::Parse(std::string_view text,
                                           const stream::AggregationRegistry* registry) {
  AlertExpr e;
  e.text = std::string(text);
  Parser p(text);
  e.aggregate = p.Ident();
  if (e.aggregate.empty()) return p.Error("expected an aggregate name");
  if (e.aggregate == "distinct" && p.Peek() == '(') {
    // distinct(attr) is itself the aggregate name: distinct(user.id)(source) or bare.
    p.Eat('(');
    const std::string attr = p.Ident();
    if (attr.empty() || !p.Eat(')')) return p.Error("expected distinct(attribute)");
    e.aggregate = "distinct(" + attr + ")";
  }
  if (e.aggregate != "anomaly_score" && e.aggregate != stream::kCepMatches) {
    std::vector<const stream::UserAggregation*> scratch;
    auto spec = stream::ParseAggSpec(e.aggregate, registry, scratch);
    if (!spec.ok()) {
      return p.Error(std::string(spec.status().message()) +
                     "; alert rules also take anomaly_score and cep_matches");
    }
  }
  if (p.Eat('(')) {
    e.source = p.Source();
    if (e.source.empty()) return p.Error("expected a series name inside ( )");
    if (p.Eat('{')) STROBE_RETURN_IF_ERROR(p.Matchers(e.matchers));
    if (!p.Eat(')')) return p.Error("expected ')'");
  }
  if (p.Eat('{')) STROBE_RETURN_IF_ERROR(p.Matchers(e.matchers));
  std::string_view rest = p.Rest();
  std::size_t n = 0;
  while (n < rest.size() && n < 2 &&
         (rest[n] == '<' || rest[n] == '>' || rest[n] == '=' || rest[n] == '!')) {
    ++n;
  }
  auto op = stream::ParseCompareOp(rest.substr(0, n));
  if (!op) return p.Error("expected a comparison (> >= < <= == !=)");
  e.op = *op;
  p.pos_ += n;
  std::string_view number = p.Rest();
  if (number.empty()) return p.Error("expected a number after the comparison");
  auto v = stream::ParseNumberWithUnit(number);
  if (!v.ok()) return p.Error(v.status().message());
  e.threshold = *v;
  return e;
}

bool AlertExpr::Selects(const stream::Series& s) const {
  if (s.name != aggregate) return false;
  if (!source.empty() && s.source != source && s.window != source) return false;
  for (const LabelMatcher& m : matchers) {
    const std::string* value = nullptr;
    for (const auto& [k, v] : s.labels) {
      if (k == m.name || stream::PrometheusName(k) == m.name) value = &v;
    }
    const bool eq = value != nullptr ? *value == m.value : m.value.empty();
    if (eq == m.negate) return false;
  }
  return true;
}

}  // namespace strobed::alert
