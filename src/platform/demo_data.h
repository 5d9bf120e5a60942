#pragma once

// The demo's deterministic generator of the media-streaming business (private to platform/).

#include <cstdint>
#include <string>

namespace loom::platform::demo {

struct Generated {
  std::string artists_jsonl;  // artists.profiles rows
  std::string tracks_csv;     // catalog.tracks rows
  std::string users_csv;      // users.profiles rows
  std::string plays_jsonl;    // CloudEvents for media-player.play-events, one per line
  uint64_t events = 0;        // lines in plays_jsonl
  uint64_t invalid = 0;       // of which invalid on purpose
  uint64_t duplicates = 0;    // of which repeats of an earlier event
};

// `events` play events over 2026-11 with Zipf-skewed track popularity, from a fixed seed.
Generated Generate(uint64_t events, uint64_t seed = 42);

}  // namespace loom::platform::demo
