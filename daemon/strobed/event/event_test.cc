#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "strobed/event/arena.h"
#include "strobed/event/attribute.h"
#include "strobed/event/batch.h"
#include "strobed/event/key_quota.h"
#include "strobed/event/span.h"

namespace strobed::event {
namespace {

TEST(ArenaTest, AllocatesAlignedAndReusesChunksAfterReset) {
  Arena arena(256, 1 << 20);
  EXPECT_EQ(arena.reserved_bytes(), 0u);  // lazy
  for (int i = 0; i < 1000; ++i) {
    void* p = arena.Allocate(24, 8);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
    std::memset(p, 0xab, 24);
  }
  auto* d = arena.AllocateArray<double>(3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(d) % alignof(double), 0u);
  std::size_t reserved = arena.reserved_bytes();
  EXPECT_GE(reserved, 24000u);
  EXPECT_EQ(arena.used_bytes(), 24000u + 24u);
  arena.Reset();
  EXPECT_EQ(arena.used_bytes(), 0u);
  EXPECT_EQ(arena.reserved_bytes(), reserved);  // chunks kept
  for (int i = 0; i < 1000; ++i) arena.Allocate(24, 8);
  EXPECT_EQ(arena.reserved_bytes(), reserved);  // no new chunk needed
}

TEST(ArenaTest, ResetFreesChunksBeyondTheRetentionBudget) {
  Arena arena(1024, 4096);
  for (int i = 0; i < 100; ++i) arena.Allocate(1000, 8);
  EXPECT_GT(arena.reserved_bytes(), 4096u);
  arena.Reset();
  EXPECT_LE(arena.reserved_bytes(), 4096u);
  EXPECT_EQ(arena.CopyString("hello"), "hello");
}

TEST(ArenaTest, LargeAllocationsGetTheirOwnChunk) {
  Arena arena(256, 1 << 20);
  char* big = arena.AllocateArray<char>(100000);
  std::memset(big, 1, 100000);
  EXPECT_GE(arena.reserved_bytes(), 100000u);
  EXPECT_EQ(arena.CopyString(""), "");
}

TEST(KeyTableTest, InternsDenseIdsAndFindsThem) {
  KeyTable t(8, 16);
  auto a = t.Intern("http.method");
  auto b = t.Intern("http.route");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->index, 0u);
  EXPECT_EQ(b->index, 1u);
  EXPECT_EQ(t.Intern("http.method")->index, 0u);
  EXPECT_EQ(t.Name(*b), "http.route");
  EXPECT_EQ(t.Find("http.route")->index, 1u);
  EXPECT_FALSE(t.Find("nope").has_value());
  EXPECT_FALSE(t.Intern("this.key.is.longer.than.16").has_value());
  EXPECT_EQ(t.rejected(), 1u);
}

TEST(KeyTableTest, FullTableRefusesAndCounts) {
  KeyTable t(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(t.Intern("k" + std::to_string(i)).has_value());
  EXPECT_FALSE(t.Intern("k4").has_value());
  EXPECT_EQ(t.rejected(), 1u);
  EXPECT_EQ(t.Intern("k2")->index, 2u);  // known keys still resolve
  EXPECT_EQ(t.size(), 4u);
}

TEST(KeyTableTest, RequestBudgetLimitsNewKeysButNeverKnownOnes) {
  KeyTable t(100);
  ASSERT_TRUE(t.Intern("known").has_value());
  KeyBudget b;
  b.max_new_keys = 2;
  EXPECT_TRUE(t.Intern("a", b).has_value());
  EXPECT_TRUE(t.Intern("b", b).has_value());
  EXPECT_FALSE(t.Intern("c", b).has_value());
  EXPECT_EQ(t.Intern("known", b)->index, 0u);  // known keys are free
  EXPECT_EQ(t.Intern("a", b)->index, 1u);
  EXPECT_EQ(b.added, 2u);
  EXPECT_EQ(b.refused, 1u);
  EXPECT_EQ(b.refused_by[static_cast<size_t>(KeyRefusal::kRequestLimit)], 1u);
  EXPECT_EQ(b.first_refusal, KeyRefusal::kRequestLimit);
  EXPECT_EQ(t.rejected(KeyRefusal::kRequestLimit), 1u);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.Find("c").has_value());  // a refused key leaves no trace
}

TEST(KeyTableTest, RefusalReasonsAreCountedApart) {
  KeyTable t(2, 8);
  KeyBudget b;
  EXPECT_FALSE(t.Intern("longer.than.8", b).has_value());
  EXPECT_TRUE(t.Intern("x", b).has_value());
  EXPECT_TRUE(t.Intern("y", b).has_value());
  EXPECT_FALSE(t.Intern("z", b).has_value());
  EXPECT_EQ(b.first_refusal, KeyRefusal::kTooLong);
  EXPECT_EQ(b.last_refusal, KeyRefusal::kTableFull);
  EXPECT_EQ(t.rejected(KeyRefusal::kTooLong), 1u);
  EXPECT_EQ(t.rejected(KeyRefusal::kTableFull), 1u);
  EXPECT_EQ(t.rejected(), 2u);
  EXPECT_EQ(KeyRefusalName(KeyRefusal::kTableFull), "key_table_full");
  EXPECT_EQ(KeyRefusalName(KeyRefusal::kSourceLimit), "key_source_limit");
}

TEST(KeyTableTest, SourceQuotaSpansRequestsAndWindows) {
  KeyTable t(1000);
  NewKeyQuota quota(/*keys_per_window=*/3, /*window_ns=*/1000);
  auto request = [&](std::string_view source, uint64_t now) {
    KeyBudget b;
    b.max_new_keys = 2;
    b.quota = &quota;
    b.source = source;
    b.now_ns = now;
    return b;
  };
  KeyBudget r1 = request("10.0.0.1", 0);
  EXPECT_TRUE(t.Intern("a1", r1) && t.Intern("a2", r1));
  KeyBudget r2 = request("10.0.0.1", 10);
  EXPECT_TRUE(t.Intern("a3", r2).has_value());
  EXPECT_FALSE(t.Intern("a4", r2).has_value());  // the source's 3 keys are used
  EXPECT_EQ(r2.last_refusal, KeyRefusal::kSourceLimit);
  EXPECT_TRUE(t.Intern("a1", r2).has_value());  // known keys still resolve
  KeyBudget other = request("10.0.0.2", 10);    // another source is not affected
  EXPECT_TRUE(t.Intern("b1", other).has_value());
  KeyBudget later = request("10.0.0.1", 1000);  // a new window
  EXPECT_TRUE(t.Intern("a4", later).has_value());
  EXPECT_EQ(quota.refused(), 1u);
  EXPECT_EQ(quota.Remaining("10.0.0.1", 1000), 2u);
  EXPECT_EQ(t.rejected(KeyRefusal::kSourceLimit), 1u);
}

TEST(KeyTableTest, RefusedKeysCostTheSourceNothing) {
  KeyTable t(1, 4);
  NewKeyQuota quota(5, 1000);
  KeyBudget b;
  b.quota = &quota;
  b.source = "s";
  EXPECT_FALSE(t.Intern("toolong", b).has_value());
  EXPECT_TRUE(t.Intern("k", b).has_value());
  EXPECT_FALSE(t.Intern("full", b).has_value());
  EXPECT_EQ(quota.Remaining("s", 0), 4u);
}

TEST(NewKeyQuotaTest, ManySourcesShareOneOverflowWindow) {
  NewKeyQuota quota(2, 1000, /*max_sources=*/2);
  EXPECT_TRUE(quota.Take("a", 0));
  EXPECT_TRUE(quota.Take("b", 0));
  EXPECT_TRUE(quota.Take("c", 0));  // the overflow window
  EXPECT_TRUE(quota.Take("d", 0));
  EXPECT_FALSE(quota.Take("e", 0));  // overflow used up: new addresses gain nothing
  EXPECT_EQ(quota.sources(), 2u);
  EXPECT_TRUE(quota.Take("e", 1000));  // expired windows are forgotten first
  EXPECT_EQ(quota.refused(), 1u);
}

TEST(KeyTableTest, WellKnownKeysHaveFixedIds) {
  EXPECT_EQ(KeyTable::Global().Name(keys::kServiceName), "service.name");
  EXPECT_EQ(KeyTable::Global().Name(keys::kSamplingPriority), "sampling.priority");
  // Identity keys the daemon adds itself are in the table before any client can be refused.
  EXPECT_TRUE(KeyTable::Global().Find("process.user.id").has_value());
}

// ---- Reclamation (attribute.h, "Who holds a KeyId") ----------------------------------------

// A free-standing batch of `t` (registered at t's current epoch while it lives).
std::unique_ptr<Batch> BatchOf(KeyTable& t) {
  return std::make_unique<Batch>(nullptr, 256, 4096, &t);
}

TEST(KeyTableReclaimTest, ReclaimsUnusedKeysOnceNoBatchCanHoldThem) {
  KeyTable t(4);
  ASSERT_TRUE(t.Intern("config.key").has_value());  // no budget: permanent
  KeyBudget budget;
  auto b = BatchOf(t);
  const uint32_t e0 = t.epoch();
  EXPECT_EQ(b->key_epoch(), e0);
  auto x = t.Intern("x", budget);
  auto y = t.Intern("y", budget);
  auto z = t.Intern("z", budget);
  ASSERT_TRUE(x && y && z);
  EXPECT_FALSE(t.Intern("w", budget).has_value());  // full
  EXPECT_EQ(t.size(), 4u);

  // While the batch lives nothing it may carry is touched, however many sweeps run.
  for (int i = 0; i < 6; ++i) {
    KeyTable::SweepStats s = t.Sweep();
    EXPECT_EQ(s.unlinked, 0u) << i;
    EXPECT_EQ(s.reclaimed, 0u) << i;
  }
  // The epoch advanced into each empty slot and stopped where the batch's slot comes round.
  EXPECT_EQ(t.epoch(), e0 + KeyTable::kEpochSlots - 1);
  EXPECT_EQ(t.Name(*x), "x");
  b.reset();

  // Batch gone: the first sweep unlinks x, y, z (last looked up at e0, before every live
  // batch) and advances; the next recycles them.
  KeyTable::SweepStats s1 = t.Sweep();
  EXPECT_EQ(s1.unlinked, 3u);
  EXPECT_EQ(s1.reclaimed, 0u);
  EXPECT_EQ(t.Name(*x), "x");  // unlinked, still named until recycled
  EXPECT_EQ(t.size(), 4u);
  KeyTable::SweepStats s2 = t.Sweep();
  EXPECT_EQ(s2.unlinked, 0u);
  EXPECT_EQ(s2.reclaimed, 3u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.reclaimed(), 3u);
  EXPECT_EQ(t.sweeps(), 8u);
  EXPECT_EQ(t.Name(*x), "");  // names nothing now

  // Room again: new keys get the recycled ids; the permanent key kept its id and text.
  KeyBudget more;
  auto w = t.Intern("w", more);
  ASSERT_TRUE(w.has_value());
  EXPECT_LT(w->index, 4u);
  EXPECT_EQ(t.Name(*w), "w");
  EXPECT_EQ(t.Find("config.key")->index, 0u);
  EXPECT_EQ(t.Name(KeyId{0}), "config.key");
  EXPECT_FALSE(t.Find("x").has_value());
}

TEST(KeyTableReclaimTest, KeysLookedUpInTheCurrentEpochStay) {
  KeyTable t(8);
  KeyBudget budget;
  auto a = t.Intern("a", budget);
  auto b = t.Intern("b", budget);
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 5; ++i) {
    auto batch = BatchOf(t);
    EXPECT_EQ(t.Intern("a", budget)->index, a->index);  // used in every epoch
    batch.reset();
    t.Sweep();
  }
  // b (unused since the first epoch) went; a, looked up each epoch, kept its id.
  EXPECT_EQ(t.Find("a")->index, a->index);
  EXPECT_FALSE(t.Find("b").has_value());
  EXPECT_EQ(t.reclaimed(), 1u);
}

