#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/status.h"

namespace loom::metrics {
namespace {

bool ValidName(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// A sample value as Prometheus reads it: integers without a fraction, NaN and infinities by name.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    // The shortest of 15 or 17 digits that reads back as the same double.
    std::snprintf(buf, sizeof buf, "%.15g", v);
    if (std::strtod(buf, nullptr) != v) std::snprintf(buf, sizeof buf, "%.17g", v);
  }
  return buf;
}

std::string EscapeHelp(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Adds one more label to a rendered label set ("" or {a="x"}).
std::string WithLabel(const std::string& rendered, const std::string& name,
                      const std::string& value) {
  std::string extra = name + "=\"" + value + "\"";
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

}  // namespace

void Counter::Inc(double by) {
  if (!(by >= 0)) return;
  double old = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(old, old + by, std::memory_order_relaxed)) {
  }
}

void Gauge::Add(double by) {
  double old = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(old, old + by, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  LOOM_CHECK(std::is_sorted(bounds_.begin(), bounds_.end()), "histogram bounds must ascend");
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::Observe(double v) {
  size_t i =
      static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  std::lock_guard<std::mutex> lock(mu_);
  counts_[i] += 1;
  sum_ += v;
}

Histogram::Snapshot Histogram::Get() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t running = 0;
  for (uint64_t c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_;
  return s;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> default_buckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,     2.5,  5,     10,   30};
  return default_buckets;
}

Registry& Registry::Default() {
  static Registry* registry = new Registry();  // never destroyed: used until the process exits
  return *registry;
}

std::string RenderLabels(Labels labels) {
  if (labels.empty()) return "";
  std::sort(labels.begin(), labels.end());
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    LOOM_CHECK(ValidName(labels[i].first, false), "bad metric label name");
    out += (i ? "," : "") + labels[i].first + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    out += "\"";
  }
  return out + "}";
}

Registry::Family& Registry::FamilyFor(std::string_view name, std::string_view help, Type type) {
  LOOM_CHECK(ValidName(name, true), "bad metric name");
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.type = type;
    it->second.help = std::string(help);
  }
  LOOM_CHECK(it->second.type == type, "metric used with two types");
  return it->second;
}

Counter& Registry::GetCounter(std::string_view name, std::string_view help, const Labels& labels) {
  std::string key = RenderLabels(labels);
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Counter>& c = FamilyFor(name, help, Type::kCounter).counters[key];
  if (c == nullptr) c = std::make_unique<Counter>();
  return *c;
}

Gauge& Registry::GetGauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::string key = RenderLabels(labels);
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Gauge>& g = FamilyFor(name, help, Type::kGauge).gauges[key];
  if (g == nullptr) g = std::make_unique<Gauge>();
  return *g;
}

Histogram& Registry::GetHistogram(std::string_view name, std::string_view help,
                                  const Labels& labels, const std::vector<double>& bounds) {
  std::string key = RenderLabels(labels);
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Histogram>& h = FamilyFor(name, help, Type::kHistogram).histograms[key];
  if (h == nullptr) h = std::make_unique<Histogram>(bounds);
  return *h;
}

void Registry::ClearGauge(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  // Gauges handed out stay valid: they move to a graveyard that lives as long as the registry.
  if (it == families_.end() || it->second.type != Type::kGauge) return;
  static std::mutex graveyard_mu;
  static auto* graveyard = new std::vector<std::unique_ptr<Gauge>>();
  std::lock_guard<std::mutex> g(graveyard_mu);
  for (auto& [key, gauge] : it->second.gauges) graveyard->push_back(std::move(gauge));
  it->second.gauges.clear();
}

std::string Registry::Expose() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, f] : families_) {
    if (f.counters.empty() && f.gauges.empty() && f.histograms.empty()) continue;
    const char* type = f.type == Type::kCounter ? "counter"
                       : f.type == Type::kGauge ? "gauge"
                                                : "histogram";
    out += "# HELP " + name + " " + EscapeHelp(f.help) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, c] : f.counters)
      out += name + labels + " " + Number(c->value()) + "\n";
    for (const auto& [labels, g] : f.gauges) out += name + labels + " " + Number(g->value()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      Histogram::Snapshot s = h->Get();
      for (size_t i = 0; i < s.bounds.size(); ++i) {
        out += name + "_bucket" + WithLabel(labels, "le", Number(s.bounds[i])) + " " +
               Number(static_cast<double>(s.cumulative[i])) + "\n";
      }
      const std::string count = Number(static_cast<double>(s.count));
      out.append(name).append("_bucket").append(WithLabel(labels, "le", "+Inf"));
      out.append(" ").append(count).append("\n");
      out.append(name).append("_sum").append(labels).append(" ").append(Number(s.sum));
      out.append("\n").append(name).append("_count").append(labels).append(" ").append(count);
      out.append("\n");
    }
  }
  return out;
}

}  // namespace loom::metrics
