#pragma once

// strobed::server::Authenticator: the one bearer-token check every HTTP listener of the daemon
// uses (the API server and every otlp_http receiver), and ReadTokenFile, the reader of
// auth.token_file.
//
//   auto auth = std::make_shared<server::Authenticator>();          // open: accepts anything
//   STROBE_RETURN_IF_ERROR(auth->Set({"s3cret"}).status());          // control thread
//   server::ServerOptions o;  o.auth = auth;                          // every listener shares it
//   ...
//   server::Authenticator::Cache cache;                               // one per connection
//   if (auth->Check(request_authorization_header, cache) != Verdict::kAllowed) → 401
//
// The accepted tokens are an immutable snapshot. Set() builds a new one and publishes it with
// one atomic store, so a check sees either the whole old set or the whole new set, never a mix,
// and once Set() has returned no check that starts afterwards accepts a revoked token, on any
// listener. Several tokens may be accepted at once (a token file with one token per line), so a
// rotation can overlap: accept old and new, move the clients, then drop the old one.
//
// The request path takes no lock and writes no shared memory in the steady state: Check()
// compares the snapshot generation (one acquire load of a line written only by Set) with the
// caller's Cache and copies the snapshot pointer under a mutex only when they differ, i.e. on a
// connection's first request and after a rotation. (Not std::atomic<std::shared_ptr>: libstdc++
// 12 guards its pointer with a hand-rolled spin bit that ThreadSanitizer cannot see, so every
// swap reads as a data race; an uncontended mutex on the cache miss costs about the same.)
// Comparison is constant-time in the token's content: every accepted token is compared in full,
// whatever matched.
//
// Thread class: thread-safe. Set() is called from the control thread (serialised internally);
// Check() from any thread, concurrently with Set(). A Cache belongs to one thread at a time.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/status.h"
#include "strobe/base/thread_annotations.h"

namespace strobed::server {

class Authenticator {
 public:
  // At most this many tokens accepted at once, each 1..kMaxTokenBytes printable ASCII
  // characters without spaces (what a client can put after "Bearer " in one header).
  static constexpr size_t kMaxTokens = 8;
  static constexpr size_t kMaxTokenBytes = 4096;

  // One published set of tokens. Immutable once published.
  struct Snapshot {
    uint64_t generation = 0;          // 0: the initial empty set; +1 per Set() that changed it
    std::vector<std::string> tokens;  // empty: auth off
  };

  // What one connection remembers between requests (see the header comment). Default: empty,
  // so the first Check() loads the current snapshot.
  struct Cache {
    std::shared_ptr<const Snapshot> snapshot;
  };

  enum class Verdict : uint8_t {
    kAllowed,  // a token matched, or no token is configured
    kMissing,  // tokens are configured and the request carries no Authorization header
    kInvalid,  // tokens are configured and the header is not "Bearer <an accepted token>"
  };

  // What Set() did, for the caller's log.
  struct Change {
    bool changed = false;     // the accepted set differs from the previous one
    size_t before = 0;        // tokens accepted before
    size_t after = 0;         // and after
    uint64_t generation = 0;  // of the snapshot now published
  };

  // Open (no token) until Set() says otherwise.
  Authenticator();
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // A shared Authenticator accepting `tokens`, which must be valid (STROBE_CHECK): for tests
  // and embedders with fixed tokens.
  static std::shared_ptr<Authenticator> WithTokens(std::vector<std::string> tokens);

  // Checks one token: 1..kMaxTokenBytes characters in 0x21..0x7E. InvalidArgument naming the
  // rule (never the token) otherwise.
  static strobe::Status ValidateToken(std::string_view token);

  // Replaces the accepted tokens (empty: auth off, every listener open) atomically for every
  // listener sharing this object. Duplicates are merged. InvalidArgument (and nothing changes)
  // when a token is invalid or there are more than kMaxTokens. Thread-safe; control plane.
  strobe::Result<Change> Set(std::vector<std::string> tokens);

  // Whether a request with this Authorization header value ("" when absent) may pass. The
  // scheme "Bearer" is matched case-insensitively. noexcept, no allocation; no lock unless
  // `cache` is stale (see the header comment). Thread-safe.
  Verdict Check(std::string_view authorization, Cache& cache) const noexcept;

  // Whether a token is required (the current set is not empty). Thread-safe.
  bool enabled() const noexcept;
  // Tokens accepted now. Thread-safe.
  size_t token_count() const noexcept;
  // Generation of the current snapshot (see Snapshot). Thread-safe.
  uint64_t generation() const noexcept;

 private:
  // Written only by Set() (under mu_) after snapshot_; read by Check() with acquire so a
  // reader that sees generation g then copies a snapshot of generation >= g.
  std::atomic<uint64_t> generation_{0};
  // Serialises Set(); Check() takes it only to refresh a stale Cache.
  mutable strobe::Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ STROBE_GUARDED_BY(mu_);
};

// The largest token file ReadTokenFile reads (a few long tokens fit).
inline constexpr size_t kMaxTokenFileBytes = 16 * 1024;

// Reads auth.token_file: one token per line (several lines accept each, for rotation overlap),
// leading and trailing whitespace trimmed, blank lines and lines starting with '#' skipped.
// The file must be a regular file (symlinks are followed, so an atomically swapped link as
// Kubernetes and Vault agents write works; the checks apply to the file opened) owned by the
// daemon's effective user or root, with no permission bits for group or others (like ssh and
// its keys: "chmod 600"), at most kMaxTokenFileBytes, and hold 1..kMaxTokens valid tokens.
// Errors name the path and the rule, never the content: NotFound, PermissionDenied (mode,
// owner, unreadable), InvalidArgument (not a regular file, too large, no token, bad token).
// Thread-safe.
strobe::Result<std::vector<std::string>> ReadTokenFile(const std::string& path);

// Splits and checks the content of a token file as ReadTokenFile does (for tests and fuzzing).
// `path` only names the file in errors.
strobe::Result<std::vector<std::string>> ParseTokenFile(std::string_view content,
                                                        std::string_view path);

}  // namespace strobed::server
