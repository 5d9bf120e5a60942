// Decodes DuckDB vectors (C API layout) into text and JSON, and names types.

#include <cmath>
#include <cstdio>
#include <cstring>

#include "engine/handles.h"

namespace loom::engine {
namespace {

enum class Mode { kText, kJson, kNested };  // kNested: text inside a JSON-rendered nested value

// Owns a duckdb_logical_type obtained from a getter.
struct TypeRef {
  duckdb_logical_type t;
  explicit TypeRef(duckdb_logical_type type) : t(type) {}
  ~TypeRef() { duckdb_destroy_logical_type(&t); }
  TypeRef(const TypeRef&) = delete;
  TypeRef& operator=(const TypeRef&) = delete;
};

std::string Str(char* s) {
  std::string out = s ? s : "";
  if (s) duckdb_free(s);
  return out;
}

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  // Runs of characters that need no escape are copied whole.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out->append(buf);
      }
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

std::string Int128ToString(__int128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u =
      neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (u > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  return std::string(s.rbegin(), s.rend());
}

std::string UInt128ToString(unsigned __int128 u) {
  if (u == 0) return "0";
  std::string s;
  while (u > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  return std::string(s.rbegin(), s.rend());
}

std::string DecimalToString(__int128 v, int scale) {
  std::string digits = Int128ToString(v < 0 ? -v : v);
  if (scale > 0) {
    if (static_cast<int>(digits.size()) <= scale) {
      digits.insert(0, static_cast<size_t>(scale) - digits.size() + 1, '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  }
  return (v < 0 ? "-" : "") + digits;
}

std::string DoubleToString(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  // Use the shortest form that reads back the same value.
  for (int p = 1; p <= 17; ++p) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*g", p, d);
    if (std::strtod(b, nullptr) == d) return b;
  }
  return buf;
}

std::string FloatToString(float f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  for (int p = 1; p <= 9; ++p) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*g", p, static_cast<double>(f));
    if (std::strtof(b, nullptr) == f) return b;
  }
  return std::to_string(f);
}

std::string DateToString(int32_t days) {
  if (days == INT32_MAX) return "infinity";
  if (days == -INT32_MAX) return "-infinity";
  duckdb_date_struct d = duckdb_from_date(duckdb_date{days});
  char buf[32];
  if (d.year > 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d (BC)", 1 - d.year, d.month, d.day);
  }
  return buf;
}

// HH:MM:SS[.ffffff] with trailing zeros of the fraction removed (DuckDB's style).
std::string TimeOfDay(int64_t micros) {
  duckdb_time_struct t = duckdb_from_time(duckdb_time{micros});
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", t.hour, t.min, t.sec);
  std::string s = buf;
  if (t.micros != 0) {
    std::snprintf(buf, sizeof buf, ".%06d", t.micros);
    std::string frac = buf;
    while (frac.back() == '0') frac.pop_back();
    s += frac;
  }
  return s;
}

std::string TimestampToString(int64_t micros, bool tz) {
  if (micros == INT64_MAX) return "infinity";
  if (micros == -INT64_MAX) return "-infinity";
  constexpr int64_t kDay = 86400LL * 1000000LL;
  int64_t days = micros / kDay;
  int64_t rem = micros % kDay;
  if (rem < 0) {
    rem += kDay;
    --days;
  }
  return DateToString(static_cast<int32_t>(days)) + " " + TimeOfDay(rem) + (tz ? "+00" : "");
}

std::string IntervalToString(duckdb_interval iv) {
  std::string s;
  auto part = [&s](int64_t n, const char* unit) {
    if (n == 0) return;
    if (!s.empty()) s += ' ';
    s += std::to_string(n) + " " + unit + (n == 1 || n == -1 ? "" : "s");
  };
  part(iv.months / 12, "year");
  part(iv.months % 12, "month");
  part(iv.days, "day");
  if (iv.micros != 0 || s.empty()) {
    if (!s.empty()) s += ' ';
    int64_t m = iv.micros;
    if (m < 0) {
      s += '-';
      m = -m;
    }
    char buf[32];
    int64_t secs = m / 1000000;
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(secs / 3600),
                  static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
    s += buf;
    if (m % 1000000 != 0) {
      std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(m % 1000000));
      std::string frac = buf;
      while (frac.back() == '0') frac.pop_back();
      s += frac;
    }
  }
  return s;
}

std::string UuidToString(duckdb_hugeint h) {
  uint64_t upper = static_cast<uint64_t>(h.upper) ^ (uint64_t{1} << 63);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(upper >> 32),
                static_cast<unsigned long long>((upper >> 16) & 0xffff),
                static_cast<unsigned long long>(upper & 0xffff),
                static_cast<unsigned long long>(h.lower >> 48),
                static_cast<unsigned long long>(h.lower & 0xffffffffffffULL));
  return buf;
}

std::string_view StringAt(duckdb_vector vec, uint64_t row) {
  auto* s = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vec)) + row;
  return {duckdb_string_t_data(s), duckdb_string_t_length(*s)};
}

