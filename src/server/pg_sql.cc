#include "server/pg_sql.h"

#include "engine/engine.h"

namespace loom::server::pg {
namespace {

bool IsIdentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentStart(char c) { return IsIdentChar(c) && !(c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// One pass over the SQL text. Calls on_param for each $n outside literals and comments, and
// records where the last character that is neither blank, comment nor ';' ends.
template <typename OnParam>
Status Lex(std::string_view s, OnParam on_param, size_t* code_end) {
  size_t i = 0;
  *code_end = 0;
  const size_t n = s.size();
  while (i < n) {
    char c = s[i];
    if (IsBlank(c) || c == ';') {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      int depth = 0;
      while (i < n) {
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
      continue;
    }
    if (c == '\'') {
      // E'...' strings take backslash escapes.
      bool escapes =
          i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') && (i < 2 || !IsIdentChar(s[i - 2]));
      ++i;
      while (i < n) {
        if (escapes && s[i] == '\\') {
          i += 2;
        } else if (s[i] == '\'') {
          if (i + 1 < n && s[i + 1] == '\'') {
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          ++i;
        }
      }
      *code_end = std::min(i, n);
      continue;
    }
    if (c == '"') {
      ++i;
      while (i < n) {
        if (s[i] == '"') {
          if (i + 1 < n && s[i + 1] == '"') {
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          ++i;
        }
      }
      *code_end = std::min(i, n);
      continue;
    }
    if (c == '$') {
      bool after_ident = i > 0 && IsIdentChar(s[i - 1]);
      if (!after_ident && i + 1 < n && IsDigit(s[i + 1])) {
        size_t j = i + 1;
        int64_t index = 0;
        while (j < n && IsDigit(s[j])) {
          if (index <= kMaxParameters) index = index * 10 + (s[j] - '0');
          ++j;
        }
        if (index == 0 || index > kMaxParameters) {
          return InvalidArgument("there is no parameter $" +
                                 std::string(s.substr(i + 1, j - i - 1)));
        }
        on_param(ParamRef{i, j - i, static_cast<int>(index)});
        i = j;
        *code_end = i;
        continue;
      }
      // $tag$ ... $tag$ (or $$ ... $$)
      size_t j = i + 1;
      if (!after_ident && j < n && (s[j] == '$' || IsIdentStart(s[j]))) {
        while (j < n && IsIdentChar(s[j])) ++j;
        if (j < n && s[j] == '$') {
          std::string_view tag = s.substr(i, j - i + 1);
          size_t close = s.find(tag, j + 1);
          i = close == std::string_view::npos ? n : close + tag.size();
          *code_end = i;
          continue;
        }
      }
    }
    ++i;
    *code_end = i;
  }
  return Status::Ok();
}

bool ParsesAsDecimal(std::string_view v, int* width, int* scale) {
  size_t i = 0;
  if (i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
  int int_digits = 0;
  int frac_digits = 0;
  while (i < v.size() && IsDigit(v[i])) {
    ++int_digits;
    ++i;
  }
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && IsDigit(v[i])) {
      ++frac_digits;
      ++i;
    }
  }
  if (i != v.size() || int_digits + frac_digits == 0) return false;
  *width = std::max(int_digits + frac_digits, 1);
  *scale = frac_digits;
  return *width <= 38;
}

// PostgreSQL bytea input (hex "\x4142" or escape format) as DuckDB blob text ("\x41\x42").
Result<std::string> ByteaToDuck(std::string_view v) {
  std::string out;
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  auto put = [&out](unsigned b) {
    static const char kHex[] = "0123456789ABCDEF";
    out += "\\x";
    out.push_back(kHex[b >> 4 & 15]);
    out.push_back(kHex[b & 15]);
  };
  if (v.size() >= 2 && v[0] == '\\' && v[1] == 'x') {
    for (size_t i = 2; i < v.size();) {
      if (IsBlank(v[i])) {
        ++i;
        continue;
      }
      if (i + 1 >= v.size() || hex(v[i]) < 0 || hex(v[i + 1]) < 0) {
        return InvalidArgument("invalid hexadecimal data in a bytea parameter");
      }
      put(static_cast<unsigned>(hex(v[i]) * 16 + hex(v[i + 1])));
      i += 2;
    }
    return out;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\\') {
      if (i + 1 < v.size() && v[i + 1] == '\\') {
        put('\\');
        ++i;
      } else if (i + 3 < v.size() && v[i + 1] >= '0' && v[i + 1] <= '3' && v[i + 2] >= '0' &&
                 v[i + 2] <= '7' && v[i + 3] >= '0' && v[i + 3] <= '7') {
        put(static_cast<unsigned>((v[i + 1] - '0') * 64 + (v[i + 2] - '0') * 8 + (v[i + 3] - '0')));
        i += 3;
      } else {
        return InvalidArgument("invalid escape in a bytea parameter");
      }
    } else if (c >= 32 && c < 127 && c != '\'') {
      out.push_back(static_cast<char>(c));
    } else {
      put(c);
    }
  }
  return out;
}

// The DuckDB type a parameter of this OID is cast to; nullptr = leave the literal untyped.
const char* DuckTypeOf(int32_t oid) {
  switch (oid) {
    case 16:
      return "BOOLEAN";
    case 18:
    case 19:
    case 25:
    case 1042:
    case 1043:
      return "VARCHAR";
    case 20:
    case 26:
      return "BIGINT";
    case 21:
      return "SMALLINT";
    case 23:
      return "INTEGER";
    case 114:
    case 3802:
      return "JSON";
    case 700:
      return "FLOAT";
    case 701:
      return "DOUBLE";
    case 1082:
      return "DATE";
    case 1083:
      return "TIME";
    case 1114:
      return "TIMESTAMP";
    case 1184:
      return "TIMESTAMPTZ";
    case 1186:
      return "INTERVAL";
    case 1266:
      return "TIMETZ";
    case 2950:
      return "UUID";
    case 17:
      return "BLOB";
    default:
      return nullptr;
  }
}

}  // namespace

Result<ScannedSql> ScanParameters(std::string_view sql) {
  ScannedSql out;
  size_t end = 0;
  LOOM_RETURN_IF_ERROR(Lex(
      sql,
      [&out](const ParamRef& r) {
        out.refs.push_back(r);
        out.max_index = std::max(out.max_index, r.index);
      },
      &end));
  return out;
}

Result<std::string> ParameterLiteral(int32_t oid, const std::optional<std::string>& value) {
  const char* type = DuckTypeOf(oid);
  if (oid == 1700) type = "DOUBLE";  // refined below for plain decimals
  if (!value) return type ? "CAST(NULL AS " + std::string(type) + ")" : std::string("NULL");
  const std::string& v = *value;
  if (v.find('\0') != std::string::npos) {
    return InvalidArgument("invalid byte sequence for encoding \"UTF8\": 0x00 in a parameter");
  }
  if (oid == 1700) {
    int width = 0;
    int scale = 0;
    if (ParsesAsDecimal(v, &width, &scale)) {
      return "CAST(" + engine::QuoteString(v) + " AS DECIMAL(" + std::to_string(width) + "," +
             std::to_string(scale) + "))";
    }
  }
  if (oid == 17) {
    LOOM_ASSIGN_OR_RETURN(std::string duck, ByteaToDuck(v));
    return "CAST(" + engine::QuoteString(duck) + " AS BLOB)";
  }
  if (type == nullptr) return engine::QuoteString(v);
  return "CAST(" + engine::QuoteString(v) + " AS " + type + ")";
}

Result<std::string> SubstituteParameters(std::string_view sql, const ScannedSql& scanned,
                                         const std::vector<int32_t>& types,
                                         const std::vector<std::optional<std::string>>& values) {
  std::vector<std::string> literals(static_cast<size_t>(scanned.max_index));
  for (size_t i = 0; i < literals.size(); ++i) {
    if (i >= values.size()) {
      return InvalidArgument("no value for parameter $" + std::to_string(i + 1));
    }
    int32_t oid = i < types.size() ? types[i] : 0;
    Result<std::string> lit = ParameterLiteral(oid, values[i]);
    if (!lit.ok()) return lit.status().WithPrefix("parameter $" + std::to_string(i + 1));
    literals[i] = std::move(*lit);
  }
  std::string out;
  out.reserve(sql.size() + 16 * scanned.refs.size());
  size_t at = 0;
  for (const ParamRef& r : scanned.refs) {
    out.append(sql.substr(at, r.offset - at));
    // Blanks around the literal keep it one token whatever touches the $n.
    out.push_back(' ');
    out.append(literals[static_cast<size_t>(r.index - 1)]);
    out.push_back(' ');
    at = r.offset + r.length;
  }
  out.append(sql.substr(at));
  return out;
}

std::string TrimStatement(std::string_view sql) {
  size_t end = 0;
  Status s = Lex(
      sql, [](const ParamRef&) {}, &end);
  if (!s.ok()) end = sql.size();
  return std::string(sql.substr(0, end));
}

std::string DescribeQuery(std::string_view trimmed_sql) {
  return "SELECT * FROM (\n" + std::string(trimmed_sql) + "\n) LIMIT 0";
}

}  // namespace loom::server::pg
