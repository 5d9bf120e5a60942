// Managing access: API tokens, grants, group membership, and reading the audit log. Each call
// checks who may do it, audits the decision, and rebuilds the Authorizer when grants change.

#include <algorithm>
#include <set>

#include "platform/platform.h"

namespace loom::platform {
namespace {

using nlohmann::json;

constexpr std::string_view kAdministrators = "group:loom-admins";

json TokenJson(const security::TokenInfo& t) {
  json j = {{"id", t.id},
            {"principal", t.principal},
            {"scopes", t.scopes},
            {"description", t.description},
            {"createdBy", t.created_by},
            {"createdAt", FormatRfc3339(t.created_at)},
            {"expiresAt", t.expires_at == 0 ? json(nullptr) : json(FormatRfc3339(t.expires_at))},
            {"revoked", t.revoked_at.has_value()}};
  return j;
}

json GrantJson(const security::StoredGrant& g) {
  std::vector<std::string> perms;
  for (spec::Permission p : g.grant.permissions) perms.emplace_back(spec::ToString(p));
  json j = {{"id", g.id},
            {"principal", g.grant.principal},
            {"address", Address{g.grant.domain, g.grant.product, g.grant.port, {}}.ToString()},
            {"permissions", perms},
            {"grantedBy", g.granted_by},
            {"grantedAt", FormatRfc3339(g.granted_at)}};
  j["role"] = g.grant.role ? json(*g.grant.role) : json(nullptr);
  j["rowFilter"] = g.grant.row_filter ? json(*g.grant.row_filter) : json(nullptr);
  return j;
}

json EntryJson(const security::AuditEntry& e) {
  return {{"seq", e.seq},
          {"time", FormatRfc3339(e.time)},
          {"principal", e.principal},
          {"operation", e.operation},
          {"address", e.address},
          {"allowed", e.allowed},
          {"rows", e.rows},
          {"querySha256", e.query_sha256},
          {"detail", e.detail},
          {"hash", e.hash}};
}

Address GrantAddress(const spec::Grant& g) { return Address{g.domain, g.product, g.port, {}}; }

// The spec::Grant a request describes; kInvalidArgument naming the bad part.
Result<spec::Grant> MakeGrant(const Platform::GrantRequest& r, bool pattern) {
  spec::Grant g;
  g.principal = r.principal;
  std::string text = r.address;
  if (text.starts_with("loom://")) text = text.substr(7);
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    size_t slash = text.find('/', at);
    parts.push_back(text.substr(at, slash == std::string::npos ? std::string::npos : slash - at));
    if (slash == std::string::npos) break;
    at = slash + 1;
  }
  if (parts.size() > 3) {
    return InvalidArgument("grant address '" + r.address +
                           "': expected loom://DOMAIN[/PRODUCT[/PORT]]");
  }
  for (const std::string& p : parts) {
    if (!IsValidName(p)) {
      return InvalidArgument("grant address '" + r.address + "': '" + p + "' " + NameProblem(p));
    }
  }
  g.domain = parts[0];
  if (parts.size() > 1) g.product = parts[1];
  if (parts.size() > 2) g.port = parts[2];
  if (r.what == "owner" || r.what == "producer" || r.what == "consumer") {
    g.role = r.what;
  } else if (!r.what.empty() || !pattern) {
    for (size_t at = 0;;) {
      size_t comma = r.what.find(',', at);
      std::string p =
          r.what.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      if (p == "read") {
        g.permissions.push_back(spec::Permission::kRead);
      } else if (p == "write") {
        g.permissions.push_back(spec::Permission::kWrite);
      } else if (p == "unmask") {
        g.permissions.push_back(spec::Permission::kUnmask);
      } else {
        return InvalidArgument("grant '" + r.what +
                               "': expected a role (owner, producer, consumer) or permissions "
                               "(read, write, unmask, comma-separated)");
      }
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
  }
  g.row_filter = r.row_filter;
  return g;
}

}  // namespace

Result<json> Platform::CreateToken(const Caller& caller, const TokenRequest& request) {
  std::string principal = request.principal.empty() ? caller.principal() : request.principal;
  auto refuse = [&](const std::string& why) -> Status {
    LOOM_RETURN_IF_ERROR(AuditRecord(
        {caller.principal(), "token-create", "", false, -1, "", "for " + principal + ": " + why}));
    return PermissionDenied(caller.principal() + " may not create a token for " + principal + ": " +
                            why);
  };
  if (principal != caller.principal() && !IsGovernance(caller)) {
    return refuse("only governance creates tokens for others");
  }
  LOOM_RETURN_IF_ERROR(security::ValidateScopes(request.scopes));
  if (principal == caller.principal()) {
    for (const std::string& s : request.scopes) {
      if (s == security::kScopeAll
              ? !caller.identity.HasScope("*") && !caller.identity.administrator
              : !caller.identity.HasScope(s)) {
        return refuse("scope '" + s + "' exceeds the caller's own");
      }
    }
  }
  security::TokenOptions o;
  o.principal = principal;
  o.scopes = request.scopes;
  o.expires_at = request.expires_at;
  o.description = request.description;
  o.created_by = caller.principal();
  LOOM_ASSIGN_OR_RETURN(security::NewToken t, store_->CreateToken(o));
  LOOM_RETURN_IF_ERROR(AuditRecord({caller.principal(), "token-create", "", true, -1, "",
                                    "token " + t.id + " for " + principal}));
  return json{{"id", t.id},
              {"secret", t.secret},
              {"principal", principal},
              {"scopes", request.scopes},
              {"expiresAt", t.expires_at == 0 ? json(nullptr) : json(FormatRfc3339(t.expires_at))}};
}

Result<json> Platform::ListTokens(const Caller& caller, const std::string& principal) {
  std::string who = principal;
  if (!IsGovernance(caller)) {
    if (!who.empty() && who != caller.principal()) {
      return PermissionDenied(caller.principal() + " may list only its own tokens");
    }
    who = caller.principal();
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<security::TokenInfo> tokens, store_->ListTokens(who));
  json out = {{"tokens", json::array()}};
  for (const security::TokenInfo& t : tokens) out["tokens"].push_back(TokenJson(t));
  return out;
}

Result<json> Platform::RevokeToken(const Caller& caller, const std::string& id) {
  LOOM_ASSIGN_OR_RETURN(std::vector<security::TokenInfo> tokens, store_->ListTokens(""));
  auto it = std::find_if(tokens.begin(), tokens.end(),
                         [&](const security::TokenInfo& t) { return t.id == id; });
  // Someone else's token is as unknown as a token that does not exist.
  if (it == tokens.end() || (it->principal != caller.principal() && !IsGovernance(caller))) {
    LOOM_RETURN_IF_ERROR(
        AuditRecord({caller.principal(), "token-revoke", "", false, -1, "", "token " + id}));
    return NotFound("no token '" + id + "'");
  }
  LOOM_RETURN_IF_ERROR(store_->RevokeToken(id));
  LOOM_RETURN_IF_ERROR(
      AuditRecord({caller.principal(), "token-revoke", "", true, -1, "", "token " + id}));
  return json{{"id", id}, {"revoked", true}};
}

Result<json> Platform::Grant(const Caller& caller, const GrantRequest& request) {
  LOOM_ASSIGN_OR_RETURN(spec::Grant grant, MakeGrant(request, /*pattern=*/false));
  const Address where = GrantAddress(grant);
  Status allowed = Authz()->CheckGrantChange(caller.identity, grant);
  LOOM_RETURN_IF_ERROR(
      AuditRecord({caller.principal(), "grant", where.ToString(), allowed.ok(), -1, "",
                   "to " + grant.principal + (allowed.ok() ? "" : ": " + allowed.message())}));
  LOOM_RETURN_IF_ERROR(allowed);
  LOOM_ASSIGN_OR_RETURN(security::StoredGrant g, store_->AddGrant(grant, caller.principal()));
  LOOM_RETURN_IF_ERROR(RebuildAuthorizer());
  return GrantJson(g);
}

Result<json> Platform::Revoke(const Caller& caller, const GrantRequest& request) {
  LOOM_ASSIGN_OR_RETURN(spec::Grant pattern, MakeGrant(request, /*pattern=*/true));
  const Address where = GrantAddress(pattern);
  Status allowed = Authz()->CheckGrantChange(caller.identity, pattern);
  LOOM_RETURN_IF_ERROR(
      AuditRecord({caller.principal(), "revoke", where.ToString(), allowed.ok(), -1, "",
                   "from " + pattern.principal + (allowed.ok() ? "" : ": " + allowed.message())}));
  LOOM_RETURN_IF_ERROR(allowed);
  LOOM_ASSIGN_OR_RETURN(int changed, store_->RevokeGrant(pattern));
  LOOM_RETURN_IF_ERROR(RebuildAuthorizer());
  return json{
      {"address", where.ToString()}, {"principal", pattern.principal}, {"changed", changed}};
}

Result<json> Platform::ListGrants(const Caller& caller) {
  std::vector<std::string> managed = Authz()->ManagedDomains(caller.identity);
  std::set<std::string> domains(managed.begin(), managed.end());
  LOOM_ASSIGN_OR_RETURN(std::vector<security::StoredGrant> grants, store_->ListGrants());
  json out = {{"grants", json::array()}};
  for (const security::StoredGrant& g : grants) {
    if (!IsGovernance(caller) && !domains.contains(g.grant.domain) &&
        !caller.identity.Is(g.grant.principal)) {
      continue;
    }
    out["grants"].push_back(GrantJson(g));
  }
  return out;
}

Result<json> Platform::AddMember(const Caller& caller, const std::string& group,
                                 const std::string& member) {
  // Administrators are made only by the local administrator (the data folder's owner).
  bool allowed = group == kAdministrators ? caller.identity.administrator : IsGovernance(caller);
  LOOM_RETURN_IF_ERROR(
      AuditRecord({caller.principal(), "group-add", "", allowed, -1, "", member + " to " + group}));
  if (!allowed) return PermissionDenied(caller.principal() + " may not change " + group);
  LOOM_RETURN_IF_ERROR(store_->AddMember(group, member, caller.principal()));
  return json{{"group", group}, {"member", member}, {"added", true}};
}

Result<json> Platform::RemoveMember(const Caller& caller, const std::string& group,
                                    const std::string& member) {
  bool allowed = group == kAdministrators ? caller.identity.administrator : IsGovernance(caller);
  LOOM_RETURN_IF_ERROR(AuditRecord(
      {caller.principal(), "group-remove", "", allowed, -1, "", member + " from " + group}));
  if (!allowed) return PermissionDenied(caller.principal() + " may not change " + group);
  LOOM_RETURN_IF_ERROR(store_->RemoveMember(group, member));
  return json{{"group", group}, {"member", member}, {"removed", true}};
}

Result<json> Platform::Audit(const Caller& caller, const security::AuditFilter& filter) {
  std::vector<security::AuditEntry> entries;
  if (IsGovernance(caller)) {
    LOOM_ASSIGN_OR_RETURN(entries, audit_->List(filter));
  } else {
    // Owners see who touched their domains' products; everyone sees their own history.
    security::AuditFilter owned = filter;
    owned.domains = Authz()->ManagedDomains(caller.identity);
    if (!owned.domains->empty()) {
      LOOM_ASSIGN_OR_RETURN(entries, audit_->List(owned));
    }
    if (!filter.principal || *filter.principal == caller.principal()) {
      security::AuditFilter own = filter;
      own.principal = caller.principal();
      LOOM_ASSIGN_OR_RETURN(std::vector<security::AuditEntry> mine, audit_->List(own));
      std::set<int64_t> seen;
      for (const security::AuditEntry& e : entries) seen.insert(e.seq);
      for (security::AuditEntry& e : mine) {
        if (!seen.contains(e.seq)) entries.push_back(std::move(e));
      }
      std::sort(entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.seq < b.seq; });
      if (entries.size() > static_cast<size_t>(std::max<int64_t>(filter.limit, 0))) {
        entries.resize(static_cast<size_t>(std::max<int64_t>(filter.limit, 0)));
      }
    }
  }
  json out = {{"entries", json::array()}};
  for (const security::AuditEntry& e : entries) out["entries"].push_back(EntryJson(e));
  return out;
}

Result<json> Platform::VerifyAudit(const Caller& caller) {
  if (!IsGovernance(caller)) {
    return PermissionDenied(caller.principal() + " may not verify the audit log (governance only)");
  }
  LOOM_ASSIGN_OR_RETURN(security::AuditVerification v, audit_->Verify());
  return json{{"entries", v.entries}, {"headHash", v.head_hash}, {"intact", true}};
}

}  // namespace loom::platform