std::string BlobToString(std::string_view b) {
  std::string s;
  for (unsigned char c : b) {
    if (c >= 32 && c < 127 && c != '\\' && c != '\'' && c != '"') {
      s.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      s += buf;
    }
  }
  return s;
}

template <typename T>
T At(duckdb_vector vec, uint64_t row) {
  T v;
  std::memcpy(&v, static_cast<const char*>(duckdb_vector_get_data(vec)) + row * sizeof(T),
              sizeof(T));
  return v;
}

void AppendCell(duckdb_vector vec, duckdb_logical_type type, uint64_t row, Mode mode,
                std::string* out);

// Scalars that are numbers or booleans in JSON.
void AppendScalar(const std::string& s, bool quoted_in_json, Mode mode, std::string* out) {
  if (mode == Mode::kText || !quoted_in_json) {
    out->append(s);
  } else {
    AppendJsonString(s, out);
  }
}

void AppendNested(duckdb_vector vec, duckdb_logical_type type, uint64_t row, std::string* out) {
  if (CellIsNull(vec, row)) {
    out->append("null");
    return;
  }
  AppendCell(vec, type, row, Mode::kNested, out);
}

void AppendCell(duckdb_vector vec, duckdb_logical_type type, uint64_t row, Mode mode,
                std::string* out) {
  bool json = mode != Mode::kText;
  switch (duckdb_get_type_id(type)) {
    case DUCKDB_TYPE_BOOLEAN:
      return AppendScalar(At<bool>(vec, row) ? "true" : "false", false, mode, out);
    case DUCKDB_TYPE_TINYINT:
      return AppendScalar(std::to_string(At<int8_t>(vec, row)), false, mode, out);
    case DUCKDB_TYPE_SMALLINT:
      return AppendScalar(std::to_string(At<int16_t>(vec, row)), false, mode, out);
    case DUCKDB_TYPE_INTEGER:
      return AppendScalar(std::to_string(At<int32_t>(vec, row)), false, mode, out);
    case DUCKDB_TYPE_BIGINT:
      return AppendScalar(std::to_string(At<int64_t>(vec, row)), false, mode, out);
    case DUCKDB_TYPE_UTINYINT:
      return AppendScalar(std::to_string(At<uint8_t>(vec, row)), false, mode, out);
    case DUCKDB_TYPE_USMALLINT:
      return AppendScalar(std::to_string(At<uint16_t>(vec, row)), false, mode, out);
    case DUCKDB_TYPE_UINTEGER:
      return AppendScalar(std::to_string(At<uint32_t>(vec, row)), false, mode, out);
    case DUCKDB_TYPE_UBIGINT:
      return AppendScalar(std::to_string(At<uint64_t>(vec, row)), false, mode, out);
    case DUCKDB_TYPE_HUGEINT: {
      auto h = At<duckdb_hugeint>(vec, row);
      __int128 v = (static_cast<__int128>(h.upper) << 64) | h.lower;
      return AppendScalar(Int128ToString(v), false, mode, out);
    }
    case DUCKDB_TYPE_UHUGEINT: {
      auto h = At<duckdb_uhugeint>(vec, row);
      unsigned __int128 v = (static_cast<unsigned __int128>(h.upper) << 64) | h.lower;
      return AppendScalar(UInt128ToString(v), false, mode, out);
    }
    case DUCKDB_TYPE_FLOAT: {
      float f = At<float>(vec, row);
      if (json && !std::isfinite(f)) return out->append("null"), void();
      return AppendScalar(FloatToString(f), false, mode, out);
    }
    case DUCKDB_TYPE_DOUBLE: {
      double d = At<double>(vec, row);
      if (json && !std::isfinite(d)) return out->append("null"), void();
      return AppendScalar(DoubleToString(d), false, mode, out);
    }
    case DUCKDB_TYPE_DECIMAL: {
      int scale = duckdb_decimal_scale(type);
      __int128 v = 0;
      switch (duckdb_decimal_internal_type(type)) {
        case DUCKDB_TYPE_SMALLINT:
          v = At<int16_t>(vec, row);
          break;
        case DUCKDB_TYPE_INTEGER:
          v = At<int32_t>(vec, row);
          break;
        case DUCKDB_TYPE_BIGINT:
          v = At<int64_t>(vec, row);
          break;
        default: {
          auto h = At<duckdb_hugeint>(vec, row);
          v = (static_cast<__int128>(h.upper) << 64) | h.lower;
        }
      }
      return AppendScalar(DecimalToString(v, scale), false, mode, out);
    }
    case DUCKDB_TYPE_DATE:
      return AppendScalar(DateToString(At<int32_t>(vec, row)), true, mode, out);
    case DUCKDB_TYPE_TIME:
      return AppendScalar(TimeOfDay(At<int64_t>(vec, row)), true, mode, out);
    case DUCKDB_TYPE_TIMESTAMP:
      return AppendScalar(TimestampToString(At<int64_t>(vec, row), false), true, mode, out);
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return AppendScalar(TimestampToString(At<int64_t>(vec, row), true), true, mode, out);
    case DUCKDB_TYPE_TIMESTAMP_S: {
      int64_t v = At<int64_t>(vec, row);
      return AppendScalar(TimestampToString(v * 1000000, false), true, mode, out);
    }
    case DUCKDB_TYPE_TIMESTAMP_MS: {
      int64_t v = At<int64_t>(vec, row);
      return AppendScalar(TimestampToString(v * 1000, false), true, mode, out);
    }
    case DUCKDB_TYPE_TIMESTAMP_NS: {
      int64_t v = At<int64_t>(vec, row);
      return AppendScalar(TimestampToString(v / 1000, false), true, mode, out);
    }
    case DUCKDB_TYPE_INTERVAL:
      return AppendScalar(IntervalToString(At<duckdb_interval>(vec, row)), true, mode, out);
    case DUCKDB_TYPE_UUID:
      return AppendScalar(UuidToString(At<duckdb_hugeint>(vec, row)), true, mode, out);
    case DUCKDB_TYPE_VARCHAR: {
      std::string_view s = StringAt(vec, row);
      if (json && IsJsonAlias(type)) return out->append(s), void();
      if (!json) return out->append(s), void();
      return AppendJsonString(s, out);
    }
    case DUCKDB_TYPE_BLOB:
    case DUCKDB_TYPE_BIT:
      return AppendScalar(BlobToString(StringAt(vec, row)), true, mode, out);
    case DUCKDB_TYPE_ENUM: {
      uint64_t idx = 0;
      switch (duckdb_enum_internal_type(type)) {
        case DUCKDB_TYPE_UTINYINT:
          idx = At<uint8_t>(vec, row);
          break;
        case DUCKDB_TYPE_USMALLINT:
          idx = At<uint16_t>(vec, row);
          break;
        default:
          idx = At<uint32_t>(vec, row);
      }
      return AppendScalar(Str(duckdb_enum_dictionary_value(type, idx)), true, mode, out);
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY: {
      bool is_list = duckdb_get_type_id(type) == DUCKDB_TYPE_LIST;
      TypeRef child_type(is_list ? duckdb_list_type_child_type(type)
                                 : duckdb_array_type_child_type(type));
      duckdb_vector child =
          is_list ? duckdb_list_vector_get_child(vec) : duckdb_array_vector_get_child(vec);
      uint64_t offset = 0;
      uint64_t length = 0;
      if (is_list) {
        auto e = At<duckdb_list_entry>(vec, row);
        offset = e.offset;
        length = e.length;
      } else {
        length = duckdb_array_type_array_size(type);
        offset = row * length;
      }
      out->push_back('[');
      for (uint64_t i = 0; i < length; ++i) {
        if (i > 0) out->push_back(',');
        AppendNested(child, child_type.t, offset + i, out);
      }
      out->push_back(']');
      return;
    }
    case DUCKDB_TYPE_STRUCT: {
      out->push_back('{');
      idx_t n = duckdb_struct_type_child_count(type);
      for (idx_t i = 0; i < n; ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(Str(duckdb_struct_type_child_name(type, i)), out);
        out->push_back(':');
        TypeRef ct(duckdb_struct_type_child_type(type, i));
        AppendNested(duckdb_struct_vector_get_child(vec, i), ct.t, row, out);
      }
      out->push_back('}');
      return;
    }
    case DUCKDB_TYPE_MAP: {
      TypeRef kt(duckdb_map_type_key_type(type));
      TypeRef vt(duckdb_map_type_value_type(type));
      duckdb_vector entries = duckdb_list_vector_get_child(vec);
      duckdb_vector keys = duckdb_struct_vector_get_child(entries, 0);
      duckdb_vector values = duckdb_struct_vector_get_child(entries, 1);
      auto e = At<duckdb_list_entry>(vec, row);
      out->push_back('{');
      for (uint64_t i = 0; i < e.length; ++i) {
        if (i > 0) out->push_back(',');
        std::string key;
        AppendCell(keys, kt.t, e.offset + i, Mode::kText, &key);
        AppendJsonString(key, out);
        out->push_back(':');
        AppendNested(values, vt.t, e.offset + i, out);
      }
      out->push_back('}');
      return;
    }
    case DUCKDB_TYPE_UNION: {
      // A union is a struct whose first child is the tag.
      auto tag = At<uint8_t>(duckdb_struct_vector_get_child(vec, 0), row);
      TypeRef mt(duckdb_union_type_member_type(type, tag));
      return AppendNested(duckdb_struct_vector_get_child(vec, tag + 1), mt.t, row, out);
    }
    default:
      return AppendScalar("<" + TypeName(type) + ">", true, mode, out);
  }
}

const char* ScalarName(duckdb_type id) {
  switch (id) {
    case DUCKDB_TYPE_BOOLEAN:
      return "BOOLEAN";
    case DUCKDB_TYPE_TINYINT:
      return "TINYINT";
    case DUCKDB_TYPE_SMALLINT:
      return "SMALLINT";
    case DUCKDB_TYPE_INTEGER:
      return "INTEGER";
    case DUCKDB_TYPE_BIGINT:
      return "BIGINT";
    case DUCKDB_TYPE_UTINYINT:
      return "UTINYINT";
    case DUCKDB_TYPE_USMALLINT:
      return "USMALLINT";
    case DUCKDB_TYPE_UINTEGER:
      return "UINTEGER";
    case DUCKDB_TYPE_UBIGINT:
      return "UBIGINT";
    case DUCKDB_TYPE_HUGEINT:
      return "HUGEINT";
    case DUCKDB_TYPE_UHUGEINT:
      return "UHUGEINT";
    case DUCKDB_TYPE_FLOAT:
      return "FLOAT";
    case DUCKDB_TYPE_DOUBLE:
      return "DOUBLE";
    case DUCKDB_TYPE_DATE:
      return "DATE";
    case DUCKDB_TYPE_TIME:
      return "TIME";
    case DUCKDB_TYPE_TIME_TZ:
      return "TIME WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP:
      return "TIMESTAMP";
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return "TIMESTAMP WITH TIME ZONE";
    case DUCKDB_TYPE_TIMESTAMP_S:
      return "TIMESTAMP_S";
    case DUCKDB_TYPE_TIMESTAMP_MS:
      return "TIMESTAMP_MS";
    case DUCKDB_TYPE_TIMESTAMP_NS:
      return "TIMESTAMP_NS";
    case DUCKDB_TYPE_INTERVAL:
      return "INTERVAL";
    case DUCKDB_TYPE_UUID:
      return "UUID";
    case DUCKDB_TYPE_VARCHAR:
      return "VARCHAR";
    case DUCKDB_TYPE_BLOB:
      return "BLOB";
    case DUCKDB_TYPE_BIT:
      return "BIT";
    case DUCKDB_TYPE_ENUM:
      return "ENUM";
    case DUCKDB_TYPE_BIGNUM:
      return "BIGNUM";
    case DUCKDB_TYPE_SQLNULL:
      return "NULL";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

bool IsJsonAlias(duckdb_logical_type type) {
  std::string alias = Str(duckdb_logical_type_get_alias(type));
  return alias == "JSON";
}

void AppendVarcharJson(duckdb_vector vec, uint64_t row, bool json_alias, std::string* out) {
  std::string_view s = StringAt(vec, row);
  if (json_alias) {
    out->append(s);
  } else {
    AppendJsonString(s, out);
  }
}

std::optional<int64_t> CellInt64(duckdb_vector vec, duckdb_type id, uint64_t row) {
  switch (id) {
    case DUCKDB_TYPE_TINYINT:
      return At<int8_t>(vec, row);
    case DUCKDB_TYPE_SMALLINT:
      return At<int16_t>(vec, row);
    case DUCKDB_TYPE_INTEGER:
      return At<int32_t>(vec, row);
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return At<int64_t>(vec, row);
    case DUCKDB_TYPE_UTINYINT:
      return At<uint8_t>(vec, row);
    case DUCKDB_TYPE_USMALLINT:
      return At<uint16_t>(vec, row);
    case DUCKDB_TYPE_UINTEGER:
      return At<uint32_t>(vec, row);
    default:
      return std::nullopt;
  }
}

bool CellIsNull(duckdb_vector vec, uint64_t row) {
  uint64_t* validity = duckdb_vector_get_validity(vec);
  return validity != nullptr && !duckdb_validity_row_is_valid(validity, row);
}

void AppendCellText(duckdb_vector vec, duckdb_logical_type type, uint64_t row, std::string* out) {
  AppendCell(vec, type, row, Mode::kText, out);
}

void AppendCellJson(duckdb_vector vec, duckdb_logical_type type, uint64_t row, std::string* out) {
  AppendCell(vec, type, row, Mode::kJson, out);
}

std::string TypeName(duckdb_logical_type type) {
  std::string alias = Str(duckdb_logical_type_get_alias(type));
  if (!alias.empty()) return alias;
  duckdb_type id = duckdb_get_type_id(type);
  switch (id) {
    case DUCKDB_TYPE_DECIMAL:
      return "DECIMAL(" + std::to_string(duckdb_decimal_width(type)) + "," +
             std::to_string(duckdb_decimal_scale(type)) + ")";
    case DUCKDB_TYPE_LIST: {
      TypeRef c(duckdb_list_type_child_type(type));
      return TypeName(c.t) + "[]";
    }
    case DUCKDB_TYPE_ARRAY: {
      TypeRef c(duckdb_array_type_child_type(type));
      return TypeName(c.t) + "[" + std::to_string(duckdb_array_type_array_size(type)) + "]";
    }
    case DUCKDB_TYPE_STRUCT: {
      std::string s = "STRUCT(";
      for (idx_t i = 0; i < duckdb_struct_type_child_count(type); ++i) {
        TypeRef c(duckdb_struct_type_child_type(type, i));
        if (i > 0) s += ", ";
        s += QuoteIdent(Str(duckdb_struct_type_child_name(type, i))) + " " + TypeName(c.t);
      }
      return s + ")";
    }
    case DUCKDB_TYPE_MAP: {
      TypeRef k(duckdb_map_type_key_type(type));
      TypeRef v(duckdb_map_type_value_type(type));
      return "MAP(" + TypeName(k.t) + ", " + TypeName(v.t) + ")";
    }
    case DUCKDB_TYPE_UNION: {
      std::string s = "UNION(";
      for (idx_t i = 0; i < duckdb_union_type_member_count(type); ++i) {
        TypeRef c(duckdb_union_type_member_type(type, i));
        if (i > 0) s += ", ";
        s += QuoteIdent(Str(duckdb_union_type_member_name(type, i))) + " " + TypeName(c.t);
      }
      return s + ")";
    }
    default:
      return ScalarName(id);
  }
}

int32_t PgOid(duckdb_logical_type type) {
  if (IsJsonAlias(type)) return 114;
  switch (duckdb_get_type_id(type)) {
    case DUCKDB_TYPE_BOOLEAN:
      return 16;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_UTINYINT:
      return 21;
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_USMALLINT:
      return 23;
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UINTEGER:
      return 20;
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_DECIMAL:
    case DUCKDB_TYPE_BIGNUM:
      return 1700;
    case DUCKDB_TYPE_FLOAT:
      return 700;
    case DUCKDB_TYPE_DOUBLE:
      return 701;
    case DUCKDB_TYPE_DATE:
      return 1082;
    case DUCKDB_TYPE_TIME:
      return 1083;
    case DUCKDB_TYPE_TIME_TZ:
      return 1266;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS:
      return 1114;
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return 1184;
    case DUCKDB_TYPE_INTERVAL:
      return 1186;
    case DUCKDB_TYPE_UUID:
      return 2950;
    case DUCKDB_TYPE_BLOB:
      return 17;
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_MAP:
    case DUCKDB_TYPE_UNION:
      return 114;
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY: {
      bool is_list = duckdb_get_type_id(type) == DUCKDB_TYPE_LIST;
      TypeRef c(is_list ? duckdb_list_type_child_type(type) : duckdb_array_type_child_type(type));
      switch (PgOid(c.t)) {
        case 16:
          return 1000;
        case 21:
          return 1005;
        case 23:
          return 1007;
        case 20:
          return 1016;
        case 700:
          return 1021;
        case 701:
          return 1022;
        case 1700:
          return 1231;
        case 25:
          return 1009;
        case 1082:
          return 1182;
        case 1114:
          return 1115;
        case 1184:
          return 1185;
        case 2950:
          return 2951;
        default:
          return 114;
      }
    }
    default:
      return 25;
  }
}

}  // namespace loom::engine
