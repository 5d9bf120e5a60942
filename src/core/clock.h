#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loom {

// Wall-clock time as microseconds since the Unix epoch (UTC).
using TimestampMicros = int64_t;

// A source of time, so that tests can use a fake one. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimestampMicros NowMicros() const = 0;
  // The process-wide real clock; never null.
  static Clock* Real();
};

// RFC 3339 in UTC with microseconds: "2026-11-26T10:47:13.123456Z".
std::string FormatRfc3339(TimestampMicros t);
// The same text appended to *out, without a temporary (hot paths: one per event).
void AppendRfc3339(TimestampMicros t, std::string* out);
// Parses RFC 3339 ("2026-11-26T10:47:13Z", fractional seconds and +hh:mm offsets allowed).
Result<TimestampMicros> ParseRfc3339(std::string_view text);

// A random (version 4) UUID in its canonical text form.
std::string NewUuid();
// Lowercase hex of SHA-256 of data.
std::string Sha256Hex(std::string_view data);

}  // namespace loom
