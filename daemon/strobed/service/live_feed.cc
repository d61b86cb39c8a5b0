#include "strobed/service/live_feed.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "strobe/metrics/registry.h"
#include "strobe/snapshot/snapshot.h"
#include "strobed/base/json.h"
#include "strobed/trace/trace_store.h"

namespace strobed::service {
namespace {

using strobe::snapshot::MetricType;

// One family of the tick's registry snapshot, encoded once for every client that shows it.
struct EncodedSeries {
  const std::vector<strobe::snapshot::Label>* labels;
  std::string key;
  std::string value;
};
struct EncodedFamily {
  std::string name;  // as exposed: counters end in _total
  std::string base;  // the snapshot's name
  std::string meta;  // {"type":...}
  std::vector<EncodedSeries> series;
};

// What every client due at one tick may show, read once.
struct World {
  strobe::snapshot::Snapshot snapshot;
  std::vector<EncodedFamily> families;
  LiveState graph;
  std::string alerts;
  std::string events_doc;  // owns what `events` points into
  LiveState events;
};

// FNV-1a: a stable key for an event from its content.
uint64_t Fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The newest kMaxLiveEvents window results and notable events, keyed by content.
void KeyEvents(std::string_view array, LiveState& out) {
  std::vector<std::string_view> all = SplitJsonArray(array);
  std::vector<std::string_view> windows, notable;
  for (std::string_view e : all) {
    (e.starts_with(R"({"type":"window")") ? windows : notable).push_back(e);
  }
  for (auto* list : {&windows, &notable}) {
    size_t first = list->size() > kMaxLiveEvents ? list->size() - kMaxLiveEvents : 0;
    for (size_t i = first; i < list->size(); ++i) {
      char key[3 + 16 + 1];
      std::snprintf(key, sizeof(key), "ev:%016llx",
                    static_cast<unsigned long long>(Fnv1a((*list)[i])));
      out.emplace(key, std::string((*list)[i]));
    }
  }
}

std::string ExposedName(const strobe::snapshot::Family& f) {
  return f.type == MetricType::kCounter ? f.name + "_total" : f.name;
}

bool NameMatches(const LiveSelector& s, std::string_view exposed, std::string_view base) {
  if (s.prefix) return exposed.starts_with(s.name) || base.starts_with(s.name);
  return exposed == s.name || base == s.name;
}

// NameMatches without building the exposed name: `base` is the snapshot's name, `counter`
// whether it is exposed with `_total`.
bool BaseMatches(const LiveSelector& s, std::string_view base, bool counter) {
  constexpr std::string_view kTotal = "_total";
  const std::string_view n = s.name;
  if (n.size() <= base.size()) {
    if (s.prefix) return base.starts_with(n);
    return n == base;
  }
  // Longer than the base name: only `<base>_total` (or a prefix of it) can match.
  if (!counter || !n.starts_with(base)) return false;
  const std::string_view rest = n.substr(base.size());
  return s.prefix ? kTotal.starts_with(rest) : rest == kTotal;
}

bool LabelsMatch(const LiveSelector& s, const std::vector<strobe::snapshot::Label>& labels) {
  for (const auto& [k, v] : s.labels) {
    bool found = false;
    for (const auto& l : labels) {
      if (l.name == k) {
        found = l.value == v;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

// `name{a="x",b="y"}` with the exposition format's escapes in values.
std::string SeriesKey(std::string_view name, const std::vector<strobe::snapshot::Label>& labels) {
  std::string k(name);
  if (labels.empty()) return k;
  k += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) k += ',';
    k += labels[i].name;
    k += "=\"";
    for (char c : labels[i].value) {
      if (c == '\\' || c == '"') k += '\\';
      if (c == '\n') {
        k += "\\n";
        continue;
      }
      k += c;
    }
    k += '"';
  }
  k += '}';
  return k;
}

EncodedFamily Encode(const strobe::snapshot::Family& f) {
  EncodedFamily e;
  e.base = f.name;
  e.name = ExposedName(f);
  const bool hist = f.type == MetricType::kHistogram || f.type == MetricType::kSummary;
  if (hist) {
    e.meta = "{\"type\":\"histogram\",\"bounds\":[";
    if (!f.points.empty()) {
      const auto& b = f.points.front().histogram.bounds;
      for (size_t i = 0; i < b.size(); ++i) {
        if (i) e.meta += ',';
        e.meta += base::JsonNumber(b[i]);
      }
    }
    e.meta += "]}";
  } else {
    e.meta = f.type == MetricType::kCounter ? "{\"type\":\"counter\"}" : "{\"type\":\"gauge\"}";
  }
  e.series.reserve(f.points.size());
  for (const auto& p : f.points) {
    EncodedSeries s{&p.labels, SeriesKey(e.name, p.labels), {}};
    if (hist) {
      const auto& h = p.histogram;
      s.value = "[" + std::to_string(h.count) + "," + base::JsonNumber(h.sum * h.unit_scale) + ",[";
      for (size_t i = 0; i < h.bucket_counts.size(); ++i) {
        if (i) s.value += ',';
        s.value += std::to_string(h.bucket_counts[i]);
      }
      s.value += "]]";
    } else {
      s.value = base::JsonNumber(p.value);
    }
    e.series.push_back(std::move(s));
  }
  return e;
}

// What one subscription shows of the tick's world: its series (first matching selector wins a
// key), their families' meta, and its topics; at most max_keys keys ("truncated" then).
std::shared_ptr<const LiveState> BuildState(const std::vector<LiveSelector>& series, bool graph,
                                            bool alerts, bool events, const World& w,
                                            size_t max_keys) {
  auto state = std::make_shared<LiveState>();
  size_t budget = max_keys;
  auto put = [&](const std::string& k, const std::string& v) {
    if (budget == 0) return;
    if (state->emplace(k, v).second) --budget;
  };
  for (const EncodedFamily& f : w.families) {
    bool meta = false;
    for (const LiveSelector& s : series) {
      if (!NameMatches(s, f.name, f.base)) continue;
      for (const EncodedSeries& es : f.series) {
        if (LabelsMatch(s, *es.labels) && !state->contains(es.key)) {
          put(es.key, es.value);
          meta = true;
        }
      }
    }
    if (meta) put("meta:" + f.name, f.meta);
  }
  if (graph) {
    for (const auto& [k, v] : w.graph) put(k, v);
  }
  if (alerts && !w.alerts.empty()) put("alerts", w.alerts);
  if (events) {
    for (const auto& [k, v] : w.events) put(k, v);
  }
  if (budget == 0) (*state)["truncated"] = "true";
  return state;
}

// The group key of a subscription: its selectors' texts and topics.
void AppendGroupKey(std::string_view selector, std::string& key) {
  key += std::to_string(selector.size());
  key += ':';
  key += selector;
}

}  // namespace

std::vector<std::string_view> SplitJsonArray(std::string_view array) {
  std::vector<std::string_view> out;
  size_t i = array.find('[');
  if (i == std::string_view::npos) return out;
  ++i;
  int depth = 0;
  bool in_string = false;
  size_t start = std::string_view::npos;
  auto push = [&](size_t end) {  // [start, end) without trailing whitespace
    while (end > start && (array[end - 1] == ' ' || array[end - 1] == '\n' ||
                           array[end - 1] == '\t' || array[end - 1] == '\r')) {
      --end;
    }
    out.push_back(array.substr(start, end - start));
  };
  for (; i < array.size(); ++i) {
    const char c = array[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    if (start == std::string_view::npos) {
      if (c == ']' && depth == 0) break;
      start = i;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) {  // the closing bracket of the array
        push(i);
        break;
      }
      --depth;
    } else if (c == ',' && depth == 0) {
      push(i);
      start = std::string_view::npos;
    }
  }
  return out;
}

namespace {

std::string ErrorMessage(int code, std::string_view message) {
  return "{\"type\":\"error\",\"code\":" + std::to_string(code) +
         ",\"message\":" + base::JsonQuote(message) + "}";
}

}  // namespace

strobe::Result<LiveSelector> LiveSelector::Parse(std::string_view text) {
  LiveSelector s;
  size_t brace = text.find('{');
  std::string_view name = text.substr(0, brace);
  if (name.ends_with('*')) {
    s.prefix = true;
    name.remove_suffix(1);
  }
  auto name_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
  };
  if (name.empty() && !s.prefix) return strobe::InvalidArgument("empty selector");
  for (size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0)) {
      return strobe::InvalidArgument("bad metric name in selector " + std::string(text));
    }
  }
  s.name = std::string(name);
  if (brace == std::string_view::npos) return s;
  std::string_view rest = text.substr(brace + 1);
  if (!rest.ends_with('}')) return strobe::InvalidArgument("selector must end with }");
  rest.remove_suffix(1);
  while (!rest.empty()) {
    size_t eq = rest.find("=\"");
    if (eq == std::string_view::npos || eq == 0) {
      return strobe::InvalidArgument("label matcher must be name=\"value\"");
    }
    std::string label(rest.substr(0, eq));
    for (size_t i = 0; i < label.size(); ++i) {
      if (!name_char(label[i], i == 0) || label[i] == ':') {
        return strobe::InvalidArgument("bad label name " + label);
      }
    }
    rest.remove_prefix(eq + 2);
    std::string value;
    size_t i = 0;
    for (; i < rest.size() && rest[i] != '"'; ++i) {
      if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
      value += rest[i];
    }
    if (i == rest.size()) return strobe::InvalidArgument("unterminated label value");
    rest.remove_prefix(i + 1);
    if (rest.starts_with(',')) rest.remove_prefix(1);
    s.labels.emplace_back(std::move(label), std::move(value));
  }
  return s;
}

