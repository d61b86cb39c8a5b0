#include "strobed/service/live_frame.h"

#include "strobed/base/json.h"

namespace strobed::service {

void LiveClientState::Reset() {
  sent_.clear();
  full_ = true;
}

std::string LiveClientState::Frame(const LiveState& current, uint64_t t_ms) {
  std::string out = "{\"type\":\"frame\",\"seq\":";
  out += std::to_string(++seq_);
  out += ",\"t\":";
  out += std::to_string(t_ms);
  if (full_) out += ",\"full\":true";
  // One merge pass over both sorted maps: keys only in `current` or with a new value go to
  // "set", keys only in sent_ to "del".
  std::string set, del;
  auto a = sent_.begin();
  auto b = current.begin();
  auto add_set = [&set](const std::string& k, const std::string& v) {
    set += set.empty() ? "{" : ",";
    set += '"';
    base::AppendJsonEscaped(k, set);
    set += "\":";
    set += v;
  };
  while (a != sent_.end() || b != current.end()) {
    if (b == current.end() || (a != sent_.end() && a->first < b->first)) {
      del += del.empty() ? "[" : ",";
      del += '"';
      base::AppendJsonEscaped(a->first, del);
      del += '"';
      ++a;
    } else if (a == sent_.end() || b->first < a->first) {
      add_set(b->first, b->second);
      ++b;
    } else {
      if (a->second != b->second) add_set(b->first, b->second);
      ++a;
      ++b;
    }
  }
  if (!set.empty()) out += ",\"set\":" + set + "}";
  if (!del.empty() && !full_) out += ",\"del\":" + del + "]";
  out += '}';
  sent_ = current;
  full_ = false;
  return out;
}

}  // namespace strobed::service
