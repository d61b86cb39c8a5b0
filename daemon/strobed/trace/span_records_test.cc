#include "strobed/trace/span_records.h"

#include <gtest/gtest.h>

#include <vector>

#include "strobe/trace/span_buffer.h"
#include "strobe/trace/tracer.h"
#include "strobed/trace/trace_analysis.h"

namespace strobed::trace {
namespace {

TEST(SpanRecordsTest, SpansFromTheCppApiBecomePipelineEvents) {
  strobe::trace::SpanBuffer buffer;
  strobe::trace::SeededIdGenerator ids(11);
  strobe::trace::TracerOptions opts;
  opts.ids = &ids;
  strobe::trace::Tracer tracer(buffer, opts);
  {
    strobe::trace::Span root(tracer, "GET /", strobe::trace::SpanKind::kServer);
    root.SetAttribute("http.status_code", 500);
    root.SetAttribute("ok", false);
    root.SetStatus(strobe::trace::SpanStatus::kError, "boom");
    root.RecordException("E", "bad");
    strobe::trace::Span child(tracer, "db", strobe::trace::SpanKind::kClient);
    child.SetAttribute("db.system", "sqlite");
    child.SetAttribute("ratio", 0.5);
  }
  event::Batch batch(nullptr, 4096, 1 << 20);
  event::KeyTable& keys = event::KeyTable::Global();
  EXPECT_EQ(
      buffer.Drain([&](const strobe::trace::SpanRecord& r) { AppendSpanRecord(r, batch, keys); }),
      2u);
  ASSERT_EQ(batch.spans().size(), 2u);
  const event::Span& child = batch.spans()[0];
  const event::Span& root = batch.spans()[1];
  EXPECT_EQ(child.parent_span_id, root.span_id);
  EXPECT_EQ(child.trace_id, root.trace_id);
  EXPECT_TRUE(root.IsRoot());
  EXPECT_EQ(root.name, "GET /");
  EXPECT_EQ(root.kind, event::SpanKind::kServer);
  EXPECT_EQ(root.status.code, event::StatusCode::kError);
  EXPECT_EQ(root.status.message, "boom");
  ASSERT_EQ(root.events.size(), 1u);
  EXPECT_EQ(root.events[0].name, "exception");
  EXPECT_EQ(root.events[0].attributes.size(), 2u);
  StoredSpan stored = StoreSpan(root, keys);
  ASSERT_EQ(stored.attributes.size(), 2u);
  EXPECT_EQ(stored.attributes[0], (std::pair<std::string, std::string>{"http.status_code", "500"}));
  EXPECT_EQ(stored.attributes[1], (std::pair<std::string, std::string>{"ok", "false"}));
  StoredSpan c = StoreSpan(child, keys);
  EXPECT_EQ(c.attributes[0].second, "sqlite");
  EXPECT_LE(root.start_ns, child.start_ns);
  EXPECT_GE(root.end_ns, child.end_ns);
}

}  // namespace
}  // namespace strobed::trace
