// SLOs (sampled, with error budgets, alerting on a change of state) and the Prometheus metrics
// computed from state at each scrape. See docs/quality.md.

#include <cmath>
#include <limits>

#include "core/metrics.h"
#include "platform/platform.h"

namespace loom::platform {
namespace {

using nlohmann::json;

bool IsDuration(spec::SloKind k) {
  return k == spec::SloKind::kFreshness || k == spec::SloKind::kTimeliness;
}

// The start of the snapshot window holding `now` (hourly and daily; monthly by 30 days' grace).
TimestampMicros DueWindowEnd(spec::SnapshotInterval interval, TimestampMicros now) {
  const int64_t hour = 3600ll * 1000000;
  const int64_t len = interval == spec::SnapshotInterval::kHourly  ? hour
                      : interval == spec::SnapshotInterval::kDaily ? hour * 24
                                                                   : hour * 24 * 30;
  return now - ((now % len) + len) % len;
}

}  // namespace

void Platform::NoteGroup(const Address& port, const std::string& group) {
  std::lock_guard<std::mutex> lock(groups_mu_);
  groups_.insert({port.ToString(), group});
}

Result<std::optional<quality::SloSample>> Platform::MeasureSlo(const spec::DataProduct& product,
                                                               const spec::Slo& slo) {
  const TimestampMicros now = options_.clock->NowMicros();
  std::optional<quality::SloSample> combined;
  for (const spec::OutputPort& port : product.output_ports) {
    if (!slo.port.empty() && slo.port != port.name) continue;
    const Address a{product.domain, product.name, port.name, {}};
    PortRef ref{product, &port};
    std::optional<quality::SloSample> s;
    const double threshold_s = slo.threshold_ms ? static_cast<double>(*slo.threshold_ms) / 1000 : 0;
    if (IsDuration(slo.kind) || slo.kind == spec::SloKind::kAvailability) {
      if (port.kind == spec::PortKind::kTable) {
        LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(ref));
        Result<table::Snapshot> snap = t->Current();
        if (!snap.ok() && snap.status().code() != StatusCode::kNotFound) return snap.status();
        if (slo.kind == spec::SloKind::kAvailability) {
          s = quality::SloSample{now, snap.ok(), snap.ok() ? 1.0 : 0.0};
        } else if (!snap.ok()) {
          s = quality::SloSample{now, false, -1};
        } else if (slo.kind == spec::SloKind::kTimeliness && port.table.snapshot) {
          const TimestampMicros due = DueWindowEnd(port.table.snapshot->interval, now);
          const double late =
              snap->manifest.published_at >= due ? 0 : static_cast<double>(now - due) / 1e6;
          s = quality::SloSample{now, late <= threshold_s, late};
        } else {
          const double age = static_cast<double>(now - snap->manifest.published_at) / 1e6;
          s = quality::SloSample{now, age <= threshold_s, age};
        }
      } else {
        if (slo.kind == spec::SloKind::kAvailability) {
          LOOM_ASSIGN_OR_RETURN(bool healthy, StreamHealthy(ref));
          s = quality::SloSample{now, healthy, healthy ? 1.0 : 0.0};
        } else {
          LOOM_ASSIGN_OR_RETURN(std::optional<TimestampMicros> newest, NewestEventTime(ref));
          if (!newest) {
            s = quality::SloSample{now, false, -1};
          } else {
            const double age = static_cast<double>(now - *newest) / 1e6;
            s = quality::SloSample{now, age <= threshold_s, age};
          }
        }
      }
    } else if (slo.kind == spec::SloKind::kValidity && port.kind == spec::PortKind::kStream) {
      LOOM_ASSIGN_OR_RETURN(
          quality::Store::IngestTotals totals,
          quality_->IngestSince(a.ToString(), now - options_.stream_check_window_ms * 1000));
      const uint64_t all = totals.accepted + totals.rejected;
      if (all > 0) {
        const double share = static_cast<double>(totals.accepted) / static_cast<double>(all);
        s = quality::SloSample{now, share >= slo.threshold.value_or(1), share};
      }
    } else {
      // Completeness, and validity of a table port: from the latest check of the port.
      LOOM_ASSIGN_OR_RETURN(json runs, quality_->Runs(a.ToString(), 1));
      if (!runs["runs"].empty()) {
        const json& run = runs["runs"][0];
        double share = run.value("completeness", 1.0);
        if (slo.kind == spec::SloKind::kValidity) {
          const double rows = run.value("rows", 0.0);
          double worst = 0;
          for (const json& r : run["results"]) worst = std::max(worst, r.value("failing", 0.0));
          share = rows > 0 ? std::max(0.0, 1 - worst / rows) : 1;
        }
        s = quality::SloSample{now, share >= slo.threshold.value_or(1), share};
      }
    }
    if (!s) continue;
    if (!combined) {
      combined = s;
    } else {
      combined->good = combined->good && s->good;
      combined->value = IsDuration(slo.kind) ? std::max(combined->value, s->value)
                                             : std::min(combined->value, s->value);
    }
  }
  return combined;
}

