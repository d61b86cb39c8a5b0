#include "strobed/trace/trace_analysis.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace strobed::trace {
namespace {

struct IdHash {
  size_t operator()(const event::SpanId& id) const { return std::hash<uint64_t>()(id.Value()); }
};

// The union length of intervals clipped to [lo, hi].
uint64_t UnionLength(std::vector<std::pair<uint64_t, uint64_t>>& iv, uint64_t lo, uint64_t hi) {
  std::sort(iv.begin(), iv.end());
  uint64_t total = 0;
  uint64_t cur_s = 0, cur_e = 0;
  bool open = false;
  for (auto [s, e] : iv) {
    s = std::max(s, lo);
    e = std::min(e, hi);
    if (e <= s) continue;
    if (!open || s > cur_e) {
      if (open) total += cur_e - cur_s;
      cur_s = s;
      cur_e = e;
      open = true;
    } else {
      cur_e = std::max(cur_e, e);
    }
  }
  if (open) total += cur_e - cur_s;
  return total;
}

void RenderValue(const event::Value& v, const event::KeyTable& keys, std::string& out);

}  // namespace

size_t StoredSpan::Bytes() const {
  size_t b = sizeof(StoredSpan) + name.size() + service.size() + status_message.size();
  for (const auto& [k, v] : attributes) b += sizeof(attributes[0]) + k.size() + v.size();
  return b;
}

namespace {
void RenderValue(const event::Value& v, const event::KeyTable& keys, std::string& out) {
  switch (v.type()) {
    case event::ValueType::kString:
      out.append(v.AsString());
      return;
    case event::ValueType::kKvList:
      out += '{';
      for (size_t i = 0; i < v.AsKvList().size(); ++i) {
        if (i > 0) out += ", ";
        out.append(keys.Name(v.AsKvList()[i].key));
        out += '=';
        RenderValue(v.AsKvList()[i].value, keys, out);
      }
      out += '}';
      return;
    default:
      out += v.ToString();
  }
}
}  // namespace

StoredSpan StoreSpan(const event::Span& span, const event::KeyTable& keys) {
  StoredSpan s;
  s.trace_id = span.trace_id;
  s.span_id = span.span_id;
  s.parent_span_id = span.parent_span_id;
  s.name = std::string(span.name);
  s.kind = span.kind;
  s.start_ns = span.start_ns;
  s.end_ns = span.end_ns;
  s.status = span.status.code;
  s.status_message = std::string(span.status.message);
  s.service = "unknown_service";
  if (span.resource != nullptr) {
    const event::Value* svc =
        event::FindAttribute(span.resource->attributes, event::keys::kServiceName);
    if (svc != nullptr && svc->type() == event::ValueType::kString) {
      s.service = std::string(svc->AsString());
    }
  }
  s.attributes.reserve(span.attributes.size());
  for (const event::Attribute& a : span.attributes) {
    std::string v;
    RenderValue(a.value, keys, v);
    s.attributes.emplace_back(std::string(keys.Name(a.key)), std::move(v));
  }
  return s;
}