LiveFeed::LiveFeed(LiveSources sources, std::shared_ptr<const server::Authenticator> auth,
                   LiveFeedOptions options)
    : sources_(std::move(sources)), auth_(std::move(auth)), options_(options) {}

LiveFeed::~LiveFeed() { Stop(); }

server::WebSocketHandlers LiveFeed::Handlers() {
  server::WebSocketHandlers h;
  h.on_open = [this](std::shared_ptr<server::WebSocketConnection> c) { OnOpen(std::move(c)); };
  h.on_message = [this](server::WebSocketConnection& c, std::string_view t) { OnMessage(c, t); };
  h.on_close = [this](server::WebSocketConnection& c) { OnClose(c); };
  h.max_message_bytes = options_.max_message_bytes;
  h.max_queued_bytes = options_.max_queued_bytes;
  return h;
}

void LiveFeed::Reject(server::WebSocketConnection& conn, int code, std::string_view message,
                      bool close) {
  conn.SendText(ErrorMessage(code, message));
  if (close) conn.Close();
}

void LiveFeed::OnOpen(std::shared_ptr<server::WebSocketConnection> conn) {
  strobe::MutexLock lock(mu_);
  if (clients_.size() >= options_.max_clients) {
    rejected_full_.fetch_add(1, std::memory_order_relaxed);
    Reject(*conn, 503, "too many live clients", true);
    return;
  }
  Client& c = clients_[conn.get()];
  c.conn = std::move(conn);
}

