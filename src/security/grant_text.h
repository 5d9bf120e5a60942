#pragma once

// Grant helpers private to security/: validation and the text form of permission lists.
// Free functions without state: thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "spec/spec.h"

namespace loom::security::internal {

// kInvalidArgument naming the problem: bad principal, missing or illegal domain/product/port
// name, a role other than owner/producer/consumer, a role on a product, both or neither of role
// and permissions.
Status ValidateGrant(const spec::Grant& grant);
// "read,unmask"
std::string PermissionsText(const std::vector<spec::Permission>& permissions);
Result<std::vector<spec::Permission>> ParsePermissionsText(std::string_view text);

}  // namespace loom::security::internal
