#include "security/grant_text.h"

namespace loom::security::internal {

Status ValidateGrant(const spec::Grant& grant) {
  if (std::string problem = spec::PrincipalProblem(grant.principal); !problem.empty()) {
    return InvalidArgument("grant: " + problem);
  }
  if (grant.domain.empty()) return InvalidArgument("grant: a domain is required");
  if (!IsValidName(grant.domain)) return InvalidArgument("grant: " + NameProblem(grant.domain));
  if (!grant.product.empty() && !IsValidName(grant.product)) {
    return InvalidArgument("grant: " + NameProblem(grant.product));
  }
  if (!grant.port.empty() && !IsValidName(grant.port)) {
    return InvalidArgument("grant: " + NameProblem(grant.port));
  }
  if (!grant.port.empty() && grant.product.empty()) {
    return InvalidArgument("grant: a port needs its product");
  }
  if (grant.role && !grant.permissions.empty()) {
    return InvalidArgument("grant: give either a role (on a domain) or permissions, not both");
  }
  if (!grant.role && grant.permissions.empty()) {
    return InvalidArgument(
        "grant: needs a role (owner, producer, consumer) or permissions (read, write, unmask)");
  }
  if (grant.role) {
    if (*grant.role != "owner" && *grant.role != "producer" && *grant.role != "consumer") {
      return InvalidArgument("grant: unknown role '" + *grant.role +
                             "' (expected owner, producer or consumer)");
    }
    if (!grant.product.empty()) {
      return InvalidArgument("grant: role " + *grant.role +
                             " is given on a domain, not on a product");
    }
  }
  if (grant.row_filter && grant.row_filter->find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("grant: an empty row filter (omit it to grant every row)");
  }
  return Status::Ok();
}

std::string PermissionsText(const std::vector<spec::Permission>& permissions) {
  std::string out;
  for (spec::Permission p : permissions) {
    if (!out.empty()) out += ',';
    out += spec::ToString(p);
  }
  return out;
}

Result<std::vector<spec::Permission>> ParsePermissionsText(std::string_view text) {
  std::vector<spec::Permission> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    if (item == "read") {
      out.push_back(spec::Permission::kRead);
    } else if (item == "write") {
      out.push_back(spec::Permission::kWrite);
    } else if (item == "unmask") {
      out.push_back(spec::Permission::kUnmask);
    } else {
      return InvalidArgument("unknown permission '" + std::string(item) +
                             "' (expected read, write or unmask)");
    }
    start = end + 1;
  }
  return out;
}

}  // namespace loom::security::internal
