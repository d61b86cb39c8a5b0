#include "strobe/metrics/counter.h"

#include "strobe/base/clock.h"

namespace strobe::metrics {

Counter::~Counter() { internal::Shards::Get().FreeCell(cell_); }

void Counter::AddWithExemplar(uint64_t delta, std::initializer_list<LabelPair> exemplar) noexcept {
  Add(delta);
  meta_->exemplar.Write(std::span<const LabelPair>(exemplar.begin(), exemplar.size()),
                        static_cast<double>(delta), WallNowNs());
}

uint64_t Counter::Value() const { return internal::Shards::Get().SumCell(cell_); }

FloatCounter::~FloatCounter() { internal::Shards::Get().FreeCell(cell_); }

bool FloatCounter::AddWithExemplar(double delta,
                                   std::initializer_list<LabelPair> exemplar) noexcept {
  if (!Add(delta)) return false;
  meta_->exemplar.Write(std::span<const LabelPair>(exemplar.begin(), exemplar.size()), delta,
                        WallNowNs());
  return true;
}

double FloatCounter::Value() const { return internal::Shards::Get().SumDoubleCell(cell_); }

UpDownCounter::~UpDownCounter() { internal::Shards::Get().FreeCell(cell_); }

int64_t UpDownCounter::Value() const {
  return static_cast<int64_t>(internal::Shards::Get().SumCell(cell_));
}

}  // namespace strobe::metrics
