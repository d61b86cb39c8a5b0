#include "strobed/event/attribute.h"

#include <cstring>
#include <string>

#include "strobed/event/key_quota.h"

namespace strobed::event {

std::string_view KeyRefusalName(KeyRefusal reason) {
  switch (reason) {
    case KeyRefusal::kNone:
      return "none";
    case KeyRefusal::kTooLong:
      return "key_too_long";
    case KeyRefusal::kTableFull:
      return "key_table_full";
    case KeyRefusal::kRequestLimit:
      return "key_request_limit";
    case KeyRefusal::kSourceLimit:
      return "key_source_limit";
  }
  return "unknown";
}

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kEmpty:
      return "empty";
    case ValueType::kString:
      return "string";
    case ValueType::kBool:
      return "bool";
    case ValueType::kInt:
      return "int";
    case ValueType::kDouble:
      return "double";
    case ValueType::kBytes:
      return "bytes";
    case ValueType::kArray:
      return "array";
    case ValueType::kKvList:
      return "kvlist";
  }
  return "unknown";
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case ValueType::kEmpty:
      return true;
    case ValueType::kString:
      return a.AsString() == b.AsString();
    case ValueType::kBool:
      return a.b_ == b.b_;
    case ValueType::kInt:
      return a.i_ == b.i_;
    case ValueType::kDouble:
      return a.d_ == b.d_;
    case ValueType::kBytes:
      return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.u8_, b.u8_, a.size_) == 0);
    case ValueType::kArray: {
      if (a.size_ != b.size_) return false;
      for (uint32_t i = 0; i < a.size_; ++i) {
        if (!(a.a_[i] == b.a_[i])) return false;
      }
      return true;
    }
    case ValueType::kKvList: {
      if (a.size_ != b.size_) return false;
      for (uint32_t i = 0; i < a.size_; ++i) {
        if (a.kv_[i].key != b.kv_[i].key || !(a.kv_[i].value == b.kv_[i].value)) return false;
      }
      return true;
    }
  }
  return false;
}

std::string Value::ToString() const {
  switch (type_) {
    case ValueType::kEmpty:
      return "<empty>";
    case ValueType::kString:
      return "\"" + std::string(AsString()) + "\"";
    case ValueType::kBool:
      return b_ ? "true" : "false";
    case ValueType::kInt:
      return std::to_string(i_);
    case ValueType::kDouble: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", d_);
      return buf;
    }
    case ValueType::kBytes: {
      static constexpr char kHex[] = "0123456789abcdef";
      std::string out = "0x";
      for (uint8_t c : AsBytes()) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out;
    }
    case ValueType::kArray: {
      std::string out = "[";
      for (uint32_t i = 0; i < size_; ++i) {
        if (i != 0) out += ", ";
        out += a_[i].ToString();
      }
      return out + "]";
    }
    case ValueType::kKvList: {
      std::string out = "{";
      for (uint32_t i = 0; i < size_; ++i) {
        if (i != 0) out += ", ";
        out += std::string(KeyTable::Global().Name(kv_[i].key)) + "=" + kv_[i].value.ToString();
      }
      return out + "}";
    }
  }
  return "?";
}

KeyTable::KeyTable(std::size_t capacity, std::size_t max_key_bytes)
    : capacity_(capacity),
      max_key_bytes_(max_key_bytes),
      slot_mask_([capacity] {
        std::size_t n = 2;
        while (n < capacity * 2) n <<= 1;
        return n - 1;
      }()),
      slots_(std::make_unique<std::atomic<uint32_t>[]>(slot_mask_ + 1)),
      entries_(std::make_unique<std::atomic<const Entry*>[]>(capacity)) {
  for (std::size_t i = 0; i <= slot_mask_; ++i) slots_[i].store(0, std::memory_order_relaxed);
  for (std::size_t i = 0; i < capacity; ++i) entries_[i].store(nullptr, std::memory_order_relaxed);
}

KeyTable::~KeyTable() = default;

KeyTable& KeyTable::Global() {
  static KeyTable* table = [] {
    auto* t = new KeyTable();
    // Order fixes the ids in namespace keys.
    (void)t->Intern("service.name");
    (void)t->Intern("http.response.status_code");
    (void)t->Intern("error.type");
    (void)t->Intern("sampling.priority");
    // Keys the daemon adds to data itself (producer identity, Prometheus job/instance): interned
    // before any client can be refused a key, so identity attributes are never the ones lost.
    for (const char* k :
         {"process.pid", "process.user.id", "service.namespace", "service.instance.id"}) {
      (void)t->Intern(k);
    }
    return t;
  }();
  return *table;
}

