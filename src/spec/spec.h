#pragma once

// The descriptors — Domain, DataProduct, Policy — as types: parse from YAML, validate, render back.
// The shape follows the Open Data Contract Standard v3 where that costs nothing; see
// docs/descriptors.md for the reference with every key.
//
// Everything here is a value type (thread-compatible) or a free function without shared state
// (thread-safe). Nothing throws: yaml-cpp's and std::regex's exceptions are caught inside.

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/core.h"

namespace loom::spec {

inline constexpr std::string_view kApiVersion = "loom/v1";

// Where a value came from in a descriptor file (1-based line and column).
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
};

// One problem found in a descriptor: "products/play-events.yaml:14:7:
// spec.schema.fields[3].type: unknown type 'strng' (did you mean 'string'?)".
struct Diagnostic {
  SourcePos pos;
  std::string path;     // the field path, "spec.schema.fields[3].type"
  std::string message;  // what was wrong and what was expected
  std::string ToString() const;
};

// A semantic version "MAJOR.MINOR.PATCH[-pre]" (semver.org 2.0.0 without build metadata).
// Ordered by semver precedence: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta < 1.0.0.
struct SemVer {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t patch = 0;
  std::string prerelease;
  // kInvalidArgument "'1.0' is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0)".
  static Result<SemVer> Parse(std::string_view text);
  std::string ToString() const;
  std::strong_ordering operator<=>(const SemVer& other) const;
  bool operator==(const SemVer&) const = default;
};

enum class Classification : uint8_t { kPublic, kInternal, kConfidential, kRestricted };
enum class Alignment : uint8_t { kSource, kConsumer, kShared };

enum class TypeKind : uint8_t {
  kString,
  kInt32,
  kInt64,
  kDouble,
  kDecimal,
  kBool,
  kDate,
  kTimestamp,
  kUuid,
  kList,
  kStruct
};

struct Field;

// A field type. Text forms: string, int32, int64, double, decimal(p,s), bool, date, timestamp,
// uuid, list<T>, struct (with `fields:`).
struct FieldType {
  TypeKind kind = TypeKind::kString;
  int precision = 0;               // decimal only, 1..38
  int scale = 0;                   // decimal only, 0..precision
  std::vector<FieldType> element;  // list only: exactly one element type
  std::vector<Field> fields;       // struct only
  std::string ToString() const;    // "decimal(18,2)", "list<string>", "struct<a int32, b string>"
  // The DuckDB SQL type: VARCHAR, INTEGER, BIGINT, DOUBLE, DECIMAL(p,s), BOOLEAN, DATE,
  // TIMESTAMPTZ, UUID, T[], STRUCT(...).
  std::string SqlType() const;
};

// How a pii field is de-identified for readers without `unmask`.
enum class MaskMethod : uint8_t { kNone, kRedact, kHash, kTokenize, kTruncate, kNull };

struct Constraints {
  std::vector<std::string> enum_values;  // `enum:` accepted values (string fields)
  std::optional<std::string> pattern;    // `pattern:` ECMAScript regex the whole value matches
  std::optional<double> minimum;         // `min:` numeric fields (inclusive)
  std::optional<double> maximum;         // `max:`
  std::optional<int64_t> min_length;     // `minLength:` strings and lists
  std::optional<int64_t> max_length;     // `maxLength:`
  bool empty() const {
    return enum_values.empty() && !pattern && !minimum && !maximum && !min_length && !max_length;
  }
};

struct Field {
  std::string name;  // [a-z_][a-z0-9_]*
  FieldType type;
  std::string description;
  bool required = false;
  bool primary_key = false;
  bool pii = false;
  MaskMethod mask = MaskMethod::kNone;     // `mask:`; pii fields without one default to redact
  bool mask_declared = false;              // `mask:` was written (governance may require it)
  std::optional<std::string> global_type;  // `globalType: artist_id`
  // No `type:` was written: the field takes its global type's (governance::ResolveGlobalTypes);
  // until resolved, `type` is the default string.
  bool inherits_type = false;
  Constraints constraints;
  SourcePos pos;
};

struct Schema {
  std::vector<Field> fields;
  const Field* Find(std::string_view name) const;
};

enum class PortKind : uint8_t { kStream, kTable };
enum class FsyncPolicy : uint8_t { kAlways, kInterval, kNever };
enum class OnInvalid : uint8_t { kReject, kQuarantine };
enum class Compression : uint8_t { kNone, kZstd };

// Settings of a stream port (`stream:` under the port). Durations are milliseconds.
struct StreamSettings {
  uint32_t partitions = 1;
  std::vector<std::string> partition_key;  // field names of `data`; empty: round robin
  std::optional<std::string> event_time;   // data field holding event time; default: ce `time`
  std::string event_type;                  // expected CloudEvents `type`; empty: any
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  int64_t fsync_interval_ms = 100;  // with fsync: interval
  Compression compression = Compression::kNone;
  std::optional<int64_t> retention_ms;     // none and no retention_bytes: forever
  std::optional<int64_t> retention_bytes;  // per partition
  int64_t segment_bytes = 128ll << 20;
  int64_t segment_ms = 7ll * 24 * 3600 * 1000;
  OnInvalid on_invalid = OnInvalid::kReject;
  int64_t dedup_window_ms = 24ll * 3600 * 1000;
  int64_t max_event_bytes = 1 << 20;
};

