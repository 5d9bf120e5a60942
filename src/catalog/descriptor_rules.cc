#include "catalog/descriptor_rules.h"

#include <cctype>
#include <utility>

namespace loom::catalog {

std::string_view KindText(spec::Kind kind) {
  switch (kind) {
    case spec::Kind::kDomain:
      return "Domain";
    case spec::Kind::kDataProduct:
      return "DataProduct";
    case spec::Kind::kPolicy:
      return "Policy";
  }
  return "DataProduct";
}

Result<spec::Kind> KindFromText(std::string_view text) {
  if (text == "Domain") return spec::Kind::kDomain;
  if (text == "DataProduct") return spec::Kind::kDataProduct;
  if (text == "Policy") return spec::Kind::kPolicy;
  return DataLoss("catalog: unknown document kind '" + std::string(text) + "' in the database");
}

std::string ParsedKey::Describe() const {
  std::string_view what = kind == spec::Kind::kDomain        ? "domain"
                          : kind == spec::Kind::kDataProduct ? "product"
                                                             : "policy";
  return std::string(what) + " '" + name + "'";
}

Result<ParsedKey> ParseKey(std::string_view key) {
  size_t colon = key.find(':');
  if (colon == std::string_view::npos || colon + 1 == key.size()) {
    return InvalidArgument("'" + std::string(key) +
                           "' is not a catalog key: expected domain:NAME, product:DOMAIN/NAME or "
                           "policy:NAME");
  }
  std::string_view prefix = key.substr(0, colon);
  ParsedKey parsed;
  parsed.name = std::string(key.substr(colon + 1));
  if (prefix == "domain") {
    parsed.kind = spec::Kind::kDomain;
  } else if (prefix == "product") {
    parsed.kind = spec::Kind::kDataProduct;
    size_t slash = parsed.name.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == parsed.name.size()) {
      return InvalidArgument("'" + std::string(key) +
                             "' is not a product key: expected product:DOMAIN/NAME");
    }
  } else if (prefix == "policy") {
    parsed.kind = spec::Kind::kPolicy;
  } else {
    return InvalidArgument("'" + std::string(key) + "': unknown key kind '" + std::string(prefix) +
                           "' (expected domain, product or policy)");
  }
  return parsed;
}

namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

int ComparePrerelease(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  if (a.empty()) return 1;  // a release outranks any of its pre-releases
  if (b.empty()) return -1;
  while (true) {
    size_t da = a.find('.');
    size_t db = b.find('.');
    std::string_view ia = a.substr(0, da);
    std::string_view ib = b.substr(0, db);
    if (ia != ib) {
      bool na = AllDigits(ia);
      bool nb = AllDigits(ib);
      if (na && nb) {
        if (ia.size() != ib.size()) return ia.size() < ib.size() ? -1 : 1;
        return ia < ib ? -1 : 1;
      }
      if (na != nb) return na ? -1 : 1;  // numeric identifiers sort first
      return ia < ib ? -1 : 1;
    }
    if (da == std::string_view::npos || db == std::string_view::npos) {
      if (da == db) return 0;
      return da == std::string_view::npos ? -1 : 1;  // fewer identifiers sort first
    }
    a = a.substr(da + 1);
    b = b.substr(db + 1);
  }
}

}  // namespace

int CompareSemVer(const spec::SemVer& a, const spec::SemVer& b) {
  if (a.major != b.major) return a.major < b.major ? -1 : 1;
  if (a.minor != b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch != b.patch) return a.patch < b.patch ? -1 : 1;
  return ComparePrerelease(a.prerelease, b.prerelease);
}

std::string RevisionLabel(int64_t revision) { return "r" + std::to_string(revision); }

spec::Document ImplicitDomain(const spec::DataProduct& product) {
  spec::Domain domain;
  domain.name = product.domain;
  domain.owners = {product.owner};
  spec::Document doc;
  doc.kind = spec::Kind::kDomain;
  // Names and principals are plain tokens ([a-z0-9-], "user:NAME"), but quote the owner so that
  // any principal text stays one YAML string.
  nlohmann::json owner = product.owner;
  doc.text = "apiVersion: " + std::string(spec::kApiVersion) +
             "\nkind: Domain\nmetadata:\n  name: " + product.domain + "\n  owners:\n    - " +
             owner.dump() + "\n";
  doc.body = std::move(domain);
  return doc;
}

}  // namespace loom::catalog
