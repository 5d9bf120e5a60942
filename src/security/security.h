#pragma once

// security/: who acts (principals, API tokens, JWTs), what they may do (grants, the Authorizer),
// what they may see (masks of pii fields, row filters), what they did (the tamper-evident audit
// chain) and data at rest (envelope encryption with AES-256-GCM).
//
// The platform owns every object here and calls them on every path (CLI, HTTP, SQL, streams):
// docs/internals/security.md says how, docs/security.md is the user guide. On-disk formats
// (security.db tables, the audit chain, the ciphertext layout) are in docs/internals/security.md.
//
// Error codes: kInvalidArgument (bad principal, token text, grant or mask request),
// kUnauthenticated (a credential that is missing, malformed, forged, expired, not yet valid or
// revoked), kPermissionDenied (authenticated but not allowed; a master key that does not match),
// kNotFound (no such token or grant; a product the caller may not see, see NotVisible),
// kFailedPrecondition (no master key configured), kDataLoss (ciphertext that fails
// authentication, a broken audit chain), kUnavailable/kInternal (SQLite or OpenSSL failures).
// Nothing throws.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "spec/spec.h"

namespace loom::security {

// ---------------------------------------------------------------------------------------------
// Principals and identities (principal.cc)

enum class PrincipalKind : uint8_t { kUser, kGroup, kService };

// `user:NAME`, `group:NAME` or `service:NAME` (NAME: 1-128 of letters, digits, - _ . @).
// Value type.
struct Principal {
  PrincipalKind kind = PrincipalKind::kUser;
  std::string name;
  // kInvalidArgument with spec::PrincipalProblem's text.
  static Result<Principal> Parse(std::string_view text);
  std::string ToString() const;  // "user:alice"
  bool operator==(const Principal&) const = default;
};

enum class AuthMethod : uint8_t {
  kLocalAdministrator,  // embedded mode without --as
  kLocalAs,             // embedded mode with --as PRINCIPAL (no credential: a local trust)
  kApiToken,            // `loom token` secret
  kJwt,                 // a JWT of the configured OIDC identity provider
};
std::string_view ToString(AuthMethod method);  // local-admin | local-as | token | jwt

// Scopes limit what a credential may do, on top of the principal's grants. "*" = all.
inline constexpr std::string_view kScopeAll = "*";
inline constexpr std::string_view kScopeRead = "read";      // read, query, scan, tail, sample
inline constexpr std::string_view kScopeWrite = "write";    // ingest, publish
inline constexpr std::string_view kScopeUnmask = "unmask";  // see pii in the clear
inline constexpr std::string_view kScopeManage = "manage";  // grant/revoke, apply
// kInvalidArgument unless every scope is one of the above.
Status ValidateScopes(const std::vector<std::string>& scopes);

// Who is acting, after authentication. Value type; build one per request or session.
struct Identity {
  std::string principal;            // "user:alice"
  std::vector<std::string> groups;  // "group:analysts", ... (from the store or the JWT)
  std::vector<std::string> scopes;  // see kScope*; {"*"} for local identities
  AuthMethod method = AuthMethod::kLocalAs;
  bool administrator = false;  // only LocalAdministrator(): every check passes
  std::string credential_id;   // token id or JWT `jti`, for audit; "" for local identities

  // Embedded mode without --as. `name` must be a legal principal name (e.g. $USER); an illegal
  // one falls back to "local".
  static Identity LocalAdministrator(std::string_view name = "local");
  // Embedded mode with --as PRINCIPAL; pass the principal's groups from Store::GroupsOf.
  // kInvalidArgument for a bad principal.
  static Result<Identity> LocalAs(std::string_view principal, std::vector<std::string> groups);

