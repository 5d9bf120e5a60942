#include "engine/mask_functions.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <initializer_list>
#include <memory>

#include "engine/keyed_hash.h"

namespace loom::engine {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseKey(std::string_view hex, std::array<uint8_t, 16>* key) {
  if (hex.size() != 32) return false;
  for (size_t i = 0; i < 16; ++i) {
    const int hi = HexDigit(hex[2 * i]);
    const int lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*key)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

std::string_view View(duckdb_string_t& s) {
  return {duckdb_string_t_data(&s), duckdb_string_t_length(s)};
}

uint64_t LoadBe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
}

// The UUID whose 16 bytes, as written, are the tag's bytes. DuckDB keeps a UUID as a 128-bit
// integer whose upper half has its top bit flipped (so that signed order is the text's order); the
// text shows the halves big-endian.
duckdb_hugeint AsUuid(const uint8_t* tag) {
  duckdb_hugeint h;
  h.upper = static_cast<int64_t>(LoadBe64(tag) ^ (uint64_t{1} << 63));
  h.lower = LoadBe64(tag + 8);
  return h;
}

bool RowValid(const uint64_t* validity, idx_t row) {
  return validity == nullptr || ((validity[row / 64] >> (row % 64)) & 1) != 0;
}

// Marks `row` of `output` NULL; `validity` caches the output's writable mask.
void SetNull(duckdb_vector output, uint64_t** validity, idx_t row) {
  if (*validity == nullptr) {
    duckdb_vector_ensure_validity_writable(output);
    *validity = duckdb_vector_get_validity(output);
  }
  (*validity)[row / 64] &= ~(uint64_t{1} << (row % 64));
}

// CMAC's padded block of a string kept inline in its duckdb_string_t (at most 12 bytes), masking
// whatever follows the string there; two words in memory order. Little-endian machines only.
void InlineBlock(const duckdb_string_t& s, uint64_t* words) {
  const size_t size = s.value.inlined.length;
  uint64_t word[2] = {};
  std::memcpy(word, s.value.inlined.inlined, 12);
  if (size < 8) {
    words[0] = (word[0] & ((uint64_t{1} << (8 * size)) - 1)) | (uint64_t{0x80} << (8 * size));
    words[1] = 0;
  } else {
    words[0] = word[0];
    words[1] =
        (word[1] & ((uint64_t{1} << (8 * (size - 8))) - 1)) | (uint64_t{0x80} << (8 * (size - 8)));
  }
}

// The rows of a chunk waiting in a CmacBatch.
struct PendingRows {
  idx_t row[CmacBatch::kCapacity];
};

// One chunk: column 0 the key, column 1 the VARCHAR value. The C API hands scalar functions flat
// vectors.
void KeyedHash(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
  const idx_t rows = duckdb_data_chunk_get_size(input);
  duckdb_vector keys = duckdb_data_chunk_get_vector(input, 0);
  duckdb_vector values = duckdb_data_chunk_get_vector(input, 1);
  auto* key_data = static_cast<duckdb_string_t*>(duckdb_vector_get_data(keys));
  const uint64_t* key_valid = duckdb_vector_get_validity(keys);
  void* value_data = duckdb_vector_get_data(values);
  const uint64_t* value_valid = duckdb_vector_get_validity(values);
  auto* out = static_cast<duckdb_hugeint*>(duckdb_vector_get_data(output));
  uint64_t* out_valid = nullptr;

  auto batch = std::make_unique<CmacBatch>();
  auto pending = std::make_unique<PendingRows>();
  auto finish = [&] {
    if (!batch->Finish()) return false;
    for (size_t i = 0; i < batch->size(); ++i) out[pending->row[i]] = AsUuid(batch->tag(i));
    batch->Clear();
    return true;
  };
  // The key is a constant of the mask expression: a flattened constant repeats the same 16-byte
  // string header in every row, so the cipher is keyed again only where the header differs (after
  // the rows queued under the previous key are done).
  duckdb_string_t last_header{};
  bool have_key = false;
  for (idx_t row = 0; row < rows; ++row) {
    if (!RowValid(key_valid, row) || !RowValid(value_valid, row)) {
      SetNull(output, &out_valid, row);
      continue;
    }
    if (!have_key || std::memcmp(&key_data[row], &last_header, sizeof last_header) != 0) {
      std::array<uint8_t, 16> key{};
      if (!ParseKey(View(key_data[row]), &key)) {
        duckdb_scalar_function_set_error(info, "loom_keyed_hash: the key must be 32 hex digits");
        return;
      }
      const bool keyed = (batch->size() == 0 || finish()) && batch->SetKey(key);
      std::fill(key.begin(), key.end(), uint8_t{0});
      if (!keyed) {
        duckdb_scalar_function_set_error(info, "loom_keyed_hash: the AES cipher failed");
        return;
      }
      std::memcpy(&last_header, &key_data[row], sizeof last_header);
      have_key = true;
    }
    const size_t slot = batch->size();
    pending->row[slot] = row;
    // The string's layout is duckdb.h's: up to 12 bytes inline, longer ones behind a pointer.
    const duckdb_string_t& v = static_cast<const duckdb_string_t*>(value_data)[row];
    const size_t size = v.value.inlined.length;
    if (size <= sizeof v.value.inlined.inlined) {
      if constexpr (std::endian::native == std::endian::little) {
        uint64_t words[2];
        InlineBlock(v, words);
        batch->AddPadded(words[0], words[1], size);
      } else {
        batch->Add(reinterpret_cast<const uint8_t*>(v.value.inlined.inlined), size);
      }
    } else {
      batch->Add(reinterpret_cast<const uint8_t*>(v.value.pointer.ptr), size);
    }
    if (batch->full() && !finish()) {
      duckdb_scalar_function_set_error(info, "loom_keyed_hash: the AES cipher failed");
      return;
    }
  }
  if (batch->size() > 0 && !finish()) {
    duckdb_scalar_function_set_error(info, "loom_keyed_hash: the AES cipher failed");
  }
}

// The day of the month (1-31) of a day number (days since 1970-01-01, proleptic Gregorian):
// H. Hinnant's civil_from_days.
int64_t DayOfMonth(int64_t days) {
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  return doy - (153 * mp + 2) / 5 + 1;
}

void MonthStart(duckdb_function_info /*info*/, duckdb_data_chunk input, duckdb_vector output) {
  const idx_t rows = duckdb_data_chunk_get_size(input);
  duckdb_vector dates = duckdb_data_chunk_get_vector(input, 0);
  const auto* in = static_cast<const int32_t*>(duckdb_vector_get_data(dates));
  const uint64_t* valid = duckdb_vector_get_validity(dates);
  auto* out = static_cast<int32_t*>(duckdb_vector_get_data(output));
  uint64_t* out_valid = nullptr;
  for (idx_t row = 0; row < rows; ++row) {
    if (!RowValid(valid, row)) {
      SetNull(output, &out_valid, row);
      continue;
    }
    const int32_t d = in[row];
    // DuckDB's infinite dates are the extremes of int32.
    out[row] =
        (d == INT32_MAX || d == -INT32_MAX) ? d : static_cast<int32_t>(d - (DayOfMonth(d) - 1));
  }
}

// loom_keyed_permute: columns 0 and 1 the key's words, column 2 the BIGINT value. The rows of a
// run under the same key (the key is a constant of the mask expression: one run per chunk) are
// encrypted in one call, NULL rows included (their slots hold whatever the vector has; the
// output is NULL there).
void KeyedPermute(duckdb_function_info /*info*/, duckdb_data_chunk input, duckdb_vector output) {
  const idx_t rows = duckdb_data_chunk_get_size(input);
  duckdb_vector key_vectors[2] = {duckdb_data_chunk_get_vector(input, 0),
                                  duckdb_data_chunk_get_vector(input, 1)};
  const auto* high = static_cast<const uint64_t*>(duckdb_vector_get_data(key_vectors[0]));
  const auto* low = static_cast<const uint64_t*>(duckdb_vector_get_data(key_vectors[1]));
  duckdb_vector values = duckdb_data_chunk_get_vector(input, 2);
  const auto* in = static_cast<const uint64_t*>(duckdb_vector_get_data(values));
  auto* out = static_cast<uint64_t*>(duckdb_vector_get_data(output));
  uint64_t* out_valid = nullptr;
  const uint64_t* valid[3] = {duckdb_vector_get_validity(key_vectors[0]),
                              duckdb_vector_get_validity(key_vectors[1]),
                              duckdb_vector_get_validity(values)};
  idx_t start = 0;
  while (start < rows) {
    idx_t end = start + 1;
    while (end < rows && high[end] == high[start] && low[end] == low[start]) ++end;
    const Speck64 cipher(high[start], low[start]);
    cipher.Encrypt(in + start, out + start, end - start);
    start = end;
  }
  for (const uint64_t* v : valid) {
    if (v == nullptr) continue;
    for (idx_t row = 0; row < rows; ++row) {
      if (!RowValid(v, row)) SetNull(output, &out_valid, row);
    }
  }
}

// A logical type freed at scope end.
class LogicalType {
 public:
  explicit LogicalType(duckdb_type id) : type_(duckdb_create_logical_type(id)) {}
  ~LogicalType() { duckdb_destroy_logical_type(&type_); }
  LogicalType(const LogicalType&) = delete;
  LogicalType& operator=(const LogicalType&) = delete;
  duckdb_logical_type get() const { return type_; }

