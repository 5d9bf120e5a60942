// `loom demo`: the reference media-streaming mesh, built through the platform's real paths.

#include <chrono>
#include <cstdarg>
#include <map>
#include <string>

#include "platform/demo_data.h"
#include "platform/demo_steps.h"
#include "platform/demo_story.h"
#include "platform/platform.h"

namespace loom::platform {
namespace examples {
struct EmbeddedFile {
  std::string_view path;
  std::string_view text;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const int kEmbeddedFileCount;
}  // namespace examples

namespace {

using nlohmann::json;

// The demo runs embedded, as the local administrator, recording each team as the one acting.
Caller Acting(std::string principal) {
  Caller c;
  c.identity.principal = std::move(principal);
  return c;
}

std::vector<SourceFile> ExampleFiles(std::string_view prefix) {
  std::vector<SourceFile> files;
  for (int i = 0; i < examples::kEmbeddedFileCount; ++i) {
    const examples::EmbeddedFile& f = examples::kEmbeddedFiles[i];
    if (f.path.starts_with(prefix)) {
      files.push_back({"examples/" + std::string(f.path), std::string(f.text)});
    }
  }
  return files;
}

size_t CountChanges(const json& result, const std::string& change) {
  size_t n = 0;
  for (const json& c : result["changes"]) n += c.value("change", "") == change;
  return n;
}

size_t CountLines(std::string_view text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// Sums the per-record answers of PublishEvents calls.
struct IngestTotals {
  uint64_t sent = 0, accepted = 0, duplicates = 0, quarantined = 0, rejected = 0;
  void Add(const json& r, size_t lines) {
    sent += lines;
    accepted += r.value("accepted", 0u);
    duplicates += r.value("duplicates", 0u);
    quarantined += r.value("quarantined", 0u);
    rejected += r.value("rejected", 0u);
  }
};

// Appends to a raw dump file (when --dump-raw is given).
class RawFile {
 public:
  RawFile(FileSystem& fs, const std::string& dir, const std::string& name) {
    if (dir.empty()) return;
    Result<std::unique_ptr<WritableFile>> f =
        fs.NewWritableFile(JoinPath(dir, name), OpenMode::kTruncate);
    if (f.ok()) file_ = std::move(*f);
    status_ = f.status();
  }
  Status Append(std::string_view text) {
    if (file_ == nullptr || !status_.ok()) return status_;
    return file_->Append(std::span<const char>(text.data(), text.size()));
  }
  Status Close() { return file_ == nullptr ? status_ : file_->Close(); }

 private:
  std::unique_ptr<WritableFile> file_;
  Status status_;
};

}  // namespace

Status RunDemo(const DemoOptions& options, std::FILE* out) {
  FileSystem& fs = *FileSystem::Default();
  if (fs.FileExists(JoinPath(options.data_dir, "catalog.db"))) {
    return FailedPrecondition("data folder '" + options.data_dir +
                              "' already holds a mesh; remove it or pick another --data");
  }
  auto wall = std::chrono::steady_clock::now();
  demo::Story story(out);
  std::fprintf(out, "Loom demo: the media-streaming data mesh, %llu play events, in %s\n",
               static_cast<unsigned long long>(options.scale), options.data_dir.c_str());

  story.Step("Open the platform (embedded mode: SQLite catalog, local data folder)");
  Options popts;
  popts.data_dir = options.data_dir;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Platform> p, Platform::Open(popts));
  const Caller governance = Acting("group:governance");
  const Caller admin{};  // the local administrator of embedded mode

  story.Step("The governance group sets the global policies: shared identifiers, rules and grants");
  LOOM_ASSIGN_OR_RETURN(json policies,
                        p->Apply(governance, ExampleFiles("media-streaming/policies/"), false));
  for (const json& c : policies["changes"]) {
    story.Line("%s %s", c.value("change", "").c_str(), c.value("key", "").c_str());
  }

