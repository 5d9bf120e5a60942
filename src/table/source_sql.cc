#include "table/source_sql.h"

#include <cstdio>
#include <set>

namespace loom::table {
namespace {

using engine::QuoteIdent;
using engine::QuoteString;

constexpr const char* kLine = "_loom_line";
constexpr const char* kRowError = "_loom_row_error";
constexpr const char* kJson = "_loom_json";

std::string TempName() {
  std::string id;
  for (char c : NewUuid()) {
    if (c != '-') id += c;
  }
  return "loom_src_" + id.substr(0, 16);
}

bool IsIntKind(spec::TypeKind k) {
  return k == spec::TypeKind::kInt32 || k == spec::TypeKind::kInt64;
}
bool IsNumericKind(spec::TypeKind k) {
  return IsIntKind(k) || k == spec::TypeKind::kDouble || k == spec::TypeKind::kDecimal;
}
bool IsNested(spec::TypeKind k) {
  return k == spec::TypeKind::kList || k == spec::TypeKind::kStruct;
}

std::string Num(double d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// How one schema field is read from a loaded source.
struct ColExpr {
  std::string raw;       // the value as loaded (NULL when absent)
  std::string typed;     // the value as the schema's type (NULL when it does not convert)
  std::string shown;     // text of the raw value for messages
  std::string type_bad;  // the raw value does not convert
};

ColExpr ExprFor(const spec::Field& f, const LoadedSource& src) {
  const std::string t = f.type.SqlType();
  ColExpr e;
  const bool present =
      std::find(src.columns.begin(), src.columns.end(), f.name) != src.columns.end();
  if (src.kind == SourceKind::kJsonLines || src.kind == SourceKind::kStreamWindow) {
    const std::string path = QuoteString("$." + f.name);
    const std::string jt = "json_type(" + std::string(kJson) + ", " + path + ")";
    e.raw = "(CASE WHEN " + jt + " IS NULL OR " + jt + " = 'NULL' THEN NULL ELSE " + kJson + "->" +
            path + " END)";
    e.shown = "CAST(" + e.raw + " AS VARCHAR)";
    if (f.type.kind == spec::TypeKind::kString) {
      e.typed = "(CASE WHEN " + jt + " = 'VARCHAR' THEN " + kJson + "->>" + path + " END)";
      e.type_bad = e.raw + " IS NOT NULL AND " + jt + " <> 'VARCHAR'";
      return e;
    }
    if (IsNested(f.type.kind)) {
      e.typed = "TRY_CAST(" + e.raw + " AS " + t + ")";
    } else {
      // JSON strings ("2026-01-01", "a0c1...") convert from their text, other JSON values from
      // the JSON itself.
      const std::string text = "(CASE WHEN " + jt + " = 'VARCHAR' THEN " + kJson + "->>" + path +
                               " ELSE CAST(" + e.raw + " AS VARCHAR) END)";
      e.typed = "TRY_CAST(" + text + " AS " + t + ")";
      if (IsIntKind(f.type.kind)) {
        e.typed = "(CASE WHEN regexp_full_match(trim(" + text + "), '[+-]?[0-9]+') THEN " +
                  e.typed + " END)";
      }
    }
    e.type_bad = e.raw + " IS NOT NULL AND " + e.typed + " IS NULL";
    return e;
  }
  if (!present) {
    return ColExpr{"NULL", "CAST(NULL AS " + t + ")", "'NULL'", "false"};
  }
  e.raw = QuoteIdent(f.name);
  e.typed = "TRY_CAST(" + e.raw + " AS " + t + ")";
  if (src.kind == SourceKind::kCsv) {
    e.shown = "('\"' || " + e.raw + " || '\"')";
    if (IsIntKind(f.type.kind)) {
      e.typed = "(CASE WHEN regexp_full_match(trim(" + e.raw + "), '[+-]?[0-9]+') THEN " + e.typed +
                " END)";
    }
  } else {
    e.shown = "CAST(" + e.raw + " AS VARCHAR)";
  }
  e.type_bad = e.raw + " IS NOT NULL AND " + e.typed + " IS NULL";
  return e;
}

struct Check {
  std::string predicate;
  std::string problem;  // a SQL expression
  // Constraint checks only look at values of the right type; type errors are reported alone.
  bool only_typed = true;
};

std::vector<Check> ChecksFor(const spec::Field& f, const ColExpr& e) {
  std::vector<Check> out;
  out.push_back({e.type_bad,
                 QuoteString("expected " + f.type.ToString() + ", got ") + " || " + e.shown,
                 false});
  if (f.required) out.push_back({e.raw + " IS NULL", "'required value is missing'", false});
  const spec::Constraints& c = f.constraints;
  const std::string v = e.typed;
  const std::string quoted_v = "'\"' || CAST(" + v + " AS VARCHAR) || '\"'";
  if (!c.enum_values.empty()) {
    std::string list, shown;
    for (const std::string& s : c.enum_values) {
      list += (list.empty() ? "" : ", ") + QuoteString(s);
      shown += (shown.empty() ? "" : ", ") + s;
    }
    out.push_back({"CAST(" + v + " AS VARCHAR) NOT IN (" + list + ")",
                   "'value ' || " + quoted_v + " || " + QuoteString(" is not one of: " + shown)});
  }
  if (c.pattern) {
    out.push_back(
        {"NOT regexp_full_match(CAST(" + v + " AS VARCHAR), " + QuoteString(*c.pattern) + ")",
         "'value ' || " + quoted_v + " || " +
             QuoteString(" does not match pattern " + *c.pattern)});
  }
  if (IsNumericKind(f.type.kind)) {
    if (c.minimum) {
      out.push_back({v + " < " + Num(*c.minimum),
                     "'value ' || CAST(" + v + " AS VARCHAR) || " +
                         QuoteString(" is below the minimum " + Num(*c.minimum))});
    }
    if (c.maximum) {
      out.push_back({v + " > " + Num(*c.maximum),
                     "'value ' || CAST(" + v + " AS VARCHAR) || " +
                         QuoteString(" is above the maximum " + Num(*c.maximum))});
    }
  }
  if (f.type.kind == spec::TypeKind::kString || f.type.kind == spec::TypeKind::kList) {
    const std::string len = "length(" + v + ")";
    if (c.min_length) {
      out.push_back({len + " < " + std::to_string(*c.min_length),
                     "'length ' || " + len + " || " +
                         QuoteString(" is below minLength " + std::to_string(*c.min_length))});
    }
    if (c.max_length) {
      out.push_back({len + " > " + std::to_string(*c.max_length),
                     "'length ' || " + len + " || " +
                         QuoteString(" is above maxLength " + std::to_string(*c.max_length))});
    }
  }
  return out;
}

Result<std::vector<std::string>> SourceColumns(engine::Connection& conn, const std::string& name) {
  LOOM_ASSIGN_OR_RETURN(engine::Rows rows, conn.QueryRows("DESCRIBE " + QuoteIdent(name)));
  std::vector<std::string> cols;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string c = rows.Get(i, 0);
    if (c.rfind("_loom_", 0) != 0) cols.push_back(std::move(c));
  }
  return cols;
}

// The lines of a text file with their 1-based numbers, as (l, ord). (A lateral unnest WITH
// ORDINALITY over read_text is quadratic in DuckDB 1.4; two zipped unnests are linear.)
std::string LinesOf(const std::string& path) {
  return "(SELECT unnest(ls) AS l, unnest(range(1, len(ls) + 1)) AS ord FROM (SELECT "
         "string_split(content, chr(10)) AS ls FROM read_text(" +
         QuoteString(path) + ")))";
}

Status LoadCsv(engine::Connection& conn, const std::string& name, const std::string& path) {
  const std::string raw = name + "_raw", lines = name + "_lines";
  LOOM_RETURN_IF_ERROR(conn.Execute("CREATE TEMP TABLE " + raw + " AS SELECT * FROM read_csv(" +
                                    QuoteString(path) + ", all_varchar=true, header=true)"));
  LOOM_ASSIGN_OR_RETURN(std::vector<std::string> cols, SourceColumns(conn, raw));
  // Physical line numbers: record r starts at the (1 + r + newlines inside earlier records)-th
  // non-blank line (0-based), the header being the 0th. DuckDB skips blank lines.
  std::string nl = "0";
  for (const std::string& c : cols) {
    const std::string v = "coalesce(" + QuoteIdent(c) + ", '')";
    nl += " + length(" + v + ") - length(replace(" + v + ", chr(10), ''))";
  }
  LOOM_RETURN_IF_ERROR(
      conn.Execute("CREATE TEMP TABLE " + lines +
                   " AS SELECT row_number() OVER (ORDER BY ord) - 1 AS k, ord AS line FROM " +
                   LinesOf(path) + " WHERE trim(l, chr(13) || ' ') <> ''"));
  return conn.Execute(
      "CREATE TEMP TABLE " + name + " AS WITH rec AS (SELECT rowid AS _loom_r, " + nl +
      " AS _loom_nl, * FROM " + raw +
      "), numbered AS (SELECT 1 + _loom_r + coalesce(sum(_loom_nl) OVER (ORDER BY _loom_r ROWS "
      "BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS _loom_k, * FROM rec) SELECT "
      "coalesce(l.line, numbered._loom_k + 1) AS _loom_line, CAST(NULL AS VARCHAR) AS "
      "_loom_row_error, numbered.* EXCLUDE (_loom_r, _loom_nl, _loom_k) FROM numbered LEFT JOIN " +
      lines + " l ON l.k = numbered._loom_k ORDER BY numbered._loom_r");
}

Status LoadJsonLines(engine::Connection& conn, const spec::Schema& schema, const std::string& name,
                     const std::string& path) {
  std::string known;
  for (const spec::Field& f : schema.fields) {
    known += (known.empty() ? "" : ", ") + QuoteString(f.name);
  }
  if (known.empty()) known = "''";
  const std::string unknown =
      "list_filter(json_keys(" + std::string(kJson) + "), k -> k NOT IN (" + known + "))";
  return conn.Execute(
      "CREATE TEMP TABLE " + name + " AS SELECT _loom_line, " + kJson + ", CASE WHEN " + kJson +
      " IS NULL THEN 'not valid JSON' WHEN json_type(" + kJson +
      ") <> 'OBJECT' THEN 'not a JSON object' WHEN length(" + unknown +
      ") > 0 THEN 'unknown field \"' || " + unknown +
      "[1] || '\" (not in the schema)' END AS _loom_row_error FROM (SELECT ord AS _loom_line, "
      "TRY_CAST(l AS JSON) AS " +
      kJson + " FROM " + LinesOf(path) +
      " WHERE trim(l, chr(13) || ' ') <> '') ORDER BY _loom_line");
}

}  // namespace

Result<LoadedSource> LoadSource(engine::Connection& conn, const spec::Schema& schema,
                                SourceKind kind, const std::string& path_or_sql) {
  LoadedSource src;
  src.name = TempName();
  src.kind = kind;
  Status s;
  switch (kind) {
    case SourceKind::kCsv:
      s = LoadCsv(conn, src.name, path_or_sql);
      break;
    case SourceKind::kJsonLines:
    case SourceKind::kStreamWindow:
      s = LoadJsonLines(conn, schema, src.name, path_or_sql);
      break;
    case SourceKind::kParquet:
      src.is_line = false;
      s = conn.Execute("CREATE TEMP TABLE " + src.name +
                       " AS SELECT file_row_number + 1 AS _loom_line, CAST(NULL AS VARCHAR) AS "
                       "_loom_row_error, * EXCLUDE (file_row_number) FROM read_parquet(" +
                       QuoteString(path_or_sql) + ", file_row_number=true)");
      break;
    case SourceKind::kQuery:
      src.is_line = false;
      s = conn.Execute("CREATE TEMP TABLE " + src.name +
                       " AS SELECT row_number() OVER () AS _loom_line, CAST(NULL AS VARCHAR) AS "
                       "_loom_row_error, * FROM (" +
                       path_or_sql + "\n) AS q");
      break;
  }
  if (!s.ok()) {
    DropSource(conn, src);
    return InvalidArgument("cannot read " + std::string(ToString(kind)) +
                           " source: " + s.message());
  }
  if (kind == SourceKind::kJsonLines || kind == SourceKind::kStreamWindow) return src;
  Result<std::vector<std::string>> cols = SourceColumns(conn, src.name);
  if (!cols.ok()) {
    DropSource(conn, src);
    return cols.status();
  }
  src.columns = std::move(*cols);
  std::set<std::string> seen;
  for (const std::string& c : src.columns) {
    if (schema.Find(c) == nullptr) {
      DropSource(conn, src);
      return InvalidArgument(std::string(src.is_line ? "line 1: " : "") + "column " + c +
                             ": not in the product's schema");
    }
  }
  return src;
}

Status ValidateSource(engine::Connection& conn, const spec::Schema& schema, const LoadedSource& src,
                      ValidationReport* report) {
  std::string body =
      "SELECT _loom_line AS line, -1 AS ci, '' AS col, _loom_row_error AS problem "
      "FROM " +
      src.name + " WHERE _loom_row_error IS NOT NULL";
  for (size_t i = 0; i < schema.fields.size(); ++i) {
    const spec::Field& f = schema.fields[i];
    const ColExpr e = ExprFor(f, src);
    std::vector<Check> checks = ChecksFor(f, e);
    for (size_t k = 0; k < checks.size(); ++k) {
      const std::string pred =
          !checks[k].only_typed ? checks[k].predicate
                                : "(" + e.typed + " IS NOT NULL AND (" + checks[k].predicate + "))";
      body += " UNION ALL SELECT _loom_line, " + std::to_string(i * 16 + k) + ", " +
              QuoteString(f.name) + ", " + checks[k].problem + " FROM " + src.name +
              " WHERE _loom_row_error IS NULL AND (" + pred + ")";
    }
  }
  LOOM_ASSIGN_OR_RETURN(engine::Rows rows,
                        conn.QueryRows("WITH e AS MATERIALIZED (" + body +
                                           ") SELECT line, col, problem, (SELECT count(*) FROM e) "
                                           "AS n FROM e ORDER BY line, ci LIMIT " +
                                           std::to_string(ValidationReport::kMaxReportedErrors),
                                       ValidationReport::kMaxReportedErrors));
  report->errors.clear();
  report->error_count = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    RowError e;
    e.line = std::stoull(rows.Get(r, 0));
    e.is_line = src.is_line;
    e.column = rows.text[r][1].value_or("");
    e.problem = rows.Get(r, 2);
    report->error_count = std::stoull(rows.Get(r, 3));
    report->errors.push_back(std::move(e));
  }
  return Status::Ok();
}

