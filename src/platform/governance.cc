// The platform's side of global governance: the policies in force (from the catalog, overridden
// by the ones a call brings), the review of descriptors on apply and in `loom policy check`,
// diffs between versions, the products carrying each global type, and the older majors that are
// still served.

#include <algorithm>
#include <cctype>
#include <map>

#include "governance/governance.h"
#include "platform/platform.h"

namespace loom::platform {
namespace {

using nlohmann::json;

// The fields of a product's canonical JSON that carry a global type: {type name: [paths]}.
void CarriedTypes(const json& fields, const std::string& parent,
                  std::map<std::string, std::vector<std::string>>& out) {
  if (!fields.is_array()) return;
  for (const json& f : fields) {
    const std::string path = parent + (parent.empty() ? "" : ".") + f.value("name", "");
    if (f.contains("globalType") && f["globalType"].is_string()) {
      out[f["globalType"].get<std::string>()].push_back(path);
    }
    if (f.contains("fields")) CarriedTypes(f["fields"], path, out);
  }
}

json ViolationJson(const governance::Violation& v) {
  return {{"file", v.pos.file}, {"line", v.pos.line},   {"column", v.pos.column}, {"path", v.path},
          {"rule", v.rule},     {"message", v.message}, {"text", v.ToString()}};
}

json ChangesJson(const std::vector<governance::SchemaChange>& changes) {
  json out = json::array();
  for (const governance::SchemaChange& c : changes) {
    out.push_back({{"impact", std::string(governance::ToString(c.impact))},
                   {"kind", c.kind},
                   {"path", c.path},
                   {"detail", c.detail}});
  }
  return out;
}

Result<spec::DataProduct> ParseProduct(const std::string& yaml, const std::string& key) {
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::Document> docs, spec::ParseDocuments(yaml, key));
  if (docs.size() != 1 || docs[0].product() == nullptr) {
    return Internal("catalog entry " + key + " is not one data product");
  }
  return *docs[0].product();
}

bool HasGlobalType(const std::vector<spec::Field>& fields) {
  for (const spec::Field& f : fields) {
    if (f.global_type) return true;
    const spec::FieldType* t = &f.type;
    while (t->kind == spec::TypeKind::kList && !t->element.empty()) t = &t->element[0];
    if (t->kind == spec::TypeKind::kStruct && HasGlobalType(t->fields)) return true;
  }
  return false;
}

// A version text that names a major only ("1", "v1"), or nullopt.
std::optional<uint32_t> MajorOnly(const std::string& version) {
  std::string_view v = version;
  if (v.starts_with("v")) v.remove_prefix(1);
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(std::stoul(std::string(v)));
}

}  // namespace

Result<std::vector<spec::Document>> ParseSources(const std::vector<SourceFile>& files) {
  if (files.empty()) return InvalidArgument("no descriptor files given");
  std::vector<spec::Document> docs;
  std::string problems;
  for (const SourceFile& f : files) {
    Result<std::vector<spec::Document>> parsed = spec::ParseDocuments(f.text, f.path);
    if (!parsed.ok()) {
      problems += (problems.empty() ? "" : "\n") + parsed.status().message();
      continue;
    }
    for (spec::Document& d : *parsed) docs.push_back(std::move(d));
  }
  if (!problems.empty()) return InvalidArgument(problems);
  return docs;
}

