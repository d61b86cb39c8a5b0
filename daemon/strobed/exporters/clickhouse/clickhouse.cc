#include "strobed/exporters/clickhouse/clickhouse.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "strobe/base/check.h"
#include "strobed/server/auth.h"

namespace strobed::exporters {
namespace {

using clickhouse::Table;
using Clock = std::chrono::steady_clock;

// Query-string encoding of a SQL statement (RFC 3986 unreserved characters kept).
std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// ClickHouse exception codes that describe a transient state of the server (header comment).
bool RetryableCode(int code) {
  switch (code) {
    case 159:  // TIMEOUT_EXCEEDED
    case 202:  // TOO_MANY_SIMULTANEOUS_QUERIES
    case 203:  // NO_FREE_CONNECTION
    case 209:  // SOCKET_TIMEOUT
    case 210:  // NETWORK_ERROR
    case 236:  // ABORTED
    case 241:  // MEMORY_LIMIT_EXCEEDED
    case 242:  // TABLE_IS_READ_ONLY
    case 252:  // TOO_MANY_PARTS
    case 285:  // TOO_FEW_LIVE_REPLICAS
    case 319:  // UNKNOWN_STATUS_OF_INSERT
    case 394:  // QUERY_WAS_CANCELLED
    case 425:  // SYSTEM_ERROR
    case 999:  // KEEPER_EXCEPTION
      return true;
    default:
      return false;
  }
}

constexpr int kUnknownTable = 60;
constexpr int kUnknownDatabase = 81;

event::Signal SignalOf(Table t) {
  return t == Table::kSpans  ? event::kSignalTraces
         : t == Table::kLogs ? event::kSignalLogs
                             : event::kSignalMetrics;
}

// The first line of an error body, bounded, for logs.
std::string_view ErrorText(std::string_view body) {
  body = body.substr(0, std::min<std::size_t>(body.find('\n'), 400));
  return body;
}

}  // namespace

std::optional<int> ClickHouseExporter::ErrorCode(std::string_view body) {
  const std::size_t at = body.find("Code: ");
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = body.data() + at + 6;
  const char* end = body.data() + body.size();
  int code = 0;
  auto r = std::from_chars(begin, end, code);
  if (r.ec != std::errc() || r.ptr == begin) return std::nullopt;
  return code;
}

strobe::Result<std::unique_ptr<ClickHouseExporter>> ClickHouseExporter::Create(
    ClickHouseExporterOptions options) {
  auto url = base::ParseUrl(options.endpoint);
  if (!url.ok()) return url.status().WithContext("clickhouse exporter endpoint");
  if (url->scheme != base::UrlScheme::kHttp) {
    return strobe::InvalidArgument("clickhouse exporter endpoint '" + options.endpoint +
                                   "' must start with http:// (TLS is not supported yet)");
  }
  if (!clickhouse::IsIdentifier(options.database)) {
    return strobe::InvalidArgument("clickhouse database '" + options.database +
                                   "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
  }
  for (const std::string* t : {&options.spans_table, &options.logs_table, &options.metrics_table}) {
    if (!clickhouse::IsIdentifier(options.table_prefix + *t)) {
      return strobe::InvalidArgument("clickhouse table '" + options.table_prefix + *t +
                                     "' is not an identifier ([A-Za-z_][A-Za-z0-9_]*)");
    }
  }
  if (options.max_rows == 0) return strobe::InvalidArgument("clickhouse max_rows must be > 0");
  STROBE_CHECK(options.metrics != nullptr);  // required: the factory passes the host's
  base::HttpClientOptions co;
  co.connect_timeout = options.timeout;
  co.request_timeout = options.timeout;
  co.user_agent = "strobe-clickhouse-exporter";
  STROBE_ASSIGN_OR_RETURN(std::unique_ptr<base::HttpClient> client,
                          base::HttpClient::Create(*url, co));
  return std::unique_ptr<ClickHouseExporter>(
      new ClickHouseExporter(std::move(options), std::move(client)));
}

ClickHouseExporter::ClickHouseExporter(ClickHouseExporterOptions options,
                                       std::unique_ptr<base::HttpClient> client)
    : options_(std::move(options)),
      client_(std::move(client)),
      encoder_(options_.keys != nullptr ? *options_.keys : event::KeyTable::Global()) {
  if (!options_.user.empty()) {
    headers_.push_back({"X-ClickHouse-User", options_.user});
    headers_.push_back({"X-ClickHouse-Key", options_.password});
  }
  const std::string* names[] = {&options_.spans_table, &options_.logs_table,
                                &options_.metrics_table};
  for (std::size_t t = 0; t < clickhouse::kTables; ++t) {
    qualified_[t] = "`" + options_.database + "`.`" + options_.table_prefix + *names[t] + "`";
    const auto table = static_cast<Table>(t);
    insert_targets_[t] =
        "/?query=" +
        UrlEncode("INSERT INTO " + qualified_[t] + " " + clickhouse::ColumnList(table) +
                  " FORMAT " + std::string(clickhouse::FormatName(options_.format)));
  }

  strobe::metrics::Registry& reg = *options_.metrics;
  static constexpr std::string_view kItems[] = {"spans", "metric_points", "log_records"};
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string item(kItems[i]);
    auto sent = reg.AddCounterFamily(
        {"strobe_exporter_sent_" + item + "_total", "Items an exporter delivered.", ""},
        {"exporter"});
    auto failed = reg.AddCounterFamily({"strobe_exporter_send_failed_" + item + "_total",
                                        "Items an exporter could not deliver, by reason.", ""},
                                       {"exporter", "reason"});
    STROBE_CHECK(sent.ok() && failed.ok());  // fixed valid names
    sent_[i] = *sent;
    failed_[i] = *failed;
  }
  auto retries =
      reg.AddCounterFamily({"strobe_exporter_retries_total",
                            "Requests an exporter handed back to the pipeline for retry.", ""},
                           {"exporter"});
  auto rows = reg.AddCounterFamily(
      {"strobe_clickhouse_rows_inserted_total", "Rows the ClickHouse exporter inserted.", ""},
      {"exporter", "table"});
  auto bytes =
      reg.AddCounterFamily({"strobe_clickhouse_insert_bytes_total",
                            "INSERT body bytes (before compression) ClickHouse accepted.", "bytes"},
                           {"exporter", "table"});
  auto errors = reg.AddCounterFamily(
      {"strobe_clickhouse_insert_errors_total",
       "INSERTs and schema statements that failed, by table and reason (transport, timeout, "
       "server_busy, table_missing, rejected).",
       ""},
      {"exporter", "table", "reason"});
  auto latency = reg.AddHistogramFamily(
      {"strobe_clickhouse_insert_duration_seconds",
       "Round trip of one INSERT to ClickHouse (request written to answer read).", "seconds"},
      {"exporter", "table"}, {.unit_scale = 1e-9});
  STROBE_CHECK(retries.ok() && rows.ok() && bytes.ok() && errors.ok() && latency.ok());
  retries_ = &(*retries)->With({{"exporter", options_.name}});
  errors_ = *errors;
  for (std::size_t t = 0; t < clickhouse::kTables; ++t) {
    const std::string_view table = clickhouse::TableName(static_cast<Table>(t));
    rows_[t] = &(*rows)->With({{"exporter", options_.name}, {"table", table}});
    bytes_[t] = &(*bytes)->With({{"exporter", options_.name}, {"table", table}});
    latency_[t] = &(*latency)->With({{"exporter", options_.name}, {"table", table}});
  }
}

ClickHouseExporter::~ClickHouseExporter() = default;

strobe::Result<base::HttpResponse> ClickHouseExporter::Query(std::string_view sql,
                                                             std::string_view body,
                                                             std::chrono::nanoseconds timeout,
                                                             bool gzip) {
  const std::string target = "/?query=" + UrlEncode(sql);
  base::HttpRequest req;
  req.target = target;
  req.headers = headers_;
  req.body = body;
  req.gzip_body = gzip;
  req.timeout = timeout;
  return client_->Send(req);
}

ClickHouseExporter::Attempt ClickHouseExporter::CreateSchema(Clock::time_point deadline) {
  std::vector<std::pair<Table, std::string>> statements;
  statements.emplace_back(Table::kSpans,
                          "CREATE DATABASE IF NOT EXISTS `" + options_.database + "`");
  const std::string* names[] = {&options_.spans_table, &options_.logs_table,
                                &options_.metrics_table};
  for (std::size_t t = 0; t < clickhouse::kTables; ++t) {
    statements.emplace_back(static_cast<Table>(t),
                            clickhouse::CreateTableSql(static_cast<Table>(t), options_.database,
                                                       options_.table_prefix + *names[t]));
  }
  for (const auto& [table, sql] : statements) {
    const auto left = deadline - Clock::now();
    if (left <= std::chrono::nanoseconds(0)) return {.outcome = Outcome::kRetry};
    auto res = Query(sql, {}, left, false);
    Attempt a = Classify(table, res);
    if (a.outcome != Outcome::kOk) return a;
  }
  schema_pending_ = false;
  if (options_.logger != nullptr) {
    options_.logger->info("{}: ClickHouse tables ready ({}, {}, {})", options_.name, qualified_[0],
                          qualified_[1], qualified_[2]);
  }
  return {};
}

strobe::Status ClickHouseExporter::Start() {
  if (!options_.create_schema) return strobe::OkStatus();
  Attempt a = CreateSchema(Clock::now() + options_.timeout);
  switch (a.outcome) {
    case Outcome::kOk:
      return strobe::OkStatus();
    case Outcome::kRetry:
      // Not reachable or busy now: an outage must not keep the daemon from starting. The
      // first Export creates the tables.
      schema_pending_ = true;
      if (options_.logger != nullptr) {
        options_.logger->warn(
            "{}: ClickHouse at {} not ready; tables will be created on the "
            "first export",
            options_.name, options_.endpoint);
      }
      return strobe::OkStatus();
    case Outcome::kFailed:
      break;
  }
  return strobe::FailedPrecondition(options_.name + ": creating the ClickHouse schema failed (" +
                                    last_error_ + ")");
}

ClickHouseExporter::Attempt ClickHouseExporter::Classify(
    Table table, const strobe::Result<base::HttpResponse>& res) {
  auto error = [&](std::string_view reason) {
    errors_
        ->With({{"exporter", options_.name},
                {"table", clickhouse::TableName(table)},
                {"reason", reason}})
        .Inc();
  };
  if (!res.ok()) {
    last_error_ = res.status().message();
    const strobe::StatusCode code = res.status().code();
    if (code == strobe::StatusCode::kInvalidArgument) {
      error("rejected");  // e.g. a header value the client refuses to send
      return {.outcome = Outcome::kFailed};
    }
    const bool timeout = code == strobe::StatusCode::kDeadlineExceeded;
    error(timeout ? "timeout" : "transport");
    return {.outcome = Outcome::kRetry,
            .transport_failed = timeout || code == strobe::StatusCode::kUnavailable};
  }
  if (res->ok()) return {};
  const std::optional<int> code = ErrorCode(res->body);
  last_error_ = "HTTP " + std::to_string(res->status) + ": " + std::string(ErrorText(res->body));
  if (code && (*code == kUnknownTable || *code == kUnknownDatabase)) {
    error("table_missing");
    if (options_.create_schema) {
      schema_pending_ = true;
      if (options_.logger != nullptr) {
        options_.logger->warn("{}: {} is missing ({}); recreating the schema", options_.name,
                              qualified_[static_cast<std::size_t>(table)], last_error_);
      }
      return {.outcome = Outcome::kRetry};
    }
  } else {
    const int s = res->status;
    const bool busy_status = s == 429 || s == 502 || s == 503 || s == 504 || (s >= 500 && !code);
    if ((code && RetryableCode(*code)) || busy_status) {
      error("server_busy");
      Attempt a{.outcome = Outcome::kRetry};
      if (auto after =
              base::ParseRetryAfter(res->Header("Retry-After"), std::chrono::system_clock::now())) {
        a.retry_after = *after;
      }
      return a;
    }
    error("rejected");
  }
  if (options_.logger != nullptr) {
    options_.logger->error("{}: ClickHouse rejected a request to {}: {}", options_.name,
                           qualified_[static_cast<std::size_t>(table)], last_error_);
  }
  return {.outcome = Outcome::kFailed};
}

ClickHouseExporter::Attempt ClickHouseExporter::InsertBlock(Table table, uint64_t rows,
                                                            Clock::time_point deadline) {
  const auto t = static_cast<std::size_t>(table);
  const auto left = deadline - Clock::now();
  if (left <= std::chrono::nanoseconds(0)) return {.outcome = Outcome::kRetry};
  base::HttpRequest req;
  req.target = insert_targets_[t];
  req.headers = headers_;
  req.body = body_;
  req.gzip_body = options_.gzip;
  req.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(left);
  const auto start = Clock::now();
  strobe::Result<base::HttpResponse> res = client_->Send(req);
  Attempt a = Classify(table, res);
  if (a.outcome == Outcome::kOk) {
    latency_[t]->Record(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count()));
    rows_[t]->Add(rows);
    bytes_[t]->Add(body_.size());
  }
  return a;
}

