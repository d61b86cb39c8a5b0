#pragma once

// Anomaly detection on one numeric series (a window aggregate of one key, e.g. p99 of
// checkout's latency per 10 s window).
//
//   EwmaDetector  exponentially weighted mean and variance (smoothing `alpha`); score =
//                 |x - mean| / stddev. Warm-up uses the exact running mean/variance
//                 (Welford) for the first `warmup` points. A point scoring above the
//                 sensitivity updates the state clipped to mean ± sensitivity·stddev, so a
//                 spike does not inflate the baseline it is judged against.
//   MadDetector   robust: median and MAD of the last `window` points; score =
//                 |x - median| / (1.4826 · MAD), the MAD-based z-score (1.4826 makes it
//                 comparable to a standard deviation for normal data). Insensitive to the
//                 outliers themselves.
//
// Score() returns nullopt during warm-up (fewer than `warmup` points), else the score of x
// against the state before x; x is then added to the state. A score >= sensitivity is an
// anomaly. Scores are capped at 1e6 (a flat series has zero spread).
//
// Measured precision/recall on synthetic series with known anomalies are in
// anomaly_test.cc's output and docs/stream.md.
//
// Thread class: thread-compatible.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace strobed::stream {

enum class DetectorType : uint8_t { kEwma, kMad };

struct DetectorOptions {
  DetectorType type = DetectorType::kEwma;
  double alpha = 0.1;        // EWMA smoothing
  std::size_t warmup = 20;   // points before scores are produced
  double sensitivity = 4.0;  // score threshold of an anomaly
  std::size_t window = 60;   // MAD: points kept
};

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::optional<double> Score(double x) = 0;
  static std::unique_ptr<Detector> Create(const DetectorOptions& options);
};

class EwmaDetector final : public Detector {
 public:
  explicit EwmaDetector(const DetectorOptions& options) : options_(options) {}
  std::optional<double> Score(double x) override;

 private:
  DetectorOptions options_;
  std::size_t n_ = 0;
  double mean_ = 0;
  double var_ = 0;  // Welford M2 during warm-up, then the EWMA variance
};

class MadDetector final : public Detector {
 public:
  explicit MadDetector(const DetectorOptions& options);
  std::optional<double> Score(double x) override;

 private:
  DetectorOptions options_;
  std::vector<double> ring_;
  std::size_t next_ = 0;
  std::size_t n_ = 0;
  std::vector<double> scratch_;
};

}  // namespace strobed::stream
