#pragma once

// Table ports: immutable, numbered snapshots of a product's data stored as Parquet, with a JSON
// manifest per version, an atomic publish and time travel. The on-disk format and the publish
// protocol are specified in docs/internals/table-format.md.

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/core.h"
#include "spec/spec.h"

namespace loom::engine {
class Connection;
}

namespace loom::table {

// A version number of one table: 1, 2, 3... (0 is "no version"). A strong type, not an int.
class Version {
 public:
  constexpr Version() = default;
  constexpr explicit Version(uint64_t n) : n_(n) {}
  constexpr uint64_t number() const { return n_; }
  constexpr Version Next() const { return Version(n_ + 1); }
  constexpr bool valid() const { return n_ > 0; }
  auto operator<=>(const Version&) const = default;
  std::string ToString() const { return std::to_string(n_); }

 private:
  uint64_t n_ = 0;
};

// One input a version was made from (lineage): an address and a version or an offset range.
struct InputRef {
  std::string address;
  std::optional<uint64_t> version;
  std::optional<uint32_t> partition;
  std::optional<uint64_t> offset_begin;  // inclusive
  std::optional<uint64_t> offset_end;    // exclusive
};

// A column as stored in a version (the schema of that version, which later versions may change).
struct Column {
  std::string name;
  std::string type;      // spec::FieldType::ToString(): "int64", "decimal(18,2)"
  std::string sql_type;  // spec::FieldType::SqlType(): "BIGINT"
  bool required = false;
  bool pii = false;
};

struct ColumnStats {
  uint64_t null_count = 0;
  nlohmann::json min;  // null when not meaningful (lists, structs, pii, all-null column)
  nlohmann::json max;
  // An int64 column whose values all lie in int32 range (nulls aside). Kept for pii columns and
  // in encrypted manifests: it is one bit, and a masked column shows it anyway (the integer hash
  // mask is then an INTEGER, security::ValueRange::kInt32).
  bool fits_int32 = false;
};

struct DataFile {
  std::string path;  // relative to the version directory
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
  uint64_t rows = 0;
};

enum class SourceKind : uint8_t { kCsv, kJsonLines, kParquet, kQuery, kStreamWindow };
std::string_view ToString(SourceKind kind);  // "csv", "jsonl", "parquet", "query", "stream-window"

struct Manifest {
  std::string table;  // the table's name (its address text)
  Version version;
  TimestampMicros published_at = 0;
  std::string published_by;  // a principal
  SourceKind source_kind = SourceKind::kCsv;
  std::string source_description;
  std::vector<InputRef> inputs;
  std::vector<Column> schema;
  uint64_t row_count = 0;
  std::vector<std::pair<std::string, ColumnStats>> columns;  // schema order
  std::vector<DataFile> files;
  // The files are sealed with the product's data key (TableOptions::cipher); min/max are then
  // not recorded, since the manifest itself is plaintext.
  bool encrypted = false;

