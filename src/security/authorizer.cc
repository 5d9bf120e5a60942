// The Authorizer: every rule that gives access, flattened into one list of sources, checked in
// memory. Deny by default: no matching source, no access.

#include <algorithm>
#include <set>
#include <utility>

#include "security/grant_text.h"
#include "security/security.h"

namespace loom::security {

// One rule that gives a principal rights on a domain, a product or a port.
struct Source {
  std::string principal;
  std::string domain;
  std::string product;  // "" = every product of the domain
  std::string port;     // "" = every port
  bool read = false;
  bool write = false;
  bool unmask = false;
  bool manage = false;  // manage grants, apply descriptors
  std::optional<std::string> row_filter;
  std::string origin;  // for Decision::reason
};

struct Authorizer::Rules {
  AuthorizerOptions options;
  std::vector<Source> sources;
  std::set<std::string> domains;

  void AddRole(const std::string& principal, std::string_view role, const std::string& domain,
               std::optional<std::string> row_filter, std::string origin) {
    Source s{principal,
             domain,
             "",
             "",
             true,
             role != "consumer",
             role == "owner",
             role == "owner",
             role == "owner" ? std::nullopt : std::move(row_filter),
             std::move(origin)};
    sources.push_back(std::move(s));
    domains.insert(domain);
  }
};

namespace {

std::string_view ScopeFor(Operation op) {
  switch (op) {
    case Operation::kRead:
      return kScopeRead;
    case Operation::kWrite:
      return kScopeWrite;
    case Operation::kUnmask:
      return kScopeUnmask;
    case Operation::kManageGrants:
    case Operation::kApply:
      return kScopeManage;
  }
  return kScopeManage;
}

Decision Allow(std::string reason) {
  Decision d;
  d.allowed = true;
  d.reason = std::move(reason);
  return d;
}

Decision Deny(std::string reason) {
  Decision d;
  d.reason = std::move(reason);
  return d;
}

}  // namespace

Authorizer::Authorizer(AuthorizerOptions options) : rules_(std::make_unique<Rules>()) {
  rules_->options = std::move(options);
}
Authorizer::~Authorizer() = default;
Authorizer::Authorizer(Authorizer&&) noexcept = default;
Authorizer& Authorizer::operator=(Authorizer&&) noexcept = default;

void Authorizer::AddDomain(const spec::Domain& domain) {
  rules_->domains.insert(domain.name);
  for (const std::string& owner : domain.owners) {
    rules_->AddRole(owner, "owner", domain.name, std::nullopt, "owner of domain " + domain.name);
  }
}

void Authorizer::AddProduct(const spec::DataProduct& product) {
  rules_->domains.insert(product.domain);
  const std::string address = product.address().ToString();
  if (!product.owner.empty()) {
    rules_->sources.push_back(Source{product.owner, product.domain, product.name, "", true, true,
                                     true, true, std::nullopt, "owner of product " + address});
  }
  for (const spec::AccessRule& rule : product.access) {
    Source s;
    s.principal = rule.principal;
    s.domain = product.domain;
    s.product = product.name;
    s.port = rule.port;
    for (spec::Permission p : rule.permissions) {
      s.read |= p == spec::Permission::kRead;
      s.write |= p == spec::Permission::kWrite;
      s.unmask |= p == spec::Permission::kUnmask;
    }
    s.row_filter = rule.row_filter;
    s.origin = "access rule of product " + address;
    rules_->sources.push_back(std::move(s));
  }
}

void Authorizer::AddPolicy(const spec::Policy& policy) {
  for (const spec::Grant& g : policy.grants) AddGrant(g);
}

void Authorizer::AddGrant(const spec::Grant& grant) {
  // A malformed grant gives nothing (deny by default); the store and the parser refuse them.
  if (!internal::ValidateGrant(grant).ok()) return;
  const std::string where =
      grant.product.empty()
          ? "domain " + grant.domain
          : Address{grant.domain, grant.product, grant.port, std::nullopt}.ToString();
  if (grant.role) {
    rules_->AddRole(grant.principal, *grant.role, grant.domain, grant.row_filter,
                    "role " + *grant.role + " on " + where);
    return;
  }
  Source s;
  s.principal = grant.principal;
  s.domain = grant.domain;
  s.product = grant.product;
  s.port = grant.port;
  for (spec::Permission p : grant.permissions) {
    s.read |= p == spec::Permission::kRead;
    s.write |= p == spec::Permission::kWrite;
    s.unmask |= p == spec::Permission::kUnmask;
  }
  s.row_filter = grant.row_filter;
  s.origin = "grant " + internal::PermissionsText(grant.permissions) + " on " + where;
  rules_->domains.insert(grant.domain);
  rules_->sources.push_back(std::move(s));
}

Decision Authorizer::Check(const Identity& identity, const Address& address, Operation op) const {
  if (identity.administrator) {
    Decision d = Allow("local administrator");
    d.unmask = true;
    return d;
  }
  if (!identity.HasScope(ScopeFor(op))) {
    return Deny("the credential lacks scope '" + std::string(ScopeFor(op)) + "'");
  }
  const AuthorizerOptions& options = rules_->options;
  const bool governance = std::any_of(options.governance.begin(), options.governance.end(),
                                      [&](const std::string& g) { return identity.Is(g); });
  const bool domain_service = !options.domain_service_prefix.empty() && !address.domain.empty() &&
                              identity.principal == options.domain_service_prefix + address.domain;

  if (op == Operation::kApply || op == Operation::kManageGrants) {
    if (address.domain.empty()) {
      return governance ? Allow("governance") : Deny("only governance may apply a Policy");
    }
    if (governance) return Allow("governance");
    if (op == Operation::kApply && address.product.empty() &&
        rules_->domains.count(address.domain) == 0) {
      return Deny("only governance may create a domain");
    }
    for (const Source& s : rules_->sources) {
      if (!s.manage || s.domain != address.domain || !identity.Is(s.principal)) continue;
      if (s.product.empty() || s.product == address.product) return Allow(s.origin);
    }
    return Deny("not an owner of " +
                (address.product.empty() ? "domain " + address.domain : address.ToString()));
  }

  if (address.domain.empty() || address.product.empty()) {
    return Deny("data access needs a product address");
  }
  bool any = false;
  bool unfiltered = false;
  bool unmask = false;
  std::set<std::string> filters;
  std::string reason;
  auto consider = [&](bool has, bool has_unmask, const std::optional<std::string>& filter,
                      const std::string& origin) {
    unmask |= has_unmask;
    if (!has) return;
    if (!any) reason = origin;
    any = true;
    if (filter) {
      filters.insert(*filter);
    } else {
      unfiltered = true;
    }
  };
  if (domain_service && op != Operation::kUnmask) {
    consider(true, false, std::nullopt, "service principal of domain " + address.domain);
  }
  for (const Source& s : rules_->sources) {
    if (s.domain != address.domain || !identity.Is(s.principal)) continue;
    if (!s.product.empty() && s.product != address.product) continue;
    if (!s.port.empty() && address.has_port() && s.port != address.port) continue;
    const bool has = op == Operation::kRead ? s.read : op == Operation::kWrite ? s.write : s.unmask;
    consider(has, s.unmask, s.row_filter, s.origin);
  }
  if (!any) {
    return Deny("no grant gives " + identity.principal + " " + std::string(ToString(op)) + " on " +
                address.ToString());
  }
  Decision d = Allow(reason);
  if (op == Operation::kRead) {
    d.unmask = unmask && identity.HasScope(kScopeUnmask);
    if (!unfiltered) {
      std::string combined;
      for (const std::string& f : filters) {
        combined += (combined.empty() ? "(" : " OR (") + f + ")";
      }
      d.row_filter = std::move(combined);
    }
  }
  return d;
}

Status Authorizer::Require(const Identity& identity, const Address& address, Operation op) const {
  Decision d = Check(identity, address, op);
  if (d.allowed) return Status::Ok();
  const bool product_level = !address.domain.empty() && !address.product.empty();
  if (product_level && op != Operation::kApply && !CanSee(identity, address)) {
    return NotVisible(address);
  }
  std::string what = address.domain.empty()    ? std::string("the global policy")
                     : address.product.empty() ? "domain '" + address.domain + "'"
                                               : address.ToString();
  return PermissionDenied(identity.principal + " may not " + std::string(ToString(op)) + " " +
                          what + ": " + d.reason);
}

Status Authorizer::CheckGrantChange(const Identity& identity, const spec::Grant& grant) const {
  LOOM_RETURN_IF_ERROR(internal::ValidateGrant(grant));
  if (grant.role == "owner") {
    Decision d = Check(identity, Address{}, Operation::kManageGrants);
    if (!d.allowed) {
      return PermissionDenied(identity.principal + " may not grant the owner role on domain '" +
                              grant.domain + "': only governance may");
    }
    return Status::Ok();
  }
  return Require(identity, Address{grant.domain, grant.product, grant.port, std::nullopt},
                 Operation::kManageGrants);
}

bool Authorizer::CanSee(const Identity& identity, const Address& product) const {
  Address p{product.domain, product.product, "", std::nullopt};
  if (Check(identity, p, Operation::kRead).allowed) return true;
  // Governance and the owners of a product see it exists even without a read scope.
  return Check(identity, p, Operation::kManageGrants).allowed;
}

std::vector<std::string> Authorizer::ManagedDomains(const Identity& identity) const {
  std::vector<std::string> out;
  for (const std::string& d : rules_->domains) {
    if (Check(identity, Address{d, "", "", std::nullopt}, Operation::kManageGrants).allowed) {
      out.push_back(d);
    }
  }
  return out;
}

Status NotVisible(const Address& address) {
  return NotFound("no product '" + address.domain + "/" + address.product + "'");
}

std::string_view ToString(Operation op) {
  switch (op) {
    case Operation::kRead:
      return "read";
    case Operation::kWrite:
      return "write";
    case Operation::kUnmask:
      return "unmask";
    case Operation::kManageGrants:
      return "manage-grants";
    case Operation::kApply:
      return "apply";
  }
  return "read";
}

Result<Operation> ParseOperation(std::string_view text) {
  for (Operation op : {Operation::kRead, Operation::kWrite, Operation::kUnmask,
                       Operation::kManageGrants, Operation::kApply}) {
    if (ToString(op) == text) return op;
  }
  return InvalidArgument("unknown operation '" + std::string(text) +
                         "' (expected read, write, unmask, manage-grants or apply)");
}

}  // namespace loom::security
