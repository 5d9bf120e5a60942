#pragma once

// engine/-internal: the SQL scalar functions that masks (security::MaskColumn) are written with,
// registered in every Database the engine opens. Vectorised: one call per chunk of rows.
//
//   loom_keyed_hash(key VARCHAR, value VARCHAR) -> UUID
//
// The `hash` mask of a string (and other non-integer types, as text): AES-128-CMAC (NIST
// SP 800-38B, RFC 4493; a keyed pseudorandom function with a 128-bit output) of the value under
// `key`, 32 hex digits (128 bits); its 16 bytes, in the order CMAC emits them, are the UUID's 16
// bytes as written, so the same key and value give the same UUID on every run and machine. NULL
// gives NULL; a key that is not 32 hex digits is an error that does not show the key. It is a
// pure function of its arguments: calling it without the key learns nothing about masked values.
// No allocation per row, and a 128-bit output: no string to build, and DuckDB hashes and
// compares it as two machine words in joins and aggregates. The rows of a chunk are encrypted
// together (keyed_hash.h): a value of up to 16 bytes costs one pipelined AES block.
//
//   loom_keyed_permute(key_high UBIGINT, key_low UBIGINT, value BIGINT) -> BIGINT
//
// The `hash` mask of an integer: the Speck64/128 block cipher (keyed_hash.h) of the value's 64
// bits under the 128-bit key (key_high, key_low). A keyed permutation of BIGINT: the same key
// and value give the same result everywhere, distinct values never collide (groups and joins on
// the masked key are exactly those on the value), and without the key the value cannot be
// recovered. It stays a BIGINT, which DuckDB groups, joins and sorts as one machine word. NULL
// (value or key) gives NULL. The key is two integers, not text: a constant argument is expanded
// to every row of a chunk before the call, and comparing words to find where it changes is
// cheaper than comparing strings. A vector of values costs a few nanoseconds each (SIMD).
//
// A value of int32 range is an exception: it is permuted as loom_keyed_permute32 does, so that
// it lands in int32 range too and int32 and int64 keys masked alike still join. Any other value
// is Speck64/128 of its 64 bits, repeated while the result is of int32 range (cycle walking).
//
//   loom_keyed_permute32(key_high UBIGINT, key_low UBIGINT, value INTEGER) -> INTEGER
//
// The `hash` mask of an integer whose values are all of int32 range: Speck32's round function
// under 22 round keys derived from the 128-bit key (keyed_hash.h), a keyed permutation of
// INTEGER. Four bytes wide, so DuckDB groups and joins it as tightly as the raw key. NULL gives
// NULL.
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
inline constexpr const char* kKeyedPermuteFunction = "loom_keyed_permute";
inline constexpr const char* kKeyedPermute32Function = "loom_keyed_permute32";
inline constexpr const char* kMonthStartFunction = "loom_month_start";

// Registers the functions in the database behind `con` (its system catalog: every connection).
Status RegisterMaskFunctions(duckdb_connection con);

}  // namespace loom::engine
