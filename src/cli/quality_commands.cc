// loom quality ADDRESS, loom quality check ADDRESS, loom slo [ADDRESS].

#include <cstdio>

#include "cli/context.h"
#include "cli/render.h"

namespace loom::cli {
namespace {

using nlohmann::json;

std::string RenderRuns(const json& j) {
  std::string out = j.value("address", "") + "\n";
  const json& runs = j.contains("runs") ? j["runs"] : j["checks"];
  if (runs.empty()) return out + "no quality check has run yet\n";
  for (const json& run : runs) {
    std::string what = run.contains("version")
                           ? "version " + std::to_string(run.value("version", 0))
                           : run.value("label", "");
    std::string outcome = run.value("outcome", "");
    if (run.contains("published") && !run.value("published", true)) outcome += " (not published)";
    out.append("\n").append(what).append("  ").append(run.value("checkedAt", ""));
    out.append(run.contains("checkedAt") ? "  " : "").append(std::to_string(run.value("rows", 0)));
    out.append(" rows  ").append(outcome).append("\n");
    TextTable t({"", "SEVERITY", "EXPECTATION", "KIND", "FAILING", "DETAIL"}, 70);
    for (const json& r : run["results"]) {
      t.AddRow({r.value("passed", false) ? "ok" : "FAIL", r.value("severity", ""),
                r.value("name", ""), r.value("kind", ""), std::to_string(r.value("failing", 0)),
                r.value("detail", "")});
    }
    out += t.Render();
    for (const json& r : run["results"]) {
      if (r.value("passed", true)) continue;
      for (const json& row : r["samples"])
        out += "  sample " + r.value("name", "") + ": " + row.dump() + "\n";
      if (r.contains("samplesError")) {
        out += "  samples of " + r.value("name", "") +
               " not shown: " + r.value("samplesError", "") + "\n";
      }
    }
  }
  return out;
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", share * 100);
  return buf;
}

std::string RenderSlos(const json& j) {
  TextTable t({"PRODUCT", "SLO", "THRESHOLD", "OBJECTIVE", "WINDOW", "STATE", "ATTAINMENT",
               "BUDGET LEFT", "SAMPLES"});
  for (const json& s : j["slos"]) {
    std::string threshold = s.contains("threshold") ? Cell(s["threshold"]) : "";
    t.AddRow({s.value("product", ""), s.value("slo", ""), threshold,
              Percent(s.value("objective", 0.0)), s.value("window", ""), s.value("state", ""),
              s.value("samples", 0) > 0 ? Percent(s.value("attainment", 1.0)) : "",
              s.value("samples", 0) > 0 ? Percent(s.value("budgetLeft", 1.0)) : "",
              std::to_string(s.value("samples", 0))});
  }
  if (t.rows() == 0) return "no SLO declared\n";
  return t.Render();
}

int Print(Context& ctx, const Result<json>& r, std::string (*render)(const json&)) {
  if (!r.ok()) return ReportError(r.status());
  std::string out = ctx.options.json ? r->dump(2) + "\n" : render(*r);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// The exit code of a check: blocking failures say so (kFailedPrecondition).
int CheckExit(const json& j) {
  for (const json& c : j["checks"]) {
    if (c.value("outcome", "") == "blocked") return ExitCodeFor(StatusCode::kFailedPrecondition);
  }
  return 0;
}

}  // namespace

void RegisterQualityCommands(CLI::App& app, Context& ctx, int* exit_code) {
  auto* quality = app.add_subcommand("quality", "Quality check results of a port");
  auto address = std::make_shared<std::string>();
  auto limit = std::make_shared<size_t>(5);
  quality->add_option("address", *address, "loom://DOMAIN/PRODUCT/PORT");
  quality->add_option("--limit", *limit, "how many of the latest runs (default 5)");
  auto* check = quality->add_subcommand("check", "Run a port's expectations now");
  auto check_address = std::make_shared<std::string>();
  check->add_option("address", *check_address, "loom://DOMAIN/PRODUCT/PORT")->required();
  quality->require_subcommand(0, 1);
  check->callback([&ctx, exit_code, check_address] {
    Result<Address> a = Address::Parse(*check_address);
    if (!a.ok()) {
      *exit_code = ReportError(a.status());
      return;
    }
    Result<Backend*> b = ctx.GetBackend();
    if (!b.ok()) {
      *exit_code = ReportError(b.status());
      return;
    }
    Result<json> r = (*b)->CheckQuality(*a);
    *exit_code = Print(ctx, r, RenderRuns);
    if (*exit_code == 0) *exit_code = CheckExit(*r);
  });
  quality->callback([&ctx, exit_code, address, limit, check] {
    if (check->parsed()) return;
    if (address->empty()) {
      *exit_code =
          ReportError(InvalidArgument("quality: give a port address (or `check ADDRESS`)"));
      return;
    }
    Result<Address> a = Address::Parse(*address);
    if (!a.ok()) {
      *exit_code = ReportError(a.status());
      return;
    }
    Result<Backend*> b = ctx.GetBackend();
    if (!b.ok()) {
      *exit_code = ReportError(b.status());
      return;
    }
    *exit_code = Print(ctx, (*b)->Quality(*a, *limit), RenderRuns);
  });

  auto* slo = app.add_subcommand("slo", "SLO status and error budget left");
  auto slo_address = std::make_shared<std::string>();
  slo->add_option("address", *slo_address, "loom://DOMAIN/PRODUCT[/PORT] (default: every product)");
  slo->callback([&ctx, exit_code, slo_address] {
    std::optional<Address> a;
    if (!slo_address->empty()) {
      Result<Address> parsed = Address::Parse(*slo_address);
      if (!parsed.ok()) {
        *exit_code = ReportError(parsed.status());
        return;
      }
      a = *parsed;
    }
    Result<Backend*> b = ctx.GetBackend();
    if (!b.ok()) {
      *exit_code = ReportError(b.status());
      return;
    }
    *exit_code = Print(ctx, (*b)->Slos(a), RenderSlos);
  });
}

}  // namespace loom::cli
