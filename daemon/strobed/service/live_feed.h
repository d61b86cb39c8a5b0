#pragma once

// service::LiveFeed: the dashboard's live feed, the WebSocket endpoint /api/v1/live.
//
// Protocol (JSON text messages; docs/api.md#live-feed):
//   client → {"type":"subscribe","token":"…","rate":10,
//             "series":["demo_http_requests_total","node_cpu_usage_ratio{cpu=\"0\"}","node_*"],
//             "graph":true,"alerts":true,"events":true}
//   server → frames (live_frame.h): the first after each subscribe is full, then deltas, at
//            `rate` per second (1..60, clamped), or
//            {"type":"error","code":401|400|503,"message":"…"} and, for 401 and 503, a close.
// A client may subscribe again at any time (a new view): the next frame is full. A reconnect is
// a new subscription, so a client resumes from a full frame without any server-side session.
//
// Selectors: a metric name as exposed (counters with their `_total`), a name prefix ending in
// `*`, either with label equality matchers `{a="x",b="y"}`. Keys of series are
// `name{label="value",...}` in the family's label order; a histogram's value is
// [count, sum, [per-bucket counts]] with its bounds in `meta:<name>` ({"type":"histogram",
// "bounds":[...]}); counters and gauges are numbers with `meta:<name>` {"type":"counter"} or
// {"type":"gauge"}. Topics: "graph" adds `edge:<caller>><callee>` → [calls, errors, p50 ms,
// p90 ms, p99 ms] over the service-graph window and `graph:window` (seconds); "alerts" adds
// `alerts` (the /api/v1/alerts document); "events" adds one key per recent stream event
// (window results, CEP matches, anomalies: the newest kMaxLiveEvents of each kind),
// `ev:<16 hex digits of a hash of the event>` → the event, so a frame carries only the events
// that are new and the keys of those that aged out.
//
// Auth: browsers cannot set Authorization on a WebSocket, so the route itself is open and the
// token travels in the subscribe message; when the daemon has tokens configured, a subscribe
// without an accepted token gets a 401 error and the connection is closed. The token is checked
// again after every rotation (a revoked token closes the feed). docs/security.md.
//
// Cost and memory: one thread ticks at the fastest client's rate. Clients are due on a grid of
// their interval (multiples of 1/rate s on the steady clock), so every client at the same rate
// is served by the same tick. Per tick the registry is collected once and each source read
// once; clients with the same subscription (selectors and topics, in the same order) share a
// group, which builds its state once per tick, and each distinct previous state a due client
// was last sent gets its frame encoded once; the frame's bytes are then queued on every such
// client's socket without a copy (WebSocketConnection::SendShared). In the steady state a tick
// therefore costs one collection, one state and one delta per subscription, plus one queue
// push per client. A client whose socket still holds more than `coalesce_bytes` unsent bytes is
// skipped (counted as coalesced): it gets fewer, newer frames (its next frame is the delta from
// the state it was last sent, which it keeps alive), and the daemon keeps at most one state per
// group, one per lagging client, and about coalesce_bytes plus one frame per client. Clients
// are limited to max_clients; states to max_keys keys.
//
// Self-metrics: strobe_live_clients, strobe_live_frames_total{result="sent|coalesced"},
// strobe_live_frame_bytes_total, strobe_live_rejected_total{reason="auth|bad_request|full"}.
//
// Thread class: thread-safe. Handlers run on server I/O threads, Tick on the feed thread (or a
// test); one mutex guards the clients.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "strobe/base/mutex.h"
#include "strobe/base/status.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/server/auth.h"
#include "strobed/server/websocket.h"
#include "strobed/service/live_frame.h"

namespace strobe::metrics {
class Registry;
}  // namespace strobe::metrics

namespace strobed::trace {
class TraceStore;
}  // namespace strobed::trace

namespace strobed::service {

// Per kind (window results; CEP matches and anomalies), the newest events the feed shows.
inline constexpr size_t kMaxLiveEvents = 250;

// Splits a JSON array ("[{...},{...}]") into its elements (views into `array`); nested
// brackets and strings are skipped over. A malformed array yields what was split so far.
std::vector<std::string_view> SplitJsonArray(std::string_view array);

struct LiveFeedOptions {
  size_t max_clients = 256;
  uint64_t coalesce_bytes = uint64_t{64} << 10;
  size_t max_selectors = 64;
  size_t max_keys = 20000;
  uint64_t max_message_bytes = uint64_t{64} << 10;  // a subscribe message larger closes
  uint64_t max_queued_bytes = uint64_t{4} << 20;    // the socket queue's hard bound
};

// Where the feed reads. Each member may be null/empty: its topic then stays empty.
struct LiveSources {
  const strobe::metrics::Registry* registry = nullptr;
  const trace::TraceStore* traces = nullptr;
  std::function<uint64_t()> steady_now_ns;  // the trace store's clock (service-graph window)
  std::function<std::string()> alerts;      // a JSON document
  std::function<std::string()> events;      // a JSON array of events, each kind oldest first
};

// One parsed series selector (see the header comment).
struct LiveSelector {
  std::string name;  // without the trailing '*'
  bool prefix = false;
  std::vector<std::pair<std::string, std::string>> labels;