TEST(KeyTableReclaimTest, UnlinkedKeyIsNotRecycledWhileABatchOfItsEpochLives) {
  KeyTable t(8);
  KeyBudget budget;
  auto k = t.Intern("k", budget);
  ASSERT_TRUE(k.has_value());
  t.Sweep();  // k was marked in this epoch: kept; the epoch advances
  // A batch registers, and (as a lookup racing with the next sweep could) carries k without
  // marking it.
  auto holder = BatchOf(t);
  const KeyId held = *t.Find("k");
  EXPECT_EQ(held.index, k->index);
  KeyTable::SweepStats s = t.Sweep();
  EXPECT_EQ(s.unlinked, 1u);  // k's mark is older than the oldest live batch
  // Lookups now make a new id for the same text; the held id still names "k".
  auto k2 = t.Intern("k", budget);
  ASSERT_TRUE(k2.has_value());
  EXPECT_NE(k2->index, held.index);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t.Sweep().reclaimed, 0u) << i;
  EXPECT_EQ(t.Name(held), "k");
  holder.reset();
  EXPECT_EQ(t.Sweep().reclaimed, 1u);
  EXPECT_EQ(t.Name(*k2), "k");
}

TEST(KeyTableReclaimTest, PinnedAndConfiguredKeysAreNeverReclaimed) {
  KeyTable t(8);
  KeyBudget budget;
  auto pinned = t.InternPinned("series.label", budget);
  auto later_configured = t.Intern("customer", budget);  // reclaimable ...
  ASSERT_TRUE(pinned && later_configured);
  EXPECT_EQ(budget.added, 2u);
  EXPECT_EQ(t.Intern("customer")->index, later_configured->index);  // ... until configured
  auto oneoff = t.Intern("oneoff", budget);
  ASSERT_TRUE(oneoff.has_value());
  for (int i = 0; i < 6; ++i) t.Sweep();
  EXPECT_EQ(t.reclaimed(), 1u);  // only "oneoff"
  EXPECT_EQ(t.Find("series.label")->index, pinned->index);
  EXPECT_EQ(t.Find("customer")->index, later_configured->index);
  EXPECT_EQ(t.Name(*pinned), "series.label");
  EXPECT_EQ(t.Name(*later_configured), "customer");
}

