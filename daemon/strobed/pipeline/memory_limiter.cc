#include "strobed/pipeline/memory_limiter.h"

#include <vector>

namespace strobed::pipeline {

std::span<const OptionSpec> MemoryLimiterOptionSpecs() {
  static const std::vector<OptionSpec>* specs = new std::vector<OptionSpec>{
      {"soft_limit", OptionType::kBytes, "384MiB",
       "above this much pipeline data in memory, receivers are told to slow down (429)"},
      {"hard_limit",
       OptionType::kBytes,
       "512MiB",
       "pushes that would exceed this are refused (503); usage never exceeds it",
       {.min = "1"}},
      {"retry_after", OptionType::kDuration, "1s", "Retry-After hint given to clients"},
  };
  return *specs;
}

strobe::Result<MemoryLimiterOptions> MemoryLimiterOptionsFrom(const Options& options) {
  MemoryLimiterOptions o;
  o.soft_limit_bytes = options.GetBytes("soft_limit");
  o.hard_limit_bytes = options.GetBytes("hard_limit");
  o.retry_after =
      std::chrono::duration_cast<std::chrono::milliseconds>(options.GetDuration("retry_after"));

  if (o.soft_limit_bytes > o.hard_limit_bytes) {
    return strobe::InvalidArgument(options.Where("soft_limit") +
                                   ": memory_limiter.soft_limit must not exceed hard_limit");
  }
  return o;
}

}  // namespace strobed::pipeline
