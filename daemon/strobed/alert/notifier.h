#pragma once

// Alert notifiers: where firing and resolved alerts go.
//
//   LogNotifier           one line per alert to a log sink (stderr by default)
//   WebhookNotifier       POST a JSON document (Alertmanager-webhook-like shape:
//                         {"version":"1","status":"firing","alerts":[...]}) to a URL
//   AlertmanagerNotifier  POST {url}/api/v2/alerts: a JSON array of {labels, annotations,
//                         startsAt, endsAt, generatorURL} — the Prometheus Alertmanager API v2
//
// HTTP notifiers POST over one kept-alive connection (base::HttpClient) and retry on
// connection errors, timeouts, 5xx and 429 with the daemon's retry policy (base/retry.h:
// initial_backoff doubling up to max_backoff with jitter, max_attempts in total), waiting
// for the server's Retry-After instead when it sends one; other 4xx are permanent (the
// payload will not get better). Send() blocks: AlertEngine calls it from one worker thread
// per notifier, fed by a bounded queue (a full queue drops the batch and counts it).
//
// Thread class: a notifier is used by its one worker thread; counters are relaxed atomics.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strobe/base/status.h"
#include "strobed/alert/rules.h"
#include "strobed/base/http_client.h"
#include "strobed/base/retry.h"

namespace strobed::alert {

enum class AlertStatus : uint8_t { kFiring, kResolved };

struct Notification {
  std::string fingerprint;
  AlertStatus status = AlertStatus::kFiring;
  std::map<std::string, std::string> labels;  // includes alertname and severity
  std::map<std::string, std::string> annotations;
  uint64_t starts_at_ns = 0;  // Unix ns
  uint64_t ends_at_ns = 0;    // 0 = open-ended
  double value = 0;
  std::string generator_url;
};

// RFC 3339 UTC with milliseconds: "2026-11-22T21:00:00.123Z".
std::string Rfc3339(uint64_t unix_ns);

struct NotifierCounters {
  // Relaxed: statistics only.
  std::atomic<uint64_t> sent{0};     // notifications delivered
  std::atomic<uint64_t> failed{0};   // notifications given up on
  std::atomic<uint64_t> retries{0};  // extra attempts
  std::atomic<uint64_t> dropped{0};  // queue full (counted by AlertEngine)
};

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual std::string_view type() const = 0;
  // Delivers `batch` (blocking, with the notifier's own retries). Worker thread.
  virtual strobe::Status Send(const std::vector<Notification>& batch) = 0;
  NotifierCounters& counters() { return counters_; }

 private:
  NotifierCounters counters_;
};

class LogNotifier final : public Notifier {
 public:
  using Sink = std::function<void(const std::string& line)>;
  explicit LogNotifier(Sink sink = nullptr);
  std::string_view type() const override { return "log"; }
  strobe::Status Send(const std::vector<Notification>& batch) override;

 private:
  Sink sink_;
};

class HttpNotifier : public Notifier {
 public:
  using Sleeper = std::function<void(uint64_t ns)>;
  // `sleeper` waits between attempts (tests inject one that records instead of sleeping).
  HttpNotifier(NotifierConfig config, Sleeper sleeper);
  ~HttpNotifier() override;
  strobe::Status Send(const std::vector<Notification>& batch) override;
  const NotifierConfig& config() const { return config_; }

 protected:
  virtual std::string Url() const = 0;
  virtual std::string Body(const std::vector<Notification>& batch) const = 0;

 private:
  NotifierConfig config_;
  Sleeper sleeper_;
  base::Backoff backoff_;
  std::unique_ptr<base::HttpClient> client_;  // created on the first Send (for Url())
  std::string target_;
};

class WebhookNotifier final : public HttpNotifier {
 public:
  explicit WebhookNotifier(NotifierConfig config, Sleeper sleeper = nullptr)
      : HttpNotifier(std::move(config), std::move(sleeper)) {}
  std::string_view type() const override { return "webhook"; }
  std::string Body(const std::vector<Notification>& batch) const override;

 protected:
  std::string Url() const override { return config().url; }
};

class AlertmanagerNotifier final : public HttpNotifier {
 public:
  explicit AlertmanagerNotifier(NotifierConfig config, Sleeper sleeper = nullptr)
      : HttpNotifier(std::move(config), std::move(sleeper)) {}
  std::string_view type() const override { return "alertmanager"; }
  std::string Body(const std::vector<Notification>& batch) const override;

 protected:
  std::string Url() const override;
};

// Builds the notifier a config describes.
std::unique_ptr<Notifier> MakeNotifier(const NotifierConfig& config);

}  // namespace strobed::alert
