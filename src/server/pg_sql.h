#pragma once

// server/-internal: the SQL text work of the wire listener. Parameters ($1, $2...) of the
// extended protocol are found by a lexer that skips string literals, quoted identifiers,
// comments and dollar-quoted strings, and are replaced by SQL literals (engine::QuoteString,
// typed with CAST by the parameter's OID). The result is still checked whole by the session's
// front door, so a lexer mistake can make a query fail but never widen what it may read.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loom::server::pg {

inline constexpr int kMaxParameters = 65535;

// Where $n occurs in a SQL text.
struct ParamRef {
  size_t offset = 0;  // of the '$'
  size_t length = 0;  // of "$n"
  int index = 0;      // n, 1-based
};
struct ScannedSql {
  std::vector<ParamRef> refs;
  int max_index = 0;  // the number of parameters the statement takes
};

// kInvalidArgument for $0 or an index above kMaxParameters (SQLSTATE 42P02 by message).
Result<ScannedSql> ScanParameters(std::string_view sql);

// The SQL text with each $n replaced by the literal of values[n-1] typed by types[n-1] (0 or
// missing = untyped: a string literal DuckDB casts where used). NULL values become NULL.
// kInvalidArgument for a value with a NUL byte or one the type cannot read (a bad number).
Result<std::string> SubstituteParameters(std::string_view sql, const ScannedSql& scanned,
                                         const std::vector<int32_t>& types,
                                         const std::vector<std::optional<std::string>>& values);

// The SQL literal for one text-format parameter value of type `oid`.
Result<std::string> ParameterLiteral(int32_t oid, const std::optional<std::string>& value);

// `sql` without trailing blanks, semicolons and comments; empty when nothing but those remains.
std::string TrimStatement(std::string_view sql);

// SELECT * FROM (<sql>) LIMIT 0: the columns of a query without running it (the newline ends a
// trailing line comment).
std::string DescribeQuery(std::string_view trimmed_sql);

}  // namespace loom::server::pg
