#include "strobe/shm/segment.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>

namespace strobe::shm {

Mapping::Mapping(Mapping&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), size_(std::exchange(other.size_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) munmap(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Mapping::~Mapping() {
  if (base_ != nullptr) munmap(base_, size_);
}

std::string SegmentPath(std::string_view dir, std::string_view ring, uint32_t pid) {
  std::string p(dir);
  p += "/strobe-";
  p += ring;
  p += '-';
  p += std::to_string(pid);
  return p;
}

std::string DaemonMarkerPath(std::string_view dir, std::string_view ring) {
  std::string p(dir);
  p += "/strobe-";
  p += ring;
  p += ".daemon";
  return p;
}

bool ParseSegmentName(std::string_view name, std::string_view ring, uint32_t* pid) {
  constexpr std::string_view kPrefix = "strobe-";
  if (name.size() <= kPrefix.size() + ring.size() + 1) return false;
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  name.remove_prefix(kPrefix.size());
  if (name.substr(0, ring.size()) != ring || name[ring.size()] != '-') return false;
  name.remove_prefix(ring.size() + 1);
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc() || end != name.data() + name.size() || v == 0) return false;
  *pid = v;
  return true;
}

bool ValidRingName(std::string_view ring) {
  if (ring.empty() || ring.size() > 64) return false;
  for (char c : ring) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.';
    if (!ok) return false;
  }
  return ring != "." && ring != "..";
}

bool ProcessAlive(uint32_t pid) {
  if (pid == 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;
}

bool DaemonAlive(std::string_view dir, std::string_view ring) {
  return DaemonStatus(dir, ring).ok();
}

bool PermissionErrno(int err) { return err == EACCES || err == EPERM; }

Status DaemonStatus(std::string_view dir, std::string_view ring, uint32_t* features) {
  const std::string marker = DaemonMarkerPath(dir, ring);
  struct stat st {};
  errno = 0;  // OpenRegularFile may fail after a successful open (not a regular file)
  const int fd = OpenRegularFile(marker, kAnyOwner, &st);
  if (fd < 0) {
    const int err = errno;
    if (PermissionErrno(err)) {
      return PermissionDenied("permission denied opening the strobe daemon marker " + marker +
                              " as uid " + std::to_string(getuid()) + " (" + std::strerror(err) +
                              "): the directory " + std::string(dir) +
                              " or the marker is not accessible to this user; is the daemon "
                              "running as another user?");
    }
    return Unavailable("strobe daemon is not running for shm ring '" + std::string(ring) +
                       "' (no live " + marker + ")");
  }
  const uint32_t pid = ReadMarkerPid(fd);
  const uint32_t mask = ReadMarkerFeatures(fd);
  close(fd);
  if (pid == 0 || !ProcessAlive(pid)) {
    return Unavailable("strobe daemon is not running for shm ring '" + std::string(ring) +
                       "' (no live " + marker + ")");
  }
  if (features != nullptr) *features = mask;
  return OkStatus();
}

int OpenRegularFile(const std::string& path, int64_t owner, struct stat* st) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return -1;
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
      (owner != kAnyOwner && static_cast<int64_t>(st->st_uid) != owner)) {
    close(fd);
    return -1;
  }
  return fd;
}

uint32_t ReadMarkerFeatures(int fd) {
  char buf[96] = {};
  const ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
  if (got <= 0) return 0;
  const std::string_view text(buf, static_cast<size_t>(got));
  static constexpr std::string_view kKey = "\nfeatures ";
  const size_t at = text.find(kKey);
  if (at == std::string_view::npos) return 0;
  uint32_t mask = 0;
  const char* begin = buf + at + kKey.size();
  auto [end, ec] = std::from_chars(begin, buf + got, mask);
  (void)end;
  return ec == std::errc() ? mask : 0;
}

uint32_t ReadMarkerPid(int fd) {
  char buf[32] = {};
  const ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
  if (got <= 0) return 0;
  uint32_t pid = 0;
  auto [end, ec] = std::from_chars(buf, buf + got, pid);
  (void)end;
  return ec == std::errc() ? pid : 0;
}

}  // namespace strobe::shm
