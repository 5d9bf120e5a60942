#include "engine/distinct_count.h"

#include <algorithm>
#include <optional>
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

// The values partitioned by the high 8 bits of Mix(value), so that each partition's table fits
// in cache (small inputs: one partition). `values` stay as they are: a window may finalize a
// state more than once.
struct Partitions {
  std::vector<uint64_t> values;
  std::vector<size_t> start;  // partition p is values[start[p], start[p + 1])
};

Partitions Partition(const std::vector<uint64_t>& values) {
  constexpr int kBits = 8;
  constexpr size_t kParts = size_t{1} << kBits;
  Partitions out;
  if (values.size() <= (size_t{1} << 15)) {
    out.values = values;
    out.start = {0, values.size()};
    return out;
  }
  out.start.assign(kParts + 1, 0);
  for (uint64_t x : values) ++out.start[(Mix(x) >> (64 - kBits)) + 1];
  for (size_t p = 1; p <= kParts; ++p) out.start[p] += out.start[p - 1];
  std::vector<size_t> next(out.start.begin(), out.start.end() - 1);
  out.values.resize(values.size());
  for (uint64_t x : values) out.values[next[Mix(x) >> (64 - kBits)]++] = x;
  return out;
}

// Calls seen(x, first) for each value: first is true the first time x is seen. Linear probing on
// Mix(x); 0 marks an empty slot, so 0 values are followed apart.
template <typename Seen>
void Scan(const std::vector<uint64_t>& values, Seen seen) {
  const Partitions parts = Partition(values);
  std::vector<uint64_t> table;
  bool zero = false;
  for (size_t p = 0; p + 1 < parts.start.size(); ++p) {
    const size_t n = parts.start[p + 1] - parts.start[p];
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    table.assign(cap, 0);
    const size_t mask = cap - 1;
    for (size_t i = parts.start[p]; i < parts.start[p + 1]; ++i) {
      const uint64_t x = parts.values[i];
      if (x == 0) {
        seen(x, !zero);
        zero = true;
        continue;
      }
      for (size_t slot = Mix(x) & mask;; slot = (slot + 1) & mask) {
        if (table[slot] == x) {
          seen(x, false);
          break;
        }
        if (table[slot] == 0) {
          table[slot] = x;
          seen(x, true);
          break;
        }
      }
    }
  }
}

uint64_t CountDistinct(const std::vector<uint64_t>& values) {
  uint64_t distinct = 0;
  Scan(values, [&](uint64_t, bool first) { distinct += first ? 1 : 0; });
  return distinct;
}

void Finalize(duckdb_function_info, duckdb_aggregate_state* source, duckdb_vector result,
              idx_t count, idx_t offset) {
  auto* out = static_cast<uint64_t*>(duckdb_vector_get_data(result));
  for (idx_t i = 0; i < count; ++i) {
    const State& s = StateOf(source[i]);
    out[offset + i] = s.values == nullptr ? 0 : CountDistinct(*s.values);
  }
}

// The distinct values seen more than once, ascending, or nullopt past kRepeatedValuesMax.
std::optional<std::vector<uint64_t>> Repeated(const std::vector<uint64_t>& values) {
  // Every repeat sighting is recorded; sorting makes them distinct.
  std::vector<uint64_t> repeated;
  Scan(values, [&](uint64_t x, bool first) {
    if (!first) repeated.push_back(x);
  });
  std::sort(repeated.begin(), repeated.end());
  repeated.erase(std::unique(repeated.begin(), repeated.end()), repeated.end());
  if (repeated.size() > kRepeatedValuesMax) return std::nullopt;
  return repeated;
}

void FinalizeRepeated(duckdb_function_info, duckdb_aggregate_state* source, duckdb_vector result,
                      idx_t count, idx_t offset) {
  for (idx_t i = 0; i < count; ++i) {
    const State& s = StateOf(source[i]);
    std::optional<std::vector<uint64_t>> repeated =
        s.values == nullptr ? std::vector<uint64_t>{} : Repeated(*s.values);
    auto* entries = static_cast<duckdb_list_entry*>(duckdb_vector_get_data(result));
    const idx_t size = duckdb_list_vector_get_size(result);
    if (!repeated) {
      duckdb_vector_ensure_validity_writable(result);
      duckdb_validity_set_row_invalid(duckdb_vector_get_validity(result), offset + i);
      entries[offset + i] = {size, 0};
      continue;
    }
    duckdb_list_vector_reserve(result, size + repeated->size());
    auto* child =
        static_cast<uint64_t*>(duckdb_vector_get_data(duckdb_list_vector_get_child(result)));
    std::copy(repeated->begin(), repeated->end(), child + size);
    duckdb_list_vector_set_size(result, size + repeated->size());
    entries[offset + i] = {size, repeated->size()};
  }
}

bool Register(duckdb_connection con, const char* name, duckdb_logical_type returns,
              duckdb_aggregate_finalize_t finalize) {
  duckdb_aggregate_function f = duckdb_create_aggregate_function();
  duckdb_aggregate_function_set_name(f, name);
  duckdb_logical_type ubigint = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
  duckdb_aggregate_function_add_parameter(f, ubigint);
  duckdb_destroy_logical_type(&ubigint);
  duckdb_aggregate_function_set_return_type(f, returns);
  duckdb_aggregate_function_set_functions(f, StateSize, Init, Update, Combine, finalize);
  duckdb_aggregate_function_set_destructor(f, Destroy);
  // NULLs reach Update (which skips them): no NULL result for an all-NULL input.
  duckdb_aggregate_function_set_special_handling(f);
  const bool ok = duckdb_register_aggregate_function(con, f) == DuckDBSuccess;
  duckdb_destroy_aggregate_function(&f);
  return ok;
}

}  // namespace

Status RegisterDistinctCount(duckdb_connection con) {
  duckdb_logical_type ubigint = duckdb_create_logical_type(DUCKDB_TYPE_UBIGINT);
  duckdb_logical_type list = duckdb_create_list_type(ubigint);
  bool ok = Register(con, kDistinctCountFunction, ubigint, &Finalize);
  ok = ok && Register(con, kRepeatedValuesFunction, list, &FinalizeRepeated);
  duckdb_destroy_logical_type(&list);
  duckdb_destroy_logical_type(&ubigint);
  if (!ok) return Internal("cannot register the distinct count functions");
  return Status::Ok();
}

}  // namespace loom::engine
