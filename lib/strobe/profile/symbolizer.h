#pragma once

// strobe::profile::Symbolize: turns raw stacks of program counters captured in this process
// into a Profile (profile.h) whose locations carry demangled function names.
//
//   std::vector<RawSample> raw = ...;                 // from CpuProfiler / HeapProfiler
//   Result<Profile> p = Symbolize(raw, header);        // reads /proc/self/maps and the ELF files
//
// How: the executable mappings of /proc/self/maps name each file and where it is loaded; a pc
// becomes a file offset, then an ELF virtual address through the file's PT_LOAD headers, then
// the function symbol (.symtab, else .dynsym) whose [value, value + size) contains it. Names are
// demangled with the C++ ABI's __cxa_demangle. Every pc except a stack's first (the interrupted
// instruction) is a return address: it is looked up at pc - 1, inside the call instruction, so a
// call that is the last instruction of a function is not charged to the next one.
//
// Not available: source lines and inlined frames (they need DWARF; Debian's libdw is not
// linked — see docs/design/profiling.md). A stripped binary yields only its exported .dynsym
// functions; a pc outside every symbol stays an address, shown as "0x..." by pprof and the
// folded output. The [vdso] mapping is not symbolised.
//
// Thread class: thread-safe (no shared state); slow (reads and maps ELF files): control plane.

#include <cstdint>
#include <string>
#include <vector>

#include "strobe/base/status.h"
#include "strobe/profile/profile.h"

namespace strobe::profile {

// One captured stack and its values (one per Profile::sample_types).
struct RawSample {
  std::vector<uint64_t> pcs;  // leaf first; pcs[0] is the interrupted/allocating instruction
  std::vector<int64_t> values;
};

// Builds a Profile from `samples` and `header` (whose sample_types, period, times and comments
// are kept; its mappings, locations and samples are replaced). Equal pcs share a Location.
// Reads /proc/self/maps: Internal if it cannot. An ELF file that cannot be read or parsed only
// leaves its locations unnamed.
Result<Profile> Symbolize(const std::vector<RawSample>& samples, Profile header);

// The demangled form of `symbol` (itself when it is not a mangled C++ name).
std::string Demangle(const char* symbol);

}  // namespace strobe::profile
