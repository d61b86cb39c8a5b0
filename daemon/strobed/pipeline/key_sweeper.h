#pragma once

// pipeline::KeySweeper: the thread that runs event::KeyTable::Sweep for a running service, so
// that keys of untrusted input nobody holds any more are reclaimed (attribute.h, "Who holds a
// KeyId"; docs/security.md, "Key table").
//
// It sweeps every `interval`, and every `check` while the table holds at least
// `high_water` * capacity keys (a flood is reclaimed within a few checks of its batches
// leaving the pipeline: one sweep unlinks a key, a later one recycles it). A sweep is control
// plane: one pass over the table under its insert mutex, plus a wait for lookups in progress.
//
// Thread class: Start/Stop from the owner's control thread; statistics are in the KeyTable.

#include <chrono>
#include <thread>

#include "strobe/base/mutex.h"
#include "strobe/base/thread_annotations.h"

namespace strobed::event {
class KeyTable;
}  // namespace strobed::event

namespace strobed::pipeline {

struct KeySweepOptions {
  std::chrono::milliseconds interval{60'000};  // periodic sweeps; 0: only above high water
  double high_water = 0.75;                    // fraction of capacity; >= 1: never by size
  std::chrono::milliseconds check{100};        // how often the size is compared with it
};

class KeySweeper {
 public:
  KeySweeper(event::KeyTable& keys, KeySweepOptions options);
  ~KeySweeper();  // stops
  KeySweeper(const KeySweeper&) = delete;
  KeySweeper& operator=(const KeySweeper&) = delete;

  // Starts the thread (once). Thread-compatible with Stop.
  void Start();
  // Stops and joins the thread; idempotent.
  void Stop();

 private:
  void Run();

  event::KeyTable& keys_;
  const KeySweepOptions options_;
  strobe::Mutex mu_;
  strobe::CondVar cv_;
  bool stop_ STROBE_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace strobed::pipeline