Result<std::shared_ptr<const governance::PolicySet>> Platform::PoliciesInForce(
    const std::vector<spec::Document>& overrides) {
  std::vector<spec::Policy> policies;
  std::string key;
  bool overridden = false;
  for (const spec::Document& d : overrides) overridden = overridden || d.policy() != nullptr;
  std::shared_ptr<const std::vector<catalog::StoredDocument>> stored;
  if (catalog_ != nullptr) {
    LOOM_ASSIGN_OR_RETURN(stored, catalog_->CurrentPolicies());
    if (!overridden) {
      // The catalog hands out a new list object when its policies change: the same object
      // (kept alive here, so its address cannot be reused) means the same set.
      std::lock_guard<std::mutex> lock(policies_mu_);
      if (policies_ && stored == policies_docs_) return policies_;
    }
    for (const catalog::StoredDocument& d : *stored) key += d.digest;
    if (!overridden) {
      std::lock_guard<std::mutex> lock(policies_mu_);
      if (policies_ && key == policies_key_) {
        policies_docs_ = stored;
        return policies_;
      }
    }
    for (const catalog::StoredDocument& d : *stored) {
      LOOM_ASSIGN_OR_RETURN(std::vector<spec::Document> docs, spec::ParseDocuments(d.yaml, d.key));
      for (const spec::Document& doc : docs) {
        if (doc.policy() == nullptr) continue;
        bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const auto& o) {
          return o.policy() != nullptr && o.policy()->name == doc.policy()->name;
        });
        if (!replaced) policies.push_back(*doc.policy());
      }
    }
  }
  for (const spec::Document& d : overrides) {
    if (d.policy() != nullptr) policies.push_back(*d.policy());
  }
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const governance::PolicySet> set,
                        governance::PolicySet::Build(policies));
  if (!overridden && catalog_ != nullptr) {
    std::lock_guard<std::mutex> lock(policies_mu_);
    policies_ = set;
    policies_key_ = key;
    policies_docs_ = stored;
  }
  return set;
}

Result<spec::DataProduct> Platform::LoadProduct(const catalog::StoredDocument& doc) {
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const spec::DataProduct> product, LoadSharedProduct(doc));
  return *product;
}

Result<std::shared_ptr<const spec::DataProduct>> Platform::LoadSharedProduct(
    const catalog::StoredDocument& doc) {
  // A stored version never changes: its digest names its text. What may change is the policy
  // set its global types resolve against (PoliciesInForce keeps one object per set).
  const std::string cache_key = doc.key + '\n' + doc.digest;
  std::shared_ptr<const governance::PolicySet> policies;
  {
    std::unique_lock<std::mutex> lock(loaded_mu_);
    auto it = doc.digest.empty() ? loaded_.end() : loaded_.find(cache_key);
    if (it != loaded_.end()) {
      if (it->second.policies == nullptr) return it->second.product;
      lock.unlock();
      LOOM_ASSIGN_OR_RETURN(policies, PoliciesInForce({}));
      lock.lock();
      it = loaded_.find(cache_key);
      if (it != loaded_.end() && it->second.policies == policies) return it->second.product;
    }
  }
  LOOM_ASSIGN_OR_RETURN(spec::DataProduct product, ParseProduct(doc.yaml, doc.key));
  if (HasGlobalType(product.schema.fields)) {
    if (policies == nullptr) {
      LOOM_ASSIGN_OR_RETURN(policies, PoliciesInForce({}));
    }
    // Checked when applied; a global type removed since leaves the field as it was declared.
    (void)governance::ResolveGlobalTypes(*policies, product);
  } else {
    policies = nullptr;
  }
  auto shared = std::make_shared<const spec::DataProduct>(std::move(product));
  if (doc.digest.empty()) return shared;  // not a stored version
  std::lock_guard<std::mutex> lock(loaded_mu_);
  if (loaded_.size() >= 4096) loaded_.clear();  // a bound, not an eviction policy
  loaded_[cache_key] = LoadedProduct{policies, shared};
  return shared;
}

Result<catalog::StoredDocument> Platform::GetProductVersion(
    const std::string& key, const std::optional<std::string>& version) {
  std::optional<uint32_t> major = version ? MajorOnly(*version) : std::nullopt;
  if (!major) return catalog_->Get(key, version);
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::StoredDocument> versions, catalog_->Versions(key));
  const catalog::StoredDocument* best = nullptr;
  for (const catalog::StoredDocument& v : versions) {
    Result<spec::SemVer> sv = spec::SemVer::Parse(v.version);
    if (sv.ok() && sv->major == *major) best = &v;  // oldest first: the last is the latest
  }
  if (best == nullptr) {
    return NotFound(key.substr(key.find(':') + 1) + " has no version of major " +
                    std::to_string(*major));
  }
  return *best;
}

