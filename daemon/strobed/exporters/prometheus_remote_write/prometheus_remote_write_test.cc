#include "strobed/exporters/prometheus_remote_write/prometheus_remote_write.h"

#include <gtest/gtest.h>
#include <snappy.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "prompb_test.pb.h"
#include "strobe/metrics/exposition.h"
#include "strobed/event/batch.h"

namespace strobed::exporters {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// A remote-write receiver for tests on 127.0.0.1:0 (own thread): answers each request with the
// next scripted raw HTTP response (204 when the script is empty) and records each request's
// headers and body.
class TestReceiver {
 public:
  struct Received {
    std::string target, content_type, content_encoding, version, user_agent, auth, body;
  };
  TestReceiver() : acceptor_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestReceiver() {
    ioc_.stop();
    thread_.join();
  }
  std::string Url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) +
           "/api/v1/write";
  }
  void Script(std::string raw_response) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(raw_response));
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(TestReceiver& r, tcp::socket s) : receiver(r), socket(std::move(s)) {}
    void Read() {
      req = {};
      http::async_read(socket, buffer, req,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec) self->Answer();
                       });
    }
    void Answer() {
      out = "HTTP/1.1 204 No Content\r\n\r\n";
      {
        std::lock_guard<std::mutex> lock(receiver.mu_);
        receiver.received_.push_back({std::string(req.target()),
                                      std::string(req[http::field::content_type]),
                                      std::string(req[http::field::content_encoding]),
                                      std::string(req["X-Prometheus-Remote-Write-Version"]),
                                      std::string(req[http::field::user_agent]),
                                      std::string(req[http::field::authorization]), req.body()});
        if (!receiver.script_.empty()) {
          out = std::move(receiver.script_.front());
          receiver.script_.pop_front();
        }
      }
      net::async_write(socket, net::buffer(out),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (!ec) self->Read();
                       });
    }
    TestReceiver& receiver;
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    std::string out;
  };
  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      std::make_shared<Session>(*this, std::move(socket))->Read();
      Accept();
    });
  }

  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::deque<std::string> script_;
  std::vector<Received> received_;
};

std::string Response(int status, std::string_view reason, std::string_view extra_headers = "",
                     std::string_view body = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n" +
         std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

class RemoteWriteExporterTest : public ::testing::Test {
 protected:
  void Make(size_t max_samples = 5000, std::string endpoint = "") {
    RemoteWriteExporterOptions o;
    o.name = "prometheus_remote_write/t";
    o.endpoint = endpoint.empty() ? receiver_.Url() : endpoint;
    o.headers = {{"Authorization", "Bearer s3cret"}};
    o.timeout = std::chrono::milliseconds(5000);
    o.mapping.max_samples_per_request = max_samples;
    o.mapping.send_metadata = false;
    o.keys = &keys_;
    o.metrics = &registry_;
    o.logger = logger_.get();
    auto e = RemoteWriteExporter::Create(std::move(o));
    ASSERT_TRUE(e.ok()) << e.status().message();
    exporter_ = std::move(*e);
  }
  // A batch of `n` cumulative counters c0..c{n-1} with value i, one sample each.
  event::BatchPtr Counters(int n) {
    event::BatchPtr b = pool_.Acquire();
    for (int i = 0; i < n; ++i) {
      names_.push_back("c" + std::to_string(i));
      event::MetricPoint& p = b->AddMetric();
      p.name = names_.back();
      p.type = event::MetricType::kSum;
      p.is_monotonic = true;
      p.temporality = event::Temporality::kCumulative;
      p.double_value = i;
      p.time_ns = 5'000'000'000;
    }
    return b;
  }
  double Metric(std::string_view line_prefix) {
    const std::string text =
        strobe::metrics::RenderText(registry_, strobe::metrics::Format::kPrometheusText);
    const size_t at = text.find(line_prefix);
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + line_prefix.size() + 1));
  }

  TestReceiver receiver_;
  strobe::metrics::Registry registry_;
  event::KeyTable keys_;
  event::BatchPool pool_;
  std::deque<std::string> names_;
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> logger_ =
      std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_st>(log_));
  std::unique_ptr<RemoteWriteExporter> exporter_;
};

