#include "engine/mask_functions.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <climits>
#include <cstring>
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

// The 8 decimal digits of x < 10^8, leading zeros kept, as ASCII in memory order on a
// little-endian machine: halves, then quarters, then digits split in parallel lanes of one word,
// dividing by multiplication (x * 10486 >> 20 is x / 100 below 10^4, x * 103 >> 10 is x / 10
// below 100).
uint64_t Digits8(uint32_t x) {
  uint64_t v = (x / 10000) | (uint64_t{x % 10000} << 32);
  uint64_t h = ((v * 10486) >> 20) & 0x0000007F0000007FULL;
  v = h | ((v - h * 100) << 16);
  h = ((v * 103) >> 10) & 0x000F000F000F000FULL;
  v = h | ((v - h * 10) << 8);
  return v + 0x3030303030303030ULL;
}

// CMAC's padded block of v's decimal text (CAST(v AS VARCHAR)): the text, then 0x80 and zeros if
// shorter than 16 bytes, as two words in memory order (`words`), and the text's length in
// `size`. False where the text does not fit in one block (v <= -10^15 or v >= 10^16) or on a
// big-endian machine. All in registers: no bytes stored and reloaded at another offset.
bool DecimalBlock(int64_t v, uint64_t* words, size_t* size) {
  if constexpr (std::endian::native != std::endian::little) return false;
  const bool negative = v < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  if (magnitude >= (negative ? 1'000'000'000'000'000ULL : 10'000'000'000'000'000ULL)) return false;
  // 16 digits with leading zeros (high, low), then the padding byte 0x80: the block is the 16
  // bytes from the first significant digit, or the sign before it.
  constexpr uint64_t kZeros = 0x3030303030303030ULL;
  uint64_t high = kZeros;
  uint64_t low;
  if (magnitude < 100'000'000) {  // most ids
    low = Digits8(static_cast<uint32_t>(magnitude));
  } else {
    high = Digits8(static_cast<uint32_t>(magnitude / 100'000'000));
    low = Digits8(static_cast<uint32_t>(magnitude % 100'000'000));
  }
  constexpr uint64_t kPad = 0x80;
  unsigned start = 15;  // "0" keeps one digit
  if ((high ^ kZeros) != 0) {
    start = static_cast<unsigned>(std::countr_zero(high ^ kZeros)) / 8;
  } else if ((low ^ kZeros) != 0) {
    start = 8 + static_cast<unsigned>(std::countr_zero(low ^ kZeros)) / 8;
  }
  if (negative) {
    --start;  // a leading zero becomes the sign (the magnitude has at most 15 digits)
    uint64_t& word = start < 8 ? high : low;
    const unsigned shift = 8 * (start % 8);
    word = (word & ~(uint64_t{0xFF} << shift)) | (uint64_t{'-'} << shift);
  }
  if (start == 0) {
    words[0] = high;
    words[1] = low;
  } else if (start < 8) {
    const unsigned s = 8 * start;
    words[0] = (high >> s) | (low << (64 - s));
    words[1] = (low >> s) | (kPad << (64 - s));
  } else if (start == 8) {
    words[0] = low;
    words[1] = kPad;
  } else {
    const unsigned s = 8 * (start - 8);
    words[0] = (low >> s) | (kPad << (64 - s));
    words[1] = 0;
  }
  *size = 16 - start;
  return true;
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

// The rows of a chunk waiting in a CmacBatch, and the decimal texts of BIGINT values (which
// the batch reads until Finish).
struct PendingRows {
  idx_t row[CmacBatch::kCapacity];
  char text[CmacBatch::kCapacity][24];
};

// One chunk: column 0 the key, column 1 the value (VARCHAR or BIGINT, per `bigint`). The C API
// hands scalar functions flat vectors.
void KeyedHash(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output,
               bool bigint) {
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
    if (bigint) {
      const int64_t v = static_cast<const int64_t*>(value_data)[row];
      uint64_t words[2];
      size_t size = 0;
      if (DecimalBlock(v, words, &size)) {
        batch->AddPadded(words[0], words[1], size);
      } else {
        char* text = pending->text[slot];
        auto [end, ec] = std::to_chars(text, text + sizeof pending->text[slot], v);
        (void)ec;  // 20 characters at most: cannot fail
        batch->Add(reinterpret_cast<const uint8_t*>(text), static_cast<size_t>(end - text));
      }
    } else {
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

void KeyedHashText(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
  KeyedHash(info, input, output, /*bigint=*/false);
}

void KeyedHashBigint(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output) {
  KeyedHash(info, input, output, /*bigint=*/true);
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
  duckdb_scalar_function_set set = duckdb_create_scalar_function_set(kKeyedHashFunction);
  LogicalType varchar(DUCKDB_TYPE_VARCHAR);
  LogicalType bigint(DUCKDB_TYPE_BIGINT);
  LogicalType uuid(DUCKDB_TYPE_UUID);
  LogicalType date(DUCKDB_TYPE_DATE);
  bool ok = true;
  for (bool is_bigint : {false, true}) {
    duckdb_scalar_function f = duckdb_create_scalar_function();
    duckdb_scalar_function_set_name(f, kKeyedHashFunction);
    duckdb_scalar_function_add_parameter(f, varchar.get());
    duckdb_scalar_function_add_parameter(f, is_bigint ? bigint.get() : varchar.get());
    duckdb_scalar_function_set_return_type(f, uuid.get());
    duckdb_scalar_function_set_function(f, is_bigint ? &KeyedHashBigint : &KeyedHashText);
    ok = ok && duckdb_add_scalar_function_to_set(set, f) == DuckDBSuccess;
    duckdb_destroy_scalar_function(&f);
  }
  ok = ok && duckdb_register_scalar_function_set(con, set) == DuckDBSuccess;
  duckdb_destroy_scalar_function_set(&set);

  duckdb_scalar_function month = duckdb_create_scalar_function();
  duckdb_scalar_function_set_name(month, kMonthStartFunction);
  duckdb_scalar_function_add_parameter(month, date.get());
  duckdb_scalar_function_set_return_type(month, date.get());
  duckdb_scalar_function_set_function(month, &MonthStart);
  ok = ok && duckdb_register_scalar_function(con, month) == DuckDBSuccess;
  duckdb_destroy_scalar_function(&month);
  if (!ok) return Internal("cannot register the SQL functions of masks");
  return Status::Ok();
}

}  // namespace loom::engine
