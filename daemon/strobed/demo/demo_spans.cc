#include "strobed/demo/demo_spans.h"

#include <optional>
#include <string>

#include "strobed/event/attribute.h"
#include "strobed/event/resource.h"
#include "strobed/event/span.h"
#include "strobed/receivers/memory/memory.h"

namespace strobed::demo {
namespace {

// A derived span id for the client span of a request (the server span keeps the record's).
uint64_t ClientSpanId(uint64_t server_span_id) {
  uint64_t x = server_span_id ^ 0x9e3779b97f4a7c15ull;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return x == 0 ? 1 : x;
}

}  // namespace

DemoSpanFeeder::DemoSpanFeeder(std::function<receivers::MemoryReceiver*()> receiver,
                               event::KeyTable& keys)
    : lookup_(std::move(receiver)), keys_(keys) {}

const event::Resource* DemoSpanFeeder::ResourceFor(const ServiceModel* service) {
  for (const auto& [model, resource] : resources_) {
    if (model == service) return resource;
  }
  event::Arena& arena = batch_->arena();
  auto key = keys_.Intern("service.name");
  auto* attrs = arena.AllocateArray<event::Attribute>(1);
  auto* resource = arena.AllocateArray<event::Resource>(1);
  if (attrs == nullptr || resource == nullptr) return nullptr;
  *resource = event::Resource();
  if (key) {
    attrs[0] = {*key, event::Value::String(arena.CopyString(service->name))};
    resource->attributes = {attrs, 1};
  }
  resources_.emplace_back(service, resource);
  return resource;
}

void DemoSpanFeeder::Add(const RequestRecord& r) {
  if (receiver_ == nullptr) receiver_ = lookup_();
  if (receiver_ == nullptr) {
    dropped_.fetch_add(r.service->name == "frontend" ? 1 : 2, std::memory_order_relaxed);
    return;
  }
  if (!batch_) {
    batch_ = receiver_->pool().Acquire();
    resources_.clear();
    batch_spans_ = 0;
  }
  event::Arena& arena = batch_->arena();
  const event::TraceId trace = event::TraceId::FromHalves(r.trace_id_hi, r.trace_id_lo);
  const event::StatusCode status = r.error ? event::StatusCode::kError : event::StatusCode::kUnset;
  const bool called = r.service->name != "frontend";

  // The callee's (or the frontend's own) server span.
  std::optional<event::KeyId> k_method = keys_.Intern("http.request.method");
  std::optional<event::KeyId> k_route = keys_.Intern("http.route");
  std::optional<event::KeyId> k_code = keys_.Intern("http.response.status_code");
  std::optional<event::KeyId> k_peer = keys_.Intern("peer.service");
  const uint64_t client_id = ClientSpanId(r.span_id);
  event::Span& server = batch_->AddSpan();
  server.trace_id = trace;
  if (called) server.parent_span_id = event::SpanId::FromValue(client_id);
  server.span_id = event::SpanId::FromValue(r.span_id == 0 ? 1 : r.span_id);
  server.name = arena.CopyString(r.endpoint->name);
  server.kind = event::SpanKind::kServer;
  // A called service's span sits inside the frontend's call, which ends when the request
  // completed (r.end_unix_ns, never in the future); the frontend's own span is the request.
  const uint64_t pad_ns = called ? 100'000 + (r.span_id % 400'000) : 0;
  server.end_ns = r.end_unix_ns - pad_ns;
  server.start_ns = server.end_ns - r.duration_ns;
  server.status.code = status;
  server.resource = ResourceFor(r.service);
  if (auto* a = arena.AllocateArray<event::Attribute>(3); a != nullptr) {
    size_t n = 0;
    if (k_method) a[n++] = {*k_method, event::Value::String(arena.CopyString(r.endpoint->method))};
    if (k_route) a[n++] = {*k_route, event::Value::String(arena.CopyString(r.endpoint->route))};
    if (k_code) a[n++] = {*k_code, event::Value::Int(r.status)};
    server.attributes = {a, n};
  }
  ++batch_spans_;

  if (called) {
    // The frontend's call: starts a little earlier and ends a little later than the callee.
    const uint64_t server_start_ns = r.end_unix_ns - pad_ns - r.duration_ns;
    event::Span& client = batch_->AddSpan();  // `server` may move: not used below
    client.trace_id = trace;
    client.span_id = event::SpanId::FromValue(client_id);
    client.name = arena.CopyString("call " + r.service->name);
    client.kind = event::SpanKind::kClient;
    client.start_ns = server_start_ns > pad_ns ? server_start_ns - pad_ns : 0;
    client.end_ns = r.end_unix_ns;
    client.status.code = status;
    static const ServiceModel kFrontend{"frontend", {}, 1, 0, 0, 0};  // only its name is used
    client.resource = ResourceFor(&kFrontend);
    if (auto* a = arena.AllocateArray<event::Attribute>(2); a != nullptr) {
      size_t n = 0;
      if (k_peer) a[n++] = {*k_peer, event::Value::String(arena.CopyString(r.service->name))};
      if (k_method) {
        a[n++] = {*k_method, event::Value::String(arena.CopyString(r.endpoint->method))};
      }
      client.attributes = {a, n};
    }
    ++batch_spans_;
  }
  if (batch_spans_ >= 1000) Flush();
}

void DemoSpanFeeder::Flush() {
  if (!batch_ || receiver_ == nullptr) return;
  const size_t n = batch_spans_;
  pipeline::PushResult result = receiver_->Push(std::move(batch_));
  batch_.reset();
  batch_spans_ = 0;
  resources_.clear();
  if (result.accepted()) {
    pushed_.fetch_add(n, std::memory_order_relaxed);
  } else {
    dropped_.fetch_add(n, std::memory_order_relaxed);
  }
}

}  // namespace strobed::demo
