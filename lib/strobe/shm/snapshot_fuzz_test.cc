// libFuzzer: arbitrary bytes as a snapshot segment file -> SnapshotReader::Open / Read never
// crash or read outside the mapping; they answer with a status. Then the same bytes as a
// document: published by the real SnapshotWriter, they read back exactly.
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

  // Property: the input published as a document by the real writer reads back byte for byte,
  // with generation and time as published (a second publish of the same bytes bumps the
  // generation: the reader never returns a stale or torn copy).
  static strobe::shm::testing::TempDir wdir;
  strobe::shm::SnapshotWriterOptions o;
  o.ring = "w";
  o.dir = wdir.path();
  o.capacity_bytes = 1 << 16;
  auto w = strobe::shm::SnapshotWriter::Create(o);
  if (!w.ok()) __builtin_trap();
  const std::string_view doc(reinterpret_cast<const char*>(data), size);
  const strobe::Status published = (*w)->Publish(doc, 1'700'000'000'000'000'000 + size);
  if (size > o.capacity_bytes) {
    if (published.ok()) __builtin_trap();  // over capacity must be refused
    return 0;
  }
  if (!published.ok() || !(*w)->Publish(doc, 1'700'000'000'000'000'001 + size).ok()) {
    __builtin_trap();
  }
  auto reader = strobe::shm::SnapshotReader::Open(wdir.path(), "w");
  if (!reader.ok()) __builtin_trap();
  auto snap = reader->Read();
  if (!snap.ok() || snap->document != doc || snap->generation != 2 ||
      snap->time_unix_ns != 1'700'000'000'000'000'001 + size) {
    __builtin_trap();
  }
  return 0;
}
