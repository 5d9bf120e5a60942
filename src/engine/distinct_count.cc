#include "engine/distinct_count.h"

#include <algorithm>
#include <vector>

namespace loom::engine {
namespace {

// The state DuckDB allocates per group (and per thread): the group's values, or null before the
// first one. The array is owned; Destroy frees it.
struct State {
  std::vector<uint64_t>* values;
};

State& StateOf(duckdb_aggregate_state s) { return *reinterpret_cast<State*>(s); }

idx_t StateSize(duckdb_function_info) { return sizeof(State); }

void Init(duckdb_function_info, duckdb_aggregate_state s) { StateOf(s).values = nullptr; }

void Destroy(duckdb_aggregate_state* states, idx_t count) {
  for (idx_t i = 0; i < count; ++i) {
    delete StateOf(states[i]).values;
    StateOf(states[i]).values = nullptr;
  }
}

constexpr const char* kTooMany = "loom_distinct_count: too many values in one group";

void Update(duckdb_function_info info, duckdb_data_chunk input, duckdb_aggregate_state* states) {
  const idx_t n = duckdb_data_chunk_get_size(input);
  duckdb_vector vec = duckdb_data_chunk_get_vector(input, 0);
  const auto* data = static_cast<const uint64_t*>(duckdb_vector_get_data(vec));
  const uint64_t* validity = duckdb_vector_get_validity(vec);
  for (idx_t i = 0; i < n; ++i) {
    if (validity != nullptr && !duckdb_validity_row_is_valid(const_cast<uint64_t*>(validity), i)) {
      continue;
    }
    State& s = StateOf(states[i]);
    if (s.values == nullptr) s.values = new std::vector<uint64_t>();
    if (s.values->size() >= kDistinctCountMaxValues) {
      duckdb_aggregate_function_set_error(info, kTooMany);
      return;
    }
    s.values->push_back(data[i]);
  }
}

// The source stays as it is (window aggregates combine a tree node's state more than once).
void Combine(duckdb_function_info info, duckdb_aggregate_state* source,
             duckdb_aggregate_state* target, idx_t count) {
  for (idx_t i = 0; i < count; ++i) {
    const State& from = StateOf(source[i]);
    State& to = StateOf(target[i]);
    if (from.values == nullptr || from.values->empty()) continue;
    if (to.values == nullptr) to.values = new std::vector<uint64_t>();
    if (to.values->size() + from.values->size() > kDistinctCountMaxValues) {
      duckdb_aggregate_function_set_error(info, kTooMany);
      return;
    }
    to.values->insert(to.values->end(), from.values->begin(), from.values->end());
  }
}

// A bijection of 64-bit words (the splitmix64 finalizer): distinct inputs stay distinct, and
// inputs that are not uniform (small integers) spread over the partitions and the table slots.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Distinct values among `v` (already mixed), with linear probing in `table`; 0 marks an empty
// slot, so a 0 value is counted apart.
uint64_t CountPart(const uint64_t* v, size_t n, std::vector<uint64_t>& table, bool& zero) {
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  table.assign(cap, 0);
  const size_t mask = cap - 1;
  uint64_t distinct = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t x = v[i];
    if (x == 0) {
      zero = true;
      continue;
    }
    for (size_t slot = x & mask;; slot = (slot + 1) & mask) {
      if (table[slot] == x) break;
      if (table[slot] == 0) {
        table[slot] = x;
        ++distinct;
        break;
      }
    }
  }
  return distinct;
}

// Mixes and partitions the values by their high 8 bits, so that each partition's table fits in
// cache. Leaves `values` as they are (a window may finalize a state more than once).
uint64_t CountDistinct(const std::vector<uint64_t>& values) {
  constexpr int kBits = 8;
  constexpr size_t kParts = size_t{1} << kBits;
  constexpr size_t kSmall = 1 << 15;
  std::vector<uint64_t> table;
  std::vector<uint64_t> parted(values.size());
  bool zero = false;
  if (values.size() <= kSmall) {
    std::transform(values.begin(), values.end(), parted.begin(), Mix);
    return CountPart(parted.data(), parted.size(), table, zero) + (zero ? 1 : 0);
  }
  std::vector<size_t> start(kParts + 1, 0);
  for (uint64_t x : values) ++start[(Mix(x) >> (64 - kBits)) + 1];
  for (size_t p = 1; p <= kParts; ++p) start[p] += start[p - 1];
  std::vector<size_t> next(start.begin(), start.end() - 1);
  for (uint64_t x : values) {
    const uint64_t m = Mix(x);
    parted[next[m >> (64 - kBits)]++] = m;
  }
  uint64_t distinct = 0;
  for (size_t p = 0; p < kParts; ++p) {
    distinct += CountPart(parted.data() + start[p], start[p + 1] - start[p], table, zero);
  }
  return distinct + (zero ? 1 : 0);
}

void Finalize(duckdb_function_info, duckdb_aggregate_state* source, duckdb_vector result,
              idx_t count, idx_t offset) {
  auto* out = static_cast<uint64_t*>(duckdb_vector_get_data(result));
  for (idx_t i = 0; i < count; ++i) {
    const State& s = StateOf(source[i]);
    out[offset + i] = s.values == nullptr ? 0 : CountDistinct(*s.values);
  }
}

}  // namespace

Status RegisterDistinctCount(duckdb_connection con) {
  duckdb_aggregate_function f = duckdb_create_aggregate_function();
  duckdb_aggregate_function_set_name(f, kDistinctCountFunction);
  duckdb_logical_type ubigint = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
  duckdb_aggregate_function_add_parameter(f, ubigint);
  duckdb_aggregate_function_set_return_type(f, ubigint);
  duckdb_destroy_logical_type(&ubigint);
  duckdb_aggregate_function_set_functions(f, StateSize, Init, Update, Combine, Finalize);
  duckdb_aggregate_function_set_destructor(f, Destroy);
  // NULLs reach Update (which skips them): no NULL result for an all-NULL input.
  duckdb_aggregate_function_set_special_handling(f);
  const bool ok = duckdb_register_aggregate_function(con, f) == DuckDBSuccess;
  duckdb_destroy_aggregate_function(&f);
  if (!ok) return Internal("cannot register " + std::string(kDistinctCountFunction));
  return Status::Ok();
}

}  // namespace loom::engine