TEST_F(RemoteWriteExporterTest, SendsSnappyProtobufWithTheRequiredHeaders) {
  Make();
  event::BatchPtr b = Counters(3);
  EXPECT_EQ(exporter_->Export(*b), pipeline::ExportResult::kOk);
  auto got = receiver_.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/api/v1/write");
  EXPECT_EQ(got[0].content_type, "application/x-protobuf");
  EXPECT_EQ(got[0].content_encoding, "snappy");
  EXPECT_EQ(got[0].version, "0.1.0");
  EXPECT_EQ(got[0].user_agent, "strobe-remote-write");
  EXPECT_EQ(got[0].auth, "Bearer s3cret");
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(got[0].body.data(), got[0].body.size(), &raw));
  prompb_test::WriteRequest wr;
  ASSERT_TRUE(wr.ParseFromString(raw));
  ASSERT_EQ(wr.timeseries_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const auto& ts = wr.timeseries(i);
    ASSERT_EQ(ts.labels_size(), 1);
    EXPECT_EQ(ts.labels(0).name(), "__name__");
    EXPECT_EQ(ts.labels(0).value(), "c" + std::to_string(i) + "_total");
    ASSERT_EQ(ts.samples_size(), 1);
    EXPECT_EQ(ts.samples(0).value(), i);
    EXPECT_EQ(ts.samples(0).timestamp(), 5000);
  }
  const std::string l = "{exporter=\"prometheus_remote_write/t\"}";
  EXPECT_EQ(Metric("strobe_exporter_sent_metric_points_total" + l), 3);
  EXPECT_EQ(Metric("strobe_exporter_remote_write_samples_total" + l), 3);
  EXPECT_EQ(Metric("strobe_exporter_remote_write_series_total" + l), 3);
  EXPECT_EQ(
      Metric("strobe_exporter_remote_write_requests_total{exporter=\"prometheus_remote_write/t\","
             "code=\"2xx\"}"),
      1);
  EXPECT_EQ(Metric("strobe_exporter_remote_write_request_duration_seconds_count" + l), 1);
}

TEST_F(RemoteWriteExporterTest, TooManyRequestsAndServerErrorsAreRetriedWithRetryAfter) {
  Make();
  receiver_.Script(Response(429, "Too Many Requests", "Retry-After: 7\r\n"));
  receiver_.Script(Response(503, "Service Unavailable"));
  event::BatchPtr b = Counters(2);
  pipeline::ExportResult r = exporter_->Export(*b);
  EXPECT_EQ(r.outcome(event::kSignalMetrics), pipeline::ExportOutcome::kRetry);
  EXPECT_EQ(r.retry_after(event::kSignalMetrics), std::chrono::seconds(7));
  r = exporter_->Export(*b);
  EXPECT_EQ(r.outcome(event::kSignalMetrics), pipeline::ExportOutcome::kRetry);
  EXPECT_EQ(r.retry_after(event::kSignalMetrics), std::chrono::nanoseconds(0));
  EXPECT_EQ(exporter_->Export(*b), pipeline::ExportResult::kOk);  // script empty: 204
  EXPECT_EQ(receiver_.received().size(), 3u);
  const std::string e = "exporter=\"prometheus_remote_write/t\"";
  EXPECT_EQ(Metric("strobe_exporter_retries_total{" + e + "}"), 2);
  EXPECT_EQ(Metric("strobe_exporter_remote_write_requests_total{" + e + ",code=\"429\"}"), 1);
  EXPECT_EQ(Metric("strobe_exporter_remote_write_requests_total{" + e + ",code=\"5xx\"}"), 1);
  EXPECT_EQ(Metric("strobe_exporter_sent_metric_points_total{" + e + "}"), 2);
}

TEST_F(RemoteWriteExporterTest, BadRequestFailsLogsTheReasonAndCounts) {
  Make();
  receiver_.Script(Response(400, "Bad Request", "", "out of order sample\n"));
  event::BatchPtr b = Counters(4);
  EXPECT_EQ(exporter_->Export(*b).outcome(event::kSignalMetrics), pipeline::ExportOutcome::kFailed);
  const std::string e = "exporter=\"prometheus_remote_write/t\"";
  EXPECT_EQ(Metric("strobe_exporter_send_failed_metric_points_total{" + e +
                   ",reason=\"permanent_error\"}"),
            4);
  EXPECT_EQ(
      Metric("strobe_exporter_remote_write_failed_samples_total{" + e + ",reason=\"http_4xx\"}"),
      4);
  EXPECT_EQ(Metric("strobe_exporter_remote_write_requests_total{" + e + ",code=\"4xx\"}"), 1);
  logger_->flush();
  EXPECT_NE(log_.str().find("HTTP 400: out of order sample"), std::string::npos) << log_.str();
}