  bool HasScope(std::string_view scope) const;
  // True if `principal` is this identity's principal or one of its groups.
  bool Is(std::string_view principal) const;
};

// ---------------------------------------------------------------------------------------------
// security.db: API tokens, group membership and `loom grant` grants (store.cc)

struct TokenOptions {
  std::string principal;                      // who the token acts as (user: or service:)
  std::vector<std::string> scopes;            // at least one, see kScope*
  std::optional<TimestampMicros> expires_at;  // none: never (discouraged; the CLI sets 90d)
  std::string description;
  std::string created_by;  // the principal creating it, for the record
};

// A created token: `secret` is shown once and never stored ("loom_<id>_<64 hex digits>").
struct NewToken {
  std::string id;  // 16 hex digits, public (lists, revoke, audit)
  std::string secret;
  TimestampMicros expires_at = 0;  // 0: never
};

// A token as listed: never the secret.
struct TokenInfo {
  std::string id;
  std::string principal;
  std::vector<std::string> scopes;
  std::string description;
  std::string created_by;
  TimestampMicros created_at = 0;
  TimestampMicros expires_at = 0;             // 0: never
  std::optional<TimestampMicros> revoked_at;  // set once revoked
};

// A grant made by `loom grant` (or the API), with who made it and when.
struct StoredGrant {
  int64_t id = 0;
  spec::Grant grant;
  std::string granted_by;
  TimestampMicros granted_at = 0;
};

struct StoreOptions {
  std::string path;              // e.g. <data>/security.db; created if missing
  Clock* clock = Clock::Real();  // not owned; must outlive the Store
};

// The module's SQLite store (WAL, synchronous=FULL). Tokens are kept only as
// HMAC-SHA-256(per-token 128-bit salt, secret); verification compares in constant time.
// Thread-safe (a mutex serialises the connection); several processes may share the file.
class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // kInvalidArgument for a bad principal (groups cannot hold tokens), scope or past expiry.
  Result<NewToken> CreateToken(const TokenOptions& options);
  // Tokens of `principal`, or all when empty, newest first.
  Result<std::vector<TokenInfo>> ListTokens(std::string_view principal = "");
  // kNotFound for an unknown id; revoking twice is OK.
  Status RevokeToken(std::string_view id);
  // The identity a token secret stands for (method kApiToken, the token's scopes, the
  // principal's groups). kUnauthenticated for anything that is not a live token of this store:
  // malformed, unknown id, wrong secret ("invalid API token", same text for all three), revoked,
  // expired.
  Result<Identity> VerifyToken(std::string_view secret);

  // Group membership: `member` (any principal) belongs to `group` (group:NAME).
  Status AddMember(std::string_view group, std::string_view member, std::string_view added_by);
  Status RemoveMember(std::string_view group, std::string_view member);  // kNotFound if absent
  // Every group `principal` belongs to, directly or through other groups, sorted.
  Result<std::vector<std::string>> GroupsOf(std::string_view principal);

  // Persists a grant after the caller passed Authorizer::CheckGrantChange. kInvalidArgument for
  // a malformed grant (bad principal, no domain, neither role nor permissions, both).
  Result<StoredGrant> AddGrant(const spec::Grant& grant, std::string_view granted_by);
  // Removes `permissions` (all when empty) from the stored grants of `principal` on exactly
  // `domain`/`product`/`port` (and `role`, if set); returns how many grants changed or went.
  // kNotFound when none matched.
  Result<int> RevokeGrant(const spec::Grant& pattern);
  Result<std::vector<StoredGrant>> ListGrants();

  struct Impl;  // store.cc

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Federated identity: JWTs of an external OIDC identity provider (jwt.cc)

struct JwtKey {
  std::string kid;  // matched against the token's `kid`; "" matches a token without one
  std::string pem;  // a PEM public key: RSA (RS256, >= 2048 bits) or EC P-256 (ES256)
};

struct JwtOptions {
  std::string issuer;    // required: `iss` must equal it
  std::string audience;  // required: `aud` (string or array) must contain it
  std::vector<JwtKey> keys;
  int64_t clock_skew_seconds = 60;  // leeway for exp, nbf and iat
  Clock* clock = Clock::Real();     // not owned
  // The principal: "user:" + the value of this claim, unless the value is already a principal.
  std::string subject_claim = "sub";
  // A string or an array of strings; each value becomes a group through `group_map` (value ->
  // principal), or, when the map is empty, "group:" + value if that is a legal principal.
  // Values not mapped are ignored.
  std::string groups_claim = "groups";
  std::vector<std::pair<std::string, std::string>> group_map;
  // Space-separated scopes (OAuth `scope`); absent claim: every scope.
  std::string scope_claim = "scope";
};

// Verifies compact JWS tokens (header.payload.signature) with the configured public keys only:
// `alg` must be RS256 or ES256 and match the selected key's type (so `none`, HS256 with the
// public key as an HMAC secret, and RS/ES swaps are refused); `exp` is required; `nbf` and
// `iat` may not be in the future beyond the skew; `crit` is refused. Immutable after Create;
// thread-safe.
class JwtVerifier {
 public:
  // kInvalidArgument for a missing issuer/audience, no keys, or a key that is not a usable PEM
  // public key (named by its kid and index).
  static Result<std::unique_ptr<JwtVerifier>> Create(JwtOptions options);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // The identity (method kJwt) the token stands for; kUnauthenticated naming the reason
  // ("JWT expired at ...", "JWT audience does not include 'loom'", ...). The reason never
  // contains the token itself.
  Result<Identity> Verify(std::string_view token) const;