Result<Platform::Review> Platform::ReviewDocuments(std::vector<spec::Document>& docs) {
  Review review;
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const governance::PolicySet> policies,
                        PoliciesInForce(docs));
  // A policy that changes what a global type means breaks every product carrying it.
  bool changes_policies =
      std::any_of(docs.begin(), docs.end(), [](const spec::Document& d) { return d.policy(); });
  if (changes_policies && catalog_ != nullptr) {
    LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const governance::PolicySet> before, PoliciesInForce({}));
    std::vector<governance::TypeChange> type_changes =
        governance::CompareGlobalTypes(*before, *policies);
    if (!type_changes.empty()) {
      LOOM_ASSIGN_OR_RETURN(json carriers, GlobalTypeCarriers());
      for (const governance::TypeChange& c : type_changes) {
        if (!carriers.contains(c.name) || carriers[c.name].empty()) continue;
        std::string who;
        for (const json& p : carriers[c.name]) {
          who += (who.empty() ? "" : ", ") + p.value("address", "");
        }
        review.version_problems.push_back(
            "global type " + c.name + ": " + c.detail +
            " changes the meaning of fields that products carry (" + who +
            "); define a new global type instead and let the products move to it in a new "
            "major version");
      }
    }
  }
  for (spec::Document& doc : docs) {
    spec::DataProduct* product = std::get_if<spec::DataProduct>(&doc.body);
    if (product == nullptr) continue;
    std::vector<governance::Violation> v = governance::Check(*policies, *product, doc.pos);
    review.violations.insert(review.violations.end(), v.begin(), v.end());
    review.products.push_back(doc.Key());
    if (catalog_ == nullptr) continue;
    const std::string key = catalog::ProductKey(product->domain, product->name);
    Result<catalog::StoredDocument> current = catalog_->Get(key, std::nullopt);
    if (current.status().code() == StatusCode::kNotFound) continue;
    LOOM_RETURN_IF_ERROR(current.status());
    LOOM_ASSIGN_OR_RETURN(spec::DataProduct before, ParseProduct(current->yaml, current->key));
    (void)governance::ResolveGlobalTypes(*policies, before);
    ProductDiff diff;
    diff.address = product->address().ToString();
    diff.from = before.version.ToString();
    diff.to = product->version.ToString();
    diff.changes = governance::Compare(before, *product);
    // Equal or lower versions are the catalog's to refuse (immutable, forward only).
    if (product->version > before.version) {
      Status bump = governance::CheckVersionBump(before.version, product->version, diff.changes);
      if (!bump.ok()) {
        review.version_problems.push_back(doc.pos.file + ":" + std::to_string(doc.pos.line) + ": " +
                                          diff.address + ": " + bump.message());
      }
    }
    review.diffs.push_back(std::move(diff));
  }
  return review;
}

Status Platform::Govern(std::vector<spec::Document>& docs) {
  LOOM_ASSIGN_OR_RETURN(Review review, ReviewDocuments(docs));
  if (review.violations.empty() && review.version_problems.empty()) return Status::Ok();
  std::string message = governance::Join(review.violations);
  for (const std::string& p : review.version_problems) {
    message += (message.empty() ? "" : "\n") + p;
  }
  if (!review.violations.empty()) {
    return InvalidArgument(std::to_string(review.violations.size()) + " policy violation" +
                           (review.violations.size() == 1 ? "" : "s") + ":\n" + message);
  }
  return FailedPrecondition(message);
}

json Platform::ReviewJson(const Review& review) {
  json out = {{"products", review.products},
              {"violations", json::array()},
              {"versionProblems", review.version_problems},
              {"diffs", json::array()}};
  for (const governance::Violation& v : review.violations) {
    out["violations"].push_back(ViolationJson(v));
  }
  for (const ProductDiff& d : review.diffs) {
    out["diffs"].push_back(
        {{"address", d.address},
         {"from", d.from},
         {"to", d.to},
         {"impact", std::string(governance::ToString(governance::Strongest(d.changes)))},
         {"changes", ChangesJson(d.changes)}});
  }
  out["ok"] = review.violations.empty() && review.version_problems.empty();
  return out;
}

