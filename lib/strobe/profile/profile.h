#pragma once

// strobe::profile::Profile: a symbolised profile (CPU or heap) as plain data, and its two
// output forms: the pprof protobuf (profile.proto of github.com/google/pprof, gzip-compressed as
// `go tool pprof` and every /debug/pprof endpoint expect) and folded stacks (Brendan Gregg's
// "root;caller;leaf count" lines, the input of flamegraph.pl and speedscope).
//
//   Profile p;
//   p.sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}};
//   ...                                                  // usually built by Symbolize()
//   Result<std::string> gz = EncodePprofGzip(p);         // the .pb.gz file
//   std::string folded = FoldedStacks(p, 0);             // value 0 = sample count
//
// The encoder is our own (a few dozen lines of protobuf wire format): libstrobe links no
// protobuf library (DESIGN.md). Field numbers follow profile.proto; testdata/profile.proto is
// a copy written from the spec that the tests decode our output with (`protoc --decode`).
//
// Thread class: value types and pure functions; thread-compatible.

#include <cstdint>
#include <string>
#include <vector>

#include "strobe/base/status.h"

namespace strobe::profile {

struct ValueType {
  std::string type;  // "samples", "cpu", "alloc_space", ...
  std::string unit;  // "count", "nanoseconds", "bytes"
};

// One executable mapping of the profiled process (a binary or shared library).
struct Mapping {
  uint64_t memory_start = 0;
  uint64_t memory_limit = 0;
  uint64_t file_offset = 0;
  std::string filename;  // path of the mapped file ("" for anonymous code, e.g. JIT)
  std::string build_id;  // hex GNU build-id ("" when the file has none)
};

// One distinct program counter. `function` is the demangled symbol ("" when unknown).
struct Location {
  uint64_t address = 0;
  int mapping = -1;  // index into Profile::mappings, -1 when no mapping contains the address
  std::string function;
};

struct Sample {
  std::vector<uint32_t> locations;  // indices into Profile::locations, leaf first
  std::vector<int64_t> values;      // one per Profile::sample_types
};

struct Profile {
  std::vector<ValueType> sample_types;
  ValueType period_type;
  int64_t period = 0;
  int64_t time_nanos = 0;      // wall-clock start, Unix epoch
  int64_t duration_nanos = 0;  // wall-clock length
  std::vector<Mapping> mappings;
  std::vector<Location> locations;
  std::vector<Sample> samples;
  std::vector<std::string> comments;  // free text pprof shows in its header (drop counts, ...)
};

// The uncompressed profile.proto encoding of `p`. Location and function ids are index + 1;
// functions are deduplicated by name; a location without a name gets no Line (pprof then shows
// its address). Every mapping is marked has_functions (we symbolise ourselves, so pprof does
// not look for the binaries). Indices out of range are a caller bug (STROBE_CHECK).
std::string EncodePprof(const Profile& p);

// EncodePprof() compressed with gzip (what /debug/pprof/* serves). Internal on a zlib error.
Result<std::string> EncodePprofGzip(const Profile& p);

// Gzip-compresses `data` (RFC 1952). Internal on a zlib error.
Result<std::string> Gzip(const std::string& data);

// Folded stacks: one line per distinct stack, frames root first joined by ';', a space and the
// sum of values[value_index] over the samples with that stack; lines sorted by stack; samples
// whose value is 0 omitted. Unknown frames show as "0x<address>"; ';' and spaces inside a name
// (template arguments, "operator()") are kept except that ';' becomes ':' (it is the separator).
std::string FoldedStacks(const Profile& p, size_t value_index);

}  // namespace strobe::profile
