#pragma once

// The public header of ingest/: the path in front of a stream port's event log. It decodes
// CloudEvents 1.0 (structured JSON, JSON batches, JSON Lines, the HTTP binary binding),
// validates the envelope and `data` against the product's schema, drops duplicates within the
// dedup window, picks the partition and appends compact canonical CloudEvents to log/.
// Invalid events are refused per record, or kept in the port's quarantine log.
// The rules and the on-disk layout of a port directory: docs/internals/ingest.md.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/file_system.h"
#include "core/status.h"
#include "log/log.h"
#include "spec/spec.h"

namespace loom::ingest {

// The body formats, by their media types.
enum class Format : uint8_t {
  kStructured,  // application/cloudevents+json: one event object
  kBatch,       // application/cloudevents-batch+json: an array of event objects
  kJsonLines,   // application/x-ndjson, application/jsonl: one event object per line
  kBinary,      // HTTP binary binding: ce-* headers, the body is `data` (application/json)
};

// Maps a Content-Type (parameters such as "; charset=utf-8" ignored, case-insensitive) to a
// format; application/json and anything else without a ce-specversion header are not events.
// kInvalidArgument naming the type and the accepted ones.
Result<Format> FormatForContentType(std::string_view content_type, bool has_ce_headers);

// An HTTP header (binary binding); names are matched case-insensitively.
struct Header {
  std::string_view name;
  std::string_view value;
};

// One ingest call. The views must stay valid for the duration of the call only.
struct Request {
  Format format = Format::kStructured;
  std::string_view body;
  std::span<const Header> headers;  // kBinary: the ce-* headers and content-type
};

// Request-level limits (the per-event limit is the port's max_event_bytes).
struct Limits {
  size_t max_batch_records = 10000;
  size_t max_batch_bytes = 16u << 20;
  int max_depth = 32;  // nesting of objects/arrays inside one event, envelope included
};

enum class Outcome : uint8_t {
  kAccepted,     // stored now at (partition, offset)
  kDuplicate,    // same source + id already stored within the window: (partition, offset) of
                 // the original when known, else offset -1
  kRejected,     // invalid and the port's on_invalid is reject: not stored; see reason
  kQuarantined,  // invalid and on_invalid is quarantine: kept in the quarantine log at offset
};

std::string_view ToString(Outcome o);  // accepted | duplicate | rejected | quarantined

// The answer for one event of the request, in request order.
struct RecordResult {
  Outcome outcome = Outcome::kAccepted;
  int32_t partition = -1;  // kAccepted/kDuplicate: the stream partition; else -1 (quarantine: 0)
  int64_t offset = -1;
  // kRejected/kQuarantined: "data.duration_ms: expected int64, got string \"12s\"",
  // "line 3: JSON syntax error at column 17: ...", "event[2]: id: missing".
  std::string reason;
};

// The answer for a whole request. An invalid record never fails the request: the valid records
// of the same request are still stored (Kafka-style per-record results).
struct IngestResult {
  size_t accepted = 0;
  size_t duplicates = 0;
  size_t rejected = 0;
  size_t quarantined = 0;
  std::vector<RecordResult> records;  // one per event, in request order
};

struct PortOptions {
  FileSystem* fs = FileSystem::Default();  // not owned; must outlive the port
  Clock* clock = Clock::Real();            // not owned; arrival time, dedup window
  Limits limits;
  // The dedup index keeps at most this many (source, id) entries (32 bytes each); past it the
  // oldest generation is dropped early and the effective window shrinks (reported by stats()).
  size_t dedup_max_entries = 8u << 20;
  // Encryption at rest (confidential and restricted products): both logs seal their batches
  // with it (log::LogOptions::cipher), with the AAD contexts `encryption_context` (the port's
  // address) and `encryption_context + "#quarantine"`. Not owned; must outlive the port.
  const BlockCipher* cipher = nullptr;
  std::string encryption_context = {};
};

struct PortStats {
  uint64_t dedup_entries = 0;
  uint64_t dedup_early_evictions = 0;  // entries dropped before their window ended
  uint64_t rebuilt_entries = 0;        // entries restored from the log at Open
  int64_t rebuild_micros = 0;
};

// One product's stream port in one directory: the event log (`<dir>/events`), the quarantine
// log (`<dir>/quarantine`) and the dedup checkpoints (`<dir>/dedup.ckpt`). Thread-safe: Ingest
// may be called from any number of threads at once; each call's valid records are appended as
// whole batches (one log append per partition touched) and acknowledged under the port's fsync
// policy before Ingest returns.
class StreamPort {
 public:
  virtual ~StreamPort() = default;

  // Opens (or creates) the port `port_name` of `product` in `dir`, maps its StreamSettings onto
  // log::LogOptions, compiles the schema (patterns once), and rebuilds the dedup index from the
  // log tail covering the window. kNotFound for no such port, kInvalidArgument for a table port
  // or an unusable schema/setting (named), the log's errors otherwise.
  static Result<std::unique_ptr<StreamPort>> Open(const std::string& dir,
                                                  const spec::DataProduct& product,
                                                  std::string_view port_name,
                                                  const PortOptions& options = {});

  // Decodes, validates, dedups and stores the events of one request. Request-level problems
  // fail the whole call: kInvalidArgument (malformed body of a structured or batch request,
  // invalid UTF-8, missing binary headers; the message names byte offset, line and column),
  // kResourceExhausted (more records or bytes than Limits allow). Storage failures of the log
  // (kFailedPrecondition after Close, the partition's I/O error) fail the call too; no record
  // of a failed call is acknowledged as accepted.
  Result<IngestResult> Ingest(const Request& request) { return Ingest(request, nullptr); }

  // Called by Ingest once the request's valid records are handed to the log, with how many are
  // being stored, and before their durability is awaited: it runs while the log writes and
  // syncs them (the platform makes the request's audit entry durable there, in parallel with
  // the log's sync rather than after it). Records that another request in flight was storing
  // and that this one stores after all (that request failed) are not in the count. An error it
  // returns fails the call once the appends have settled (what was stored stays stored, and a
  // retry is answered as duplicates).
  using WhileStoring = std::function<Status(size_t storing)>;
  // Ingest with `while_storing` (may be empty), called exactly once when decoding succeeded.
  virtual Result<IngestResult> Ingest(const Request& request,
                                      const WhileStoring& while_storing) = 0;

  // The stream (never contains an invalid event) and the quarantine log (one partition; each
  // record's value is {"reason","index","received","event"} JSON, see ingest.md). Owned by the
  // port; valid until it is destroyed. Readers are the log's: thread-safe.
  virtual log::Log& stream() = 0;
  virtual log::Log& quarantine() = 0;

  virtual PortStats stats() const = 0;

  // Closes both logs (acknowledging what is queued). Later Ingest calls fail with
  // kFailedPrecondition. Idempotent.
  virtual Status Close() = 0;
};

// The partition a key goes to: FNV-1a 64 of the key bytes, modulo `partitions`. The key of an
// event is the values of the port's partition_key fields (strings unescaped, other values as
// their JSON text, absent/null as empty), joined by 0x1F.
int32_t PartitionForKey(std::string_view key, int32_t partitions);

// The log options a port's settings map to (exposed for tests and `loom describe`).
log::LogOptions LogOptionsFor(const spec::StreamSettings& settings, FileSystem* fs, Clock* clock);

}  // namespace loom::ingest
