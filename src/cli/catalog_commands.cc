// init, apply, list, domains, show, versions, search.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/context.h"
#include "cli/render.h"
#include "spec/spec.h"

namespace loom::cli {
namespace {

using nlohmann::json;

Result<std::string> ReadText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFound("cannot read '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

Result<std::vector<platform::SourceFile>> CollectFiles(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    return std::vector<platform::SourceFile>{{"<stdin>", ss.str()}};
  }
  if (!fs::exists(path, ec)) return NotFound("no such file or directory: '" + path + "'");
  std::vector<std::string> paths;
  if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      std::string ext = it->path().extension().string();
      if (it->is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
        paths.push_back(it->path().string());
      }
    }
    if (ec) return Internal("cannot list '" + path + "': " + ec.message());
    std::sort(paths.begin(), paths.end());
    if (paths.empty()) return NotFound("no *.yaml or *.yml files under '" + path + "'");
  } else {
    paths.push_back(path);
  }
  std::vector<platform::SourceFile> files;
  for (const std::string& p : paths) {
    LOOM_ASSIGN_OR_RETURN(std::string text, ReadText(p));
    files.push_back({p, std::move(text)});
  }
  return files;
}

namespace {

int Print(Context& ctx, const Result<json>& result, std::string (*render)(const json&)) {
  if (!result.ok()) return ReportError(result.status());
  std::string out = ctx.options.json ? result->dump(2) + "\n" : render(*result);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

Result<Address> ParseAddress(const std::string& text) {
  Result<Address> a = Address::Parse(text);
  if (!a.ok()) return a.status();
  return a;
}

}  // namespace

void RegisterCatalogCommands(CLI::App& app, Context& ctx, int* exit_code) {
  // loom init DOMAIN/PRODUCT
  {
    auto* cmd = app.add_subcommand("init", "Scaffold a commented data product descriptor");
    auto name = std::make_shared<std::string>();
    auto dir = std::make_shared<std::string>(".");
    auto force = std::make_shared<bool>(false);
    cmd->add_option("name", *name, "DOMAIN/PRODUCT, e.g. media-player/play-events")->required();
    cmd->add_option("--dir", *dir, "where to write PRODUCT.yaml (default: .)");
    cmd->add_flag("--force", *force, "overwrite an existing file");
    cmd->callback([&ctx, exit_code, name, dir, force] {
      Result<Address> a = ParseAddress(*name);
      if (!a.ok() || a->has_port() || a->version) {
        *exit_code = ReportError(
            a.ok() ? InvalidArgument("init: expected DOMAIN/PRODUCT, got '" + *name + "'")
                   : a.status());
        return;
      }
      std::string path = JoinPath(*dir, a->product + ".yaml");
      std::error_code ec;
      if (std::filesystem::exists(path, ec) && !*force) {
        *exit_code = ReportError(AlreadyExists("'" + path + "' exists (use --force to overwrite)"));
        return;
      }
      std::filesystem::create_directories(*dir, ec);
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      f << spec::ScaffoldDataProduct(a->domain, a->product);
      if (!f.flush()) {
        *exit_code = ReportError(Internal("cannot write '" + path + "'"));
        return;
      }
      if (ctx.options.json) {
        std::cout << json{{"file", path}, {"address", a->ToString()}}.dump(2) << "\n";
      } else {
        std::cout << "wrote " << path << " (" << a->ToString() << ")\nnext: loom apply " << path
                  << "\n";
      }
      *exit_code = 0;
    });
  }
  // loom apply FILE|DIR
  {
    auto* cmd = app.add_subcommand("apply", "Validate descriptors and register them atomically");
    auto paths = std::make_shared<std::vector<std::string>>();
    auto dry = std::make_shared<bool>(false);
    cmd->add_option("path", *paths, "descriptor files or directories (- for stdin)")->required();
    cmd->add_flag("--dry-run", *dry, "only show what would change");
    cmd->callback([&ctx, exit_code, paths, dry] {
      std::vector<platform::SourceFile> files;
      for (const std::string& p : *paths) {
        Result<std::vector<platform::SourceFile>> f = CollectFiles(p);
        if (!f.ok()) {
          *exit_code = ReportError(f.status());
          return;
        }
        files.insert(files.end(), f->begin(), f->end());
      }
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      *exit_code = Print(ctx, (*b)->Apply(files, *dry), RenderApply);
    });
  }
  // loom list [--domain D]
  {
    auto* cmd = app.add_subcommand("list", "List data products");
    auto domain = std::make_shared<std::string>();
    cmd->add_option("--domain", *domain, "only this domain");
    cmd->callback([&ctx, exit_code, domain] {
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      std::optional<std::string> d;
      if (!domain->empty()) d = *domain;
      *exit_code = Print(ctx, (*b)->ListProducts(d), RenderProducts);
    });
  }
  // loom domains
  {
    auto* cmd = app.add_subcommand("domains", "List domains and their owners");
    cmd->callback([&ctx, exit_code] {
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      *exit_code = Print(ctx, (*b)->ListDomains(), RenderDomains);
    });
  }
  // loom show ADDRESS / loom versions ADDRESS
  for (const char* name : {"show", "versions"}) {
    bool is_show = std::string(name) == "show";
    auto* cmd =
        app.add_subcommand(name, is_show ? "Show a data product: schema, ports and their addresses"
                                         : "List every applied version of a product's descriptor");
    auto address = std::make_shared<std::string>();
    cmd->add_option("address", *address, "loom://DOMAIN/PRODUCT[/PORT][@VERSION]")->required();
    cmd->callback([&ctx, exit_code, address, is_show] {
      Result<Address> a = ParseAddress(*address);
      if (!a.ok()) {
        *exit_code = ReportError(a.status());
        return;
      }
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      if (!is_show && a->has_port()) {
        *exit_code = PrintTableVersions(ctx, **b, *a);
        return;
      }
      *exit_code = is_show ? Print(ctx, (*b)->Show(*a), RenderProduct)
                           : Print(ctx, (*b)->Versions(*a), RenderVersions);
    });
  }
  // loom search TEXT [filters]
  {
    auto* cmd = app.add_subcommand("search", "Search data products (ranked full-text)");
    auto p = std::make_shared<platform::SearchParams>();
    auto words = std::make_shared<std::vector<std::string>>();
    auto opt = [cmd](const char* flag, std::optional<std::string>* target, const char* help) {
      cmd->add_option_function<std::string>(
          flag, [target](const std::string& v) { *target = v; }, help);
    };
    cmd->add_option("text", *words, "words to search for");
    opt("--domain", &p->domain, "only this domain");
    opt("--tag", &p->tag, "only products with this tag");
    opt("--owner", &p->owner, "only products of this owner");
    opt("--classification", &p->classification, "public|internal|confidential|restricted");
    opt("--alignment", &p->alignment, "source|consumer|shared");
    opt("--port-kind", &p->port_kind, "stream|table");
    cmd->add_option("--limit", p->limit, "at most this many results (default 20)");
    cmd->add_option("--offset", p->offset, "skip this many results");
    cmd->callback([&ctx, exit_code, p, words] {
      p->text = Join(*words, " ");
      Result<Backend*> b = ctx.GetBackend();
      if (!b.ok()) {
        *exit_code = ReportError(b.status());
        return;
      }
      *exit_code = Print(ctx, (*b)->Search(*p), RenderSearch);
    });
  }
}

}  // namespace loom::cli