Result<json> Platform::PolicyCheck(const Caller& caller, const std::vector<SourceFile>& files) {
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::Document> docs, ParseSources(files));
  // A review compares with what is applied: only for documents the caller may apply.
  LOOM_RETURN_IF_ERROR(RequireApply(caller, docs, "policy-check").status());
  LOOM_ASSIGN_OR_RETURN(Review review, ReviewDocuments(docs));
  return ReviewJson(review);
}

Result<json> Platform::PolicyCheckOffline(const std::vector<SourceFile>& files) {
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::Document> docs, ParseSources(files));
  Platform offline{Options{}};
  LOOM_ASSIGN_OR_RETURN(Review review, offline.ReviewDocuments(docs));
  return ReviewJson(review);
}

Result<json> Platform::Diff(const Caller& caller, const std::vector<SourceFile>& files) {
  LOOM_ASSIGN_OR_RETURN(json review, PolicyCheck(caller, files));
  return json{{"diffs", review["diffs"]}, {"versionProblems", review["versionProblems"]}};
}

Result<json> Platform::DiffVersions(const Caller& caller, const Address& from, const Address& to) {
  if (from.has_port() || to.has_port() || from.ProductKey() != to.ProductKey()) {
    return InvalidArgument("diff: expected two versions of one product, e.g. " +
                           Address{from.domain, from.product, "", "1.0.0"}.ToString() + " " +
                           Address{from.domain, from.product, "", "2.0.0"}.ToString());
  }
  LOOM_RETURN_IF_ERROR(Require(caller, Address{from.domain, from.product, "", {}},
                               security::Operation::kRead, "show")
                           .status());
  const std::string key = catalog::ProductKey(from.domain, from.product);
  LOOM_ASSIGN_OR_RETURN(catalog::StoredDocument a, GetProductVersion(key, from.version));
  LOOM_ASSIGN_OR_RETURN(catalog::StoredDocument b, GetProductVersion(key, to.version));
  LOOM_ASSIGN_OR_RETURN(spec::DataProduct pa, LoadProduct(a));
  LOOM_ASSIGN_OR_RETURN(spec::DataProduct pb, LoadProduct(b));
  std::vector<governance::SchemaChange> changes = governance::Compare(pa, pb);
  json diff = {{"address", pa.address().ToString()},
               {"from", a.version},
               {"to", b.version},
               {"impact", std::string(governance::ToString(governance::Strongest(changes)))},
               {"changes", ChangesJson(changes)}};
  return json{{"diffs", json::array({diff})}, {"versionProblems", json::array()}};
}

Result<json> Platform::GlobalTypeCarriers(const Caller* caller) {
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(std::nullopt));
  std::shared_ptr<const security::Authorizer> authz = Authz();
  json out = json::object();
  for (const catalog::ProductSummary& p : products) {
    // A caller is shown only the carriers it may see.
    if (caller != nullptr && !authz->CanSee(caller->identity, Address{p.domain, p.name, "", {}})) {
      continue;
    }
    LOOM_ASSIGN_OR_RETURN(catalog::StoredDocument doc,
                          catalog_->Get(catalog::ProductKey(p.domain, p.name), std::nullopt));
    std::map<std::string, std::vector<std::string>> carried;
    if (doc.body.contains("schema")) CarriedTypes(doc.body["schema"]["fields"], "", carried);
    for (const auto& [type, paths] : carried) {
      out[type].push_back({{"address", Address{p.domain, p.name, "", {}}.ToString()},
                           {"version", p.version},
                           {"deprecated", p.deprecated},
                           {"fields", paths}});
    }
  }
  return out;
}

