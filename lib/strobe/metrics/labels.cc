#include "strobe/metrics/labels.h"

#include <cstdint>

namespace strobe::metrics {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAlpha(c) || c == '_' || c == ':' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAlpha(c) || c == '_' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong encodings, surrogates and values beyond U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

Status ValidateMetricName(std::string_view name) {
  if (IsValidMetricName(name)) return OkStatus();
  return InvalidArgument("invalid metric name '" + std::string(name) +
                         "': must match [a-zA-Z_:][a-zA-Z0-9_:]*");
}

Status ValidateLabelName(std::string_view metric, std::string_view label) {
  if (IsValidLabelName(label)) return OkStatus();
  if (label.starts_with("__")) {
    return InvalidArgument("metric '" + std::string(metric) + "': label name '" +
                           std::string(label) + "' is reserved (starts with \"__\")");
  }
  return InvalidArgument("metric '" + std::string(metric) + "': invalid label name '" +
                         std::string(label) + "': must match [a-zA-Z_][a-zA-Z0-9_]*");
}

void AppendEscapedLabelValue(std::string* out, std::string_view value) {
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out->append(value.data() + start, i - start);
    out->append(c == '\\' ? "\\\\" : c == '"' ? "\\\"" : "\\n");
    start = i + 1;
  }
  out->append(value.data() + start, value.size() - start);
}

void AppendEscapedHelp(std::string* out, std::string_view help, bool escape_quotes) {
  for (const char c : help) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && escape_quotes) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace strobe::metrics