AnalyzedTrace Analyze(std::vector<StoredSpan> spans) {
  AnalyzedTrace t;
  std::stable_sort(spans.begin(), spans.end(), [](const StoredSpan& a, const StoredSpan& b) {
    return a.start_ns < b.start_ns;
  });
  // Drop duplicate span ids (a retried export), keeping the first.
  std::unordered_map<event::SpanId, size_t, IdHash> index;
  for (StoredSpan& s : spans) {
    if (index.emplace(s.span_id, t.spans.size()).second) t.spans.push_back(std::move(s));
  }
  size_t n = t.spans.size();
  if (n == 0) return t;
  t.trace_id = t.spans[0].trace_id;
  t.parent.assign(n, -1);
  t.missing_parent.assign(n, false);
  t.self_ns.assign(n, 0);
  std::vector<std::vector<size_t>> children(n);
  bool have_root = false;
  for (size_t i = 0; i < n; ++i) {
    const StoredSpan& s = t.spans[i];
    if (s.status == event::StatusCode::kError) ++t.error_spans;
    if (!s.HasParent()) {
      if (!have_root) {
        t.root = i;
        have_root = true;
      }
      continue;
    }
    auto it = index.find(s.parent_span_id);
    if (it == index.end() || it->second == i) {
      t.missing_parent[i] = true;
      t.complete = false;
      continue;
    }
    t.parent[i] = static_cast<int64_t>(it->second);
    children[it->second].push_back(i);
  }
  if (!have_root) t.complete = false;  // root = span 0, the earliest

  // Self time: own interval minus the union of the children's (clipped) intervals.
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::pair<uint64_t, uint64_t>> iv;
    for (size_t c : children[i]) iv.emplace_back(t.spans[c].start_ns, t.spans[c].end_ns);
    uint64_t covered = UnionLength(iv, t.spans[i].start_ns, t.spans[i].end_ns);
    t.self_ns[i] = t.spans[i].DurationNs() - std::min(covered, t.spans[i].DurationNs());
  }

  const StoredSpan& root = t.spans[t.root];
  t.start_ns = root.start_ns;
  t.end_ns = root.end_ns;
  for (const StoredSpan& s : t.spans) {
    t.start_ns = std::min(t.start_ns, s.start_ns);
    t.end_ns = std::max(t.end_ns, s.end_ns);
  }
  t.duration_ns = root.DurationNs();

  // Critical path: iterative walk with an explicit stack of (span, window end). Each frame
  // emits the parent's segments between critical children, as described in the header.
  std::vector<uint64_t> critical(n, 0);
  std::vector<size_t> order;  // path order of first appearance
  struct Frame {
    size_t span;
    uint64_t lo;               // clip: the span's own start (or its parent's window start)
    uint64_t cursor;           // walking backwards from here
    std::vector<size_t> kids;  // children sorted by end, descending
    size_t next = 0;
  };
  auto make_frame = [&](size_t span, uint64_t lo, uint64_t hi) {
    Frame f;
    f.span = span;
    f.lo = std::max(lo, t.spans[span].start_ns);
    f.cursor = std::min(hi, t.spans[span].end_ns);
    if (f.cursor < f.lo) f.cursor = f.lo;
    f.kids = children[span];
    std::sort(f.kids.begin(), f.kids.end(),
              [&](size_t a, size_t b) { return t.spans[a].end_ns > t.spans[b].end_ns; });
    return f;
  };
  std::vector<Frame> stack;
  stack.push_back(make_frame(t.root, t.spans[t.root].start_ns, t.spans[t.root].end_ns));
  order.push_back(t.root);
  while (!stack.empty()) {
    Frame& f = stack.back();
    bool descended = false;
    while (f.next < f.kids.size()) {
      size_t c = f.kids[f.next++];
      const StoredSpan& cs = t.spans[c];
      uint64_t c_start = std::max(cs.start_ns, f.lo);
      if (c_start >= f.cursor) continue;  // starts after the cursor: hidden, not critical
      uint64_t c_end = std::min(cs.end_ns, f.cursor);
      critical[f.span] += f.cursor - c_end;  // the parent alone until the cursor
      f.cursor = c_start;
      order.push_back(c);
      Frame child = make_frame(c, c_start, c_end);
      stack.push_back(std::move(child));
      descended = true;
      break;
    }
    if (descended) continue;
    critical[f.span] += f.cursor - f.lo;
    stack.pop_back();
  }
  for (size_t i : order) t.critical_path.push_back({i, critical[i]});

  // Breakdown by (service, operation).
  std::map<std::pair<std::string, std::string>, Breakdown> by_op;
  for (size_t i = 0; i < n; ++i) {
    const StoredSpan& s = t.spans[i];
    Breakdown& b = by_op[{s.service, s.name}];
    b.service = s.service;
    b.operation = s.name;
    ++b.spans;
    b.self_ns += t.self_ns[i];
    b.critical_ns += critical[i];
    if (s.status == event::StatusCode::kError) ++b.errors;
  }
  for (auto& [k, b] : by_op) t.breakdown.push_back(std::move(b));

  // Service calls: parent → child across services.
  for (size_t i = 0; i < n; ++i) {
    if (t.parent[i] < 0) continue;
    const StoredSpan& p = t.spans[static_cast<size_t>(t.parent[i])];
    const StoredSpan& c = t.spans[i];
    if (p.service == c.service) continue;
    t.calls.push_back(
        {p.service, c.service, c.DurationNs(), c.status == event::StatusCode::kError});
  }
  return t;
}

}  // namespace strobed::trace
