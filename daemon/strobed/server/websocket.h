#pragma once

// WebSocket endpoints without Beast in the caller: a route registered with
// Router::HandleWebSocket gets a WebSocketConnection per accepted client.
//
//   WebSocketHandlers h;
//   h.on_open = [&](std::shared_ptr<WebSocketConnection> c) { clients.Add(c); };
//   h.on_message = [](WebSocketConnection& c, std::string_view text) { c.SendText("ack"); };
//   h.on_close = [&](WebSocketConnection& c) { clients.Remove(&c); };
//
// SendText/SendShared may be called from any thread; messages are queued per connection and written
// in order. The queue is bounded (max_queued_bytes): a slow client whose queue is full has
// the new message dropped and counted (dropped_messages()), so one stuck browser cannot grow
// the daemon's memory. Callbacks run on the server's I/O thread of that connection.
//
// Thread class: WebSocketConnection is thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace strobed::server {

class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  // Queues a text frame. Returns false (and counts a drop) when the connection is closed or
  // its queue is over the limit. Thread-safe, never blocks.
  virtual bool SendText(std::string message) = 0;
  // The same for a message shared with other connections (one frame broadcast to many
  // clients): the connection keeps a reference until it is written, no copy. The default
  // copies (for test doubles); the server's connections override it.
  virtual bool SendShared(std::shared_ptr<const std::string> message) { return SendText(*message); }
  // Starts a normal close (code 1000). Thread-safe, idempotent.
  virtual void Close() = 0;
  virtual uint64_t dropped_messages() const = 0;
  // Bytes queued and not yet written to the socket (what a slow reader leaves behind), for
  // callers that coalesce instead of queueing (service/live_feed.h). Thread-safe.
  virtual uint64_t queued_bytes() const = 0;
  virtual std::string remote_address() const = 0;
};

struct WebSocketHandlers {
  std::function<void(std::shared_ptr<WebSocketConnection>)> on_open;
  std::function<void(WebSocketConnection&, std::string_view)> on_message;
  std::function<void(WebSocketConnection&)> on_close;
  uint64_t max_queued_bytes = uint64_t{8} << 20;   // per connection
  uint64_t max_message_bytes = uint64_t{1} << 20;  // incoming frames larger close the connection
};

}  // namespace strobed::server
