#include "engine/mask_functions.h"

#include <bit>
#include <charconv>
#include <climits>
#include <cstring>

namespace loom::engine {
namespace {

uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return std::endian::native == std::endian::little ? v : __builtin_bswap64(v);
}

void StoreLe64(uint64_t v, uint8_t* p) {
  if constexpr (std::endian::native != std::endian::little) v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }
  void Compress(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

struct Key {
  uint64_t k0 = 0, k1 = 0;
};

Key KeyOf(const std::array<uint8_t, 16>& key) {
  return {LoadLe64(key.data()), LoadLe64(key.data() + 8)};
}

// SipHash-2-4 with 128-bit output (the reference implementation's "siphash128" variant): its 16
// output bytes are h[0] then h[1], each little-endian.
struct Sip {
  uint64_t h[2];
};

Sip Sip128(Key key, const uint8_t* data, size_t size) {
  SipState s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
             key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  s.v1 ^= 0xee;
  const size_t whole = size - size % 8;
  for (size_t i = 0; i < whole; i += 8) s.Compress(LoadLe64(data + i));
  uint8_t tail[8] = {};
  if (size % 8 != 0) std::memcpy(tail, data + whole, size % 8);
  s.Compress(LoadLe64(tail) | (static_cast<uint64_t>(size) << 56));
  s.v2 ^= 0xee;
  for (int i = 0; i < 4; ++i) s.Round();
  Sip out;
  out.h[0] = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
  s.v1 ^= 0xdd;
  for (int i = 0; i < 4; ++i) s.Round();
  out.h[1] = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseKey(std::string_view hex, Key* key) {
  if (hex.size() != 32) return false;
  std::array<uint8_t, 16> bytes{};
  for (size_t i = 0; i < 16; ++i) {
    const int hi = HexDigit(hex[2 * i]);
    const int lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  *key = KeyOf(bytes);
  return true;
}

std::string_view View(duckdb_string_t& s) {
  return {duckdb_string_t_data(&s), duckdb_string_t_length(s)};
}

// The UUID whose 16 bytes, as written, are SipHash's output bytes. DuckDB keeps a UUID as a
// 128-bit integer whose upper half has its top bit flipped (so that signed order is the text's
// order); the text shows the halves big-endian.
duckdb_hugeint AsUuid(const Sip& sip) {
  uint8_t bytes[16];
  StoreLe64(sip.h[0], bytes);
  StoreLe64(sip.h[1], bytes + 8);
  uint64_t upper;
  uint64_t lower;
  std::memcpy(&upper, bytes, 8);
  std::memcpy(&lower, bytes + 8, 8);
  if constexpr (std::endian::native == std::endian::little) {
    upper = __builtin_bswap64(upper);
    lower = __builtin_bswap64(lower);
  }
  duckdb_hugeint h;
  h.lower = lower;
  h.upper = static_cast<int64_t>(upper ^ (uint64_t{1} << 63));
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

  // The key is a constant of the mask expression: a flattened constant repeats the same 16-byte
  // string header in every row, so it is parsed again only where the header differs.
  duckdb_string_t last_header{};
  bool have_key = false;
  Key key;
  for (idx_t row = 0; row < rows; ++row) {
    if (!RowValid(key_valid, row) || !RowValid(value_valid, row)) {
      SetNull(output, &out_valid, row);
      continue;
    }
    if (!have_key || std::memcmp(&key_data[row], &last_header, sizeof last_header) != 0) {
      if (!ParseKey(View(key_data[row]), &key)) {
        duckdb_scalar_function_set_error(info, "loom_keyed_hash: the key must be 32 hex digits");
        return;
      }
      std::memcpy(&last_header, &key_data[row], sizeof last_header);
      have_key = true;
    }
    Sip digest;
    if (bigint) {
      char text[24];
      const int64_t v = static_cast<const int64_t*>(value_data)[row];
      auto [end, ec] = std::to_chars(text, text + sizeof text, v);
      (void)ec;  // 20 characters at most: cannot fail
      digest = Sip128(key, reinterpret_cast<const uint8_t*>(text), static_cast<size_t>(end - text));
    } else {
      std::string_view v = View(static_cast<duckdb_string_t*>(value_data)[row]);
      digest = Sip128(key, reinterpret_cast<const uint8_t*>(v.data()), v.size());
    }
    out[row] = AsUuid(digest);
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

std::array<uint8_t, 16> SipHash128(const std::array<uint8_t, 16>& key, std::string_view data) {
  const Sip sip = Sip128(KeyOf(key), reinterpret_cast<const uint8_t*>(data.data()), data.size());
  std::array<uint8_t, 16> out{};
  StoreLe64(sip.h[0], out.data());
  StoreLe64(sip.h[1], out.data() + 8);
  return out;
}

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
