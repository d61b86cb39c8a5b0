#pragma once

// The `clickhouse` exporter: inserts spans, log records and metric points into three MergeTree
// tables over ClickHouse's HTTP interface (POST /?query=INSERT ... FORMAT RowBinary or
// JSONEachRow), on one kept-alive connection (base::HttpClient). Row encoding and the schema
// are in row_encoder.h; docs/pipeline.md ("ClickHouse tables") documents the columns.
//
// Schema: with create_schema (the default) Start() runs CREATE DATABASE / CREATE TABLE IF NOT
// EXISTS for the three tables. When ClickHouse cannot be reached then, Start() still succeeds
// and the first Export() creates them; an insert answered "table/database does not exist"
// (Code 60 or 81: someone dropped it) makes the next Export() create them again before it
// inserts (that insert is handed back as kRetry; the exporter never retries by itself). An
// answer that is an error response at Start (wrong password, no permission) fails Start.
//
// Blocks: each signal of a batch becomes one INSERT of up to max_rows rows (more rows: several
// INSERTs in a row). ClickHouse writes an INSERT of fewer than max_insert_block_size (1,048,576)
// rows as one block, atomically: it is in the table entirely or not at all.
//
// Result per signal (pipeline/exporter.h; the pipeline owns retry): 2xx → kOk. ClickHouse
// answers every query error with an HTTP status *and* an exception code in the body ("Code: 27,
// e.displayText() = ..."); the status alone does not tell transient from permanent (18.16 sends
// 500 for a malformed row and for a memory limit alike), so the code decides:
//   kRetry   connection refused/reset, timeouts; codes of overload or transient server state
//            (TIMEOUT_EXCEEDED 159, TOO_MANY_SIMULTANEOUS_QUERIES 202, NO_FREE_CONNECTION 203,
//            SOCKET_TIMEOUT 209, NETWORK_ERROR 210, ABORTED 236, MEMORY_LIMIT_EXCEEDED 241,
//            TABLE_IS_READ_ONLY 242, TOO_MANY_PARTS 252, TOO_FEW_LIVE_REPLICAS 285,
//            UNKNOWN_STATUS_OF_INSERT 319, QUERY_WAS_CANCELLED 394, SYSTEM_ERROR 425,
//            KEEPER_EXCEPTION 999); 60/81 with create_schema; HTTP 429/502/503/504 (a proxy),
//            and any 5xx without a code (Retry-After honoured).
//   kFailed  every other error answer (malformed data, type mismatch, no permission, unknown
//            table without create_schema, ...): counted and logged with the server's text.
// Once the server failed to connect or answer, the rest of the call's signals go back as
// kRetry without another attempt; one Export takes at most `timeout` in total.
//
// Duplicates: ClickHouse deduplicates retried blocks only in Replicated*MergeTree tables
// (insert_deduplicate), and 18.16 has no insert_deduplication_token. With the MergeTree tables
// created here a retry can duplicate: (1) an INSERT the server committed but whose answer was
// lost (timeout, connection reset after the commit), and (2) when a signal needed several
// INSERTs (more than max_rows) and a later one failed transiently, the earlier ones of that
// call, which the pipeline's retry sends again. Nothing else is sent twice. Users who need
// exactly-once tables create Replicated tables themselves (create_schema: false).
//
// Self-metrics (the registry in the options): the exporter families every exporter shares,
// strobe_exporter_sent_{spans,metric_points,log_records}_total{exporter},
// strobe_exporter_send_failed_..._total{exporter,reason} (reason permanent_error) and
// strobe_exporter_retries_total{exporter}; and ClickHouse's own:
// strobe_clickhouse_rows_inserted_total{exporter,table},
// strobe_clickhouse_insert_errors_total{exporter,table,reason} (reason: transport, timeout,
// server_busy, table_missing, rejected), strobe_clickhouse_insert_bytes_total{exporter,table}
// and strobe_clickhouse_insert_duration_seconds{exporter,table} (one INSERT round trip).
//
// Thread class: Export/Flush on the pipeline worker thread; Start/Shutdown from the control
// thread, never concurrently with Export; Cancel from any thread.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "strobe/metrics/family.h"
#include "strobe/metrics/histogram.h"
#include "strobe/metrics/registry.h"
#include "strobed/base/http_client.h"
#include "strobed/exporters/clickhouse/row_encoder.h"
#include "strobed/pipeline/exporter.h"
#include "strobed/pipeline/plugin_registry.h"

namespace spdlog {
class logger;
}