uint64_t KeyTable::Hash(std::string_view s) noexcept {
  // FNV-1a: keys are short; speed matters more than distribution quality here.
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::optional<KeyId> KeyTable::Probe(std::string_view key, uint64_t hash) const noexcept {
  for (std::size_t i = hash & slot_mask_;; i = (i + 1) & slot_mask_) {
    // Acquire pairs with the release store in Intern(): entries_[id] is visible.
    uint32_t v = slots_[i].load(std::memory_order_acquire);
    if (v == 0) return std::nullopt;
    const Entry* e = entries_[v - 1].load(std::memory_order_acquire);
    if (e->hash == hash && e->name == key) return KeyId{v - 1};
  }
}

std::optional<KeyId> KeyTable::Find(std::string_view key) const noexcept {
  return Probe(key, Hash(key));
}

std::optional<KeyId> KeyTable::Intern(std::string_view key) noexcept {
  uint64_t hash = Hash(key);
  if (auto id = Probe(key, hash)) return id;
  return InternNew(key, hash, nullptr);
}

std::optional<KeyId> KeyTable::Intern(std::string_view key, KeyBudget& budget) noexcept {
  uint64_t hash = Hash(key);
  if (auto id = Probe(key, hash)) return id;  // known keys are never charged
  return InternNew(key, hash, &budget);
}

std::nullopt_t KeyTable::Refuse(KeyRefusal reason, KeyBudget* budget) noexcept {
  const auto r = static_cast<std::size_t>(reason);
  rejected_[r].fetch_add(1, std::memory_order_relaxed);
  if (budget != nullptr) {
    ++budget->refused;
    ++budget->refused_by[r];
    budget->last_refusal = reason;
    if (budget->first_refusal == KeyRefusal::kNone) budget->first_refusal = reason;
  }
  return std::nullopt;
}

uint64_t KeyTable::rejected() const noexcept {
  uint64_t n = 0;
  for (const auto& r : rejected_) n += r.load(std::memory_order_relaxed);
  return n;
}

std::optional<KeyId> KeyTable::InternNew(std::string_view key, uint64_t hash,
                                         KeyBudget* budget) noexcept {
  if (key.size() > max_key_bytes_) return Refuse(KeyRefusal::kTooLong, budget);
  strobe::MutexLock lock(mu_);
  if (auto id = Probe(key, hash)) return id;  // another thread added it meanwhile
  std::size_t id = size_.load(std::memory_order_relaxed);
  if (id >= capacity_) return Refuse(KeyRefusal::kTableFull, budget);
  if (budget != nullptr) {
    if (budget->added >= budget->max_new_keys) return Refuse(KeyRefusal::kRequestLimit, budget);
    // Charged last, so a key refused for another reason costs the source nothing.
    if (budget->quota != nullptr && !budget->quota->Take(budget->source, budget->now_ns)) {
      return Refuse(KeyRefusal::kSourceLimit, budget);
    }
    ++budget->added;
  }
  owned_.push_back(std::make_unique<Entry>(Entry{hash, std::string(key)}));
  // Release pairs with the acquire loads in Probe()/Name(): the entry's text is visible.
  entries_[id].store(owned_.back().get(), std::memory_order_release);
  std::size_t i = hash & slot_mask_;
  while (slots_[i].load(std::memory_order_relaxed) != 0) i = (i + 1) & slot_mask_;
  // Release pairs with Probe()'s acquire: the entry was published above.
  slots_[i].store(static_cast<uint32_t>(id + 1), std::memory_order_release);
  size_.store(id + 1, std::memory_order_release);
  return KeyId{static_cast<uint32_t>(id)};
}

std::string_view KeyTable::Name(KeyId id) const noexcept {
  if (id.index >= capacity_) return {};
  // Acquire pairs with the release store in Intern().
  const Entry* e = entries_[id.index].load(std::memory_order_acquire);
  return e == nullptr ? std::string_view{} : std::string_view(e->name);
}

}  // namespace strobed::event