TEST(KeyTableReclaimTest, CopiesHoldTheSourceBatchsEpoch) {
  KeyTable t(8);
  BatchPool pool({.max_pooled = 4, .keys = &t});
  BatchPtr src = pool.Acquire();
  const uint32_t e0 = src->key_epoch();
  KeyBudget budget;
  Span& s = src->AddSpan();
  auto* attrs = src->arena().AllocateArray<Attribute>(1);
  attrs[0] = {*t.Intern("copied", budget), Value::Int(1)};
  s.attributes = {attrs, 1};
  t.Sweep();
  t.Sweep();
  BatchPtr dst = pool.Acquire();
  EXPECT_EQ(dst->key_epoch(), e0 + 2);
  EventCopier copier(*dst, *src);
  copier.CopySpan(src->spans()[0]);
  EXPECT_EQ(dst->key_epoch(), e0);
  src.reset();  // back to the pool: unregistered
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.Sweep().unlinked, 0u) << i;
  EXPECT_EQ(t.Name(dst->spans()[0].attributes[0].key), "copied");
  dst->Clear();  // re-registered at the current epoch, holds nothing
  EXPECT_EQ(dst->key_epoch(), t.epoch());
  dst.reset();
  t.Sweep();
  t.Sweep();
  EXPECT_EQ(t.reclaimed(), 1u);
}