  struct Impl;  // jwt.cc

 private:
  explicit JwtVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Authorisation (authorizer.cc)

enum class Operation : uint8_t {
  kRead,          // query, scan, tail, sample, export, see in search/show
  kWrite,         // ingest into a stream port, publish a table version
  kUnmask,        // see pii fields in the clear
  kManageGrants,  // grant/revoke on a domain or product; read its audit entries
  kApply,         // apply a descriptor: Policy (global address), Domain, DataProduct
};
std::string_view ToString(Operation op);  // read | write | unmask | manage-grants | apply
Result<Operation> ParseOperation(std::string_view text);

// The answer to one check.
struct Decision {
  bool allowed = false;
  std::string reason;  // which rule allowed it, or why not (for the audit detail)
  // kRead only: the predicate the caller's rows must satisfy ("(f1) OR (f2)"); none = all rows.
  std::optional<std::string> row_filter;
  // kRead only: whether pii columns are shown in the clear (the caller holds unmask too).
  bool unmask = false;
};

struct AuthorizerOptions {
  // Principals (usually one group) of the central governance: they may apply any descriptor
  // (only they may apply Policies and create Domains) and manage grants in every domain. They do
  // not read data by that alone.
  std::vector<std::string> governance;
  // Pipelines run as "<prefix><domain>" (service:media-player), a producer of its own domain.
  // "" disables this implicit role.
  std::string domain_service_prefix = "service:";
};

// Answers Check(identity, address, operation) from the grants in force: Domain owners, product
// owners and access rules of DataProduct descriptors, Policy grants, and Store grants. Deny by
// default. Roles on a domain cover all its products: owner = read, write, unmask and manage
// grants; producer = read and write; consumer = read. A credential's scopes cap everything.
//
// Build it with Add*() on one thread, then use it const: const methods are thread-safe. The
// platform rebuilds it after apply/grant/revoke and swaps it in (a shared_ptr<const Authorizer>).
class Authorizer {
 public:
  explicit Authorizer(AuthorizerOptions options = {});
  ~Authorizer();
  Authorizer(Authorizer&&) noexcept;
  Authorizer& operator=(Authorizer&&) noexcept;
  void AddDomain(const spec::Domain& domain);
  void AddProduct(const spec::DataProduct& product);
  void AddPolicy(const spec::Policy& policy);
  void AddGrant(const spec::Grant& grant);  // e.g. each StoredGrant::grant

  // `address`: a port or a product for data operations; a domain (product empty) or a product
  // for kManageGrants; for kApply the descriptor's address: empty domain = a Policy, domain only
  // = a Domain, domain + product = a DataProduct. On a product address (no port), kRead is
  // allowed if any port is readable, and row_filter unites the grants of all its ports:
  // check each port for its own filter.
  Decision Check(const Identity& identity, const Address& address, Operation op) const;

  // Check() as a Status: OK, or an error for the caller. For data operations on a product the
  // caller cannot read, NotVisible(address): the same error as for a product that does not
  // exist. Otherwise kPermissionDenied naming the principal, operation and address.
  Status Require(const Identity& identity, const Address& address, Operation op) const;

  // May `identity` add or remove `grant`? Owners manage grants in their own domain only (not
  // the owner role); governance and the local administrator manage all. kPermissionDenied (or
  // NotVisible for a product the caller cannot see), kInvalidArgument for a malformed grant.
  Status CheckGrantChange(const Identity& identity, const spec::Grant& grant) const;

  // True if the caller may see `address`'s product exists (kRead on some port): search results
  // and listings keep only these.
  bool CanSee(const Identity& identity, const Address& product) const;
  // Domains whose audit entries the caller may read (owner view); all known domains for
  // governance and the administrator.
  std::vector<std::string> ManagedDomains(const Identity& identity) const;

  struct Rules;  // authorizer.cc

