#include "strobe/profile/profile.h"

#include <zlib.h>

#include <cstdio>
#include <map>
#include <string_view>
#include <unordered_map>

#include "strobe/base/check.h"

namespace strobe::profile {
namespace {

// Protobuf wire format (https://protobuf.dev/programming-guides/encoding/): enough of it for
// profile.proto, which uses only varints, packed varints, and length-delimited messages.
class ProtoWriter {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Tag(uint32_t field, uint32_t wire_type) { Varint((uint64_t{field} << 3) | wire_type); }
  // proto3 scalars: the default (0) is not written.
  void Uint(uint32_t field, uint64_t v) {
    if (v == 0) return;
    Tag(field, 0);
    Varint(v);
  }
  void Int(uint32_t field, int64_t v) { Uint(field, static_cast<uint64_t>(v)); }
  void Bool(uint32_t field, bool v) { Uint(field, v ? 1 : 0); }
  void Bytes(uint32_t field, std::string_view s) {
    Tag(field, 2);
    Varint(s.size());
    out_.append(s);
  }
  // A repeated scalar field, packed (the proto3 default encoding).
  template <typename It>
  void Packed(uint32_t field, It begin, It end) {
    if (begin == end) return;
    ProtoWriter inner;
    for (It it = begin; it != end; ++it) inner.Varint(static_cast<uint64_t>(*it));
    Bytes(field, inner.out_);
  }
  void Message(uint32_t field, const ProtoWriter& m) { Bytes(field, m.out_); }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

// profile.proto's string table: index 0 is always "".
class StringTable {
 public:
  StringTable() { Index(""); }
  int64_t Index(const std::string& s) {
    auto [it, inserted] = index_.try_emplace(s, static_cast<int64_t>(strings_.size()));
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  const std::vector<std::string>& strings() const { return strings_; }

 private:
  std::unordered_map<std::string, int64_t> index_;
  std::vector<std::string> strings_;
};

ProtoWriter EncodeValueType(const ValueType& v, StringTable& strings) {
  ProtoWriter w;
  w.Int(1, strings.Index(v.type));
  w.Int(2, strings.Index(v.unit));
  return w;
}

}  // namespace

std::string EncodePprof(const Profile& p) {
  StringTable strings;
  ProtoWriter w;
  // Field numbers: message Profile in profile.proto.
  for (const ValueType& v : p.sample_types) w.Message(1, EncodeValueType(v, strings));
  for (const Sample& s : p.samples) {
    STROBE_CHECK(s.values.size() == p.sample_types.size());
    ProtoWriter m;
    std::vector<uint64_t> ids;
    ids.reserve(s.locations.size());
    for (uint32_t l : s.locations) {
      STROBE_CHECK(l < p.locations.size());
      ids.push_back(uint64_t{l} + 1);
    }
    m.Packed(1, ids.begin(), ids.end());
    m.Packed(2, s.values.begin(), s.values.end());
    w.Message(2, m);
  }
  for (size_t i = 0; i < p.mappings.size(); ++i) {
    const Mapping& mp = p.mappings[i];
    ProtoWriter m;
    m.Uint(1, i + 1);
    m.Uint(2, mp.memory_start);
    m.Uint(3, mp.memory_limit);
    m.Uint(4, mp.file_offset);
    m.Int(5, strings.Index(mp.filename));
    m.Int(6, strings.Index(mp.build_id));
    m.Bool(7, true);  // has_functions: we symbolised every location we could
    w.Message(3, m);
  }
  // Functions are deduplicated by name; ids in order of first use.
  std::unordered_map<std::string, uint64_t> function_ids;
  std::vector<const std::string*> functions;
  for (size_t i = 0; i < p.locations.size(); ++i) {
    const Location& loc = p.locations[i];
    ProtoWriter m;
    m.Uint(1, i + 1);
    if (loc.mapping >= 0) {
      STROBE_CHECK(static_cast<size_t>(loc.mapping) < p.mappings.size());
      m.Uint(2, static_cast<uint64_t>(loc.mapping) + 1);
    }
    m.Uint(3, loc.address);
    if (!loc.function.empty()) {
      auto [it, inserted] = function_ids.try_emplace(loc.function, functions.size() + 1);
      if (inserted) functions.push_back(&loc.function);
      ProtoWriter line;
      line.Uint(1, it->second);
      m.Message(4, line);
    }
    w.Message(4, m);
  }
  for (size_t i = 0; i < functions.size(); ++i) {
    ProtoWriter m;
    m.Uint(1, i + 1);
    int64_t name = strings.Index(*functions[i]);
    m.Int(2, name);
    m.Int(3, name);  // system_name: we keep only the demangled form
    w.Message(5, m);
  }
  // Everything that refers to the string table is built; these go last among the references.
  ProtoWriter period_type = EncodeValueType(p.period_type, strings);
  std::vector<int64_t> comments;
  for (const std::string& c : p.comments) comments.push_back(strings.Index(c));
  for (const std::string& s : strings.strings()) w.Bytes(6, s);
  w.Int(9, p.time_nanos);
  w.Int(10, p.duration_nanos);
  w.Message(11, period_type);
  w.Int(12, p.period);
  w.Packed(13, comments.begin(), comments.end());
  return std::move(w.out());
}

Result<std::string> Gzip(const std::string& data) {
  z_stream z{};
  // windowBits 15 + 16: gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Internal("gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  // zlib's API takes non-const input pointers; it does not write through next_in.
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Internal("gzip: deflate did not finish");
  return out;
}

Result<std::string> EncodePprofGzip(const Profile& p) { return Gzip(EncodePprof(p)); }

std::string FoldedStacks(const Profile& p, size_t value_index) {
  std::map<std::string, int64_t> stacks;
  for (const Sample& s : p.samples) {
    if (value_index >= s.values.size() || s.values[value_index] == 0) continue;
    std::string key;
    for (size_t i = s.locations.size(); i-- > 0;) {
      STROBE_CHECK(s.locations[i] < p.locations.size());
      const Location& loc = p.locations[s.locations[i]];
      if (!key.empty()) key.push_back(';');
      if (loc.function.empty()) {
        char buf[32];
        snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(loc.address));
        key += buf;
      } else {
        for (char c : loc.function) key.push_back(c == ';' ? ':' : c);
      }
    }
    stacks[key] += s.values[value_index];
  }
  std::string out;
  for (const auto& [stack, value] : stacks) {
    out += stack;
    out.push_back(' ');
    out += std::to_string(value);
    out.push_back('\n');
  }
  return out;
}

}  // namespace strobe::profile
