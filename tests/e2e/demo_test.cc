// `loom demo` end to end: its answers are checked against answers this test computes itself,
// without Loom, from the generator's raw output (`--dump-raw`): which events were valid, which
// were retries, the royalties per artist, the quality events per device, the labels' months.

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

using nlohmann::json;

constexpr int kScale = 20000;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  return cells;
}

// "0.004370" -> 4370 (micro-euros), exactly.
int64_t Micros(const std::string& decimal) {
  size_t dot = decimal.find('.');
  std::string frac = dot == std::string::npos ? "" : decimal.substr(dot + 1);
  frac.resize(6, '0');
  return std::stoll(decimal.substr(0, dot)) * 1000000 + std::stoll(frac);
}

int64_t MicrosOf(const json& v) {
  if (v.is_string()) return Micros(v.get<std::string>());
  return std::llround(v.get<double>() * 1e6);
}

// The play-events schema's rules (examples/media-streaming/products/play-events.yaml), written
// out here again: required fields, types, patterns, the duration's bounds, the device enum.
bool ValidPlay(const json& e) {
  if (!e.contains("data") || !e["data"].is_object()) return false;
  const json& d = e["data"];
  static const std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  static const std::set<std::string> devices = {"ios",     "android", "web",
                                                "desktop", "speaker", "car"};
  for (const char* f : {"event_id", "user_id", "track_id", "artist_id", "played_at"}) {
    if (!d.contains(f) || !d[f].is_string()) return false;
  }
  if (!std::regex_match(d["event_id"].get<std::string>(), uuid)) return false;
  // The global types' patterns (examples/media-streaming/policies/global-types.yaml).
  static const std::regex user("^usr_[0-9a-z]{10}$"), track("^trk_[0-9a-z]{10}$"),
      artist("^art_[0-9a-z]{8}$");
  if (!std::regex_match(d["user_id"].get<std::string>(), user) ||
      !std::regex_match(d["track_id"].get<std::string>(), track) ||
      !std::regex_match(d["artist_id"].get<std::string>(), artist)) {
    return false;
  }
  if (!d.contains("duration_ms") || !d["duration_ms"].is_number_integer()) return false;
  int64_t duration = d["duration_ms"].get<int64_t>();
  if (duration < 0 || duration > 86400000) return false;
  if (d.contains("device") && !devices.contains(d["device"].get<std::string>())) return false;
  return true;
}

// Reads `N word` out of the story's lines ("1234 accepted").
uint64_t StoryNumber(const std::string& story, const std::string& word) {
  std::smatch m;
  std::regex re("([0-9]+) " + word);
  if (!std::regex_search(story, m, re)) return UINT64_MAX;
  return std::stoull(m[1]);
}

class DemoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    result_ = new testing::CommandResult(
        testing::RunCommand({testing::LoomBinary(), "--data", dir_->Sub("data"), "demo", "--scale",
                             std::to_string(kScale), "--dump-raw", dir_->Sub("raw")}));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dir_;
  }
  void SetUp() override { ASSERT_EQ(result_->exit_code, 0) << result_->out << result_->err; }

  static std::string Raw(const std::string& name) { return dir_->Sub("raw") + "/" + name; }
  static std::vector<json> Query(const std::string& sql) {
    testing::CommandResult r = testing::RunCommand(
        {testing::LoomBinary(), "--data", dir_->Sub("data"), "query", "--format", "ndjson", sql});
    EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
    std::vector<json> rows;
    std::stringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) rows.push_back(json::parse(line));
    }
    return rows;
  }

  static testing::TempDir* dir_;
  static testing::CommandResult* result_;
};
testing::TempDir* DemoTest::dir_ = nullptr;
testing::CommandResult* DemoTest::result_ = nullptr;

