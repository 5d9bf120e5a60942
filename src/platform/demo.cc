#include <chrono>
#include <cstdarg>
#include <string>

#include "platform/demo_data.h"
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

class Story {
 public:
  explicit Story(std::FILE* out) : out_(out) {}

  void Step(const std::string& title) {
    Finish();
    ++step_;
    std::fprintf(out_, "\n[%d] %s\n", step_, title.c_str());
    started_ = std::chrono::steady_clock::now();
    open_ = true;
  }
  void Line(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    std::va_list args;
    va_start(args, fmt);
    std::fputs("    ", out_);
    std::vfprintf(out_, fmt, args);
    std::fputc('\n', out_);
    va_end(args);
  }
  void Finish() {
    if (!open_) return;
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
            .count();
    std::fprintf(out_, "    (%.1f ms)\n", ms);
    open_ = false;
  }

 private:
  std::FILE* out_;
  int step_ = 0;
  bool open_ = false;
  std::chrono::steady_clock::time_point started_;
};

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

}  // namespace

Status RunDemo(const DemoOptions& options, std::FILE* out) {
  FileSystem& fs = *FileSystem::Default();
  if (fs.FileExists(JoinPath(options.data_dir, "catalog.db"))) {
    return FailedPrecondition("data folder '" + options.data_dir +
                              "' already holds a mesh; remove it or pick another --data");
  }
  auto wall = std::chrono::steady_clock::now();
  Story story(out);
  std::fprintf(out, "Loom demo: the media-streaming data mesh, in %s\n", options.data_dir.c_str());

  story.Step("Open the platform (embedded mode: SQLite catalog, local data folder)");
  Options popts;
  popts.data_dir = options.data_dir;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Platform> p, Platform::Open(popts));
  // Each domain team acts as its own principal; the governance group applies the policies.
  Caller governance{"group:governance"};

  story.Step("The governance group sets the global types");
  LOOM_ASSIGN_OR_RETURN(json policies,
                        p->Apply(governance, ExampleFiles("media-streaming/policies/"), false));
  for (const json& c : policies["changes"]) {
    story.Line("%s %s", c.value("change", "").c_str(), c.value("key", "").c_str());
  }

  story.Step("Domains register themselves, then publish their data product descriptors");
  LOOM_ASSIGN_OR_RETURN(json domains,
                        p->Apply(governance, ExampleFiles("media-streaming/domains/"), false));
  story.Line("%zu domains registered", CountChanges(domains, "create"));
  std::vector<SourceFile> products = ExampleFiles("media-streaming/products/");
  LOOM_ASSIGN_OR_RETURN(json applied, p->Apply(Caller{"group:data-platform"}, products, false));
  for (const json& c : applied["changes"]) {
    story.Line("%-12s %s %s", c.value("change", "").c_str(), c.value("key", "").c_str(),
               c.value("to", "").c_str());
  }
  LOOM_ASSIGN_OR_RETURN(json again, p->Apply(Caller{"group:data-platform"}, products, false));
  story.Line("applying the same descriptors again: %zu unchanged (applies are idempotent)",
             CountChanges(again, "unchanged"));

  story.Step("A consumer searches the catalog");
  for (const char* q : {"royalties", "play", "personal"}) {
    SearchParams sp;
    sp.text = q;
    LOOM_ASSIGN_OR_RETURN(json hits, p->Search(Caller{"user:analyst"}, sp));
    std::string names;
    for (const json& h : hits["hits"]) names += " " + h.value("address", "");
    story.Line("loom search %-10s -> %zu hit(s):%s", q, hits["hits"].size(), names.c_str());
  }

  story.Step("...and reads a product's self-description");
  LOOM_ASSIGN_OR_RETURN(Address plays, Address::Parse("loom://media-player/play-events"));
  LOOM_ASSIGN_OR_RETURN(json shown, p->ShowProduct(Caller{"user:analyst"}, plays));
  story.Line("%s: %s (%zu fields, owner %s)", shown.value("address", "").c_str(),
             shown.value("title", "").c_str(), shown["schema"]["fields"].size(),
             shown.value("owner", "").c_str());
  for (const json& port : shown["outputPorts"]) {
    story.Line("port %-8s %-7s %s  (SQL: %s)", port.value("name", "").c_str(),
               port.value("kind", "").c_str(), port.value("address", "").c_str(),
               port.value("sqlName", "").c_str());
  }

  story.Step("The media-player team evolves its product: version 1.1.0 adds a field");
  std::string text;
  for (const SourceFile& f : products) {
    if (f.path.ends_with("play-events.yaml")) text = f.text;
  }
  const std::string from = "version: 1.0.0";
  size_t at = text.find(from);
  if (at == std::string::npos) return Internal("demo: play-events example has no version line");
  text.replace(at, from.size(), "version: 1.1.0");
  const std::string anchor = "      - name: device\n";
  at = text.find(anchor);
  if (at == std::string::npos) return Internal("demo: play-events example has no device field");
  text.insert(at, "      - {name: app_version, type: string, description: Version of the app.}\n");
  LOOM_ASSIGN_OR_RETURN(json evolved, p->Apply(Caller{"group:media-player-team"},
                                               {{"play-events.yaml", text}}, false));
  for (const json& c : evolved["changes"]) {
    story.Line("%s %s %s -> %s", c.value("change", "").c_str(), c.value("key", "").c_str(),
               c.value("from", "").c_str(), c.value("to", "").c_str());
  }
  LOOM_ASSIGN_OR_RETURN(json versions, p->Versions(Caller{"user:analyst"}, plays));
  for (const json& v : versions["versions"]) {
    story.Line("version %s applied by %s at %s", v.value("version", "").c_str(),
               v.value("appliedBy", "").c_str(), v.value("appliedAt", "").c_str());
  }
  story.Step("Source domains publish their data: table snapshots and a stream of play events");
  demo::Generated gen = demo::Generate(options.scale);
  std::string dir = JoinPath(options.data_dir, "demo-input");
  LOOM_RETURN_IF_ERROR(fs.CreateDirs(dir));
  struct TableInput {
    const char* address;
    const char* file;
    const std::string* text;
    table::SourceKind kind;
    const char* team;
  };
  const TableInput tables[] = {
      {"loom://artists/profiles/current", "artists.jsonl", &gen.artists_jsonl,
       table::SourceKind::kJsonLines, "group:artists-team"},
      {"loom://catalog/tracks/current", "tracks.csv", &gen.tracks_csv, table::SourceKind::kCsv,
       "group:catalog-team"},
      {"loom://users/profiles/current", "users.csv", &gen.users_csv, table::SourceKind::kCsv,
       "group:users-team"},
  };
  for (const TableInput& t : tables) {
    std::string path = JoinPath(dir, t.file);
    LOOM_RETURN_IF_ERROR(WriteFileAtomically(fs, path, *t.text));
    LOOM_ASSIGN_OR_RETURN(Address a, Address::Parse(t.address));
    LOOM_ASSIGN_OR_RETURN(json published, p->PublishTableFile(Caller{t.team}, a, path, t.kind));
    story.Line("%s: %llu rows (%s)", published.value("address", "").c_str(),
               static_cast<unsigned long long>(published.value("rows", 0)), t.file);
  }
  LOOM_ASSIGN_OR_RETURN(Address events, Address::Parse("loom://media-player/play-events/events"));
  auto ingest_start = std::chrono::steady_clock::now();
  size_t accepted = 0, duplicates = 0, quarantined = 0, rejected = 0;
  // Publish in batches of about 5,000 events, as a producer would.
  size_t pos = 0;
  while (pos < gen.plays_jsonl.size()) {
    size_t end = pos;
    for (int n = 0; n < 5000 && end < gen.plays_jsonl.size(); ++n) {
      end = gen.plays_jsonl.find('\n', end);
      end = end == std::string::npos ? gen.plays_jsonl.size() : end + 1;
    }
    LOOM_ASSIGN_OR_RETURN(
        json r, p->PublishEvents(Caller{"service:media-player"}, events, "application/x-ndjson",
                                 std::string_view(gen.plays_jsonl).substr(pos, end - pos), {}));
    accepted += r.value("accepted", 0u);
    duplicates += r.value("duplicates", 0u);
    quarantined += r.value("quarantined", 0u);
    rejected += r.value("rejected", 0u);
    pos = end;
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - ingest_start).count();
  story.Line(
      "%s: %llu events sent, %zu accepted, %zu duplicates stored once, %zu invalid kept in "
      "quarantine, %zu rejected",
      events.ToString().c_str(), static_cast<unsigned long long>(gen.events), accepted, duplicates,
      quarantined, rejected);
  story.Line("validated and durable (fsync before ack): %.0f events/s",
             secs > 0 ? static_cast<double>(gen.events) / secs : 0.0);

  story.Step("A consumer asks across three domains: the top artists' royalties this month");
  const std::string royalties =
      "SELECT a.name AS artist, count(*) AS plays, sum(t.royalty_per_play) AS royalties_eur\n"
      "FROM media_player.play_events.events p\n"
      "JOIN catalog.tracks.current t USING (track_id)\n"
      "JOIN artists.profiles.current a ON a.artist_id = t.artist_id\n"
      "WHERE p.played_at >= TIMESTAMPTZ '2026-11-01' AND p.played_at < TIMESTAMPTZ '2026-12-01'\n"
      "GROUP BY a.name ORDER BY royalties_eur DESC, artist LIMIT 5";
  for (size_t at = 0, nl; at < royalties.size(); at = nl + 1) {
    nl = royalties.find('\n', at);
    if (nl == std::string::npos) nl = royalties.size();
    story.Line("%s %s", at == 0 ? "sql>" : "    ", royalties.substr(at, nl - at).c_str());
  }
  Platform::QueryOptions q;
  q.format = engine::Format::kTable;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Platform::PreparedQuery> prepared,
                        p->PrepareQuery(Caller{"user:analyst"}, royalties, q));
  engine::StringSink table_out;
  LOOM_ASSIGN_OR_RETURN(engine::EncodeStats stats, prepared->Run(table_out));
  (void)stats;
  for (size_t at = 0, nl; at < table_out.str().size(); at = nl + 1) {
    nl = table_out.str().find('\n', at);
    if (nl == std::string::npos) nl = table_out.str().size();
    story.Line("%s", table_out.str().substr(at, nl - at).c_str());
  }

  story.Step("The query surface is closed: SQL cannot read files, settings or metadata");
  Result<std::unique_ptr<Platform::PreparedQuery>> refused =
      p->PrepareQuery(Caller{"user:analyst"}, "SELECT * FROM read_csv('/etc/passwd')", q);
  story.Line("SELECT * FROM read_csv('/etc/passwd') -> %s",
             refused.ok() ? "ALLOWED (a bug)" : refused.status().ToString().c_str());
  story.Finish();

  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
  std::fprintf(out,
               "\nDone in %.2f s. Explore further:\n"
               "  loom --data %s list\n"
               "  loom --data %s search royalties\n"
               "  loom --data %s show loom://media-player/play-events\n"
               "  loom --data %s serve --listen 127.0.0.1:8080   # then: curl "
               "127.0.0.1:8080/v1/search?q=play\n",
               total, options.data_dir.c_str(), options.data_dir.c_str(), options.data_dir.c_str(),
               options.data_dir.c_str());
  return Status::Ok();
}

}  // namespace loom::platform
