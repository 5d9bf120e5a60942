#include "platform/demo_data.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace loom::platform::demo {
namespace {

struct Country {
  const char* code;
  const char* time_zone;
  int offset_minutes;  // in November 2026
};
constexpr Country kCountries[] = {
    {"SE", "Europe/Stockholm", 60}, {"US", "America/New_York", -300},  {"DE", "Europe/Berlin", 60},
    {"GB", "Europe/London", 0},     {"BR", "America/Sao_Paulo", -180}, {"JP", "Asia/Tokyo", 540},
    {"FR", "Europe/Paris", 60},     {"IN", "Asia/Kolkata", 330}};
constexpr int kCountryCount = 8;
constexpr const char* kDevices[] = {"ios", "android", "web", "desktop", "speaker", "car"};
// Quality events per thousand plays, by device: cars and speakers have the worst connections.
constexpr int kTroublePerMille[] = {15, 25, 30, 20, 40, 60};
constexpr const char* kPlans[] = {"free", "premium", "family"};
constexpr const char* kErrorCodes[] = {"E_NET_TIMEOUT", "E_DECODE", "E_DRM", "E_STORAGE"};
// How likely a listener starts a session, by local hour: evenings most, nights least.
constexpr double kHourWeight[24] = {0.2,  0.1,  0.1, 0.1, 0.1, 0.15, 0.3, 0.5, 0.6, 0.5, 0.5, 0.55,
                                    0.65, 0.55, 0.5, 0.5, 0.6, 0.8,  0.9, 1.0, 1.0, 1.0, 0.8, 0.5};

void AppendId(std::string& out, const char* prefix, uint64_t n, int width) {
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  out += prefix;
  char s[16];
  for (int i = width - 1; i >= 0; --i) {
    s[i] = kDigits[n % 36];
    n /= 36;
  }
  out.append(s, static_cast<size_t>(width));
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void Append2(std::string& out, int v) {
  out += static_cast<char>('0' + v / 10);
  out += static_cast<char>('0' + v % 10);
}

// "YYYY-MM-DD" of days since 1970-01-01 (Howard Hinnant's civil_from_days).
void AppendDate(std::string& out, int64_t days) {
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  int64_t doe = days - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  int64_t y = yoe + era * 400 + (m <= 2);
  AppendInt(out, y);
  out += '-';
  Append2(out, m);
  out += '-';
  Append2(out, d);
}

// RFC 3339 UTC, "2026-11-01T10:00:00Z".
void AppendTime(std::string& out, int64_t secs) {
  AppendDate(out, secs / 86400);
  int64_t s = secs % 86400;
  out += 'T';
  Append2(out, static_cast<int>(s / 3600));
  out += ':';
  Append2(out, static_cast<int>(s / 60 % 60));
  out += ':';
  Append2(out, static_cast<int>(s % 60));
  out += 'Z';
}

void AppendUuid(std::string& out, std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t a = rng(), b = rng();
  char s[36];
  int at = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) s[at++] = kHex[(v >> (4 * i)) & 0xf];
  };
  put(a >> 32, 8);
  s[at++] = '-';
  put(a >> 16, 4);
  s[at++] = '-';
  put(0x4000 | (a & 0xfff), 4);
  s[at++] = '-';
  put(0x8000 | (b >> 48 & 0x3fff), 4);
  s[at++] = '-';
  put(b, 12);
  out.append(s, 36);
}

uint32_t Clamp(uint64_t v, uint32_t lo, uint32_t hi) {
  return static_cast<uint32_t>(std::clamp<uint64_t>(v, lo, hi));
}

// The world's fixed relations, functions of the indexes (0-based).
const Country& CountryOf(uint32_t user) { return kCountries[(user * 7u + 3u) % kCountryCount]; }
uint32_t AlbumOf(uint32_t track) { return track / 10; }
uint32_t ArtistOf(uint32_t track, uint32_t artists) { return AlbumOf(track) % artists; }
uint32_t LabelOf(uint32_t artist, uint32_t labels) { return (artist * 13u + 5u) % labels; }
// Royalty per full play in micro-euros: 3,000..5,990 (EUR 0.003..0.00599), by track.
int64_t RoyaltyMicros(uint32_t track) { return 3000 + (track * 37u) % 300 * 10; }

}  // namespace

