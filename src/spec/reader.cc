#include "spec/reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace loom::spec::internal {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus swaps of neighbours ("nmae" is one edit from
  // "name"), the commonest typo.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string NearestName(std::string_view word, const std::vector<std::string_view>& candidates) {
  // A typo changes a few characters; allow about one edit per three characters, at most three.
  const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best = NearestName(word, candidates);
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string OneOf(const std::vector<std::string_view>& candidates) {
  std::string out;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i > 0) out += i + 1 == candidates.size() ? " or " : ", ";
    out += candidates[i];
  }
  return out;
}

SourcePos Context::Pos(const YAML::Mark& mark) const {
  SourcePos pos;
  pos.file = file_;
  if (mark.is_null()) {
    pos.line = line_offset_ + 1;
    pos.column = 1;
  } else {
    pos.line = line_offset_ + mark.line + 1;
    pos.column = mark.column + 1;
  }
  return pos;
}

SourcePos Context::Pos(const YAML::Node& node) const {
  if (!node.IsDefined()) return Pos(YAML::Mark::null_mark());
  if (node.IsNull()) {
    // yaml-cpp marks an empty value (`key:` and nothing) at the next token, often lines below;
    // point at its key instead.
    for (const auto& [value, key_mark] : empty_values_) {
      if (value.is(node)) return Pos(key_mark);
    }
  }
  return Pos(node.Mark());
}

void Context::NoteEmptyValue(const YAML::Node& value, const YAML::Mark& key_mark) {
  empty_values_.emplace_back(value, key_mark);
}

void Context::Error(const YAML::Node& node, std::string path, std::string message) {
  Error(Pos(node), std::move(path), std::move(message));
}

void Context::Error(const SourcePos& pos, std::string path, std::string message) {
  ++errors_;
  out_->push_back(Diagnostic{pos, std::move(path), std::move(message)});
}

bool Context::IsNullLiteral(const YAML::Node& node) const {
  if (!node.IsDefined() || !node.IsNull()) return false;
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.pos < 0 || static_cast<size_t>(mark.pos) >= text_.size()) {
    return false;
  }
  std::string_view at = text_.substr(static_cast<size_t>(mark.pos));
  for (std::string_view lit : {"null", "Null", "NULL", "~"}) {
    if (at.starts_with(lit)) return true;
  }
  return false;
}

std::string_view NodeTypeName(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "a scalar";
}

MapReader::MapReader(Context& ctx, const YAML::Node& node, std::string path,
                     std::vector<std::string_view> allowed)
    : ctx_(ctx), node_(node), path_(std::move(path)) {
  if (!node.IsDefined() || !node.IsMap()) {
    ctx_.Error(node, path_,
               std::string(path_.empty() ? "a descriptor must be a map with apiVersion, kind, "
                                           "metadata and spec"
                                         : "expected a map") +
                   ", got " + std::string(NodeTypeName(node)));
    return;
  }
  is_map_ = true;
  std::set<std::string, std::less<>> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      ctx_.Error(key, path_, "map keys must be plain names, got " + std::string(NodeTypeName(key)));
      continue;
    }
    const std::string& k = key.Scalar();
    if (it->second.IsNull() && !ctx_.IsNullLiteral(it->second)) {
      ctx_.NoteEmptyValue(it->second, key.Mark());
    }
    if (!seen.insert(k).second) {
      ctx_.Error(key, PathOf(k), "duplicate key '" + k + "'");
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string best = NearestName(k, allowed);
      if (!best.empty()) {
        suggested_.insert(best);
        ctx_.Error(key, PathOf(k), "unknown key '" + k + "' (did you mean '" + best + "'?)");
      } else {
        ctx_.Error(key, PathOf(k), "unknown key '" + k + "' (expected " + OneOf(allowed) + ")");
      }
    }
  }
}

std::string MapReader::PathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