  // Parses `name`, `name*`, `name{a="x",b="y"}`. InvalidArgument otherwise.
  static strobe::Result<LiveSelector> Parse(std::string_view text);
};

class LiveFeed {
 public:
  struct Stats {
    uint64_t clients = 0;
    uint64_t frames_sent = 0;
    uint64_t frames_coalesced = 0;
    uint64_t frame_bytes = 0;
    uint64_t rejected_auth = 0;
    uint64_t rejected_bad_request = 0;
    uint64_t rejected_full = 0;
  };

  // `auth` null: no token needed.
  LiveFeed(LiveSources sources, std::shared_ptr<const server::Authenticator> auth,
           LiveFeedOptions options = {});
  ~LiveFeed();
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  // The handlers to register: router.HandleWebSocket("/api/v1/live", feed.Handlers(),
  // {.require_auth = false}). They refer to this object: it must outlive the server.
  server::WebSocketHandlers Handlers();

  // Sends the frames due at `steady_ns` (any monotonic ns), stamped `unix_ms`. Thread-safe.
  void Tick(uint64_t steady_ns, uint64_t unix_ms);

  // Starts/stops the thread that calls Tick at the fastest subscribed rate. Control thread.
  void Start();
  void Stop();

  Stats stats() const;
  strobe::Status RegisterMetrics(strobe::metrics::Registry& registry);

 private:
  // The clients with one subscription; states are built per group (see the header comment).
  struct Group {
    std::vector<LiveSelector> series;
    bool graph = false, alerts = false, events = false;
    size_t clients = 0;   // members; the group is dropped with its last one
    uint64_t seq = 0;     // states built (the frames' "seq")
    uint64_t marked = 0;  // the Tick() that read the sources for it
  };
  struct Client {
    std::shared_ptr<server::WebSocketConnection> conn;
    bool authorized = false;
    bool subscribed = false;
    std::string token;
    server::Authenticator::Cache auth_cache;
    uint64_t auth_generation = 0;
    std::shared_ptr<Group> group;  // set while subscribed
    uint64_t interval_ns = 100'000'000;
    uint64_t next_due_ns = 0;
    // The group state this client was last sent (its next frame is the delta from it); null:
    // the next frame is full.
    std::shared_ptr<const LiveState> sent;
  };

  // Takes `c` out of its group (dropping the group with its last member). Next frame: full.
  void Leave(Client& c) STROBE_REQUIRES(mu_);
  void OnOpen(std::shared_ptr<server::WebSocketConnection> conn);
  void OnMessage(server::WebSocketConnection& conn, std::string_view text);
  void OnClose(server::WebSocketConnection& conn);
  void Reject(server::WebSocketConnection& conn, int code, std::string_view message, bool close);
  void Run();

  const LiveSources sources_;
  const std::shared_ptr<const server::Authenticator> auth_;
  const LiveFeedOptions options_;

  mutable strobe::Mutex mu_;
  strobe::CondVar cv_;
  std::map<const server::WebSocketConnection*, Client> clients_ STROBE_GUARDED_BY(mu_);
  // Subscription text (selectors and topics) → its group.
  std::map<std::string, std::shared_ptr<Group>, std::less<>> groups_ STROBE_GUARDED_BY(mu_);
  uint64_t ticks_ STROBE_GUARDED_BY(mu_) = 0;
  bool stop_ STROBE_GUARDED_BY(mu_) = false;
  std::thread thread_;

  std::atomic<uint64_t> frames_sent_{0};
  std::atomic<uint64_t> frames_coalesced_{0};
  std::atomic<uint64_t> frame_bytes_{0};
  std::atomic<uint64_t> rejected_auth_{0};
  std::atomic<uint64_t> rejected_bad_request_{0};
  std::atomic<uint64_t> rejected_full_{0};
};

}  // namespace strobed::service
