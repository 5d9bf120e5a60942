#pragma once

// The SQLite RAII layer (core/sqlite_db.h) under this module's names.

#include "core/sqlite_db.h"

namespace loom::security {

using sqlite::Db;
using sqlite::SqliteError;
using sqlite::Stmt;
using sqlite::Transaction;

}  // namespace loom::security