namespace {

json SloJson(const spec::DataProduct& p, const spec::Slo& slo, const quality::SloStatus& st) {
  json j = {{"product", p.address().ToString()},
            {"slo", quality::SloKey(slo)},
            {"kind", std::string(spec::ToString(slo.kind))},
            {"port", slo.port},
            {"objective", slo.objective},
            {"window", spec::FormatDurationMs(slo.window_ms)},
            {"state", std::string(quality::ToString(st.state))},
            {"samples", st.samples},
            {"bad", st.bad},
            {"attainment", st.attainment},
            {"budgetLeft", st.budget_left}};
  if (slo.threshold_ms) j["threshold"] = spec::FormatDurationMs(*slo.threshold_ms);
  if (slo.threshold) j["threshold"] = *slo.threshold;
  if (st.last) {
    j["lastValue"] = st.last->value;
    j["lastGood"] = st.last->good;
    j["lastAt"] = FormatRfc3339(st.last->at);
  }
  return j;
}

void SetSloGauges(const spec::DataProduct& p, const spec::Slo& slo, const quality::SloStatus& st) {
  metrics::Labels labels = {{"product", p.domain + "/" + p.name}, {"slo", quality::SloKey(slo)}};
  metrics::Registry& m = metrics::Registry::Default();
  m.GetGauge("loom_slo_ok", "1 when the SLO meets its objective over its window, else 0.", labels)
      .Set(st.state == quality::SloState::kBreached ? 0 : 1);
  m.GetGauge("loom_slo_attainment", "Share of good samples in the SLO window.", labels)
      .Set(st.attainment);
  m.GetGauge("loom_slo_error_budget_remaining",
             "Share of the SLO's error budget left (negative once overspent).", labels)
      .Set(st.budget_left);
}

}  // namespace

Result<json> Platform::SloStatus(const Caller& caller, const std::optional<Address>& only) {
  if (only) {
    const Address product{only->domain, only->product, "", {}};
    LOOM_RETURN_IF_ERROR(Require(caller, product, security::Operation::kRead, "slo").status());
    LOOM_ASSIGN_OR_RETURN(json out, SloList(&caller, only));
    LOOM_RETURN_IF_ERROR(Audited(caller, "slo", product, -1));
    return out;
  }
  return SloList(&caller, std::nullopt);
}

Result<json> Platform::SloList(const Caller* caller, const std::optional<Address>& only) {
  std::shared_ptr<const security::Authorizer> authz = Authz();
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  const TimestampMicros now = options_.clock->NowMicros();
  json out = json::array();
  bool found = !only.has_value();
  for (const spec::DataProduct& p : products) {
    if (only && (only->domain != p.domain || only->product != p.name)) continue;
    // A listing keeps the products the caller may see (nullptr: the platform's own jobs).
    if (caller != nullptr && !authz->CanSee(caller->identity, Address{p.domain, p.name, "", {}})) {
      continue;
    }
    found = true;
    for (const spec::Slo& slo : p.slos) {
      if (only && only->has_port() && !slo.port.empty() && slo.port != only->port) continue;
      LOOM_ASSIGN_OR_RETURN(std::vector<quality::SloSample> samples,
                            quality_->Samples(p.address().ToString(), quality::SloKey(slo),
                                              now - slo.window_ms * 1000));
      quality::SloStatus st = quality::EvaluateSlo(slo, samples, now);
      SetSloGauges(p, slo, st);
      out.push_back(SloJson(p, slo, st));
    }
  }
  if (!found) return NotFound("no product " + only->ToString());
  return json{{"slos", out}};
}

