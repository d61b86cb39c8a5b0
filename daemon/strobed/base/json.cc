#include "strobed/base/json.h"

#include <charconv>
#include <cmath>

#include "strobe/base/check.h"

namespace strobed::base {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Length of the well-formed UTF-8 sequence starting at s[i] (s[i] >= 0x80), or 0 when the
// bytes there do not form one: a continuation or invalid lead byte, a sequence running past
// the end or into a non-continuation byte, an overlong form, a surrogate, or > U+10FFFF.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  uint32_t min = 0;
  if ((b & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n > s.size() - i) return 0;
  uint32_t cp = b & (0x7Fu >> n);
  for (size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// True for ASCII bytes that are copied unchanged.
bool Plain(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

}  // namespace

void AppendJsonEscaped(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  size_t i = 0;
  while (i < s.size()) {
    // Copy the run of plain ASCII in one append: the common case for names and labels.
    size_t run = i;
    while (run < s.size() && Plain(static_cast<unsigned char>(s[run]))) ++run;
    if (run != i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out += kReplacement;
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:  // the other control characters
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
    ++i;
  }
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  AppendJsonEscaped(s, out);
  return out;
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  out += '"';
  AppendJsonEscaped(s, out);
  out += '"';
  return out;
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];  // the longest shortest-form double is 24 characters
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v);
  STROBE_DCHECK(r.ec == std::errc());
  return std::string(buf, r.ptr);
}

std::string JsonStringMap(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ',';
    out += '"';
    AppendJsonEscaped(k, out);
    out += "\":\"";
    AppendJsonEscaped(v, out);
    out += '"';
  }
  out += '}';
  return out;
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_ += '{';
  first_.push_back(true);
}

void JsonWriter::EndObject() {
  STROBE_DCHECK(!first_.empty() && !after_key_);
  first_.pop_back();
  out_ += '}';
}

void JsonWriter::BeginArray() {
  BeforeValue();
  out_ += '[';
  first_.push_back(true);
}

void JsonWriter::EndArray() {
  STROBE_DCHECK(!first_.empty() && !after_key_);
  first_.pop_back();
  out_ += ']';
}

void JsonWriter::Key(std::string_view key) {
  STROBE_DCHECK(!after_key_);
  BeforeValue();
  out_ += '"';
  AppendJsonEscaped(key, out_);
  out_ += "\":";
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  out_ += '"';
  AppendJsonEscaped(value, out_);
  out_ += '"';
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof(buf), value).ptr);
}

void JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof(buf), value).ptr);
}

void JsonWriter::Double(double value) {
  BeforeValue();
  out_ += JsonNumber(value);
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
}

void JsonWriter::Null() {
  BeforeValue();
  out_ += "null";
}

void JsonWriter::Raw(std::string_view json) {
  BeforeValue();
  out_.append(json);
}

}  // namespace strobed::base
