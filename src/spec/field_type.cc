// FieldType: the text forms ("decimal(18,2)", "list<string>") and the DuckDB SQL types.

#include <charconv>

#include "spec/reader.h"
#include "spec/spec.h"

namespace loom::spec {
namespace {

struct Simple {
  std::string_view name;
  TypeKind kind;
  std::string_view sql;
};

constexpr Simple kSimple[] = {
    {"string", TypeKind::kString, "VARCHAR"},
    {"int32", TypeKind::kInt32, "INTEGER"},
    {"int64", TypeKind::kInt64, "BIGINT"},
    {"double", TypeKind::kDouble, "DOUBLE"},
    {"bool", TypeKind::kBool, "BOOLEAN"},
    {"date", TypeKind::kDate, "DATE"},
    {"timestamp", TypeKind::kTimestamp, "TIMESTAMPTZ"},
    {"uuid", TypeKind::kUuid, "UUID"},
    {"struct", TypeKind::kStruct, "STRUCT"},
};

// Names people write from other systems, and the Loom type they most likely mean.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"int", "int32"},
    {"integer", "int32"},
    {"long", "int64"},
    {"bigint", "int64"},
    {"float", "double"},
    {"real", "double"},
    {"number", "double"},
    {"boolean", "bool"},
    {"text", "string"},
    {"varchar", "string"},
    {"str", "string"},
    {"datetime", "timestamp"},
    {"timestamptz", "timestamp"},
    {"array", "list<string>"},
    {"object", "struct"},
    {"record", "struct"},
    {"map", "struct"},
    {"numeric", "decimal(18,2)"},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status UnknownType(std::string_view text) {
  std::string t(text.substr(0, 100));
  for (auto [alias, meant] : kAliases) {
    if (alias == text) {
      return InvalidArgument("unknown type '" + t + "' (did you mean '" + std::string(meant) +
                             "'?)");
    }
  }
  std::vector<std::string_view> names = {"decimal", "list"};
  for (const Simple& s : kSimple) names.push_back(s.name);
  std::string best = internal::NearestName(text, names);
  if (best == "decimal") best = "decimal(18,2)";
  if (best == "list") best = "list<string>";
  if (!best.empty()) {
    return InvalidArgument("unknown type '" + t + "' (did you mean '" + best + "'?)");
  }
  return InvalidArgument("unknown type '" + t +
                         "' (expected string, int32, int64, double, decimal(p,s), bool, date, "
                         "timestamp, uuid, list<T> or struct)");
}

std::optional<int> SmallInt(std::string_view s) {
  s = Trim(s);
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

Result<FieldType> Parse(std::string_view text, int depth) {
  text = Trim(text);
  if (depth > 16) return InvalidArgument("type '" + std::string(text) + "' nests too deeply");
  FieldType t;
  for (const Simple& s : kSimple) {
    if (s.name == text) {
      t.kind = s.kind;
      return t;
    }
  }
  if (text.starts_with("decimal")) {
    std::string_view args = Trim(text.substr(7));
    if (args.empty()) {
      return InvalidArgument("type 'decimal' needs a precision and scale, e.g. decimal(18,2)");
    }
    if (args.front() != '(' || args.back() != ')') return UnknownType(text);
    args = args.substr(1, args.size() - 2);
    size_t comma = args.find(',');
    std::optional<int> p = SmallInt(args.substr(0, comma));
    std::optional<int> s =
        comma == std::string_view::npos ? std::optional<int>(0) : SmallInt(args.substr(comma + 1));
    if (!p || !s) {
      return InvalidArgument("type '" + std::string(text) +
                             "': expected decimal(PRECISION,SCALE) with whole numbers");
    }
    if (*p < 1 || *p > 38) {
      return InvalidArgument("type '" + std::string(text) +
                             "': decimal precision must be between 1 and 38, got " +
                             std::to_string(*p));
    }
    if (*s < 0 || *s > *p) {
      return InvalidArgument("type '" + std::string(text) +
                             "': decimal scale must be between 0 and the precision " +
                             std::to_string(*p) + ", got " + std::to_string(*s));
    }
    t.kind = TypeKind::kDecimal;
    t.precision = *p;
    t.scale = *s;
    return t;
  }
  if (text.starts_with("list")) {
    std::string_view args = Trim(text.substr(4));
    if (args.size() < 2 || args.front() != '<' || args.back() != '>') {
      if (args.empty()) {
        return InvalidArgument("type 'list' needs an element type, e.g. list<string>");
      }
      return UnknownType(text);
    }
    LOOM_ASSIGN_OR_RETURN(FieldType element, Parse(args.substr(1, args.size() - 2), depth + 1));
    t.kind = TypeKind::kList;
    t.element.push_back(std::move(element));
    return t;
  }
  return UnknownType(text);
}

}  // namespace

Result<FieldType> ParseFieldType(std::string_view text) { return Parse(text, 0); }

std::string FieldType::ToString() const {
  switch (kind) {
    case TypeKind::kDecimal:
      return "decimal(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    case TypeKind::kList:
      return "list<" + (element.empty() ? std::string("?") : element[0].ToString()) + ">";
    case TypeKind::kStruct: {
      std::string out = "struct<";
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += ", ";
        out += fields[i].name + " " + fields[i].type.ToString();
      }
      return out + ">";
    }
    default:
      for (const Simple& s : kSimple) {
        if (s.kind == kind) return std::string(s.name);
      }
  }
  return "string";
}

std::string FieldType::SqlType() const {
  switch (kind) {
    case TypeKind::kDecimal:
      return "DECIMAL(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
    case TypeKind::kList:
      return (element.empty() ? std::string("VARCHAR") : element[0].SqlType()) + "[]";
    case TypeKind::kStruct: {
      std::string out = "STRUCT(";
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i > 0) out += ", ";
        out += "\"" + fields[i].name + "\" " + fields[i].type.SqlType();
      }
      return out + ")";
    }
    default:
      for (const Simple& s : kSimple) {
        if (s.kind == kind) return std::string(s.sql);
      }
  }
  return "VARCHAR";
}

}  // namespace loom::spec
