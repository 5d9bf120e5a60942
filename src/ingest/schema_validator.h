#pragma once

// The product schema compiled for the hot path: field lookup, constraints, patterns (compiled
// once, to a small literal/class matcher when the pattern allows, else std::regex), and the walk
// that validates a `data` value with simdjson on-demand while writing its compact JSON.
// Thread-safety: a CompiledSchema is immutable after Compile and may be shared by all threads;
// the walk uses only the caller's parser and scratch.

#include <cstring>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/status.h"
#include "spec/spec.h"

namespace loom::ingest {

// A pattern matched against a whole string value.
class Pattern {
 public:
  // kInvalidArgument for a pattern std::regex rejects.
  static Result<Pattern> Compile(const std::string& text);
  bool Matches(std::string_view s) const;
  const std::string& text() const { return text_; }

 private:
  struct Atom {
    bool set[256] = {};
    int min = 1;
    int max = 1;  // -1: unbounded (only the last atom)
  };
  std::string text_;
  std::vector<Atom> atoms_;                  // used when simple_
  std::shared_ptr<const std::regex> regex_;  // otherwise; shared by copies, immutable
  bool simple_ = false;
};

struct CompiledType;

struct CompiledField {
  std::string name;
  std::string json_member;  // ,"name": as written to the compact JSON
  bool required = false;
  std::unique_ptr<CompiledType> type;
  std::vector<std::string> enum_values;
  std::string enum_list;  // "SE, US" for messages
  std::optional<Pattern> pattern;
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::optional<int64_t> min_length;
  std::optional<int64_t> max_length;
  int key_slot = -1;           // top level: position in partition_key, else -1
  bool is_event_time = false;  // top level: the port's event_time field
};

struct CompiledType {
  spec::TypeKind kind = spec::TypeKind::kString;
  int precision = 0;
  int scale = 0;
  std::unique_ptr<CompiledType> element;  // list
  std::vector<CompiledField> fields;      // struct, and the root
};

// A path for messages, built only when a record is refused: "data.items[2].sku".
struct PathNode {
  const PathNode* parent = nullptr;
  std::string_view name;
  int64_t index = -1;
  std::string ToString() const;
};

// What the walk hands back besides the compact JSON.
struct DataCapture {
  std::vector<std::string_view> key_parts;  // one per partition_key field (views: parser/input)
  bool has_event_time = false;
  int64_t event_time = 0;
};

enum class WalkResult : uint8_t { kOk, kInvalid, kSyntax };

class CompiledSchema {
 public:
  // kInvalidArgument for a bad pattern, a partition_key or event_time naming no top-level field
  // (or an event_time that is not a timestamp), a schema deeper than max_depth.
  static Result<std::unique_ptr<CompiledSchema>> Compile(const spec::Schema& schema,
                                                         const spec::StreamSettings& settings,
                                                         int max_depth);

  // Validates `data` (the event's data member) and appends its compact JSON to *out. On kInvalid
  // or kSyntax, *reason says what and where; *out is then garbage (the caller truncates).
  WalkResult Walk(simdjson::ondemand::value data, std::string* out, DataCapture* capture,
                  std::string* reason) const;

  size_t key_fields() const { return key_fields_; }
  // True when a top-level field is required (then an event without data is invalid).
  bool has_required() const {
    for (const CompiledField& f : root_.fields)
      if (f.required) return true;
    return false;
  }

 private:
  CompiledType root_;
  size_t key_fields_ = 0;
};

// The key of a member without copying: its raw bytes when they hold no escape, else the
// unescaped key (copied into the parser's string buffer).
inline simdjson::error_code FieldKey(simdjson::ondemand::field& f, std::string_view* out) {
  const char* p = f.key().raw();
  const char* q = p;
  while (*q != '"' && *q != '\\') ++q;  // stage 1 guarantees the closing quote
  if (*q == '"') {
    *out = std::string_view(p, static_cast<size_t>(q - p));
    return simdjson::SUCCESS;
  }
  return f.unescaped_key().get(*out);
}

// The value of a string whose raw token (quotes included, trailing whitespace trimmed) is `raw`,
// without copying: its raw bytes when they hold no escape (stage 1 has validated the UTF-8 and
// the closing quote, so unescaping could not fail or change them), else the unescaped string
// (copied into the parser's string buffer; a bad escape is the error).
inline simdjson::error_code StringValue(simdjson::ondemand::value& v, std::string_view raw,
                                        std::string_view* out) {
  if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
    std::string_view inner = raw.substr(1, raw.size() - 2);
    if (std::memchr(inner.data(), '\\', inner.size()) == nullptr) {
      *out = inner;
      return simdjson::SUCCESS;
    }
  }
  return v.get_string().get(*out);
}

// "string \"12s\"", "number 1.5", "true", "object", "array", "null" — for messages.
std::string DescribeValue(simdjson::ondemand::value& v);

// Validation helpers shared with the envelope.
bool IsUuid(std::string_view s);
bool IsDate(std::string_view s);
bool IsUriReference(std::string_view s);
size_t Utf8Length(std::string_view s);
std::string_view TrimRight(std::string_view s);
std::string Quote(std::string_view s);  // 'text' truncated to 64 bytes

}  // namespace loom::ingest