namespace strobed::exporters {

struct ClickHouseExporterOptions {
  std::string name = "clickhouse";  // the `exporter` label
  std::string endpoint = "http://127.0.0.1:8123";
  std::string database = "strobe";
  // Table names: table_prefix + spans_table (and so on). Identifiers ([A-Za-z_][A-Za-z0-9_]*).
  std::string table_prefix;
  std::string spans_table = "spans";
  std::string logs_table = "logs";
  std::string metrics_table = "metrics";
  std::string user;      // X-ClickHouse-User; "" = the server's default user
  std::string password;  // X-ClickHouse-Key
  bool create_schema = true;
  clickhouse::Format format = clickhouse::Format::kRowBinary;
  uint64_t max_rows = 100'000;                   // rows per INSERT (> 0)
  bool gzip = false;                             // compress INSERT bodies (Content-Encoding: gzip)
  std::chrono::milliseconds timeout{10'000};     // one Export call; also each Start statement
  const event::KeyTable* keys = nullptr;         // nullptr: KeyTable::Global()
  strobe::metrics::Registry* metrics = nullptr;  // required (the factory passes the host's)
  spdlog::logger* logger = nullptr;              // nullptr: no log lines
};

class ClickHouseExporter final : public pipeline::Exporter {
 public:
  // InvalidArgument for an endpoint that is not http://host[:port], a database or table name
  // that is not an identifier, or max_rows == 0. Does not connect.
  static strobe::Result<std::unique_ptr<ClickHouseExporter>> Create(
      ClickHouseExporterOptions options);
  ~ClickHouseExporter() override;

  // Creates the database and tables when create_schema (see the header comment). Fails only
  // when ClickHouse answered a statement with an error.
  strobe::Status Start() override;
  pipeline::ExportResult Export(const event::Batch& batch) noexcept override;
  void Cancel() noexcept override;
  strobe::Status Shutdown(std::chrono::milliseconds deadline) override;

  // The fully qualified table name (`db`.`table`) for `table`.
  const std::string& QualifiedTable(clickhouse::Table table) const {
    return qualified_[static_cast<std::size_t>(table)];
  }

  // The exception code in a ClickHouse error body ("Code: 60, e.displayText() = ..."), or
  // nullopt. Exposed for tests.
  static std::optional<int> ErrorCode(std::string_view body);

 private:
  enum class Outcome : uint8_t { kOk, kRetry, kFailed };
  struct Attempt {
    Outcome outcome = Outcome::kOk;
    std::chrono::nanoseconds retry_after{0};
    bool transport_failed = false;
  };

  ClickHouseExporter(ClickHouseExporterOptions options, std::unique_ptr<base::HttpClient> client);
  // Runs one statement (no rows); `body` = the request body. Returns the HTTP exchange result.
  strobe::Result<base::HttpResponse> Query(std::string_view sql, std::string_view body,
                                           std::chrono::nanoseconds timeout, bool gzip);
  // CREATE DATABASE + the three tables. kOk, kRetry (transport or transient) or kFailed.
  Attempt CreateSchema(std::chrono::steady_clock::time_point deadline);
  // INSERTs the rows of one signal, in blocks of max_rows.
  template <typename Event, typename EncodeFn>
  Attempt InsertAll(clickhouse::Table table, std::span<const Event> events, EncodeFn encode,
                    std::chrono::steady_clock::time_point deadline);
  Attempt InsertBlock(clickhouse::Table table, uint64_t rows,
                      std::chrono::steady_clock::time_point deadline);
  // Classifies a response or transport error; counts and logs errors.
  Attempt Classify(clickhouse::Table table, const strobe::Result<base::HttpResponse>& res);
  void Record(event::Signal signal, uint64_t items, const Attempt& attempt,
              pipeline::ExportResult& result);

  ClickHouseExporterOptions options_;
  std::unique_ptr<base::HttpClient> client_;
  std::vector<base::HttpHeader> headers_;
  std::array<std::string, clickhouse::kTables> qualified_;
  std::array<std::string, clickhouse::kTables> insert_targets_;  // "/?query=INSERT..."
  std::string body_;                                             // reused INSERT body
  bool schema_pending_ = false;  // create the schema before the next insert
  std::string last_error_;       // the latest failure, for logs and Start's error
  clickhouse::RowEncoder encoder_;

  // Self-metrics.
  strobe::metrics::Family<strobe::metrics::Counter>* sent_[3] = {};
  strobe::metrics::Family<strobe::metrics::Counter>* failed_[3] = {};
  strobe::metrics::Counter* retries_ = nullptr;
  std::array<strobe::metrics::Counter*, clickhouse::kTables> rows_{};
  std::array<strobe::metrics::Counter*, clickhouse::kTables> bytes_{};
  std::array<strobe::metrics::Histogram*, clickhouse::kTables> latency_{};
  strobe::metrics::Family<strobe::metrics::Counter>* errors_ = nullptr;
};

void RegisterClickHouseExporter(pipeline::PluginRegistry& registry);

}  // namespace strobed::exporters