enum class SnapshotInterval : uint8_t { kHourly, kDaily, kMonthly };

// A table port made from closed time windows of a stream port of the same product.
struct SnapshotSettings {
  std::string from_port;
  SnapshotInterval interval = SnapshotInterval::kDaily;
};

struct TableSettings {
  std::optional<uint32_t> retain_versions;  // none: keep every version
  std::optional<SnapshotSettings> snapshot;
};

struct OutputPort {
  std::string name;
  PortKind kind = PortKind::kStream;
  std::string description;
  StreamSettings stream;  // kind == kStream
  TableSettings table;    // kind == kTable
  SourcePos pos;
};

// Another product's port this product reads; the edges of the lineage graph.
struct InputPort {
  std::string alias;  // the name the transform's SQL uses
  Address address;    // must name a port
  SourcePos pos;
};

enum class TransformMode : uint8_t { kBatch, kStreaming };

// A built-in step for what SQL cannot say.
struct TransformStep {
  std::string kind;  // dedupe | sessionize | enrich
  std::map<std::string, std::string> options;
};

// The product's pipeline: SQL over its inputs by alias, into one of its output ports.
struct Transform {
  std::string output;  // output port name
  TransformMode mode = TransformMode::kBatch;
  std::string sql;
  std::vector<TransformStep> steps;
  std::string schedule;  // batch: "hourly", "daily", "on-input" (default), or a cron-like text
  std::optional<int64_t> window_ms;  // streaming into a table: tumbling window
  int64_t allowed_lateness_ms = 0;
  SourcePos pos;
};

enum class SloKind : uint8_t { kFreshness, kCompleteness, kValidity, kAvailability, kTimeliness };

struct Slo {
  SloKind kind = SloKind::kFreshness;
  std::string port;                     // empty: every port
  double objective = 0.99;              // share of good windows, (0, 1]
  std::optional<int64_t> threshold_ms;  // freshness/timeliness: max age
  std::optional<double> threshold;      // completeness/validity: min share
  int64_t window_ms = 28ll * 24 * 3600 * 1000;
  SourcePos pos;
};

enum class Severity : uint8_t { kBlock, kWarn };

// A quality expectation; which members matter depends on kind:
// not_null(fields), unique(fields), accepted_values(fields[0], values), range(fields[0], min, max),
// pattern(fields[0], pattern), row_count(min, max), row_count_change(max_change as a share),
// freshness(fields[0], max_age_ms), referential(fields[0], reference + reference_field), sql(sql).
struct Expectation {
  std::string name;
  std::string kind;
  std::string port;  // empty: the first table port, else the first port
  std::vector<std::string> fields;
  std::vector<std::string> values;
  std::optional<double> min;
  std::optional<double> max;
  std::optional<double> max_change;
  std::optional<std::string> pattern;
  std::optional<int64_t> max_age_ms;
  std::optional<Address> reference;
  std::string reference_field;
  std::string sql;
  Severity severity = Severity::kWarn;
  SourcePos pos;
};

enum class Permission : uint8_t { kRead, kWrite, kUnmask };

// An access rule in the product: who may do what, on which port ("" = all ports).
struct AccessRule {
  std::string principal;  // user:NAME | group:NAME | service:NAME
  std::vector<Permission> permissions;
  std::string port;
  std::optional<std::string> row_filter;  // SQL predicate over the port's fields
  SourcePos pos;
};

struct DataProduct {
  std::string domain;
  std::string name;
  SemVer version;
  std::string title;
  std::string description;
  std::string owner;  // a principal
  std::vector<std::string> tags;
  Classification classification = Classification::kInternal;
  Alignment alignment = Alignment::kSource;
  Schema schema;
  std::vector<OutputPort> output_ports;
  std::vector<InputPort> input_ports;
  std::optional<Transform> transform;
  std::vector<Slo> slos;
  std::vector<Expectation> expectations;
  std::vector<AccessRule> access;
  std::optional<std::string> deprecated;  // a message; the product is deprecated
  const OutputPort* FindPort(std::string_view name) const;
  Address address() const { return Address{domain, name, "", std::nullopt}; }
};

struct Domain {
  std::string name;
  std::string title;
  std::string description;
  std::vector<std::string> owners;  // principals
  std::vector<std::string> tags;
};

// A global type: an organisation-wide field type or entity identifier.
struct GlobalType {
  std::string name;  // artist_id
  FieldType type;
  std::string description;
  std::string owner_domain;
  Constraints constraints;
  SourcePos pos;
};

