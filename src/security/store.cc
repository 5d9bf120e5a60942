// security.db: API tokens (salted HMAC only), group membership and stored grants.
// Table layout: docs/internals/security.md.

#include <algorithm>
#include <mutex>
#include <set>
#include <utility>

#include "security/crypto.h"
#include "security/grant_text.h"
#include "security/security.h"
#include "security/sqlite_db.h"

namespace loom::security {
namespace {

constexpr std::string_view kTokenPrefix = "loom_";
constexpr size_t kIdHex = 16;
constexpr size_t kSecretHex = 64;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS tokens(
  id TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
  salt TEXT NOT NULL,
  hash TEXT NOT NULL,
  scopes TEXT NOT NULL,
  description TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS members(
  grp TEXT NOT NULL,
  member TEXT NOT NULL,
  added_by TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY(grp, member));
CREATE TABLE IF NOT EXISTS grants(
  id INTEGER PRIMARY KEY,
  principal TEXT NOT NULL,
  role TEXT,
  permissions TEXT NOT NULL,
  domain TEXT NOT NULL,
  product TEXT NOT NULL,
  port TEXT NOT NULL,
  row_filter TEXT,
  granted_by TEXT NOT NULL,
  granted_at INTEGER NOT NULL);
)sql";

std::string JoinScopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const std::string& s : scopes) out += (out.empty() ? "" : " ") + s;
  return out;
}

std::vector<std::string> SplitScopes(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string TokenHash(std::string_view salt, std::string_view secret) {
  return internal::Hex(internal::HmacSha256(salt, secret));
}

}  // namespace

struct Store::Impl {
  std::mutex mu;
  Db db;  // guarded by mu
  Clock* clock = nullptr;

  Result<std::vector<std::string>> GroupsOfLocked(std::string_view principal);
  Result<StoredGrant> ReadGrant(const Stmt& st);
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->clock = options.clock != nullptr ? options.clock : Clock::Real();
  LOOM_ASSIGN_OR_RETURN(impl->db, Db::OpenDurable(options.path));
  LOOM_RETURN_IF_ERROR(impl->db.Exec(kSchema));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Result<NewToken> Store::CreateToken(const TokenOptions& options) {
  LOOM_ASSIGN_OR_RETURN(Principal p, Principal::Parse(options.principal));
  if (p.kind == PrincipalKind::kGroup) {
    return InvalidArgument("a token acts as a user or a service, not a group ('" +
                           options.principal + "')");
  }
  if (options.scopes.empty()) {
    return InvalidArgument("a token needs at least one scope (read, write, unmask, manage or *)");
  }
  LOOM_RETURN_IF_ERROR(ValidateScopes(options.scopes));
  const TimestampMicros now = impl_->clock->NowMicros();
  if (options.expires_at && *options.expires_at <= now) {
    return InvalidArgument("token expiry " + FormatRfc3339(*options.expires_at) +
                           " is in the past");
  }
  NewToken token;
  token.id = internal::Hex(internal::RandomBytes(kIdHex / 2));
  std::string secret = internal::Hex(internal::RandomBytes(kSecretHex / 2));
  const std::string salt = internal::RandomBytes(16);
  token.secret = std::string(kTokenPrefix) + token.id + "_" + secret;
  token.expires_at = options.expires_at.value_or(0);

  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(Stmt st,
                        impl_->db.Prepare("INSERT INTO tokens(id, principal, salt, hash, scopes, "
                                          "description, created_by, created_at, expires_at) "
                                          "VALUES(?,?,?,?,?,?,?,?,?)"));
  st.Bind(1, token.id)
      .Bind(2, p.ToString())
      .Bind(3, internal::Hex(salt))
      .Bind(4, TokenHash(salt, secret))
      .Bind(5, JoinScopes(options.scopes))
      .Bind(6, options.description)
      .Bind(7, options.created_by)
      .Bind(8, int64_t{now})
      .Bind(9, int64_t{token.expires_at});
  internal::Wipe(secret);
  LOOM_RETURN_IF_ERROR(st.Run());
  return token;
}

Result<std::vector<TokenInfo>> Store::ListTokens(std::string_view principal) {
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(
      Stmt st, impl_->db.Prepare("SELECT id, principal, scopes, description, created_by, "
                                 "created_at, expires_at, revoked_at FROM tokens "
                                 "WHERE ?1 = '' OR principal = ?1 ORDER BY created_at DESC, id"));
  st.Bind(1, principal);
  std::vector<TokenInfo> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    TokenInfo t;
    t.id = st.Text(0);
    t.principal = st.Text(1);
    t.scopes = SplitScopes(st.Text(2));
    t.description = st.Text(3);
    t.created_by = st.Text(4);
    t.created_at = st.Int(5);
    t.expires_at = st.Int(6);
    if (!st.IsNull(7)) t.revoked_at = st.Int(7);
    out.push_back(std::move(t));
  }
  return out;
}

