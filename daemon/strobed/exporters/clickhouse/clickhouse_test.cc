#include "strobed/exporters/clickhouse/clickhouse.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <mutex>
#include <vector>

#include "strobed/pipeline/testing.h"
#include "strobed/server/http_server.h"

namespace strobed::exporters {
namespace {

using clickhouse::Table;

// A stand-in for ClickHouse's HTTP interface: records each request's query and body and
// answers from a script (one response per request, then 200).
class FakeClickHouse {
 public:
  struct Seen {
    std::string query;
    std::string body;
    std::string user;
    std::string key;
  };

  FakeClickHouse() {
    router_.Handle("POST", "/", [this](const server::Request& r) {
      std::lock_guard lock(mu_);
      seen_.push_back({r.QueryParam("query").value_or(""), r.body,
                       std::string(r.headers.Get("X-ClickHouse-User").value_or("")),
                       std::string(r.headers.Get("X-ClickHouse-Key").value_or(""))});
      if (script_.empty()) return server::Response::Text(200, "");
      server::Response resp = std::move(script_.front());
      script_.erase(script_.begin());
      return resp;
    });
    server::ServerOptions so;
    so.port = 0;
    http_ = std::make_unique<server::HttpServer>(so, router_);
    EXPECT_TRUE(http_->Start().ok());
  }
  ~FakeClickHouse() { (void)http_->Shutdown(std::chrono::seconds(1)); }

  std::string endpoint() const { return "http://" + http_->BoundAddress(); }
  void Answer(int status, std::string body, std::string retry_after = "") {
    std::lock_guard lock(mu_);
    server::Response r = server::Response::Text(status, std::move(body));
    if (!retry_after.empty()) r.headers.Set("Retry-After", retry_after);
    script_.push_back(std::move(r));
  }
  std::vector<Seen> Take() {
    std::lock_guard lock(mu_);
    return std::exchange(seen_, {});
  }

 private:
  server::Router router_;
  std::unique_ptr<server::HttpServer> http_;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::vector<server::Response> script_;
};

class ClickHouseExporterTest : public ::testing::Test {
 protected:
  std::unique_ptr<ClickHouseExporter> Make(
      std::string endpoint, std::function<void(ClickHouseExporterOptions&)> edit = nullptr) {
    ClickHouseExporterOptions o;
    o.endpoint = std::move(endpoint);
    o.metrics = &registry_;
    o.timeout = std::chrono::milliseconds(2000);
    if (edit) edit(o);
    auto e = ClickHouseExporter::Create(std::move(o));
    EXPECT_TRUE(e.ok()) << e.status().message();
    return std::move(e).value();
  }
  event::BatchPtr Spans(int n) {
    event::BatchPtr b = pool_.Acquire();
    for (int i = 0; i < n; ++i) {
      pipeline::testing::SpanSpec spec;
      spec.trace_id = event::TraceId::FromHalves(1, 2);
      spec.span_id = static_cast<uint64_t>(i + 1);
      pipeline::testing::AddSpan(*b, spec);
    }
    return b;
  }
  uint64_t Errors(std::string_view reason) {
    auto f = registry_.AddCounterFamily(
        {"strobe_clickhouse_insert_errors_total",
         "INSERTs and schema statements that failed, by table and reason (transport, timeout, "
         "server_busy, table_missing, rejected).",
         ""},
        {"exporter", "table", "reason"});
    EXPECT_TRUE(f.ok());
    return (*f)->With({{"exporter", "clickhouse"}, {"table", "spans"}, {"reason", reason}}).Value();
  }
  uint64_t Rows() {
    auto f = registry_.AddCounterFamily(
        {"strobe_clickhouse_rows_inserted_total", "Rows the ClickHouse exporter inserted.", ""},
        {"exporter", "table"});
    EXPECT_TRUE(f.ok());
    return (*f)->With({{"exporter", "clickhouse"}, {"table", "spans"}}).Value();
  }

  strobe::metrics::Registry registry_;
  event::BatchPool pool_;
};

TEST_F(ClickHouseExporterTest, StartCreatesTheDatabaseAndTables) {
  FakeClickHouse ch;
  auto e = Make(ch.endpoint(), [](auto& o) {
    o.database = "db1";
    o.table_prefix = "x_";
    o.user = "u";
    o.password = "p";
  });
  ASSERT_TRUE(e->Start().ok());
  auto seen = ch.Take();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].query, "CREATE DATABASE IF NOT EXISTS `db1`");
  EXPECT_EQ(seen[1].query, clickhouse::CreateTableSql(Table::kSpans, "db1", "x_spans"));
  EXPECT_EQ(seen[2].query, clickhouse::CreateTableSql(Table::kLogs, "db1", "x_logs"));
  EXPECT_EQ(seen[3].query, clickhouse::CreateTableSql(Table::kMetrics, "db1", "x_metrics"));
  EXPECT_EQ(seen[0].user, "u");
  EXPECT_EQ(seen[0].key, "p");
  EXPECT_EQ(e->QualifiedTable(Table::kSpans), "`db1`.`x_spans`");
}

