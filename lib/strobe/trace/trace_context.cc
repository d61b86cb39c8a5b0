#include "strobe/trace/trace_context.h"

#include <algorithm>

namespace strobe::trace {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/';
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Bad(std::string why) { return InvalidArgument("traceparent: " + why); }

}  // namespace

Result<SpanContext> ParseTraceparent(std::string_view v) {
  if (v.size() < kTraceparentV0Length) {
    return Bad("too short (" + std::to_string(v.size()) + " characters, need 55)");
  }
  if (!IsLowerHex(v[0]) || !IsLowerHex(v[1])) return Bad("version is not 2 lowercase hex digits");
  if (v[0] == 'f' && v[1] == 'f') return Bad("version ff is forbidden");
  bool v0 = v[0] == '0' && v[1] == '0';
  if (v0 && v.size() != kTraceparentV0Length) {
    return Bad("version 00 must be exactly 55 characters");
  }
  if (!v0 && v.size() > kTraceparentV0Length && v[kTraceparentV0Length] != '-') {
    return Bad("data after the flags of a future version must start with '-'");
  }
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return Bad("fields must be separated by '-'");
  SpanContext ctx;
  ctx.remote = true;
  if (!DecodeHex(v.substr(3, 32), ctx.trace_id.bytes.data(), 16, true)) {
    return Bad("trace-id is not 32 lowercase hex digits");
  }
  if (!ctx.trace_id.valid()) return Bad("trace-id is all zeros");
  if (!DecodeHex(v.substr(36, 16), ctx.span_id.bytes.data(), 8, true)) {
    return Bad("parent-id is not 16 lowercase hex digits");
  }
  if (!ctx.span_id.valid()) return Bad("parent-id is all zeros");
  uint8_t flags = 0;
  if (!DecodeHex(v.substr(53, 2), &flags, 1, true)) {
    return Bad("trace-flags is not 2 lowercase hex digits");
  }
  // Future versions may define more flags; only the sampled bit is known here.
  ctx.trace_flags = v0 ? flags : static_cast<uint8_t>(flags & kTraceFlagSampled);
  return ctx;
}

std::string FormatTraceparent(const SpanContext& ctx) {
  std::string s(kTraceparentV0Length, '-');
  s[0] = '0';
  s[1] = '0';
  ctx.trace_id.ToHex(s.data() + 3);
  ctx.span_id.ToHex(s.data() + 36);
  EncodeHex(&ctx.trace_flags, 1, s.data() + 53);
  return s;
}

bool TraceState::ValidKey(std::string_view key) noexcept {
  if (key.empty()) return false;
  size_t at = key.find('@');
  if (at == std::string_view::npos) {
    // simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
    if (key.size() > 256 || key[0] < 'a' || key[0] > 'z') return false;
    return std::all_of(key.begin(), key.end(), IsKeyChar);
  }
  // multi-tenant-key = tenant-id "@" system-id
  std::string_view tenant = key.substr(0, at);
  std::string_view system = key.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241 || system.empty() || system.size() > 14) return false;
  char t0 = tenant[0];
  if (!((t0 >= 'a' && t0 <= 'z') || (t0 >= '0' && t0 <= '9'))) return false;
  if (system[0] < 'a' || system[0] > 'z') return false;
  return std::all_of(tenant.begin(), tenant.end(), IsKeyChar) &&
         std::all_of(system.begin(), system.end(), IsKeyChar);
}

bool TraceState::ValidValue(std::string_view value) noexcept {
  // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; });
}

Result<TraceState> TraceState::Parse(std::string_view value) {
  TraceState ts;
  while (true) {
    size_t comma = value.find(',');
    std::string_view member = TrimOws(value.substr(0, comma));
    if (!member.empty()) {
      size_t eq = member.find('=');
      if (eq == std::string_view::npos) {
        return InvalidArgument("tracestate: member without '=': " + std::string(member));
      }
      std::string_view k = member.substr(0, eq);
      std::string_view val = member.substr(eq + 1);
      if (!ValidKey(k)) return InvalidArgument("tracestate: invalid key '" + std::string(k) + "'");
      if (!ValidValue(val)) {
        return InvalidArgument("tracestate: invalid value for key '" + std::string(k) + "'");
      }
      if (!ts.Get(k).empty()) {
        return InvalidArgument("tracestate: duplicate key '" + std::string(k) + "'");
      }
      if (ts.entries_.size() == kMaxTracestateMembers) {
        return InvalidArgument("tracestate: more than 32 members");
      }
      ts.entries_.emplace_back(std::string(k), std::string(val));
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return ts;
}

std::string_view TraceState::Get(std::string_view key) const noexcept {
  for (const auto& [k, v] : entries_) {
    if (k == key) return v;
  }
  return {};
}

Status TraceState::Set(std::string_view key, std::string_view value) {
  if (!ValidKey(key)) return InvalidArgument("tracestate: invalid key '" + std::string(key) + "'");
  if (!ValidValue(value)) return InvalidArgument("tracestate: invalid value");
  Erase(key);
  entries_.insert(entries_.begin(), {std::string(key), std::string(value)});
  if (entries_.size() > kMaxTracestateMembers) entries_.pop_back();
  return OkStatus();
}

void TraceState::Erase(std::string_view key) {
  std::erase_if(entries_, [&](const auto& e) { return e.first == key; });
}

std::string TraceState::ToHeader() const {
  std::string out;
  for (const auto& [k, v] : entries_) {
    if (!out.empty()) out += ',';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

Result<RemoteContext> Extract(const TextMapCarrier& carrier) {
  std::string_view tp = carrier.Get(kTraceparentHeader);
  if (tp.empty()) return NotFound("no traceparent");
  STROBE_ASSIGN_OR_RETURN(SpanContext ctx, ParseTraceparent(tp));
  RemoteContext rc;
  rc.context = ctx;
  std::string_view ts = carrier.Get(kTracestateHeader);
  if (!ts.empty()) {
    Result<TraceState> parsed = TraceState::Parse(ts);
    if (parsed.ok()) rc.state = std::move(parsed).value();
  }
  return rc;
}

void Inject(const SpanContext& context, const TraceState& state, TextMapCarrier& carrier) {
  if (!context.valid()) return;
  carrier.Set(kTraceparentHeader, FormatTraceparent(context));
  if (!state.empty()) carrier.Set(kTracestateHeader, state.ToHeader());
}

}  // namespace strobe::trace
