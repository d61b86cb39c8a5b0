#pragma once

// strobe::shm segment helpers shared by the producer and the consumer: naming, mapping and
// header access on top of ring_abi.h. Not a hot-path API.
//
// Segment files are `<dir>/strobe-<ring>-<pid>`; the daemon marks its presence with
// `<dir>/strobe-<ring>.daemon` holding its pid as text, which producers check on connect.
//
// Thread class: the functions are thread-safe; a Mapping is thread-compatible.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

struct stat;

#include "strobe/base/status.h"
#include "strobe/shm/ring_abi.h"

namespace strobe::shm {

// An mmap()ed region, unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  Mapping(void* base, size_t size) : base_(base), size_(size) {}
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

  uint8_t* data() const { return static_cast<uint8_t*>(base_); }
  size_t size() const { return size_; }
  bool valid() const { return base_ != nullptr; }

 private:
  void* base_ = nullptr;
  size_t size_ = 0;
};

// "<dir>/strobe-<ring>-<pid>".
std::string SegmentPath(std::string_view dir, std::string_view ring, uint32_t pid);
// "<dir>/strobe-<ring>.daemon".
std::string DaemonMarkerPath(std::string_view dir, std::string_view ring);
// True when `name` (a file name, not a path) is a segment of `ring`; sets *pid.
bool ParseSegmentName(std::string_view name, std::string_view ring, uint32_t* pid);
// Ring names are [A-Za-z0-9_.]{1,64} so that paths stay inside `dir`.
bool ValidRingName(std::string_view ring);
// True if a process with `pid` exists (kill(pid, 0) succeeds or fails with EPERM).
bool ProcessAlive(uint32_t pid);
// True when the daemon marker of `ring` in `dir` is a regular file naming a live process
// (never follows a symlink, never blocks on a FIFO).
bool DaemonAlive(std::string_view dir, std::string_view ring);
// DaemonAlive with the reason when not: OK; PermissionDenied when the marker (or `dir`) cannot
// be opened for EACCES/EPERM — typically a daemon running as another user — with a message
// naming the path, our uid and the errno text; Unavailable when there is no live daemon.
// With `features`, also the live daemon's feature mask (ReadMarkerFeatures; untouched when
// the status is not OK).
Status DaemonStatus(std::string_view dir, std::string_view ring, uint32_t* features = nullptr);
// True for the errno values of a permission problem (EACCES, EPERM).
bool PermissionErrno(int err);

// Opens `path` read-only without following a symlink or blocking on a FIFO (anyone may plant
// either in a shared directory) and returns the fd when it is a regular file owned by `owner`
// (any owner when `owner` is kAnyOwner), else -1. `*st` receives the file's stat.
inline constexpr int64_t kAnyOwner = -1;
int OpenRegularFile(const std::string& path, int64_t owner, struct stat* st);
// The pid written as decimal text at the start of the open file `fd` (a daemon marker); 0 when
// there is none.
uint32_t ReadMarkerPid(int fd);
// The feature mask on the marker's "features N" line (ring_abi.h); 0 when there is none (a
// daemon from before the line).
uint32_t ReadMarkerFeatures(int fd);

// Atomic view of a 64-bit control word in the header. The header is 64-byte aligned (mmap),
// so every word is naturally aligned and lock-free.
inline std::atomic_ref<uint64_t> Word(strobe_ring_header* h, uint64_t strobe_ring_header::*f) {
  return std::atomic_ref<uint64_t>(h->*f);
}

}  // namespace strobe::shm
