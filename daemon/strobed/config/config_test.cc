#include "strobed/config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "strobed/base/parse.h"
#include "strobed/config/defaults.h"
#include "strobed/config/keys.h"
#include "strobed/config/print.h"

namespace strobed::config {
namespace {

using Env = std::map<std::string, std::string, std::less<>>;

strobe::Result<Config> LoadText(const std::string& yaml, Env env = {},
                                std::vector<LoadOptions::Override> overrides = {}) {
  LoadOptions o;
  o.file = "strobe.yaml";
  o.text = yaml;
  o.env = [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  o.overrides = std::move(overrides);
  return Load(o);
}

TEST(ConfigTest, DefaultsAreSafe) {
  auto c = LoadText("");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http.ToString(), "127.0.0.1:9800");
  EXPECT_EQ(c->otlp_http.ToString(), "127.0.0.1:4318");
  EXPECT_EQ(c->otlp_grpc.ToString(), "127.0.0.1:4317");
  EXPECT_EQ(c->wire.ToString(), "127.0.0.1:9801");
  EXPECT_EQ(c->data_dir, "./strobe-data");
  EXPECT_TRUE(c->auth_token.empty());
  EXPECT_EQ(c->host.interval, std::chrono::seconds(1));
  EXPECT_FALSE(c->demo.enabled);
}

TEST(ConfigTest, FileEnvAndFlagsLayerInOrder) {
  const std::string yaml =
      "listen:\n  http: 127.0.0.1:9000\n  wire: off\n"
      "server:\n  max_body_bytes: 4MiB\n  read_header_timeout: 2s\n"
      "host:\n  interval: 250ms\n";
  auto c = LoadText(yaml, {{"STROBE_HTTP", ":0"}, {"STROBE_TOKEN", "t0k"}},
                    {{"host.interval", "3s", "--set"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http.ToString(), "127.0.0.1:0");  // env beats file
  EXPECT_FALSE(c->wire.enabled);
  EXPECT_EQ(c->server.max_body_bytes, 4u << 20);
  EXPECT_EQ(c->server.read_header_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->host.interval, std::chrono::seconds(3));  // flag beats file
  EXPECT_EQ(c->auth_token, "t0k");
}

TEST(ConfigTest, UnknownKeyNamesFileLineAndKnownKeys) {
  auto c = LoadText("host:\n  interval: 1s\nserver:\n  max_bdy_bytes: 10\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("strobe.yaml:4:3: unknown key 'server.max_bdy_bytes'"),
            std::string::npos)
      << c.status().message();
  EXPECT_NE(c.status().message().find("max_body_bytes"), std::string::npos);
}

TEST(ConfigTest, UnknownTopLevelSection) {
  auto c = LoadText("recievers: {}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("strobe.yaml:1:1: unknown key 'recievers'"),
            std::string::npos)
      << c.status().message();
}

TEST(ConfigTest, BadValuesNameTheKey) {
  struct Case {
    std::string yaml;
    std::string want;
  } cases[] = {
      {"server:\n  threads: 0\n", "strobe.yaml:2:12: server.threads: 0 is out of range [1, 64]"},
      {"server:\n  threads: many\n", "server.threads: 'many' is not an integer"},
      {"host:\n  interval: 5 parsecs\n", "unknown duration unit 'parsecs'"},
      {"listen:\n  http: nowhere\n", "strobe.yaml:2:9: listen.http: 'nowhere' is not HOST:PORT"},
      {"listen:\n  http: 127.0.0.1:70000\n", "port must be 0..65535"},
      {"log:\n  level: loud\n", "'loud' is not one of trace, debug, info, warn, error, off"},
      {"server: 3\n", "strobe.yaml:1:9: 'server' must be a map of keys"},
      {"host:\n  enabled: [1]\n", "'host.enabled' must be a single value"},
      {"listen: [1, 2\n", "strobe.yaml:"},
      {"- a\n- b\n", "must be a map of sections"},
      {"host:\n  interval: 1s\nhost:\n  interval: 2s\n", "duplicate key 'host'"},
      {"server:\n  max_body_bytes: 0\n", "max_body_bytes: 0 is out of range (must be >= 1)"},
      // Issue 14: a zero head timeout was accepted and made the API unusable.
      {"server:\n  read_header_timeout: 0\n",
       "strobe.yaml:2:24: server.read_header_timeout: 0 is out of range (must be >= 1ms)"},
      {"server:\n  idle_timeout: 0s\n", "server.idle_timeout: 0s is out of range"},
      {"server:\n  body_timeout: 0.1ms\n", "is out of range"},
      {"server:\n  write_timeout: -1s\n", "is not a duration"},
      {"server:\n  max_connections: 16\n  reserved_connections: 16\n",
       "server.reserved_connections (16) must be less than server.max_connections (16)"},
  };
  for (const auto& tc : cases) {
    auto c = LoadText(tc.yaml);
    ASSERT_FALSE(c.ok()) << tc.yaml;
    EXPECT_NE(c.status().message().find(tc.want), std::string::npos)
        << "yaml: " << tc.yaml << "\ngot: " << c.status().message();
  }
}

TEST(ConfigTest, EnvAndFlagErrorsNameTheSource) {
  auto a = LoadText("", {{"STROBE_HOST_INTERVAL", "soon"}});
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("environment STROBE_HOST_INTERVAL:"), std::string::npos);
  auto b = LoadText("", {}, {{"listen.http", "bogus", "--http"}});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("flag --http:"), std::string::npos);
  auto c = LoadText("", {}, {{"no.such", "1", ""}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unknown key 'no.such'"), std::string::npos);
}

TEST(ConfigTest, MissingFileIsNotFound) {
  LoadOptions o;
  o.file = "/nonexistent/strobe.yaml";
  auto c = Load(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), strobe::StatusCode::kNotFound);
}

// A directory, a FIFO and an unreadable file are refused with a clear error; the directory
// used to throw std::ios_base::failure out of yaml-cpp (exit 134) and a FIFO would block.
TEST(ConfigTest, NonRegularOrUnreadablePathIsAClearError) {
  const std::string dir = ::testing::TempDir() + "strobe_config_dir_" + std::to_string(getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  LoadOptions o;
  o.file = dir;
  auto c = Load(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), dir + ": cannot read: is a directory");

  const std::string fifo = dir + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);  // no writer: a blocking open would never return
  o.file = fifo;
  c = Load(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), fifo + ": cannot read: not a regular file");