template <typename Event, typename EncodeFn>
ClickHouseExporter::Attempt ClickHouseExporter::InsertAll(Table table,
                                                          std::span<const Event> events,
                                                          EncodeFn encode,
                                                          Clock::time_point deadline) {
  for (std::size_t at = 0; at < events.size(); at += options_.max_rows) {
    const std::size_t n = std::min<std::size_t>(options_.max_rows, events.size() - at);
    body_.clear();
    encode(events.subspan(at, n), body_);
    Attempt a = InsertBlock(table, n, deadline);
    if (a.outcome != Outcome::kOk) return a;
  }
  return {};
}

void ClickHouseExporter::Record(event::Signal signal, uint64_t items, const Attempt& attempt,
                                pipeline::ExportResult& result) {
  const std::size_t i = signal == event::kSignalTraces    ? 0
                        : signal == event::kSignalMetrics ? 1
                                                          : 2;
  switch (attempt.outcome) {
    case Outcome::kOk:
      sent_[i]->With({{"exporter", options_.name}}).Add(items);
      result.Set(signal, pipeline::ExportOutcome::kOk);
      return;
    case Outcome::kRetry:
      retries_->Inc();
      result.Set(signal, pipeline::ExportOutcome::kRetry, attempt.retry_after);
      return;
    case Outcome::kFailed:
      failed_[i]->With({{"exporter", options_.name}, {"reason", "permanent_error"}}).Add(items);
      result.Set(signal, pipeline::ExportOutcome::kFailed);
      return;
  }
}