Result<json> Platform::EvaluateSlos() {
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  const TimestampMicros now = options_.clock->NowMicros();
  for (const spec::DataProduct& p : products) {
    const std::string product = p.address().ToString();
    for (const spec::Slo& slo : p.slos) {
      const std::string key = quality::SloKey(slo);
      Result<std::optional<quality::SloSample>> sample = MeasureSlo(p, slo);
      if (!sample.ok()) {
        // A port that cannot be measured is not available: record a bad sample, keep going.
        quality::LogJson(
            "warn", "slo not measured",
            {{"product", product}, {"slo", key}, {"error", sample.status().ToString()}});
        sample = std::optional<quality::SloSample>(quality::SloSample{now, false, -1});
      }
      if (*sample) LOOM_RETURN_IF_ERROR(quality_->AddSample(product, key, **sample));
      LOOM_ASSIGN_OR_RETURN(std::vector<quality::SloSample> samples,
                            quality_->Samples(product, key, now - slo.window_ms * 1000));
      quality::SloStatus st = quality::EvaluateSlo(slo, samples, now);
      SetSloGauges(p, slo, st);
      LOOM_ASSIGN_OR_RETURN(std::string previous, quality_->AlertState(product, key));
      const std::string state(quality::ToString(st.state));
      if (st.state == quality::SloState::kNoData || state == previous) continue;
      if (st.state == quality::SloState::kBreached || !previous.empty()) {
        json alert = SloJson(p, slo, st);
        alert["alert"] =
            st.state == quality::SloState::kBreached ? "slo_breached" : "slo_recovered";
        alert["at"] = FormatRfc3339(now);
        alerter_->Send(alert);
        metrics::Registry::Default()
            .GetCounter("loom_slo_alerts_total", "SLO alerts raised (breaches and recoveries).",
                        {{"product", p.domain + "/" + p.name}, {"slo", key}, {"state", state}})
            .Inc();
      }
      LOOM_RETURN_IF_ERROR(quality_->SetAlertState(product, key, state, now));
    }
  }
  return SloList(nullptr, std::nullopt);
}

Result<std::string> Platform::MetricsText(const Caller& caller) {
  // The exposition names every product and consumer group: administrators and governance only
  // (a Prometheus scrape job presents such a token as its bearer credential).
  if (!IsGovernance(caller)) {
    LOOM_RETURN_IF_ERROR(
        AuditRecord({caller.principal(), "metrics", "", false, -1, "", "not an administrator"}));
    return PermissionDenied(caller.principal() +
                            " may not read /metrics: administrators and governance only");
  }
  metrics::Registry& m = metrics::Registry::Default();
  const TimestampMicros now = options_.clock->NowMicros();
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  m.ClearGauge("loom_table_version_age_seconds");
  m.ClearGauge("loom_table_current_version");
  m.ClearGauge("loom_table_rows");
  for (const spec::DataProduct& p : products) {
    for (const spec::OutputPort& port : p.output_ports) {
      if (port.kind != spec::PortKind::kTable) continue;
      PortRef ref{p, &port};
      LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(ref));
      Result<table::Snapshot> snap = t->Current();
      if (!snap.ok()) continue;
      metrics::Labels labels = {{"product", p.domain + "/" + p.name}, {"port", port.name}};
      m.GetGauge("loom_table_version_age_seconds",
                 "Seconds since the current version of a table port was published.", labels)
          .Set(static_cast<double>(now - snap->manifest.published_at) / 1e6);
      m.GetGauge("loom_table_current_version", "The current version of a table port.", labels)
          .Set(static_cast<double>(snap->manifest.version.number()));
      m.GetGauge("loom_table_rows", "Rows of the current version of a table port.", labels)
          .Set(static_cast<double>(snap->manifest.row_count));
    }
  }
  std::set<std::pair<std::string, std::string>> groups;
  {
    std::lock_guard<std::mutex> lock(groups_mu_);
    groups = groups_;
  }
  m.ClearGauge("loom_consumer_lag_events");
  for (const auto& [port_text, group] : groups) {
    LOOM_ASSIGN_OR_RETURN(Address port, Address::Parse(port_text));
    Result<std::unique_ptr<PortRef>> ref = ResolvePort(port);
    if (!ref.ok()) continue;
    LOOM_ASSIGN_OR_RETURN(auto bounds, StreamBounds(**ref));
    LOOM_ASSIGN_OR_RETURN(auto committed, catalog_->GetOffsets(group, port));
    double lag = 0;
    for (size_t p = 0; p < bounds.size(); ++p) {
      auto it = committed.find(static_cast<uint32_t>(p));
      const int64_t next = it == committed.end() ? bounds[p].first : it->second;
      lag += static_cast<double>(std::max<int64_t>(0, bounds[p].second - next));
    }
    m.GetGauge(
         "loom_consumer_lag_events",
         "Events of a stream port a consumer group has not committed yet.",
         {{"product", port.domain + "/" + port.product}, {"port", port.port}, {"group", group}})
        .Set(lag);
  }
  LOOM_ASSIGN_OR_RETURN(json slos, SloList(nullptr, std::nullopt));
  (void)slos;
  m.GetGauge("loom_alert_webhook_delivered", "SLO alerts delivered to the webhook.")
      .Set(static_cast<double>(alerter_->delivered()));
  m.GetGauge("loom_alert_webhook_failed", "SLO alerts the webhook never accepted.")
      .Set(static_cast<double>(alerter_->failed()));
  return m.Expose();
}

}  // namespace loom::platform
