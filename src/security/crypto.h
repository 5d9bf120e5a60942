#pragma once

// OpenSSL helpers private to security/: randomness, hex, base64url, HMAC, SHA-256 and
// AES-256-GCM on byte strings. Free functions without shared state: thread-safe.

#include <optional>
#include <string>
#include <string_view>

#include "core/core.h"

namespace loom::security::internal {

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes); aborts through LOOM_CHECK if it fails.
std::string RandomBytes(size_t n);
std::string Hex(std::string_view bytes);
// Lowercase or uppercase hex; none for odd length or a non-hex digit.
std::optional<std::string> Unhex(std::string_view hex);
// RFC 4648 base64url without padding; none for padding, other characters or a bad length.
std::optional<std::string> Base64UrlDecode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Sha256(std::string_view data);                            // raw 32 bytes
// Constant-time comparison of two byte strings of equal length (false for unequal lengths).
bool ConstantTimeEqual(std::string_view a, std::string_view b);
// Overwrites a string's bytes with zeros (OPENSSL_cleanse).
void Wipe(std::string& s);

// AES-256-GCM with a 32-byte key and a 12-byte nonce: ciphertext || 16-byte tag.
Result<std::string> AesGcmSeal(std::string_view key, std::string_view nonce,
                               std::string_view plaintext, std::string_view aad);
// kDataLoss when the tag does not verify.
Result<std::string> AesGcmOpen(std::string_view key, std::string_view nonce,
                               std::string_view sealed, std::string_view aad);

}  // namespace loom::security::internal
