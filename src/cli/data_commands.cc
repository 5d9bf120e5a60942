// publish, query, sample: data in and out of ports.

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli/context.h"
#include "cli/render.h"

namespace loom::cli {
namespace {

using nlohmann::json;

// Writes encoded query output to a FILE (stdout or -o FILE).
class FileSink final : public engine::Sink {
 public:
  explicit FileSink(std::FILE* f) : f_(f) {}
  Status Write(std::string_view bytes) override {
    if (std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size()) {
      return Internal("cannot write the output");
    }
    return Status::Ok();
  }

 private:
  std::FILE* f_;
};

Result<table::SourceKind> KindOf(const std::string& path, const std::string& format) {
  std::string f = format;
  if (f.empty()) {
    size_t dot = path.rfind('.');
    f = dot == std::string::npos ? "" : path.substr(dot + 1);
  }
  if (f == "csv") return table::SourceKind::kCsv;
  if (f == "jsonl" || f == "ndjson") return table::SourceKind::kJsonLines;
  if (f == "parquet") return table::SourceKind::kParquet;
  return InvalidArgument("'" + path +
                         "': cannot tell the format; use a .csv, .jsonl or .parquet file or "
                         "--format csv|jsonl|parquet");
}

std::string RenderPublished(const json& j) {
  return "published " + j.value("address", "") + ": " + std::to_string(j.value("rows", 0)) +
         " rows from " + j.value("source", "") + "\n";
}

std::string RenderTableVersions(const json& j) {
  TextTable t({"VERSION", "PUBLISHED AT", "BY", "ROWS", "SOURCE"});
  for (const json& v : j["versions"]) {
    std::string n = std::to_string(v.value("version", 0));
    if (v.value("version", 0) == j.value("current", 0)) n += " (current)";
    t.AddRow({n, v.value("publishedAt", ""), v.value("publishedBy", ""),
              std::to_string(v.value("rows", 0)), v.value("source", "")});
  }
  return j.value("address", "") + "\n" + t.Render();
}

std::string RenderSnapshots(const json& j) {
  std::string out;
  for (const json& p : j["published"]) {
    out += "published " + j.value("address", "") + "@" + std::to_string(p.value("version", 0)) +
           ": window [" + p["window"][0].get<std::string>() + ", " +
           p["window"][1].get<std::string>() + "), " + std::to_string(p.value("rows", 0)) +
           " rows\n";
  }
  if (out.empty()) out = "no closed window to publish for " + j.value("address", "") + "\n";
  return out;
}

std::string RenderSample(const json& j) {
  std::vector<std::string> header;
  for (const json& c : j["columns"]) header.push_back(c.value("name", ""));
  TextTable t(header, 30);
  for (const json& row : j["rows"]) {
    std::vector<std::string> cells;
    for (const std::string& h : header) cells.push_back(row.contains(h) ? Cell(row[h]) : "");
    t.AddRow(std::move(cells));
  }
  return t.Render() + "(" + std::to_string(t.rows()) + " rows)\n";
}

int PrintJsonOr(Context& ctx, const Result<json>& r, std::string (*render)(const json&)) {
  if (!r.ok()) return ReportError(r.status());
  std::string out = ctx.options.json ? r->dump(2) + "\n" : render(*r);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

std::string PortKind(const json& product, const std::string& port) {
  if (!product.contains("outputPorts")) return "";
  for (const json& p : product["outputPorts"]) {
    if (p.value("name", "") == port) return p.value("kind", "");
  }
  return "";
}

Result<std::string> ReadInput(const std::string& path) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (f == nullptr) return NotFound("cannot read '" + path + "'");
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  if (f != stdin) std::fclose(f);
  return data;
}

// The CloudEvents media type of a file: by --format, else the file name, else its first byte.
Result<std::string> EventsContentType(const std::string& path, const std::string& format,
                                      const std::string& body) {
  std::string f = format;
  if (f.empty()) {
    if (path.ends_with(".jsonl") || path.ends_with(".ndjson")) {
      f = "jsonl";
    } else {
      size_t i = body.find_first_not_of(" \t\r\n");
      bool array = i != std::string::npos && body[i] == '[';
      f = array ? "batch" : (path.ends_with(".json") ? "structured" : "jsonl");
    }
  }
  if (f == "structured") return std::string("application/cloudevents+json");
  if (f == "batch") return std::string("application/cloudevents-batch+json");
  if (f == "jsonl") return std::string("application/x-ndjson");
  return InvalidArgument("--format '" + f + "': a stream port takes structured, batch or jsonl");
}

std::string RenderIngest(const json& j) {
  std::string out = "published to " + j.value("address", "") + ": " +
                    std::to_string(j.value("accepted", 0)) + " accepted, " +
                    std::to_string(j.value("duplicates", 0)) + " duplicate(s), " +
                    std::to_string(j.value("rejected", 0)) + " rejected, " +
                    std::to_string(j.value("quarantined", 0)) + " quarantined\n";
  for (const json& r : j["records"]) {
    std::string outcome = r.value("outcome", "");
    if (outcome == "rejected" || outcome == "quarantined") {
      out += "  record " + std::to_string(r.value("index", 0)) + " " + outcome + ": " +
             r.value("reason", "") + "\n";
    }
  }
  return out;
}

int PublishEventsFile(Context& ctx, Backend& b, const Address& port, const std::string& path,
                      const std::string& format) {
  Result<std::string> body = ReadInput(path);
  if (!body.ok()) return ReportError(body.status());
  Result<std::string> type = EventsContentType(path, format, *body);
  if (!type.ok()) return ReportError(type.status());
  Result<json> r = b.PublishEvents(port, *type, *body);
  int code = PrintJsonOr(ctx, r, RenderIngest);
  // Rejected records were not stored: say so in the exit code too.
  if (code == 0 && r->value("rejected", 0) > 0) return ExitCodeFor(StatusCode::kInvalidArgument);
  return code;
}

}  // namespace

// The table-port part of `loom versions ADDRESS/PORT`.
int PrintTableVersions(Context& ctx, Backend& b, const Address& port) {
  return PrintJsonOr(ctx, b.TableVersions(port), RenderTableVersions);
}

void RegisterDataCommands(CLI::App& app, Context& ctx, int* exit_code) {
  // loom publish ADDRESS FILE
  {
    auto* cmd = app.add_subcommand("publish", "Publish a file into a port (a new table version)");
    auto address = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>();
    cmd->add_option("address", *address, "loom://DOMAIN/PRODUCT/PORT")->required();
    auto sql = std::make_shared<std::string>();
    cmd->add_option("file", *file,
                    "stream port: CloudEvents (.json, .jsonl, - for stdin); table port: a .csv, "
                    ".jsonl or .parquet file");
    cmd->add_option("--sql", *sql, "table port: publish the result of this query instead");
    cmd->add_option("--format", *format,
                    "stream: structured|batch|jsonl; table: csv|jsonl|parquet (default: from the "
                    "file name)");
    cmd->callback([&ctx, exit_code, address, file, format, sql] {
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
      Result<json> port = (*b)->Show(*a);
      if (!port.ok()) {
        *exit_code = ReportError(port.status());
        return;
      }
      if (file->empty() == sql->empty()) {
        *exit_code =
            ReportError(InvalidArgument("publish: give a FILE or --sql QUERY (one of them)"));
        return;
      }
      if (!sql->empty()) {
        *exit_code = PrintJsonOr(ctx, (*b)->PublishTableQuery(*a, *sql), RenderPublished);
        return;
      }
      if (PortKind(*port, a->port) == "stream") {
        *exit_code = PublishEventsFile(ctx, **b, *a, *file, *format);
        return;
      }
      Result<table::SourceKind> kind = KindOf(*file, *format);
      if (!kind.ok()) {
        *exit_code = ReportError(kind.status());
        return;
      }
      *exit_code = PrintJsonOr(ctx, (*b)->PublishTable(*a, *file, *kind), RenderPublished);
    });
  }
  // loom snapshot ADDRESS [--window START]
  {
    auto* cmd = app.add_subcommand(
        "snapshot", "Publish closed windows of a stream into its snapshot table port");
    auto address = std::make_shared<std::string>();
    auto window = std::make_shared<std::string>();
    cmd->add_option("address", *address, "loom://DOMAIN/PRODUCT/PORT (a snapshot table port)")
        ->required();
    cmd->add_option("--window", *window,
                    "the start of one closed window (RFC 3339); default: every closed window "
                    "not yet published");
    cmd->callback([&ctx, exit_code, address, window] {
      Result<Address> a = Address::Parse(*address);
      if (!a.ok()) {
        *exit_code = ReportError(a.status());
        return;
      }
      std::optional<TimestampMicros> start;
      if (!window->empty()) {
        Result<TimestampMicros> t = ParseRfc3339(*window);
        if (!t.ok()) {
          *exit_code = ReportError(t.status().WithPrefix("--window"));
          return;
        }
        start = *t;
      }
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      *exit_code = PrintJsonOr(ctx, (*b)->PublishSnapshots(*a, start), RenderSnapshots);
    });
  }
  // loom tail ADDRESS
  {
    auto* cmd = app.add_subcommand("tail", "Read the events of a stream port (as JSON Lines)");
    auto address = std::make_shared<std::string>();
    auto req = std::make_shared<platform::Platform::ReadRequest>();
    auto group = std::make_shared<std::string>();
    auto follow = std::make_shared<bool>(false);
    auto limit = std::make_shared<size_t>(0);
    auto partition = std::make_shared<int32_t>(-1);
    cmd->add_option("address", *address, "loom://DOMAIN/PRODUCT/PORT")->required();
    cmd->add_option("--from", req->from, "earliest (default) | latest | an RFC 3339 time");
    cmd->add_option("--group", *group,
                    "a consumer group: start at its committed offsets and "
                    "commit what was printed");
    cmd->add_option("--partition", *partition, "only this partition");
    cmd->add_option("--limit", *limit, "stop after this many events");
    cmd->add_flag("--follow", *follow, "keep waiting for new events");
    cmd->add_flag("--quarantine", req->quarantine, "read the port's quarantine (owners)");
    cmd->callback([&ctx, exit_code, address, req, group, follow, limit, partition] {
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
      if (!group->empty()) req->group = *group;
      if (*partition >= 0) req->partition = *partition;
      size_t printed = 0;
      while (true) {
        req->max_events = 1000;
        if (*limit > 0) req->max_events = std::min<size_t>(1000, *limit - printed);
        req->wait_ms = *follow ? 10000 : 0;
        Result<json> page = (*b)->ReadEvents(*a, *req);
        if (!page.ok()) {
          *exit_code = ReportError(page.status());
          return;
        }
        for (const json& e : (*page)["events"]) {
          std::string line = ctx.options.json ? e.dump() : e["event"].dump();
          std::fwrite(line.data(), 1, line.size(), stdout);
          std::fputc('\n', stdout);
          ++printed;
        }
        std::fflush(stdout);
        // Continue from where this page ended, whatever the start rule was.
        req->offsets.clear();
        std::map<uint32_t, int64_t> next;
        for (const auto& [p, o] : (*page)["next"].items()) {
          req->offsets[std::stoi(p)] = o.get<int64_t>();
          next[static_cast<uint32_t>(std::stoul(p))] = o.get<int64_t>();
        }
        if (req->group && !(*page)["events"].empty()) {
          Result<json> c = (*b)->CommitOffsets(*a, *req->group, next);
          if (!c.ok()) {
            *exit_code = ReportError(c.status());
            return;
          }
        }
        if (*limit > 0 && printed >= *limit) break;
        if (!*follow && (*page).value("endOfStream", false) && (*page)["events"].empty()) break;
      }
      *exit_code = 0;
    });
  }
  // loom query SQL
  {
    auto* cmd = app.add_subcommand("query", "Run a read-only SQL query over data products");
    auto sql = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>();
    auto as_of = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    cmd->add_option("sql", *sql, "one SELECT; ports are <domain>.<product>.<port>")->required();
    cmd->add_option("--format", *format, "table|json|ndjson|csv|parquet (default table)");
    cmd->add_option("--as-of", *as_of, "read table ports as of this RFC 3339 time");
    cmd->add_option("-o,--output", *output, "write to this file instead of stdout");
    cmd->callback([&ctx, exit_code, sql, format, as_of, output] {
      platform::Platform::QueryOptions options;
      std::string f = format->empty() ? (ctx.options.json ? "json" : "table") : *format;
      Result<engine::Format> parsed = engine::ParseFormat(f);
      if (!parsed.ok()) {
        *exit_code = ReportError(parsed.status());
        return;
      }
      options.format = *parsed;
      if (!as_of->empty()) {
        Result<TimestampMicros> t = ParseRfc3339(*as_of);
        if (!t.ok()) {
          *exit_code = ReportError(t.status().WithPrefix("--as-of"));
          return;
        }
        options.as_of = *t;
      }
      if (options.format == engine::Format::kParquet && output->empty()) {
        *exit_code = ReportError(InvalidArgument("--format parquet needs -o FILE"));
        return;
      }
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      std::FILE* out = stdout;
      if (!output->empty()) {
        out = std::fopen(output->c_str(), "wb");
        if (out == nullptr) {
          *exit_code = ReportError(Internal("cannot write '" + *output + "'"));
          return;
        }
      }
      FileSink sink(out);
      Status s = (*b)->Query(*sql, options, sink);
      if (out != stdout) std::fclose(out);
      *exit_code = s.ok() ? 0 : ReportError(s);
    });
  }
  // loom sample ADDRESS
  {
    auto* cmd = app.add_subcommand("sample", "Show a few rows of a port");
    auto address = std::make_shared<std::string>();
    auto rows = std::make_shared<size_t>(10);
    cmd->add_option("address", *address, "loom://DOMAIN/PRODUCT/PORT[@VERSION]")->required();
    cmd->add_option("--rows", *rows, "how many rows (default 10)");
    cmd->callback([&ctx, exit_code, address, rows] {
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
      *exit_code = PrintJsonOr(ctx, (*b)->Sample(*a, *rows), RenderSample);
    });
  }
}

}  // namespace loom::cli
