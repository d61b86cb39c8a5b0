#include "strobed/alert/notifier.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "strobed/base/json.h"
#include "strobed/stream/engine.h"

namespace strobed::alert {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using base::JsonNumber;
using base::JsonQuote;
using base::JsonStringMap;

struct Url {
  std::string host;
  std::string port;
  std::string target;
};

strobe::Result<Url> ParseUrl(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (!std::string_view(url).starts_with(kScheme)) {
    return strobe::InvalidArgument("url must start with http://: " + url);
  }
  std::string rest = url.substr(kScheme.size());
  Url u;
  const std::size_t slash = rest.find('/');
  std::string authority = slash == std::string::npos ? rest : rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const std::size_t colon = authority.rfind(':');
  if (colon == std::string::npos) {
    u.host = authority;
    u.port = "80";
  } else {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
  }
  if (u.host.empty() || u.port.empty()) return strobe::InvalidArgument("bad url: " + url);
  return u;
}

}  // namespace

std::string Rfc3339(uint64_t unix_ns) {
  const auto secs = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  const auto millis = static_cast<unsigned>((unix_ns / 1'000'000) % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

LogNotifier::LogNotifier(Sink sink) : sink_(std::move(sink)) {
  if (!sink_) {
    sink_ = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  }
}

strobe::Status LogNotifier::Send(const std::vector<Notification>& batch) {
  for (const Notification& n : batch) {
    std::string line = "alert ";
    line += n.status == AlertStatus::kFiring ? "FIRING" : "RESOLVED";
    line += " " + JsonStringMap(n.labels) + " value=" + FormatValue(n.value);
    for (const auto& [k, v] : n.annotations) line += " " + k + "=" + JsonQuote(v);
    sink_(line);
    counters().sent.fetch_add(1, std::memory_order_relaxed);
  }
  return strobe::OkStatus();
}

strobe::Result<int> HttpPostJson(const std::string& url, const std::string& body,
                                 uint64_t timeout_ns) {
  auto u = ParseUrl(url);
  if (!u.ok()) return u.status();
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    const auto timeout = std::chrono::nanoseconds(timeout_ns);
    stream.expires_after(timeout);
    stream.connect(resolver.resolve(u->host, u->port));
    http::request<http::string_body> req{http::verb::post, u->target, 11};
    req.set(http::field::host, u->host + ":" + u->port);
    req.set(http::field::user_agent, "strobe-alert");
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    stream.expires_after(timeout);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return static_cast<int>(res.result_int());
  } catch (const beast::system_error& e) {
    if (e.code() == beast::error::timeout) {
      return strobe::DeadlineExceeded("POST " + url + ": timed out");
    }
    return strobe::Unavailable("POST " + url + ": " + e.code().message());
  } catch (const std::exception& e) {
    return strobe::Unavailable("POST " + url + ": " + e.what());
  }
}

HttpNotifier::HttpNotifier(NotifierConfig config, Sleeper sleeper)
    : config_(std::move(config)), sleeper_(std::move(sleeper)) {
  if (!sleeper_) {
    sleeper_ = [](uint64_t ns) { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); };
  }
}

strobe::Status HttpNotifier::Send(const std::vector<Notification>& batch) {
  if (batch.empty()) return strobe::OkStatus();
  const std::string url = Url();
  const std::string body = Body(batch);
  uint64_t backoff = config_.initial_backoff_ns;
  strobe::Status last;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1) {
      counters().retries.fetch_add(1, std::memory_order_relaxed);
      sleeper_(backoff);
      backoff = std::min(backoff * 2, config_.max_backoff_ns);
    }
    auto status = HttpPostJson(url, body, config_.timeout_ns);
    if (status.ok()) {
      const int code = *status;
      if (code >= 200 && code < 300) {
        counters().sent.fetch_add(batch.size(), std::memory_order_relaxed);
        return strobe::OkStatus();
      }
      last = strobe::Unavailable("POST " + url + ": HTTP " + std::to_string(code));
      if (code >= 400 && code < 500 && code != 429) break;  // permanent
    } else {
      last = status.status();
      if (last.code() == strobe::StatusCode::kInvalidArgument) break;
    }
  }
  counters().failed.fetch_add(batch.size(), std::memory_order_relaxed);
  return last;
}

std::string WebhookNotifier::Body(const std::vector<Notification>& batch) const {
  bool any_firing = false;
  for (const Notification& n : batch) any_firing = any_firing || n.status == AlertStatus::kFiring;
  std::string out = "{\"version\":\"1\",\"receiver\":\"strobe\",\"status\":";
  out += any_firing ? "\"firing\"" : "\"resolved\"";
  out += ",\"alerts\":[";
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Notification& n = batch[i];
    if (i != 0) out += ",";
    out += "{\"status\":";
    out += n.status == AlertStatus::kFiring ? "\"firing\"" : "\"resolved\"";
    out += ",\"labels\":" + JsonStringMap(n.labels) +
           ",\"annotations\":" + JsonStringMap(n.annotations) +
           ",\"startsAt\":" + JsonQuote(Rfc3339(n.starts_at_ns)) + ",\"endsAt\":" +
           (n.ends_at_ns != 0 ? JsonQuote(Rfc3339(n.ends_at_ns)) : "\"0001-01-01T00:00:00Z\"") +
           ",\"generatorURL\":" + JsonQuote(n.generator_url) +
           ",\"fingerprint\":" + JsonQuote(n.fingerprint) + ",\"value\":" + JsonNumber(n.value) +
           "}";
  }
  return out + "]}";
}

std::string AlertmanagerNotifier::Url() const {
  std::string base = config().url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v2/alerts";
}

std::string AlertmanagerNotifier::Body(const std::vector<Notification>& batch) const {
  std::string out = "[";
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Notification& n = batch[i];
    if (i != 0) out += ",";
    // Alertmanager label names must match [a-zA-Z_][a-zA-Z0-9_]*.
    std::map<std::string, std::string> labels;
    for (const auto& [k, v] : n.labels) labels[stream::PrometheusName(k)] = v;
    out += "{\"labels\":" + JsonStringMap(labels) +
           ",\"annotations\":" + JsonStringMap(n.annotations) +
           ",\"startsAt\":" + JsonQuote(Rfc3339(n.starts_at_ns));
    if (n.ends_at_ns != 0) out += ",\"endsAt\":" + JsonQuote(Rfc3339(n.ends_at_ns));
    out += ",\"generatorURL\":" + JsonQuote(n.generator_url) + "}";
  }
  return out + "]";
}

std::unique_ptr<Notifier> MakeNotifier(const NotifierConfig& config) {
  switch (config.type) {
    case NotifierType::kLog:
      return std::make_unique<LogNotifier>();
    case NotifierType::kWebhook:
      return std::make_unique<WebhookNotifier>(config);
    case NotifierType::kAlertmanager:
      return std::make_unique<AlertmanagerNotifier>(config);
  }
  return nullptr;
}

}  // namespace strobed::alert
