#include "server/pg_errors.h"

#include <string_view>

namespace loom::server::pg {
namespace {

bool Has(std::string_view m, std::string_view what) {
  return m.find(what) != std::string_view::npos;
}

constexpr char kCatalogHint[] =
    "Loom has no PostgreSQL system catalog: list the products you can query with `loom products` "
    "or GET /v1/products, and name them as <domain>.<product>.<port>.";

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const char* InvalidArgumentState(std::string_view m) {
  if (m.starts_with("Parser Error") || Has(m, "syntax error")) return "42601";
  if (Has(m, "there is no parameter $")) return "42P02";
  if (Has(m, "invalid byte sequence")) return "22021";
  if (m.starts_with("Catalog Error")) {
    if (Has(m, "Table with name") || Has(m, "Table Function with name")) return "42P01";
    if (Has(m, "Function with name") || Has(m, "Macro Function")) return "42883";
    return "42704";
  }
  if (m.starts_with("Binder Error")) {
    if (Has(m, "Referenced column") || (Has(m, "column") && Has(m, "not found"))) return "42703";
    if (Has(m, "No function matches")) return "42883";
    return "42000";
  }
  if (m.starts_with("Conversion Error") || Has(m, "Could not convert")) return "22P02";
  if (m.starts_with("Out of Range Error") || Has(m, "out of range")) return "22003";
  if (Has(m, "Division by zero")) return "22012";
  return "22023";
}

}  // namespace

PgError MakeError(std::string sqlstate, std::string message, std::string severity) {
  PgError e;
  e.severity = std::move(severity);
  e.sqlstate = std::move(sqlstate);
  e.message = std::move(message);
  return e;
}

PgError ErrorForQuery(const Status& status, std::string_view sql) {
  PgError e = ErrorFor(status);
  if (e.hint.empty() && (e.sqlstate == "42501" || e.sqlstate == "42P01")) {
    std::string lower = LowerAscii(sql);
    if (Has(lower, "pg_catalog") || Has(lower, "information_schema")) e.hint = kCatalogHint;
  }
  return e;
}

PgError ProtocolViolation(std::string message) {
  return MakeError("08P01", std::move(message), "FATAL");
}

PgError ErrorFor(const Status& status) {
  const std::string& m = status.message();
  PgError e = MakeError("XX000", m);
  switch (status.code()) {
    case StatusCode::kOk:
      e.message = "unexpected success reported as an error";
      break;
    case StatusCode::kInvalidArgument:
      e.sqlstate = InvalidArgumentState(m);
      break;
    case StatusCode::kPermissionDenied:
      e.sqlstate = Has(m, "is not one of this session's relations") ? "42P01" : "42501";
      if (Has(m, "pg_catalog") || Has(m, "information_schema") || Has(m, "relation pg_")) {
        e.hint = kCatalogHint;
      } else if (Has(m, "exactly one statement")) {
        e.hint = "Send one SELECT per query.";
      }
      break;
    case StatusCode::kCancelled:
      e.sqlstate = "57014";
      e.message = "canceling statement due to user request";
      break;
    case StatusCode::kDeadlineExceeded:
      e.sqlstate = "57014";
      e.message = "canceling statement due to statement timeout";
      e.detail = m;
      break;
    case StatusCode::kUnauthenticated:
      e.sqlstate = "28P01";
      break;
    case StatusCode::kNotFound:
      e.sqlstate = "42704";
      break;
    case StatusCode::kAlreadyExists:
      e.sqlstate = "42710";
      break;
    case StatusCode::kFailedPrecondition:
      e.sqlstate = "55000";
      break;
    case StatusCode::kResourceExhausted:
      e.sqlstate = "53200";
      break;
    case StatusCode::kAborted:
      e.sqlstate = "40001";
      break;
    case StatusCode::kUnavailable:
      e.sqlstate = "58000";
      break;
    case StatusCode::kDataLoss:
      e.sqlstate = "XX001";
      break;
    case StatusCode::kUnimplemented:
      e.sqlstate = "0A000";
      break;
    case StatusCode::kInternal:
      e.sqlstate = "XX000";
      break;
  }
  return e;
}

}  // namespace loom::server::pg
