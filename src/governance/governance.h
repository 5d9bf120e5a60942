#pragma once

// Global governance as code: the policies in force (global types and rules), their evaluation on
// a data product descriptor, and the compatibility of a new descriptor version with the current
// one. Pure functions over spec/ values: the platform loads the policies from the catalog (or a
// domain's CI from a folder) and decides what to do with the answers. User guide:
// docs/governance.md (every rule kind and its parameters).
//
// Thread-safety: PolicySet is immutable once built and may be shared between threads; the free
// functions keep no state.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"
#include "spec/spec.h"

namespace loom::governance {

// One broken rule: where (file:line:col and the field path), which rule, and what was wrong.
struct Violation {
  spec::SourcePos pos;
  std::string path;  // "spec.schema.fields[2].mask"
  std::string rule;  // "policy 'standards' rules[1] (naming)", "policy 'ids' global type user_id"
  std::string message;  // "pii field 'email' declares no mask method"
  // "products/p.yaml:14:7: spec.schema.fields[2].mask: pii field 'email' declares no mask method
  // [policy 'standards' rules[0] (classification_controls)]"
  std::string ToString() const;
};
// One line per violation, in order; "" when there is none.
std::string Join(const std::vector<Violation>& violations);

// A global type with the policy that defines it.
struct DefinedType {
  spec::GlobalType type;
  std::string policy;  // the policy's name
};

struct CompiledRule;  // governance-internal: a rule with its parameters checked and compiled

// The policies in force, compiled: every rule's parameters checked, every pattern compiled.
class PolicySet {
 public:
  // Compiles `policies` (typically every Policy in the catalog, or in a folder). Errors:
  // kInvalidArgument listing every problem, one per line, with the rule's file:line and path
  // (unknown parameter, bad value, bad regular expression), and a global type defined by two
  // policies.
  static Result<std::shared_ptr<const PolicySet>> Build(const std::vector<spec::Policy>& policies);
  ~PolicySet();
  PolicySet(const PolicySet&) = delete;
  PolicySet& operator=(const PolicySet&) = delete;

  // The global type named `name`, or nullptr.
  const DefinedType* FindType(std::string_view name) const;
  const std::vector<DefinedType>& types() const { return types_; }
  size_t rule_count() const { return rules_.size(); }
  const std::vector<std::unique_ptr<CompiledRule>>& rules() const { return rules_; }

 private:
  PolicySet();
  std::vector<DefinedType> types_;
  std::vector<std::unique_ptr<CompiledRule>> rules_;
};

// Fields (at any depth) that declare `globalType` take the global type's definition: its type
// when they declare none, its constraints (pattern, enum, bounds) where they declare none, its
// description when theirs is empty. Violations: an unknown global type (with the known names),
// a declared type other than the global type's, a declared constraint that differs from the
// global type's. `product` is updated in place even when there are violations.
std::vector<Violation> ResolveGlobalTypes(const PolicySet& policies, spec::DataProduct& product);

// Every rule of `policies` on a product whose global types are resolved: required metadata,
// naming, classification controls, the event envelope. `doc_pos` locates product-level
// violations (the product has no position of its own).
std::vector<Violation> Evaluate(const PolicySet& policies, const spec::DataProduct& product,
                                const spec::SourcePos& doc_pos);

// ResolveGlobalTypes, then Evaluate: every violation of one product descriptor.
std::vector<Violation> Check(const PolicySet& policies, spec::DataProduct& product,
                             const spec::SourcePos& doc_pos);

// --- Versioning and evolution (compat.cc) ---------------------------------------------------

// What a change does to the product's consumers and producers.
enum class Impact : uint8_t {
  kPatch,       // internal only (the transform): any higher version
  kCompatible,  // existing consumers keep working: needs at least a new minor version
  kBreaking,    // some consumer or producer breaks: needs a new major version
};
std::string_view ToString(Impact impact);  // "patch" | "compatible" | "breaking"

// One classified difference between two versions of a product.
struct SchemaChange {
  Impact impact = Impact::kCompatible;
  std::string kind;    // "field removed", "field renamed", "type narrowed", "type widened", ...
  std::string path;    // "spec.schema.fields.artist_id", "spec.outputPorts.events"
  std::string detail;  // "int64 -> int32"
  std::string ToString() const;  // "breaking  type narrowed  spec.schema.fields.n: int64 -> int32"
};

// Every difference from `from` to `to` (same product), classified: removed or renamed fields and
// ports, narrowed or otherwise changed types, new required fields, required/optional flips,
// changed or removed global types, tighter constraints are breaking; added optional fields and
// ports, widened types (int32 -> int64 -> ... , wider decimals), looser constraints, metadata,
// SLOs, quality and access changes are compatible; transform changes are patch-level. Both are
// expected to have their global types resolved.
std::vector<SchemaChange> Compare(const spec::DataProduct& from, const spec::DataProduct& to);

// The strongest impact of `changes` (kPatch when empty).
Impact Strongest(const std::vector<SchemaChange>& changes);

// Whether `to` is an acceptable version after `from` given `changes`: a breaking change needs a
// new major (before 1.0.0: at least a new minor, semver §4), a compatible one at least a new
// minor. Errors: kFailedPrecondition naming the version needed and listing every change with its
// impact.
Status CheckVersionBump(const spec::SemVer& from, const spec::SemVer& to,
                        const std::vector<SchemaChange>& changes);

// Differences between the global types of two policy sets that change their meaning for products
// carrying them (type, constraints, removal): {name, what}. Descriptions and owners are free.
struct TypeChange {
  std::string name;
  std::string detail;  // "type string -> int64", "pattern '^a$' -> '^b$'", "removed"
};
std::vector<TypeChange> CompareGlobalTypes(const PolicySet& from, const PolicySet& to);

}  // namespace loom::governance
