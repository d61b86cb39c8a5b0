// Cost of Authenticator::Check on the request path: with a warm per-connection cache (the
// steady state), and without one (a connection's first request, or the first after a
// rotation), on 1..N threads sharing one Authenticator. BM_MutexCopyBaseline is what the
// server did before the Authenticator (a mutex and a copy of the token per request).
#include <benchmark/benchmark.h>

#include <mutex>
#include <string>

#include "strobed/server/auth.h"

namespace strobed::server {
namespace {

Authenticator& Shared() {
  static const std::shared_ptr<Authenticator> auth =
      Authenticator::WithTokens({std::string(32, 'k')});
  return *auth;
}

void BM_CheckCached(benchmark::State& state) {
  Authenticator& auth = Shared();
  const std::string header = "Bearer " + std::string(32, 'k');
  Authenticator::Cache cache;
  for (auto _ : state) benchmark::DoNotOptimize(auth.Check(header, cache));
}
BENCHMARK(BM_CheckCached)->ThreadRange(1, 4)->UseRealTime();

void BM_CheckColdCache(benchmark::State& state) {
  Authenticator& auth = Shared();
  const std::string header = "Bearer " + std::string(32, 'k');
  for (auto _ : state) {
    Authenticator::Cache cache;  // a new connection each time
    benchmark::DoNotOptimize(auth.Check(header, cache));
  }
}
BENCHMARK(BM_CheckColdCache)->ThreadRange(1, 4)->UseRealTime();

void BM_MutexCopyBaseline(benchmark::State& state) {
  static std::mutex mu;
  static const std::string token(32, 'k');
  const std::string header = "Bearer " + std::string(32, 'k');
  for (auto _ : state) {
    std::string copy;
    {
      std::lock_guard lock(mu);
      copy = token;
    }
    benchmark::DoNotOptimize(std::string_view(header).substr(7) == copy);
  }
}
BENCHMARK(BM_MutexCopyBaseline)->ThreadRange(1, 4)->UseRealTime();

}  // namespace
}  // namespace strobed::server
