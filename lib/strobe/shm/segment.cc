#include "strobe/shm/segment.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
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
  // No link following and no blocking: anyone may plant a symlink or a FIFO under this name.
  const int fd =
      open(DaemonMarkerPath(dir, ring).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat st {};
  char buf[32] = {};
  ssize_t got = -1;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) got = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (got <= 0) return false;
  uint32_t pid = 0;
  auto [end, ec] = std::from_chars(buf, buf + got, pid);
  (void)end;
  return ec == std::errc() && pid != 0 && ProcessAlive(pid);
}

}  // namespace strobe::shm
