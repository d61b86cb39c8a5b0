#include "strobed/wal/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "strobed/wal/crc32c.h"
#include "strobed/wal/data_dir.h"

namespace strobed::wal {
namespace {

constexpr char kMagic[8] = {'S', 'T', 'R', 'B', 'C', 'K', 'P', '1'};
constexpr std::size_t kFileBytes = 24;
constexpr std::string_view kSuffix = ".ckpt";

std::string Err(int err) { return std::strerror(err); }

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Inverse of FileName; false for a name FileName never produces.
bool ExporterName(std::string_view file, std::string* out) {
  if (file.size() <= kSuffix.size() || file.substr(file.size() - kSuffix.size()) != kSuffix) {
    return false;
  }
  file.remove_suffix(kSuffix.size());
  out->clear();
  for (std::size_t i = 0; i < file.size(); ++i) {
    if (file[i] != '%') {
      out->push_back(file[i]);
      continue;
    }
    if (i + 2 >= file.size()) return false;
    const int hi = Hex(file[i + 1]);
    const int lo = Hex(file[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace

std::string CheckpointStore::FileName(std::string_view exporter) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : exporter) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-' || (c == '.' && !out.empty());
    if (plain) {
      out.push_back(c);
    } else {
      const auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kDigits[b >> 4]);
      out.push_back(kDigits[b & 0xF]);
    }
  }
  return out + std::string(kSuffix);
}

strobe::Result<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(std::string dir) {
  STROBE_RETURN_IF_ERROR(PreparePrivateDir(dir));
  std::unique_ptr<CheckpointStore> store(new CheckpointStore(std::move(dir)));
  DIR* d = ::opendir(store->dir_.c_str());
  if (d == nullptr) return strobe::Internal(store->dir_ + ": opendir: " + Err(errno));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  for (const std::string& file : names) {
    std::string exporter;
    if (!ExporterName(file, &exporter)) continue;  // temporaries, ".", ".."
    std::string path = store->dir_ + "/" + file;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      store->corrupt_.push_back(file);
      continue;
    }
    char buf[kFileBytes + 1];
    ssize_t n = ::read(fd, buf, sizeof(buf));
    ::close(fd);
    uint64_t seq = 0;
    uint32_t crc = 0;
    uint32_t zero = 1;
    if (n == static_cast<ssize_t>(kFileBytes)) {
      std::memcpy(&seq, buf + 8, 8);
      std::memcpy(&crc, buf + 16, 4);
      std::memcpy(&zero, buf + 20, 4);
    }
    if (n != static_cast<ssize_t>(kFileBytes) || std::memcmp(buf, kMagic, 8) != 0 || zero != 0 ||
        crc != Crc32cExtend(0, buf, 16)) {
      store->corrupt_.push_back(file);
      continue;
    }
    store->seqs_[exporter] = seq;
  }
  return store;
}

uint64_t CheckpointStore::Get(std::string_view exporter) const {
  std::lock_guard lk(mu_);
  auto it = seqs_.find(exporter);
  return it == seqs_.end() ? 0 : it->second;
}

std::map<std::string, uint64_t, std::less<>> CheckpointStore::All() const {
  std::lock_guard lk(mu_);
  return seqs_;
}

strobe::Status CheckpointStore::Save(std::string_view exporter, uint64_t seq, bool sync) {
  std::lock_guard lk(mu_);
  auto it = seqs_.find(exporter);
  if (it != seqs_.end() && seq <= it->second) return strobe::OkStatus();
  char buf[kFileBytes];
  std::memcpy(buf, kMagic, 8);
  std::memcpy(buf + 8, &seq, 8);
  const uint32_t crc = Crc32cExtend(0, buf, 16);
  const uint32_t zero = 0;
  std::memcpy(buf + 16, &crc, 4);
  std::memcpy(buf + 20, &zero, 4);
  const std::string path = dir_ + "/" + FileName(exporter);
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return strobe::Internal(tmp + ": create: " + Err(errno));
  ssize_t n = ::write(fd, buf, sizeof(buf));
  int err = errno;
  int rc = n == static_cast<ssize_t>(sizeof(buf)) ? 0 : -1;
  if (rc == 0 && sync) {
    rc = ::fdatasync(fd);
    err = errno;
  }
  ::close(fd);
  if (rc != 0) return strobe::Internal(tmp + ": write: " + Err(err));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return strobe::Internal(path + ": rename: " + Err(errno));
  }
  if (sync) STROBE_RETURN_IF_ERROR(SyncDir(dir_));
  seqs_.insert_or_assign(std::string(exporter), seq);
  return strobe::OkStatus();
}

strobe::Status CheckpointStore::Remove(std::string_view exporter) {
  std::lock_guard lk(mu_);
  const std::string path = dir_ + "/" + FileName(exporter);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return strobe::Internal(path + ": unlink: " + Err(errno));
  }
  auto it = seqs_.find(exporter);
  if (it != seqs_.end()) seqs_.erase(it);
  return SyncDir(dir_);
}

}  // namespace strobed::wal