 private:
  std::unique_ptr<Rules> rules_;
};

// The one error for a product the caller may not see and for one that does not exist:
// kNotFound "no product '<domain>/<product>'" (the catalog's text for a missing product).
Status NotVisible(const Address& address);

// ---------------------------------------------------------------------------------------------
// De-identification (mask.cc)

// The per-deployment secret of hash and tokenize masks (KeyStore::MaskKey). Its hex text is
// embedded in view SQL, which user SQL cannot read back (docs/internals/security.md).
struct MaskKey {
  std::string hex;  // 64 lowercase hex digits
};

struct MaskedColumn {
  std::string expression;  // DuckDB SQL over the raw column; "" = no mask (not pii)
  std::string sql_type;    // the column's DuckDB type after masking
};

// What is known of a column's values beyond its declared type: kInt32 when every value lies in
// int32 range (a table version's statistics say so: table::ColumnStats::fits_int32).
enum class ValueRange : uint8_t { kDeclared, kInt32 };

// The DuckDB expression that replaces `field` (a column of the same name) for readers without
// unmask. Methods (kNone on a pii field means redact):
//   redact   -> '***'                               (VARCHAR; NULL stays NULL)
//   hash     -> an integer: a keyed permutation under a key derived from `key`,
//               loom_keyed_permute32 (INTEGER) for an int32 field or values of range kInt32,
//               else loom_keyed_permute (BIGINT); both agree on every value of int32 range, so
//               masked keys join whatever their type. Anything else: loom_keyed_hash, AES-128-CMAC
//               of the value text under a key derived from `key` (UUID; equal in, equal out)
//   tokenize -> 'tok_' || 16 hex of a keyed sha256  (VARCHAR; stable)
//   truncate -> dates and timestamps to the month, numbers down to a multiple of 10, strings to
//               their first 3 characters            (type kept)
//   null     -> NULL of the column's type           (type kept)
// kInvalidArgument for truncate on bool, uuid, list or struct, and for a malformed key.
Result<MaskedColumn> MaskColumn(const spec::Field& field, const MaskKey& key,
                                ValueRange range = ValueRange::kDeclared);

// ---------------------------------------------------------------------------------------------
// The audit chain (audit.cc)

// One access decision to record.
struct AuditRecord {
  std::string principal;
  std::string operation;  // what was done: query, scan, tail, sample, ingest, grant, apply, ...
  std::string address;    // loom://... ("" for global operations)
  bool allowed = false;
  int64_t rows = -1;       // rows returned or written; -1 = not applicable
  std::string query_text;  // hashed (SHA-256) into query_sha256; never stored
  std::string detail;      // e.g. Decision::reason
};

struct AuditEntry {
  int64_t seq = 0;  // 1, 2, 3, ... without gaps
  TimestampMicros time = 0;
  std::string principal;
  std::string operation;
  std::string address;
  bool allowed = false;
  int64_t rows = -1;
  std::string query_sha256;  // "" when there was no query text
  std::string detail;
  std::string prev_hash;  // the previous entry's hash; 64 zeros for the first
  std::string hash;       // SHA-256(prev_hash || canonical entry), hex
};

struct AuditFilter {
  std::optional<std::string> principal;
  std::optional<std::string> address;  // a product or port address: entries on it (any port)
  std::optional<std::string> operation;
  std::optional<bool> allowed;
  std::optional<TimestampMicros> since;  // inclusive
  std::optional<TimestampMicros> until;  // exclusive
  // Owner view: only entries on products of these domains (Authorizer::ManagedDomains).
  std::optional<std::vector<std::string>> domains;
  int64_t after_seq = 0;  // paging
  int64_t limit = 1000;
};

struct AuditVerification {
  int64_t entries = 0;
  std::string head_hash;  // the last entry's hash: anchor it elsewhere to detect truncation
};

struct AuditOptions {
  std::string path;              // e.g. <data>/audit.db; created if missing
  Clock* clock = Clock::Real();  // not owned
};

// The append-only, hash-chained audit log in its own SQLite file (WAL, synchronous=FULL).
// Thread-safe; appends from several processes are serialised by SQLite's write lock.
class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> Open(const AuditOptions& options);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends one entry durably (before the call returns). An access must not proceed, or its
  // result must not be returned, when this fails.
  Result<AuditEntry> Append(const AuditRecord& record);
  // Matching entries in seq order.
  Result<std::vector<AuditEntry>> List(const AuditFilter& filter);
  // Recomputes the chain. kDataLoss naming the first bad seq for any edited, deleted, inserted
  // or reordered entry, or a head that does not match the last entry.
  Result<AuditVerification> Verify();

