#pragma once

// Internal to spec/: walking a yaml-cpp node tree while collecting diagnostics. Every getter
// records a problem instead of throwing, so that one pass finds every mistake in a document.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spec/spec.h"

namespace loom::spec::internal {

// Levenshtein distance, for did-you-mean hints.
size_t EditDistance(std::string_view a, std::string_view b);
// The candidate nearest to `word` if it is near enough to be a likely typo, else "".
std::string NearestName(std::string_view word, const std::vector<std::string_view>& candidates);
// " (did you mean 'x'?)" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates);
// "a, b or c"
std::string OneOf(const std::vector<std::string_view>& candidates);

// Where diagnostics of one YAML document go. Not thread-safe; one per document.
class Context {
 public:
  // `line_offset`: 0-based line of the document's first line in the file; `text`: the document's
  // text (to tell `key: null` from `key:`).
  Context(std::string file, int line_offset, std::string_view text, std::vector<Diagnostic>* out)
      : file_(std::move(file)), line_offset_(line_offset), text_(text), out_(out) {}

  SourcePos Pos(const YAML::Node& node) const;
  SourcePos Pos(const YAML::Mark& mark) const;
  void Error(const YAML::Node& node, std::string path, std::string message);
  void Error(const SourcePos& pos, std::string path, std::string message);
  // True if the node is null because the text says `null` or `~` (not because it is empty).
  bool IsNullLiteral(const YAML::Node& node) const;
  // Remembers that `value` is empty (`key:` with nothing after it), so that problems with it are
  // reported at its key.
  void NoteEmptyValue(const YAML::Node& value, const YAML::Mark& key_mark);
  size_t errors() const { return errors_; }

  // False once the product's schema had a problem: checks that look fields up by name are then
  // skipped, since a missing field is most likely the mistake already reported.
  bool schema_complete = true;
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  int line_offset_;
  std::string_view text_;
  std::vector<Diagnostic>* out_;
  size_t errors_ = 0;
  std::vector<std::pair<YAML::Node, YAML::Mark>> empty_values_;
};

// "map", "list", "string", "null"
std::string_view NodeTypeName(const YAML::Node& node);

// Reads one YAML mapping whose allowed keys are known. The constructor reports a node that is not
// a map, duplicate keys and unknown keys (with did-you-mean); the getters report values of the
// wrong type or form. A getter for a missing key leaves the output untouched.
class MapReader {
 public:
  MapReader(Context& ctx, const YAML::Node& node, std::string path,
            std::vector<std::string_view> allowed);

  bool ok() const { return is_map_; }  // false: not a map (already reported)
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  std::string PathOf(std::string_view key) const;
  Context& ctx() { return ctx_; }

  // The value of `key`, or an undefined node.
  YAML::Node Get(std::string_view key) const;
  bool Has(std::string_view key) const;
  // Reports `key` missing unless an unknown key was already reported as its likely typo.
  bool Require(std::string_view key);

  // Scalars. Each returns false if the key is absent or its value was wrong (and reported).
  bool String(std::string_view key, std::string* out, bool required = false);
  bool OptString(std::string_view key, std::optional<std::string>* out);
  bool Bool(std::string_view key, bool* out);
  bool Int(std::string_view key, int64_t* out, int64_t min, int64_t max);
  bool Number(std::string_view key, double* out);
  bool DurationMs(std::string_view key, int64_t* out, bool allow_zero = false);
  bool Bytes(std::string_view key, int64_t* out);
  // A name (loom::IsValidName).
  bool Name(std::string_view key, std::string* out, bool required = false);
  // One of `values` (by text); *out is its index.
  bool Enum(std::string_view key, const std::vector<std::string_view>& values, size_t* out);
  bool StringList(std::string_view key, std::vector<std::string>* out);

  // Reports at `key`'s value.
  void Error(std::string_view key, std::string message);

 private:
  Context& ctx_;
  YAML::Node node_;
  std::string path_;
  bool is_map_ = false;
  std::set<std::string, std::less<>> suggested_;  // keys offered as did-you-mean
};

// Scalar helpers that report at `node` / `path`.
bool ReadString(Context& ctx, const YAML::Node& node, const std::string& path, std::string* out);
bool ReadEnum(Context& ctx, const YAML::Node& node, const std::string& path,
              const std::vector<std::string_view>& values, size_t* out);
// Checks a list node; reports if it is not one.
bool IsList(Context& ctx, const YAML::Node& node, const std::string& path);

// A YAML scalar/tree as JSON (plain scalars become bool/int/double/null where they read as such).
nlohmann::json YamlToJson(const YAML::Node& node);

// "" or why `principal` is not `user:NAME`, `group:NAME` or `service:NAME`.
std::string PrincipalProblemText(std::string_view principal);
// Field names: [a-z_][a-z0-9_]*, at most 63 characters.
std::string FieldNameProblem(std::string_view name);

}  // namespace loom::spec::internal
