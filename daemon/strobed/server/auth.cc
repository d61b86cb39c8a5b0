#include "strobed/server/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "strobe/base/check.h"
#include "strobed/server/http.h"

namespace strobed::server {
namespace {

constexpr std::string_view kBearer = "Bearer ";

// 0 when equal; time depends on the lengths only, not on where the first difference is.
unsigned Differs(std::string_view got, std::string_view want) noexcept {
  unsigned diff = got.size() == want.size() ? 0u : 1u;
  for (size_t i = 0; i < want.size(); ++i) {
    const char g = i < got.size() ? got[i] : '\0';
    diff |= static_cast<unsigned>(static_cast<unsigned char>(g ^ want[i]));
  }
  return diff;
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Closes a descriptor on every return path.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Authenticator::Authenticator() {
  strobe::MutexLock lock(mu_);  // for the thread-safety analysis; nothing else runs yet
  snapshot_ = std::make_shared<const Snapshot>();
}

std::shared_ptr<Authenticator> Authenticator::WithTokens(std::vector<std::string> tokens) {
  auto auth = std::make_shared<Authenticator>();
  STROBE_CHECK(auth->Set(std::move(tokens)).ok());
  return auth;
}

strobe::Status Authenticator::ValidateToken(std::string_view token) {
  if (token.empty()) return strobe::InvalidArgument("a token must not be empty");
  if (token.size() > kMaxTokenBytes) {
    return strobe::InvalidArgument("a token must be at most " + std::to_string(kMaxTokenBytes) +
                                   " bytes (this one has " + std::to_string(token.size()) + ")");
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return strobe::InvalidArgument(
          "a token may hold only printable ASCII characters without spaces (it is sent as "
          "'Authorization: Bearer <token>')");
    }
  }
  return strobe::OkStatus();
}

strobe::Result<Authenticator::Change> Authenticator::Set(std::vector<std::string> tokens) {
  for (const std::string& t : tokens) STROBE_RETURN_IF_ERROR(ValidateToken(t));
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  if (tokens.size() > kMaxTokens) {
    return strobe::InvalidArgument("at most " + std::to_string(kMaxTokens) +
                                   " tokens may be accepted at once (got " +
                                   std::to_string(tokens.size()) + ")");
  }
  strobe::MutexLock lock(mu_);
  const std::shared_ptr<const Snapshot> old = snapshot_;
  Change change;
  change.before = old->tokens.size();
  change.after = tokens.size();
  change.changed = old->tokens != tokens;
  if (!change.changed) {
    change.generation = old->generation;
    return change;
  }
  auto next = std::make_shared<Snapshot>();
  next->generation = old->generation + 1;
  next->tokens = std::move(tokens);
  change.generation = next->generation;
  snapshot_ = std::move(next);
  // Release: pairs with the acquire load in Check(); a reader that sees this generation loads
  // the snapshot stored above (or a later one).
  generation_.store(change.generation, std::memory_order_release);
  return change;
}

Authenticator::Verdict Authenticator::Check(std::string_view authorization,
                                            Cache& cache) const noexcept {
  const uint64_t gen = generation_.load(std::memory_order_acquire);  // see generation_
  if (!cache.snapshot || cache.snapshot->generation != gen) {
    strobe::MutexLock lock(mu_);
    cache.snapshot = snapshot_;
  }
  const std::vector<std::string>& tokens = cache.snapshot->tokens;
  if (tokens.empty()) return Verdict::kAllowed;
  if (authorization.empty()) return Verdict::kMissing;
  if (authorization.size() <= kBearer.size() ||
      !EqualsIgnoreCase(authorization.substr(0, kBearer.size()), kBearer)) {
    return Verdict::kInvalid;
  }
  const std::string_view got = authorization.substr(kBearer.size());
  // Every token is compared in full: which one matched (or whether one did early) does not
  // show in the time taken.
  unsigned matched = 0;
  for (const std::string& t : tokens) matched |= Differs(got, t) == 0 ? 1u : 0u;
  return matched != 0 ? Verdict::kAllowed : Verdict::kInvalid;
}

bool Authenticator::enabled() const noexcept { return token_count() > 0; }

size_t Authenticator::token_count() const noexcept {
  strobe::MutexLock lock(mu_);
  return snapshot_->tokens.size();
}

uint64_t Authenticator::generation() const noexcept {
  return generation_.load(std::memory_order_acquire);
}

strobe::Result<std::vector<std::string>> ParseTokenFile(std::string_view content,
                                                        std::string_view path) {
  const std::string where = "auth.token_file " + std::string(path);
  std::vector<std::string> tokens;
  size_t line_no = 0;
  while (!content.empty()) {
    const size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    ++line_no;
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (strobe::Status s = Authenticator::ValidateToken(line); !s.ok()) {
      return strobe::InvalidArgument(where + ": line " + std::to_string(line_no) + ": " +
                                     s.message());
    }
    tokens.emplace_back(line);
  }
  if (tokens.empty()) {
    // An empty file must not open every listener by accident: removing auth takes removing
    // the key.
    return strobe::InvalidArgument(where +
                                   ": holds no token (to turn auth off, remove auth.token_file)");
  }
  if (tokens.size() > Authenticator::kMaxTokens) {
    return strobe::InvalidArgument(where + ": holds " + std::to_string(tokens.size()) +
                                   " tokens; at most " + std::to_string(Authenticator::kMaxTokens) +
                                   " are accepted");
  }
  return tokens;
}

strobe::Result<std::vector<std::string>> ReadTokenFile(const std::string& path) {
  const std::string where = "auth.token_file " + path;
  // O_NONBLOCK: a FIFO planted under the name must not block the control thread; it is
  // rejected by the fstat check below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    std::string msg = where + ": cannot open: " + std::strerror(err);
    if (err == ENOENT) return strobe::NotFound(msg);
    if (err == EACCES) return strobe::PermissionDenied(msg);
    return strobe::InvalidArgument(msg);
  }
  FdCloser closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return strobe::InvalidArgument(where + ": cannot stat: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return strobe::InvalidArgument(where + ": not a regular file");
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    return strobe::PermissionDenied(where + ": owned by uid " + std::to_string(st.st_uid) +
                                    ", not by the daemon's user (uid " +
                                    std::to_string(::geteuid()) + ") or root");
  }
  if ((st.st_mode & 077) != 0) {
    return strobe::PermissionDenied(
        where + ": permissions " + ModeText(st.st_mode) +
        " are too open: group and others must have no access (chmod 600 " + path + ")");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxTokenFileBytes) {
    return strobe::InvalidArgument(where + ": " + std::to_string(st.st_size) +
                                   " bytes; a token file is at most " +
                                   std::to_string(kMaxTokenFileBytes) + " bytes");
  }
  // Read one byte past the limit so a file that grew after fstat is caught too.
  std::string content(kMaxTokenFileBytes + 1, '\0');
  size_t filled = 0;
  while (filled < content.size()) {
    const ssize_t n = ::read(fd, content.data() + filled, content.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return strobe::InvalidArgument(where + ": cannot read: " + std::strerror(errno));
    }
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  if (filled > kMaxTokenFileBytes) {
    return strobe::InvalidArgument(where + ": a token file is at most " +
                                   std::to_string(kMaxTokenFileBytes) + " bytes");
  }
  content.resize(filled);
  return ParseTokenFile(content, path);
}

}  // namespace strobed::server
