#include "strobed/stream/engine_slot.h"

#include <utility>

namespace strobed::stream {

void EngineSlot::Install(std::shared_ptr<StreamEngine> engine) {
  strobe::MutexLock lock(mu_);
  engine_ = std::move(engine);
}

std::shared_ptr<StreamEngine> EngineSlot::Get() const {
  strobe::MutexLock lock(mu_);
  return engine_;
}

}  // namespace strobed::stream
