// libFuzzer: arbitrary bytes as a snapshot segment file -> SnapshotReader::Open / Read never
// crash or read outside the mapping; they answer with a status.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "strobe/shm/snapshot.h"
#include "strobe/shm/test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static strobe::shm::testing::TempDir dir;
  const std::string path = strobe::shm::SnapshotPath(dir.path(), "f");
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto r = strobe::shm::SnapshotReader::Open(dir.path(), "f");
  if (r.ok()) {
    auto s = r->Read();
    if (s.ok() && s->document.size() > r->capacity()) __builtin_trap();
  }
  unlink(path.c_str());
  return 0;
}