  story.Step("Ten domains register; each team publishes its data products' descriptors");
  LOOM_ASSIGN_OR_RETURN(json domains,
                        p->Apply(governance, ExampleFiles("media-streaming/domains/"), false));
  std::vector<SourceFile> products = ExampleFiles("media-streaming/products/");
  LOOM_ASSIGN_OR_RETURN(json applied, p->Apply(Acting("group:data-platform"), products, false));
  LOOM_ASSIGN_OR_RETURN(json listed, p->ListProducts(Acting("user:local-admin"), std::nullopt));
  std::map<std::string, std::vector<std::string>> by_domain;
  std::map<std::string, std::string> alignment;
  for (const json& prod : listed["products"]) {
    std::string domain = prod.value("domain", "");
    by_domain[domain].push_back(prod.value("name", ""));
    alignment[domain] = prod.value("alignment", "");
  }
  for (const auto& [domain, names] : by_domain) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    story.Line("%-18s %-9s %s", domain.c_str(), alignment[domain].c_str(), list.c_str());
  }
  story.Line("%zu domains and %zu products registered, each checked against the global policies",
             CountChanges(domains, "create"), CountChanges(applied, "create"));
  // A descriptor that breaks a rule is refused, with the rule named.
  std::string profiles;
  for (const SourceFile& f : products) {
    if (f.path.ends_with("user-profiles.yaml")) profiles = f.text;
  }
  const std::string masked = ", mask: hash,";
  size_t at = profiles.find(masked);
  const std::string version = "version: 1.0.0";
  size_t v = profiles.find(version);
  if (at == std::string::npos || v == std::string::npos) {
    return Internal("demo: the users/profiles example has no hashed email or no version 1.0.0");
  }
  profiles.replace(at, masked.size(), ",");
  profiles.replace(v, version.size(), "version: 1.1.0");
  Result<json> refused_apply =
      p->Apply(Acting("group:users-team"), {{"user-profiles.yaml", profiles}}, false);
  if (refused_apply.ok()) return Internal("demo: a product breaking the standards was applied");
  std::string why = refused_apply.status().message();
  size_t nl = why.find('\n');
  story.Line("users/profiles 1.1.0 without a mask on email: refused,");
  story.Line("  %s", nl == std::string::npos ? why.c_str() : why.substr(nl + 1).c_str());

  story.Step("A consumer discovers products by searching the catalog");
  for (const char* q : {"royalties", "sessions", "personal"}) {
    SearchParams sp;
    sp.text = q;
    LOOM_ASSIGN_OR_RETURN(json hits, p->Search(Acting("user:local-admin"), sp));
    std::string names;
    for (const json& h : hits["hits"]) names += " " + h.value("address", "");
    story.Line("loom search %-10s ->%s", q, names.c_str());
  }

  story.Step("Source domains publish their tables (each publish is a new immutable version)");
  demo::Generator gen(options.scale, options.seed);
  std::string input_dir = options.dump_raw_dir.empty() ? JoinPath(options.data_dir, "demo-input")
                                                       : options.dump_raw_dir;
  LOOM_RETURN_IF_ERROR(fs.CreateDirs(input_dir));
  struct TableInput {
    const char* address;
    const char* file;
    std::string text;
    table::SourceKind kind;
    const char* team;
  };
  const TableInput tables[] = {
      {"loom://users/profiles/current", "users.csv", gen.UsersCsv(), table::SourceKind::kCsv,
       "group:users-team"},
      {"loom://artists/profiles/current", "artists.jsonl", gen.ArtistsJsonl(),
       table::SourceKind::kJsonLines, "group:artists-team"},
      {"loom://catalog/albums/current", "albums.csv", gen.AlbumsCsv(), table::SourceKind::kCsv,
       "group:catalog-team"},
      {"loom://catalog/tracks/current", "tracks.csv", gen.TracksCsv(), table::SourceKind::kCsv,
       "group:catalog-team"},
      {"loom://social/follows/graph", "follows.csv", gen.FollowsCsv(), table::SourceKind::kCsv,
       "group:social-team"},
  };
  for (const TableInput& t : tables) {
    std::string path = JoinPath(input_dir, t.file);
    LOOM_RETURN_IF_ERROR(WriteFileAtomically(fs, path, t.text));
    LOOM_ASSIGN_OR_RETURN(Address a, Address::Parse(t.address));
    LOOM_ASSIGN_OR_RETURN(json published, p->PublishTableFile(Acting(t.team), a, path, t.kind));
    story.Line("%-40s %8llu rows", published.value("address", "").c_str(),
               static_cast<unsigned long long>(published.value("rows", 0)));
  }

