#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loom::log {

// CRC32C (Castagnoli, RFC 3720), unmasked, as used by the log format
// (docs/internals/log-format.md). Uses the SSE4.2 crc32 instruction when the CPU has it, a
// table otherwise. Thread-safe (pure functions).

// Extends `crc` (the CRC of some earlier bytes, 0 for none) by n more bytes.
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);
inline uint32_t Crc32c(const char* data, size_t n) { return Crc32cExtend(0, data, n); }
inline uint32_t Crc32c(std::string_view s) { return Crc32cExtend(0, s.data(), s.size()); }

// The two implementations, exposed for tests and benchmarks.
uint32_t Crc32cPortable(uint32_t crc, const char* data, size_t n);
// Only valid when Crc32cHardwareAvailable().
uint32_t Crc32cHardware(uint32_t crc, const char* data, size_t n);
bool Crc32cHardwareAvailable();

}  // namespace loom::log