void LiveFeed::OnClose(server::WebSocketConnection& conn) {
  std::shared_ptr<server::WebSocketConnection> keep;  // released after the lock
  strobe::MutexLock lock(mu_);
  auto it = clients_.find(&conn);
  if (it == clients_.end()) return;
  keep = std::move(it->second.conn);
  Leave(it->second);
  clients_.erase(it);
}

void LiveFeed::OnMessage(server::WebSocketConnection& conn, std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(text);
  std::string_view type;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object() ||
      doc["type"].get(type) != simdjson::SUCCESS || type != "subscribe") {
    rejected_bad_request_.fetch_add(1, std::memory_order_relaxed);
    Reject(conn, 400, "expected {\"type\":\"subscribe\",...}", false);
    return;
  }
  std::string_view token;
  if (auto t = doc["token"]; !t.error() && t.get(token) != simdjson::SUCCESS) token = {};
  double rate = 10;
  if (auto r = doc["rate"]; !r.error()) {
    if (r.get(rate) != simdjson::SUCCESS) {
      int64_t i = 0;
      if (r.get(i) == simdjson::SUCCESS) rate = static_cast<double>(i);
    }
  }
  rate = std::clamp(rate, 1.0, 60.0);
  std::vector<LiveSelector> selectors;
  std::string group_key;
  if (auto s = doc["series"]; !s.error()) {
    simdjson::dom::array arr;
    if (s.get(arr) != simdjson::SUCCESS || arr.size() > options_.max_selectors) {
      rejected_bad_request_.fetch_add(1, std::memory_order_relaxed);
      Reject(conn, 400,
             "series must be an array of at most " + std::to_string(options_.max_selectors) +
                 " selectors",
             false);
      return;
    }
    for (simdjson::dom::element e : arr) {
      std::string_view sel;
      strobe::Result<LiveSelector> parsed =
          e.get(sel) == simdjson::SUCCESS ? LiveSelector::Parse(sel)
                                          : strobe::InvalidArgument("selector must be a string");
      if (!parsed.ok()) {
        rejected_bad_request_.fetch_add(1, std::memory_order_relaxed);
        Reject(conn, 400, parsed.status().message(), false);
        return;
      }
      selectors.push_back(std::move(*parsed));
      AppendGroupKey(sel, group_key);
    }
  }
  auto flag = [&doc](const char* k) {
    bool b = false;
    auto v = doc[k];
    return !v.error() && v.get(b) == simdjson::SUCCESS && b;
  };

  strobe::MutexLock lock(mu_);
  auto it = clients_.find(&conn);
  if (it == clients_.end()) return;
  Client& c = it->second;
  if (auth_) {
    const std::string header = token.empty() ? std::string() : "Bearer " + std::string(token);
    const auto verdict = auth_->Check(header, c.auth_cache);
    if (verdict != server::Authenticator::Verdict::kAllowed) {
      rejected_auth_.fetch_add(1, std::memory_order_relaxed);
      c.authorized = c.subscribed = false;
      Leave(c);
      Reject(
          conn, 401,
          verdict == server::Authenticator::Verdict::kMissing ? "token required" : "invalid token",
          true);
      return;
    }
    c.auth_generation = c.auth_cache.snapshot ? c.auth_cache.snapshot->generation : 0;
  }
  c.authorized = true;
  c.token = std::string(token);
  const bool graph = flag("graph"), alerts = flag("alerts"), events = flag("events");
  group_key += graph ? 'g' : '-';
  group_key += alerts ? 'a' : '-';
  group_key += events ? 'e' : '-';
  Leave(c);
  std::shared_ptr<Group>& g = groups_[group_key];
  if (!g) {
    g = std::make_shared<Group>();
    g->series = std::move(selectors);
    g->graph = graph;
    g->alerts = alerts;
    g->events = events;
  }
  ++g->clients;
  c.group = g;
  c.subscribed = true;
  c.interval_ns = static_cast<uint64_t>(1e9 / rate);
  c.next_due_ns = 0;  // the first, full frame at once
  cv_.NotifyAll();
}

