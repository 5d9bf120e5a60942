// JWT (compact JWS) verification with OpenSSL directly: only RS256 and ES256, only configured
// public keys, and the algorithm must match the key's type (RFC 8725, JWT best practices).

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include <nlohmann/json.hpp>

#include "security/crypto.h"
#include "security/security.h"

namespace loom::security {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

enum class KeyType : uint8_t { kRsa, kEcP256 };

struct LoadedKey {
  std::string kid;
  KeyType type = KeyType::kRsa;
  Pkey pkey;
};

constexpr size_t kMaxTokenBytes = 16 * 1024;

Result<LoadedKey> LoadKey(const JwtKey& key, size_t index) {
  const std::string where =
      "JWT key " + std::to_string(index) + (key.kid.empty() ? "" : " (kid '" + key.kid + "')");
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(key.pem.data(), static_cast<int>(key.pem.size())));
  if (!bio) return Internal(where + ": out of memory");
  Pkey pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) {
    return InvalidArgument(where + ": not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
  }
  LoadedKey out;
  out.kid = key.kid;
  switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey.get()) < 2048) {
        return InvalidArgument(where + ": RSA keys need at least 2048 bits");
      }
      out.type = KeyType::kRsa;
      break;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey.get(), group, sizeof(group), &len) != 1 ||
          std::string_view(group) != "prime256v1") {
        return InvalidArgument(where + ": EC keys must be on P-256 (ES256)");
      }
      out.type = KeyType::kEcP256;
      break;
    }
    default:
      return InvalidArgument(where + ": only RSA (RS256) and EC P-256 (ES256) keys are accepted");
  }
  out.pkey = std::move(pkey);
  return out;
}

bool VerifySignature(const LoadedKey& key, std::string_view input, std::string_view sig) {
  std::string der;
  if (key.type == KeyType::kEcP256) {
    // JWS carries r || s (32 bytes each); OpenSSL verifies DER.
    if (sig.size() != 64) return false;
    std::unique_ptr<ECDSA_SIG, SigFree> es(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
    BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
    if (!es || r == nullptr || s == nullptr || ECDSA_SIG_set0(es.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return false;
    }
    int len = i2d_ECDSA_SIG(es.get(), nullptr);
    if (len <= 0) return false;
    der.resize(static_cast<size_t>(len));
    auto p = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(es.get(), &p) != len) return false;
    sig = der;
  } else if (sig.size() != static_cast<size_t>(EVP_PKEY_get_size(key.pkey.get()))) {
    return false;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.pkey.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

std::optional<nlohmann::json> DecodeJsonPart(std::string_view part) {
  std::optional<std::string> bytes = internal::Base64UrlDecode(part);
  if (!bytes) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// A NumericDate claim in seconds; none if absent; kUnauthenticated if not a number.
Result<std::optional<double>> DateClaim(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>();
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    return Unauthenticated(std::string("JWT claim '") + name + "' is not a NumericDate");
  }
  return std::optional<double>(it->get<double>());
}

std::string FormatSeconds(double s) {
  return FormatRfc3339(static_cast<TimestampMicros>(std::floor(s)) * 1000000);
}

}  // namespace

struct JwtVerifier::Impl {
  JwtOptions options;
  std::vector<LoadedKey> keys;

  Result<const LoadedKey*> SelectKey(const nlohmann::json& header) const;
  Result<Identity> IdentityOf(const nlohmann::json& claims) const;
};

JwtVerifier::JwtVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JwtVerifier::~JwtVerifier() = default;

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(JwtOptions options) {
  if (options.issuer.empty()) return InvalidArgument("JWT: an issuer is required");
  if (options.audience.empty()) return InvalidArgument("JWT: an audience is required");
  if (options.keys.empty()) return InvalidArgument("JWT: at least one public key is required");
  if (options.clock == nullptr) options.clock = Clock::Real();
  for (const auto& [value, group] : options.group_map) {
    if (!spec::PrincipalProblem(group).empty() || !group.starts_with("group:")) {
      return InvalidArgument("JWT group map: '" + value + "' maps to '" + group +
                             "', which is not a group:NAME principal");
    }
  }
  auto impl = std::make_unique<Impl>();
  for (size_t i = 0; i < options.keys.size(); ++i) {
    LOOM_ASSIGN_OR_RETURN(LoadedKey key, LoadKey(options.keys[i], i));
    impl->keys.push_back(std::move(key));
  }
  impl->options = std::move(options);
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(impl)));
}

Result<const LoadedKey*> JwtVerifier::Impl::SelectKey(const nlohmann::json& header) const {
  auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) {
    return Unauthenticated("JWT header has no alg");
  }
  const std::string alg = alg_it->get<std::string>();
  if (alg != "RS256" && alg != "ES256") {
    return Unauthenticated("JWT alg '" + alg.substr(0, 16) +
                           "' is not accepted (only RS256 and ES256)");
  }
  if (header.contains("crit")) return Unauthenticated("JWT header 'crit' is not supported");
  const KeyType wanted = alg == "RS256" ? KeyType::kRsa : KeyType::kEcP256;
  const LoadedKey* key = nullptr;
  auto kid_it = header.find("kid");
  if (kid_it != header.end()) {
    if (!kid_it->is_string()) return Unauthenticated("JWT kid is not a string");
    const std::string kid = kid_it->get<std::string>();
    for (const LoadedKey& k : keys) {
      if (k.kid == kid) key = &k;
    }
    if (key == nullptr) {
      return Unauthenticated("JWT key id '" + kid.substr(0, 64) + "' is not configured");
    }
  } else {
    // Without a kid, only an unambiguous key of the right type is used.
    int candidates = 0;
    for (const LoadedKey& k : keys) {
      if (k.type == wanted) {
        key = &k;
        ++candidates;
      }
    }
    if (candidates != 1) {
      return Unauthenticated("JWT without kid: " + std::to_string(candidates) + " " + alg +
                             " keys are configured (exactly one is needed)");
    }
  }
  if (key->type != wanted) {
    return Unauthenticated("JWT alg " + alg + " does not match the type of key '" + key->kid + "'");
  }
  return key;
}