  struct Impl;  // audit.cc

 private:
  explicit AuditLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Envelope encryption at rest (keys.cc)

// The 32-byte master key that wraps every data key. Loom writes one only when asked to create
// it (CreateFile, `loom keys generate`). Value type; the bytes are wiped on destruction.
class MasterKey {
 public:
  // 64 hex digits (surrounding whitespace ignored). kInvalidArgument otherwise.
  static Result<MasterKey> FromHex(std::string_view hex);
  // A file holding the hex text. kNotFound / kInvalidArgument naming the path.
  static Result<MasterKey> FromFile(const std::string& path);
  // `key_file` if not empty, else $LOOM_MASTER_KEY. kFailedPrecondition when neither is set:
  // never a silent plaintext fallback.
  static Result<MasterKey> Load(const std::string& key_file = "");
  static MasterKey Generate();
  // Generates a key and writes its hex text to the new file `path` (mode 0600, fsynced; the
  // file must not exist). kAlreadyExists when it does, kInternal when it cannot be written (a
  // partly written file is removed).
  static Result<MasterKey> CreateFile(const std::string& path);

  MasterKey(const MasterKey& other) = default;
  MasterKey& operator=(const MasterKey& other) = default;
  ~MasterKey();
  std::string Hex() const;          // for `loom keys generate`
  std::string Fingerprint() const;  // 16 hex digits of SHA-256("loom-master-key" || key)
  const std::string& bytes() const { return bytes_; }

 private:
  MasterKey() = default;
  std::string bytes_;
};

// AES-256-GCM with one product's data key. Ciphertext layout (docs/internals/security.md):
// 0x01 | 12-byte random nonce | ciphertext | 16-byte tag; `aad` (e.g. file name and offset) is
// authenticated, not stored. Immutable; thread-safe. As a BlockCipher it is what log/, table/
// and engine/ encrypt with (Seal = Encrypt, Open = Decrypt).
class Cipher final : public BlockCipher {
 public:
  static constexpr size_t kOverhead = 1 + 12 + 16;
  // From 32 raw key bytes (KeyStore hands these out). kInvalidArgument for another size.
  static Result<Cipher> FromKey(std::string key);
  Cipher(const Cipher&) = default;
  ~Cipher() override;

  Result<std::string> Encrypt(std::string_view plaintext, std::string_view aad) const;
  // kDataLoss when authentication fails (wrong key, wrong aad, altered bytes); the message says
  // so and never contains plaintext.
  Result<std::string> Decrypt(std::string_view ciphertext, std::string_view aad) const;

  size_t overhead() const override { return kOverhead; }
  Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const override {
    return Encrypt(plaintext, aad);
  }
  Result<std::string> Open(std::string_view sealed, std::string_view aad) const override {
    return Decrypt(sealed, aad);
  }
  // HMAC-SHA-256(data key, "loom-derive:" + purpose).
  std::string DeriveKey(std::string_view purpose) const override;

 private:
  explicit Cipher(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// True for classifications whose stream segments and table files are encrypted.
bool RequiresEncryption(spec::Classification classification);

struct KeyStoreOptions {
  std::string path;              // e.g. <data>/keys.db; created if missing
  Clock* clock = Clock::Real();  // not owned
};

// Per-product data keys, stored only wrapped by the master key (AES-256-GCM, AAD = the product
// address), plus the deployment's mask key. Thread-safe.
class KeyStore {
 public:
  // The first Open records the master key's check value; a later Open with another key fails
  // with kPermissionDenied ("master key fingerprint X does not match ... Y").
  static Result<std::unique_ptr<KeyStore>> Open(const KeyStoreOptions& options, MasterKey master);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // The product's cipher, creating its data key on first use (`create`), else kNotFound.
  // kDataLoss if the wrapped key fails to unwrap; kFailedPrecondition when another process
  // rotated the master key since this store was opened (this one's key no longer opens it).
  Result<Cipher> CipherFor(const Address& product, bool create = true);
  // The mask key, created on first use.
  Result<MaskKey> GetMaskKey();
  // Re-wraps every data key (and the mask key) under `next` in one transaction, without
  // touching data; afterwards only `next` opens the store. Returns how many keys were re-wrapped.
  Result<int> Rotate(const MasterKey& next);
  std::string MasterFingerprint() const;

  struct Impl;  // keys.cc

 private:
  explicit KeyStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::security
