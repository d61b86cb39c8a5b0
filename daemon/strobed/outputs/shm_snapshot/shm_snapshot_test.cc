#include "strobed/outputs/shm_snapshot/shm_snapshot.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "strobe/metrics/exposition.h"
#include "strobe/metrics/registry.h"
#include "strobe/shm/snapshot.h"
#include "strobe/shm/test_util.h"
#include "strobed/config/config.h"
#include "strobed/server/router.h"

namespace strobed::outputs {
namespace {

TEST(ShmSnapshotComponentTest, PublishesTheApiDocumentsAndRemovesTheSegmentAtShutdown) {
  strobe::shm::testing::TempDir dir;
  config::Config cfg;
  cfg.shm_name = "snap";
  cfg.shm_dir = dir.path();
  cfg.shm_snapshot_interval = std::chrono::milliseconds(10);
  strobe::metrics::Registry registry;
  server::Router router;
  int calls = 0;
  router.Handle("GET", "/api/v1/metrics", [&calls](const server::Request& r) {
    ++calls;
    EXPECT_EQ(r.path, "/api/v1/metrics");
    return server::Response::Json(
        200, "{\"metrics\":[{\"name\":\"m\",\"calls\":" + std::to_string(calls) + "}]}");
  });
  router.Handle("GET", "/api/v1/alerts",
                [](const server::Request&) { return server::Response::Error(500, "broken"); });
  ShmSnapshotComponent c;
  ASSERT_TRUE(c.Start({cfg, registry, router}).ok());

  // Published at start, then every interval: the generation advances.
  auto reader = strobe::shm::SnapshotReader::Open(dir.path(), "snap").value();
  auto first = reader.Read().value();
  EXPECT_GE(first.generation, 1u);
  EXPECT_NE(first.document.find("\"metrics\":{\"metrics\":[{\"name\":\"m\""), std::string::npos)
      << first.document;
  EXPECT_EQ(first.document.find("\"alerts\""), std::string::npos);   // its handler failed
  EXPECT_EQ(first.document.find("\"windows\""), std::string::npos);  // no such route
  EXPECT_EQ(first.document.rfind("{\"time_unix_ns\":", 0), 0u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reader.Read().value().generation < first.generation + 3) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_NE(c.StatusJson().find("\"publishes\":"), std::string::npos);
  const std::string m =
      strobe::metrics::RenderText(registry, strobe::metrics::Format::kPrometheusText);
  EXPECT_NE(m.find("strobe_shm_snapshot_publishes_total"), std::string::npos) << m;

  ASSERT_TRUE(c.Shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(5)).ok());
  EXPECT_FALSE(std::filesystem::exists(strobe::shm::SnapshotPath(dir.path(), "snap")));
}

TEST(ShmSnapshotComponentTest, OffWhenTheRingIsOffOrTheIntervalZero) {
  strobe::shm::testing::TempDir dir;
  config::Config cfg;
  cfg.shm_dir = dir.path();
  cfg.shm_snapshot_interval = std::chrono::milliseconds(0);
  strobe::metrics::Registry registry;
  server::Router router;
  ShmSnapshotComponent c;
  ASSERT_TRUE(c.Start({cfg, registry, router}).ok());
  EXPECT_FALSE(std::filesystem::exists(strobe::shm::SnapshotPath(dir.path(), cfg.shm_name)));
  EXPECT_EQ(c.StatusJson(), "");
  ASSERT_TRUE(c.Shutdown(std::chrono::steady_clock::now()).ok());
}

}  // namespace
}  // namespace strobed::outputs