TEST_F(DemoTest, CountsAcceptedDuplicateAndInvalidEventsAsTheRawEventsSay) {
  uint64_t sent = 0, valid = 0, invalid = 0, duplicates = 0;
  std::set<std::string> seen;
  for (const std::string& line : Lines(Raw("plays.jsonl"))) {
    json e = json::parse(line);
    ++sent;
    if (!ValidPlay(e)) {
      ++invalid;
      continue;
    }
    // CloudEvents identity: source + id.
    if (!seen.insert(e["source"].get<std::string>() + "\n" + e["id"].get<std::string>()).second) {
      ++duplicates;
    } else {
      ++valid;
    }
  }
  EXPECT_EQ(sent, static_cast<uint64_t>(kScale));
  EXPECT_GT(invalid, 0u);
  EXPECT_GT(duplicates, 0u);
  const std::string& story = result_->out;
  EXPECT_EQ(StoryNumber(story, "accepted, "), valid) << story;
  EXPECT_EQ(StoryNumber(story, "duplicates"), duplicates) << story;
  EXPECT_EQ(StoryNumber(story, "invalid kept in quarantine"), invalid) << story;

  std::vector<json> count = Query("SELECT count(*) AS n FROM media_player.play_events.events");
  ASSERT_EQ(count.size(), 1u);
  EXPECT_EQ(count[0]["n"].get<uint64_t>(), valid);
}

TEST_F(DemoTest, RoyaltiesPerArtistMatchTheRawPlays) {
  std::map<std::string, std::pair<std::string, int64_t>> tracks;  // track -> artist, micros
  std::vector<std::string> rows = Lines(Raw("tracks.csv"));
  ASSERT_GT(rows.size(), 1u);
  for (size_t i = 1; i < rows.size(); ++i) {
    std::vector<std::string> c = SplitCsv(rows[i]);
    ASSERT_EQ(c.size(), 5u) << rows[i];
    tracks[c[0]] = {c[2], Micros(c[4])};
  }
  std::map<std::string, std::string> names;
  for (const std::string& line : Lines(Raw("artists.jsonl"))) {
    json a = json::parse(line);
    names[a["artist_id"]] = a["name"];
  }
  // A play is paid once it lasted 30 s; a retried event is paid once.
  std::map<std::string, std::pair<int64_t, int64_t>> expected;  // artist -> plays, micros
  std::set<std::string> seen;
  for (const std::string& line : Lines(Raw("plays.jsonl"))) {
    json e = json::parse(line);
    if (!ValidPlay(e)) continue;
    if (!seen.insert(e["source"].get<std::string>() + "\n" + e["id"].get<std::string>()).second) {
      continue;
    }
    const json& d = e["data"];
    if (d["duration_ms"].get<int64_t>() < 30000) continue;
    std::string played = d["played_at"];
    if (played < "2026-11-01" || played >= "2026-12-01") continue;
    auto t = tracks.find(d["track_id"].get<std::string>());
    ASSERT_NE(t, tracks.end()) << line;
    expected[t->second.first].first += 1;
    expected[t->second.first].second += t->second.second;
  }
  ASSERT_GT(expected.size(), 10u);

  std::vector<json> got = Query(
      "SELECT t.artist_id, count(*) AS plays, sum(t.royalty_per_play) AS royalties "
      "FROM media_player.play_events.events p JOIN catalog.tracks.current t USING (track_id) "
      "WHERE p.duration_ms >= 30000 AND p.played_at >= TIMESTAMPTZ '2026-11-01' "
      "AND p.played_at < TIMESTAMPTZ '2026-12-01' GROUP BY 1 ORDER BY 1");
  ASSERT_EQ(got.size(), expected.size());
  for (const json& row : got) {
    auto it = expected.find(row["artist_id"].get<std::string>());
    ASSERT_NE(it, expected.end()) << row.dump();
    EXPECT_EQ(row["plays"].get<int64_t>(), it->second.first) << row.dump();
    EXPECT_EQ(MicrosOf(row["royalties"]), it->second.second) << row.dump();
  }

  // The payments domain's pipeline computed the same, per artist, for November.
  std::vector<json> product = Query(
      "SELECT artist_id, plays, royalties_eur FROM artist_payments.monthly_royalties.monthly "
      "WHERE month = DATE '2026-11-01' ORDER BY 1");
  ASSERT_EQ(product.size(), expected.size());
  for (const json& row : product) {
    auto it = expected.find(row["artist_id"].get<std::string>());
    ASSERT_NE(it, expected.end()) << row.dump();
    EXPECT_EQ(row["plays"].get<int64_t>(), it->second.first) << row.dump();
    EXPECT_EQ(MicrosOf(row["royalties_eur"]), it->second.second) << row.dump();
  }

  // The story's top artist is the one with the largest royalties (ties by name).
  auto top = std::max_element(expected.begin(), expected.end(), [&](const auto& a, const auto& b) {
    if (a.second.second != b.second.second) return a.second.second < b.second.second;
    return names[a.first] > names[b.first];
  });
  std::smatch m;
  ASSERT_TRUE(std::regex_search(result_->out, m, std::regex("(Artist [0-9]+)"))) << result_->out;
  EXPECT_EQ(m[1].str(), names[top->first]) << result_->out;
}