TEST_F(ClickHouseExporterTest, InsertsOneBlockPerSignalInTheConfiguredFormat) {
  for (auto format : {clickhouse::Format::kRowBinary, clickhouse::Format::kJsonEachRow}) {
    FakeClickHouse ch;
    auto e = Make(ch.endpoint(), [&](auto& o) {
      o.create_schema = false;
      o.format = format;
    });
    event::BatchPtr b = Spans(3);
    pipeline::testing::AddLog(*b, "hello");
    EXPECT_EQ(e->Export(*b), pipeline::ExportResult::kOk);
    auto seen = ch.Take();
    ASSERT_EQ(seen.size(), 2u);
    const std::string fmt(clickhouse::FormatName(format));
    EXPECT_EQ(seen[0].query, "INSERT INTO `strobe`.`spans` " +
                                 clickhouse::ColumnList(Table::kSpans) + " FORMAT " + fmt);
    EXPECT_EQ(seen[1].query, "INSERT INTO `strobe`.`logs` " + clickhouse::ColumnList(Table::kLogs) +
                                 " FORMAT " + fmt);
    clickhouse::RowEncoder enc(event::KeyTable::Global());
    std::string spans, logs;
    enc.Spans(format, b->spans(), spans);
    enc.Logs(format, b->logs(), logs);
    EXPECT_EQ(seen[0].body, spans);
    EXPECT_EQ(seen[1].body, logs);
    EXPECT_EQ(seen[0].user, "") << "no user configured: no auth headers";
  }
  EXPECT_EQ(Rows(), 6u);
}

TEST_F(ClickHouseExporterTest, SplitsLargeSignalsIntoMaxRowsInserts) {
  FakeClickHouse ch;
  auto e = Make(ch.endpoint(), [](auto& o) {
    o.create_schema = false;
    o.max_rows = 2;
    o.format = clickhouse::Format::kJsonEachRow;
  });
  EXPECT_EQ(e->Export(*Spans(5)), pipeline::ExportResult::kOk);
  auto seen = ch.Take();
  ASSERT_EQ(seen.size(), 3u);
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  EXPECT_EQ(lines(seen[0].body), 2);
  EXPECT_EQ(lines(seen[1].body), 2);
  EXPECT_EQ(lines(seen[2].body), 1);
  EXPECT_EQ(Rows(), 5u);
}

// The documented duplicate case (2): when a later INSERT of a split signal fails transiently,
// the signal goes back whole, so the blocks already inserted are sent again by the retry.
TEST_F(ClickHouseExporterTest, ASplitSignalIsRetriedWhole) {
  FakeClickHouse ch;
  auto e = Make(ch.endpoint(), [](auto& o) {
    o.create_schema = false;
    o.max_rows = 2;
  });
  ch.Answer(200, "");
  ch.Answer(503, "busy");
  event::BatchPtr b = Spans(5);
  EXPECT_EQ(e->Export(*b).outcome(event::kSignalTraces), pipeline::ExportOutcome::kRetry);
  EXPECT_EQ(ch.Take().size(), 2u) << "stops at the failed block";
  EXPECT_EQ(Rows(), 2u);
  EXPECT_EQ(e->Export(*b), pipeline::ExportResult::kOk);  // the pipeline's retry
  EXPECT_EQ(ch.Take().size(), 3u);
  EXPECT_EQ(Rows(), 7u) << "5 spans, 2 of them inserted twice";
}

TEST_F(ClickHouseExporterTest, ErrorCodesDecideRetryOrFailure) {
  struct Case {
    int status;
    std::string body;
    pipeline::ExportOutcome want;
    std::string reason;
  };
  const Case cases[] = {
      // A malformed row: 18.16 answers 500, but retrying cannot help.
      {500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input",
       pipeline::ExportOutcome::kFailed, "rejected"},
      {400, "Code: 62, e.displayText() = DB::Exception: Syntax error",
       pipeline::ExportOutcome::kFailed, "rejected"},
      {401, "Code: 193, e.displayText() = DB::Exception: Wrong password",
       pipeline::ExportOutcome::kFailed, "rejected"},
      {500, "Code: 241, e.displayText() = DB::Exception: Memory limit exceeded",
       pipeline::ExportOutcome::kRetry, "server_busy"},
      {500, "Code: 252, e.displayText() = DB::Exception: Too many parts",
       pipeline::ExportOutcome::kRetry, "server_busy"},
      {503, "Service Unavailable", pipeline::ExportOutcome::kRetry, "server_busy"},
      {500, "", pipeline::ExportOutcome::kRetry, "server_busy"},
      {404, "Code: 60, e.displayText() = DB::Exception: Table strobe.spans doesn't exist.",
       pipeline::ExportOutcome::kFailed, "table_missing"},
  };
  FakeClickHouse ch;
  auto e = Make(ch.endpoint(), [](auto& o) { o.create_schema = false; });
  for (const Case& c : cases) {
    const uint64_t before = Errors(c.reason);
    ch.Answer(c.status, c.body);
    EXPECT_EQ(e->Export(*Spans(2)).outcome(event::kSignalTraces), c.want) << c.body;
    EXPECT_EQ(Errors(c.reason), before + 1) << c.body;
  }
  EXPECT_EQ(Rows(), 0u);
}

