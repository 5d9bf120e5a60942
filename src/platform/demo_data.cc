#include "platform/demo_data.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <vector>

namespace loom::platform::demo {
namespace {

constexpr int kArtists = 300;
constexpr int kTracks = 3000;
constexpr int kUsers = 2000;
constexpr const char* kCountries[] = {"SE", "US", "DE", "GB", "BR", "JP", "FR", "IN"};
constexpr const char* kDevices[] = {"ios", "android", "web", "desktop", "speaker", "car"};

std::string Id(const char* prefix, uint64_t n, int width) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string s(static_cast<size_t>(width), '0');
  for (int i = width - 1; i >= 0 && n > 0; --i) {
    s[static_cast<size_t>(i)] = kDigits[n % 36];
    n /= 36;
  }
  return prefix + s;
}

// Samples 0..n-1 with P(k) proportional to 1/(k+1)^s.
class Zipf {
 public:
  Zipf(int n, double s) : cdf_(static_cast<size_t>(n)) {
    double sum = 0;
    for (int k = 0; k < n; ++k) {
      sum += 1.0 / std::pow(k + 1, s);
      cdf_[static_cast<size_t>(k)] = sum;
    }
    for (double& c : cdf_) c /= sum;
  }
  int operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

std::string Uuid(std::mt19937_64& rng) {
  uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | (b >> 48 & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

}  // namespace

Generated Generate(uint64_t events, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Generated g;
  for (int a = 0; a < kArtists; ++a) {
    g.artists_jsonl += "{\"artist_id\":\"" + Id("art_", static_cast<uint64_t>(a) + 1, 8) +
                       "\",\"name\":\"Artist " + std::to_string(a + 1) + "\",\"label_id\":\"" +
                       Id("lbl_", static_cast<uint64_t>(a % 20) + 1, 6) + "\",\"country\":\"" +
                       kCountries[a % 8] + "\"}\n";
  }
  g.tracks_csv = "track_id,title,artist_id,album,royalty_per_play\n";
  for (int t = 0; t < kTracks; ++t) {
    char rate[16];
    std::snprintf(rate, sizeof rate, "0.00%d%d", 3 + t % 3, t % 10);
    g.tracks_csv += Id("trk_", static_cast<uint64_t>(t) + 1, 10) + ",Track " +
                    std::to_string(t + 1) + "," +
                    Id("art_", static_cast<uint64_t>(t % kArtists) + 1, 8) + ",Album " +
                    std::to_string(t / 10 + 1) + "," + rate + "\n";
  }
  g.users_csv = "user_id,email,birth_date,country,plan\n";
  static constexpr const char* kPlans[] = {"free", "premium", "family"};
  for (int u = 0; u < kUsers; ++u) {
    char birth[16];
    std::snprintf(birth, sizeof birth, "19%02d-%02d-%02d", 60 + u % 40, 1 + u % 12, 1 + u % 28);
    g.users_csv += Id("usr_", static_cast<uint64_t>(u) + 1, 10) + ",listener" +
                   std::to_string(u + 1) + "@example.org," + birth + "," + kCountries[u % 8] + "," +
                   kPlans[u % 3] + "\n";
  }
  Zipf tracks(kTracks, 1.1);
  std::uniform_int_distribution<int> users(0, kUsers - 1);
  // Plays over November 2026, in time order with jitter.
  const int64_t start = 1793491200;  // 2026-11-01T00:00:00Z
  const int64_t span = 30 * 86400;
  std::vector<std::string> recent;
  for (uint64_t i = 0; i < events; ++i) {
    // Half a percent repeats an earlier event (a client retry); one percent is invalid.
    if (!recent.empty() && rng() % 200 == 0) {
      g.plays_jsonl += recent[rng() % recent.size()];
      ++g.duplicates;
      ++g.events;
      continue;
    }
    int t = tracks(rng);
    int u = users(rng);
    int64_t secs = start + static_cast<int64_t>(i * static_cast<uint64_t>(span) / (events + 1)) +
                   static_cast<int64_t>(rng() % 60);
    std::time_t tt = secs;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    bool invalid = rng() % 100 == 0;
    std::string duration = invalid ? "\"3m20s\"" : std::to_string(30000 + rng() % 200000);
    std::string line =
        "{\"specversion\":\"1.0\",\"id\":\"" + std::to_string(i + 1) + "\",\"source\":\"/player/" +
        kDevices[u % 6] + "\",\"type\":\"com.loom.play\",\"time\":\"" + when +
        "\",\"datacontenttype\":\"application/json\",\"data\":{\"event_id\":\"" + Uuid(rng) +
        "\",\"user_id\":\"" + Id("usr_", static_cast<uint64_t>(u) + 1, 10) + "\",\"track_id\":\"" +
        Id("trk_", static_cast<uint64_t>(t) + 1, 10) + "\",\"artist_id\":\"" +
        Id("art_", static_cast<uint64_t>(t % kArtists) + 1, 8) + "\",\"played_at\":\"" + when +
        "\",\"duration_ms\":" + duration + ",\"device\":\"" + kDevices[u % 6] +
        "\",\"country\":\"" + kCountries[u % 8] + "\"}}\n";
    g.plays_jsonl += line;
    ++g.events;
    if (invalid) {
      ++g.invalid;
    } else {
      if (recent.size() < 1000)
        recent.push_back(line);
      else
        recent[rng() % recent.size()] = line;
    }
  }
  return g;
}

}  // namespace loom::platform::demo