// Inside a ReadSection of the table (how the OTLP decoders intern: one section per request)
// a lookup takes the nested path, which opens no section of its own; it must still mark the
// key in use and make a configured key permanent, exactly as an outermost lookup does.
TEST(KeyTableReclaimTest, LookupsNestedInASectionMarkAndPinLikeOutermostOnes) {
  KeyTable t(8);
  auto find = [&t](std::string_view k) { return t.Find(k).value_or(KeyId{UINT32_MAX}).index; };
  KeyBudget budget;
  auto used = t.Intern("used", budget);
  auto configured = t.Intern("configured", budget);
  auto idle = t.Intern("idle", budget);
  ASSERT_TRUE(used && configured && idle);
  t.Sweep();  // all three marked in the current epoch: kept; the epoch advances
  {
    KeyTable::ReadSection section(t);
    EXPECT_EQ(t.Intern("used", budget)->index, used->index);      // nested: marks "used"
    EXPECT_EQ(t.Intern("configured")->index, configured->index);  // nested: made permanent
  }
  EXPECT_EQ(budget.added, 3u);        // known keys were not charged again
  EXPECT_EQ(t.Sweep().unlinked, 1u);  // only "idle": not looked up in this epoch
  EXPECT_FALSE(t.Find("idle").has_value());
  EXPECT_EQ(find("used"), used->index);
  for (int i = 0; i < 4; ++i) t.Sweep();
  // "used" went once it was idle for a sweep; "configured" is permanent.
  EXPECT_EQ(t.reclaimed(), 2u);
  EXPECT_FALSE(t.Find("used").has_value());
  EXPECT_EQ(find("configured"), configured->index);
  EXPECT_EQ(t.Name(*configured), "configured");
}

