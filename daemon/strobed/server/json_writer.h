#pragma once

// strobed::server::JsonWriter: builds a compact JSON document into a string, for the REST API
// (/api/v1/status, /api/v1/metrics) and any module answering JSON. Commas and escaping are
// handled; nesting is the caller's job (Begin/End must pair — checked in debug builds).
//
//   JsonWriter w;
//   w.BeginObject();
//   w.Key("version"); w.String("0.1.0");
//   w.Key("uptime_seconds"); w.Double(12.5);
//   w.Key("components"); w.BeginArray(); ... w.EndArray();
//   w.EndObject();
//   std::string body = std::move(w).Take();
//
// Non-finite doubles are written as null (JSON has no NaN/Inf).
//
// Thread class: thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strobed::server {

class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);
  void String(std::string_view value);
  void Int(int64_t value);
  void Uint(uint64_t value);
  void Double(double value);
  void Bool(bool value);
  void Null();
  // Inserts `json` verbatim as one value (must be valid JSON).
  void Raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string Take() && { return std::move(out_); }

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace strobed::server
