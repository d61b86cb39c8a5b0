// Every /proc parser on arbitrary text: must return (possibly empty) results, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "strobed/host/proc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace h = strobed::host;
  (void)h::ParseProcStat(text, 100);
  (void)h::ParseMemInfo(text);
  (void)h::ParseLoadAvg(text);
  (void)h::ParseNetDev(text);
  (void)h::ParseDiskStats(text);
  (void)h::ParseProcessStat(text, 100, 4096);
  (void)h::ParseProcessStatus(text);
  (void)h::ParseMaxOpenFiles(text);
  for (const h::MountEntry& m : h::ParseMountInfo(text).mounts) (void)h::ClassifyMount(m);
  return 0;
}
