// bench_catalog: applies N generated products (default 100,000) to a fresh SQLite catalog in
// calls of --batch products (default 1,000), then runs --queries varied searches (default 1,000)
// for --rounds rounds (default 5) and prints apply throughput and search latency: median, p95
// and p99 of wall time and of the searching thread's CPU time (the machine is shared: CPU time
// is what a search costs, wall time what it waited too), each the median over the rounds.
// Baseline, measured in every round on the same data: a LIKE scan of the product table for
// --baseline-queries single-word queries of the same list (what a catalog without a full-text
// index does). Then the same queries on --threads threads (default 2) against one thread.
// The p99 is also printed as a ratio to issue 2's target (p99 under 5 ms).
//
//   bench_catalog [--products N] [--batch N] [--queries N] [--rounds N] [--threads N]
//                 [--baseline-queries N] [--dir DIR] [--seed N]
//                 [--show-slow N]     (how many of the slowest queries to print; default 8)
//                 [--caller-queries N] (searches as a caller who may not see one domain: with
//                                      SearchQuery::visible against asking for 1,000 hits and
//                                      filtering them, as the platform did; default 200)
//                 [--dump FILE]       (write every query's hits: limit 20 at offsets 0 and 7,
//                                      and limit 1000, as the platform asks; diff two builds)
//                 [--search-only 1]   (reuse the catalog a previous run left in --dir)

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.h"

namespace {

using loom::catalog::Catalog;
using loom::catalog::SearchQuery;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kDomains = {
    "media-player", "artists",   "artist-payments", "subscriptions",  "ads",
    "search",       "recommend", "podcasts",        "payments",       "marketing",
    "support",      "devices",   "catalog-ops",     "label-relations"};
const std::vector<std::string> kAdjectives = {
    "daily",   "hourly",   "monthly",  "weekly",    "raw",      "clean",   "curated",   "enriched",
    "active",  "failed",   "pending",  "regional",  "global",   "top",     "new",       "returning",
    "premium", "free",     "mobile",   "desktop",   "live",     "skipped", "completed", "trending",
    "flagged", "verified", "refunded", "scheduled", "archived", "sampled"};
const std::vector<std::string> kNouns = {
    "plays",        "listeners",  "tracks",     "albums",        "artists",      "playlists",
    "sessions",     "searches",   "clicks",     "impressions",   "ads",          "campaigns",
    "invoices",     "payments",   "royalties",  "contracts",     "labels",       "devices",
    "errors",       "crashes",    "downloads",  "uploads",       "episodes",     "podcasts",
    "shows",        "follows",    "likes",      "shares",        "comments",     "reviews",
    "tickets",      "refunds",    "trials",     "renewals",      "cancels",      "signups",
    "logins",       "profiles",   "countries",  "cities",        "genres",       "moods",
    "charts",       "rankings",   "skips",      "streams",       "royalty-runs", "payouts",
    "budgets",      "forecasts",  "cohorts",    "segments",      "experiments",  "variants",
    "recommends",   "queues",     "lyrics",     "credits",       "releases",     "catalogs",
    "territories",  "currencies", "fx-rates",   "taxes",         "audits",       "alerts",
    "incidents",    "latencies",  "bitrates",   "codecs",        "buffers",      "carts",
    "orders",       "vouchers",   "partners",   "merch",         "concerts",     "venues",
    "tours",        "fans",       "messages",   "notifications", "emails",       "pushes",
    "banners",      "slots",      "bids",       "auctions",      "budgets-ads",  "conversions",
    "attributions", "installs",   "uninstalls", "crash-dumps",   "heartbeats",   "pings",
    "settings",     "consents",   "deletions",  "exports"};
const std::vector<std::string> kSuffixes = {"events",  "facts",   "snapshots", "daily", "summary",
                                            "history", "current", "stats",     "index", "ledger"};
const std::vector<std::string> kWords = {
    "listener",   "track",    "played",     "stream",       "revenue", "country",  "device",
    "session",    "artist",   "album",      "playlist",     "minute",  "second",   "duration",
    "payment",    "currency", "amount",     "royalty",      "label",   "contract", "partner",
    "campaign",   "click",    "impression", "conversion",   "budget",  "forecast", "cohort",
    "retention",  "churn",    "trial",      "subscription", "renewal", "refund",   "invoice",
    "search",     "query",    "result",     "ranking",      "chart",   "genre",    "mood",
    "podcast",    "episode",  "show",       "download",     "offline", "error",    "crash",
    "latency",    "bitrate",  "buffer",     "codec",        "quality", "audit",    "consent",
    "privacy",    "deletion", "export",     "region",       "city",    "timezone", "language",
    "lyrics",     "credit",   "release",    "territory",    "tax",     "fraud",    "anomaly",
    "experiment", "variant",  "metric",     "dashboard",    "report",  "ledger",   "balance"};
const std::vector<std::string> kTags = {"events",    "finance", "pii",          "reference", "gold",
                                        "silver",    "bronze",  "realtime",     "batch",     "ml",
                                        "reporting", "legal",   "experimental", "core",      "ads"};
const std::vector<std::string> kClassifications = {"public", "internal", "confidential",
                                                   "restricted"};

// Pseudo-words ("dorvani", "kelmuto"...) make the long tail of a realistic vocabulary.
std::vector<std::string> PseudoWords(size_t n) {
  static const char* kOnsets[] = {"b", "d", "f", "g", "k",  "l",  "m",  "n",  "p",  "r",
                                  "s", "t", "v", "z", "br", "tr", "st", "pl", "gr", "ch"};
  static const char* kVowels[] = {"a", "e", "i", "o", "u", "ai", "ou"};
  std::vector<std::string> out;
  for (size_t i = 0; out.size() < n; ++i) {
    size_t x = i * 2654435761u + 12345;
    std::string w;
    for (size_t syl = 0, count = 2 + x % 2; syl < count; ++syl) {
      w += kOnsets[(x >> (syl * 5 + 3)) % 20];
      w += kVowels[(x >> (syl * 3 + 17)) % 7];
    }
    w += kOnsets[(x >> 27) % 14];
    out.push_back(w);
  }
  return out;
}

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {
    // Content words ranked by popularity: the domain's business words first, then the tail.
    content_ = kWords;
    content_.insert(content_.end(), kNouns.begin(), kNouns.end());
    for (const std::string& w : PseudoWords(5000)) content_.push_back(w);
    std::vector<double> weights;
    for (size_t k = 0; k < content_.size(); ++k) weights.push_back(1.0 / std::pow(k + 10.0, 0.9));
    zipf_ = std::discrete_distribution<size_t>(weights.begin(), weights.end());
  }

