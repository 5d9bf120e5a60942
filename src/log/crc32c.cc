#include "log/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace loom::log {
namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // Castagnoli, reflected

// Slicing-by-8 tables: table[k][b] is the CRC of byte b followed by k zero bytes.
constexpr std::array<std::array<uint32_t, 256>, 8> MakeTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][b] = c;
  }
  for (int k = 1; k < 8; ++k) {
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}
constexpr auto kTables = MakeTables();

}  // namespace

uint32_t Crc32cPortable(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);  // little-endian host assumed (x86-64, aarch64)
    w ^= c;
    c = kTables[7][w & 0xFF] ^ kTables[6][(w >> 8) & 0xFF] ^ kTables[5][(w >> 16) & 0xFF] ^
        kTables[4][(w >> 24) & 0xFF] ^ kTables[3][(w >> 32) & 0xFF] ^ kTables[2][(w >> 40) & 0xFF] ^
        kTables[1][(w >> 48) & 0xFF] ^ kTables[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFF];
  return ~c;
}

// Multiplies a and b modulo the polynomial (reflected, as zlib's multmodp).
static uint32_t MultModP(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return p;
}

// x^(8n) modulo the polynomial: the operator that moves a CRC past n zero bytes.
static uint32_t ShiftOperator(size_t n) {
  uint32_t x2k[64];   // x^(2^k)
  x2k[0] = 1u << 30;  // x^1
  for (int k = 1; k < 64; ++k) x2k[k] = MultModP(x2k[k - 1], x2k[k - 1]);
  uint32_t p = 1u << 31;  // x^0
  for (int k = 3; n != 0; n >>= 1, ++k)
    if (n & 1) p = MultModP(x2k[k], p);
  return p;
}

#if defined(__x86_64__)
namespace {
// The hardware loop runs three independent streams of kStride bytes at once (the crc32
// instruction has a latency of 3 cycles and a throughput of 1), then joins them:
// crc(A B) = crc(A) * x^(8|B|) + crc(B), as zlib's crc32_combine.
constexpr size_t kStride = 4096;

__attribute__((target("sse4.2"))) uint64_t Crc32cRun(uint64_t c, const char* p, size_t n) {
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*p++));
  return c32;
}
}  // namespace

__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t crc, const char* data,
                                                          size_t n) {
  static const uint32_t kShiftStride = ShiftOperator(kStride);
  const char* p = data;
  uint64_t c = ~crc & 0xFFFFFFFFu;
  while (n >= 3 * kStride) {
    uint64_t c1 = 0xFFFFFFFFu, c2 = 0xFFFFFFFFu;
    for (size_t i = 0; i < kStride; i += 8) {
      uint64_t w0, w1, w2;
      std::memcpy(&w0, p + i, 8);
      std::memcpy(&w1, p + kStride + i, 8);
      std::memcpy(&w2, p + 2 * kStride + i, 8);
      c = _mm_crc32_u64(c, w0);
      c1 = _mm_crc32_u64(c1, w1);
      c2 = _mm_crc32_u64(c2, w2);
    }
    // Standard (inverted) CRCs of the three parts, joined.
    uint32_t a = ~static_cast<uint32_t>(c), b = ~static_cast<uint32_t>(c1),
             d = ~static_cast<uint32_t>(c2);
    uint32_t joined = MultModP(kShiftStride, MultModP(kShiftStride, a) ^ b) ^ d;
    c = ~joined;
    p += 3 * kStride;
    n -= 3 * kStride;
  }
  return ~static_cast<uint32_t>(Crc32cRun(c, p, n));
}
bool Crc32cHardwareAvailable() {
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
}
#else
uint32_t Crc32cHardware(uint32_t crc, const char* data, size_t n) {
  return Crc32cPortable(crc, data, n);
}
bool Crc32cHardwareAvailable() { return false; }
#endif

uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n) {
  return Crc32cHardwareAvailable() ? Crc32cHardware(crc, data, n) : Crc32cPortable(crc, data, n);
}

}  // namespace loom::log