  const std::string secret = dir + "/secret.yaml";
  { std::ofstream(secret) << "log:\n  level: debug\n"; }
  ASSERT_EQ(::chmod(secret.c_str(), 0), 0);
  o.file = secret;
  c = Load(o);
  if (::geteuid() != 0) {  // root reads it anyway
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().message(), secret + ": cannot read: Permission denied");
  }
  ASSERT_EQ(::chmod(secret.c_str(), 0600), 0);
  c = Load(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->log_level, "debug");
  ::unlink(secret.c_str());
  ::unlink(fifo.c_str());
  ::rmdir(dir.c_str());
}

TEST(ConfigTest, ModuleSectionsKeptRawWithMarks) {
  auto c = LoadText(
      "host:\n  interval: 1s\npipelines:\n  traces:\n    receivers: [otlp_http]\n"
      "stream:\n  windows: 3\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const RawSection& p = c->Section("pipelines");
  ASSERT_TRUE(p.present());
  EXPECT_EQ(p.file, "strobe.yaml");
  EXPECT_EQ(p.node["traces"]["receivers"][0].as<std::string>(), "otlp_http");
  EXPECT_EQ(p.node["traces"].Mark().line + 1, 5);
  EXPECT_TRUE(c->Section("stream").present());
  EXPECT_FALSE(c->Section("alerts").present());
  EXPECT_FALSE(c->Section("nonsense").present());
}

TEST(ConfigTest, PrintRoundTripsAndRedactsToken) {
  auto c = LoadText("listen:\n  http: :0\nalerts:\n  - name: x\n", {{"STROBE_TOKEN", "secret"}});
  ASSERT_TRUE(c.ok());
  std::string printed = Print(*c);
  EXPECT_EQ(printed.find("secret"), std::string::npos);
  EXPECT_NE(printed.find("<redacted>"), std::string::npos);
  EXPECT_NE(printed.find("http: 127.0.0.1:0"), std::string::npos);
  EXPECT_NE(printed.find("alerts:"), std::string::npos);
  // What --print-config shows loads back to the same configuration.
  auto again = LoadText(printed, {{"STROBE_TOKEN", "secret"}});
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << printed;
  EXPECT_EQ(Print(*again), printed);
  EXPECT_EQ(Digest(*again), Digest(*c));
  EXPECT_EQ(Digest(*c).size(), 16u);
}

TEST(ConfigTest, AuthTokenAndTokenFileAreExclusive) {
  auto file = LoadText("auth: {token_file: /etc/strobe/token}\n", {});
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->auth_token_file, "/etc/strobe/token");
  EXPECT_TRUE(file->auth_token.empty());
  auto env = LoadText("", {{"STROBE_TOKEN_FILE", "/run/secrets/strobe"}});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->auth_token_file, "/run/secrets/strobe");

  auto both = LoadText("auth: {token_file: /etc/strobe/token}\n", {{"STROBE_TOKEN", "t"}});
  EXPECT_EQ(both.status().code(), strobe::StatusCode::kInvalidArgument);
  EXPECT_NE(both.status().message().find("auth.token and auth.token_file are both set"),
            std::string::npos)
      << both.status().message();
  // Both reload without a restart.
  EXPECT_TRUE(FindKey("auth.token")->reloadable);
  EXPECT_TRUE(FindKey("auth.token_file")->reloadable);
}

