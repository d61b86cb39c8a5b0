#include "strobe/shm/snapshot.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "strobe/shm/test_util.h"

namespace strobe::shm {
namespace {

using testing::TempDir;

SnapshotWriterOptions Opts(const TempDir& d, uint64_t cap = 4096) {
  SnapshotWriterOptions o;
  o.ring = "s";
  o.dir = d.path();
  o.capacity_bytes = cap;
  return o;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
}

TEST(SnapshotTest, PublishThenReadRoundTripsEveryLength) {
  TempDir d;
  auto w = SnapshotWriter::Create(Opts(d)).value();
  auto r = SnapshotReader::Open(d.path(), "s").value();
  EXPECT_EQ(r.Read().status().code(), StatusCode::kUnavailable);  // nothing published yet
  for (size_t len : std::initializer_list<size_t>{0, 1, 7, 8, 9, 100, 4095, 4096}) {
    std::string doc(len, 'x');
    for (size_t i = 0; i < len; ++i) doc[i] = static_cast<char>('a' + (i * 7 + len) % 26);
    ASSERT_TRUE(w->Publish(doc, 1000 + len).ok());
    auto s = r.Read();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->document, doc);
    EXPECT_EQ(s->time_unix_ns, 1000 + len);
    EXPECT_EQ(s->writer_pid, static_cast<uint32_t>(getpid()));
  }
  EXPECT_EQ(r.Read()->generation, 8u);
  EXPECT_EQ(w->publishes(), 8u);
}

TEST(SnapshotTest, TooLargeKeepsThePreviousDocument) {
  TempDir d;
  auto w = SnapshotWriter::Create(Opts(d, 64)).value();
  ASSERT_TRUE(w->Publish("{\"a\":1}", 1).ok());
  Status s = w->Publish(std::string(65, 'y'), 2);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(w->too_large(), 1u);
  auto r = SnapshotReader::Open(d.path(), "s").value().Read().value();
  EXPECT_EQ(r.document, "{\"a\":1}");
  EXPECT_EQ(r.generation, 1u);
}

TEST(SnapshotTest, SegmentIsPrivateAndRemovedWithTheWriter) {
  TempDir d;
  std::string path;
  {
    auto w = SnapshotWriter::Create(Opts(d)).value();
    path = w->path();
    EXPECT_EQ(path, d.path() + "/strobe-s.snapshot");
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(SnapshotReader::Open(d.path(), "s").status().code(), StatusCode::kNotFound);
}

TEST(SnapshotTest, BadSegmentsAreCleanErrors) {
  TempDir d;
  const std::string path = SnapshotPath(d.path(), "s");
  WriteFile(path, "short");
  EXPECT_EQ(SnapshotReader::Open(d.path(), "s").status().code(), StatusCode::kInvalidArgument);
  WriteFile(path, std::string(4096, '\0'));  // no magic
  EXPECT_EQ(SnapshotReader::Open(d.path(), "s").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SnapshotReader::Open(d.path(), "../x").status().code(), StatusCode::kInvalidArgument);

  // A valid header claiming a capacity beyond the file, and one whose length exceeds it.
  auto w = SnapshotWriter::Create(Opts(d, 64)).value();  // replaces the junk file
  ASSERT_TRUE(w->Publish("{}", 1).ok());
  std::string bytes(256 + 64, '\0');
  {
    std::ifstream f(path, std::ios::binary);
    f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  w.reset();
  std::string huge_cap = bytes;
  const uint64_t cap = uint64_t{1} << 20;
  std::memcpy(huge_cap.data() + 8, &cap, 8);
  WriteFile(path, huge_cap);
  EXPECT_EQ(SnapshotReader::Open(d.path(), "s").status().code(), StatusCode::kInvalidArgument);
  std::string long_len = bytes;
  const uint64_t len = 1000;
  std::memcpy(long_len.data() + 80, &len, 8);
  WriteFile(path, long_len);
  auto r = SnapshotReader::Open(d.path(), "s");
  ASSERT_TRUE(r.ok());
  auto s = r->Read();
  EXPECT_FALSE(s.ok());  // writer gone (our own pid is alive, so: the length check)
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << s.status().ToString();
}

TEST(SnapshotTest, StaleSegmentIsTakenOverAndALiveWriterIsRefused) {
  TempDir d;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto w = SnapshotWriter::Create(Opts(d));
    if (!w.ok() || !(*w)->Publish("{\"child\":1}", 1).ok()) _exit(1);
    (void)(*w).release();  // die without unlinking: a crashed daemon
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // The writer is dead: readers say so, and a new writer takes the segment over.
  auto stale = SnapshotReader::Open(d.path(), "s").value();
  EXPECT_EQ(stale.Read().status().code(), StatusCode::kUnavailable);
  auto w = SnapshotWriter::Create(Opts(d));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Publish("{\"new\":1}", 2).ok());
  EXPECT_EQ(SnapshotReader::Open(d.path(), "s").value().Read()->document, "{\"new\":1}");

  // A second writer while the first (another live process) is alive is refused.
  pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    auto w2 = SnapshotWriter::Create(Opts(d));
    _exit(!w2.ok() && w2.status().code() == StatusCode::kFailedPrecondition ? 0 : 1);
  }
  ASSERT_EQ(waitpid(other, &status, 0), other);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// A crashed daemon's snapshot and marker stayed in the shm directory until the same ring
// name started again. RemoveStaleDaemonFiles removes those of any ring name, only when they
// are this user's regular files naming a dead pid.
TEST(SnapshotTest, RemoveStaleDaemonFilesTakesOnlyOurFilesOfDeadDaemons) {
  TempDir d;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SnapshotWriterOptions o = Opts(d);
    o.ring = "crashed";
    auto w = SnapshotWriter::Create(o);
    std::ofstream(d.path() + "/strobe-crashed.daemon") << getpid() << "\n";
    if (!w.ok()) _exit(1);
    (void)(*w).release();  // die without unlinking
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const auto dead = static_cast<uint32_t>(child);
  auto live = SnapshotWriter::Create(Opts(d));  // ring "s", this live process
  ASSERT_TRUE(live.ok());
  std::ofstream(d.path() + "/strobe-s.daemon") << getpid() << "\n";
  std::ofstream(d.path() + "/strobe-half.snapshot");  // being created: no pid yet
  std::ofstream(d.path() + "/strobe-text.daemon") << "not a pid\n";
  std::ofstream(d.path() + "/strobe-x.daemon.tmp.0123") << dead << "\n";  // not a marker name
  const std::string other = d.path() + "/strobe-other.daemon";
  std::ofstream(other) << dead << "\n";
  const bool root = geteuid() == 0;
  if (root) {
    ASSERT_EQ(chown(other.c_str(), 65534, 65534), 0);  // another user's
  }
  const std::string link = d.path() + "/strobe-link.daemon";
  ASSERT_EQ(symlink((d.path() + "/strobe-crashed.daemon").c_str(), link.c_str()), 0);

  std::vector<StaleDaemonFile> removed = RemoveStaleDaemonFiles(d.path());
  std::vector<std::string> paths;
  for (const StaleDaemonFile& f : removed) {
    EXPECT_EQ(f.pid, dead);
    paths.push_back(f.path);
  }
  std::sort(paths.begin(), paths.end());
  std::vector<std::string> want = {d.path() + "/strobe-crashed.daemon",
                                   d.path() + "/strobe-crashed.snapshot"};
  if (!root) want.push_back(other);  // ours after all when the test cannot chown
  EXPECT_EQ(paths, want);
  for (const char* kept :
       {"strobe-s.snapshot", "strobe-s.daemon", "strobe-half.snapshot", "strobe-text.daemon",
        "strobe-x.daemon.tmp.0123", "strobe-link.daemon"}) {
    struct stat st {};
    EXPECT_EQ(lstat((d.path() + "/" + kept).c_str(), &st), 0) << kept;
  }
  struct stat st {};
  EXPECT_EQ(lstat(other.c_str(), &st) == 0, root) << "another user's file is kept";
  EXPECT_TRUE(RemoveStaleDaemonFiles(d.path()).empty());
  EXPECT_TRUE(RemoveStaleDaemonFiles(d.path() + "/missing").empty());
}

}  // namespace
}  // namespace strobe::shm
