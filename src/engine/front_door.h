#pragma once

// engine/-internal: the SQL front door of sessions. It judges DuckDB's own parse tree of a
// statement (the JSON of json_serialize_sql), never the SQL text. See docs/internals/engine.md.

#include <set>
#include <string>
#include <string_view>

#include "core/status.h"

namespace loom::engine {

// Table functions a user may call: they read no file and no engine metadata.
bool IsAllowedTableFunction(std::string_view lower_name);
// Scalar functions and macros a user may not call: they read settings, variables or the catalog
// (pg_get_viewdef expands to a scan of duckdb_views()), or (de)serialize SQL.
bool IsDeniedScalarFunction(std::string_view lower_name);

// Checks the output of json_serialize_sql for one statement. `relations` holds the session's
// relation names, lower case, "domain.product.port". OK, kPermissionDenied naming what was
// refused (never echoing a file path), or kInvalidArgument for a parse error.
Status CheckParseTree(std::string_view serialized, const std::set<std::string>& relations);

// The first keyword of `sql` in upper case, skipping blanks, comments and '(' (for messages).
std::string FirstKeyword(std::string_view sql);

// `name` if it is a plain identifier-ish word, else a neutral description (never a path).
std::string SafeName(std::string_view name);

}  // namespace loom::engine
