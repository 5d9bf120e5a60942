#pragma once

// The public header of engine/: DuckDB 1.4 (through its stable C API only) behind a small RAII
// wrapper. Two layers:
//   - Database / Connection / QueryResult: the platform's own TRUSTED work (COPY ... TO Parquet,
//     read_parquet of files the platform chose). Nothing here restricts SQL.
//   - Session: a user's closed query surface over the relations the platform resolved for them
//     (masks, row filters, a SQL front door). See docs/internals/engine.md and docs/sql.md.
// Result encoders (text table, JSON, NDJSON, CSV, Parquet) stream chunks to a Sink.
//
// Errors: kInvalidArgument for SQL the engine or DuckDB refuses (with DuckDB's message, scrubbed
// of paths and mask expressions in sessions), kCancelled after Interrupt()/Cancel(),
// kDeadlineExceeded after a timeout, kResourceExhausted when DuckDB runs out of memory,
// kInternal for unexpected library failures.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/block_cipher.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "core/status.h"

namespace loom {
class MemFile;  // core/sealed_file.h
}  // namespace loom
namespace loom::log {
class Log;
}  // namespace loom::log
namespace loom::spec {
struct Schema;
}  // namespace loom::spec

namespace loom::engine {

// One result column: its name, DuckDB type ("DECIMAL(18,3)", "VARCHAR[]",
// "STRUCT(a INTEGER, b VARCHAR)") and the PostgreSQL type OID the wire listener will announce
// (bool 16, int2 21, int4 23, int8 20, float4 700, float8 701, numeric 1700, text 25, bytea 17,
// date 1082, time 1083, timestamp 1114, timestamptz 1184, interval 1186, uuid 2950, json 114 for
// STRUCT/MAP/UNION and JSON, arrays of scalars as the PostgreSQL array OIDs, else text).
struct Column {
  std::string name;
  std::string type;
  int32_t pg_oid = 25;
};

// A read-only view of one chunk of result rows (at most 2048). Valid until the next
// QueryResult::Next() or the result's destruction. Not thread-safe.
class Chunk {
 public:
  virtual ~Chunk() = default;
  virtual size_t num_rows() const = 0;
  virtual size_t num_columns() const = 0;
  virtual bool IsNull(size_t col, size_t row) const = 0;
  // Appends the human text of a non-NULL cell (numbers, "2024-05-01 10:00:00", strings as is,
  // nested values as JSON). Appends "NULL" for NULL.
  virtual void AppendText(size_t col, size_t row, std::string* out) const = 0;
  // Appends the cell as a JSON literal: numbers and booleans bare, temporal values and strings
  // quoted, lists as arrays, structs and maps as objects, NULL (and NaN/Inf) as null.
  virtual void AppendJson(size_t col, size_t row, std::string* out) const = 0;
  // The cell as a 64-bit integer, without text: TINYINT to BIGINT and UTINYINT to UINTEGER as
  // their value, TIMESTAMP and TIMESTAMP WITH TIME ZONE as microseconds since the epoch (UTC).
  // nullopt for NULL and for any other type.
  virtual std::optional<int64_t> Int64(size_t col, size_t row) const = 0;

  std::string Text(size_t col, size_t row) const;
  std::string Json(size_t col, size_t row) const;
};

// A streamed query result: chunks are produced by DuckDB as Next() is called, so a result is
// never buffered whole. Owns its duckdb_result. Not thread-safe, except that the Connection (or
// Session) that made it may be interrupted from another thread.
class QueryResult {
 public:
  virtual ~QueryResult() = default;
  virtual const std::vector<Column>& columns() const = 0;
  // The next chunk, or nullptr at the end. Errors as in the header comment.
  virtual Result<const Chunk*> Next() = 0;
  // Rows returned by Next() so far.
  virtual uint64_t rows() const = 0;
};

// A small result held in memory: column metadata and each cell as text (nullopt for NULL) and
// as JSON text. For tests, the CLI and platform bookkeeping; never for user-sized results.
struct Rows {
  std::vector<Column> columns;
  std::vector<std::vector<std::optional<std::string>>> text;
  std::vector<std::vector<std::string>> json;  // JSON literal per cell

  size_t size() const { return text.size(); }
  // The cell's text, or "NULL".
  std::string Get(size_t row, size_t col) const;
  // [{"col": value, ...}, ...]
  nlohmann::json ToJson() const;
};

struct DatabaseOptions {
  std::string path;            // "" = in memory
  int threads = 0;             // 0 = DuckDB's default (the number of cores)
  std::string memory_limit;    // "" = DuckDB's default, else e.g. "2GB"
  std::string temp_directory;  // "" = DuckDB's default (spill files)
  std::vector<std::pair<std::string, std::string>> config;  // other options, set before open
};

class Connection;

// Owns one duckdb_database. Thread-safe (DuckDB's database is); copy deleted. Must outlive its
// Connections.
class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<std::unique_ptr<Connection>> Connect();

