#pragma once

// service::PprofComponent: Go-style /debug/pprof endpoints of `strobe serve` on the API listener,
// backed by libstrobe's profiler (strobe/profile/cpu_profiler.h):
//
//   GET /debug/pprof/                               index (HTML, links to the endpoints)
//   GET /debug/pprof/profile?seconds=N&hz=H         CPU profile of the daemon, pprof protobuf
//                                                   (gzip): `go tool pprof http://.../profile`
//
// Access: behind the API bearer token like every API route (auth.token). Enabled by
// debug.pprof: `auto` (the default) serves them only when listen.http is a loopback address;
// `on` everywhere; `off` nowhere. When disabled the routes answer 403 naming the key.
//
// Bounds: one CPU profile at a time in the process (a second request gets 409 while one runs);
// seconds 1..kMaxSeconds (default 30), hz 1..kMaxHz (default 99); anything else is 400. The
// profile runs on the component's own thread and the answer goes back through the server's
// asynchronous-route path, so no I/O thread waits. Shutdown ends a running profile early (it is
// still answered, with what it sampled) and joins the thread.
//
// Thread class: control thread (Start/Shutdown); the routes are thread-safe.

#include <memory>
#include <string>
#include <thread>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/daemon/component.h"
#include "strobed/server/router.h"

namespace strobed::service {

class PprofComponent final : public daemon::Component {
 public:
  static constexpr int kMaxSeconds = 60;
  static constexpr int kMaxHz = 1000;

  PprofComponent() = default;
  ~PprofComponent() override;

  std::string Name() const override { return "pprof"; }
  strobe::Status Start(const daemon::ComponentContext& ctx) override;
  strobe::Status Shutdown(daemon::Deadline deadline) override;

  // Whether debug.pprof `mode` enables the endpoints on listener host `host` ("auto": only a
  // loopback host: localhost, 127.0.0.0/8, ::1).
  static bool Enabled(const std::string& mode, const std::string& host);

 private:
  void Profile(const server::Request& request, server::Responder respond);
  void Run(int seconds, int hz, server::Responder respond);

  strobe::Mutex mu_;
  strobe::CondVar cv_;
  bool busy_ STROBE_GUARDED_BY(mu_) = false;      // a profile request is being served
  bool stopping_ STROBE_GUARDED_BY(mu_) = false;  // Shutdown began: end the profile now
  std::thread worker_ STROBE_GUARDED_BY(mu_);     // the last profile's thread (joinable)
};

}  // namespace strobed::service
