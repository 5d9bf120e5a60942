#pragma once

// server/-internal: the one table from loom::Status to PostgreSQL error responses (SQLSTATE,
// message, hint) for the wire listener. See docs/postgres.md for the list.

#include <string_view>

#include "core/status.h"
#include "server/pg_messages.h"

namespace loom::server::pg {

// ERROR severity; SQLSTATE by code, refined by the engine's message where it tells more (a
// syntax error, an undefined relation, a bad conversion).
PgError ErrorFor(const Status& status);

// ErrorFor, plus a hint when a refused query reaches for PostgreSQL's system catalogs (psql's \d,
// BI tools' schema browsers), which Loom does not have.
PgError ErrorForQuery(const Status& status, std::string_view sql);

// A protocol violation (08P01), FATAL: the connection closes after it.
PgError ProtocolViolation(std::string message);

PgError MakeError(std::string sqlstate, std::string message, std::string severity = "ERROR");

}  // namespace loom::server::pg