TEST_F(RemoteWriteExporterTest, SplitRequestsOneRejectedTheOthersDelivered) {
  Make(/*max_samples=*/2);
  receiver_.Script(Response(204, "No Content"));
  receiver_.Script(Response(400, "Bad Request", "", "bad"));
  event::BatchPtr b = Counters(5);  // requests of 2, 2, 1 samples
  EXPECT_EQ(exporter_->Export(*b), pipeline::ExportResult::kOk);
  ASSERT_EQ(receiver_.received().size(), 3u);
  const std::string e = "exporter=\"prometheus_remote_write/t\"";
  EXPECT_EQ(Metric("strobe_exporter_remote_write_samples_total{" + e + "}"), 3);
  EXPECT_EQ(
      Metric("strobe_exporter_remote_write_failed_samples_total{" + e + ",reason=\"http_4xx\"}"),
      2);
}

TEST_F(RemoteWriteExporterTest, SplitRequestsServerErrorStopsAndRetriesTheBatch) {
  Make(/*max_samples=*/2);
  receiver_.Script(Response(204, "No Content"));
  receiver_.Script(Response(500, "Internal Server Error"));
  event::BatchPtr b = Counters(5);
  EXPECT_EQ(exporter_->Export(*b).outcome(event::kSignalMetrics), pipeline::ExportOutcome::kRetry);
  EXPECT_EQ(receiver_.received().size(), 2u);  // the third request was not sent
}

TEST_F(RemoteWriteExporterTest, DeltasAreRefusedAndCounted) {
  Make();
  event::BatchPtr b = Counters(3);
  b->mutable_metrics()[0].temporality = event::Temporality::kDelta;
  EXPECT_EQ(exporter_->Export(*b), pipeline::ExportResult::kOk);
  const std::string e = "exporter=\"prometheus_remote_write/t\"";
  EXPECT_EQ(Metric("strobe_exporter_send_failed_metric_points_total{" + e +
                   ",reason=\"delta_temporality\"}"),
            1);
  EXPECT_EQ(Metric("strobe_exporter_sent_metric_points_total{" + e + "}"), 2);
}

TEST_F(RemoteWriteExporterTest, UnreachableBackendIsRetried) {
  // A port nothing listens on: bind one, close it.
  uint16_t port = 0;
  {
    net::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  Make(5000, "http://127.0.0.1:" + std::to_string(port) + "/api/v1/write");
  event::BatchPtr b = Counters(1);
  EXPECT_EQ(exporter_->Export(*b).outcome(event::kSignalMetrics), pipeline::ExportOutcome::kRetry);
  EXPECT_EQ(
      Metric("strobe_exporter_remote_write_requests_total{exporter=\"prometheus_remote_write/t\","
             "code=\"error\"}"),
      1);
}

TEST(RemoteWriteExporterCreateTest, RefusesBadOptions) {
  strobe::metrics::Registry registry;
  auto make = [&](auto edit) {
    RemoteWriteExporterOptions o;
    o.metrics = &registry;
    edit(o);
    return RemoteWriteExporter::Create(std::move(o)).status().code();
  };
  EXPECT_EQ(make([](auto& o) { o.endpoint = "https://x/api/v1/write"; }),
            strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(make([](auto& o) { o.mapping.max_samples_per_request = 0; }),
            strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(make([](auto& o) {
              o.mapping.external_labels = {{"__x", "y"}};
            }),
            strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(make([](auto& o) {
              o.mapping.external_labels = {{"1a", "y"}};
            }),
            strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(make([](auto& o) {
              o.mapping.external_labels = {{"dc", "y"}};
            }),
            strobe::StatusCode::kOk);
}

}  // namespace
}  // namespace strobed::exporters
