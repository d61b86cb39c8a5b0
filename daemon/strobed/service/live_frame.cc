#include "strobed/service/live_frame.h"

#include "strobed/base/json.h"

namespace strobed::service {
namespace {

void AppendQuotedKey(const std::string& k, std::string& out) {
  out += '"';
  base::AppendJsonEscaped(k, out);
  out += '"';
}

}  // namespace

std::string EncodeLiveFrame(const LiveState* from, const LiveState& to, uint64_t seq,
                            uint64_t t_ms) {
  static const LiveState kEmpty;
  const LiveState& sent = from ? *from : kEmpty;
  std::string out;
  out.reserve(64 + (from ? 0 : to.size() * 48));
  out += "{\"type\":\"frame\",\"seq\":";
  out += std::to_string(seq);
  out += ",\"t\":";
  out += std::to_string(t_ms);
  if (!from) out += ",\"full\":true";
  // One merge pass over both sorted maps: keys only in `to` or with a new value go to "set"
  // (written straight into `out`), keys only in `sent` to "del" (appended after).
  std::string del;
  bool any_set = false;
  auto a = sent.begin();
  auto b = to.begin();
  auto add_set = [&out, &any_set](const std::string& k, const std::string& v) {
    out += any_set ? "," : ",\"set\":{";
    any_set = true;
    AppendQuotedKey(k, out);
    out += ':';
    out += v;
  };
  while (a != sent.end() || b != to.end()) {
    if (b == to.end() || (a != sent.end() && a->first < b->first)) {
      del += del.empty() ? ",\"del\":[" : ",";
      AppendQuotedKey(a->first, del);
      ++a;
    } else if (a == sent.end() || b->first < a->first) {
      add_set(b->first, b->second);
      ++b;
    } else {
      if (a->second != b->second) add_set(b->first, b->second);
      ++a;
      ++b;
    }
  }
  if (any_set) out += '}';
  if (!del.empty()) {
    out += del;
    out += ']';
  }
  out += '}';
  return out;
}

void LiveClientState::Reset() {
  sent_.clear();
  full_ = true;
}

std::string LiveClientState::Frame(const LiveState& current, uint64_t t_ms) {
  std::string out = EncodeLiveFrame(full_ ? nullptr : &sent_, current, ++seq_, t_ms);
  sent_ = current;
  full_ = false;
  return out;
}

}  // namespace strobed::service
