// The trust steps of `loom demo`: quality gates and SLOs, the same query as an analyst (masked)
// and as an outsider (refused), the audit chain, and encryption at rest.

#include <filesystem>
#include <fstream>
#include <iterator>

#include "platform/demo_steps.h"

namespace loom::platform::demo {
namespace {

using nlohmann::json;

// The runs of every table port that declares expectations, as `loom quality` shows them.
Status ShowQualityRuns(Platform& p, Story& story, const Caller& admin) {
  LOOM_ASSIGN_OR_RETURN(json listed, p.ListProducts(admin, std::nullopt));
  for (const json& prod : listed["products"]) {
    if (!prod.contains("portKinds")) continue;
    LOOM_ASSIGN_OR_RETURN(Address product, Address::Parse(prod.value("address", "")));
    LOOM_ASSIGN_OR_RETURN(json shown, p.ShowProduct(admin, product));
    if (!shown.contains("quality") || shown["quality"].empty()) continue;
    for (const json& port : shown["outputPorts"]) {
      if (port.value("kind", "") != "table") continue;
      LOOM_ASSIGN_OR_RETURN(Address a, Address::Parse(port.value("address", "")));
      LOOM_ASSIGN_OR_RETURN(json runs, p.QualityResults(admin, a, 1));
      if (runs["runs"].empty()) continue;
      const json& run = runs["runs"][0];
      size_t passed = 0;
      std::string failed;
      for (const json& r : run["results"]) {
        if (r.value("passed", false)) {
          ++passed;
        } else {
          failed += "; " + r.value("severity", "") + " " + r.value("name", "") + ": " +
                    r.value("detail", "");
        }
      }
      story.Line("%-46s %-14s %7llu rows  %zu/%zu expectations met%s", a.ToString().c_str(),
                 run.value("label", "").c_str(),
                 static_cast<unsigned long long>(run.value("rows", uint64_t{0})), passed,
                 run["results"].size(), failed.c_str());
    }
  }
  return Status::Ok();
}

// Every file under `dir` (recursively) whose bytes contain `needle`, and how many were read.
std::pair<size_t, size_t> FilesHolding(const std::string& dir, const std::string& needle) {
  size_t files = 0, holding = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    holding += bytes.find(needle) != std::string::npos;
  }
  return {files, holding};
}

}  // namespace

Status TellQuality(Platform& p, Story& story, const Caller& admin, const std::string& artists_jsonl,
                   const std::string& input_dir) {
  story.Step("Quality: every version is checked against its product's expectations first");
  LOOM_RETURN_IF_ERROR(ShowQualityRuns(p, story, admin));
  // A version that fails a blocking expectation is never published: the current one stays.
  size_t first_end = artists_jsonl.find('\n');
  if (first_end == std::string::npos) return Internal("demo: no artists generated");
  const std::string doubled = artists_jsonl + artists_jsonl.substr(0, first_end + 1);
  const std::string path = JoinPath(input_dir, "artists-with-a-duplicate.jsonl");
  LOOM_RETURN_IF_ERROR(WriteFileAtomically(*FileSystem::Default(), path, doubled));
  LOOM_ASSIGN_OR_RETURN(Address artists, Address::Parse("loom://artists/profiles/current"));
  Caller team = admin;
  team.identity.principal = "group:artists-team";
  Result<json> blocked = p.PublishTableFile(team, artists, path, table::SourceKind::kJsonLines);
  if (blocked.ok()) return Internal("demo: a version with a duplicated artist was published");
  std::string why = blocked.status().message();
  story.Line("the artists team publishes a file with one artist twice: refused,");
  story.Line("  %s", why.substr(0, why.find('\n')).c_str());
  LOOM_ASSIGN_OR_RETURN(json versions, p.TableVersions(admin, artists));
  story.Line("%s stays at version %llu", artists.ToString().c_str(),
             static_cast<unsigned long long>(versions.value("current", uint64_t{0})));

  story.Step("Service level objectives, sampled (loom serve samples them on every tick)");
  LOOM_ASSIGN_OR_RETURN(json slos, p.EvaluateSlos());
  for (const json& s : slos["slos"]) {
    std::string last;
    if (s.contains("lastValue") && s["lastValue"].is_number()) {
      char text[64];
      const double v = s["lastValue"].get<double>();
      if (s.value("kind", "") == "freshness") {
        std::snprintf(text, sizeof text, ", newest data %.1f h old", v / 3600);
      } else {
        std::snprintf(text, sizeof text, ", last %.3g", v);
      }
      last = std::string(text) + (s.value("lastGood", false) ? " (met)" : " (missed)");
    }
    story.Line("%-42s %-18s %-9s objective %.0f%% over %s%s", s.value("product", "").c_str(),
               s.value("slo", "").c_str(), s.value("state", "").c_str(),
               s.value("objective", 0.0) * 100, s.value("window", "").c_str(), last.c_str());
  }
  return Status::Ok();
}