// A rule of the global governance, kept as code. Parsed and stored; later modules enforce them.
struct PolicyRule {
  std::string kind;           // required_metadata | naming | classification_controls | envelope
  nlohmann::json parameters;  // the rule's other keys, as given
  SourcePos pos;
};

// A central grant: roles on domains, permissions on products and ports.
struct Grant {
  std::string principal;
  std::optional<std::string> role;      // owner | producer | consumer (on a domain)
  std::vector<Permission> permissions;  // on a product or port
  std::string domain;                   // required
  std::string product;                  // empty: the whole domain
  std::string port;                     // empty: every port
  std::optional<std::string> row_filter;
  SourcePos pos;
};

struct Policy {
  std::string name;
  std::string description;
  std::vector<GlobalType> global_types;
  std::vector<PolicyRule> rules;
  std::vector<Grant> grants;
};

enum class Kind : uint8_t { kDomain, kDataProduct, kPolicy };
std::string_view KindName(Kind kind);  // "Domain", "DataProduct", "Policy"

// One YAML document of a descriptor file.
struct Document {
  Kind kind = Kind::kDataProduct;
  std::variant<Domain, DataProduct, Policy> body;
  SourcePos pos;     // where the document starts
  std::string text;  // the document's own YAML text, as written

  // "domain:media-player", "product:media-player/play-events", "policy:global-types"
  std::string Key() const;
  const DataProduct* product() const { return std::get_if<DataProduct>(&body); }
  const Domain* domain() const { return std::get_if<Domain>(&body); }
  const Policy* policy() const { return std::get_if<Policy>(&body); }
};

// Parses and validates every document of a YAML text ("---"-separated). `file` is used in
// diagnostics only. Every key is validated; unknown keys are errors. On failure returns
// kInvalidArgument whose message lists every diagnostic (Diagnostic::ToString), one per line, and
// appends them to `diagnostics` when given. All problems of all documents are collected; within a
// document they are sorted by position. Documents with the same Key() twice are an error, and so
// is a text without any document.
Result<std::vector<Document>> ParseDocuments(std::string_view yaml_text, std::string_view file,
                                             std::vector<Diagnostic>* diagnostics = nullptr);

// Reads FILE, or every *.yaml / *.yml file under DIR (recursively, sorted by path), and parses
// them all; diagnostics name each file as PATH joined with its path under PATH. Documents with the
// same Key() twice, in one file or across files, are an error. Errors: kNotFound (no such path),
// kInvalidArgument (any diagnostic; a directory without descriptor files), the file system's
// codes for unreadable files.
Result<std::vector<Document>> LoadPath(const std::string& path,
                                       std::vector<Diagnostic>* diagnostics = nullptr);

// The canonical JSON form of a document (what the catalog stores and the API returns): the YAML's
// key names, every member present with its default explicit (absent optionals are null), sorted
// keys, so that dump() is canonical. docs/descriptors.md describes it.
nlohmann::json ToJson(const Document& doc);
nlohmann::json ToJson(const DataProduct& product);
nlohmann::json ToJson(const Domain& domain);
nlohmann::json ToJson(const Policy& policy);

// A commented DataProduct descriptor for `loom init DOMAIN/PRODUCT` that passes validation.
std::string ScaffoldDataProduct(std::string_view domain, std::string_view product);

std::string_view ToString(Classification c);
std::string_view ToString(Alignment a);
std::string_view ToString(PortKind k);
std::string_view ToString(Permission p);
std::string_view ToString(MaskMethod m);
std::string_view ToString(SloKind k);
std::string_view ToString(Severity s);
std::string_view ToString(FsyncPolicy f);       // always | interval | never
std::string_view ToString(OnInvalid o);         // reject | quarantine
std::string_view ToString(Compression c);       // none | zstd
std::string_view ToString(SnapshotInterval i);  // hourly | daily | monthly
std::string_view ToString(TransformMode m);     // batch | streaming

// The text forms descriptors use, exposed so that flags and APIs read them the same way.
// Durations: a whole number and a unit ms, s, m, h, d or w ("100ms", "5m", "30d").
// Sizes: a whole number and a unit B, KiB, MiB, GiB or TiB ("512KiB", "10GiB").
// Each returns kInvalidArgument naming the text and the expected form.
Result<int64_t> ParseDurationMs(std::string_view text);
std::string FormatDurationMs(int64_t ms);  // the largest exact unit: 90000 -> "90s"
Result<int64_t> ParseBytes(std::string_view text);
std::string FormatBytes(int64_t bytes);  // the largest exact unit: 1048576 -> "1MiB"
// A field type's text form (see FieldType); a struct parses with no fields.
Result<FieldType> ParseFieldType(std::string_view text);
// "" if `principal` is `user:NAME`, `group:NAME` or `service:NAME`, else why not.
std::string PrincipalProblem(std::string_view principal);

}  // namespace loom::spec
