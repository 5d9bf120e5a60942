#pragma once

// The catalog: where descriptors and every applied version of them are kept, with who applied
// each and when; search; consumer-group offsets. An interface, with SQLite (WAL) behind it as the
// embedded default (OpenSqliteCatalog); PostgreSQL comes behind the same interface for scale-out.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/core.h"
#include "spec/spec.h"

namespace loom::catalog {

// One applied version of one descriptor. Immutable once applied.
struct StoredDocument {
  spec::Kind kind = spec::Kind::kDataProduct;
  std::string key;         // spec::Document::Key()
  std::string version;     // products: their semver; domains and policies: "r<revision>"
  int64_t revision = 0;    // 1, 2, ... per key, in apply order
  std::string applied_by;  // principal
  TimestampMicros applied_at = 0;
  std::string yaml;     // the document's text as applied
  nlohmann::json body;  // spec::ToJson of the document
  std::string digest;   // SHA-256 of the canonical JSON
};

// What an apply does (or would do) to one document.
enum class ChangeKind : uint8_t { kCreate, kNewVersion, kUnchanged };
std::string_view ToString(ChangeKind c);  // "create", "new version", "unchanged"

struct Change {
  std::string key;
  spec::Kind kind = spec::Kind::kDataProduct;
  ChangeKind change = ChangeKind::kCreate;
  std::string from_version;  // empty for kCreate
  std::string to_version;
};

// The searchable summary of a product's current version.
struct ProductSummary {
  std::string domain;
  std::string name;
  std::string version;
  std::string title;
  std::string description;
  std::string owner;
  std::vector<std::string> tags;
  std::string classification;  // spec::ToString
  std::string alignment;
  std::vector<std::string> port_kinds;  // "stream", "table" (distinct, sorted)
  bool deprecated = false;
  TimestampMicros updated_at = 0;
};

// Search text is never FTS syntax: every word is quoted, so no input is a syntax error. Text of
// only symbols matches nothing; more than 1,000 bytes is kInvalidArgument. Filter values of
// classification, alignment and port_kind outside their enums are kInvalidArgument; limit must
// be 1..1000 and offset at most 10,000.
struct SearchQuery {
  std::string text;  // words; all must match (prefix match on the last); empty: every product
  std::optional<std::string> domain;
  std::optional<std::string> tag;
  std::optional<std::string> owner;
  std::optional<std::string> classification;
  std::optional<std::string> alignment;
  std::optional<std::string> port_kind;
  uint32_t limit = 20;
  uint32_t offset = 0;
  // When set, only the hits it accepts are returned, and offset and limit count those only: who
  // may see a product (the platform's access check). Called on the searching thread, during
  // Search, for each candidate in rank order until the page is full; it must not call the
  // catalog.
  std::function<bool(const ProductSummary&)> visible;
};

// Hits come in two tiers: products with every word in name, title or tags first, then the
// others; bm25 (name and title weigh most) orders each tier, so `score` compares hits of one
// tier. Empty text: ordered by domain and name, score 0, no snippet.
struct SearchHit {
  ProductSummary product;
  double score = 0;     // higher is better (within a tier)
  std::string snippet;  // the matching text, with [brackets] around matches
};

// Thread-safe: every method may be called concurrently.
// Errors: kInvalidArgument (bad input), kNotFound, kFailedPrecondition (an applied version
// would change, or a version goes backwards), kInternal (the database failed).
class Catalog {
 public:
  virtual ~Catalog() = default;

  // What Apply would do, without writing.
  virtual Result<std::vector<Change>> Plan(const std::vector<spec::Document>& docs) = 0;
  // Registers every document or none (one transaction). A product's version that was already
  // applied with other content is refused (versions are immutable); so is a version lower than
  // the current one. A product whose domain is not registered registers the domain too, owned
  // by the product's owner.
  virtual Result<std::vector<Change>> Apply(const std::vector<spec::Document>& docs,
                                            std::string_view principal) = 0;

  virtual Result<std::vector<ProductSummary>> ListProducts(
      const std::optional<std::string>& domain) = 0;
  virtual Result<std::vector<StoredDocument>> ListDomains() = 0;
  virtual Result<std::vector<StoredDocument>> ListPolicies() = 0;
  // The current version of a document by key, or the given version.
  virtual Result<StoredDocument> Get(std::string_view key,
                                     const std::optional<std::string>& version) = 0;
  // The same as Get(key, nullopt) and ListPolicies(), without copying the documents: the shared
  // object stays as it is while held, and a caller may compare pointers to know that nothing
  // changed (a change comes as a new object).
  virtual Result<std::shared_ptr<const StoredDocument>> Current(std::string_view key) = 0;
  virtual Result<std::shared_ptr<const std::vector<StoredDocument>>> CurrentPolicies() = 0;
  // Every version of one document, oldest first.
  virtual Result<std::vector<StoredDocument>> Versions(std::string_view key) = 0;
  virtual Result<std::vector<SearchHit>> Search(const SearchQuery& query) = 0;

  // Consumer-group offsets: the next offset to read per partition of a stream port.
  virtual Status CommitOffsets(std::string_view group, const Address& port,
                               const std::map<uint32_t, int64_t>& next_offsets) = 0;
  virtual Result<std::map<uint32_t, int64_t>> GetOffsets(std::string_view group,
                                                         const Address& port) = 0;
};

// Opens (creating if needed) the SQLite catalog at `path` (WAL, synchronous=FULL; the schema is
// migrated to the latest version). `clock` must outlive the catalog. Errors: kInvalidArgument
// (no clock), kFailedPrecondition (written by a newer Loom), kInternal/kDataLoss (SQLite).
// The file layout: docs/internals/catalog.md.
Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path, Clock* clock);

// The catalog key of a product: "product:<domain>/<name>".
std::string ProductKey(std::string_view domain, std::string_view name);

}  // namespace loom::catalog
