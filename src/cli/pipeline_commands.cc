// pipelines, runs, pipeline run, rebuild, lineage: a product's transform and its lineage.

#include <cstdio>
#include <memory>

#include "cli/context.h"
#include "cli/render.h"

namespace loom::cli {
namespace {

using nlohmann::json;

std::string Ranges(const json& inputs) {
  std::vector<std::string> parts;
  for (const json& in : inputs) {
    std::string a = in.value("address", "");
    if (in.contains("version")) {
      parts.push_back(a + "@" + std::to_string(in["version"].get<uint64_t>()));
    } else if (in.contains("partition")) {
      parts.push_back(a + " p" + std::to_string(in["partition"].get<int>()) + "[" +
                      std::to_string(in.value("offsetBegin", int64_t{0})) + "," +
                      std::to_string(in.value("offsetEnd", int64_t{0})) + ")");
    } else {
      parts.push_back(a);
    }
  }
  return Join(parts, " ");
}

std::string Version(const json& run) {
  return run.contains("outputVersion") && !run["outputVersion"].is_null()
             ? std::to_string(run["outputVersion"].get<uint64_t>())
             : "";
}

std::string RenderPipelines(const json& j) {
  TextTable t({"PIPELINE", "MODE", "SCHEDULE", "LAST RUN", "STATUS", "VERSION", "INPUTS"});
  for (const json& p : j["pipelines"]) {
    std::vector<std::string> inputs;
    for (const json& in : p["inputs"]) inputs.push_back(in.value("alias", ""));
    const json& last = p["lastRun"];
    std::string status = last.is_null() ? "never run" : last.value("status", "");
    if (p.value("failures", 0) > 0) {
      status += " (" + std::to_string(p.value("failures", 0)) + "x, retry " +
                p.value("nextRetryAt", "") + ")";
    }
    t.AddRow({p.value("pipeline", ""), p.value("mode", ""), p.value("schedule", ""),
              last.is_null() ? "" : last.value("startedAt", ""), status,
              last.is_null() ? "" : Version(last), Join(inputs, ", ")});
  }
  return t.Render() + std::to_string(t.rows()) + " pipeline(s)\n";
}

std::string RenderRuns(const json& j) {
  TextTable t({"RUN", "STARTED", "TRIGGER", "STATUS", "VERSION", "ROWS", "INPUTS", "ERROR"}, 80);
  for (const json& r : j["runs"]) {
    t.AddRow({std::to_string(r.value("id", 0)), r.value("startedAt", ""), r.value("trigger", ""),
              r.value("status", ""), Version(r), std::to_string(r.value("rows", 0)),
              Ranges(r["inputs"]), r.value("error", "")});
  }
  return j.value("pipeline", "") + "\n" + t.Render();
}

std::string RenderRan(const json& j) {
  std::string out;
  for (const json& r : j["runs"]) {
    out += r.value("pipeline", "") + ": " + r.value("status", "") + " (" + r.value("trigger", "") +
           ")";
    if (!Version(r).empty()) out += ", version " + Version(r);
    out += ", " + std::to_string(r.value("rows", 0)) + " rows";
    if (!r["inputs"].empty()) out += "\n  from " + Ranges(r["inputs"]);
    if (r.contains("detail") && r["detail"].value("late", 0) > 0) {
      out += "\n  late events: " + std::to_string(r["detail"].value("late", 0));
    }
    out += "\n";
  }
  if (out.empty()) out = "nothing new to process\n";
  return out;
}

std::string ColumnText(const json& columns) {
  std::vector<std::string> parts;
  for (const auto& [out, ins] : columns.items()) {
    std::vector<std::string> names;
    for (const json& n : ins) names.push_back(n.get<std::string>());
    parts.push_back(out + "<-" + Join(names, "+"));
  }
  return Join(parts, ", ");
}

std::string RenderLineageText(const json& j) {
  std::string out = j.value("address", "") + "\n";
  for (const char* dir : {"upstream", "downstream"}) {
    bool any = false;
    for (const json& e : j["edges"]) {
      if (e.value("direction", "") != dir) continue;
      if (!any) out += std::string(dir) + ":\n";
      any = true;
      std::string indent(static_cast<size_t>(2 * e.value("depth", 1)), ' ');
      out += indent + e.value("from", "") + " -> " + e.value("to", "");
      if (e.contains("latest") && !e["latest"].is_null()) {
        const json& l = e["latest"];
        if (l.contains("outputVersion")) {
          out += "  [@" + std::to_string(l["outputVersion"].get<uint64_t>()) + " from " +
                 Ranges(l["inputs"]) + "]";
        } else {
          out += "  [from " + Ranges(l["inputs"]) + "]";
        }
      }
      if (e.contains("columns") && !e["columns"].empty()) {
        out += "\n" + indent + "  columns: " + ColumnText(e["columns"]);
      }
      out += "\n";
    }
  }
  return out;
}

std::string DotQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string RenderLineageDot(const json& j) {
  std::string out = "digraph lineage {\n  rankdir=LR;\n";
  for (const json& n : j["nodes"]) {
    out += "  " + DotQuote(n.value("address", "")) +
           " [shape=" + (n.value("kind", "") == "stream" ? "cds" : "box") + "];\n";
  }
  for (const json& e : j["edges"]) {
    out += "  " + DotQuote(e.value("from", "")) + " -> " + DotQuote(e.value("to", ""));
    if (e.contains("latest") && !e["latest"].is_null() && e["latest"].contains("outputVersion")) {
      out += " [label=" +
             DotQuote("@" + std::to_string(e["latest"]["outputVersion"].get<uint64_t>())) + "]";
    }
    out += ";\n";
  }
  return out + "}\n";
}

int Print(Context& ctx, const Result<json>& r, std::string (*render)(const json&)) {
  if (!r.ok()) return ReportError(r.status());
  std::string out = ctx.options.json ? r->dump(2) + "\n" : render(*r);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// Parses ADDRESS and opens the backend; on failure sets *exit_code.
Backend* Open(Context& ctx, const std::string& text, Address* address, int* exit_code) {
  Result<Address> a = Address::Parse(text);
  if (!a.ok()) {
    *exit_code = ReportError(a.status());
    return nullptr;
  }
  *address = *a;
  Result<Backend*> b = ctx.GetBackend();
  if (!b.ok()) {
    *exit_code = ReportError(b.status());
    return nullptr;
  }
  return *b;
}

}  // namespace

void RegisterPipelineCommands(CLI::App& app, Context& ctx, int* exit_code) {
  {
    auto* cmd = app.add_subcommand("pipelines", "List every pipeline in dependency order");
    cmd->callback([&ctx, exit_code] {
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      *exit_code = Print(ctx, (*b)->ListPipelines(), RenderPipelines);
    });
  }
  {
    auto* cmd = app.add_subcommand("runs", "The runs of a product's pipeline, newest first");
    auto address = std::make_shared<std::string>();
    auto limit = std::make_shared<size_t>(20);
    cmd->add_option("address", *address, "loom://DOMAIN/PRODUCT[/PORT]")->required();
    cmd->add_option("--limit", *limit, "how many runs (default 20)");
    cmd->callback([&ctx, exit_code, address, limit] {
      Address a;
      Backend* b = Open(ctx, *address, &a, exit_code);
      if (b) *exit_code = Print(ctx, b->PipelineRuns(a, *limit), RenderRuns);
    });
  }
  {
    auto* cmd = app.add_subcommand("pipeline", "Run a product's pipeline");
    cmd->require_subcommand(1);
    auto* run = cmd->add_subcommand("run", "Run the pipeline now (streaming: one step)");
    auto address = std::make_shared<std::string>();
    run->add_option("address", *address, "loom://DOMAIN/PRODUCT")->required();
    run->callback([&ctx, exit_code, address] {
      Address a;
      Backend* b = Open(ctx, *address, &a, exit_code);
      if (b) *exit_code = Print(ctx, b->RunPipeline(a), RenderRan);
    });
  }
  {
    auto* cmd = app.add_subcommand("rebuild", "Regenerate a product from its sources");
    auto address = std::make_shared<std::string>();
    auto from = std::make_shared<std::string>();
    auto downstream = std::make_shared<bool>(false);
    cmd->add_option("address", *address, "loom://DOMAIN/PRODUCT")->required();
    cmd->add_option("--from", *from,
                    "VERSION: the inputs that output version was made from; TIME (RFC 3339): "
                    "the inputs as they were then");
    cmd->add_flag("--downstream", *downstream, "then rebuild every product downstream, in order");
    cmd->callback([&ctx, exit_code, address, from, downstream] {
      Address a;
      Backend* b = Open(ctx, *address, &a, exit_code);
      if (!b) return;
      platform::Platform::RebuildRequest r;
      r.downstream = *downstream;
      if (!from->empty()) {
        if (from->find_first_not_of("0123456789") == std::string::npos && from->size() < 19) {
          r.from_version = std::stoull(*from);
        } else {
          Result<TimestampMicros> t = ParseRfc3339(*from);
          if (!t.ok()) {
            *exit_code = ReportError(InvalidArgument(
                "--from '" + *from + "': expected a version number or an RFC 3339 time"));
            return;
          }
          r.from_time = *t;
        }
      }
      *exit_code = Print(ctx, b->Rebuild(a, r), RenderRan);
    });
  }
  {
    auto* cmd = app.add_subcommand("lineage", "The lineage graph around a product or port");
    auto address = std::make_shared<std::string>();
    auto up = std::make_shared<bool>(false);
    auto down = std::make_shared<bool>(false);
    auto depth = std::make_shared<int>(10);
    auto format = std::make_shared<std::string>("text");
    cmd->add_option("address", *address, "loom://DOMAIN/PRODUCT[/PORT]")->required();
    cmd->add_flag("--upstream", *up, "only what it is made from");
    cmd->add_flag("--downstream", *down, "only what is made from it");
    cmd->add_option("--depth", *depth, "how many steps (default 10)");
    cmd->add_option("--format", *format, "text|dot|json (default text)");
    cmd->callback([&ctx, exit_code, address, up, down, depth, format] {
      if (*format != "text" && *format != "dot" && *format != "json") {
        *exit_code =
            ReportError(InvalidArgument("--format '" + *format + "': expected text, dot or json"));
        return;
      }
      Address a;
      Backend* b = Open(ctx, *address, &a, exit_code);
      if (!b) return;
      platform::Platform::LineageRequest r;
      r.upstream = *up || !*down;
      r.downstream = *down || !*up;
      r.depth = *depth;
      Result<json> g = b->Lineage(a, r);
      if (*format == "json" || ctx.options.json) {
        if (!g.ok()) {
          *exit_code = ReportError(g.status());
          return;
        }
        std::string out = g->dump(2) + "\n";
        std::fwrite(out.data(), 1, out.size(), stdout);
        *exit_code = 0;
        return;
      }
      *exit_code = Print(ctx, g, *format == "dot" ? RenderLineageDot : RenderLineageText);
    });
  }
}

}  // namespace loom::cli
