#include "strobed/wal/checkpoint.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace strobed::wal {
namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/checkpoint_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/checkpoints";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
  std::string dir_;
};

TEST_F(CheckpointTest, SavesAndReloadsPerExporter) {
  {
    auto s = CheckpointStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ((*s)->Get("otlp_http/b"), 0u);
    ASSERT_TRUE((*s)->Save("otlp_http/b", 42, true).ok());
    ASSERT_TRUE((*s)->Save("clickhouse", 7, false).ok());
    ASSERT_TRUE((*s)->Save("otlp_http/b", 40, true).ok());  // never backwards
    EXPECT_EQ((*s)->Get("otlp_http/b"), 42u);
  }
  auto s = CheckpointStore::Open(dir_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Get("otlp_http/b"), 42u);
  EXPECT_EQ((*s)->Get("clickhouse"), 7u);
  EXPECT_EQ((*s)->All().size(), 2u);
  EXPECT_TRUE((*s)->corrupt().empty());
  ASSERT_TRUE((*s)->Remove("clickhouse").ok());
  auto again = CheckpointStore::Open(dir_);
  EXPECT_EQ((*again)->All().size(), 1u);
}

TEST_F(CheckpointTest, FileNamesEscapeEverythingOutsideASafeSet) {
  EXPECT_EQ(CheckpointStore::FileName("otlp_http/b"), "otlp_http%2Fb.ckpt");
  EXPECT_EQ(CheckpointStore::FileName("../x"), "%2E.%2Fx.ckpt");
  EXPECT_EQ(CheckpointStore::FileName("a%b"), "a%25b.ckpt");
  // Round trip of an awkward name through the folder.
  auto s = CheckpointStore::Open(dir_);
  ASSERT_TRUE((*s)->Save("../x y/%", 9, false).ok());
  auto again = CheckpointStore::Open(dir_);
  EXPECT_EQ((*again)->Get("../x y/%"), 9u);
}

TEST_F(CheckpointTest, CorruptFileIsIgnoredAndReported) {
  {
    auto s = CheckpointStore::Open(dir_);
    ASSERT_TRUE((*s)->Save("a", 100, true).ok());
    ASSERT_TRUE((*s)->Save("b", 200, true).ok());
  }
  {
    std::fstream f(dir_ + "/a.ckpt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(9);
    f.put('\x7f');  // the seq, under the CRC
  }
  { std::ofstream(dir_ + "/c.ckpt") << "short"; }
  auto s = CheckpointStore::Open(dir_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Get("a"), 0u);  // from the beginning: duplicates, never loss
  EXPECT_EQ((*s)->Get("b"), 200u);
  std::vector<std::string> corrupt = (*s)->corrupt();
  std::sort(corrupt.begin(), corrupt.end());
  EXPECT_EQ(corrupt, (std::vector<std::string>{"a.ckpt", "c.ckpt"}));
}

}  // namespace
}  // namespace strobed::wal
