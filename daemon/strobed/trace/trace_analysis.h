#pragma once

// Analysis of one assembled trace: the span tree, self time per span, the critical path and
// the latency breakdown by service and operation, and the service-to-service calls it holds.
//
// Definitions (all times in nanoseconds, every child interval clipped to its parent's):
//   self time      a span's duration minus the union of its children's intervals — the time
//                  in which the span itself, not a child, was running.
//   critical path  the chain of spans that determines the trace's end-to-end latency. Walking
//                  back from the root's end: the child that finished last (among those that
//                  started before the cursor) is on the path, recursively; the cursor then
//                  jumps to that child's start and the search continues among the children
//                  that started earlier. Overlapping children are therefore not counted twice:
//                  a concurrent child only contributes the part not hidden behind the later
//                  one. Gaps where no child runs belong to the parent. The contributions sum to
//                  the root's duration.
//   missing parent a span whose parent_span_id is set but not in the trace: it is analysed as
//                  the root of its own subtree and flagged; the trace is marked incomplete.
//   service call   a parent→child span pair whose services differ: an edge caller → callee
//                  with the child's duration as latency and the child's error status.
//
// Thread class: pure functions over values; thread-safe.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "strobed/event/span.h"

namespace strobed::trace {

// A span as the trace store keeps it: copied out of the pipeline batch (owns its strings).
struct StoredSpan {
  event::TraceId trace_id;
  event::SpanId span_id;
  event::SpanId parent_span_id;
  std::string name;
  std::string service;  // resource service.name, "unknown_service" when absent
  event::SpanKind kind = event::SpanKind::kUnspecified;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  event::StatusCode status = event::StatusCode::kUnset;
  std::string status_message;
  std::vector<std::pair<std::string, std::string>> attributes;  // rendered values

  uint64_t DurationNs() const { return end_ns > start_ns ? end_ns - start_ns : 0; }
  bool HasParent() const { return parent_span_id.IsValid(); }
  // Approximate heap + inline bytes, for the store's memory bound.
  size_t Bytes() const;
};

// Copies `span` (resolving attribute keys through `keys`).
StoredSpan StoreSpan(const event::Span& span, const event::KeyTable& keys);

struct CriticalSegment {
  size_t span;               // index into AnalyzedTrace::spans
  uint64_t contribution_ns;  // time this span itself is on the critical path
};

struct Breakdown {
  std::string service;
  std::string operation;
  uint64_t spans = 0;
  uint64_t self_ns = 0;
  uint64_t critical_ns = 0;
  uint64_t errors = 0;
};

struct ServiceCall {
  std::string caller;
  std::string callee;
  uint64_t latency_ns = 0;
  bool error = false;
};

struct AnalyzedTrace {
  event::TraceId trace_id;
  std::vector<StoredSpan> spans;  // sorted by start time
  std::vector<int64_t> parent;    // index of the parent in `spans`, -1 for roots/orphans
  std::vector<bool> missing_parent;
  std::vector<uint64_t> self_ns;
  size_t root = 0;       // the root span (the earliest-starting span without parent, else span 0)
  bool complete = true;  // a real root and no missing parents
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t duration_ns = 0;  // of the root
  uint64_t error_spans = 0;
  std::vector<CriticalSegment> critical_path;  // in path order, from the root down
  std::vector<Breakdown> breakdown;            // by (service, operation), sorted
  std::vector<ServiceCall> calls;
};

// Analyses the spans of one trace (any order; duplicates by span id keep the first).
AnalyzedTrace Analyze(std::vector<StoredSpan> spans);

}  // namespace strobed::trace
