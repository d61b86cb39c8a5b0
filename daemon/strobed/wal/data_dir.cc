#include "strobed/wal/data_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace strobed::wal {
namespace {

std::string Err(int err) { return std::strerror(err); }

strobe::Status MakeDirs(const std::string& path) {
  // Each missing component is created 0700; existing parents are left as they are.
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return strobe::Internal("data dir " + path + ": cannot create " + prefix + ": " + Err(errno));
    }
  }
  return strobe::OkStatus();
}

strobe::Status Check(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return strobe::Internal("data dir " + path + ": " + Err(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return strobe::InvalidArgument("data dir " + path + ": not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    return strobe::PermissionDenied("data dir " + path + ": owned by uid " +
                                    std::to_string(st.st_uid) + ", not by the daemon's uid " +
                                    std::to_string(::geteuid()) +
                                    " (another user could forge or delete queued data)");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return strobe::PermissionDenied("data dir " + path +
                                    ": writable by group or others (chmod go-w, or 0700)");
  }
  return strobe::OkStatus();
}

}  // namespace

strobe::Status PrepareDataDir(const std::string& path) {
  if (path.empty()) return strobe::InvalidArgument("data dir: empty path");
  STROBE_RETURN_IF_ERROR(MakeDirs(path));
  return Check(path);
}

strobe::Status PreparePrivateDir(const std::string& path) {
  if (path.empty()) return strobe::InvalidArgument("data dir: empty path");
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return strobe::Internal("cannot create " + path + ": " + Err(errno));
  }
  return Check(path);
}

strobe::Status SyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return strobe::Internal(path + ": open: " + Err(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return strobe::Internal(path + ": fsync: " + Err(err));
  return strobe::OkStatus();
}

}  // namespace strobed::wal