Generator::Generator(uint64_t events, uint64_t seed)
    : events_(events),
      seed_(seed),
      users_(Clamp(events / 50, 500, 500000)),
      artists_(Clamp(users_ / 20, 50, 20000)),
      tracks_(artists_ * 20),
      labels_(std::max<uint32_t>(12, artists_ / 25)),
      rng_(seed) {
  // Track k (0-based) is the k-th most popular: P(k) ~ 1/(k+1).
  track_cdf_.resize(tracks_);
  double sum = 0;
  for (uint32_t k = 0; k < tracks_; ++k) track_cdf_[k] = sum += 1.0 / (k + 1.0);
  for (double& c : track_cdf_) c /= sum;
  // About one session per 3.5 minutes of stream time is open at once.
  uint64_t concurrent = std::max<uint64_t>(1, events / 12000);
  sessions_.resize(std::min<uint64_t>(concurrent, users_));
  for (Session& s : sessions_) NewSession(s, kDemoStartSeconds);
}

Generator::~Generator() = default;

uint32_t Generator::PickListener(int64_t at) {
  std::uniform_real_distribution<double> unit(0, 1);
  for (;;) {
    uint32_t u = static_cast<uint32_t>(rng_() % users_);
    int64_t local = at + CountryOf(u).offset_minutes * 60;
    if (unit(rng_) < kHourWeight[(local / 3600) % 24]) return u;
  }
}

void Generator::NewSession(Session& s, int64_t at) {
  s.user = PickListener(at);
  // Most listeners use one device; one session in five is on their second one.
  s.device = static_cast<uint8_t>(rng_() % 5 == 0 ? (s.user / 6 + 1) % 6 : s.user % 6);
  s.plays_left = 1 + static_cast<uint32_t>(std::geometric_distribution<int>(0.1)(rng_));
}

std::string Generator::UsersCsv() const {
  std::string out = "user_id,email,birth_date,country,time_zone,plan\n";
  out.reserve(static_cast<size_t>(users_) * 90);
  for (uint32_t u = 0; u < users_; ++u) {
    AppendId(out, "usr_", u + 1, 10);
    out += ",listener";
    AppendInt(out, u + 1);
    out += "@example.org,";
    // Born 1960..2007, a day picked from the index.
    AppendDate(out, -3653 + static_cast<int64_t>((u * 2654435761u) % 17500));
    const Country& c = CountryOf(u);
    out += ',';
    out += c.code;
    out += ',';
    out += c.time_zone;
    out += ',';
    out += kPlans[(u / 3) % 3];
    out += '\n';
  }
  return out;
}

std::string Generator::ArtistsJsonl() const {
  std::string out;
  for (uint32_t a = 0; a < artists_; ++a) {
    out += "{\"artist_id\":\"";
    AppendId(out, "art_", a + 1, 8);
    out += "\",\"name\":\"Artist ";
    AppendInt(out, a + 1);
    out += "\",\"label_id\":\"";
    AppendId(out, "lbl_", LabelOf(a, labels_) + 1, 6);
    out += "\",\"country\":\"";
    out += kCountries[a % kCountryCount].code;
    out += "\"}\n";
  }
  return out;
}

std::string Generator::TracksCsv() const {
  std::string out = "track_id,title,artist_id,album,royalty_per_play\n";
  out.reserve(static_cast<size_t>(tracks_) * 70);
  for (uint32_t t = 0; t < tracks_; ++t) {
    AppendId(out, "trk_", t + 1, 10);
    out += ",Track ";
    AppendInt(out, t + 1);
    out += ',';
    AppendId(out, "art_", ArtistOf(t, artists_) + 1, 8);
    out += ",Album ";
    AppendInt(out, AlbumOf(t) + 1);
    char rate[16];
    std::snprintf(rate, sizeof rate, ",0.%06lld\n", static_cast<long long>(RoyaltyMicros(t)));
    out += rate;
  }
  return out;
}

std::string Generator::AlbumsCsv() const {
  std::string out = "album_id,title,artist_id,label_id,released_on,tracks\n";
  for (uint32_t al = 0; al < tracks_ / 10; ++al) {
    uint32_t artist = al % artists_;
    AppendId(out, "alb_", al + 1, 8);
    out += ",Album ";
    AppendInt(out, al + 1);
    out += ',';
    AppendId(out, "art_", artist + 1, 8);
    out += ',';
    AppendId(out, "lbl_", LabelOf(artist, labels_) + 1, 6);
    out += ',';
    AppendDate(out, 14610 + static_cast<int64_t>((al * 40503u) % 6200));  // 2010..2026
    out += ",10\n";
  }
  return out;
}