// The index hashes keys eight bytes at a time plus a tail of 1-8 bytes read in overlapping
// words: keys of every length that differ in any one byte (including bytes >= 0x80) are told
// apart, found again by their exact text only, and the hash reads no byte past a key (each
// lookup's text is an exactly sized heap buffer: ASan sees an over-read).
TEST(KeyTableTest, KeysOfEveryLengthDifferingInAnyOneByteAreToldApart) {
  constexpr std::size_t kMaxLen = 40;
  KeyTable t(1024, kMaxLen);
  std::vector<std::string> keys;
  for (std::size_t len = 0; len <= kMaxLen; ++len) {
    keys.emplace_back(len, 'a');
    for (std::size_t pos = 0; pos < len; ++pos) {
      std::string k(len, 'a');
      k[pos] = static_cast<char>(pos % 2 == 0 ? 'b' : 0xe1);
      keys.push_back(k);
    }
  }
  ASSERT_EQ(keys.size(), 41u + 820u);  // one per length, plus one per byte position
  auto lookup = [&](const std::string& k, bool add) {
    std::unique_ptr<char[]> exact(new char[k.size() + (k.empty() ? 1 : 0)]);
    std::memcpy(exact.get(), k.data(), k.size());
    std::string_view v(exact.get(), k.size());
    return add ? t.Intern(v) : t.Find(v);
  };
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto id = lookup(keys[i], true);
    ASSERT_TRUE(id.has_value()) << i;
    EXPECT_EQ(id->index, i);  // new every time: no key was taken for another
  }
  EXPECT_EQ(t.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto id = lookup(keys[i], false);
    ASSERT_TRUE(id.has_value()) << i;
    EXPECT_EQ(id->index, i);
    EXPECT_EQ(t.Name(*id), keys[i]);
  }
  EXPECT_FALSE(t.Find(std::string(kMaxLen, 'c')).has_value());
}

TEST(KeyTableReclaimTest, EntriesOutliveReadSectionsThatBeganBeforeTheSweep) {
  KeyTable t(8);
  {
    KeyBudget budget;
    ASSERT_TRUE(t.Intern("gone", budget).has_value());
  }
  t.Sweep();
  ASSERT_EQ(t.Sweep().unlinked, 1u);  // the next sweep recycles it and frees its entry
  std::promise<void> entered;
  std::promise<void> leave;
  std::shared_future<void> leave_f = leave.get_future().share();
  std::string_view seen;
  std::thread reader([&] {
    KeyTable::ReadSection section(t);
    seen = t.Name(KeyId{0});  // the unlinked entry, read inside the section
    entered.set_value();
    leave_f.wait();
    EXPECT_EQ(seen, "gone");  // still readable: the sweep waits for this section
  });
  entered.get_future().wait();
  auto sweep = std::async(std::launch::async, [&] { return t.Sweep(); });
  // The sweep recycles the id and then waits for the reader's section before freeing.
  EXPECT_EQ(sweep.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  leave.set_value();
  reader.join();
  EXPECT_EQ(sweep.get().reclaimed, 1u);
  EXPECT_EQ(t.Name(KeyId{0}), "");
}

TEST(ValueTest, TypesEqualityAndText) {
  Value s = Value::String("abc");
  EXPECT_EQ(s.type(), ValueType::kString);
  EXPECT_EQ(s.AsString(), "abc");
  EXPECT_EQ(Value::Int(-3).ToString(), "-3");
  EXPECT_EQ(Value::Bool(true).ToString(), "true");
  EXPECT_EQ(Value::Double(1.5).ToString(), "1.5");
  Value arr[] = {Value::Int(1), Value::String("x")};
  EXPECT_EQ(Value::Array(arr).ToString(), "[1, \"x\"]");
  uint8_t bytes[] = {0xde, 0xad};
  EXPECT_EQ(Value::Bytes(bytes).ToString(), "0xdead");
  std::string other = "abc";
  EXPECT_TRUE(Value::String(other) == s);
  EXPECT_FALSE(Value::Int(1) == Value::Double(1));
  EXPECT_TRUE(Value() == Value());
}

TEST(IdsTest, HexRoundTripAndValidity) {
  auto t = TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->ToHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->High(), 0x4bf92f3577b34da6ULL);
  EXPECT_EQ(t->Low(), 0xa3ce929d0e0e4736ULL);
  EXPECT_TRUE(t->IsValid());
  EXPECT_FALSE(TraceId{}.IsValid());
  EXPECT_FALSE(TraceId::FromHex("xyz").has_value());
  EXPECT_FALSE(TraceId::FromHex("4bf92f3577b34da6a3ce929d0e0e473g").has_value());
  auto s = SpanId::FromHex("00f067aa0ba902b7");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->Value(), 0x00f067aa0ba902b7ULL);
  EXPECT_EQ(SpanId::FromValue(s->Value()), *s);
}