  story.Step("The players stream play events and quality events, validated at the door");
  LOOM_ASSIGN_OR_RETURN(Address plays_port,
                        Address::Parse("loom://media-player/play-events/events"));
  LOOM_ASSIGN_OR_RETURN(Address quality_port,
                        Address::Parse("loom://media-player/quality-events/events"));
  const Caller player = Acting("service:media-player");
  RawFile raw_plays(fs, options.dump_raw_dir, "plays.jsonl");
  RawFile raw_quality(fs, options.dump_raw_dir, "quality.jsonl");
  IngestTotals plays, quality;
  auto ingest_start = std::chrono::steady_clock::now();
  std::string plays_batch, quality_batch;
  // Producers send batches of about 5,000 events, as a client library would.
  for (bool more = true; more;) {
    plays_batch.clear();
    more = gen.NextBatch(5000, plays_batch, quality_batch);
    if (!plays_batch.empty()) {
      LOOM_RETURN_IF_ERROR(raw_plays.Append(plays_batch));
      LOOM_ASSIGN_OR_RETURN(
          json r, p->PublishEvents(player, plays_port, "application/x-ndjson", plays_batch, {}));
      plays.Add(r, CountLines(plays_batch));
    }
    if (CountLines(quality_batch) >= 4000 || (!more && !quality_batch.empty())) {
      LOOM_RETURN_IF_ERROR(raw_quality.Append(quality_batch));
      LOOM_ASSIGN_OR_RETURN(json r, p->PublishEvents(player, quality_port, "application/x-ndjson",
                                                     quality_batch, {}));
      quality.Add(r, CountLines(quality_batch));
      quality_batch.clear();
    }
  }
  LOOM_RETURN_IF_ERROR(raw_plays.Close());
  LOOM_RETURN_IF_ERROR(raw_quality.Close());
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ingest_start).count();
  story.Line("%s: %llu sent", plays_port.ToString().c_str(),
             static_cast<unsigned long long>(plays.sent));
  story.Line("  %llu accepted, %llu duplicates (client retries) stored once,",
             static_cast<unsigned long long>(plays.accepted),
             static_cast<unsigned long long>(plays.duplicates));
  story.Line(
      "  %llu invalid kept in quarantine with their reasons, %llu late (kept, by event time)",
      static_cast<unsigned long long>(plays.quarantined),
      static_cast<unsigned long long>(gen.counts().late));
  story.Line("%s: %llu sent, %llu accepted, %llu rejected", quality_port.ToString().c_str(),
             static_cast<unsigned long long>(quality.sent),
             static_cast<unsigned long long>(quality.accepted),
             static_cast<unsigned long long>(quality.rejected));
  story.Line("validated, de-duplicated and durable (fsync before ack): %.0f events/s",
             secs > 0 ? static_cast<double>(plays.sent + quality.sent) / secs : 0.0);
  Platform::ReadRequest peek;
  peek.quarantine = true;
  peek.max_events = 1;
  LOOM_ASSIGN_OR_RETURN(json quarantined,
                        p->ReadEvents(Acting("group:media-player-team"), plays_port, peek));
  if (!quarantined["events"].empty()) {
    const json& e = quarantined["events"][0]["event"];
    story.Line("first quarantined: %s", e.is_object() ? e.value("reason", "").c_str() : "");
  }