void LiveFeed::Leave(Client& c) {
  c.subscribed = false;
  c.sent.reset();
  if (!c.group) return;
  if (--c.group->clients == 0) {
    for (auto it = groups_.begin(); it != groups_.end(); ++it) {
      if (it->second == c.group) {
        groups_.erase(it);
        break;
      }
    }
  }
  c.group.reset();
}

void LiveFeed::Tick(uint64_t steady_ns, uint64_t unix_ms) {
  // 1. Which groups have a client due and what they need (under the lock, cheap).
  std::vector<LiveSelector> wanted;
  bool graph = false, alerts = false, events = false, any = false;
  uint64_t tick = 0;
  {
    strobe::MutexLock lock(mu_);
    tick = ++ticks_;
    for (auto& [key, c] : clients_) {
      if (!c.subscribed || c.next_due_ns > steady_ns) continue;
      if (auth_ && auth_->generation() != c.auth_generation) {
        const std::string header = c.token.empty() ? std::string() : "Bearer " + c.token;
        if (auth_->Check(header, c.auth_cache) != server::Authenticator::Verdict::kAllowed) {
          rejected_auth_.fetch_add(1, std::memory_order_relaxed);
          c.authorized = false;
          Leave(c);
          Reject(*c.conn, 401, "token revoked", true);
          continue;
        }
        c.auth_generation = c.auth_cache.snapshot ? c.auth_cache.snapshot->generation : 0;
      }
      any = true;
      Group& g = *c.group;
      if (g.marked == tick) continue;
      g.marked = tick;
      wanted.insert(wanted.end(), g.series.begin(), g.series.end());
      graph |= g.graph;
      alerts |= g.alerts;
      events |= g.events;
    }
  }
  if (!any) return;

  // 2. Read every source once, outside the lock.
  World w;
  if (!wanted.empty() && sources_.registry) {
    // Only the wanted families: their callbacks alone run (the registry holds hundreds of
    // series, some read from /proc or the allocator, and this runs up to 60 times a second).
    w.snapshot = sources_.registry->Collect([&wanted](std::string_view base, MetricType type) {
      return std::any_of(wanted.begin(), wanted.end(), [&](const LiveSelector& s) {
        return BaseMatches(s, base, type == MetricType::kCounter);
      });
    });
    for (const auto& f : w.snapshot.families) {
      const std::string exposed = ExposedName(f);
      bool match = std::any_of(wanted.begin(), wanted.end(), [&](const LiveSelector& s) {
        return NameMatches(s, exposed, f.name);
      });
      if (match) w.families.push_back(Encode(f));
    }
  }
  if (graph && sources_.traces && sources_.steady_now_ns) {
    const auto opts = sources_.traces->options();
    const double window = std::chrono::duration<double>(opts.bucket).count() *
                          static_cast<double>(opts.window_buckets);
    w.graph["graph:window"] = base::JsonNumber(window);
    for (const trace::ServiceEdge& e : sources_.traces->ServiceGraph(sources_.steady_now_ns())) {
      w.graph["edge:" + e.caller + ">" + e.callee] =
          "[" + std::to_string(e.calls) + "," + std::to_string(e.errors) + "," +
          base::JsonNumber(static_cast<double>(e.p50_ns) / 1e6) + "," +
          base::JsonNumber(static_cast<double>(e.p90_ns) / 1e6) + "," +
          base::JsonNumber(static_cast<double>(e.p99_ns) / 1e6) + "]";
    }
  }
  if (alerts && sources_.alerts) w.alerts = sources_.alerts();
  if (events && sources_.events) {
    w.events_doc = sources_.events();
    KeyEvents(w.events_doc, w.events);
  }

  // 3. Per group read for this tick, its state built once (when a member is due and keeping
  // up), and per distinct state its members were last sent, one frame shared by them.
  strobe::MutexLock lock(mu_);
  struct Encoded {
    const LiveState* from;
    std::shared_ptr<const std::string> frame;
  };
  struct GroupTick {
    std::shared_ptr<const LiveState> state;
    std::vector<Encoded> frames;
  };
  std::map<const Group*, GroupTick> built;
  for (auto& [key, c] : clients_) {
    if (!c.subscribed || c.next_due_ns > steady_ns) continue;
    Group& g = *c.group;
    if (g.marked != tick) continue;  // subscribed after step 1: served by the next tick
    // On the grid of the client's interval, so clients at one rate share ticks; after a stall
    // from now (late frames are never sent twice).
    c.next_due_ns = (steady_ns / c.interval_ns + 1) * c.interval_ns;
    if (c.conn->queued_bytes() > options_.coalesce_bytes) {
      frames_coalesced_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    GroupTick& gt = built[&g];
    if (!gt.state) {
      gt.state = BuildState(g.series, g.graph, g.alerts, g.events, w, options_.max_keys);
      ++g.seq;
    }
    const LiveState* from = c.sent.get();
    auto e = std::find_if(gt.frames.begin(), gt.frames.end(),
                          [from](const Encoded& x) { return x.from == from; });
    if (e == gt.frames.end()) {
      gt.frames.push_back({from, std::make_shared<const std::string>(
                                     EncodeLiveFrame(from, *gt.state, g.seq, unix_ms))});
      e = gt.frames.end() - 1;
    }
    const size_t bytes = e->frame->size();
    if (c.conn->SendShared(e->frame)) {
      frames_sent_.fetch_add(1, std::memory_order_relaxed);
      frame_bytes_.fetch_add(bytes, std::memory_order_relaxed);
      c.sent = gt.state;
    } else {
      // The delta was lost (queue full or closing): the next frame must be full.
      frames_coalesced_.fetch_add(1, std::memory_order_relaxed);
      c.sent.reset();
    }
  }
}

void LiveFeed::Start() {
  strobe::MutexLock lock(mu_);
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void LiveFeed::Stop() {
  {
    strobe::MutexLock lock(mu_);
    stop_ = true;
    cv_.NotifyAll();
  }
  if (thread_.joinable()) thread_.join();
}

void LiveFeed::Run() {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    {
      strobe::MutexLock lock(mu_);
      const uint64_t now = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
      uint64_t next = now + 100'000'000;  // idle: look again in 100 ms
      for (const auto& [key, c] : clients_) {
        if (c.subscribed) next = std::min(next, std::max(c.next_due_ns, now));
      }
      if (next > now) {
        cv_.WaitUntil(mu_, Clock::time_point(Clock::duration(next)));
      }
      if (stop_) return;
    }
    const auto now = Clock::now();
    Tick(static_cast<uint64_t>(now.time_since_epoch().count()),
         static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count()));
  }
}