  // A content word, Zipf-distributed over the vocabulary.
  const std::string& Word() { return content_[zipf_(rng_)]; }

  // Words are drawn with a skew (low indexes more often), as real vocabularies are.
  const std::string& Pick(const std::vector<std::string>& v) {
    std::uniform_real_distribution<double> u(0, 1);
    double x = u(rng_);
    return v[static_cast<size_t>(x * x * static_cast<double>(v.size())) % v.size()];
  }
  size_t Uniform(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string Sentence(size_t words) {
    static const std::vector<std::string> kGlue = {"of",   "per",  "for", "and", "by",
                                                   "each", "with", "the", "in",  "from"};
    std::string s;
    for (size_t i = 0; i < words; ++i) {
      if (i > 0) s += ' ';
      s += (i > 0 && Uniform(3) == 0) ? kGlue[Uniform(kGlue.size())] : Word();
    }
    s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return s + ".";
  }

  std::string ProductYaml(size_t i) {
    const std::string& domain = kDomains[i % kDomains.size()];
    size_t j = i / kDomains.size();
    std::string name = kAdjectives[j % kAdjectives.size()] + "-" +
                       kNouns[(j / kAdjectives.size()) % kNouns.size()] + "-" +
                       kSuffixes[(j / (kAdjectives.size() * kNouns.size())) % kSuffixes.size()];
    size_t round = j / (kAdjectives.size() * kNouns.size() * kSuffixes.size());
    if (round > 0) name += "-" + std::to_string(round);
    std::string title = name;
    std::replace(title.begin(), title.end(), '-', ' ');
    title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));