std::string Generator::FollowsCsv() const {
  std::mt19937_64 rng(seed_ ^ 0x50c1a1);
  std::string out = "user_id,follows_user_id,since\n";
  std::vector<uint32_t> picked;
  for (uint32_t u = 0; u < users_; ++u) {
    // 0..9 people each; a third of them from the same country.
    uint32_t n = static_cast<uint32_t>(rng() % 10);
    picked.clear();
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t v = static_cast<uint32_t>(rng() % users_);
      if (i % 3 == 0) v = v - v % kCountryCount + u % kCountryCount;  // same country slot
      v %= users_;
      if (v == u || std::find(picked.begin(), picked.end(), v) != picked.end()) continue;
      picked.push_back(v);
      AppendId(out, "usr_", u + 1, 10);
      out += ',';
      AppendId(out, "usr_", v + 1, 10);
      out += ',';
      AppendDate(out, 19000 + static_cast<int64_t>(rng() % 1400));  // 2022..2026
      out += '\n';
    }
  }
  return out;
}

std::string Generator::LabelEventsJsonl() const {
  // Each label signed once between August and October 2026; a third renewed in November.
  std::mt19937_64 rng(seed_ ^ 0x1abe1);
  struct Event {
    int64_t at;
    uint32_t label;
    const char* what;
  };
  std::vector<Event> events;
  const int64_t august = kDemoStartSeconds - 92 * 86400;
  for (uint32_t l = 0; l < labels_; ++l) {
    events.push_back({august + static_cast<int64_t>(rng() % (92 * 86400)), l, "signed"});
    if (l % 3 == 0) {
      events.push_back({kDemoStartSeconds + static_cast<int64_t>(rng() % (20 * 86400)), l,
                        l % 9 == 0 ? "terminated" : "renewed"});
    }
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.at < b.at || (a.at == b.at && a.label < b.label);
  });
  std::string out;
  uint64_t id = 1;
  for (const Event& e : events) {
    out += "{\"specversion\":\"1.0\",\"id\":\"onb-";
    AppendInt(out, static_cast<int64_t>(id++));
    out += "\",\"source\":\"/labels/contracts\",\"type\":\"com.loom.label.onboarding\",\"data\":{";
    out += "\"event_id\":\"";
    AppendUuid(out, rng);
    out += "\",\"label_id\":\"";
    AppendId(out, "lbl_", e.label + 1, 6);
    out += "\",\"name\":\"Label ";
    AppendInt(out, e.label + 1);
    out += "\",\"country\":\"";
    out += kCountries[e.label % kCountryCount].code;
    out += "\",\"event\":\"";
    out += e.what;
    out += "\",\"occurred_at\":\"";
    AppendTime(out, e.at);
    out += "\"}}\n";
  }
  return out;
}