  struct Handle;  // engine-internal

 private:
  explicit Database(std::unique_ptr<Handle> h);
  std::unique_ptr<Handle> h_;
};

// Owns one duckdb_connection. One thread at a time uses it, except Interrupt(), which is
// thread-safe. A QueryResult must be destroyed before the connection runs the next statement.
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements, discarding results.
  Status Execute(std::string_view sql);
  // Runs one statement and streams its result.
  Result<std::unique_ptr<QueryResult>> Query(std::string_view sql);
  // Runs one statement and materializes at most max_rows rows (kResourceExhausted beyond).
  Result<Rows> QueryRows(std::string_view sql, size_t max_rows = 100000);
  // Makes the running statement fail with kCancelled. Thread-safe.
  void Interrupt();

  struct Handle;  // engine-internal
  explicit Connection(std::unique_ptr<Handle> h);
  Handle& handle() { return *h_; }

 private:
  std::unique_ptr<Handle> h_;
};

// Quotes an identifier ("my ""name""") and a string literal ('it''s') for SQL text the platform
// writes itself.
std::string QuoteIdent(std::string_view ident);
std::string QuoteString(std::string_view s);

// ---------------------------------------------------------------------------------------------
// Result encoders (encoder.cc). Each consumes a QueryResult chunk by chunk and writes to a Sink;
// only the text table keeps a bounded sample of rows (to size its columns).

// Where encoded bytes go. Implementations say their own thread-safety.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Write(std::string_view bytes) = 0;
};