    std::string y = "apiVersion: loom/v1\nkind: DataProduct\nmetadata:\n  domain: " + domain +
                    "\n  name: " + name + "\n  version: 1.0.0\n  title: " + title +
                    "\n  description: " + Sentence(8 + Uniform(20)) + " " + Sentence(6) +
                    "\n  owner: group:" + domain + "-team\n  tags: [";
    std::vector<std::string> tags;
    for (size_t t = 0, n = 1 + Uniform(3); t < n; ++t) {
      const std::string& tag = Pick(kTags);
      if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
    }
    for (size_t t = 0; t < tags.size(); ++t) y += (t ? ", " : "") + tags[t];
    y += "]\nspec:\n  classification: " + kClassifications[Uniform(4)] +
         "\n  alignment: " + (Uniform(3) == 0 ? "consumer" : "source") +
         "\n  schema:\n    fields:\n";
    std::vector<std::string> fields;
    for (size_t f = 0, n = 4 + Uniform(10); f < n; ++f) {
      std::string field = Word() + "_" + (Uniform(2) ? std::string("id") : Word());
      std::replace(field.begin(), field.end(), '-', '_');
      if (std::find(fields.begin(), fields.end(), field) != fields.end()) continue;
      fields.push_back(field);
      y += "      - name: " + field +
           "\n        type: string\n        description: " + Sentence(3 + Uniform(8)) + "\n";
    }
    y += "  outputPorts:\n    - name: out\n      kind: " +
         std::string(Uniform(2) ? "stream" : "table") + "\n";
    return y;
  }

  SearchQuery Query() {
    SearchQuery q;
    switch (Uniform(6)) {
      case 0:
        q.text = Word();
        break;
      case 1:
        q.text = Pick(kNouns);
        break;
      case 2:
        q.text = Pick(kAdjectives) + " " + Pick(kNouns);
        break;
      case 3:
        q.text = Word() + " " + Word();
        break;
      case 4:
        q.text = kDomains[Uniform(kDomains.size())];
        break;
      default: {
        const std::string& w = Word();
        q.text = w.substr(0, std::min(w.size(), 3 + Uniform(3)));
      }
    }
    switch (Uniform(6)) {
      case 0:
        q.domain = kDomains[Uniform(kDomains.size())];
        break;
      case 1:
        q.tag = Pick(kTags);
        break;
      case 2:
        q.classification = kClassifications[Uniform(4)];
        break;
      case 3:
        q.port_kind = Uniform(2) ? "stream" : "table";
        break;
      default:
        break;
    }
    return q;
  }

 private:
  std::mt19937 rng_;
  std::vector<std::string> content_;
  std::discrete_distribution<size_t> zipf_;
};

double CpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Stats {
  double p50 = 0, p95 = 0, p99 = 0;
};

Stats Summarise(const std::vector<double>& v) {
  return {Percentile(v, 0.5), Percentile(v, 0.95), Percentile(v, 0.99)};
}

// The median over rounds of each statistic.
Stats MedianOf(const std::vector<Stats>& rounds) {
  std::vector<double> a, b, c;
  for (const Stats& s : rounds) a.push_back(s.p50), b.push_back(s.p95), c.push_back(s.p99);
  return {Percentile(a, 0.5), Percentile(b, 0.5), Percentile(c, 0.5)};
}

}  // namespace

