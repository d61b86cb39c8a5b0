// The listener of an HttpServer: binding, the I/O threads (one io_context each), the
// acceptor dealing connections out to them under the connection limits (eviction of the
// connection waiting longest for a head, the reserved share, the per-client bound), and the
// graceful Shutdown. Connections are served by http_session.cc and websocket_session.cc.

#include "strobed/server/http_server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "strobe/base/check.h"
#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"
#include "strobed/server/internal/server_state.h"

namespace strobed::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

using internal::ConnectionSlot;
using internal::SessionBase;
using internal::StartHttpSession;
using internal::StatePtr;

// Claims the session that has waited longest for a request head and asks it to close. False
// when every connection is busy with a request (or a WebSocket). Walks every session: called
// only when the listener is full, never per request.
bool EvictOldestWaiting(HttpServer::State& st) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::shared_ptr<SessionBase> victim;
    {
      strobe::MutexLock lock(st.sessions_mu);
      SessionBase* oldest = nullptr;
      int64_t oldest_since = 0;
      for (SessionBase* s : st.sessions) {
        const int64_t since = s->waiting_since.load(std::memory_order_relaxed);
        if (since > 0 && (oldest == nullptr || since < oldest_since)) {
          oldest = s;
          oldest_since = since;
        }
      }
      if (oldest == nullptr) return false;
      // Fails when the session's head completed meanwhile: look again.
      if (!oldest->waiting_since.compare_exchange_strong(oldest_since, SessionBase::kClaimed,
                                                         std::memory_order_relaxed)) {
        continue;
      }
      victim = oldest->Lock();  // null: being destroyed, its slot is freeing anyway
    }
    st.stats.connections_evicted.fetch_add(1, std::memory_order_relaxed);
    if (victim) victim->Evict();
    return true;
  }
  return false;
}

// Admits an accepted socket under the limits (see http_server.h), or closes it and counts why.
void Admit(const StatePtr& st, tcp::socket socket) {
  const ServerOptions& o = st->options;
  auto drop = [&](std::atomic<uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    socket.close(ignored);
  };
  net::ip::address client;
  const bool per_client = o.max_connections_per_client > 0;
  if (per_client) {
    beast::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return drop(st->stats.connections_rejected);  // gone already
    client = ep.address();
    // Checked before any eviction (no connection is evicted for one refused anyway). Only
    // this acceptor adds to `clients`, so the count cannot grow between check and add.
    strobe::MutexLock lock(st->clients_mu);
    auto it = st->clients.find(client);
    if (it != st->clients.end() && it->second >= o.max_connections_per_client) {
      return drop(st->stats.connections_per_client_rejected);
    }
  }
  const int64_t open = st->stats.connections_open.load(std::memory_order_relaxed);
  const int64_t general = static_cast<int64_t>(o.max_connections - o.reserved_connections);
  bool reserved = false;
  if (open >= general && !EvictOldestWaiting(*st)) {
    if (open >= static_cast<int64_t>(o.max_connections)) {
      return drop(st->stats.connections_rejected);
    }
    reserved = true;
  }
  if (per_client) {
    strobe::MutexLock lock(st->clients_mu);
    ++st->clients[client];
  }
  st->stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  st->stats.connections_open.fetch_add(1, std::memory_order_relaxed);
  StartHttpSession(st, std::move(socket), ConnectionSlot(st.get(), client, per_client), reserved);
}

// Runs one I/O thread's event loop. Sessions catch what their own code throws; this is the
// last line: an exception that still escapes a completion handler is counted and the loop goes
// on (the handler's session, owned by the handler, is released and its connection closed).
void RunLoop(HttpServer::State& st, net::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (...) {
      st.stats.internal_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void DoAccept(const StatePtr& st) {
  net::io_context& home = *st->iocs[st->next_ioc];
  st->next_ioc = (st->next_ioc + 1) % st->iocs.size();
  st->acceptor->async_accept(home, [st](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !st->acceptor->is_open()) return;
      // Out of file descriptors or similar: back off briefly instead of spinning.
      auto timer = std::make_shared<net::steady_timer>(st->acceptor->get_executor(),
                                                       std::chrono::milliseconds(50));
      timer->async_wait([st, timer](beast::error_code) {
        if (st->acceptor->is_open()) DoAccept(st);
      });
      return;
    }
    if (st->draining.load()) return;
    Admit(st, std::move(socket));
    DoAccept(st);
  });
}

// Strong references to every session still alive (skips those being destroyed).
std::vector<std::shared_ptr<SessionBase>> LiveSessions(HttpServer::State& st) {
  std::vector<std::shared_ptr<SessionBase>> live;
  strobe::MutexLock lock(st.sessions_mu);
  for (SessionBase* s : st.sessions) {
    if (auto p = s->Lock()) live.push_back(std::move(p));
  }
  return live;
}

}  // namespace

