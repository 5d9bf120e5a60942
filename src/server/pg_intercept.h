#pragma once

// server/-internal: statements the listener answers itself, before the session sees them. Drivers
// and BI tools send a few at connect time (`SET extra_float_digits = 3`, `SET application_name =
// 'x'`, `SHOW TRANSACTION ISOLATION LEVEL`, `SELECT version()`); the session's front door would
// refuse them. Only the harmless settings listed in docs/postgres.md are accepted, as no-ops or
// with a value the listener keeps for SHOW; everything else goes to the session (which refuses
// SET, SHOW and friends with a clear error).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loom::server::pg {

inline constexpr char kServerVersion[] = "15.0 (Loom)";

// What a statement is, as far as the listener is concerned.
struct Intercept {
  enum class Kind {
    kQuery,    // for the session
    kEmpty,    // blanks, comments, semicolons only: EmptyQueryResponse
    kSet,      // SET name = value (name lower case; value "DEFAULT" resets)
    kNoopSet,  // SET SESSION CHARACTERISTICS ...: accepted, nothing to keep
    kShow,     // SHOW name (lower case)
    kVersion,  // SELECT version()
  };
  Kind kind = Kind::kQuery;
  std::string name;
  std::string value;
};

Intercept Classify(std::string_view sql);

// The settings of one connection, for SET and SHOW and the startup packet. Not thread-safe (one
// connection thread).
class Settings {
 public:
  Settings();
  // Applies SET name = value. kInvalidArgument (SQLSTATE 22023) for a value the listener cannot
  // honour (a client_encoding other than UTF8); kUnimplemented (0A000) for a setting it does not
  // take. `reported` gets the name of a ParameterStatus the client must be sent, if any.
  Status Set(const std::string& name, const std::string& value, std::string* reported);
  // The value SHOW prints, or kNotFound (42704) for an unknown name.
  Result<std::string> Show(const std::string& name) const;
  // The parameters every client gets as ParameterStatus after startup.
  std::vector<std::pair<std::string, std::string>> Reported() const;
  // SHOW's column name (PostgreSQL keeps the setting's own spelling, lower case).
  static std::string ShowColumn(const std::string& name);

 private:
  std::map<std::string, std::string> values_;  // lower-case names
};

}  // namespace loom::server::pg