TEST_F(DemoTest, SessionsAreThePlaysOfAListenerLessThan30MinutesApart) {
  std::map<std::string, std::vector<std::string>> times;  // user -> played_at (RFC 3339, UTC)
  std::set<std::string> seen;
  for (const std::string& line : Lines(Raw("plays.jsonl"))) {
    json e = json::parse(line);
    if (!ValidPlay(e)) continue;
    if (!seen.insert(e["source"].get<std::string>() + "\n" + e["id"].get<std::string>()).second) {
      continue;
    }
    times[e["data"]["user_id"]].push_back(e["data"]["played_at"]);
  }
  auto seconds = [](const std::string& t) {
    std::tm tm{};
    strptime(t.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return static_cast<int64_t>(timegm(&tm));
  };
  int64_t sessions = 0;
  for (auto& [user, list] : times) {
    std::sort(list.begin(), list.end());
    for (size_t i = 0; i < list.size(); ++i) {
      sessions += i == 0 || seconds(list[i]) - seconds(list[i - 1]) > 30 * 60;
    }
  }
  ASSERT_GT(sessions, 0);
  std::vector<json> got = Query("SELECT count(*) AS n FROM listener_sessions.sessions.daily");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["n"].get<int64_t>(), sessions);
}

TEST_F(DemoTest, QualityEventsPerDeviceMatchTheRawEvents) {
  std::map<std::string, int64_t> expected;
  for (const std::string& line : Lines(Raw("quality.jsonl"))) {
    json e = json::parse(line);
    expected[e["data"]["device"].get<std::string>()] += 1;
  }
  ASSERT_FALSE(expected.empty());
  std::vector<json> got =
      Query("SELECT device, count(*) AS n FROM media_player.quality_events.events GROUP BY 1");
  std::map<std::string, int64_t> actual;
  for (const json& row : got) actual[row["device"]] = row["n"].get<int64_t>();
  EXPECT_EQ(actual, expected);
  // Cars have the flakiest connections in the generator, and it shows per play.
  EXPECT_GT(expected["car"], expected["ios"]);
}

TEST_F(DemoTest, LabelSnapshotsHoldTheEventsOfTheirMonth) {
  int64_t october = 0;
  for (const std::string& line : Lines(Raw("labels.jsonl"))) {
    std::string at = json::parse(line)["data"]["occurred_at"];
    october += at >= "2026-10-01" && at < "2026-11-01";
  }
  ASSERT_GT(october, 0);
  std::vector<json> versions = Query(
      "SELECT count(*) AS n FROM labels.onboarding.monthly");  // current: the last closed month
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0]["n"].get<int64_t>(), october);
}

