// The listener of an HttpServer: binding, the I/O threads (one io_context each), the
// acceptor dealing connections out to them, and the graceful Shutdown. Connections are served
// by http_session.cc and websocket_session.cc.

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

using internal::SessionBase;
using internal::StartHttpSession;
using internal::StatePtr;

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
    auto open = st->stats.connections_open.load(std::memory_order_relaxed);
    if (open >= static_cast<int64_t>(st->options.max_connections)) {
      st->stats.connections_rejected.fetch_add(1, std::memory_order_relaxed);
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      st->stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
      st->stats.connections_open.fetch_add(1, std::memory_order_relaxed);
      StartHttpSession(st, std::move(socket));
    }
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

HttpServer::HttpServer(ServerOptions options, Router& router)
    : state_(std::make_shared<State>(std::move(options), router)) {
  strobe::MutexLock lock(state_->token_mu);
  state_->token = state_->options.auth_token;
}

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
  if (st.options.threads < 1 || st.options.threads > 64) {
    return strobe::InvalidArgument("cannot listen for " + st.options.name +
                                   ": threads must be 1..64");
  }
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
    st.threads.emplace_back([ioc = ioc.get()] { ioc->run(); });
  }
  return strobe::OkStatus();
}

std::string HttpServer::BoundAddress() const {
  if (!started_) return "";
  std::string host = state_->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(bound_port_.load());
}

void HttpServer::SetAuthToken(std::string token) {
  strobe::MutexLock lock(state_->token_mu);
  state_->token = std::move(token);
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
    ioc->run_for(std::chrono::seconds(2));
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