Status WriteParquet(engine::Connection& conn, const spec::Schema& schema, const LoadedSource& src,
                    const std::string& parquet_path) {
  std::string select;
  for (const spec::Field& f : schema.fields) {
    const ColExpr e = ExprFor(f, src);
    select += (select.empty() ? "" : ", ") + std::string("CAST(") + e.typed + " AS " +
              f.type.SqlType() + ") AS " + QuoteIdent(f.name);
  }
  return conn.Execute("COPY (SELECT " + select + " FROM " + src.name + " ORDER BY " + kLine +
                      ") TO " + QuoteString(parquet_path) +
                      " (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)");
}

Status ComputeStats(engine::Connection& conn, const spec::Schema& schema,
                    const std::string& parquet_path, Manifest* manifest) {
  std::string select = "count(*)";
  for (const spec::Field& f : schema.fields) {
    const std::string c = QuoteIdent(f.name);
    select += ", count(*) - count(" + c + ")";
    if (f.type.kind == spec::TypeKind::kInt64) {
      select += ", coalesce(min(" + c + ") >= -2147483648 AND max(" + c + ") <= 2147483647, true)";
    }
    if (f.pii || IsNested(f.type.kind)) continue;
    if (f.type.kind == spec::TypeKind::kTimestamp) {
      select += ", min(epoch_us(" + c + ")), max(epoch_us(" + c + "))";
    } else if (f.type.kind == spec::TypeKind::kDecimal || !IsNumericKind(f.type.kind)) {
      select += ", CAST(min(" + c + ") AS VARCHAR), CAST(max(" + c + ") AS VARCHAR)";
    } else {
      select += ", min(" + c + "), max(" + c + ")";
    }
  }
  LOOM_ASSIGN_OR_RETURN(
      engine::Rows rows,
      conn.QueryRows("SELECT " + select + " FROM read_parquet(" + QuoteString(parquet_path) + ")",
                     1));
  if (rows.size() != 1) return Internal("statistics query returned no row");
  auto cell_json = [&](size_t col) -> nlohmann::json {
    if (!rows.text[0][col]) return nullptr;
    return nlohmann::json::parse(rows.json[0][col], nullptr, false);
  };
  manifest->row_count = std::stoull(rows.Get(0, 0));
  manifest->columns.clear();
  size_t col = 1;
  for (const spec::Field& f : schema.fields) {
    ColumnStats st;
    st.null_count = std::stoull(rows.Get(0, col++));
    if (f.type.kind == spec::TypeKind::kInt64) st.fits_int32 = rows.Get(0, col++) == "true";
    if (!f.pii && !IsNested(f.type.kind)) {
      if (f.type.kind == spec::TypeKind::kTimestamp) {
        if (rows.text[0][col]) st.min = FormatRfc3339(std::stoll(*rows.text[0][col]));
        if (rows.text[0][col + 1]) st.max = FormatRfc3339(std::stoll(*rows.text[0][col + 1]));
      } else if (f.type.kind == spec::TypeKind::kDecimal || !IsNumericKind(f.type.kind)) {
        if (rows.text[0][col]) st.min = *rows.text[0][col];
        if (rows.text[0][col + 1]) st.max = *rows.text[0][col + 1];
      } else {
        st.min = cell_json(col);
        st.max = cell_json(col + 1);
        if (st.min.is_discarded()) st.min = nullptr;
        if (st.max.is_discarded()) st.max = nullptr;
      }
      col += 2;
    }
    manifest->columns.emplace_back(f.name, std::move(st));
  }
  return Status::Ok();
}

void DropSource(engine::Connection& conn, const LoadedSource& src) {
  for (const char* suffix : {"", "_raw", "_lines"}) {
    (void)conn.Execute("DROP TABLE IF EXISTS " + src.name + suffix);
  }
}

}  // namespace loom::table