class Account final : public MemoryAccount {
 public:
  void Release(std::size_t bytes) noexcept override { released += bytes; }
  std::size_t released = 0;
};

TEST(BatchTest, AppendMovesEventsAndKeepsStorageAlive) {
  BatchPool pool;
  Account account;
  BatchPtr a = pool.Acquire();
  BatchPtr b = pool.Acquire();
  Span& s = b->AddSpan();
  s.name = b->arena().CopyString("child");
  MetricPoint& m = b->AddMetric();
  m.name = b->arena().CopyString("metric");
  b->SetCharge(&account, 100);
  b->set_ingest_ns(50);
  a->set_ingest_ns(70);
  a->Append(std::move(b));
  EXPECT_EQ(a->size(), 2u);
  EXPECT_EQ(a->spans()[0].name, "child");
  EXPECT_EQ(a->metrics()[0].name, "metric");
  EXPECT_EQ(a->ingest_ns(), 50u);  // earliest
  EXPECT_EQ(a->signals(), kSignalTraces | kSignalMetrics);
  EXPECT_EQ(account.released, 0u);
  a.reset();  // back to the pool: the adopted batch and its charge are released too
  EXPECT_EQ(account.released, 100u);
}

TEST(BatchTest, RemoveIfKeepsOrder) {
  BatchPool pool;
  BatchPtr b = pool.Acquire();
  for (int i = 0; i < 10; ++i) b->AddMetric().int_value = i;
  std::size_t removed =
      b->RemoveMetricsIf([](const MetricPoint& m) { return m.int_value % 3 == 0; });
  EXPECT_EQ(removed, 4u);
  std::vector<int64_t> left;
  for (const auto& m : b->metrics()) left.push_back(m.int_value);
  EXPECT_EQ(left, (std::vector<int64_t>{1, 2, 4, 5, 7, 8}));
}

TEST(BatchTest, PoolReusesBatchesWithoutAllocatingInSteadyState) {
  BatchPool pool({.max_pooled = 8});
  for (int round = 0; round < 100; ++round) {
    BatchPtr b = pool.Acquire();
    for (int i = 0; i < 50; ++i) {
      MetricPoint& m = b->AddMetric();
      m.name = b->arena().CopyString("requests_total");
    }
  }
  EXPECT_EQ(pool.allocated(), 1u);
  EXPECT_EQ(pool.reused(), 99u);
}