 private:
  duckdb_logical_type type_;
};

}  // namespace

Status RegisterMaskFunctions(duckdb_connection con) {
  LogicalType varchar(DUCKDB_TYPE_VARCHAR);
  LogicalType bigint(DUCKDB_TYPE_BIGINT);
  LogicalType ubigint(DUCKDB_TYPE_UBIGINT);
  LogicalType uuid(DUCKDB_TYPE_UUID);
  LogicalType date(DUCKDB_TYPE_DATE);
  auto add = [&](const char* name, std::initializer_list<const LogicalType*> parameters,
                 const LogicalType& result, duckdb_scalar_function_t function) {
    duckdb_scalar_function f = duckdb_create_scalar_function();
    duckdb_scalar_function_set_name(f, name);
    for (const LogicalType* p : parameters) duckdb_scalar_function_add_parameter(f, p->get());
    duckdb_scalar_function_set_return_type(f, result.get());
    duckdb_scalar_function_set_function(f, function);
    const bool ok = duckdb_register_scalar_function(con, f) == DuckDBSuccess;
    duckdb_destroy_scalar_function(&f);
    return ok;
  };
  const bool ok =
      add(kKeyedHashFunction, {&varchar, &varchar}, uuid, &KeyedHash) &&
      add(kKeyedPermuteFunction, {&ubigint, &ubigint, &bigint}, bigint, &KeyedPermute) &&
      add(kMonthStartFunction, {&date}, date, &MonthStart);
  if (!ok) return Internal("cannot register the SQL functions of masks");
  return Status::Ok();
}

}  // namespace loom::engine