YAML::Node MapReader::Get(std::string_view key) const {
  if (!is_map_) return YAML::Node(YAML::NodeType::Undefined);
  // The first occurrence wins; later duplicates were reported by the constructor.
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool MapReader::Has(std::string_view key) const { return Get(key).IsDefined(); }

bool MapReader::Require(std::string_view key) {
  if (!is_map_) return false;
  if (Has(key)) return true;
  if (!suggested_.contains(key)) {
    ctx_.Error(node_, path_, "missing required key '" + std::string(key) + "'");
  }
  return false;
}

void MapReader::Error(std::string_view key, std::string message) {
  ctx_.Error(Get(key), PathOf(key), std::move(message));
}

bool ReadString(Context& ctx, const YAML::Node& node, const std::string& path, std::string* out) {
  if (node.IsDefined() && node.IsNull()) {  // `key:` or `key: null`: no text
    out->clear();
    return true;
  }
  if (!node.IsScalar()) {
    ctx.Error(node, path, "expected a text value, got " + std::string(NodeTypeName(node)));
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool MapReader::String(std::string_view key, std::string* out, bool required) {
  if (required ? !Require(key) : !Has(key)) return false;
  std::string value;
  if (!ReadString(ctx_, Get(key), PathOf(key), &value)) return false;
  if (required && value.empty()) {
    Error(key, "must not be empty");
    return false;
  }
  *out = std::move(value);
  return true;
}

bool MapReader::OptString(std::string_view key, std::optional<std::string>* out) {
  std::string value;
  if (!String(key, &value)) return false;
  if (value.empty()) {
    Error(key, "must not be empty (leave the key out instead)");
    return false;
  }
  *out = std::move(value);
  return true;
}

bool MapReader::Bool(std::string_view key, bool* out) {
  if (!Has(key)) return false;
  const YAML::Node n = Get(key);
  if (n.IsScalar() && n.Tag() == "?") {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return *out = true, true;
    if (s == "false" || s == "False" || s == "FALSE") return *out = false, true;
  }
  Error(key, "expected true or false, got " +
                 (n.IsScalar() ? "'" + n.Scalar() + "'" : std::string(NodeTypeName(n))));
  return false;
}

namespace {

std::optional<int64_t> ToInt(const std::string& s) {
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> ToDouble(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::string_view t = s;
  if (t.starts_with('+')) t.remove_prefix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string Shown(const YAML::Node& n) {
  return n.IsScalar() ? "'" + n.Scalar() + "'" : std::string(NodeTypeName(n));
}

}  // namespace

bool MapReader::Int(std::string_view key, int64_t* out, int64_t min, int64_t max) {
  if (!Has(key)) return false;
  const YAML::Node n = Get(key);
  std::optional<int64_t> v;
  if (n.IsScalar() && n.Tag() == "?") v = ToInt(n.Scalar());
  if (!v) {
    Error(key, "expected a whole number, got " + Shown(n));
    return false;
  }
  if (*v < min || *v > max) {
    Error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
                   std::to_string(*v));
    return false;
  }
  *out = *v;
  return true;
}

bool MapReader::Number(std::string_view key, double* out) {
  if (!Has(key)) return false;
  const YAML::Node n = Get(key);
  std::optional<double> v;
  if (n.IsScalar() && n.Tag() == "?") v = ToDouble(n.Scalar());
  if (!v) {
    Error(key, "expected a number, got " + Shown(n));
    return false;
  }
  *out = *v;
  return true;
}

bool MapReader::DurationMs(std::string_view key, int64_t* out, bool allow_zero) {
  std::string text;
  if (!String(key, &text)) return false;
  Result<int64_t> ms = ParseDurationMs(text);
  if (!ms.ok()) {
    Error(key, ms.status().message());
    return false;
  }
  if (*ms == 0 && !allow_zero) {
    Error(key, "must be longer than 0");
    return false;
  }
  *out = *ms;
  return true;
}

bool MapReader::Bytes(std::string_view key, int64_t* out) {
  std::string text;
  if (!String(key, &text)) return false;
  Result<int64_t> b = ParseBytes(text);
  if (!b.ok()) {
    Error(key, b.status().message());
    return false;
  }
  *out = *b;
  return true;
}

bool MapReader::Name(std::string_view key, std::string* out, bool required) {
  std::string name;
  if (required ? !Require(key) : !Has(key)) return false;
  if (!ReadString(ctx_, Get(key), PathOf(key), &name)) return false;
  if (std::string problem = NameProblem(name); !problem.empty()) {
    Error(key, "'" + name + "' is not a valid name: " + problem);
    return false;
  }
  *out = std::move(name);
  return true;
}

bool ReadEnum(Context& ctx, const YAML::Node& node, const std::string& path,
              const std::vector<std::string_view>& values, size_t* out) {
  std::string text;
  if (!ReadString(ctx, node, path, &text)) return false;
  if (text.empty()) {
    ctx.Error(node, path, "needs a value: " + OneOf(values));
    return false;
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == text) return *out = i, true;
  }
  std::string best = NearestName(text, values);
  ctx.Error(
      node, path,
      "unknown value '" + text + "'" +
          (best.empty() ? " (expected " + OneOf(values) + ")" : " (did you mean '" + best + "'?)"));
  return false;
}

bool MapReader::Enum(std::string_view key, const std::vector<std::string_view>& values,
                     size_t* out) {
  if (!Has(key)) return false;
  return ReadEnum(ctx_, Get(key), PathOf(key), values, out);
}

bool IsList(Context& ctx, const YAML::Node& node, const std::string& path) {
  if (node.IsSequence()) return true;
  ctx.Error(node, path, "expected a list, got " + std::string(NodeTypeName(node)));
  return false;
}

bool MapReader::StringList(std::string_view key, std::vector<std::string>* out) {
  if (!Has(key)) return false;
  const YAML::Node n = Get(key);
  if (!IsList(ctx_, n, PathOf(key))) return false;
  std::vector<std::string> values;
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string v;
    if (ReadString(ctx_, n[i], PathOf(key) + "[" + std::to_string(i) + "]", &v)) {
      values.push_back(std::move(v));
    } else {
      ok = false;
    }
  }
  if (ok) *out = std::move(values);
  return ok;
}

nlohmann::json YamlToJson(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsSequence()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const YAML::Node& item : node) arr.push_back(YamlToJson(item));
    return arr;
  }
  if (node.IsMap()) {
    nlohmann::json obj = nlohmann::json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      obj[it->first.Scalar()] = YamlToJson(it->second);
    }
    return obj;
  }
  const std::string& s = node.Scalar();
  if (node.Tag() != "?") return s;  // quoted: always text
  if (s == "true") return true;
  if (s == "false") return false;
  if (auto i = ToInt(s)) return *i;
  if (auto d = ToDouble(s)) return *d;
  return s;
}

std::string PrincipalProblemText(std::string_view principal) {
  size_t colon = principal.find(':');
  if (colon == std::string_view::npos) {
    return "'" + std::string(principal) +
           "' is not a principal (expected user:NAME, group:NAME or service:NAME)";
  }
  std::string_view kind = principal.substr(0, colon);
  std::string_view name = principal.substr(colon + 1);
  if (kind != "user" && kind != "group" && kind != "service") {
    return "'" + std::string(principal) + "' has unknown principal kind '" + std::string(kind) +
           "' (expected user, group or service)";
  }
  if (name.empty() || name.size() > 128) {
    return "'" + std::string(principal) + "' needs a name of 1 to 128 characters after '" +
           std::string(kind) + ":'";
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) {
      return "'" + std::string(principal) +
             "': a principal name may contain only letters, digits, '-', '_', '.' and '@'";
    }
  }
  return "";
}

std::string FieldNameProblem(std::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > 63) return "is longer than 63 characters";
  if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) {
    return "must start with a lowercase letter or '_'";
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return "may contain only lowercase letters, digits and '_'";
  }
  return "";
}

}  // namespace loom::spec::internal
