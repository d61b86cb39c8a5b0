#include "strobed/server/router.h"

#include <algorithm>

namespace strobed::server {
namespace {

bool Matches(const Router::Route& r, std::string_view path) {
  if (!r.prefix) return path == r.pattern;
  // "/debug/*" is stored as prefix "/debug": matches "/debug" and "/debug/...".
  if (path.size() < r.pattern.size() || path.substr(0, r.pattern.size()) != r.pattern) {
    return false;
  }
  return path.size() == r.pattern.size() || path[r.pattern.size()] == '/' ||
         r.pattern.back() == '/';
}

}  // namespace

void Router::Handle(std::string method, std::string pattern, Handler handler,
                    RouteOptions options) {
  auto route = std::make_shared<Route>();
  route->method = std::move(method);
  route->handler = std::move(handler);
  route->options = options;
  Add(std::move(route), std::move(pattern));
}

void Router::HandleAsync(std::string method, std::string pattern, AsyncHandler handler,
                         RouteOptions options) {
  auto route = std::make_shared<Route>();
  route->method = std::move(method);
  route->async_handler = std::move(handler);
  route->options = options;
  Add(std::move(route), std::move(pattern));
}

void Router::Add(std::shared_ptr<Route> route, std::string pattern) {
  if (pattern.size() >= 2 && pattern.ends_with("/*")) {
    route->prefix = true;
    pattern.resize(pattern.size() - 2);
    if (pattern.empty()) pattern = "/";
  }
  route->pattern = std::move(pattern);
  strobe::WriterMutexLock lock(mu_);
  std::erase_if(routes_, [&](const auto& r) {
    return r->method == route->method && r->pattern == route->pattern && r->prefix == route->prefix;
  });
  routes_.push_back(std::move(route));
}

void Router::HandleWebSocket(std::string pattern, WebSocketHandlers handlers,
                             RouteOptions options) {
  auto route = std::make_shared<Route>();
  route->method = "GET";
  route->pattern = std::move(pattern);
  route->websocket = std::make_shared<const WebSocketHandlers>(std::move(handlers));
  route->options = options;
  strobe::WriterMutexLock lock(mu_);
  std::erase_if(routes_, [&](const auto& r) {
    return r->method == route->method && r->pattern == route->pattern && !r->prefix;
  });
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  std::string_view lookup_method = method == "HEAD" ? std::string_view("GET") : method;
  Match match;
  size_t best_len = 0;
  bool best_exact = false;
  std::vector<std::string> allowed;
  strobe::ReaderMutexLock lock(mu_);
  for (const auto& r : routes_) {
    if (!Matches(*r, path)) continue;
    // Exact routes beat prefix routes; longer prefixes beat shorter ones.
    bool exact = !r->prefix;
    size_t len = r->pattern.size();
    if (r->method != lookup_method) {
      if (std::find(allowed.begin(), allowed.end(), r->method) == allowed.end()) {
        allowed.push_back(r->method);
      }
      continue;
    }
    if (!match.route || (exact && !best_exact) || (exact == best_exact && len > best_len)) {
      match.route = r;
      best_len = len;
      best_exact = exact;
    }
  }
  if (match.route) {
    match.status = 200;
    return match;
  }
  if (!allowed.empty()) {
    match.status = 405;
    std::sort(allowed.begin(), allowed.end());
    for (const auto& m : allowed) {
      if (!match.allow.empty()) match.allow += ", ";
      match.allow += m;
    }
    if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end()) {
      match.allow += ", HEAD";
    }
  }
  return match;
}

std::vector<std::shared_ptr<const Router::Route>> Router::Routes() const {
  strobe::ReaderMutexLock lock(mu_);
  return routes_;
}

uint64_t Router::MaxBodyBytes() const {
  strobe::ReaderMutexLock lock(mu_);
  uint64_t max = 0;
  for (const auto& r : routes_) max = std::max(max, r->options.max_body_bytes);
  return max;
}

}  // namespace strobed::server
