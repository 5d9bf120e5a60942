#include <algorithm>
#include <utility>

#include "security/security.h"

namespace loom::security {

Result<Principal> Principal::Parse(std::string_view text) {
  if (std::string problem = spec::PrincipalProblem(text); !problem.empty()) {
    return InvalidArgument(problem);
  }
  size_t colon = text.find(':');
  std::string_view kind = text.substr(0, colon);
  Principal p;
  p.kind = kind == "user"    ? PrincipalKind::kUser
           : kind == "group" ? PrincipalKind::kGroup
                             : PrincipalKind::kService;
  p.name = std::string(text.substr(colon + 1));
  return p;
}

std::string Principal::ToString() const {
  switch (kind) {
    case PrincipalKind::kUser:
      return "user:" + name;
    case PrincipalKind::kGroup:
      return "group:" + name;
    case PrincipalKind::kService:
      return "service:" + name;
  }
  return "user:" + name;
}

std::string_view ToString(AuthMethod method) {
  switch (method) {
    case AuthMethod::kLocalAdministrator:
      return "local-admin";
    case AuthMethod::kLocalAs:
      return "local-as";
    case AuthMethod::kApiToken:
      return "token";
    case AuthMethod::kJwt:
      return "jwt";
  }
  return "local-as";
}

Status ValidateScopes(const std::vector<std::string>& scopes) {
  for (const std::string& s : scopes) {
    if (s != kScopeAll && s != kScopeRead && s != kScopeWrite && s != kScopeUnmask &&
        s != kScopeManage) {
      return InvalidArgument("unknown scope '" + s +
                             "' (expected read, write, unmask, manage or *)");
    }
  }
  return Status::Ok();
}

Identity Identity::LocalAdministrator(std::string_view name) {
  Identity id;
  std::string principal = "user:" + std::string(name);
  id.principal = spec::PrincipalProblem(principal).empty() ? principal : "user:local";
  id.scopes = {std::string(kScopeAll)};
  id.method = AuthMethod::kLocalAdministrator;
  id.administrator = true;
  return id;
}

Result<Identity> Identity::LocalAs(std::string_view principal, std::vector<std::string> groups) {
  LOOM_ASSIGN_OR_RETURN(Principal p, Principal::Parse(principal));
  if (p.kind == PrincipalKind::kGroup) {
    return InvalidArgument("--as " + std::string(principal) +
                           ": act as a user or a service, not a group");
  }
  Identity id;
  id.principal = p.ToString();
  id.groups = std::move(groups);
  id.scopes = {std::string(kScopeAll)};
  id.method = AuthMethod::kLocalAs;
  return id;
}

bool Identity::HasScope(std::string_view scope) const {
  return std::any_of(scopes.begin(), scopes.end(),
                     [&](const std::string& s) { return s == kScopeAll || s == scope; });
}

bool Identity::Is(std::string_view p) const {
  return principal == p || std::find(groups.begin(), groups.end(), p) != groups.end();
}

}  // namespace loom::security
