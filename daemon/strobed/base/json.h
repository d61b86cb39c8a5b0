#pragma once

// strobed::base JSON output: the daemon's one JSON string escaper and one JSON writer. Every
// JSON body the daemon produces (REST API, WebSocket events, alert notifier payloads, OTLP
// partial-success answers, `strobe` command output) goes through these, so the rules below
// hold everywhere.
//
// Strings (JsonEscape, JsonQuote, JsonWriter::Key/String):
//   - `"` and `\` are escaped; \b \f \n \r \t use their short forms; every other control
//     character (U+0000..U+001F) is written as \u00XX. Everything else, including DEL and
//     valid non-ASCII UTF-8, is copied unchanged (JSON does not require more).
//   - Input is not trusted to be UTF-8 (span attributes, metric labels and rule files are not
//     validated on ingest). Each byte that does not start a well-formed UTF-8 sequence
//     (stray continuation bytes, overlong forms, surrogates U+D800..U+DFFF, code points above
//     U+10FFFF, sequences cut short by the end of the string or by a non-continuation byte)
//     is replaced by U+FFFD and scanning resumes at the next byte. So "\xE2\x82" (a truncated
//     3-byte sequence) becomes two U+FFFD. The output is always valid UTF-8 and valid JSON.
//
// Numbers (JsonNumber, JsonWriter::Double): the shortest decimal that reads back as the same
// double (std::to_chars), e.g. 0.1 -> "0.1", 1e21 -> "1e+21". JSON has no NaN or infinity:
// non-finite values are written as `null`. Integers (JsonWriter::Int/Uint) are exact.
//
//   JsonWriter w;
//   w.BeginObject();
//   w.Key("version"); w.String("0.1.0");
//   w.Key("uptime_seconds"); w.Double(12.5);
//   w.Key("components"); w.BeginArray(); ... w.EndArray();
//   w.EndObject();
//   std::string body = std::move(w).Take();
//
// Thread class: the functions are thread-safe (pure); JsonWriter is thread-compatible.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace strobed::base {

// Appends `s` escaped for use inside a JSON string literal (without the quotes) to `out`.
void AppendJsonEscaped(std::string_view s, std::string& out);

// `s` escaped for use inside a JSON string literal (without the quotes).
std::string JsonEscape(std::string_view s);

// `s` as a JSON string literal, quotes included.
std::string JsonQuote(std::string_view s);

// `v` as a JSON number (shortest round-trip form), or "null" when `v` is NaN or infinite.
std::string JsonNumber(double v);

// A string -> string map as a JSON object, keys in map order, keys and values as JsonQuote.
std::string JsonStringMap(const std::map<std::string, std::string>& m);

// Builds one compact JSON document into a string. Commas and escaping are handled; nesting is
// the caller's job (Begin/End must pair, and a Key must precede each value inside an object;
// checked in debug builds only).
class JsonWriter {
 public:
  // Open / close an object or array; each Begin needs its End, innermost first.
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // Writes an object member's key (escaped); exactly one value must follow.
  void Key(std::string_view key);
  // Values: a top-level value, an array element, or the value after a Key.
  void String(std::string_view value);  // escaped as JsonEscape
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Double(double value);  // as JsonNumber: non-finite values are written as null
  void Bool(bool value);
  void Null();
  // Inserts `json` verbatim as one value. Precondition: `json` is one valid JSON value (it is
  // not checked).
  void Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() && { return std::move(out_); }

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace strobed::base
