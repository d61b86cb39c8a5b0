#pragma once

// The metrics library's names for the annotated mutex in strobe/base/mutex.h (one
// implementation; see there for the thread-safety analysis and condition variables).
// Control-plane locking only; the recording path takes no lock.

#include "strobe/base/mutex.h"

namespace strobe::metrics::internal {

using Mutex = strobe::Mutex;
using MutexLock = strobe::MutexLock;

}  // namespace strobe::metrics::internal
