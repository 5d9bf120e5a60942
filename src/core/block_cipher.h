#pragma once

// The cipher interface of data at rest. log/, table/ and engine/ encrypt through it without
// depending on security/, which implements it (security::Cipher: AES-256-GCM with one
// product's data key, envelope-wrapped by the master key). Formats of what is sealed:
// docs/internals/log-format.md ("Encryption") and docs/internals/security.md.

#include <string>
#include <string_view>

#include "core/status.h"

namespace loom {

// Authenticated encryption with one key. Implementations are immutable and thread-safe; the
// users (a Log, a Table, a StreamTier) hold a non-owning pointer that must outlive them.
class BlockCipher {
 public:
  virtual ~BlockCipher() = default;

  // Bytes Seal adds to a plaintext (nonce, tag, format byte).
  virtual size_t overhead() const = 0;
  // Encrypts `plaintext`, authenticating `aad` too (the aad is not stored: Open must be given
  // the same). kInternal when the crypto library fails.
  virtual Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const = 0;
  // kDataLoss when authentication fails (wrong key, another aad, altered bytes); the message
  // never holds plaintext.
  virtual Result<std::string> Open(std::string_view sealed, std::string_view aad) const = 0;
  // A 32-byte key derived from this one for `purpose` (HMAC-SHA-256(key, purpose)), for an
  // engine that encrypts on its own (DuckDB's Parquet encryption), so it never holds the key
  // itself.
  virtual std::string DeriveKey(std::string_view purpose) const = 0;
};

}  // namespace loom