LiveFeed::Stats LiveFeed::stats() const {
  Stats s;
  {
    strobe::MutexLock lock(mu_);
    s.clients = clients_.size();
  }
  s.frames_sent = frames_sent_.load(std::memory_order_relaxed);
  s.frames_coalesced = frames_coalesced_.load(std::memory_order_relaxed);
  s.frame_bytes = frame_bytes_.load(std::memory_order_relaxed);
  s.rejected_auth = rejected_auth_.load(std::memory_order_relaxed);
  s.rejected_bad_request = rejected_bad_request_.load(std::memory_order_relaxed);
  s.rejected_full = rejected_full_.load(std::memory_order_relaxed);
  return s;
}

strobe::Status LiveFeed::RegisterMetrics(strobe::metrics::Registry& r) {
  using strobe::metrics::CallbackSink;
  using strobe::metrics::CallbackType;
  STROBE_RETURN_IF_ERROR(r.AddCallbackGauge(
      {"strobe_live_clients", "Open WebSocket connections of the live feed (/api/v1/live)", ""},
      [this] { return static_cast<double>(stats().clients); }));
  STROBE_RETURN_IF_ERROR(r.AddCallbackFamily(
      {"strobe_live_frames",
       "Live-feed frames by result: sent, or coalesced (skipped because the client had not "
       "read the previous ones; its next frame carries the changes)",
       ""},
      CallbackType::kCounter, {"result"}, [this](CallbackSink& s) {
        s.Emit({"sent"}, static_cast<double>(frames_sent_.load(std::memory_order_relaxed)));
        s.Emit({"coalesced"},
               static_cast<double>(frames_coalesced_.load(std::memory_order_relaxed)));
      }));
  STROBE_RETURN_IF_ERROR(r.AddCallbackFamily(
      {"strobe_live_frame_bytes", "Bytes of live-feed frames sent", "bytes"},
      CallbackType::kCounter, {}, [this](CallbackSink& s) {
        s.Emit(std::span<const std::string_view>(),
               static_cast<double>(frame_bytes_.load(std::memory_order_relaxed)));
      }));
  return r.AddCallbackFamily(
      {"strobe_live_rejected", "Live-feed requests refused, by reason", ""}, CallbackType::kCounter,
      {"reason"}, [this](CallbackSink& s) {
        s.Emit({"auth"}, static_cast<double>(rejected_auth_.load(std::memory_order_relaxed)));
        s.Emit({"bad_request"},
               static_cast<double>(rejected_bad_request_.load(std::memory_order_relaxed)));
        s.Emit({"full"}, static_cast<double>(rejected_full_.load(std::memory_order_relaxed)));
      });
}

}  // namespace strobed::service