Status Store::RevokeToken(std::string_view id) {
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(Stmt st, impl_->db.Prepare("UPDATE tokens SET revoked_at = "
                                                   "coalesce(revoked_at, ?) WHERE id = ?"));
  st.Bind(1, int64_t{impl_->clock->NowMicros()}).Bind(2, id);
  LOOM_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return NotFound("no API token with id '" + std::string(id) + "'");
  }
  return Status::Ok();
}

Result<Identity> Store::VerifyToken(std::string_view secret_text) {
  const Status invalid = Unauthenticated("invalid API token");
  const size_t expected = kTokenPrefix.size() + kIdHex + 1 + kSecretHex;
  if (secret_text.size() != expected || !secret_text.starts_with(kTokenPrefix) ||
      secret_text[kTokenPrefix.size() + kIdHex] != '_') {
    return invalid;
  }
  const std::string id(secret_text.substr(kTokenPrefix.size(), kIdHex));
  const std::string_view secret = secret_text.substr(kTokenPrefix.size() + kIdHex + 1);
  if (!internal::Unhex(id) || !internal::Unhex(secret)) return invalid;

  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(Stmt st,
                        impl_->db.Prepare("SELECT principal, salt, hash, scopes, expires_at, "
                                          "revoked_at FROM tokens WHERE id = ?"));
  st.Bind(1, id);
  LOOM_ASSIGN_OR_RETURN(bool row, st.Step());
  // An unknown id costs the same HMAC as a known one, so timing does not tell them apart.
  const std::string salt = row ? internal::Unhex(st.Text(1)).value_or("") : std::string(16, '\0');
  const std::string computed = TokenHash(salt, secret);
  if (!row || !internal::ConstantTimeEqual(computed, st.Text(2))) return invalid;
  if (!st.IsNull(5)) {
    return Unauthenticated("API token " + id + " was revoked at " + FormatRfc3339(st.Int(5)));
  }
  const TimestampMicros expires_at = st.Int(4);
  if (expires_at != 0 && impl_->clock->NowMicros() >= expires_at) {
    return Unauthenticated("API token " + id + " expired at " + FormatRfc3339(expires_at));
  }
  Identity identity;
  identity.principal = st.Text(0);
  identity.scopes = SplitScopes(st.Text(3));
  identity.method = AuthMethod::kApiToken;
  identity.credential_id = id;
  LOOM_ASSIGN_OR_RETURN(identity.groups, impl_->GroupsOfLocked(identity.principal));
  return identity;
}

Status Store::AddMember(std::string_view group, std::string_view member,
                        std::string_view added_by) {
  LOOM_ASSIGN_OR_RETURN(Principal g, Principal::Parse(group));
  if (g.kind != PrincipalKind::kGroup) {
    return InvalidArgument("'" + std::string(group) + "' is not a group (expected group:NAME)");
  }
  LOOM_RETURN_IF_ERROR(Principal::Parse(member).status());
  if (group == member) return InvalidArgument("a group cannot be a member of itself");
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(Stmt st, impl_->db.Prepare("INSERT OR IGNORE INTO members(grp, member, "
                                                   "added_by, added_at) VALUES(?,?,?,?)"));
  st.Bind(1, group).Bind(2, member).Bind(3, added_by).Bind(4, int64_t{impl_->clock->NowMicros()});
  return st.Run();
}

Status Store::RemoveMember(std::string_view group, std::string_view member) {
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(Stmt st,
                        impl_->db.Prepare("DELETE FROM members WHERE grp = ? AND member = ?"));
  st.Bind(1, group).Bind(2, member);
  LOOM_RETURN_IF_ERROR(st.Run());
  if (sqlite3_changes(impl_->db.get()) == 0) {
    return NotFound(std::string(member) + " is not a member of " + std::string(group));
  }
  return Status::Ok();
}

Result<std::vector<std::string>> Store::GroupsOf(std::string_view principal) {
  std::lock_guard lock(impl_->mu);
  return impl_->GroupsOfLocked(principal);
}

Result<std::vector<std::string>> Store::Impl::GroupsOfLocked(std::string_view principal) {
  LOOM_ASSIGN_OR_RETURN(Stmt st, db.Prepare("SELECT grp FROM members WHERE member = ?"));
  std::set<std::string> seen;
  std::vector<std::string> todo{std::string(principal)};
  while (!todo.empty()) {  // breadth over nested groups; `seen` stops cycles
    std::string next = std::move(todo.back());
    todo.pop_back();
    st.Reset();
    st.Bind(1, next);
    while (true) {
      LOOM_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string g = st.Text(0);
      if (g != principal && seen.insert(g).second) todo.push_back(g);
    }
  }
  return std::vector<std::string>(seen.begin(), seen.end());
}

