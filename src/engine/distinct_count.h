#pragma once

// engine/-internal: an exact distinct count of 64-bit values, registered in every Database the
// engine opens (as the functions of masks).
//
//   loom_distinct_count(value UBIGINT) -> UBIGINT
//
// The number of distinct non-NULL values (0 when there are none): what count(DISTINCT value)
// gives, computed without DuckDB's grouping hash table. Each thread appends its values to a
// plain array; the final step partitions them by their high bits and counts each partition in
// a small open-addressing table that stays in cache. quality/ uses it on hash(key...) to prove
// that a key is unique in one pass (a distinct hash count equal to the row count), and runs the
// exact count(DISTINCT key) only when it is not. Memory: 8 bytes per non-NULL value, twice that
// in the final step, outside DuckDB's memory limit; more than kDistinctCountMaxValues values in
// one group is an error.

#include <duckdb.h>

#include <cstdint>

#include "core/core.h"

namespace loom::engine {

inline constexpr const char* kDistinctCountFunction = "loom_distinct_count";
inline constexpr uint64_t kDistinctCountMaxValues = uint64_t{1} << 28;  // 2 GiB of values

// Registers the function in the database behind `con` (its system catalog: every connection).
Status RegisterDistinctCount(duckdb_connection con);

}  // namespace loom::engine