TEST_F(ClickHouseExporterTest, RetryAfterIsPassedOn) {
  FakeClickHouse ch;
  auto e = Make(ch.endpoint(), [](auto& o) { o.create_schema = false; });
  ch.Answer(503, "busy", "3");
  pipeline::ExportResult r = e->Export(*Spans(1));
  EXPECT_EQ(r.outcome(event::kSignalTraces), pipeline::ExportOutcome::kRetry);
  EXPECT_EQ(r.retry_after(event::kSignalTraces), std::chrono::seconds(3));
}

TEST_F(ClickHouseExporterTest, MissingTableIsRecreatedBeforeTheNextInsert) {
  FakeClickHouse ch;
  auto e = Make(ch.endpoint());
  ASSERT_TRUE(e->Start().ok());
  EXPECT_EQ(ch.Take().size(), 4u);
  ch.Answer(404, "Code: 60, e.displayText() = DB::Exception: Table strobe.spans doesn't exist.");
  EXPECT_EQ(e->Export(*Spans(2)).outcome(event::kSignalTraces), pipeline::ExportOutcome::kRetry)
      << "no retry inside Export";
  EXPECT_EQ(ch.Take().size(), 1u);
  EXPECT_EQ(e->Export(*Spans(2)), pipeline::ExportResult::kOk);
  auto seen = ch.Take();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].query, "CREATE DATABASE IF NOT EXISTS `strobe`");
  EXPECT_EQ(seen[4].query.rfind("INSERT INTO `strobe`.`spans` ", 0), 0u);
  EXPECT_EQ(Errors("table_missing"), 1u);
}

TEST_F(ClickHouseExporterTest, StartSucceedsWhileClickHouseIsDownAndTheFirstExportCreates) {
  boost::asio::io_context ioc;
  uint16_t port;
  {
    boost::asio::ip::tcp::acceptor a(
        ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: connections are refused
  auto e = Make("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(e->Start().ok());
  event::BatchPtr b = Spans(2);
  pipeline::testing::AddGauge(*b, "g", 1);
  pipeline::ExportResult r = e->Export(*b);
  EXPECT_EQ(r.Signals(pipeline::ExportOutcome::kRetry, b->signals()),
            event::kSignalTraces | event::kSignalMetrics);
  // One attempt at Start, one in Export (the schema's first statement; no insert is tried).
  EXPECT_EQ(Errors("transport"), 2u);
}

TEST_F(ClickHouseExporterTest, StartFailsWhenClickHouseRejectsTheSchema) {
  FakeClickHouse ch;
  auto e = Make(ch.endpoint());
  ch.Answer(401, "Code: 193, e.displayText() = DB::Exception: Wrong password for user x");
  strobe::Status s = e->Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Code: 193"), std::string::npos) << s.message();
}

TEST_F(ClickHouseExporterTest, ASilentServerCostsOneTimeoutForAllSignals) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor silent(
      ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const auto timeout = std::chrono::milliseconds(300);
  auto e = Make("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()), [&](auto& o) {
    o.create_schema = false;
    o.timeout = timeout;
  });
  event::BatchPtr b = Spans(2);
  pipeline::testing::AddGauge(*b, "g", 1);
  pipeline::testing::AddLog(*b, "x");
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(e->Export(*b), pipeline::ExportResult::kRetry);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, timeout - std::chrono::milliseconds(10));
  EXPECT_LT(elapsed, timeout + std::chrono::milliseconds(700));
  EXPECT_EQ(Errors("timeout"), 1u);
}

TEST(ClickHouseExporterCreateTest, RejectsBadOptions) {
  strobe::metrics::Registry r;
  auto make = [&](std::function<void(ClickHouseExporterOptions&)> edit) {
    ClickHouseExporterOptions o;
    o.metrics = &r;
    edit(o);
    return ClickHouseExporter::Create(o).ok();
  };
  EXPECT_TRUE(make([](auto&) {}));
  EXPECT_FALSE(make([](auto& o) { o.endpoint = "https://x:8443"; }));
  EXPECT_FALSE(make([](auto& o) { o.database = "a;DROP"; }));
  EXPECT_FALSE(make([](auto& o) { o.table_prefix = "x-"; }));
  EXPECT_FALSE(make([](auto& o) { o.spans_table = ""; }));
  EXPECT_FALSE(make([](auto& o) { o.max_rows = 0; }));
}

TEST(ClickHouseExporterCreateTest, ErrorCode) {
  EXPECT_EQ(ClickHouseExporter::ErrorCode("Code: 60, e.displayText() = x"), 60);
  EXPECT_EQ(ClickHouseExporter::ErrorCode("Code: 27. DB::Exception: y"), 27);
  EXPECT_EQ(ClickHouseExporter::ErrorCode("Service Unavailable"), std::nullopt);
  EXPECT_EQ(ClickHouseExporter::ErrorCode("Code: x"), std::nullopt);
}

}  // namespace
}  // namespace strobed::exporters
