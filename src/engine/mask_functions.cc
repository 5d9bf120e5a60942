#include "engine/mask_functions.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <vector>

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

// The Speck32 of a key, made once per thread and key: deriving its round keys costs two HMACs,
// more than a chunk of rows takes to encrypt.
const Speck32& Speck32Of(uint64_t high, uint64_t low) {
  struct Cached {
    uint64_t high = 0, low = 0;
    std::unique_ptr<Speck32> cipher;
  };
  thread_local Cached cached;
  if (cached.cipher == nullptr || cached.high != high || cached.low != low) {
    cached.cipher = std::make_unique<Speck32>(Speck32::DeriveRoundKeys(high, low));
    cached.high = high;
    cached.low = low;
  }
  return *cached.cipher;
}

bool FitsInt32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

// Columns 0 and 1 of a loom_keyed_permute* call are the key's words, column 2 the value. Calls
// `encrypt(high, low, start, end)` for each run of rows under the same key (the key is a
// constant of the mask expression: one run per chunk), NULL rows included (their slots hold
// whatever the vector has), then makes the output NULL where the key or the value is.
template <typename Encrypt>
void ForEachKeyRun(duckdb_data_chunk input, duckdb_vector output, Encrypt encrypt) {
  const idx_t rows = duckdb_data_chunk_get_size(input);
  duckdb_vector vectors[3] = {duckdb_data_chunk_get_vector(input, 0),
                              duckdb_data_chunk_get_vector(input, 1),
                              duckdb_data_chunk_get_vector(input, 2)};
  const auto* high = static_cast<const uint64_t*>(duckdb_vector_get_data(vectors[0]));
  const auto* low = static_cast<const uint64_t*>(duckdb_vector_get_data(vectors[1]));
  idx_t start = 0;
  while (start < rows) {
    idx_t end = start + 1;
    while (end < rows && high[end] == high[start] && low[end] == low[start]) ++end;
    encrypt(high[start], low[start], start, end);
    start = end;
  }
  uint64_t* out_valid = nullptr;
  for (duckdb_vector v : vectors) {
    const uint64_t* valid = duckdb_vector_get_validity(v);
    if (valid == nullptr) continue;
    for (idx_t row = 0; row < rows; ++row) {
      if (!RowValid(valid, row)) SetNull(output, &out_valid, row);
    }
  }
}

// loom_keyed_permute(high, low, BIGINT): a value of int32 range goes through Speck32 of its 32
// bits (so it equals loom_keyed_permute32 of the same value, and stays in int32 range); any
// other through Speck64/128 of its 64 bits, repeated while the result is of int32 range (cycle
// walking: this maps the values outside int32 range one-to-one onto themselves, so the whole is
// still a permutation of BIGINT).
void KeyedPermute(duckdb_function_info /*info*/, duckdb_data_chunk input, duckdb_vector output) {
  const auto* in =
      static_cast<const int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(input, 2)));
  auto* out = static_cast<int64_t*>(duckdb_vector_get_data(output));
  ForEachKeyRun(input, output, [&](uint64_t high, uint64_t low, idx_t start, idx_t end) {
    const size_t n = end - start;
    thread_local std::vector<uint32_t> narrow;
    narrow.resize(n);
    bool wide = false;
    for (size_t i = 0; i < n; ++i) {
      narrow[i] = static_cast<uint32_t>(in[start + i]);
      wide = wide || !FitsInt32(in[start + i]);
    }
    Speck32Of(high, low).Encrypt(narrow.data(), narrow.data(), n);
    if (wide) {
      const Speck64 cipher(high, low);
      auto* blocks = reinterpret_cast<uint64_t*>(out + start);
      cipher.Encrypt(reinterpret_cast<const uint64_t*>(in + start), blocks, n);
      for (size_t i = 0; i < n; ++i) {
        if (FitsInt32(in[start + i])) continue;
        while (FitsInt32(static_cast<int64_t>(blocks[i])))
          cipher.Encrypt(&blocks[i], &blocks[i], 1);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (FitsInt32(in[start + i])) out[start + i] = static_cast<int32_t>(narrow[i]);
    }
  });
}

// loom_keyed_permute32(high, low, INTEGER): Speck32 of the value's 32 bits, an INTEGER.
void KeyedPermute32(duckdb_function_info /*info*/, duckdb_data_chunk input, duckdb_vector output) {
  const auto* in =
      static_cast<const uint32_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(input, 2)));
  auto* out = static_cast<uint32_t*>(duckdb_vector_get_data(output));
  ForEachKeyRun(input, output, [&](uint64_t high, uint64_t low, idx_t start, idx_t end) {
    Speck32Of(high, low).Encrypt(in + start, out + start, end - start);
  });
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
  LogicalType integer(DUCKDB_TYPE_INTEGER);
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
      add(kKeyedPermute32Function, {&ubigint, &ubigint, &integer}, integer, &KeyedPermute32) &&
      add(kMonthStartFunction, {&date}, date, &MonthStart);
  if (!ok) return Internal("cannot register the SQL functions of masks");
  return Status::Ok();
}

}  // namespace loom::engine
