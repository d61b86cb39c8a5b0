#pragma once

// Test helpers for strobe::shm: a private segment directory and a sink that keeps decoded
// records. Test-only; not part of the library.

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "strobe/shm/reader.h"
#include "strobe/shm/record.h"

namespace strobe::shm::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/dev/shm/strobe-test-XXXXXX";
    if (!std::filesystem::exists("/dev/shm")) tmpl = "/tmp/strobe-test-XXXXXX";
    char* p = mkdtemp(tmpl.data());
    path_ = p != nullptr ? p : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CollectingSink : RecordSink {
  void OnRecord(const RecordView& r) override {
    types.push_back(r.type);
    producers.push_back(r.producer);
    payloads.emplace_back(r.payload, r.payload + r.length);
  }
  std::vector<uint16_t> types;
  std::vector<uint32_t> producers;
  std::vector<std::vector<uint8_t>> payloads;
};

}  // namespace strobe::shm::testing