Result<Identity> JwtVerifier::Verify(std::string_view token) const {
  if (token.size() > kMaxTokenBytes) return Unauthenticated("JWT longer than 16 KiB");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Unauthenticated("not a signed JWT (expected header.payload.signature)");
  }
  std::optional<nlohmann::json> header = DecodeJsonPart(token.substr(0, dot1));
  if (!header) return Unauthenticated("JWT header is not base64url JSON");
  LOOM_ASSIGN_OR_RETURN(const LoadedKey* key, impl_->SelectKey(*header));
  std::optional<std::string> sig = internal::Base64UrlDecode(token.substr(dot2 + 1));
  if (!sig || !VerifySignature(*key, token.substr(0, dot2), *sig)) {
    return Unauthenticated("JWT signature does not verify");
  }
  std::optional<nlohmann::json> claims = DecodeJsonPart(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return Unauthenticated("JWT payload is not base64url JSON");
  return impl_->IdentityOf(*claims);
}

Result<Identity> JwtVerifier::Impl::IdentityOf(const nlohmann::json& claims) const {
  auto iss = claims.find("iss");
  if (iss == claims.end() || !iss->is_string() || iss->get<std::string>() != options.issuer) {
    return Unauthenticated("JWT issuer is not '" + options.issuer + "'");
  }
  bool aud_ok = false;
  if (auto aud = claims.find("aud"); aud != claims.end()) {
    if (aud->is_string()) aud_ok = aud->get<std::string>() == options.audience;
    if (aud->is_array()) {
      for (const auto& a : *aud) aud_ok = aud_ok || (a.is_string() && a == options.audience);
    }
  }
  if (!aud_ok) return Unauthenticated("JWT audience does not include '" + options.audience + "'");

  const double now = static_cast<double>(options.clock->NowMicros()) / 1e6;
  const double skew = static_cast<double>(options.clock_skew_seconds);
  LOOM_ASSIGN_OR_RETURN(std::optional<double> exp, DateClaim(claims, "exp"));
  LOOM_ASSIGN_OR_RETURN(std::optional<double> nbf, DateClaim(claims, "nbf"));
  LOOM_ASSIGN_OR_RETURN(std::optional<double> iat, DateClaim(claims, "iat"));
  if (!exp) return Unauthenticated("JWT has no exp claim (tokens must expire)");
  if (now >= *exp + skew) return Unauthenticated("JWT expired at " + FormatSeconds(*exp));
  if (nbf && now + skew < *nbf) {
    return Unauthenticated("JWT is not valid before " + FormatSeconds(*nbf));
  }
  if (iat && now + skew < *iat) {
    return Unauthenticated("JWT was issued in the future (" + FormatSeconds(*iat) + ")");
  }

  auto sub = claims.find(options.subject_claim);
  if (sub == claims.end() || !sub->is_string() || sub->get<std::string>().empty()) {
    return Unauthenticated("JWT has no string claim '" + options.subject_claim + "'");
  }
  std::string principal = sub->get<std::string>();
  if (!spec::PrincipalProblem(principal).empty()) principal = "user:" + principal;
  if (std::string problem = spec::PrincipalProblem(principal); !problem.empty()) {
    return Unauthenticated("JWT subject is not a usable principal: " + problem);
  }
  if (principal.starts_with("group:")) {
    return Unauthenticated("JWT subject may not be a group");
  }

  Identity id;
  id.principal = std::move(principal);
  id.method = AuthMethod::kJwt;
  if (auto jti = claims.find("jti"); jti != claims.end() && jti->is_string()) {
    id.credential_id = jti->get<std::string>().substr(0, 128);
  }
  auto add_group = [&](const std::string& value) {
    std::string group;
    if (options.group_map.empty()) {
      group = "group:" + value;
      if (!spec::PrincipalProblem(group).empty()) return;
    } else {
      for (const auto& [from, to] : options.group_map) {
        if (from == value) group = to;
      }
      if (group.empty()) return;
    }
    if (std::find(id.groups.begin(), id.groups.end(), group) == id.groups.end()) {
      id.groups.push_back(group);
    }
  };
  if (auto groups = claims.find(options.groups_claim); groups != claims.end()) {
    if (groups->is_string()) add_group(groups->get<std::string>());
    if (groups->is_array()) {
      for (const auto& g : *groups) {
        if (g.is_string()) add_group(g.get<std::string>());
      }
    }
  }
  std::sort(id.groups.begin(), id.groups.end());

  auto scope = claims.find(options.scope_claim);
  if (scope == claims.end()) {
    id.scopes = {std::string(kScopeAll)};
  } else if (scope->is_string()) {
    // Unknown OAuth scopes (openid, profile) are ignored; known ones cap what the token may do.
    const std::string text = scope->get<std::string>();
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = std::min(text.find(' ', start), text.size());
      std::string s = text.substr(start, end - start);
      if (!s.empty() && s != kScopeAll && ValidateScopes({s}).ok()) id.scopes.push_back(s);
      start = end + 1;
    }
  } else {
    return Unauthenticated("JWT claim '" + options.scope_claim + "' is not a string");
  }
  return id;
}

}  // namespace loom::security