  story.Step("Labels stream onboarding events; each closed month becomes a snapshot version");
  std::string labels = gen.LabelEventsJsonl();
  RawFile raw_labels(fs, options.dump_raw_dir, "labels.jsonl");
  LOOM_RETURN_IF_ERROR(raw_labels.Append(labels));
  LOOM_RETURN_IF_ERROR(raw_labels.Close());
  LOOM_ASSIGN_OR_RETURN(Address onboarding, Address::Parse("loom://labels/onboarding/events"));
  LOOM_ASSIGN_OR_RETURN(json onboarded, p->PublishEvents(Acting("service:labels"), onboarding,
                                                         "application/x-ndjson", labels, {}));
  story.Line("%s: %llu accepted", onboarding.ToString().c_str(),
             static_cast<unsigned long long>(onboarded.value("accepted", 0u)));
  LOOM_ASSIGN_OR_RETURN(Address monthly, Address::Parse("loom://labels/onboarding/monthly"));
  for (const char* month :
       {"2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z"}) {
    LOOM_ASSIGN_OR_RETURN(TimestampMicros start, ParseRfc3339(month));
    LOOM_ASSIGN_OR_RETURN(json snap, p->PublishSnapshots(Acting("service:labels"), monthly, start));
    for (const json& v : snap["published"]) {
      story.Line("%s@%llu  month %.7s  %llu rows", monthly.ToString().c_str(),
                 static_cast<unsigned long long>(v.value("version", 0)),
                 v["window"][0].get<std::string>().c_str(),
                 static_cast<unsigned long long>(v.value("rows", 0)));
    }
  }

  story.Step("The consumer domains' pipelines run, in dependency order, as their services");
  LOOM_ASSIGN_OR_RETURN(json pipelines, p->ListPipelines(admin));
  for (const json& pl : pipelines["pipelines"]) {
    LOOM_ASSIGN_OR_RETURN(Address product, Address::Parse(pl.value("product", "")));
    auto started = std::chrono::steady_clock::now();
    LOOM_ASSIGN_OR_RETURN(json runs, p->RunPipeline(admin, product));
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    for (const json& run : runs["runs"]) {
      std::string version = run["outputVersion"].is_null()
                                ? std::string("-")
                                : "@" + std::to_string(run["outputVersion"].get<uint64_t>());
      story.Line("%-42s %-9s %-25s %7lld rows %-3s %5.0f ms", product.ToString().c_str(),
                 pl.value("mode", "").c_str(), run.value("principal", "").c_str(),
                 static_cast<long long>(run.value("rows", int64_t{0})), version.c_str(), ms);
      if (run.value("status", "") != "succeeded") {
        story.Line("  %s: %s", run.value("status", "").c_str(), run.value("error", "").c_str());
      }
    }
  }

  LOOM_RETURN_IF_ERROR(demo::TellQuality(*p, story, admin, gen.ArtistsJsonl(), input_dir));
  if (options.dump_raw_dir.empty()) {
    // The inputs were the teams' files, not the platform's: nothing of them stays behind.
    LOOM_RETURN_IF_ERROR(fs.DeleteDirRecursively(input_dir));
  }