Result<StoredGrant> Store::AddGrant(const spec::Grant& grant, std::string_view granted_by) {
  LOOM_RETURN_IF_ERROR(internal::ValidateGrant(grant));
  StoredGrant out;
  out.grant = grant;
  out.grant.pos = {};
  out.granted_by = std::string(granted_by);
  out.granted_at = impl_->clock->NowMicros();
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(
      Stmt st, impl_->db.Prepare("INSERT INTO grants(principal, role, permissions, domain, "
                                 "product, port, row_filter, granted_by, granted_at) "
                                 "VALUES(?,?,?,?,?,?,?,?,?)"));
  st.Bind(1, grant.principal)
      .BindOptional(2, grant.role)
      .Bind(3, internal::PermissionsText(grant.permissions))
      .Bind(4, grant.domain)
      .Bind(5, grant.product)
      .Bind(6, grant.port)
      .BindOptional(7, grant.row_filter)
      .Bind(8, granted_by)
      .Bind(9, int64_t{out.granted_at});
  LOOM_RETURN_IF_ERROR(st.Run());
  out.id = impl_->db.LastInsertRowid();
  return out;
}

Result<StoredGrant> Store::Impl::ReadGrant(const Stmt& st) {
  StoredGrant g;
  g.id = st.Int(0);
  g.grant.principal = st.Text(1);
  if (!st.IsNull(2)) g.grant.role = st.Text(2);
  LOOM_ASSIGN_OR_RETURN(g.grant.permissions, internal::ParsePermissionsText(st.Text(3)));
  g.grant.domain = st.Text(4);
  g.grant.product = st.Text(5);
  g.grant.port = st.Text(6);
  if (!st.IsNull(7)) g.grant.row_filter = st.Text(7);
  g.granted_by = st.Text(8);
  g.granted_at = st.Int(9);
  return g;
}

Result<std::vector<StoredGrant>> Store::ListGrants() {
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(
      Stmt st, impl_->db.Prepare("SELECT id, principal, role, permissions, domain, product, "
                                 "port, row_filter, granted_by, granted_at FROM grants "
                                 "ORDER BY id"));
  std::vector<StoredGrant> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    LOOM_ASSIGN_OR_RETURN(StoredGrant g, impl_->ReadGrant(st));
    out.push_back(std::move(g));
  }
  return out;
}

Result<int> Store::RevokeGrant(const spec::Grant& pattern) {
  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(impl_->db, /*immediate=*/true));
  LOOM_ASSIGN_OR_RETURN(
      Stmt st, impl_->db.Prepare("SELECT id, principal, role, permissions, domain, product, port, "
                                 "row_filter, granted_by, granted_at FROM grants WHERE "
                                 "principal = ? AND domain = ? AND product = ? AND port = ?"));
  st.Bind(1, pattern.principal)
      .Bind(2, pattern.domain)
      .Bind(3, pattern.product)
      .Bind(4, pattern.port);
  std::vector<StoredGrant> matches;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    LOOM_ASSIGN_OR_RETURN(StoredGrant g, impl_->ReadGrant(st));
    if (pattern.role && g.grant.role != pattern.role) continue;
    if (!pattern.role && !pattern.permissions.empty() && g.grant.permissions.empty()) continue;
    matches.push_back(std::move(g));
  }
  int changed = 0;
  LOOM_ASSIGN_OR_RETURN(Stmt del, impl_->db.Prepare("DELETE FROM grants WHERE id = ?"));
  LOOM_ASSIGN_OR_RETURN(Stmt upd,
                        impl_->db.Prepare("UPDATE grants SET permissions = ? WHERE id = ?"));
  for (const StoredGrant& g : matches) {
    std::vector<spec::Permission> left;
    if (!pattern.role && !pattern.permissions.empty()) {
      for (spec::Permission p : g.grant.permissions) {
        if (std::find(pattern.permissions.begin(), pattern.permissions.end(), p) ==
            pattern.permissions.end()) {
          left.push_back(p);
        }
      }
      if (left.size() == g.grant.permissions.size()) continue;
    }
    if (left.empty()) {
      del.Reset();
      del.Bind(1, g.id);
      LOOM_RETURN_IF_ERROR(del.Run());
    } else {
      upd.Reset();
      upd.Bind(1, internal::PermissionsText(left)).Bind(2, g.id);
      LOOM_RETURN_IF_ERROR(upd.Run());
    }
    ++changed;
  }
  LOOM_RETURN_IF_ERROR(tx.Commit());
  if (changed == 0) {
    Address where{pattern.domain, pattern.product, pattern.port, std::nullopt};
    return NotFound(
        "no grant to " + pattern.principal + " on " +
        (pattern.product.empty() ? "domain '" + pattern.domain + "'" : where.ToString()) +
        " matches");
  }
  return changed;
}

}  // namespace loom::security
