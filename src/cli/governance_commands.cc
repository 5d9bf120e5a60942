// policy check, diff, types: global governance from the command line (docs/governance.md).

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/context.h"
#include "cli/render.h"

namespace loom::cli {
namespace {

using nlohmann::json;

void Out(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::string RenderChanges(const json& diffs) {
  std::string out;
  for (const json& d : diffs) {
    out += d.value("address", "") + "  " + d.value("from", "") + " -> " + d.value("to", "") + "  " +
           d.value("impact", "") + "\n";
    if (d["changes"].empty()) out += "  no changes\n";
    for (const json& c : d["changes"]) {
      out += "  " + c.value("impact", "") + "  " + c.value("kind", "") + "  " + c.value("path", "");
      if (!c.value("detail", "").empty()) out += " (" + c.value("detail", "") + ")";
      out += "\n";
    }
  }
  return out;
}

std::string RenderDiff(const json& r) {
  std::string out = r["diffs"].empty() ? "no product of these files has a current version\n"
                                       : RenderChanges(r["diffs"]);
  for (const json& p : r["versionProblems"]) out += "refused: " + p.get<std::string>() + "\n";
  return out;
}

std::string RenderCheck(const json& r) {
  std::string out;
  for (const json& v : r["violations"]) out += v.value("text", "") + "\n";
  for (const json& p : r["versionProblems"]) out += p.get<std::string>() + "\n";
  const size_t products = r["products"].size();
  const size_t violations = r["violations"].size();
  const size_t versions = r["versionProblems"].size();
  if (violations == 0 && versions == 0) {
    out += "ok: " + std::to_string(products) +
           (products == 1 ? " product follows" : " products follow") + " every policy\n";
  } else {
    out += std::to_string(violations) + " policy violation" + (violations == 1 ? "" : "s") + ", " +
           std::to_string(versions) + " version problem" + (versions == 1 ? "" : "s") + " in " +
           std::to_string(products) + " product" + (products == 1 ? "" : "s") + "\n";
  }
  return out;
}

std::string RenderTypes(const json& r, bool detail) {
  if (!detail) {
    TextTable t({"NAME", "TYPE", "PATTERN", "OWNER", "POLICY", "PRODUCTS"});
    for (const json& g : r["types"]) {
      t.AddRow({g.value("name", ""), g.value("type", ""), Cell(g["constraints"]["pattern"]),
                g.value("ownerDomain", ""), g.value("policy", ""),
                std::to_string(g["products"].size())});
    }
    return t.Render() + std::to_string(t.rows()) + " global type" + (t.rows() == 1 ? "" : "s") +
           "\n";
  }
  std::string out;
  for (const json& g : r["types"]) {
    out += g.value("name", "") + ": " + g.value("type", "");
    if (!g["constraints"]["pattern"].is_null()) {
      out += ", pattern " + g["constraints"]["pattern"].get<std::string>();
    }
    out += " (owner domain " + g.value("ownerDomain", "") + ", policy " + g.value("policy", "") +
           ")\n";
    if (!g.value("description", "").empty()) out += "  " + g.value("description", "") + "\n";
    TextTable t({"PRODUCT", "VERSION", "FIELDS"});
    for (const json& p : g["products"]) {
      t.AddRow({p.value("address", "") + (p.value("deprecated", false) ? " (deprecated)" : ""),
                p.value("version", ""), Cell(p["fields"])});
    }
    out += t.Render() + std::to_string(t.rows()) + " product" + (t.rows() == 1 ? "" : "s") +
           " carry " + g.value("name", "") + "\n";
  }
  return out;
}

// Collects every file of every path; false (and *exit_code set) on error.
bool Collect(const std::vector<std::string>& paths, std::vector<platform::SourceFile>* files,
             int* exit_code) {
  for (const std::string& p : paths) {
    Result<std::vector<platform::SourceFile>> f = CollectFiles(p);
    if (!f.ok()) {
      *exit_code = ReportError(f.status());
      return false;
    }
    files->insert(files->end(), f->begin(), f->end());
  }
  return true;
}

}  // namespace

void RegisterGovernanceCommands(CLI::App& app, Context& ctx, int* exit_code) {
  // loom policy check PATH... [--policies PATH]... [--offline]
  {
    auto* policy = app.add_subcommand("policy", "Global governance policies");
    policy->require_subcommand(1);
    auto* cmd = policy->add_subcommand(
        "check", "Run apply's policy and version review on descriptors, without applying");
    auto paths = std::make_shared<std::vector<std::string>>();
    auto policies = std::make_shared<std::vector<std::string>>();
    auto offline = std::make_shared<bool>(false);
    cmd->add_option("path", *paths, "descriptor files or directories")->required();
    cmd->add_option("--policies", *policies,
                    "Policy files or directories to check against (implies --offline)");
    cmd->add_flag("--offline", *offline,
                  "no catalog: only the policies given (in PATH or --policies)");
    cmd->callback([&ctx, exit_code, paths, policies, offline] {
      std::vector<platform::SourceFile> files;
      if (!Collect(*policies, &files, exit_code) || !Collect(*paths, &files, exit_code)) return;
      Result<json> r = [&]() -> Result<json> {
        if (*offline || !policies->empty()) return platform::Platform::PolicyCheckOffline(files);
        LOOM_ASSIGN_OR_RETURN(Backend * b, ctx.GetBackend());
        return b->PolicyCheck(files);
      }();
      if (!r.ok()) {
        *exit_code = ReportError(r.status());
        return;
      }
      Out(ctx.options.json ? r->dump(2) + "\n" : RenderCheck(*r));
      // Violations are a validation failure (3), version problems a precondition (6).
      if (!(*r)["violations"].empty()) {
        *exit_code = ExitCodeFor(StatusCode::kInvalidArgument);
      } else if (!(*r)["versionProblems"].empty()) {
        *exit_code = ExitCodeFor(StatusCode::kFailedPrecondition);
      } else {
        *exit_code = 0;
      }
    });
  }
  // loom diff FILE|DIR  or  loom diff ADDRESS@V1 ADDRESS@V2
  {
    auto* cmd = app.add_subcommand(
        "diff",
        "Classify the changes of a descriptor against the current version, or of two "
        "versions");
    auto args = std::make_shared<std::vector<std::string>>();
    cmd->add_option("args", *args, "FILE|DIR, or two addresses loom://D/P@V1 loom://D/P@V2")
        ->required();
    cmd->callback([&ctx, exit_code, args] {
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      std::error_code ec;
      const bool addresses =
          args->size() == 2 && !std::filesystem::exists(args->at(0), ec) && args->at(0) != "-";
      std::vector<platform::SourceFile> files;
      if (!addresses && !Collect(*args, &files, exit_code)) return;
      Result<json> r = [&]() -> Result<json> {
        if (!addresses) return (*b)->Diff(files);
        LOOM_ASSIGN_OR_RETURN(Address from, Address::Parse(args->at(0)));
        LOOM_ASSIGN_OR_RETURN(Address to, Address::Parse(args->at(1)));
        return (*b)->DiffVersions(from, to);
      }();
      if (!r.ok()) {
        *exit_code = ReportError(r.status());
        return;
      }
      Out(ctx.options.json ? r->dump(2) + "\n" : RenderDiff(*r));
      *exit_code =
          (*r)["versionProblems"].empty() ? 0 : ExitCodeFor(StatusCode::kFailedPrecondition);
    });
  }
  // loom types [NAME]
  {
    auto* cmd = app.add_subcommand(
        "types", "List global types, or one with every product carrying it (joinable products)");
    auto name = std::make_shared<std::string>();
    cmd->add_option("name", *name, "a global type, e.g. artist_id");
    cmd->callback([&ctx, exit_code, name] {
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      std::optional<std::string> n;
      if (!name->empty()) n = *name;
      Result<json> r = (*b)->GlobalTypes(n);
      if (!r.ok()) {
        *exit_code = ReportError(r.status());
        return;
      }
      Out(ctx.options.json ? r->dump(2) + "\n" : RenderTypes(*r, n.has_value()));
      *exit_code = 0;
    });
  }
}

}  // namespace loom::cli
