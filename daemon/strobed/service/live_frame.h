#pragma once

// The wire format of the live feed (/api/v1/live, live_feed.h) and the per-client delta logic,
// free of threads and sockets so it can be tested alone.
//
// What a client shows is a LiveState: key → compact JSON value, e.g.
//   demo_http_requests_total{service="auth",code="200"}  →  1532
//   meta:demo_http_request_duration_seconds              →  {"type":"histogram","bounds":[...]}
//   edge:frontend>auth                                   →  [calls,errors,p50ms,p90ms,p99ms]
//   alerts                                               →  {"alerts":[...],...}
//   ev:3f2a9c0d11e4b7a2                                  →  {"type":"anomaly",...}
//
// A frame brings a client from what it was last *sent* to the current state:
//   {"type":"frame","seq":7,"t":1733600000123,"full":true,"set":{"k":v,...},"del":["k",...],
//    }
// "full" (first frame after a (re)subscribe): "set" holds every key, the client starts from an
// empty state. Otherwise "set" holds only keys whose value changed or appeared and "del" the
// keys that disappeared; empty members are left out. "seq" numbers the states of the
// subscription (from 1; live_feed.h shares them between clients with the same subscription, so
// a client may start above 1 and skips numbers when it was coalesced); "t" is the time of the
// state (Unix ms).
//
// Coalescing: the hub (live_feed.h) simply does not call Frame() for a client whose socket
// still holds unsent bytes; since the state remembered is what was last sent, the next frame
// carries every change in between — fewer, newer frames, never a queue of stale ones.
//
// Thread class: thread-compatible values.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace strobed::service {

using LiveState = std::map<std::string, std::string, std::less<>>;

// The frame taking a client from `from` (null: from nothing, a full frame) to `to`, numbered
// `seq`, stamped `t_ms` (Unix ms). Pure; the text depends only on the arguments, so the hub
// encodes it once for every client that was last sent the same `from`.
std::string EncodeLiveFrame(const LiveState* from, const LiveState& to, uint64_t seq,
                            uint64_t t_ms);

// One client's own delta stream (EncodeLiveFrame with the state it was last sent); the hub
// shares states between clients instead, this is the single-client form (tests, benchmarks).
class LiveClientState {
 public:
  // The frame taking this client from its last sent state to `current`, which is remembered
  // as sent. `t_ms`: Unix ms.
  std::string Frame(const LiveState& current, uint64_t t_ms);

  // Forgets what was sent: the next frame is full (after a (re)subscribe).
  void Reset();

  uint64_t seq() const { return seq_; }
  const LiveState& sent() const { return sent_; }

 private:
  LiveState sent_;
  uint64_t seq_ = 0;
  bool full_ = true;
};

}  // namespace strobed::service