int main(int argc, char** argv) {
  size_t products = 100000, batch = 1000, queries = 1000, rounds = 5, threads = 2;
  size_t baseline_queries = 30;
  size_t caller_queries = 200;
  size_t show_slow = 8;
  std::string dump;  // --dump FILE: every query's hits, to compare two builds' results
  uint32_t seed = 42;
  std::string dir;
  bool search_only = false;  // --search-only 1: reuse the catalog already in --dir
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--products")
      products = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--batch")
      batch = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--queries")
      queries = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--rounds")
      rounds = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--threads")
      threads = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--dump")
      dump = argv[i + 1];
    else if (flag == "--caller-queries")
      caller_queries = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--show-slow")
      show_slow = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--baseline-queries")
      baseline_queries = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--dir")
      dir = argv[i + 1];
    else if (flag == "--search-only")
      search_only = std::string(argv[i + 1]) == "1";
    else if (flag == "--seed")
      seed = static_cast<uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (batch == 0 || products == 0 || queries == 0 || rounds == 0) {
    std::fprintf(stderr, "--products, --batch, --queries and --rounds must be positive\n");
    return 2;
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    dir = (std::filesystem::temp_directory_path() / ("bench-catalog-" + std::to_string(getpid())))
              .string();
  }
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/catalog.db";
  if (!search_only) std::filesystem::remove(path);

  auto opened = loom::catalog::OpenSqliteCatalog(path, loom::Clock::Real());
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<Catalog> catalog = std::move(opened).value();

  Generator gen(seed);
  std::vector<double> apply_ms;
  std::vector<double> apply_cpu_ms;
  for (size_t start = 0; start < (search_only ? 0 : products); start += batch) {
    std::string yaml;
    for (size_t i = start; i < std::min(products, start + batch); ++i) {
      if (i > start) yaml += "---\n";
      yaml += gen.ProductYaml(i);
    }
    auto docs = loom::spec::ParseDocuments(yaml, "bench.yaml");
    if (!docs.ok()) {
      std::fprintf(stderr, "parse: %s\n", docs.status().ToString().c_str());
      return 1;
    }
    Clock::time_point t0 = Clock::now();
    double c0 = CpuMs();
    auto applied = catalog->Apply(*docs, "service:bench");
    apply_cpu_ms.push_back(CpuMs() - c0);
    apply_ms.push_back(Ms(Clock::now() - t0));
    if (!applied.ok()) {
      std::fprintf(stderr, "apply: %s\n", applied.status().ToString().c_str());
      return 1;
    }
  }
  if (apply_ms.empty()) apply_ms.push_back(0), apply_cpu_ms.push_back(0);
  double apply_median = Percentile(apply_ms, 0.5);
  double apply_cpu_median = Percentile(apply_cpu_ms, 0.5);
  std::printf(
      "apply: %zu products in calls of %zu: median %.1f ms wall per call (%.0f "
      "products/s), %.1f ms CPU (%.0f products/s per core); last call %.1f ms wall\n",
      products, batch, apply_median, static_cast<double>(batch) / apply_median * 1000,
      apply_cpu_median, static_cast<double>(batch) / apply_cpu_median * 1000, apply_ms.back());

  std::vector<SearchQuery> qs;
  for (size_t i = 0; i < queries; ++i) qs.push_back(gen.Query());
  for (size_t i = 0; i < std::min<size_t>(50, qs.size()); ++i) (void)catalog->Search(qs[i]);

  // The baseline sample: single-word unfiltered queries, each also run as a LIKE scan.
  std::vector<size_t> sample;
  for (size_t i = 0; i < qs.size() && sample.size() < baseline_queries; ++i) {
    const SearchQuery& q = qs[i];
    if (q.text.find(' ') == std::string::npos && !q.domain && !q.tag && !q.classification &&
        !q.port_kind) {
      sample.push_back(i);
    }
  }
  sqlite3* db = nullptr;
  sqlite3_stmt* like = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "SELECT domain, name FROM products WHERE name LIKE ?1 OR title LIKE ?1 "
                         "OR description LIKE ?1 ORDER BY domain, name LIMIT 20",
                         -1, &like, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "baseline: %s\n", sqlite3_errmsg(db));
    return 1;
  }

  // Each round runs every query once, then the baseline sample; the figures printed are the
  // medians over the rounds of each round's statistic.
  std::vector<Stats> wall_rounds, cpu_rounds;
  std::vector<double> ratio_rounds, like_rounds, same_rounds;
  std::vector<std::vector<double>> cpu_by_query(qs.size());
  size_t total_hits = 0;
  for (size_t round = 0; round < rounds; ++round) {
    std::vector<double> wall, cpu;
    for (size_t i = 0; i < qs.size(); ++i) {
      Clock::time_point t0 = Clock::now();
      double c0 = CpuMs();
      auto hits = catalog->Search(qs[i]);
      cpu.push_back(CpuMs() - c0);
      wall.push_back(Ms(Clock::now() - t0));
      cpu_by_query[i].push_back(cpu.back());
      if (!hits.ok()) {
        std::fprintf(stderr, "search '%s': %s\n", qs[i].text.c_str(),
                     hits.status().ToString().c_str());
        return 1;
      }
      if (round == 0) total_hits += hits->size();
    }
    wall_rounds.push_back(Summarise(wall));
    cpu_rounds.push_back(Summarise(cpu));
    std::vector<double> base, same;
    for (size_t i : sample) {
      std::string pattern = "%" + qs[i].text + "%";
      Clock::time_point t0 = Clock::now();
      sqlite3_bind_text(like, 1, pattern.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(like) == SQLITE_ROW) {
      }
      sqlite3_reset(like);
      base.push_back(Ms(Clock::now() - t0));
      same.push_back(wall[i]);
    }
    if (!sample.empty()) {
      like_rounds.push_back(Percentile(base, 0.5));
      same_rounds.push_back(Percentile(same, 0.5));
      ratio_rounds.push_back(like_rounds.back() / same_rounds.back());
    }
    std::printf(
        "  round %zu: wall p50 %.3f p95 %.3f p99 %.3f ms; CPU p50 %.3f p95 %.3f p99 %.3f ms\n",
        round + 1, wall_rounds.back().p50, wall_rounds.back().p95, wall_rounds.back().p99,
        cpu_rounds.back().p50, cpu_rounds.back().p95, cpu_rounds.back().p99);
  }
  Stats wall = MedianOf(wall_rounds);
  Stats cpu = MedianOf(cpu_rounds);
  std::printf(
      "search: %zu queries x %zu rounds over %zu products (median of rounds):\n"
      "  wall median %.3f ms, p95 %.3f ms, p99 %.3f ms\n"
      "  CPU  median %.3f ms, p95 %.3f ms, p99 %.3f ms   (%.1f hits/query, limit 20)\n",
      qs.size(), rounds, products, wall.p50, wall.p95, wall.p99, cpu.p50, cpu.p95, cpu.p99,
      static_cast<double>(total_hits) / static_cast<double>(qs.size()));
  // Issue 2's target: p99 under 5 ms. Below 1.00x the target is met.
  constexpr double kTargetP99Ms = 5.0;
  std::printf("  target p99 < %.0f ms: wall p99 is %.2fx the target, CPU p99 %.2fx (%s)\n",
              kTargetP99Ms, wall.p99 / kTargetP99Ms, cpu.p99 / kTargetP99Ms,
              wall.p99 < kTargetP99Ms ? "met" : "NOT met");
  if (!ratio_rounds.empty()) {
    std::printf(
        "baseline LIKE scan on %zu single-word queries: median %.3f ms; the catalog on the same "
        "queries: median %.3f ms wall: %.0fx faster (median of rounds)\n",
        sample.size(), Percentile(like_rounds, 0.5), Percentile(same_rounds, 0.5),
        Percentile(ratio_rounds, 0.5));
  }

  // The slowest queries by median CPU, to see what costs.
  std::vector<double> query_cpu;
  for (const std::vector<double>& v : cpu_by_query) query_cpu.push_back(Percentile(v, 0.5));
  std::vector<size_t> order(qs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return query_cpu[a] > query_cpu[b]; });
  for (size_t i = 0; i < std::min(show_slow, order.size()); ++i) {
    const SearchQuery& q = qs[order[i]];
    std::printf("  slow: %.3f ms CPU '%s'%s%s%s%s\n", query_cpu[order[i]], q.text.c_str(),
                q.domain ? " domain" : "", q.tag ? " tag" : "", q.classification ? " class" : "",
                q.port_kind ? " port" : "");
  }

  // A caller who may not see the products of one domain, as the platform searches for a page of
  // 20: with `visible` (the catalog leaves hidden hits out before paging and snippets) against the
  // baseline, what the platform did before: ask for 1,000 hits, drop the hidden ones, page.
  if (caller_queries > 0) {
    auto shown = [](const loom::catalog::ProductSummary& p) { return p.domain != "search"; };
    std::vector<Stats> with_rounds, base_rounds;
    size_t differ = 0;
    const size_t n = std::min(caller_queries, qs.size());
    for (size_t round = 0; round < rounds; ++round) {
      std::vector<double> with, base;
      for (size_t i = 0; i < n; ++i) {
        SearchQuery q = qs[i];
        q.visible = shown;
        double c0 = CpuMs();
        auto page = catalog->Search(q);
        with.push_back(CpuMs() - c0);
        SearchQuery all = qs[i];
        all.limit = 1000;
        c0 = CpuMs();
        auto hits = catalog->Search(all);
        std::vector<loom::catalog::SearchHit> kept;
        if (hits.ok()) {
          for (auto& h : *hits) {
            if (shown(h.product) && kept.size() < qs[i].limit) kept.push_back(std::move(h));
          }
        }
        base.push_back(CpuMs() - c0);
        if (round == 0 && page.ok() && hits.ok()) {
          bool same = page->size() == kept.size();
          for (size_t k = 0; same && k < kept.size(); ++k) {
            same = (*page)[k].product.name == kept[k].product.name &&
                   (*page)[k].product.domain == kept[k].product.domain &&
                   (*page)[k].snippet == kept[k].snippet;
          }
          differ += same ? 0 : 1;
        }
      }
      with_rounds.push_back(Summarise(with));
      base_rounds.push_back(Summarise(base));
    }
    Stats with = MedianOf(with_rounds), base = MedianOf(base_rounds);
    std::printf(
        "caller who may not see one domain, %zu queries (CPU, median of rounds):\n"
        "  visible: median %.3f ms, p95 %.3f ms, p99 %.3f ms\n"
        "  baseline, 1,000 hits filtered: median %.3f ms, p95 %.3f ms, p99 %.3f ms\n"
        "  %.1fx faster at the median, %.1fx at p99; pages that differ: %zu\n",
        n, with.p50, with.p95, with.p99, base.p50, base.p95, base.p99, base.p50 / with.p50,
        base.p99 / with.p99, differ);
  }

  // Parallel searches: the same queries split over --threads threads, against one thread, in the
  // same run. On a machine with fewer free cores than threads this measures little more than
  // that searches do not serialise.
  if (threads > 1) {
    auto run = [&](size_t n) {
      Clock::time_point t0 = Clock::now();
      std::vector<std::thread> pool;
      for (size_t t = 0; t < n; ++t) {
        pool.emplace_back([&, t] {
          for (size_t i = t; i < qs.size(); i += n) (void)catalog->Search(qs[i]);
        });
      }
      for (std::thread& th : pool) th.join();
      return static_cast<double>(qs.size()) / (Ms(Clock::now() - t0) / 1000);
    };
    std::vector<double> one, many;
    for (size_t round = 0; round < rounds; ++round) {
      one.push_back(run(1));
      many.push_back(run(threads));
    }
    std::printf("parallel: %.0f queries/s on %zu threads vs %.0f on 1 (%.2fx; median of rounds)\n",
                Percentile(many, 0.5), threads, Percentile(one, 0.5),
                Percentile(many, 0.5) / Percentile(one, 0.5));
  }
  if (!dump.empty()) {
    std::FILE* out = std::fopen(dump.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "--dump: cannot write %s\n", dump.c_str());
      return 1;
    }
    for (const SearchQuery& base : qs) {
      for (auto [limit, offset] : {std::pair<uint32_t, uint32_t>{20, 0}, {20, 7}, {1000, 0}}) {
        SearchQuery q = base;
        q.limit = limit;
        q.offset = offset;
        auto hits = catalog->Search(q);
        std::fprintf(out, "query '%s' domain=%s tag=%s class=%s port=%s limit=%u offset=%u\n",
                     q.text.c_str(), q.domain.value_or("-").c_str(), q.tag.value_or("-").c_str(),
                     q.classification.value_or("-").c_str(), q.port_kind.value_or("-").c_str(),
                     limit, offset);
        if (!hits.ok()) {
          std::fprintf(out, "  error %s\n", hits.status().ToString().c_str());
          continue;
        }
        for (const auto& h : *hits) {
          std::fprintf(out, "  %s/%s %.17g %s\n", h.product.domain.c_str(), h.product.name.c_str(),
                       h.score, h.snippet.c_str());
        }
      }
    }
    std::fclose(out);
  }
  sqlite3_finalize(like);
  sqlite3_close(db);
  catalog.reset();
  if (own_dir) std::filesystem::remove_all(dir);
  return 0;
}