// Appends to a string (tests, small results). Not thread-safe.
class StringSink final : public Sink {
 public:
  Status Write(std::string_view bytes) override {
    out_.append(bytes);
    return Status::Ok();
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// Counts bytes and discards them. Not thread-safe.
class CountingSink final : public Sink {
 public:
  Status Write(std::string_view bytes) override {
    bytes_ += bytes.size();
    return Status::Ok();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  uint64_t bytes_ = 0;
};

enum class Format {
  kTable,   // aligned human text table with a "(N rows)" footer
  kJson,    // one JSON array of objects
  kNdjson,  // one JSON object per line
  kCsv,     // RFC 4180: header line, CRLF line ends, quotes where needed
  kParquet  // a Parquet file (zstd); only through Session::Export
};

// "table", "json", "ndjson", "csv", "parquet".
Result<Format> ParseFormat(std::string_view name);

struct EncodeOptions {
  size_t max_width = 40;      // text table: longer values are cut and end with "…"
  size_t sample_rows = 2048;  // text table: rows read before column widths are fixed
  bool csv_header = true;
};

struct EncodeStats {
  uint64_t rows = 0;
  uint64_t bytes = 0;
};

// Encodes `result` to `sink` in a text format (not kParquet: kInvalidArgument). Errors of the
// result and of the sink are returned as they are.
Result<EncodeStats> Encode(QueryResult& result, Format format, Sink& sink,
                           const EncodeOptions& options = {});

// ---------------------------------------------------------------------------------------------
// Sessions: the closed query surface of one user (session.cc, front_door.cc).
// Stream ports enter a session as relations too: see StreamTier below.

// One column of a relation as the platform resolved it for this caller.
struct RelationColumn {
  std::string name;  // the column name in the files and in SQL
  std::string type;  // its DuckDB SQL type ("VARCHAR", "TIMESTAMP", "DECIMAL(18,2)")
  std::string mask;  // "" = none; else a SQL expression over the raw columns (e.g.
                     // "sha256(email)") that replaces the column for every use
};

// A relation the caller may read, named <domain>.<product>.<port> (loom::Address::SqlName).
struct Relation {
  std::string sql_name;
  std::vector<std::string> files;  // Parquet files of one table version (may be empty)
  std::vector<RelationColumn> columns;
  std::string row_filter;  // "" = all rows; else a SQL predicate over the raw columns
  // Encrypted products: when not empty, files[i] is sealed whole with `cipher` under the AAD
  // file_aads[i] (core/sealed_file.h). The session opens each into an in-memory file (memfd)
  // before DuckDB reads it, so plaintext never touches the disk; kDataLoss when one does not
  // decrypt, kFailedPrecondition when `cipher` is null.
  std::vector<std::string> file_aads = {};
  const BlockCipher* cipher = nullptr;  // not owned; used only during Session::Open
  // A stream slice (SliceStream): when not empty, files[i] holds the records of log partition
  // record_partitions[i] as staging lines, read with read_json instead of read_parquet.
  std::vector<int32_t> record_partitions = {};
};

// Opens the sealed files of an encrypted relation (`file_aads` not empty) into anonymous
// in-memory files and points r.files at them; `plain` owns them and must outlive every reader of
// r.files (DuckDB reads them by path). OK and nothing done for a plaintext relation.
// kFailedPrecondition without a cipher, kDataLoss for a file that does not decrypt. Session::Open
// does this itself; the platform calls it for its own trusted reads (snapshot windows).
Status OpenSealedFiles(Relation& r, std::vector<std::unique_ptr<MemFile>>* plain);

struct SessionOptions {
  std::vector<Relation> relations;
  int threads = 0;                       // 0 = DuckDB's default
  std::string memory_limit;              // "" = DuckDB's default
  std::chrono::milliseconds timeout{0};  // per query, 0 = none
  // A private directory for spill files and Parquet exports; "" = none (Export fails). The
  // session creates and removes its own subdirectory in it.
  std::string scratch_dir;
};

// One user's session: a private in-memory DuckDB database where each relation is a view, with
// external access off, only the relations' files allowed, configuration locked, and a SQL front
// door that admits one read-only SELECT naming only the session's relations (see docs/sql.md).
// Used by one thread at a time, except Cancel(), which is thread-safe. A QueryResult it returns
// must be destroyed before the session runs the next query and before the session.
class Session {
 public:
  // kInvalidArgument for a bad relation (name, column, mask, filter); kInternal otherwise.
  static Result<std::unique_ptr<Session>> Open(SessionOptions options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The front door alone: OK if `sql` would be admitted, else kPermissionDenied naming what was
  // refused, or kInvalidArgument for a syntax error.
  Status Check(std::string_view sql);
  // Checks and runs `sql`, streaming its result. kDeadlineExceeded after options.timeout.
  Result<std::unique_ptr<QueryResult>> Query(std::string_view sql);
  Result<Rows> QueryRows(std::string_view sql, size_t max_rows = 100000);
  // Checks and runs `sql`, encoding its result to `sink` in any format, Parquet included.
  Result<EncodeStats> Export(std::string_view sql, Format format, Sink& sink,
                             const EncodeOptions& options = {});
  // Cancels the running query (it fails with kCancelled). Thread-safe; no-op when idle.
  void Cancel();

  struct Impl;  // engine-internal

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Stream ports (stream_tier*.cc): closed offset ranges of each partition of a stream port's log
// are converted to typed Parquet "tier files", so that a stream port is queried like a table
// port (a Relation over Parquet files: DuckDB's parallel scan, pushdown, masks, row filters).
// Directory layout and manifest: docs/internals/engine.md ("Stream ports").

struct StreamTierOptions {
  FileSystem* fs = FileSystem::Default();  // not owned; must outlive the StreamTier
  Clock* clock = Clock::Real();            // not owned; ages of replaced files
  // The trusted DuckDB that converts records (not owned; must outlive the StreamTier). nullptr:
  // the StreamTier opens its own in-memory one, with `threads` threads (0 = DuckDB's default).
  Database* database = nullptr;
  int threads = 0;
  // Where the NDJSON staging file of a conversion goes; "" = the tier directory.
  std::string temp_dir;
  // A partition with more tier files than this has its runs of small files merged.
  size_t max_files_per_partition = 16;
  // Files with fewer rows count as small (a merged file may reach a few times this).
  int64_t compact_target_rows = 4 << 20;
  // A file replaced by compaction or dropped by retention stays on disk this long, so that
  // sessions opened before (in any process) can still read it; then a Sync or Open deletes it.
  std::chrono::seconds obsolete_grace{900};
  // Encryption at rest (confidential and restricted products): tier files are written by
  // DuckDB into memory (memfd), with the NDJSON staging data, and stored sealed whole with this
  // cipher, AAD = SealedFileAad(encryption_context, file name); merges open them into memory.
  // The MANIFEST records it: a tier written with a cipher is kFailedPrecondition without one,
  // and the reverse. Not owned; must outlive the StreamTier.
  const BlockCipher* cipher = nullptr;
  std::string encryption_context = {};  // e.g. the port's address
};

// One published tier file: the records [first, end) of one partition, in offset order.
struct StreamTierFile {
  std::string path;  // absolute
  int32_t partition = 0;
  int64_t first = 0;
  int64_t end = 0;
  int64_t bytes = 0;
};

// What one Sync did.
struct StreamSyncStats {
  int64_t records = 0;        // records converted
  int32_t files_written = 0;  // new tier files (conversions and merges)
  int32_t files_merged = 0;   // small files replaced by compaction
  int32_t files_dropped = 0;  // files whose offsets were all deleted from the log by retention
  int32_t files_deleted = 0;  // replaced or dropped files removed from disk after the grace
  double seconds = 0;
};

// The columns of every stream relation, in order: ce_id VARCHAR, ce_source VARCHAR, ce_type
// VARCHAR, ce_time TIMESTAMPTZ, ce_partition INTEGER, ce_offset BIGINT, then one per schema
// field (spec::FieldType::SqlType()), with no masks. kInvalidArgument when a field is named like
// a ce_* column or twice, or the schema has no fields.
Result<std::vector<RelationColumn>> StreamColumns(const spec::Schema& schema);

// Records [first, end) of some partitions of a stream port's log as a relation named
// `sql_name` with StreamColumns(schema) and the same values as the port's tier files would
// hold, read straight from the log without a conversion to Parquet: what a streaming pipeline
// step reads of its new events. The records are copied into anonymous in-memory files that
// `files` owns; they must outlive every session opened on `relation`. Set masks and a row
// filter on the relation as on any other. kInvalidArgument for a record that is not a JSON
// object (naming its partition and offset), kDataLoss when the log lacks an offset asked for.
struct StreamSlice {
  Relation relation;
  std::vector<std::unique_ptr<MemFile>> files;
};
struct SliceRange {
  int32_t partition = 0;
  int64_t first = 0;
  int64_t end = 0;
};
// Every range gets a file, an empty range an empty one. When `slice` already holds the files of
// the same partitions (a previous call with the same partitions), they are rewritten in place:
// their paths stay, so a session opened over that slice reads the new records (such a session
// does not cache file reads: DuckDB's external file cache is off in a session over a slice).
Status SliceStream(const log::Log& log, const spec::Schema& schema, const std::string& sql_name,
                   const std::vector<SliceRange>& ranges, StreamSlice* slice);

// The tier of one stream port: a directory of Parquet tier files and a MANIFEST (JSON, written
// atomically) listing them. Records are CloudEvents 1.0 structured JSON (one object per record
// value, extension attributes ignored); the record timestamp stands in for a missing `time`.
//
// Thread-safe. Sync calls on one port are serialized: by a mutex within this object and by an
// exclusive flock on <dir>/LOCK across objects and processes. Files()/Relation() return the file
// list of the last Sync or Open, which is always a complete, published set: a concurrent Sync
// never deletes a file it lists before obsolete_grace has passed. A crash (or an error) in Sync
// leaves the previous manifest in force; unlisted files are removed by the next Open or Sync.
//
// Errors: kInvalidArgument for a bad schema or a record that is not a CloudEvent matching it
// (naming the partition and offset), kFailedPrecondition when the partition count or the schema
// differs from the tier's, kDataLoss for an unreadable manifest or a corrupt log batch, I/O
// errors of the file system, and DuckDB's errors as for Connection.
class StreamTier {
 public:
  // Opens (creating it if needed) the tier in `dir`, taking the lock to remove orphans.
  static Result<std::unique_ptr<StreamTier>> Open(const std::string& dir,
                                                  StreamTierOptions options = {});
  ~StreamTier();
  StreamTier(const StreamTier&) = delete;
  StreamTier& operator=(const StreamTier&) = delete;

  // Converts every record of every partition of `log` from the last tiered offset (or the
  // log's start offset, if retention deleted past it) up to the partition's end offset at the
  // call into new tier files, merges small files, drops files whose offsets the log deleted
  // by retention, deletes files obsolete for longer than the grace, then publishes the new
  // manifest. After OK, Relation() covers every record acknowledged before the call.
  Result<StreamSyncStats> Sync(const log::Log& log, const spec::Schema& schema);

  // The relation for a session: the published tier files and StreamColumns(schema). Set masks
  // and a row filter on it as for a table port. kFailedPrecondition if `schema` is not the one
  // the files were written with.
  Result<engine::Relation> ToRelation(const std::string& sql_name,
                                      const spec::Schema& schema) const;

  // The published tier files, by partition then offset.
  std::vector<StreamTierFile> Files() const;
  // One past the last tiered offset of `partition` (0 before any Sync).
  int64_t TieredEnd(int32_t partition) const;
  const std::string& dir() const;

  struct Impl;  // engine-internal

 private:
  explicit StreamTier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::engine
