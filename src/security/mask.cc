// Mask expressions: DuckDB SQL that replaces a pii column for readers without unmask. The engine
// puts them inside the relation's view, below any SQL the user writes (docs/internals/engine.md).

#include <cstdint>
#include <string>
#include <utility>

#include "security/crypto.h"
#include "security/security.h"

namespace loom::security {
namespace {

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

bool IsKeyHex(std::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The keyed, stable digest of a value's text. `purpose` separates hash from tokenize, so that a
// token never equals a prefix of the hash of the same value.
std::string KeyedDigest(const std::string& col, const MaskKey& key, std::string_view purpose) {
  return "sha256('" + key.hex + ":" + std::string(purpose) + ":' || CAST(" + col + " AS VARCHAR))";
}

// The hash mask, under a key of its own derived from the mask key. A string: loom_keyed_hash,
// the engine's AES-128-CMAC (engine/keyed_hash.h) of its text, a UUID. An integer: a keyed
// permutation (engine/mask_functions.h), so hashed integer keys never collide and DuckDB still
// groups and joins them as one machine word: loom_keyed_permute32, an INTEGER, when every value
// is of int32 range (an int32 field, or a version whose statistics say so), else
// loom_keyed_permute, a BIGINT. The two agree on every value of int32 range, so int32 and int64
// keys still join with each other. The INTEGER tells a reader only what its values show anyway:
// that the raw values are of int32 range.
MaskedColumn KeyedHash(const spec::Field& field, const std::string& col, const MaskKey& key,
                       ValueRange range) {
  const bool int32 = field.type.kind == spec::TypeKind::kInt32;
  if (int32 || field.type.kind == spec::TypeKind::kInt64) {
    // The first 16 bytes of HMAC-SHA-256(mask key, "loom-mask:hash-int64"), as two big-endian
    // words.
    const std::string k = internal::HmacSha256(key.hex, "loom-mask:hash-int64");
    uint64_t words[2] = {};
    for (size_t i = 0; i < 16; ++i) {
      words[i / 8] = (words[i / 8] << 8) | static_cast<unsigned char>(k[i]);
    }
    const std::string args =
        std::to_string(words[0]) + "::UBIGINT, " + std::to_string(words[1]) + "::UBIGINT, ";
    if (int32 || range == ValueRange::kInt32) {
      // TRY_CAST: a cast error would name the value.
      return MaskedColumn{"loom_keyed_permute32(" + args + "TRY_CAST(" + col + " AS INTEGER))",
                          "INTEGER"};
    }
    return MaskedColumn{"loom_keyed_permute(" + args + "CAST(" + col + " AS BIGINT))", "BIGINT"};
  }
  const std::string hash_key =
      internal::Hex(internal::HmacSha256(key.hex, "loom-mask:hash")).substr(0, 32);
  return MaskedColumn{"loom_keyed_hash('" + hash_key + "', CAST(" + col + " AS VARCHAR))", "UUID"};
}

Result<MaskedColumn> Truncate(const spec::Field& field, const std::string& col,
                              const std::string& type) {
  switch (field.type.kind) {
    case spec::TypeKind::kDate:
      // The engine's loom_month_start (engine/mask_functions.h): date_trunc's result without its
      // round trip through TIMESTAMP.
      return MaskedColumn{"loom_month_start(" + col + ")", type};
    case spec::TypeKind::kTimestamp:
      return MaskedColumn{"CAST(date_trunc('month', " + col + ") AS " + type + ")", type};
    case spec::TypeKind::kInt32:
    case spec::TypeKind::kInt64:
      // Integer division rounds toward zero and can never overflow, so no error can name a value.
      return MaskedColumn{"((" + col + " // 10) * 10)", type};
    case spec::TypeKind::kDouble:
      return MaskedColumn{"(trunc(" + col + " / 10) * 10)", type};
    case spec::TypeKind::kDecimal:
      // Decimal arithmetic (x * 0.1 stays DECIMAL): exact, and |result| <= |x| always fits.
      return MaskedColumn{"CAST(trunc(" + col + " * 0.1) * 10 AS " + type + ")", type};
    case spec::TypeKind::kString:
      return MaskedColumn{"left(" + col + ", 3)", type};
    default:
      return InvalidArgument("field '" + field.name + "': mask truncate does not apply to type " +
                             field.type.ToString() + " (use redact, hash, tokenize or null)");
  }
}

}  // namespace

Result<MaskedColumn> MaskColumn(const spec::Field& field, const MaskKey& key, ValueRange range) {
  const std::string type = field.type.SqlType();
  if (!field.pii) return MaskedColumn{"", type};
  const std::string col = QuoteIdent(field.name);
  spec::MaskMethod method =
      field.mask == spec::MaskMethod::kNone ? spec::MaskMethod::kRedact : field.mask;
  if ((method == spec::MaskMethod::kHash || method == spec::MaskMethod::kTokenize) &&
      !IsKeyHex(key.hex)) {
    return InvalidArgument("mask key must be 64 lowercase hex digits");
  }
  switch (method) {
    case spec::MaskMethod::kNone:
    case spec::MaskMethod::kRedact:
      return MaskedColumn{"CASE WHEN " + col + " IS NULL THEN NULL ELSE '***' END", "VARCHAR"};
    case spec::MaskMethod::kHash:
      return KeyedHash(field, col, key, range);
    case spec::MaskMethod::kTokenize:
      return MaskedColumn{"('tok_' || left(" + KeyedDigest(col, key, "token") + ", 16))",
                          "VARCHAR"};
    case spec::MaskMethod::kTruncate:
      return Truncate(field, col, type);
    case spec::MaskMethod::kNull:
      return MaskedColumn{"CAST(NULL AS " + type + ")", type};
  }
  return Internal("unknown mask method");
}

}  // namespace loom::security
