// SLO error budgets: an SLO promises that a share `objective` of its samples inside its window
// are good; the budget is the share of bad samples that promise allows.

#include <algorithm>

#include "quality/quality.h"

namespace loom::quality {

std::string SloKey(const spec::Slo& slo) {
  return std::string(spec::ToString(slo.kind)) + ":" + (slo.port.empty() ? "*" : slo.port);
}

std::string_view ToString(SloState s) {
  switch (s) {
    case SloState::kOk:
      return "ok";
    case SloState::kBreached:
      return "breached";
    case SloState::kNoData:
      return "no-data";
  }
  return "no-data";
}

SloStatus EvaluateSlo(const spec::Slo& slo, const std::vector<SloSample>& samples,
                      TimestampMicros now) {
  SloStatus st;
  const TimestampMicros since = now - slo.window_ms * 1000;
  for (const SloSample& s : samples) {
    if (s.at < since || s.at > now) continue;
    ++st.samples;
    st.bad += s.good ? 0 : 1;
    if (!st.last || s.at >= st.last->at) st.last = s;
  }
  if (st.samples == 0) return st;
  const double n = static_cast<double>(st.samples);
  st.attainment = (n - static_cast<double>(st.bad)) / n;
  const double allowed = (1.0 - slo.objective) * n;
  if (allowed > 0) {
    st.budget_left = 1.0 - static_cast<double>(st.bad) / allowed;
  } else {
    st.budget_left = st.bad == 0 ? 1.0 : -static_cast<double>(st.bad);
  }
  st.state = st.attainment < slo.objective ? SloState::kBreached : SloState::kOk;
  return st;
}

}  // namespace loom::quality
