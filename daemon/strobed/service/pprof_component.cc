#include "strobed/service/pprof_component.h"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <utility>

#include "strobe/profile/cpu_profiler.h"
#include "strobe/profile/profile.h"
#include "strobed/config/config.h"

namespace strobed::service {
namespace {

constexpr char kIndex[] =
    "<!DOCTYPE html>\n<html><head><title>/debug/pprof/</title></head><body>\n"
    "<h1>/debug/pprof/</h1>\n<p>Profiles of this strobe daemon (open with <code>go tool pprof "
    "URL</code>).</p>\n<ul>\n"
    "<li><a href=\"profile?seconds=30\">profile</a>: CPU profile; seconds=1..60 (default 30), "
    "hz=1..1000 (default 99); pprof protobuf, gzip</li>\n"
    "</ul>\n</body></html>\n";

// A whole decimal number in [lo, hi], or nullopt.
std::optional<int> IntParam(const server::Request& r, const char* key, int def, int lo, int hi) {
  std::optional<std::string> v = r.QueryParam(key);
  if (!v) return def;
  if (v->empty() || v->size() > 9) return std::nullopt;
  int n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < lo || n > hi) return std::nullopt;
  return n;
}

}  // namespace

bool PprofComponent::Enabled(const std::string& mode, const std::string& host) {
  if (mode == "on") return true;
  if (mode != "auto") return false;
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

PprofComponent::~PprofComponent() { (void)Shutdown(daemon::Deadline::max()); }

strobe::Status PprofComponent::Start(const daemon::ComponentContext& ctx) {
  if (!Enabled(ctx.config.debug_pprof, ctx.config.http.host)) {
    std::string why = "/debug/pprof is off: debug.pprof is '" + ctx.config.debug_pprof +
                      "' and listen.http (" + ctx.config.http.host +
                      ") is not a loopback address; set debug.pprof: on to serve it";
    ctx.api.Handle("GET", "/debug/pprof/*",
                   [why](const server::Request&) { return server::Response::Error(403, why); });
    return strobe::OkStatus();
  }
  ctx.api.Handle("GET", "/debug/pprof/*", [](const server::Request& r) {
    if (r.path == "/debug/pprof" || r.path == "/debug/pprof/") {
      return server::Response::Text(200, kIndex, "text/html; charset=utf-8");
    }
    return server::Response::Error(404, "no profile " + r.path + "; see /debug/pprof/");
  });
  ctx.api.HandleAsync("GET", "/debug/pprof/profile",
                      [this](const server::Request& r, server::Responder respond) {
                        Profile(r, std::move(respond));
                      });
  return strobe::OkStatus();
}

void PprofComponent::Profile(const server::Request& request, server::Responder respond) {
  std::optional<int> seconds = IntParam(request, "seconds", 30, 1, kMaxSeconds);
  std::optional<int> hz = IntParam(request, "hz", 99, 1, kMaxHz);
  if (!seconds || !hz) {
    respond(server::Response::Error(400, "seconds must be a whole number 1.." +
                                             std::to_string(kMaxSeconds) + " and hz 1.." +
                                             std::to_string(kMaxHz)));
    return;
  }
  strobe::MutexLock lock(mu_);
  if (stopping_) {
    respond(server::Response::Error(503, "shutting down"));
    return;
  }
  if (busy_) {
    respond(server::Response::Error(409, "a CPU profile is already being taken; retry later"));
    return;
  }
  busy_ = true;
  // The previous profile's thread has answered and is about to return (busy_ was false).
  if (worker_.joinable()) worker_.join();
  worker_ = std::thread(
      [this, s = *seconds, h = *hz, respond = std::move(respond)] { Run(s, h, respond); });
}

void PprofComponent::Run(int seconds, int hz, server::Responder respond) {
  server::Response response;
  strobe::profile::CpuProfiler profiler;
  strobe::Status started = profiler.Start({.hz = hz});
  if (!started.ok()) {
    int status = started.code() == strobe::StatusCode::kFailedPrecondition ? 409 : 500;
    response = server::Response::Error(status, started.message());
  } else {
    {
      strobe::MutexLock lock(mu_);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
      cv_.WaitUntil(mu_, deadline, [this]() STROBE_REQUIRES(mu_) { return stopping_; });
    }
    strobe::Result<strobe::profile::CpuProfile> result = profiler.Stop();
    strobe::Result<std::string> body = result.ok()
                                           ? strobe::profile::EncodePprofGzip(result->profile)
                                           : strobe::Result<std::string>(result.status());
    if (!body.ok()) {
      response = server::Response::Error(500, body.status().message());
    } else {
      response.status = 200;
      response.headers.Set("Content-Type", "application/octet-stream");
      response.headers.Set("Content-Disposition", "attachment; filename=\"profile\"");
      response.body = std::move(*body);
    }
  }
  respond(std::move(response));
  strobe::MutexLock lock(mu_);
  busy_ = false;
}

strobe::Status PprofComponent::Shutdown(daemon::Deadline deadline) {
  (void)deadline;  // a profile ends at once when told to
  std::thread worker;
  {
    strobe::MutexLock lock(mu_);
    stopping_ = true;
    worker = std::move(worker_);
  }
  cv_.NotifyAll();
  if (worker.joinable()) worker.join();
  return strobe::OkStatus();
}

}  // namespace strobed::service
