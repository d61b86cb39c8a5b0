#include "strobed/server/auth.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace strobed::server {
namespace {

using Verdict = Authenticator::Verdict;

Verdict CheckOnce(const Authenticator& auth, std::string_view header) {
  Authenticator::Cache cache;
  return auth.Check(header, cache);
}

TEST(AuthenticatorTest, OpenUntilTokensAreSet) {
  Authenticator auth;
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(CheckOnce(auth, ""), Verdict::kAllowed);
  EXPECT_EQ(CheckOnce(auth, "Bearer anything"), Verdict::kAllowed);
}

TEST(AuthenticatorTest, ChecksBearerTokens) {
  auto auth = Authenticator::WithTokens({"s3cret"});
  EXPECT_TRUE(auth->enabled());
  EXPECT_EQ(CheckOnce(*auth, ""), Verdict::kMissing);
  EXPECT_EQ(CheckOnce(*auth, "Bearer s3cret"), Verdict::kAllowed);
  EXPECT_EQ(CheckOnce(*auth, "bearer s3cret"), Verdict::kAllowed);  // scheme: any case
  EXPECT_EQ(CheckOnce(*auth, "Bearer S3cret"), Verdict::kInvalid);  // token: exact
  EXPECT_EQ(CheckOnce(*auth, "Bearer s3cre"), Verdict::kInvalid);
  EXPECT_EQ(CheckOnce(*auth, "Bearer s3cret2"), Verdict::kInvalid);
  EXPECT_EQ(CheckOnce(*auth, "Bearer "), Verdict::kInvalid);
  EXPECT_EQ(CheckOnce(*auth, "Basic s3cret"), Verdict::kInvalid);
  EXPECT_EQ(CheckOnce(*auth, "s3cret"), Verdict::kInvalid);
}

TEST(AuthenticatorTest, SetSwapsTheWholeSetAndReportsTheChange) {
  Authenticator auth;
  Authenticator::Cache cache;  // one connection across the rotations
  EXPECT_EQ(auth.Check("", cache), Verdict::kAllowed);

  auto c = auth.Set({"a"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->changed);
  EXPECT_EQ(c->before, 0u);
  EXPECT_EQ(c->after, 1u);
  EXPECT_EQ(auth.Check("", cache), Verdict::kMissing);  // the cached open set is gone
  EXPECT_EQ(auth.Check("Bearer a", cache), Verdict::kAllowed);

  // Overlap: old and new both accepted, then the old one revoked.
  c = auth.Set({"b", "a", "b"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->changed);
  EXPECT_EQ(c->after, 2u);  // duplicates merged
  EXPECT_EQ(auth.Check("Bearer a", cache), Verdict::kAllowed);
  EXPECT_EQ(auth.Check("Bearer b", cache), Verdict::kAllowed);
  c = auth.Set({"b"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(auth.Check("Bearer a", cache), Verdict::kInvalid);
  EXPECT_EQ(auth.Check("Bearer b", cache), Verdict::kAllowed);

  const uint64_t gen = auth.generation();
  c = auth.Set({"b"});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->changed);
  EXPECT_EQ(auth.generation(), gen);  // nothing published: caches stay valid

  c = auth.Set({});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->changed);
  EXPECT_EQ(c->after, 0u);
  EXPECT_FALSE(auth.enabled());
  EXPECT_EQ(auth.Check("", cache), Verdict::kAllowed);
}

TEST(AuthenticatorTest, InvalidTokensChangeNothing) {
  auto auth = Authenticator::WithTokens({"keep"});
  for (const std::string& bad :
       {std::string(""), std::string("with space"), std::string("tab\there"),
        std::string("new\nline"), std::string("caf\xc3\xa9"),
        std::string(Authenticator::kMaxTokenBytes + 1, 'x')}) {
    auto c = auth->Set({"fine", bad});
    EXPECT_EQ(c.status().code(), strobe::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(c.status().message().find(bad.empty() ? "\x01" : bad), std::string::npos)
        << "the error must not echo the token";
  }
  std::vector<std::string> many;
  for (size_t i = 0; i <= Authenticator::kMaxTokens; ++i) many.push_back("t" + std::to_string(i));
  EXPECT_EQ(auth->Set(many).status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckOnce(*auth, "Bearer keep"), Verdict::kAllowed);
  EXPECT_EQ(auth->token_count(), 1u);
  EXPECT_TRUE(auth->Set({std::string(Authenticator::kMaxTokenBytes, '~')}).ok());
}

// Checks on several threads while the control thread rotates: every verdict is one a
// published set gives (never a torn mix), and once Set() returned, no check that starts
// afterwards accepts the revoked token. Run under TSan by `make sanitize`.
TEST(AuthenticatorTest, RotationUnderConcurrentChecks) {
  auto auth = Authenticator::WithTokens({"always", "old"});
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> revoked_generation{0};  // the generation that dropped "old"
  std::atomic<uint64_t> wrong{0};
  std::atomic<uint64_t> checks{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      Authenticator::Cache cache;
      while (!stop.load(std::memory_order_relaxed)) {
        if (auth->Check("Bearer always", cache) != Verdict::kAllowed) wrong.fetch_add(1);
        if (auth->Check("Bearer never", cache) != Verdict::kInvalid) wrong.fetch_add(1);
        // Acquire: pairs with the release store below, which follows the Set() that revoked.
        const uint64_t revoked = revoked_generation.load(std::memory_order_acquire);
        const Verdict old = auth->Check("Bearer old", cache);
        if (revoked != 0 && old != Verdict::kInvalid) wrong.fetch_add(1);
        checks.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::string> next = {"always", "r" + std::to_string(i)};
    if (i < 1000) next.push_back("old");
    ASSERT_TRUE(auth->Set(next).ok());
    if (i == 1000) revoked_generation.store(auth->generation(), std::memory_order_release);
    if (i % 100 == 0) std::this_thread::yield();
  }
  // Let every reader run some checks after the last rotation, bounded by a deadline.
  const uint64_t seen = checks.load();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (checks.load() < seen + 100 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_GT(checks.load(), 0u);
  EXPECT_EQ(CheckOnce(*auth, "Bearer old"), Verdict::kInvalid);
}

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strobe-auth-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const char* name : {"token", "link", "fifo", "big"}) {
      (void)unlink((dir_ + "/" + name).c_str());
    }
    (void)rmdir(dir_.c_str());
  }
  std::string Write(const std::string& content, mode_t mode, const char* name = "token") {
    std::string path = dir_ + "/" + name;
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << content;
    }
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string dir_;
};

TEST_F(TokenFileTest, ReadsTrimmedTokensOnePerLine) {
  auto one = ReadTokenFile(Write("  s3cret \n", 0600));
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(*one, std::vector<std::string>{"s3cret"});

  auto two = ReadTokenFile(Write("# new token first\r\nnew\r\n\r\nold\n", 0400));
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_EQ(*two, (std::vector<std::string>{"new", "old"}));
}

TEST_F(TokenFileTest, RefusesGroupOrWorldAccessLikeSsh) {
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660}) {
    auto r = ReadTokenFile(Write("s3cret\n", mode));
    EXPECT_EQ(r.status().code(), strobe::StatusCode::kPermissionDenied) << std::oct << mode;
    EXPECT_NE(r.status().message().find("too open"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos);
  }
}

TEST_F(TokenFileTest, RefusesWhatIsNotOneSmallRegularFileOfTokens) {
  EXPECT_EQ(ReadTokenFile(dir_ + "/missing").status().code(), strobe::StatusCode::kNotFound);
  // A directory.
  EXPECT_EQ(ReadTokenFile(dir_).status().code(), strobe::StatusCode::kInvalidArgument);
  // A FIFO must neither block nor pass.
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto f = ReadTokenFile(fifo);
  EXPECT_EQ(f.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_NE(f.status().message().find("not a regular file"), std::string::npos);
  // Empty, or only comments: never "no auth" by accident.
  auto empty = ReadTokenFile(Write("\n  \n# nothing\n", 0600));
  EXPECT_EQ(empty.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("holds no token"), std::string::npos);
  // Too large.
  auto big = ReadTokenFile(Write(std::string(kMaxTokenFileBytes + 1, 'x'), 0600, "big"));
  EXPECT_EQ(big.status().code(), strobe::StatusCode::kInvalidArgument);
  // A token with a space in it, named by line.
  auto spaced = ReadTokenFile(Write("good\nbad token\n", 0600));
  EXPECT_EQ(spaced.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_NE(spaced.status().message().find("line 2"), std::string::npos);
  // Too many tokens.
  std::string many;
  for (size_t i = 0; i <= Authenticator::kMaxTokens; ++i) many += "t" + std::to_string(i) + "\n";
  EXPECT_EQ(ReadTokenFile(Write(many, 0600)).status().code(), strobe::StatusCode::kInvalidArgument);
}

TEST_F(TokenFileTest, FollowsSymlinksAndChecksTheTarget) {
  const std::string target = Write("linked\n", 0600);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  auto r = ReadTokenFile(link);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, std::vector<std::string>{"linked"});
  ASSERT_EQ(chmod(target.c_str(), 0644), 0);
  EXPECT_EQ(ReadTokenFile(link).status().code(), strobe::StatusCode::kPermissionDenied);
}

TEST_F(TokenFileTest, RefusesAFileOwnedByAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  const std::string path = Write("s3cret\n", 0600);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  auto r = ReadTokenFile(path);
  EXPECT_EQ(r.status().code(), strobe::StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("owned by uid 65534"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace strobed::server
