#pragma once

// Shared helpers for Loom's tests: temporary directories, the loom binary, running commands.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace loom::testing {

// A fresh empty directory under $LOOM_TEST_TMP (or /tmp), removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The repository root and the built loom binary.
std::string SourceDir();
std::string LoomBinary();

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs argv (no shell) with optional stdin text; waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "");

// Writes a file, creating parent directories.
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// A free TCP port on 127.0.0.1.
int FreePort();

// OpenSSL's AES-128-CMAC (RFC 4493) of `data` under the 16-byte `key`: 16 raw bytes. The
// reference the keyed-hash mask is checked against; fails the test on an OpenSSL error.
std::string AesCmac(const std::string& key, const std::string& data);

// Speck64/128 (Beaulieu et al. 2013) of one 64-bit block (x, y) = (block >> 32, low word) under
// the key (key_high, key_low) = (l2 l1, l0 k0) as the paper writes it, written out plainly (no
// vectors, no batching): the reference the integer hash mask is checked against.
uint64_t Speck64(uint64_t key_high, uint64_t key_low, uint64_t block);

// Speck32's 22 rounds of one 32-bit block (x, y) = (block >> 16, low half) under the given
// round keys, written out plainly; and the round keys the engine derives from a 128-bit key
// (HMAC-SHA-256 of the labels "loom-speck32-1" and "-2" under its 16 big-endian bytes), made
// with OpenSSL's HMAC here.
uint32_t Speck32(const std::array<uint16_t, 22>& round_keys, uint32_t block);
std::array<uint16_t, 22> Speck32RoundKeys(uint64_t key_high, uint64_t key_low);

// The integer hash mask (loom_keyed_permute) written out plainly: Speck32 of a value of int32
// range, else Speck64/128 repeated until the result is out of int32 range.
int64_t KeyedPermute(uint64_t key_high, uint64_t key_low, int64_t value);

}  // namespace loom::testing