Status TellAccess(Platform& p, Story& story, const Caller& admin, const std::string& sql) {
  story.Step("The same question as an analyst (personal data masked) and as an outsider");
  LOOM_RETURN_IF_ERROR(p.AddMember(admin, "group:analysts", "user:ada").status());
  LOOM_ASSIGN_OR_RETURN(Caller ada, p.As("user:ada"));
  Platform::QueryOptions q;
  q.format = engine::Format::kTable;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Platform::PreparedQuery> as_ada,
                        p.PrepareQuery(ada, sql, q));
  engine::StringSink ada_out;
  LOOM_RETURN_IF_ERROR(as_ada->Run(ada_out).status());
  story.Line("as user:ada of group:analysts (read, no unmask): top_country is a token");
  story.Block("", ada_out.str());
  LOOM_ASSIGN_OR_RETURN(Caller outsider, p.As("user:outsider"));
  Status denied = Status::Ok();
  Result<std::unique_ptr<Platform::PreparedQuery>> as_outsider = p.PrepareQuery(outsider, sql, q);
  if (as_outsider.ok()) {
    engine::StringSink ignored;
    denied = (*as_outsider)->Run(ignored).status();
  } else {
    denied = as_outsider.status();
  }
  if (denied.ok()) return Internal("demo: an outsider read the royalties");
  story.Line("as user:outsider (no grant): %s", denied.ToString().c_str());
  return Status::Ok();
}

Status TellAudit(Platform& p, Story& story, const Caller& admin) {
  story.Step("The audit log: every decision above, hash-chained, verified");
  security::AuditFilter refused;
  refused.allowed = false;
  LOOM_ASSIGN_OR_RETURN(json denials, p.Audit(admin, refused));
  for (const json& e : denials["entries"]) {
    story.Line("refused: %-16s %-6s %s", e.value("principal", "").c_str(),
               e.value("operation", "").c_str(), e.value("detail", "").substr(0, 70).c_str());
  }
  LOOM_ASSIGN_OR_RETURN(json verified, p.VerifyAudit(admin));
  story.Line("loom audit verify: %s entries, chain intact, head %.16s...",
             verified["entries"].dump().c_str(), verified.value("headHash", "").c_str());
  return Status::Ok();
}

Status TellEncryption(Platform& p, Story& story, const std::string& data_dir,
                      const std::string& known_email) {
  (void)p;
  story.Step("Encryption at rest: confidential products are sealed with AES-256-GCM");
  auto [files, holding] = FilesHolding(data_dir, known_email);
  story.Line("users/profiles is confidential: its versions are sealed under its own data key,");
  story.Line("wrapped by the master key (loom keys rotate re-wraps it without rewriting data)");
  story.Line("%zu files in %s; %zu hold the listener email '%s' in clear", files, data_dir.c_str(),
             holding, known_email.c_str());
  if (holding != 0) return Internal("demo: plaintext personal data found on disk");
  return Status::Ok();
}

}  // namespace loom::platform::demo