  const ColumnStats* Stats(std::string_view column) const;
};

nlohmann::json ToJson(const Manifest& m);
// kDataLoss when the text is not a manifest of format 1.
Result<Manifest> ManifestFromJson(std::string_view text);

// What a query engine needs to read one version: its Parquet files (absolute paths) and schema.
struct Snapshot {
  Manifest manifest;
  std::string dir;                      // the version directory
  std::vector<std::string> file_paths;  // absolute, in manifest order
  // manifest.encrypted only: the AAD each file is sealed under (engine::Relation::file_aads).
  std::vector<std::string> file_aads = {};
};

// One invalid value of a source: "line 14: column duration_ms: expected int64, got \"12s\"".
struct RowError {
  uint64_t line = 0;  // CSV/JSONL: 1-based physical line; Parquet/query: 1-based row
  bool is_line = true;
  std::string column;  // empty for whole-row problems (malformed JSON, unknown key)
  std::string problem;
  std::string ToString() const;
};

// The first kMaxReportedErrors errors of a refused source and how many there were in all.
struct ValidationReport {
  static constexpr size_t kMaxReportedErrors = 100;
  std::vector<RowError> errors;
  uint64_t error_count = 0;
};

struct PublishOptions {
  std::string published_by;  // principal, required
  std::string source_description;
  std::vector<InputRef> inputs;
  // Filled when a source is refused for invalid rows (the returned status is kInvalidArgument and
  // lists the same errors). Optional.
  ValidationReport* report = nullptr;
  // Called with the staged version (its files written and sealed, not yet visible) and the
  // current one (nullptr when none), under the publish lock, just before the commit. An error
  // refuses the publish: it is returned as is and the staged files are removed. Optional.
  std::function<Status(const Snapshot& staged, const Snapshot* current)> before_commit;
};

// A closed time window [start, end) of a stream port, for a snapshot table.
struct StreamWindow {
  std::string stream_address;
  TimestampMicros start = 0;
  TimestampMicros end = 0;
  std::vector<InputRef> offsets;  // per partition: the offset range the window covered
};

struct TableOptions {
  std::string root;     // the table's directory; created if missing
  std::string name;     // address text, used in manifests and messages
  spec::Schema schema;  // the product's schema; new versions are validated against it
  spec::TableSettings settings;
  FileSystem* fs = nullptr;  // default: FileSystem::Default(); must outlive the Table
  Clock* clock = nullptr;    // default: Clock::Real(); must outlive the Table
  // Encryption at rest (confidential and restricted products): each new version's Parquet file
  // is written by DuckDB into memory (a memfd) and stored sealed whole with this cipher, AAD =
  // SealedFileAad(name, "v00000003/part-00000.parquet"). Not owned; must outlive the Table.
  // Without it, publishing onto a table whose current version is encrypted is
  // kFailedPrecondition (never a plaintext version after sealed ones).
  const BlockCipher* cipher = nullptr;
};

// One table port on disk.
//
// Thread-safety: thread-safe. Publishes are serialized by a mutex and, across processes, by an
// flock on <root>/LOCK (a second publisher gets kAborted, it does not wait). Readers take no lock
// and always see a complete, committed version.
//
// Errors: kInvalidArgument for a source that does not match the schema (per-row errors in the
// message), kNotFound for a missing version or source file, kAborted when another publisher holds
// the lock, kDataLoss for a corrupt CURRENT or manifest or for an fsync failure after the commit
// point, kFailedPrecondition for publishing after such a failure, kResourceExhausted / kInternal
// for I/O errors (the new version is then not visible).
class Table {
 public:
  // Opens (creating the directory if needed). Removes leftovers of crashed publishes when no other
  // publisher holds the lock.
  static Result<std::unique_ptr<Table>> Open(TableOptions options);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // Validates a CSV (header line), JSON Lines or Parquet file against the schema and publishes it
  // as the next version. `kind` is kCsv, kJsonLines or kParquet.
  Result<Manifest> PublishFile(const std::string& path, SourceKind kind,
                               const PublishOptions& options);
  // Publishes the result of `sql`, run on `conn` (a trusted connection of the platform; must not
  // be used by another thread during the call), validated against the schema.
  Result<Manifest> PublishQuery(engine::Connection& conn, const std::string& sql,
                                const PublishOptions& options);
  // Publishes a closed window of a stream port: its rows are given either as a query on `conn`
  // (`rows_sql`) or, when `conn` is null, as a JSON Lines file (`rows_path`). The window and its
  // offset ranges are recorded as the version's inputs.
  Result<Manifest> PublishStreamWindow(const StreamWindow& window, engine::Connection* conn,
                                       const std::string& rows_sql, const std::string& rows_path,
                                       const PublishOptions& options);

  // The current version (kNotFound when none was published yet).
  Result<Snapshot> Current() const;
  // A committed, retained version by number.
  Result<Snapshot> At(Version version) const;
  // The version that was current at time t (kNotFound when none, or it was removed by retention).
  Result<Snapshot> AsOf(TimestampMicros t) const;
  // Every committed, retained version with its manifest, oldest first.
  Result<std::vector<Manifest>> Versions() const;
  // The current version number (Version() when none).
  Result<Version> CurrentVersion() const;

  // The last retention failure (OK when none); retried by the next publish.
  Status RetentionStatus() const;

  const std::string& root() const;

  class Impl;

 private:
  explicit Table(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::table