strobe::Status ValidateServerOptions(const ServerOptions& o) {
  auto bad = [&](std::string_view what) {
    return strobe::InvalidArgument("cannot listen for " + o.name + ": " + std::string(what));
  };
  if (o.threads < 1 || o.threads > 64) return bad("threads must be 1..64");
  for (auto [name, value] :
       {std::pair{"read_header_timeout", o.read_header_timeout},
        std::pair{"body_timeout", o.body_timeout}, std::pair{"idle_timeout", o.idle_timeout},
        std::pair{"write_timeout", o.write_timeout}}) {
    if (value.count() <= 0) return bad(std::string(name) + " must be greater than 0");
  }
  if (o.max_header_bytes == 0 || o.max_header_bytes > (uint64_t{1} << 30)) {
    return bad("max_header_bytes must be 1..1GiB");
  }
  if (o.max_body_bytes == 0) return bad("max_body_bytes must be greater than 0");
  if (o.max_connections == 0) return bad("max_connections must be greater than 0");
  if (o.reserved_connections >= o.max_connections) {
    return bad("reserved_connections (" + std::to_string(o.reserved_connections) +
               ") must be less than max_connections (" + std::to_string(o.max_connections) + ")");
  }
  return strobe::OkStatus();
}

HttpServer::HttpServer(ServerOptions options, Router& router)
    : state_(std::make_shared<State>(std::move(options), router)) {}

HttpServer::~HttpServer() {
  if (started_ && !stopped_) (void)Shutdown(std::chrono::milliseconds(0));
}

void HttpServer::SetRequestObserver(RequestObserver observer) {
  state_->observer = std::move(observer);
}

strobe::Status HttpServer::Start() {
  STROBE_CHECK(!started_);
  auto& st = *state_;
  const std::string where = st.options.host + ":" + std::to_string(st.options.port);
  STROBE_RETURN_IF_ERROR(ValidateServerOptions(st.options));
  st.iocs.clear();
  for (int i = 0; i < st.options.threads; ++i) {
    st.iocs.push_back(std::make_unique<net::io_context>(1));
  }
  beast::error_code ec;
  net::ip::address addr = net::ip::make_address(st.options.host, ec);
  if (ec) {
    tcp::resolver resolver(*st.iocs[0]);
    auto results = resolver.resolve(st.options.host, std::to_string(st.options.port), ec);
    if (ec || results.empty()) {
      return strobe::InvalidArgument("cannot listen for " + st.options.name + " on " + where +
                                     ": cannot resolve host '" + st.options.host + "'");
    }
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(addr, st.options.port);
  st.acceptor.emplace(*st.iocs[0]);
  auto fail = [&](std::string_view what) {
    std::string msg = "cannot listen for " + st.options.name + " on " + where + ": " +
                      std::string(what) + ": " + ec.message();
    if (ec == net::error::address_in_use) {
      msg += " (is another strobe serve running? choose another port with --" + st.options.name +
             "=HOST:PORT or disable it with --" + st.options.name + "=off)";
      return strobe::Unavailable(msg);
    }
    return strobe::Unavailable(msg);
  };
  st.acceptor->open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  st.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("setsockopt");
  st.acceptor->bind(endpoint, ec);
  if (ec) return fail("bind");
  st.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  bound_port_.store(st.acceptor->local_endpoint().port());
  started_ = true;
  DoAccept(state_);
  for (auto& ioc : st.iocs) {
    st.work.push_back(net::make_work_guard(*ioc));
    st.threads.emplace_back([&st, ioc = ioc.get()] { RunLoop(st, *ioc); });
  }
  return strobe::OkStatus();
}

std::string HttpServer::BoundAddress() const {
  if (!started_) return "";
  std::string host = state_->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(bound_port_.load());
}

strobe::Status HttpServer::Shutdown(std::chrono::milliseconds grace) {
  if (!started_ || stopped_) return strobe::OkStatus();
  stopped_ = true;
  auto& st = *state_;
  const auto deadline = Clock::now() + grace;
  st.draining.store(true);
  net::post(st.acceptor->get_executor(), [s = state_] {
    beast::error_code ec;
    s->acceptor->close(ec);
  });
  std::vector<std::shared_ptr<internal::SessionBase>> live = LiveSessions(st);
  for (auto& s : live) s->OnDrain();
  live.clear();
  bool drained = false;
  {
    strobe::MutexLock lock(st.sessions_mu);
    drained =
        st.sessions_cv.WaitUntil(st.sessions_mu, deadline, [&st]() STROBE_REQUIRES(st.sessions_mu) {
          return st.in_flight.load() == 0 && st.sessions.empty();
        });
  }
  const int64_t left = st.in_flight.load();
  for (auto& ioc : st.iocs) ioc->stop();
  for (auto& t : st.threads) t.join();
  st.work.clear();
  st.threads.clear();
  // Close what is left and run the io_context once more so every pending operation completes
  // (aborted) and releases its session. Afterwards no handler holds a session, so sessions
  // still referenced by WebSocket holders keep the State (and its io_context) alive through
  // their StatePtr and are destroyed safely whenever the holders let go.
  {
    std::vector<std::shared_ptr<internal::SessionBase>> rest = LiveSessions(st);
    for (auto& s : rest) s->ForceClose();
  }
  {
    beast::error_code ec;
    if (st.acceptor) st.acceptor->close(ec);
  }
  for (auto& ioc : st.iocs) {
    ioc->restart();
    try {
      ioc->run_for(std::chrono::seconds(2));
    } catch (...) {
      st.stats.internal_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  for (auto& s : LiveSessions(st)) s->OnStopped();  // WebSocket holders: on_close
  if (!drained && left > 0) {
    return strobe::DeadlineExceeded(std::to_string(left) + " " + st.options.name +
                                    " request(s) still in flight after the grace period");
  }
  return strobe::OkStatus();
}

int64_t HttpServer::InFlight() const { return state_->in_flight.load(); }

const ServerStats& HttpServer::stats() const { return state_->stats; }

}  // namespace strobed::server