  story.Step("A consumer asks across four domains: the top artists' royalties this month");
  const std::string royalties =
      "SELECT a.name AS artist, a.label_id AS label, count(*) AS plays,\n"
      "       sum(t.royalty_per_play) AS royalties_eur, mode(u.country) AS top_country\n"
      "FROM media_player.play_events.events p\n"
      "JOIN catalog.tracks.current t USING (track_id)\n"
      "JOIN artists.profiles.current a ON a.artist_id = t.artist_id\n"
      "LEFT JOIN users.profiles.current u ON u.user_id = p.user_id\n"
      "WHERE p.played_at >= TIMESTAMPTZ '2026-11-01' AND p.played_at < TIMESTAMPTZ '2026-12-01'\n"
      "  AND p.duration_ms >= 30000  -- a play is paid once it lasted 30 s\n"
      "GROUP BY ALL ORDER BY royalties_eur DESC, artist LIMIT 5";
  story.Block("sql> ", royalties);
  Platform::QueryOptions q;
  q.format = engine::Format::kTable;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Platform::PreparedQuery> prepared,
                        p->PrepareQuery(Acting("user:local-admin"), royalties, q));
  engine::StringSink table_out;
  LOOM_ASSIGN_OR_RETURN(engine::EncodeStats stats, prepared->Run(table_out));
  (void)stats;
  story.Block("", table_out.str());

  // The payments domain's own product gives the same answer as the ad-hoc query.
  const std::string from_product =
      "SELECT a.name AS artist, r.royalties_eur FROM artist_payments.monthly_royalties.monthly r "
      "JOIN artists.profiles.current a USING (artist_id) WHERE r.month = DATE '2026-11-01' "
      "ORDER BY r.royalties_eur DESC, artist LIMIT 1";
  Platform::QueryOptions csv;
  csv.format = engine::Format::kCsv;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Platform::PreparedQuery> top,
                        p->PrepareQuery(admin, from_product, csv));
  engine::StringSink top_out;
  LOOM_ASSIGN_OR_RETURN(engine::EncodeStats top_stats, top->Run(top_out));
  (void)top_stats;
  std::string top_row = top_out.str().substr(top_out.str().find('\n') + 1);
  while (!top_row.empty() && (top_row.back() == '\n' || top_row.back() == '\r')) top_row.pop_back();
  story.Line("artist-payments/monthly-royalties, the payments domain's product, agrees: %s EUR",
             top_row.c_str());

  story.Step("Lineage of artist-payments: the exact inputs of every number");
  Platform::LineageRequest lr;
  lr.downstream = false;
  LOOM_ASSIGN_OR_RETURN(Address royalties_product,
                        Address::Parse("loom://artist-payments/monthly-royalties"));
  LOOM_ASSIGN_OR_RETURN(json lineage, p->Lineage(admin, royalties_product, lr));
  for (const json& e : lineage["edges"]) {
    std::string inputs;
    if (e.contains("latest") && e["latest"].is_object()) {
      for (const json& in : e["latest"]["inputs"]) {
        if (in.contains("version")) {
          inputs += " @" + std::to_string(in["version"].get<uint64_t>());
        } else if (in.contains("offsetEnd")) {
          inputs += " p" + std::to_string(in.value("partition", 0)) + "[" +
                    std::to_string(in.value("offsetBegin", int64_t{0})) + "," +
                    std::to_string(in.value("offsetEnd", int64_t{0})) + ")";
        }
      }
    }
    story.Line("%s <- %s%s", e.value("to", "").c_str(), e.value("from", "").c_str(),
               inputs.c_str());
  }

  LOOM_RETURN_IF_ERROR(demo::TellAccess(*p, story, admin, royalties));

  story.Step("The query surface is closed: SQL cannot read files, settings or metadata");
  Result<std::unique_ptr<Platform::PreparedQuery>> refused =
      p->PrepareQuery(Acting("user:local-admin"), "SELECT * FROM read_csv('/etc/passwd')", q);
  story.Line("SELECT * FROM read_csv('/etc/passwd') -> %s",
             refused.ok() ? "ALLOWED (a bug)" : refused.status().ToString().c_str());

  const std::string users_csv = gen.UsersCsv();
  const size_t row = users_csv.find('\n') + 1;
  const size_t email_at = users_csv.find(',', row) + 1;
  const std::string email = users_csv.substr(email_at, users_csv.find(',', email_at) - email_at);
  LOOM_RETURN_IF_ERROR(demo::TellEncryption(*p, story, options.data_dir, email));
  LOOM_RETURN_IF_ERROR(demo::TellAudit(*p, story, admin));
  story.Finish();

  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  const char* d = options.data_dir.c_str();
  std::fprintf(
      out,
      "\nDone in %.2f s. Explore the mesh further:\n"
      "  loom --data %s list\n"
      "  loom --data %s search royalties\n"
      "  loom --data %s show loom://artist-payments/monthly-royalties\n"
      "  loom --data %s --as user:ada query \"SELECT * FROM users.profiles.current LIMIT 3\"\n"
      "  loom --data %s audit --denied\n"
      "  loom --data %s serve --listen 127.0.0.1:8080 --pg-listen 127.0.0.1:5433\n"
      "    then, in another shell (every request carries a token):\n"
      "      export LOOM_TOKEN=$(loom --data %s token create --for user:ada | sed -n 2p)\n"
      "      loom --server http://127.0.0.1:8080 search play\n"
      "      curl -H \"Authorization: Bearer $LOOM_TOKEN\" 127.0.0.1:8080/v1/search?q=play\n"
      "      PGPASSWORD=$LOOM_TOKEN psql -h 127.0.0.1 -p 5433 -U ada -d loom "
      "-c 'SELECT count(*) FROM media_player.play_events.events'\n",
      total, d, d, d, d, d, d, d);
  return Status::Ok();
}

}  // namespace loom::platform
