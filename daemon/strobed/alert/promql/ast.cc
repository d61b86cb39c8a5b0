#include "strobed/alert/promql/ast.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

namespace strobed::alert::promql {
namespace {

// Nesting limit: far above any rule, and small enough that the recursive descent stays well
// inside a thread's stack even in sanitizer builds.
constexpr int kMaxDepth = 128;

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
bool IsMetricChar(char c) { return IsIdentChar(c) || c == ':'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct FunctionInfo {
  std::string_view name;
  Function func;
  std::vector<ValueType> args;
  ValueType result;
  int optional_args = 0;  // trailing arguments that may be omitted
};

const std::vector<FunctionInfo>& Functions() {
  using VT = ValueType;
  static const std::vector<FunctionInfo> kFunctions = {
      {"rate", Function::kRate, {VT::kMatrix}, VT::kVector},
      {"irate", Function::kIrate, {VT::kMatrix}, VT::kVector},
      {"increase", Function::kIncrease, {VT::kMatrix}, VT::kVector},
      {"delta", Function::kDelta, {VT::kMatrix}, VT::kVector},
      {"idelta", Function::kIdelta, {VT::kMatrix}, VT::kVector},
      {"avg_over_time", Function::kAvgOverTime, {VT::kMatrix}, VT::kVector},
      {"min_over_time", Function::kMinOverTime, {VT::kMatrix}, VT::kVector},
      {"max_over_time", Function::kMaxOverTime, {VT::kMatrix}, VT::kVector},
      {"sum_over_time", Function::kSumOverTime, {VT::kMatrix}, VT::kVector},
      {"count_over_time", Function::kCountOverTime, {VT::kMatrix}, VT::kVector},
      {"last_over_time", Function::kLastOverTime, {VT::kMatrix}, VT::kVector},
      {"histogram_quantile", Function::kHistogramQuantile, {VT::kScalar, VT::kVector}, VT::kVector},
      {"histogram_count", Function::kHistogramCount, {VT::kVector}, VT::kVector},
      {"histogram_sum", Function::kHistogramSum, {VT::kVector}, VT::kVector},
      {"histogram_fraction",
       Function::kHistogramFraction,
       {VT::kScalar, VT::kScalar, VT::kVector},
       VT::kVector},
      {"absent", Function::kAbsent, {VT::kVector}, VT::kVector},
      {"abs", Function::kAbs, {VT::kVector}, VT::kVector},
      {"ceil", Function::kCeil, {VT::kVector}, VT::kVector},
      {"floor", Function::kFloor, {VT::kVector}, VT::kVector},
      {"exp", Function::kExp, {VT::kVector}, VT::kVector},
      {"ln", Function::kLn, {VT::kVector}, VT::kVector},
      {"sqrt", Function::kSqrt, {VT::kVector}, VT::kVector},
      {"clamp_min", Function::kClampMin, {VT::kVector, VT::kScalar}, VT::kVector},
      {"clamp_max", Function::kClampMax, {VT::kVector, VT::kScalar}, VT::kVector},
      {"scalar", Function::kScalar, {VT::kVector}, VT::kScalar},
      {"vector", Function::kVector, {VT::kScalar}, VT::kVector},
      {"time", Function::kTime, {}, VT::kScalar},
  };
  return kFunctions;
}

const FunctionInfo* FindFunction(std::string_view name) {
  for (const FunctionInfo& f : Functions()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}
const FunctionInfo& InfoOf(Function func) {
  for (const FunctionInfo& f : Functions()) {
    if (f.func == func) return f;
  }
  return Functions().front();  // unreachable: every enumerator is in the table
}

struct AggInfo {
  std::string_view name;
  AggOp op;
};
constexpr AggInfo kAggs[] = {{"sum", AggOp::kSum},
                             {"avg", AggOp::kAvg},
                             {"min", AggOp::kMin},
                             {"max", AggOp::kMax},
                             {"count", AggOp::kCount}};
constexpr std::string_view kUnsupportedAggs[] = {"topk",   "bottomk", "quantile",    "stddev",
                                                 "stdvar", "group",   "count_values"};

std::string_view AggName(AggOp op) {
  for (const AggInfo& a : kAggs) {
    if (a.op == op) return a.name;
  }
  return "sum";
}

std::string_view BinOpName(BinOp op) {
  switch (op) {
    case BinOp::kAdd:
      return "+";
    case BinOp::kSub:
      return "-";
    case BinOp::kMul:
      return "*";
    case BinOp::kDiv:
      return "/";
    case BinOp::kMod:
      return "%";
    case BinOp::kPow:
      return "^";
    case BinOp::kEq:
      return "==";
    case BinOp::kNe:
      return "!=";
    case BinOp::kGt:
      return ">";
    case BinOp::kLt:
      return "<";
    case BinOp::kGe:
      return ">=";
    case BinOp::kLe:
      return "<=";
    case BinOp::kAnd:
      return "and";
    case BinOp::kOr:
      return "or";
    case BinOp::kUnless:
      return "unless";
  }
  return "?";
}

// Prometheus precedence, higher binds tighter.
int Precedence(BinOp op) {
  switch (op) {
    case BinOp::kOr:
      return 1;
    case BinOp::kAnd:
    case BinOp::kUnless:
      return 2;
    case BinOp::kEq:
    case BinOp::kNe:
    case BinOp::kGt:
    case BinOp::kLt:
    case BinOp::kGe:
    case BinOp::kLe:
      return 3;
    case BinOp::kAdd:
    case BinOp::kSub:
      return 4;
    case BinOp::kMul:
    case BinOp::kDiv:
    case BinOp::kMod:
      return 5;
    case BinOp::kPow:
      return 6;
  }
  return 0;
}

bool IsComparison(BinOp op) {
  return op == BinOp::kEq || op == BinOp::kNe || op == BinOp::kGt || op == BinOp::kLt ||
         op == BinOp::kGe || op == BinOp::kLe;
}
bool IsSetOp(BinOp op) { return op == BinOp::kAnd || op == BinOp::kOr || op == BinOp::kUnless; }

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  // The whole text as one duration (ParseDurationMs).
  strobe::Result<int64_t> Duration() {
    auto d = ParseDuration();
    if (d.ok() && !AtEnd()) return ErrorAt(pos_, "bad duration: unexpected " + Describe());
    return d;
  }

  strobe::Result<Expr> Run() {
    SkipSpace();
    if (AtEnd()) return Error("empty expression");
    auto e = ParseExpr(0);
    if (!e.ok()) return e.status();
    SkipSpace();
    if (!AtEnd()) return Error("unexpected " + Describe() + " after the expression");
    if (!error_.empty()) return strobe::InvalidArgument(error_);
    return std::move(*e.value());
  }

 private:
  using Ptr = std::unique_ptr<Expr>;
  using PResult = strobe::Result<Ptr>;

  // --- characters and positions ---
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void SkipSpace() {
    while (!AtEnd()) {
      const char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (c == '#') {  // comment to end of line
        while (!AtEnd() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  std::pair<uint32_t, uint32_t> LineCol(size_t pos) const {
    uint32_t line = 1;
    uint32_t col = 1;
    for (size_t i = 0; i < pos && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return {line, col};
  }
  strobe::Status ErrorAt(size_t pos, const std::string& reason) const {
    auto [line, col] = LineCol(pos);
    return strobe::InvalidArgument(std::to_string(line) + ":" + std::to_string(col) + ": " +
                                   reason);
  }
  strobe::Status Error(const std::string& reason) const { return ErrorAt(pos_, reason); }
  std::string Describe() const {
    if (AtEnd()) return "end of input";
    const char c = text_[pos_];
    if (IsIdentStart(c)) {
      size_t e = pos_;
      while (e < text_.size() && IsMetricChar(text_[e])) ++e;
      return "'" + std::string(text_.substr(pos_, e - pos_)) + "'";
    }
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return "byte 0x" + std::to_string(static_cast<unsigned char>(c));
    }
    return std::string("'") + c + "'";
  }
  Ptr Node(ExprKind kind, size_t pos) const {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    auto [line, col] = LineCol(pos);
    e->line = line;
    e->col = col;
    return e;
  }

  std::string_view PeekIdent() const {
    if (AtEnd() || !IsIdentStart(text_[pos_])) return {};
    size_t e = pos_;
    while (e < text_.size() && IsMetricChar(text_[e])) ++e;
    return text_.substr(pos_, e - pos_);
  }
  // Consumes `kw` if it is the next identifier (case-insensitive, as PromQL keywords).
  bool AcceptKeyword(std::string_view kw) {
    SkipSpace();
    std::string_view id = PeekIdent();
    if (id.empty() || Lower(id) != kw) return false;
    pos_ += id.size();
    return true;
  }
  bool Accept(char c) {
    SkipSpace();
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  strobe::Status Expect(char c, std::string_view what) {
    SkipSpace();
    if (Peek() != c) {
      return Error("unexpected " + Describe() + ", expected '" + std::string(1, c) + "'" +
                   (what.empty() ? "" : " " + std::string(what)));
    }
    ++pos_;
    return strobe::OkStatus();
  }

  // --- binary operators ---
  // Reads a binary operator at the current position without consuming it; length in *len.
  bool PeekBinOp(BinOp* op, size_t* len) {
    SkipSpace();
    const char c = Peek();
    const char n = Peek(1);
    *len = 1;
    switch (c) {
      case '+':
        *op = BinOp::kAdd;
        return true;
      case '-':
        *op = BinOp::kSub;
        return true;
      case '*':
        *op = BinOp::kMul;
        return true;
      case '/':
        *op = BinOp::kDiv;
        return true;
      case '%':
        *op = BinOp::kMod;
        return true;
      case '^':
        *op = BinOp::kPow;
        return true;
      case '=':
        if (n == '=') {
          *op = BinOp::kEq;
          *len = 2;
          return true;
        }
        return false;
      case '!':
        if (n == '=') {
          *op = BinOp::kNe;
          *len = 2;
          return true;
        }
        return false;
      case '>':
        *op = n == '=' ? BinOp::kGe : BinOp::kGt;
        *len = n == '=' ? 2 : 1;
        return true;
      case '<':
        *op = n == '=' ? BinOp::kLe : BinOp::kLt;
        *len = n == '=' ? 2 : 1;
        return true;
      default:
        break;
    }
    std::string_view id = PeekIdent();
    if (id.empty()) return false;
    const std::string lower = Lower(id);
    *len = id.size();
    if (lower == "and") {
      *op = BinOp::kAnd;
      return true;
    }
    if (lower == "or") {
      *op = BinOp::kOr;
      return true;
    }
    if (lower == "unless") {
      *op = BinOp::kUnless;
      return true;
    }
    return false;
  }

  PResult ParseExpr(int min_prec) {
    if (++depth_ > kMaxDepth) return Error("expression nested too deeply");
    auto lhs = ParseUnary();
    if (!lhs.ok()) return lhs;
    Ptr left = std::move(*lhs);
    while (true) {
      BinOp op;
      size_t len;
      const size_t op_pos = (SkipSpace(), pos_);
      if (!PeekBinOp(&op, &len)) break;
      const int prec = Precedence(op);
      if (prec < min_prec) break;
      pos_ += len;
      Ptr node = Node(ExprKind::kBinary, op_pos);
      node->bin_op = op;
      if (AcceptKeyword("bool")) {
        if (!IsComparison(op)) return ErrorAt(op_pos, "bool modifier on a non-comparison");
        node->return_bool = true;
      }
      bool modifiers = false;
      if (auto s = ParseMatchingModifiers(node.get(), &modifiers); !s.ok()) return s;
      const int next = op == BinOp::kPow ? prec : prec + 1;  // ^ is right-associative
      auto rhs = ParseExpr(next);
      if (!rhs.ok()) return rhs;
      node->args.push_back(std::move(left));
      node->args.push_back(std::move(*rhs));
      if (auto s = CheckBinary(*node, modifiers, op_pos); !s.ok()) return s;
      left = std::move(node);
    }
    --depth_;
    return left;
  }

  strobe::Status ParseMatchingModifiers(Expr* node, bool* any) {
    VectorMatching& m = node->matching;
    if (IsSetOp(node->bin_op)) m.card = VectorMatching::Card::kManyToMany;
    const size_t pos = (SkipSpace(), pos_);
    if (AcceptKeyword("on")) {
      m.on = true;
      *any = true;
    } else if (AcceptKeyword("ignoring")) {
      *any = true;
    } else {
      return strobe::OkStatus();
    }
    if (auto s = ParseLabelList(&m.labels); !s.ok()) return s;
    const size_t gpos = (SkipSpace(), pos_);
    bool left = false;
    if ((left = AcceptKeyword("group_left")) || AcceptKeyword("group_right")) {
      if (IsSetOp(node->bin_op)) {
        return ErrorAt(gpos, "no grouping allowed for \"" + std::string(BinOpName(node->bin_op)) +
                                 "\" operation");
      }
      m.card = left ? VectorMatching::Card::kManyToOne : VectorMatching::Card::kOneToMany;
      SkipSpace();
      if (Peek() == '(') {
        if (auto s = ParseLabelList(&m.include); !s.ok()) return s;
      }
      for (const std::string& l : m.include) {
        if (m.on && std::find(m.labels.begin(), m.labels.end(), l) != m.labels.end()) {
          return ErrorAt(gpos, "label \"" + l + "\" must not occur in ON and GROUP clause at once");
        }
      }
    }
    (void)pos;
    return strobe::OkStatus();
  }

  strobe::Status CheckBinary(const Expr& node, bool modifiers, size_t pos) const {
    const ValueType l = TypeOf(*node.args[0]);
    const ValueType r = TypeOf(*node.args[1]);
    const std::string name(BinOpName(node.bin_op));
    if (l == ValueType::kMatrix || r == ValueType::kMatrix) {
      return ErrorAt(pos, "binary expression must contain only scalar and instant vector types");
    }
    if (IsSetOp(node.bin_op) && (l != ValueType::kVector || r != ValueType::kVector)) {
      return ErrorAt(pos, "set operator \"" + name + "\" not allowed in binary scalar expression");
    }
    if (IsComparison(node.bin_op) && !node.return_bool && l == ValueType::kScalar &&
        r == ValueType::kScalar) {
      return ErrorAt(pos, "comparisons between scalars must use BOOL modifier");
    }
    if (modifiers && (l != ValueType::kVector || r != ValueType::kVector)) {
      return ErrorAt(pos, "vector matching only allowed between instant vectors");
    }
    return strobe::OkStatus();
  }

  PResult ParseUnary() {
    SkipSpace();
    const size_t start = pos_;
    const char c = Peek();
    if (c == '-' || c == '+') {
      ++pos_;
      // Unary minus binds below ^ and above * (as Prometheus): -a^b is -(a^b).
      auto operand = ParseExpr(Precedence(BinOp::kPow));
      if (!operand.ok()) return operand;
      const ValueType t = TypeOf(**operand);
      if (t == ValueType::kMatrix) {
        return ErrorAt(start,
                       "unary expression only allowed on expressions of type scalar "
                       "or instant vector");
      }
      if (c == '+') return operand;
      if ((*operand)->kind == ExprKind::kNumber) {
        (*operand)->number = -(*operand)->number;
        auto [line, col] = LineCol(start);
        (*operand)->line = line;
        (*operand)->col = col;
        return operand;
      }
      Ptr node = Node(ExprKind::kUnary, start);
      node->args.push_back(std::move(*operand));
      return node;
    }
    return ParsePostfix();
  }

  PResult ParsePostfix() {
    auto prim = ParsePrimary();
    if (!prim.ok()) return prim;
    Ptr e = std::move(*prim);
    SkipSpace();
    if (Peek() == '[') {
      const size_t bpos = pos_;
      ++pos_;
      if (e->kind != ExprKind::kVectorSelector || e->offset_ms != 0) {
        return ErrorAt(bpos, "ranges only allowed for vector selectors");
      }
      SkipSpace();
      const size_t dpos = pos_;
      auto d = ParseDuration();
      if (!d.ok()) return d.status();
      if (*d == 0) return ErrorAt(dpos, "range must be greater than 0");
      SkipSpace();
      if (Peek() == ':') return Error("subqueries are not supported");
      if (auto s = Expect(']', "closing the range"); !s.ok()) return s;
      e->kind = ExprKind::kMatrixSelector;
      e->range_ms = *d;
    }
    const size_t opos = (SkipSpace(), pos_);
    if (AcceptKeyword("offset")) {
      if (e->kind != ExprKind::kVectorSelector && e->kind != ExprKind::kMatrixSelector) {
        return ErrorAt(opos,
                       "offset modifier must be preceded by an instant vector selector "
                       "or range vector selector");
      }
      SkipSpace();
      if (Peek() == '-') return Error("negative offsets are not supported");
      auto d = ParseDuration();
      if (!d.ok()) return d.status();
      e->offset_ms = *d;
      SkipSpace();
      if (Peek() == '[') return Error("offset must follow the range: write x[5m] offset 1m");
    }
    SkipSpace();
    if (Peek() == '@') return Error("the @ modifier is not supported");
    return e;
  }

  PResult ParsePrimary() {
    SkipSpace();
    const size_t start = pos_;
    const char c = Peek();
    if (AtEnd()) return Error("unexpected end of input, expected an expression");
    if (c == '(') {
      ++pos_;
      auto inner = ParseExpr(0);
      if (!inner.ok()) return inner;
      if (auto s = Expect(')', "closing the parenthesis"); !s.ok()) return s;
      Ptr node = Node(ExprKind::kParen, start);
      node->args.push_back(std::move(*inner));
      return node;
    }
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return ParseNumber();
    if (c == '{') {
      Ptr node = Node(ExprKind::kVectorSelector, start);
      if (auto s = ParseMatchers(node.get()); !s.ok()) return s;
      if (auto s = CheckSelector(*node, start); !s.ok()) return s;
      return node;
    }
    if (c == '"' || c == '\'' || c == '`') {
      return Error("string literals are only supported as label matcher values");
    }
    std::string_view id = PeekIdent();
    if (id.empty()) return Error("unexpected " + Describe() + ", expected an expression");
    const std::string lower = Lower(id);
    if (lower == "inf" || lower == "nan") {
      pos_ += id.size();
      Ptr node = Node(ExprKind::kNumber, start);
      node->number = lower == "inf" ? std::numeric_limits<double>::infinity()
                                    : std::numeric_limits<double>::quiet_NaN();
      return node;
    }
    for (const AggInfo& a : kAggs) {
      if (lower == a.name) return ParseAggregate(a.op, id.size(), start);
    }
    for (std::string_view u : kUnsupportedAggs) {
      if (lower == u) return Error("aggregation \"" + lower + "\" is not supported");
    }
    if (const FunctionInfo* f = FindFunction(id)) {
      size_t after = pos_ + id.size();
      while (after < text_.size() && (text_[after] == ' ' || text_[after] == '\t')) ++after;
      if (after < text_.size() && text_[after] == '(') return ParseCall(*f, id.size(), start);
    }
    if (id.find(':') == std::string_view::npos) {
      size_t after = pos_ + id.size();
      while (after < text_.size() && (text_[after] == ' ' || text_[after] == '\t')) ++after;
      if (after < text_.size() && text_[after] == '(') {
        return Error("unknown function \"" + std::string(id) + "\"");
      }
    }
    for (std::string_view kw : {"by", "without", "on", "ignoring", "group_left", "group_right",
                                "bool", "offset", "and", "or", "unless"}) {
      if (lower == kw) return Error("unexpected keyword \"" + lower + "\"");
    }
    // Metric name selector.
    pos_ += id.size();
    Ptr node = Node(ExprKind::kVectorSelector, start);
    node->metric_name = std::string(id);
    Matcher name_matcher;
    name_matcher.name = "__name__";
    name_matcher.value = node->metric_name;
    node->matchers.push_back(std::move(name_matcher));
    SkipSpace();
    if (Peek() == '{') {
      if (auto s = ParseMatchers(node.get()); !s.ok()) return s;
      for (size_t i = 1; i < node->matchers.size(); ++i) {
        if (node->matchers[i].name == "__name__") {
          return ErrorAt(start, "metric name must not be set twice: \"" + node->metric_name +
                                    "\" and a __name__ matcher");
        }
      }
    }
    if (auto s = CheckSelector(*node, start); !s.ok()) return s;
    return node;
  }

  strobe::Status CheckSelector(const Expr& node, size_t pos) const {
    for (const Matcher& m : node.matchers) {
      if (!m.Matches("")) return strobe::OkStatus();
    }
    return ErrorAt(pos, "vector selector must contain at least one non-empty matcher");
  }

  PResult ParseNumber() {
    const size_t start = pos_;
    Ptr node = Node(ExprKind::kNumber, start);
    if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X')) {
      pos_ += 2;
      const size_t ds = pos_;
      while (!AtEnd() && std::isxdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      if (pos_ == ds) return ErrorAt(start, "bad hexadecimal number");
      uint64_t v = 0;
      auto r = std::from_chars(text_.data() + ds, text_.data() + pos_, v, 16);
      if (r.ec != std::errc()) return ErrorAt(start, "hexadecimal number out of range");
      node->number = static_cast<double>(v);
    } else {
      while (!AtEnd() && (IsDigit(text_[pos_]) || text_[pos_] == '.')) ++pos_;
      if (!AtEnd() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
        size_t e = pos_ + 1;
        if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
        if (e < text_.size() && IsDigit(text_[e])) {
          pos_ = e;
          while (!AtEnd() && IsDigit(text_[pos_])) ++pos_;
        }
      }
      double v = 0;
      auto r = std::from_chars(text_.data() + start, text_.data() + pos_, v);
      if (r.ec == std::errc::result_out_of_range) {
        v = std::strtod(std::string(text_.substr(start, pos_ - start)).c_str(), nullptr);
      } else if (r.ec != std::errc() || r.ptr != text_.data() + pos_) {
        return ErrorAt(start,
                       "bad number \"" + std::string(text_.substr(start, pos_ - start)) + "\"");
      }
      node->number = v;
    }
    if (!AtEnd() && IsIdentStart(text_[pos_])) {
      return ErrorAt(start,
                     "bad number or duration syntax: durations are only allowed in "
                     "ranges and offsets");
    }
    return node;
  }

  // Duration as Prometheus' model.ParseDuration: units y w d h m s ms, each at most once,
  // largest first. Returns milliseconds.
  strobe::Result<int64_t> ParseDuration() {
    const size_t start = pos_;
    struct Unit {
      std::string_view name;
      int64_t ms;
    };
    static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                      {"w", 7LL * 24 * 3600 * 1000},
                                      {"d", 24LL * 3600 * 1000},
                                      {"h", 3600LL * 1000},
                                      {"m", 60LL * 1000},
                                      {"s", 1000},
                                      {"ms", 1}};
    int64_t total = 0;
    int next_unit = 0;  // index of the smallest unit still allowed
    bool any = false;
    while (!AtEnd() && IsDigit(text_[pos_])) {
      const size_t ds = pos_;
      while (!AtEnd() && IsDigit(text_[pos_])) ++pos_;
      int64_t n = 0;
      auto r = std::from_chars(text_.data() + ds, text_.data() + pos_, n);
      if (r.ec != std::errc()) return ErrorAt(start, "duration out of range");
      const size_t us = pos_;
      while (!AtEnd() && ((text_[pos_] >= 'a' && text_[pos_] <= 'z'))) ++pos_;
      const std::string_view unit = text_.substr(us, pos_ - us);
      int found = -1;
      for (int i = 0; i < 7; ++i) {
        if (kUnits[i].name == unit) found = i;
      }
      if (found < 0) {
        // "1m5s": the letters run into the next number only through digits, so a unit like
        // "mx" is simply unknown.
        return ErrorAt(start, "bad duration \"" + std::string(text_.substr(start, pos_ - start)) +
                                  "\": unit must be one of ms s m h d w y");
      }
      if (found < next_unit) {
        return ErrorAt(start, "bad duration \"" + std::string(text_.substr(start, pos_ - start)) +
                                  "\": units must be in decreasing order, each once");
      }
      next_unit = found + 1;
      if (n > std::numeric_limits<int64_t>::max() / kUnits[found].ms ||
          total > std::numeric_limits<int64_t>::max() - n * kUnits[found].ms) {
        return ErrorAt(start, "duration out of range");
      }
      total += n * kUnits[found].ms;
      any = true;
    }
    if (!any) return ErrorAt(start, "unexpected " + Describe() + ", expected a duration");
    // Cap at ~292 years so t - range never overflows int64 milliseconds.
    if (total > (int64_t{1} << 53)) return ErrorAt(start, "duration out of range");
    return total;
  }

  strobe::Status ParseLabelList(std::vector<std::string>* out) {
    if (auto s = Expect('(', "opening the label list"); !s.ok()) return s;
    if (Accept(')')) return strobe::OkStatus();
    while (true) {
      SkipSpace();
      const size_t lpos = pos_;
      std::string_view id = PeekIdent();
      if (id.empty() || id.find(':') != std::string_view::npos) {
        return ErrorAt(lpos, "unexpected " + Describe() + " in grouping opts, expected label");
      }
      pos_ += id.size();
      out->emplace_back(id);
      if (Accept(',')) {
        if (Accept(')')) return strobe::OkStatus();
        continue;
      }
      return Expect(')', "closing the label list");
    }
  }

  strobe::Result<std::string> ParseString() {
    SkipSpace();
    const size_t start = pos_;
    const char q = Peek();
    if (q != '"' && q != '\'' && q != '`') {
      return Error("unexpected " + Describe() + ", expected a string");
    }
    ++pos_;
    std::string out;
    while (true) {
      if (AtEnd()) return ErrorAt(start, "unterminated quoted string");
      const char c = text_[pos_++];
      if (c == q) break;
      if (q == '`') {
        out.push_back(c);
        continue;
      }
      if (c == '\n') return ErrorAt(start, "unterminated quoted string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (AtEnd()) return ErrorAt(start, "unterminated quoted string");
      const char e = text_[pos_++];
      switch (e) {
        case 'n':
          out.push_back('\n');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 'a':
          out.push_back('\a');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'v':
          out.push_back('\v');
          break;
        case '\\':
        case '"':
        case '\'':
          out.push_back(e);
          break;
        default:
          // Go string escapes we do not decode (\x, \u, octal) are an error rather than a
          // silently different value.
          return ErrorAt(pos_ - 2, std::string("unknown escape sequence \\") + e);
      }
    }
    return out;
  }

  strobe::Status ParseMatchers(Expr* node) {
    if (auto s = Expect('{', ""); !s.ok()) return s;
    if (Accept('}')) return strobe::OkStatus();
    while (true) {
      SkipSpace();
      const size_t mpos = pos_;
      std::string_view id = PeekIdent();
      if (id.empty() || id.find(':') != std::string_view::npos) {
        return Error("unexpected " + Describe() + " in label matching, expected label");
      }
      pos_ += id.size();
      Matcher m;
      m.name = std::string(id);
      SkipSpace();
      const char c = Peek();
      const char n = Peek(1);
      if (c == '=' && n == '~') {
        m.op = MatchOp::kRegex;
        pos_ += 2;
      } else if (c == '!' && n == '~') {
        m.op = MatchOp::kNotRegex;
        pos_ += 2;
      } else if (c == '!' && n == '=') {
        m.op = MatchOp::kNotEqual;
        pos_ += 2;
      } else if (c == '=' && n != '=') {
        m.op = MatchOp::kEqual;
        pos_ += 1;
      } else {
        return Error("unexpected " + Describe() +
                     " in label matching, expected one of \"=\", \"!=\", \"=~\", \"!~\"");
      }
      const size_t vpos = (SkipSpace(), pos_);
      auto v = ParseString();
      if (!v.ok()) return v.status();
      m.value = std::move(*v);
      if (m.op == MatchOp::kRegex || m.op == MatchOp::kNotRegex) {
        if (auto s = CompileRegex(&m, vpos); !s.ok()) return s;
      }
      (void)mpos;
      node->matchers.push_back(std::move(m));
      if (Accept(',')) {
        if (Accept('}')) return strobe::OkStatus();
        continue;
      }
      return Expect('}', "closing the label matchers");
    }
  }

  strobe::Status CompileRegex(Matcher* m, size_t pos) {
    // RE2 constructs std::regex does not know, rejected so they never silently mismatch.
    const std::string& v = m->value;
    for (size_t i = v.find("(?"); i != std::string::npos; i = v.find("(?", i + 2)) {
      if (i + 2 >= v.size() || v[i + 2] != ':') {
        return ErrorAt(pos, "unsupported regex group \"(?" +
                                (i + 2 < v.size() ? std::string(1, v[i + 2]) : std::string()) +
                                "\" in \"" + v + "\" (only (?:...) is supported)");
      }
    }
    if (v.find("\\p") != std::string::npos || v.find("\\P") != std::string::npos ||
        v.find("\\Q") != std::string::npos || v.find("\\z") != std::string::npos ||
        v.find("\\A") != std::string::npos || v.find("[[:") != std::string::npos) {
      return ErrorAt(pos, "unsupported regex syntax in \"" + v + "\"");
    }
    if (v.size() > 4096) return ErrorAt(pos, "regex longer than 4096 bytes");
    try {
      // __polynomial (libstdc++) selects the breadth-first executor: no backtracking, no
      // recursion proportional to the subject length (the default executor recurses per
      // character and overflows the stack on long label values), and back-references — which
      // RE2 rejects too — fail to compile.
      m->re = std::make_shared<const std::regex>(
          "^(?:" + v + ")$", std::regex::ECMAScript | std::regex_constants::__polynomial);
    } catch (const std::regex_error& e) {
      return ErrorAt(pos, "invalid regular expression \"" + v + "\": " + e.what());
    }
    return strobe::OkStatus();
  }

  PResult ParseAggregate(AggOp op, size_t name_len, size_t start) {
    pos_ += name_len;
    Ptr node = Node(ExprKind::kAggregate, start);
    node->agg = op;
    bool have_grouping = false;
    auto parse_grouping = [&]() -> strobe::Status {
      const size_t gpos = (SkipSpace(), pos_);
      if (AcceptKeyword("by")) {
        node->without = false;
      } else if (AcceptKeyword("without")) {
        node->without = true;
      } else {
        return strobe::OkStatus();
      }
      if (have_grouping) return ErrorAt(gpos, "grouping given twice");
      have_grouping = true;
      return ParseLabelList(&node->grouping);
    };
    if (auto s = parse_grouping(); !s.ok()) return s;
    if (auto s = Expect('(', "after the aggregation"); !s.ok()) return s;
    SkipSpace();
    const size_t apos = pos_;
    auto arg = ParseExpr(0);
    if (!arg.ok()) return arg;
    SkipSpace();
    if (Peek() == ',') {
      return Error("aggregation \"" + std::string(AggName(op)) + "\" takes one argument");
    }
    if (auto s = Expect(')', "closing the aggregation"); !s.ok()) return s;
    if (TypeOf(**arg) != ValueType::kVector) {
      return ErrorAt(
          apos, "expected type instant vector in aggregation expression, got " +
                    std::string(TypeOf(**arg) == ValueType::kScalar ? "scalar" : "range vector"));
    }
    node->args.push_back(std::move(*arg));
    if (auto s = parse_grouping(); !s.ok()) return s;
    return node;
  }

  PResult ParseCall(const FunctionInfo& f, size_t name_len, size_t start) {
    pos_ += name_len;
    Ptr node = Node(ExprKind::kCall, start);
    node->func = f.func;
    if (auto s = Expect('(', ""); !s.ok()) return s;
    SkipSpace();
    if (Peek() != ')') {
      while (true) {
        SkipSpace();
        const size_t apos = pos_;
        auto arg = ParseExpr(0);
        if (!arg.ok()) return arg;
        const size_t i = node->args.size();
        if (i < f.args.size() && TypeOf(**arg) != f.args[i]) {
          static constexpr std::string_view kNames[] = {"scalar", "instant vector", "range vector"};
          return ErrorAt(apos, "expected type " + std::string(kNames[static_cast<int>(f.args[i])]) +
                                   " in call to function \"" + std::string(f.name) + "\", got " +
                                   std::string(kNames[static_cast<int>(TypeOf(**arg))]));
        }
        node->args.push_back(std::move(*arg));
        if (!Accept(',')) break;
      }
    }
    if (auto s = Expect(')', "closing the call"); !s.ok()) return s;
    const size_t n = node->args.size();
    if (n > f.args.size() || n + static_cast<size_t>(f.optional_args) < f.args.size()) {
      return ErrorAt(start, "expected " + std::to_string(f.args.size()) +
                                " argument(s) in call to \"" + std::string(f.name) + "\", got " +
                                std::to_string(n));
    }
    return node;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
};

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  struct Unit {
    const char* name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                    {"w", 7LL * 24 * 3600 * 1000},
                                    {"d", 24LL * 3600 * 1000},
                                    {"h", 3600LL * 1000},
                                    {"m", 60LL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  std::string out;
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string LabelList(const std::vector<std::string>& labels) {
  std::string out = "(";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels[i];
  }
  out += ")";
  return out;
}

void Write(const Expr& e, std::string* out) {
  switch (e.kind) {
    case ExprKind::kNumber:
      *out += FormatNumber(e.number);
      return;
    case ExprKind::kVectorSelector:
    case ExprKind::kMatrixSelector: {
      *out += e.metric_name;
      std::string ms;
      for (const Matcher& m : e.matchers) {
        if (!e.metric_name.empty() && m.name == "__name__" && m.op == MatchOp::kEqual &&
            m.value == e.metric_name) {
          continue;
        }
        if (!ms.empty()) ms += ", ";
        static constexpr std::string_view kOps[] = {"=", "!=", "=~", "!~"};
        ms += m.name;
        ms += kOps[static_cast<int>(m.op)];
        ms += Quote(m.value);
      }
      if (!ms.empty() || e.metric_name.empty()) *out += "{" + ms + "}";
      if (e.kind == ExprKind::kMatrixSelector) *out += "[" + FormatDuration(e.range_ms) + "]";
      if (e.offset_ms != 0) *out += " offset " + FormatDuration(e.offset_ms);
      return;
    }
    case ExprKind::kCall:
      *out += InfoOf(e.func).name;
      *out += "(";
      for (size_t i = 0; i < e.args.size(); ++i) {
        if (i > 0) *out += ", ";
        Write(*e.args[i], out);
      }
      *out += ")";
      return;
    case ExprKind::kAggregate:
      *out += AggName(e.agg);
      if (e.without || !e.grouping.empty()) {
        *out += e.without ? " without " : " by ";
        *out += LabelList(e.grouping);
        *out += " ";
      }
      *out += "(";
      Write(*e.args[0], out);
      *out += ")";
      return;
    case ExprKind::kUnary:
      *out += "-";
      Write(*e.args[0], out);
      return;
    case ExprKind::kParen:
      *out += "(";
      Write(*e.args[0], out);
      *out += ")";
      return;
    case ExprKind::kBinary: {
      Write(*e.args[0], out);
      *out += " ";
      *out += BinOpName(e.bin_op);
      if (e.return_bool) *out += " bool";
      const VectorMatching& m = e.matching;
      if (m.on || !m.labels.empty()) {
        *out += m.on ? " on" : " ignoring";
        *out += LabelList(m.labels);
      }
      if (m.card == VectorMatching::Card::kManyToOne ||
          m.card == VectorMatching::Card::kOneToMany) {
        if (!m.on && m.labels.empty()) *out += " ignoring()";
        *out += m.card == VectorMatching::Card::kManyToOne ? " group_left" : " group_right";
        if (!m.include.empty()) *out += LabelList(m.include);
      }
      *out += " ";
      Write(*e.args[1], out);
      return;
    }
  }
}

}  // namespace

bool Matcher::Matches(std::string_view v) const {
  switch (op) {
    case MatchOp::kEqual:
      return v == value;
    case MatchOp::kNotEqual:
      return v != value;
    case MatchOp::kRegex:
      return re != nullptr && std::regex_match(v.begin(), v.end(), *re);
    case MatchOp::kNotRegex:
      return re == nullptr || !std::regex_match(v.begin(), v.end(), *re);
  }
  return false;
}

strobe::Result<Expr> Parse(std::string_view text) { return Parser(text).Run(); }

strobe::Result<int64_t> ParseDurationMs(std::string_view text) { return Parser(text).Duration(); }

int64_t MaxRangeMs(const Expr& expr) {
  int64_t own = 0;
  if (expr.kind == ExprKind::kVectorSelector || expr.kind == ExprKind::kMatrixSelector) {
    own = expr.range_ms + expr.offset_ms;
  }
  for (const auto& a : expr.args) own = std::max(own, MaxRangeMs(*a));
  return own;
}

std::string ToString(const Expr& expr) {
  std::string out;
  Write(expr, &out);
  return out;
}

ValueType TypeOf(const Expr& expr) {
  switch (expr.kind) {
    case ExprKind::kNumber:
      return ValueType::kScalar;
    case ExprKind::kVectorSelector:
    case ExprKind::kAggregate:
      return ValueType::kVector;
    case ExprKind::kMatrixSelector:
      return ValueType::kMatrix;
    case ExprKind::kCall:
      return InfoOf(expr.func).result;
    case ExprKind::kUnary:
    case ExprKind::kParen:
      return expr.args.empty() ? ValueType::kScalar : TypeOf(*expr.args[0]);
    case ExprKind::kBinary:
      if (expr.args.size() < 2) return ValueType::kScalar;
      return TypeOf(*expr.args[0]) == ValueType::kScalar &&
                     TypeOf(*expr.args[1]) == ValueType::kScalar
                 ? ValueType::kScalar
                 : ValueType::kVector;
  }
  return ValueType::kScalar;
}

}  // namespace strobed::alert::promql
