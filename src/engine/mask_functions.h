#pragma once

// engine/-internal: the SQL scalar functions that masks (security::MaskColumn) are written with,
// registered in every Database the engine opens. Vectorised: one call per chunk of rows.
//
//   loom_keyed_hash(key VARCHAR, value VARCHAR) -> UUID
//   loom_keyed_hash(key VARCHAR, value BIGINT)  -> UUID   (hashes the value's decimal text)
//
// The result is SipHash-2-4 with 128-bit output (Aumasson and Bernstein's keyed PRF) of the
// value's text under `key`, 32 hex digits (128 bits); its 16 bytes, in the order SipHash emits
// them, are the UUID's 16 bytes as written. A BIGINT hashes as the text CAST(value AS VARCHAR)
// would give, so an int32 key, an int64 key and a string of the same digits join. NULL gives
// NULL; a key that is not 32 hex digits is an error that does not show the key. It is a pure
// function of its arguments: calling it without the key learns nothing about masked values.
// No allocation per row, and a 128-bit output: no string to build, and DuckDB hashes and
// compares it as two machine words in joins and aggregates.
//
//   loom_month_start(value DATE) -> DATE
//
// The first day of the value's month (the `truncate` mask of a date): what
// CAST(date_trunc('month', value) AS DATE) gives, by calendar arithmetic on the day number
// instead of a round trip through TIMESTAMP; infinite dates stay as they are, NULL gives NULL.

#include <duckdb.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "core/core.h"

namespace loom::engine {

inline constexpr const char* kKeyedHashFunction = "loom_keyed_hash";
inline constexpr const char* kMonthStartFunction = "loom_month_start";

// SipHash-2-4-128 of `data` under `key`: the 16 output bytes.
std::array<uint8_t, 16> SipHash128(const std::array<uint8_t, 16>& key, std::string_view data);

// Registers the functions in the database behind `con` (its system catalog: every connection).
Status RegisterMaskFunctions(duckdb_connection con);

}  // namespace loom::engine