pipeline::ExportResult ClickHouseExporter::Export(const event::Batch& batch) noexcept {
  const auto deadline = Clock::now() + options_.timeout;
  pipeline::ExportResult result = pipeline::ExportResult::kOk;
  const uint8_t present = batch.signals();
  uint8_t done = 0;  // signals whose outcome is decided
  try {
    if (schema_pending_ && options_.create_schema) {
      Attempt a = CreateSchema(deadline);
      if (a.outcome != Outcome::kOk) {
        // Without the tables no insert can succeed: every signal gets the schema's outcome.
        for (Table t : {Table::kSpans, Table::kLogs, Table::kMetrics}) {
          const event::Signal s = SignalOf(t);
          if ((present & s) == 0) continue;
          const std::size_t n = s == event::kSignalTraces ? batch.spans().size()
                                : s == event::kSignalLogs ? batch.logs().size()
                                                          : batch.metrics().size();
          Record(s, n, a, result);
        }
        return result;
      }
    }
    const clickhouse::Format f = options_.format;
    bool transport_failed = false;
    auto run = [&](Table table, auto events, auto encode) {
      const event::Signal s = SignalOf(table);
      if (events.empty()) return;
      Attempt a;
      if (transport_failed) {
        a.outcome = Outcome::kRetry;  // the server just failed to answer: no second wait
      } else {
        a = InsertAll(table, events, encode, deadline);
        transport_failed = a.transport_failed;
      }
      Record(s, events.size(), a, result);
      done |= s;
    };
    run(Table::kSpans, batch.spans(),
        [&](std::span<const event::Span> e, std::string& out) { encoder_.Spans(f, e, out); });
    run(Table::kLogs, batch.logs(),
        [&](std::span<const event::LogRecord> e, std::string& out) { encoder_.Logs(f, e, out); });
    run(Table::kMetrics, batch.metrics(),
        [&](std::span<const event::MetricPoint> e, std::string& out) {
          encoder_.Metrics(f, e, out);
        });
  } catch (const std::exception&) {
    // Encoding may throw on resource exhaustion: hand what is undecided back to the pipeline.
    client_->Close();
    result.Set(static_cast<uint8_t>(event::kSignalAll & ~done), pipeline::ExportOutcome::kRetry);
  }
  if (body_.capacity() > (std::size_t{64} << 20)) std::string().swap(body_);  // bound idle memory
  return result;
}

