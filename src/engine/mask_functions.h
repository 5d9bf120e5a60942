#pragma once

// engine/-internal: the SQL scalar functions that masks (security::MaskColumn) are written with,
// registered in every Database the engine opens. Vectorised: one call per chunk of rows.
//
//   loom_keyed_hash(key VARCHAR, value VARCHAR) -> UUID
//   loom_keyed_hash(key VARCHAR, value BIGINT)  -> UUID   (hashes the value's decimal text)
//
// The result is AES-128-CMAC (NIST SP 800-38B, RFC 4493; a keyed pseudorandom function with a
// 128-bit output) of the value's text under `key`, 32 hex digits (128 bits); its 16 bytes, in the
// order CMAC emits them, are the UUID's 16 bytes as written, so the same key and value give the
// same UUID on every run and machine. A BIGINT hashes as the text CAST(value AS VARCHAR) would
// give, so an int32 key, an int64 key and a string of the same digits join. NULL gives NULL; a
// key that is not 32 hex digits is an error that does not show the key. It is a pure function of
// its arguments: calling it without the key learns nothing about masked values.
// No allocation per row, and a 128-bit output: no string to build, and DuckDB hashes and
// compares it as two machine words in joins and aggregates. The rows of a chunk are encrypted
// together (keyed_hash.h): a value of up to 16 bytes costs one pipelined AES block.
//
//   loom_month_start(value DATE) -> DATE
//
// The first day of the value's month (the `truncate` mask of a date): what
// CAST(date_trunc('month', value) AS DATE) gives, by calendar arithmetic on the day number
// instead of a round trip through TIMESTAMP; infinite dates stay as they are, NULL gives NULL.

#include <duckdb.h>

#include "core/core.h"

namespace loom::engine {

inline constexpr const char* kKeyedHashFunction = "loom_keyed_hash";
inline constexpr const char* kMonthStartFunction = "loom_month_start";

// Registers the functions in the database behind `con` (its system catalog: every connection).
Status RegisterMaskFunctions(duckdb_connection con);

}  // namespace loom::engine