TEST(EventCopierTest, DeepCopiesEveryKind) {
  BatchPool pool;
  BatchPtr src = pool.Acquire();
  Arena& a = src->arena();
  KeyId k = *KeyTable::Global().Intern("copier.key");
  auto* rattrs = a.AllocateArray<Attribute>(1);
  rattrs[0] = {keys::kServiceName, Value::String(a.CopyString("svc"))};
  auto* res = a.AllocateArray<Resource>(1);
  *res = Resource{{rattrs, 1}, {}, 0};
  Value inner[] = {Value::String(a.CopyString("x")), Value::Int(2)};
  auto* attrs = a.AllocateArray<Attribute>(1);
  attrs[0] = {k, Value::Array(a.CopyArray<Value>(inner))};
  for (int i = 0; i < 2; ++i) {
    Span& s = src->AddSpan();
    s.name = a.CopyString("op");
    s.attributes = {attrs, 1};
    s.resource = res;
  }
  MetricPoint& m = src->AddMetric();
  m.name = a.CopyString("h");
  m.type = MetricType::kHistogram;
  double bounds[] = {1, 2};
  uint64_t counts[] = {3, 4, 5};
  auto* h = a.AllocateArray<HistogramData>(1);
  *h = HistogramData{
      12, 30, 0, 0, false, a.CopyArray<double>(bounds), a.CopyArray<uint64_t>(counts)};
  m.histogram = h;
  MetricPoint& q = src->AddMetric();
  q.name = a.CopyString("rpc");
  q.type = MetricType::kSummary;
  QuantileValue qv[] = {{0.5, 2}, {0.99, 9}};
  auto* sd = a.AllocateArray<SummaryData>(1);
  *sd = SummaryData{7, 21, a.CopyArray<QuantileValue>(qv)};
  q.summary = sd;
  LogRecord& l = src->AddLog();
  l.body = Value::String(a.CopyString("hello"));

  BatchPtr dst = pool.Acquire();
  EventCopier copier(*dst, *src);
  copier.CopyAll(*src);
  src.reset();                         // the copy must not depend on the source
  BatchPtr scribble = pool.Acquire();  // likely reuses the source's arena memory
  for (int i = 0; i < 100; ++i) scribble->arena().CopyString("zzzzzzzzzzzzzzzz");
  ASSERT_EQ(dst->spans().size(), 2u);
  EXPECT_EQ(dst->spans()[0].name, "op");
  EXPECT_EQ(dst->spans()[0].attributes[0].value.AsArray()[0].AsString(), "x");
  EXPECT_EQ(dst->spans()[0].resource, dst->spans()[1].resource);  // de-duplicated
  EXPECT_EQ(dst->spans()[0].resource->attributes[0].value.AsString(), "svc");
  EXPECT_EQ(dst->metrics()[0].histogram->bucket_counts[2], 5u);
  ASSERT_EQ(dst->metrics().size(), 2u);
  const MetricPoint& cq = dst->metrics()[1];
  EXPECT_EQ(cq.type, MetricType::kSummary);
  ASSERT_NE(cq.summary, nullptr);
  EXPECT_EQ(cq.summary->count, 7u);
  EXPECT_EQ(cq.summary->sum, 21);
  ASSERT_EQ(cq.summary->quantiles.size(), 2u);
  EXPECT_EQ(cq.summary->quantiles[1].quantile, 0.99);
  EXPECT_EQ(cq.summary->quantiles[1].value, 9);
  EXPECT_EQ(dst->logs()[0].body.AsString(), "hello");
}

TEST(SummaryDataTest, ValidRequiresQuantilesInRangeAndBoundedCount) {
  QuantileValue ok[] = {{0, 1}, {0.5, std::numeric_limits<double>::quiet_NaN()}, {1, 3}};
  EXPECT_TRUE((SummaryData{3, 6, ok}.Valid()));  // a NaN value is allowed
  QuantileValue above[] = {{1.5, 1}};
  EXPECT_FALSE((SummaryData{1, 1, above}.Valid()));
  QuantileValue negative[] = {{-0.1, 1}};
  EXPECT_FALSE((SummaryData{1, 1, negative}.Valid()));
  QuantileValue nan[] = {{std::numeric_limits<double>::quiet_NaN(), 1}};
  EXPECT_FALSE((SummaryData{1, 1, nan}.Valid()));
  std::vector<QuantileValue> many(SummaryData::kMaxQuantiles + 1, QuantileValue{0.5, 1});
  EXPECT_FALSE((SummaryData{1, 1, many}.Valid()));
  many.pop_back();
  EXPECT_TRUE((SummaryData{1, 1, many}.Valid()));
}

}  // namespace
}  // namespace strobed::event