void Generator::AppendPlay(std::string& plays, std::string& quality, int64_t at) {
  Session& s = sessions_[rng_() % sessions_.size()];
  uint32_t user = s.user;
  uint8_t device = s.device;
  if (--s.plays_left == 0) NewSession(s, at);

  double u = std::uniform_real_distribution<double>(0, 1)(rng_);
  uint32_t track = static_cast<uint32_t>(std::lower_bound(track_cdf_.begin(), track_cdf_.end(), u) -
                                         track_cdf_.begin());
  track = std::min(track, tracks_ - 1);
  // 15% skips (under 30 s), else most of a 2.5..5 minute track.
  int64_t duration = rng_() % 100 < 15 ? 1000 + static_cast<int64_t>(rng_() % 29000)
                                       : 30000 + static_cast<int64_t>(rng_() % 270000);
  // One event in a hundred is broken, in one of four ways.
  int invalid = rng_() % 100 == 0 ? 1 + static_cast<int>(rng_() % 4) : 0;
  bool late = invalid == 0 && rng_() % 200 == 0;
  const Country& country = CountryOf(user);

  std::string line;
  line.reserve(420);
  line += "{\"specversion\":\"1.0\",\"id\":\"p";
  AppendInt(line, static_cast<int64_t>(next_id_++));
  line += "\",\"source\":\"/player/";
  line += kDevices[device];
  line += "\",\"type\":\"com.loom.play\",\"time\":\"";
  size_t time_at = line.size();
  AppendTime(line, at);
  std::string when = line.substr(time_at);
  line += "\",\"data\":{\"event_id\":\"";
  AppendUuid(line, rng_);
  if (invalid != 3) {
    line += "\",\"user_id\":\"";
    AppendId(line, "usr_", user + 1, 10);
  }
  line += "\",\"track_id\":\"";
  AppendId(line, "trk_", track + 1, 10);
  line += "\",\"artist_id\":\"";
  AppendId(line, "art_", ArtistOf(track, artists_) + 1, 8);
  line += "\",\"played_at\":\"";
  line += when;
  line += "\",\"duration_ms\":";
  if (invalid == 1) {
    line += "\"3m20s\"";  // a string where the schema says int64
  } else {
    AppendInt(line, invalid == 4 ? -duration : duration);  // 4: negative, below min 0
  }
  line += ",\"device\":\"";
  line += invalid == 2 ? "fridge" : kDevices[device];  // 2: not one of the devices
  line += "\",\"country\":\"";
  line += country.code;
  line += "\"}}\n";

  if (invalid == 0 && rng_() % 1000 < static_cast<uint64_t>(kTroublePerMille[device])) {
    uint64_t r = rng_() % 10;
    const char* kind = r < 4 ? "error" : r < 8 ? "rebuffer" : "bitrate_drop";
    quality += "{\"specversion\":\"1.0\",\"id\":\"q";
    AppendInt(quality, static_cast<int64_t>(next_quality_id_++));
    quality += "\",\"source\":\"/player/";
    quality += kDevices[device];
    quality += "\",\"type\":\"com.loom.quality\",\"data\":{\"event_id\":\"";
    AppendUuid(quality, rng_);
    quality += "\",\"user_id\":\"";
    AppendId(quality, "usr_", user + 1, 10);
    quality += "\",\"track_id\":\"";
    AppendId(quality, "trk_", track + 1, 10);
    quality += "\",\"occurred_at\":\"";
    AppendTime(quality, at + static_cast<int64_t>(rng_() % 20));
    quality += "\",\"kind\":\"";
    quality += kind;
    if (r < 4) {
      quality += "\",\"code\":\"";
      quality += kErrorCodes[rng_() % 4];
    }
    quality += "\",\"bitrate_kbps\":";
    AppendInt(quality, r < 4 ? 0 : r < 8 ? 160 : 96);
    quality += ",\"device\":\"";
    quality += kDevices[device];
    quality += "\",\"country\":\"";
    quality += country.code;
    quality += "\"}}\n";
    ++counts_.quality;
  }

  if (late) {
    // Held back by a flaky connection: sent after 200..5,000 later plays.
    held_.push_back({produced_ + 200 + rng_() % 4800, std::move(line)});
    std::sort(held_.begin(), held_.end(),
              [](const Held& a, const Held& b) { return a.release_at < b.release_at; });
    ++counts_.late;
    return;
  }
  plays += line;
  ++counts_.plays;
  if (invalid != 0) {
    ++counts_.invalid;
  } else if (recent_.size() < 1000) {
    recent_.push_back(std::move(line));
  } else {
    recent_[rng_() % recent_.size()] = std::move(line);
  }
}

bool Generator::NextBatch(size_t max_plays, std::string& plays, std::string& quality) {
  const int64_t span = kDemoEndSeconds - kDemoStartSeconds;
  for (size_t n = 0; n < max_plays; ++n) {
    if (!held_.empty() && (held_.front().release_at <= produced_ || produced_ >= events_)) {
      plays += held_.front().line;
      held_.pop_front();
      ++counts_.plays;
      continue;
    }
    if (produced_ >= events_) return false;
    int64_t at = kDemoStartSeconds +
                 static_cast<int64_t>(static_cast<double>(produced_) * span / events_) +
                 static_cast<int64_t>(rng_() % 30);
    ++produced_;
    // A client retry: the same event (same source and id) sent again.
    if (!recent_.empty() && rng_() % 200 == 0) {
      plays += recent_[rng_() % recent_.size()];
      ++counts_.plays;
      ++counts_.duplicates;
      continue;
    }
    AppendPlay(plays, quality, at);
  }
  return produced_ < events_ || !held_.empty();
}

}  // namespace loom::platform::demo
