#pragma once

// Small rules about descriptors that the catalog applies: catalog keys, version precedence, the
// implicit domain of a product, and the text forms stored in the database.

#include <string>
#include <string_view>

#include "core/core.h"
#include "spec/spec.h"

namespace loom::catalog {

// The kind as stored in documents.kind: "Domain", "DataProduct", "Policy".
std::string_view KindText(spec::Kind kind);
Result<spec::Kind> KindFromText(std::string_view text);

// A parsed catalog key ("product:media-player/play-events").
struct ParsedKey {
  spec::Kind kind = spec::Kind::kDataProduct;
  std::string name;  // "media-player/play-events"
  // For messages: "product 'media-player/play-events'".
  std::string Describe() const;
};
// kInvalidArgument unless the key is "domain:NAME", "product:DOMAIN/NAME" or "policy:NAME".
Result<ParsedKey> ParseKey(std::string_view key);

// Semantic-version precedence (semver.org §11): <0, 0, >0. Pre-releases sort before releases;
// pre-release identifiers compare numerically when both are numbers, else as text.
int CompareSemVer(const spec::SemVer& a, const spec::SemVer& b);

// The revision label of domains and policies: "r3".
std::string RevisionLabel(int64_t revision);

// The domain registered for a product whose domain is not registered: named after the product's
// domain, owned by the product's owner. Returns the document, with YAML text that parses back to
// the same document.
spec::Document ImplicitDomain(const spec::DataProduct& product);

}  // namespace loom::catalog