void ClickHouseExporter::Cancel() noexcept { client_->Cancel(); }

strobe::Status ClickHouseExporter::Shutdown(std::chrono::milliseconds deadline) {
  (void)deadline;
  client_->Close();
  return strobe::OkStatus();
}

void RegisterClickHouseExporter(pipeline::PluginRegistry& registry) {
  STROBE_CHECK(
      registry
          .AddExporter({
              .type = "clickhouse",
              .description =
                  "Inserts spans, log records and metric points into ClickHouse tables over its "
                  "HTTP interface (RowBinary or JSONEachRow), creating the database and tables "
                  "if missing; transient failures go back to the pipeline's retry.",
              .signals = event::kSignalAll,
              .options =
                  {
                      {"endpoint", pipeline::OptionType::kString, "http://127.0.0.1:8123",
                       "ClickHouse HTTP interface (http:// only)"},
                      {"database", pipeline::OptionType::kString, "strobe",
                       "database of the tables (an identifier)"},
                      {"table_prefix", pipeline::OptionType::kString, "",
                       "prepended to every table name"},
                      {"spans_table", pipeline::OptionType::kString, "spans", "spans table"},
                      {"logs_table", pipeline::OptionType::kString, "logs", "log records table"},
                      {"metrics_table", pipeline::OptionType::kString, "metrics",
                       "metric points table"},
                      {"user", pipeline::OptionType::kString, "",
                       "X-ClickHouse-User (empty: the server's default user)"},
                      {"password", pipeline::OptionType::kString, "", "X-ClickHouse-Key"},
                      {"password_file", pipeline::OptionType::kString, "",
                       "file holding the password (first line; mode 0600, as auth.token_file); "
                       "instead of password"},
                      {"create_schema", pipeline::OptionType::kBool, "true",
                       "create the database and tables at start and when an insert finds them "
                       "missing"},
                      {"format",
                       pipeline::OptionType::kString,
                       "RowBinary",
                       "INSERT input format",
                       {.choices = {"RowBinary", "JSONEachRow"}}},
                      {"max_rows_per_insert",
                       pipeline::OptionType::kInt,
                       "100000",
                       "rows per INSERT; a larger batch signal is split",
                       {.min = "1", .max = "1000000"}},
                      {"compression",
                       pipeline::OptionType::kString,
                       "none",
                       "INSERT body encoding",
                       {.choices = {"none", "gzip"}}},
                      {"timeout",
                       pipeline::OptionType::kDuration,
                       "10s",
                       "per export call (connect, insert, answer), shared by its signals",
                       {.min = "1ms"}},
                  },
              .create = [](const pipeline::ComponentContext& ctx)
                  -> strobe::Result<std::unique_ptr<pipeline::Exporter>> {
                ClickHouseExporterOptions o;
                o.name = ctx.id.ToString();
                o.endpoint = ctx.options.GetString("endpoint");
                o.database = ctx.options.GetString("database");
                o.table_prefix = ctx.options.GetString("table_prefix");
                o.spans_table = ctx.options.GetString("spans_table");
                o.logs_table = ctx.options.GetString("logs_table");
                o.metrics_table = ctx.options.GetString("metrics_table");
                o.user = ctx.options.GetString("user");
                o.password = ctx.options.GetString("password");
                if (const std::string file = ctx.options.GetString("password_file");
                    !file.empty()) {
                  if (!o.password.empty()) {
                    return strobe::InvalidArgument(ctx.options.Where("password_file") +
                                                   ": set password or password_file, not both");
                  }
                  // The token file reader's checks (regular file, owner, mode 0600, size);
                  // its errors name the path and the rule, never the content.
                  auto lines = server::ReadTokenFile(file);
                  if (!lines.ok()) {
                    return lines.status().WithContext(ctx.options.Where("password_file"));
                  }
                  o.password = lines->front();
                }
                o.create_schema = ctx.options.GetBool("create_schema");
                o.format = ctx.options.GetString("format") == "JSONEachRow"
                               ? clickhouse::Format::kJsonEachRow
                               : clickhouse::Format::kRowBinary;
                o.max_rows = static_cast<uint64_t>(ctx.options.GetInt("max_rows_per_insert"));
                o.gzip = ctx.options.GetString("compression") == "gzip";
                o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
                    ctx.options.GetDuration("timeout"));
                o.keys = &ctx.keys;
                o.metrics = ctx.services.metrics;
                o.logger = ctx.services.logger;
                auto e = ClickHouseExporter::Create(std::move(o));
                if (!e.ok()) return e.status().WithContext(ctx.options.Where("endpoint"));
                return std::unique_ptr<pipeline::Exporter>(std::move(e).value());
              },
          })
          .ok());
}

}  // namespace strobed::exporters
