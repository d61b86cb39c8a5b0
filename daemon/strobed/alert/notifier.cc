#include "strobed/alert/notifier.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "strobed/base/json.h"
#include "strobed/stream/engine.h"

namespace strobed::alert {
namespace {

using base::JsonNumber;
using base::JsonQuote;
using base::JsonStringMap;

base::RetryPolicy PolicyOf(const NotifierConfig& c) {
  base::RetryPolicy p;
  p.max_attempts = std::max(c.max_attempts, 1);
  p.initial_backoff = std::chrono::nanoseconds(c.initial_backoff_ns);
  p.max_backoff = std::chrono::nanoseconds(c.max_backoff_ns);
  // A server may ask for a longer wait than our own cap, within reason.
  p.max_retry_after = std::max(std::chrono::nanoseconds(c.max_backoff_ns), p.max_retry_after);
  return p;
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

HttpNotifier::HttpNotifier(NotifierConfig config, Sleeper sleeper)
    : config_(std::move(config)),
      sleeper_(std::move(sleeper)),
      // Seeded per URL: notifiers of one daemon spread out, runs are reproducible.
      backoff_(PolicyOf(config_), std::hash<std::string>{}(config_.url)) {
  if (!sleeper_) {
    sleeper_ = [](uint64_t ns) { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); };
  }
}

HttpNotifier::~HttpNotifier() = default;

strobe::Status HttpNotifier::Send(const std::vector<Notification>& batch) {
  if (batch.empty()) return strobe::OkStatus();
  const std::string url = Url();
  if (!client_) {
    auto parsed = base::ParseUrl(url);
    base::HttpClientOptions options;
    options.connect_timeout = std::chrono::nanoseconds(config_.timeout_ns);
    options.request_timeout = std::chrono::nanoseconds(config_.timeout_ns);
    options.user_agent = "strobe-alert";
    strobe::Result<std::unique_ptr<base::HttpClient>> client =
        parsed.ok() ? base::HttpClient::Create(*parsed, options)
                    : strobe::Result<std::unique_ptr<base::HttpClient>>(parsed.status());
    if (!client.ok()) {
      counters().failed.fetch_add(batch.size(), std::memory_order_relaxed);
      return client.status();
    }
    client_ = std::move(client).value();
    target_ = parsed->target;
  }
  const std::string body = Body(batch);
  std::chrono::nanoseconds retry_after{0};
  strobe::Status last;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1) {
      counters().retries.fetch_add(1, std::memory_order_relaxed);
      sleeper_(static_cast<uint64_t>(backoff_.Delay(attempt - 1, retry_after).count()));
    }
    retry_after = std::chrono::nanoseconds(0);
    base::HttpRequest request;
    request.target = target_;
    request.content_type = "application/json";
    request.body = body;
    auto res = client_->Send(request);
    if (res.ok()) {
      const int code = res->status;
      if (res->ok()) {
        counters().sent.fetch_add(batch.size(), std::memory_order_relaxed);
        return strobe::OkStatus();
      }
      last = strobe::Unavailable("POST " + url + ": HTTP " + std::to_string(code));
      if (code >= 400 && code < 500 && code != 429) break;  // permanent
      retry_after =
          base::ParseRetryAfter(res->Header("Retry-After"), std::chrono::system_clock::now())
              .value_or(std::chrono::nanoseconds(0));
    } else {
      last = res.status().WithContext("POST " + url);
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