TEST(ConfigTest, RestartRequiredListsOnlyStaticKeys) {
  auto a = LoadText("host:\n  interval: 1s\n");
  auto b = LoadText("host:\n  interval: 2s\nlisten:\n  http: :0\npipelines: {x: 1}\n");
  ASSERT_TRUE(a.ok() && b.ok());
  auto keys = RestartRequired(*a, *b);
  EXPECT_EQ(keys, (std::vector<std::string>{"listen.http", "pipelines"}));
  EXPECT_TRUE(RestartRequired(*a, *a).empty());
}

TEST(ConfigTest, AlertsSectionReloadsExceptItsNotifiers) {
  auto a = LoadText("alerts:\n  evaluation_interval: 1s\n  notifiers: [{type: log}]\n");
  auto b = LoadText("alerts:\n  evaluation_interval: 2s\n  notifiers: [{type: log}]\n");
  auto c = LoadText("alerts:\n  evaluation_interval: 2s\n");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(ReloadableSection("alerts"));
  EXPECT_FALSE(ReloadableSection("stream"));
  EXPECT_TRUE(RestartRequired(*a, *b).empty());
  EXPECT_EQ(RestartRequired(*a, *c), (std::vector<std::string>{"alerts.notifiers"}));
}

// Daemon keys and plugin options share base/parse.h: the units and case rules that used to
// differ (the daemon had no "ns" and no fractional sizes; plugins were case-sensitive and had
// no K/M/G short forms) are one set now.
TEST(ConfigTest, DurationsAndSizesUseTheSharedUnits) {
  auto c = LoadText(
      "host:\n  interval: 1.5S\nserver:\n  max_body_bytes: 1.5MiB\n  max_header_bytes: 8k\n"
      "  body_timeout: 2500000us\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->host.interval, std::chrono::milliseconds(1500));
  EXPECT_EQ(c->server.max_body_bytes, 3u << 19);
  EXPECT_EQ(c->server.max_header_bytes, 8u << 10);
  EXPECT_EQ(c->server.body_timeout, std::chrono::milliseconds(2500));
  // Whole milliseconds: finer durations round to the nearest one.
  auto ns = LoadText("host:\n  interval: 1500000ns\n");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(ns->host.interval, std::chrono::milliseconds(2));
  EXPECT_EQ(ValueText(*c, *FindKey("host.interval")), "1500ms");
  // Enumerations match case-insensitively and keep the declared spelling.
  auto level = LoadText("log:\n  level: DEBUG\n");
  ASSERT_TRUE(level.ok()) << level.status().ToString();
  EXPECT_EQ(level->log_level, "debug");
  EXPECT_EQ(ValueText(*c, *FindKey("server.read_header_timeout")), "10s");
}

TEST(ConfigTest, KeyTableIsValid) {
  for (const KeySpec& k : KeySpecs()) {
    EXPECT_TRUE(base::ValidateSpec(k.option).ok())
        << k.path() << ": " << base::ValidateSpec(k.option).message();
  }
}

TEST(ConfigTest, ListenAddressForms) {
  EXPECT_EQ(ListenAddress::Parse("[::1]:9800")->ToString(), "[::1]:9800");
  EXPECT_EQ(ListenAddress::Parse(":0")->ToString(), "127.0.0.1:0");
  EXPECT_EQ(ListenAddress::Parse("0.0.0.0:80")->ToString(), "0.0.0.0:80");
  EXPECT_FALSE(ListenAddress::Parse("OFF")->enabled);
  EXPECT_FALSE(ListenAddress::Parse("::1:80").ok());
  EXPECT_FALSE(ListenAddress::Parse("host:").ok());
}

TEST(ConfigTest, EveryKeyIsDocumented) {
  std::ifstream f(std::string(STROBE_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  for (const auto& k : KeySpecs()) {
    EXPECT_NE(doc.find("`" + k.path() + "`"), std::string::npos) << k.path();
    EXPECT_NE(doc.find("`" + k.env + "`"), std::string::npos) << k.env;
  }
}

// Every key maps to a field of its own: its default text sets back to itself, and setting a
// value that differs from the default changes that key's text and no other key's.
TEST(ConfigTest, EveryKeyMapsToItsOwnField) {
  const Config defaults;
  // Candidates by type; the first that the key's bounds accept and that differs is used.
  const std::vector<std::string> candidates = {
      "3",           "7",    "0.5",      "true",   "false",    "1500ms", "2MiB",
      "127.0.0.1:1", ":2",   "off",      "/tmp/x", "x",        "debug",  "warn",
      "0.9",         "1000", "root,bin", "12345",  "strobe-2", "90s",    "always"};
  for (const auto& k : KeySpecs()) {
    SCOPED_TRACE(k.path());
    const std::string def = ValueText(defaults, k);
    Config same;
    ASSERT_TRUE(SetValue(same, k, def).ok()) << def;
    EXPECT_EQ(ValueText(same, k), def);
    bool changed = false;
    for (const std::string& v : candidates) {
      Config c;
      if (!SetValue(c, k, v).ok() || ValueText(c, k) == def) continue;
      changed = true;
      for (const auto& other : KeySpecs()) {
        if (&other == &k) continue;
        EXPECT_EQ(ValueText(c, other), ValueText(defaults, other))
            << "setting " << k.path() << " to " << v << " changed " << other.path();
      }
      break;
    }
    EXPECT_TRUE(changed) << "no candidate value differs from the default " << def;
  }
}

// --- built-in sections (defaults.h) ---

strobe::Result<Config> LoadBuiltin(const std::string& yaml,
                                   std::vector<LoadOptions::Override> overrides = {},
                                   BuiltinSections builtin = {.enabled = true}) {
  LoadOptions o;
  o.file = "strobe.yaml";
  o.text = yaml;
  o.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  o.overrides = std::move(overrides);
  o.builtin = builtin;
  return Load(o);
}

TEST(BuiltinSectionsTest, DefaultPipelineFollowsTheListeners) {
  auto c = LoadBuiltin("", {{"listen.otlp_http", "127.0.0.1:0", "--otlp-http"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const RawSection& receivers = c->Section("receivers");
  ASSERT_TRUE(receivers.present());
  EXPECT_EQ(receivers.file, kBuiltinDefaultsFile);
  EXPECT_EQ(receivers.node["otlp_http"]["endpoint"].as<std::string>(), "127.0.0.1:0");
  EXPECT_FALSE(receivers.node["memory/demo"].IsDefined());
  EXPECT_FALSE(receivers.node["shm"].IsDefined());        // plugin not announced
  EXPECT_FALSE(receivers.node["otlp_grpc"].IsDefined());  // plugin not announced
  const YAML::Node p = c->Section("service").node["pipelines"]["default"];
  ASSERT_TRUE(p.IsMap());
  EXPECT_EQ(p["receivers"].size(), 1u);
  EXPECT_EQ(p["processors"][0].as<std::string>(), "memory_limiter");
  EXPECT_EQ(p["exporters"][0].as<std::string>(), "trace_analysis");
  EXPECT_EQ(p["exporters"].size(), 1u);  // no stream section, no prometheus plugin
  EXPECT_FALSE(c->Section("stream").present());
}

TEST(BuiltinSectionsTest, OptionalPluginsAndDemoJoinThePipeline) {
  auto c = LoadBuiltin("demo: {enabled: true}\nauth: {token: s3cret}\n", {},
                       {.enabled = true,
                        .shm_receiver = true,
                        .otlp_grpc_receiver = true,
                        .prometheus_exporter = true});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const YAML::Node r = c->Section("receivers").node;
  EXPECT_EQ(r["otlp_grpc"]["endpoint"].as<std::string>(), "127.0.0.1:4317");
  // The receiver carries no token of its own: the daemon's one Authenticator covers every
  // listener, so a token rotated by SIGHUP reaches OTLP too (issue 14, item 8).
  EXPECT_FALSE(r["otlp_http"]["auth_token"].IsDefined());
  EXPECT_EQ(r["shm"]["name"].as<std::string>(), "strobe");
  EXPECT_TRUE(r["memory/demo"].IsDefined());
  const YAML::Node p = c->Section("service").node["pipelines"]["default"];
  std::vector<std::string> exporters;
  for (const auto& e : p["exporters"]) exporters.push_back(e.as<std::string>());
  EXPECT_EQ(exporters, (std::vector<std::string>{"trace_analysis", "prometheus", "stream"}));
  // The demo's windows and alert rules came with it.
  EXPECT_EQ(c->Section("stream").node["windows"][0]["name"].as<std::string>(), "demo_http");
  EXPECT_EQ(c->Section("alerts").node["rules"].size(), 2u);
  // --print-config shows the pipeline but never the token.
  std::string printed = Print(*c);
  EXPECT_NE(printed.find("memory/demo"), std::string::npos);
  EXPECT_EQ(printed.find("s3cret"), std::string::npos) << printed;
  EXPECT_NE(printed.find("<redacted>"), std::string::npos);
}

TEST(BuiltinSectionsTest, AFileWithPipelinesOrAllListenersOffGetsNone) {
  auto user = LoadBuiltin(
      "receivers: {memory: {}}\nexporters: {debug: {}}\n"
      "service: {pipelines: {p: {receivers: [memory], exporters: [debug]}}}\n"
      "demo: {enabled: true}\nstream: {windows: []}\n");
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  EXPECT_EQ(user->Section("receivers").file, "strobe.yaml");
  EXPECT_FALSE(user->Section("receivers").node["otlp_http"].IsDefined());
  EXPECT_FALSE(user->Section("alerts").present());  // the file has a stream section: no demo rules

  auto off = LoadBuiltin("", {{"listen.otlp_http", "off", "--otlp-http"}});
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(off->Section("receivers").present());
  EXPECT_FALSE(off->Section("service").present());

  auto grpc_off = LoadBuiltin("", {{"listen.otlp_grpc", "off", "--otlp-grpc"}},
                              {.enabled = true, .otlp_grpc_receiver = true});
  ASSERT_TRUE(grpc_off.ok()) << grpc_off.status().ToString();
  EXPECT_TRUE(grpc_off->Section("receivers").node["otlp_http"].IsDefined());
  EXPECT_FALSE(grpc_off->Section("receivers").node["otlp_grpc"].IsDefined());

  auto plain = LoadText("");  // builtin sections not requested
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->Section("receivers").present());
}

}  // namespace
}  // namespace strobed::config
