#pragma once

// Process metrics in the Prometheus text exposition format (version 0.0.4): counters, gauges and
// histograms with labels, kept in a Registry that any module may increment. `loom serve` exposes
// Registry::Default() at /metrics (docs/quality.md lists the metrics it carries).
//
// Thread-safety: everything here is thread-safe. A metric returned by a Registry lives as long as
// the Registry (Default() lives for the whole process), so callers may keep the reference.
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and label names [a-zA-Z_][a-zA-Z0-9_]*: a bad name
// is a programming error (LOOM_CHECK), never user input; label values may be any text.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/thread_annotations.h"

namespace loom::metrics {

// Label name/value pairs, e.g. {{"product", "media-player/play-events"}}. Order does not matter.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A value that only goes up (resets when the process restarts).
class Counter {
 public:
  void Inc(double by = 1);  // by >= 0
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into cumulative buckets (upper bounds, ascending), with their sum.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf last
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Get() const;

 private:
  mutable std::mutex mu_;
  const std::vector<double> bounds_;
  std::vector<uint64_t> counts_ LOOM_GUARDED_BY(mu_);  // per bucket (not cumulative), +Inf last
  double sum_ LOOM_GUARDED_BY(mu_) = 0;
};

// Default latency buckets in seconds: 1 ms .. 30 s.
const std::vector<double>& LatencyBuckets();

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry `loom serve` exposes.
  static Registry& Default();

  // Gets (creating on first use) the metric `name` with these labels. A name is one type; `help`
  // of the first call is kept. LOOM_CHECK fails on a bad name or a name used with another type.
  Counter& GetCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& GetGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& GetHistogram(std::string_view name, std::string_view help, const Labels& labels = {},
                          const std::vector<double>& bounds = LatencyBuckets());
  // Removes every series of gauge `name` (a gauge family recomputed from state on each scrape,
  // so that series of deleted things disappear).
  void ClearGauge(std::string_view name);

  // The whole registry in the Prometheus text format: families sorted by name, series by labels.
  std::string Expose() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Family {
    Type type = Type::kCounter;
    std::string help;
    // Key: the rendered label set ({a="x",b="y"}, sorted by name).
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& FamilyFor(std::string_view name, std::string_view help, Type type) LOOM_REQUIRES(mu_);

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_ LOOM_GUARDED_BY(mu_);
};

// Renders labels as {a="x",b="y"} sorted by name, values escaped (\\, \", \n); "" when empty.
std::string RenderLabels(Labels labels);

}  // namespace loom::metrics