Result<std::vector<std::string>> Platform::DeprecationWarnings(const Caller& caller,
                                                               const std::string& sql) {
  std::shared_ptr<const security::Authorizer> authz = Authz();
  std::vector<std::string> out;
  std::string lower = sql;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(std::nullopt));
  for (const catalog::ProductSummary& p : products) {
    if (!p.deprecated) continue;
    // Never a warning that names a product the caller may not see.
    if (!authz->CanSee(caller.identity, Address{p.domain, p.name, "", {}})) continue;
    // The SQL names of its ports all start with "<domain>.<product>." (a cheap text test, as for
    // the streams a query brings up to date; the front door decided what may be read).
    std::string prefix = Address{p.domain, p.name, "x", {}}.SqlName();
    prefix.pop_back();
    if (lower.find(prefix) == std::string::npos) continue;
    LOOM_ASSIGN_OR_RETURN(catalog::StoredDocument doc,
                          catalog_->Get(catalog::ProductKey(p.domain, p.name), std::nullopt));
    std::string message = doc.body.value("deprecated", json()).is_string()
                              ? doc.body["deprecated"].get<std::string>()
                              : "deprecated";
    // One line: it travels as an HTTP header too.
    for (char& c : message) c = (c == '\n' || c == '\r') ? ' ' : c;
    out.push_back(Address{p.domain, p.name, "", {}}.ToString() + " is deprecated: " + message);
  }
  return out;
}

Result<json> Platform::GlobalTypes(const Caller& caller, const std::optional<std::string>& name) {
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const governance::PolicySet> policies, PoliciesInForce({}));
  LOOM_ASSIGN_OR_RETURN(json carriers, GlobalTypeCarriers(&caller));
  json out = {{"types", json::array()}};
  for (const governance::DefinedType& d : policies->types()) {
    if (name && d.type.name != *name) continue;
    spec::Policy one;
    one.global_types.push_back(d.type);
    json t = spec::ToJson(one)["globalTypes"][0];
    t["policy"] = d.policy;
    t["products"] = carriers.contains(d.type.name) ? carriers[d.type.name] : json::array();
    out["types"].push_back(std::move(t));
  }
  if (name && out["types"].empty()) {
    std::string known;
    for (const governance::DefinedType& d : policies->types()) {
      known += (known.empty() ? "" : ", ") + d.type.name;
    }
    return NotFound("no global type '" + *name + "' (known: " + (known.empty() ? "none" : known) +
                    ")");
  }
  return out;
}

Status Platform::AddGovernanceViews(const Caller& caller, const catalog::StoredDocument& doc,
                                    json& product) {
  // Joinable products per field of a global type.
  std::map<std::string, std::vector<std::string>> carried;
  if (product.contains("schema")) CarriedTypes(product["schema"]["fields"], "", carried);
  if (!carried.empty()) {
    LOOM_ASSIGN_OR_RETURN(json carriers, GlobalTypeCarriers(&caller));
    json joins = json::object();
    for (const auto& [type, paths] : carried) {
      json others = json::array();
      for (const json& c : carriers.value(type, json::array())) {
        if (c.value("address", "") != product.value("address", "")) others.push_back(c);
      }
      joins[type] = others;
    }
    product["joinable"] = joins;
  }
  // An older major is still served beside the current one, deprecated.
  LOOM_ASSIGN_OR_RETURN(catalog::StoredDocument current, catalog_->Get(doc.key, std::nullopt));
  Result<spec::SemVer> mine = spec::SemVer::Parse(doc.version);
  Result<spec::SemVer> now = spec::SemVer::Parse(current.version);
  if (mine.ok() && now.ok() && mine->major < now->major) {
    product["supersededBy"] = current.version;
    if (product.value("deprecated", json()).is_null()) {
      product["deprecated"] = "major " + std::to_string(mine->major) + " is superseded by " +
                              current.version + "; move to " +
                              Address{product.value("domain", ""), product.value("name", ""), "",
                                      std::to_string(now->major)}
                                  .ToString();
    }
  }
  return Status::Ok();
}

}  // namespace loom::platform
