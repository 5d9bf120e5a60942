#pragma once

// The demo's deterministic generator of the media-streaming business (private to platform/).
// Everything follows from (events, seed): the same arguments give the same bytes.
//
// The world: users with a country, time zone, plan and device; artists signed by labels; albums
// of tracks; a social graph. Track popularity is Zipf-distributed, and so, through their tracks,
// is artists'. Plays come in listening sessions (a user plays several tracks a few minutes apart)
// that start more often in the evening of the user's own time zone, over 2026-11-01..25 (UTC).
// The play stream has, on purpose, a share of invalid events (~1%), of client retries that repeat
// an earlier event (~0.5%) and of late events that arrive after later ones (~0.5%); ~15% of plays
// are skips shorter than 30 s (valid, but not paid). A play may be followed by an audio-quality
// or error event.
//
// Not thread-safe; one generator per thread.

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace loom::platform::demo {

// What the play and quality streams held so far, as sent (the generator's own bookkeeping; the
// e2e test recomputes everything from the raw events instead).
struct StreamCounts {
  uint64_t plays = 0;       // play events sent, duplicates and invalid ones included
  uint64_t invalid = 0;     // of which invalid on purpose
  uint64_t duplicates = 0;  // of which repeats of an earlier event
  uint64_t late = 0;        // of which sent after events that happened later
  uint64_t quality = 0;     // quality and error events sent
};

class Generator {
 public:
  explicit Generator(uint64_t events, uint64_t seed = 42);
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  uint32_t users() const { return users_; }
  uint32_t artists() const { return artists_; }
  uint32_t tracks() const { return tracks_; }
  uint32_t labels() const { return labels_; }

  // The tables of the source domains, in the formats `loom publish` reads.
  std::string UsersCsv() const;          // users.profiles
  std::string ArtistsJsonl() const;      // artists.profiles
  std::string TracksCsv() const;         // catalog.tracks
  std::string AlbumsCsv() const;         // catalog.albums
  std::string FollowsCsv() const;        // social.follows
  std::string LabelEventsJsonl() const;  // labels.onboarding events, 2026-08..11, in time order

  // Appends up to `max_plays` more play events (CloudEvents, JSON Lines) to `plays` and the
  // quality events they caused to `quality`. Returns false once every event was produced.
  bool NextBatch(size_t max_plays, std::string& plays, std::string& quality);
  const StreamCounts& counts() const { return counts_; }

 private:
  struct Session {
    uint32_t user = 0;
    uint8_t device = 0;
    uint32_t plays_left = 0;
  };
  struct Held {
    uint64_t release_at = 0;  // the play index after which it is sent
    std::string line;
  };
  uint32_t PickListener(int64_t at);
  void NewSession(Session& s, int64_t at);
  void AppendPlay(std::string& plays, std::string& quality, int64_t at);

  uint64_t events_;
  uint64_t seed_;
  uint32_t users_, artists_, tracks_, labels_;
  std::mt19937_64 rng_;
  std::vector<double> track_cdf_;
  std::vector<Session> sessions_;
  std::deque<Held> held_;            // late events, by release_at
  std::vector<std::string> recent_;  // valid events a retry may repeat
  uint64_t produced_ = 0;            // play slots consumed (late ones count when generated)
  uint64_t next_id_ = 1;
  uint64_t next_quality_id_ = 1;
  StreamCounts counts_;
};

// The first instant of the demo's data (2026-11-01T00:00:00Z) and its end (2026-11-26T00:00Z).
inline constexpr int64_t kDemoStartSeconds = 1793491200;
inline constexpr int64_t kDemoEndSeconds = kDemoStartSeconds + 25 * 86400;

}  // namespace loom::platform::demo
