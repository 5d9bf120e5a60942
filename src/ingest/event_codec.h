#pragma once

// CloudEvents 1.0 decoding: the request framings (structured, batch array, JSON Lines, HTTP
// binary binding), the envelope rules, and the compact canonical form that is stored.
// Thread-safety: Decode uses only the caller's Scratch (one per thread); PortRules is immutable.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "ingest/ingest.h"
#include "ingest/schema_validator.h"

namespace loom::ingest {

struct PortRules {
  const CompiledSchema* schema = nullptr;
  std::string event_type;  // empty: any
  int64_t max_event_bytes = 1 << 20;
  Limits limits;
};

// One event of a request after decoding.
struct DecodedEvent {
  bool valid = false;
  // valid: the canonical JSON and the partition key in Scratch::arena.
  uint32_t value_begin = 0, value_len = 0;
  uint32_t key_begin = 0, key_len = 0;
  bool has_time = false;  // event time found (data field or ce time); else arrival time
  int64_t timestamp = 0;
  uint64_t h1 = 0, h2 = 0;  // hash of source + id
  // invalid: why, and the event's own text (views into Scratch::padded).
  std::string reason;
  std::string_view raw;
};

// Per-thread working memory, reused across calls so that the hot path does not allocate.
struct Scratch {
  simdjson::ondemand::parser parser;
  std::string padded;  // the body plus SIMDJSON_PADDING
  std::string arena;   // canonical events and keys of the request
  std::string data;    // one event's data while its envelope is walked
  DataCapture capture;
  std::vector<std::pair<std::string_view, std::string_view>> extensions;
  std::string hash_buf;
  std::vector<DecodedEvent> events;
  std::vector<const char*> starts;
};

// Decodes and validates every event of the request into scratch->events (request order).
// Request-level errors as documented on StreamPort::Ingest.
Status Decode(const Request& request, const PortRules& rules, Scratch* scratch);

// Validates one event value and appends its canonical form and key to scratch->arena (on
// failure the arena is left as it was and ev->reason says why).
WalkResult EncodeOne(simdjson::ondemand::value event, const PortRules& rules, Scratch* scratch,
                     DecodedEvent* ev);

// Murmur3 x64 128 of `data`.
void Hash128(std::string_view data, uint64_t* h1, uint64_t* h2);
// FNV-1a 64.
uint64_t Fnv1a64(std::string_view data);

// Appends s as a JSON string literal (quotes included) to *out.
void AppendJsonString(std::string_view s, std::string* out);

// The (id, source) of a stored canonical event; false if the value is not one.
bool ReadIdAndSource(simdjson::ondemand::parser& parser, std::string* padded,
                     std::string_view value, std::string* id, std::string* source);

}  // namespace loom::ingest