TEST_F(DemoTest, TheAnalystSeesTokensTheOutsiderIsRefusedAndNothingIsInClearOnDisk) {
  const std::string& story = result_->out;
  // The analyst's answer: the same artists, every top_country a token.
  size_t ada = story.find("as user:ada");
  ASSERT_NE(ada, std::string::npos) << story;
  size_t outsider = story.find("as user:outsider (no grant): PermissionDenied", ada);
  ASSERT_NE(outsider, std::string::npos) << story;
  std::string analyst = story.substr(ada, outsider - ada);
  EXPECT_EQ(std::count(analyst.begin(), analyst.end(), '\n'), 9) << analyst;
  for (const char* country : {"| SE ", "| US ", "| IN ", "| DE ", "| GB "}) {
    EXPECT_EQ(analyst.find(country), std::string::npos) << analyst;
  }
  EXPECT_NE(analyst.find("| tok_"), std::string::npos) << analyst;
  EXPECT_NE(story.find("chain intact"), std::string::npos) << story;

  // Independently of the story: the first listener's email, from the raw users table.
  std::vector<std::string> users = Lines(Raw("users.csv"));
  ASSERT_GT(users.size(), 1u);
  std::string email = users[1].substr(users[1].find(',') + 1);
  email.resize(email.find(','));
  ASSERT_NE(email.find('@'), std::string::npos) << users[1];
  testing::CommandResult masked =
      testing::RunCommand({testing::LoomBinary(), "--data", dir_->Sub("data"), "--as", "user:ada",
                           "query", "--format", "csv", "SELECT email FROM users.profiles.current"});
  ASSERT_EQ(masked.exit_code, 0) << masked.err;
  EXPECT_EQ(masked.out.find(email), std::string::npos) << masked.out.substr(0, 300);
  testing::CommandResult refused =
      testing::RunCommand({testing::LoomBinary(), "--data", dir_->Sub("data"), "--as",
                           "user:outsider", "query", "SELECT email FROM users.profiles.current"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_EQ(refused.out.find(email), std::string::npos);
  // users/profiles is confidential: no file of the data folder holds the email in clear.
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_->Sub("data"))) {
    if (!entry.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(testing::ReadFile(entry.path().string()).find(email), std::string::npos)
        << entry.path();
  }
  EXPECT_GT(files, 20u);
  testing::CommandResult verify =
      testing::RunCommand({testing::LoomBinary(), "--data", dir_->Sub("data"), "audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(DemoTest, AVersionWithADuplicatedArtistIsRefusedAndTheFirstStaysCurrent) {
  const std::string& story = result_->out;
  EXPECT_NE(story.find("failed 1 blocking expectation(s)"), std::string::npos) << story;
  std::vector<json> rows = Query("SELECT count(*) AS n FROM artists.profiles.current");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["n"].get<size_t>(), Lines(Raw("artists.jsonl")).size());
  testing::CommandResult versions =
      testing::RunCommand({testing::LoomBinary(), "--data", dir_->Sub("data"), "--json", "versions",
                           "loom://artists/profiles/current"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_EQ(json::parse(versions.out)["current"], 1) << versions.out;
}

TEST_F(DemoTest, TheSameSeedGivesTheSameEventsAndAFolderIsNeverReused) {
  testing::TempDir other;
  testing::CommandResult r =
      testing::RunCommand({testing::LoomBinary(), "--data", other.Sub("data"), "demo", "--scale",
                           std::to_string(kScale), "--dump-raw", other.Sub("raw")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(testing::ReadFile(other.Sub("raw") + "/plays.jsonl"),
            testing::ReadFile(Raw("plays.jsonl")));
  EXPECT_EQ(testing::ReadFile(other.Sub("raw") + "/users.csv"),
            testing::ReadFile(Raw("users.csv")));

  testing::CommandResult again =
      testing::RunCommand({testing::LoomBinary(), "--data", dir_->Sub("data"), "demo"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already holds a mesh"), std::string::npos) << again.err;
}

// The tour shows the podcasts descriptor that its commands apply: the two must not drift apart.
TEST(DemoTourTest, TheTourShowsThePodcastsDescriptorItApplies) {
  std::string tour = testing::ReadFile(testing::SourceDir() + "/docs/tour.md");
  std::string shipped =
      testing::ReadFile(testing::SourceDir() + "/examples/podcasts/podcasts.yaml");
  size_t at = tour.find("```yaml\n");
  ASSERT_NE(at, std::string::npos);
  at += 8;
  size_t end = tour.find("```", at);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(tour.substr(at, end - at), shipped);
}

}  // namespace
}  // namespace loom::e2e
