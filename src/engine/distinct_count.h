#pragma once

// engine/-internal: exact distinct counts of 64-bit values, registered in every Database the
// engine opens (as the functions of masks).
//
//   loom_distinct_count(value UBIGINT) -> UBIGINT
//   loom_repeated_values(value UBIGINT) -> UBIGINT[]
//
// The number of distinct non-NULL values (0 when there are none): what count(DISTINCT value)
// gives, computed without DuckDB's grouping hash table. Each thread appends its values to a
// plain array; the final step partitions them by their high bits and counts each partition in
// a small open-addressing table that stays in cache. loom_repeated_values gives the distinct
// values seen more than once, ascending, the same way (NULL when more than kRepeatedValuesMax
// distinct values repeat). quality/ calls it on hash(key...): no repeated hash proves a key
// unique in one pass; otherwise it counts and samples duplicates among the rows with those
// hashes only (the exact count(DISTINCT key) over every row when there are too many). Memory: 8
// bytes per non-NULL value, twice that in the final step, outside DuckDB's memory limit; more than
// kDistinctCountMaxValues values in one group is an error.

#include <duckdb.h>

#include <cstdint>

#include "core/core.h"

namespace loom::engine {

inline constexpr const char* kDistinctCountFunction = "loom_distinct_count";
inline constexpr const char* kRepeatedValuesFunction = "loom_repeated_values";
inline constexpr size_t kRepeatedValuesMax = 4096;
inline constexpr uint64_t kDistinctCountMaxValues = uint64_t{1} << 28;  // 2 GiB of values

// Registers the functions in the database behind `con` (its system catalog: every connection).
Status RegisterDistinctCount(duckdb_connection con);

}  // namespace loom::engine
