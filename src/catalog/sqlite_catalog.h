#pragma once

// The SQLite implementation of Catalog (see catalog.h and docs/internals/catalog.md).
//
// One read-write connection in WAL mode with synchronous=FULL (an acknowledged Apply survives
// power loss), guarded by one mutex, serves writes and the small reads; Search leases one of a
// small pool of read-only connections instead, so that searches run in parallel with each other
// and with an Apply. Every method is thread-safe. Statements are prepared once and cached per
// connection.

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/connection.h"
#include "catalog/fts_query.h"
#include "catalog/sqlite_db.h"

namespace loom::catalog {

class SqliteCatalog final : public Catalog {
 public:
  static Result<std::unique_ptr<SqliteCatalog>> Open(const std::string& path, Clock* clock);

  Result<std::vector<Change>> Plan(const std::vector<spec::Document>& docs) override;
  Result<std::vector<Change>> Apply(const std::vector<spec::Document>& docs,
                                    std::string_view principal) override;
  Result<std::vector<ProductSummary>> ListProducts(
      const std::optional<std::string>& domain) override;
  Result<std::vector<StoredDocument>> ListDomains() override;
  Result<std::vector<StoredDocument>> ListPolicies() override;
  Result<StoredDocument> Get(std::string_view key,
                             const std::optional<std::string>& version) override;
  Result<std::shared_ptr<const StoredDocument>> Current(std::string_view key) override;
  Result<std::shared_ptr<const std::vector<StoredDocument>>> CurrentPolicies() override;
  Result<std::vector<StoredDocument>> Versions(std::string_view key) override;
  Result<std::vector<SearchHit>> Search(const SearchQuery& query) override;
  Status CommitOffsets(std::string_view group, const Address& port,
                       const std::map<uint32_t, int64_t>& next_offsets) override;
  Result<std::map<uint32_t, int64_t>> GetOffsets(std::string_view group,
                                                 const Address& port) override;

 private:
  using Lease = StmtLease;

  // One document's planned effect, with what Apply writes for it.
  struct Planned {
    Change change;
    std::string yaml;
    std::string body;  // canonical JSON text
    std::string digest;
    int64_t revision = 0;
    const spec::DataProduct* product = nullptr;  // points into the caller's docs
  };
  // The state of one key: stored, or after the planned writes before it in the same call.
  struct KeyState {
    int64_t revision = 0;
    std::string version;
    std::string digest;
  };

  SqliteCatalog(std::unique_ptr<Connection> writer, std::unique_ptr<ReaderPool> readers,
                Clock* clock)
      : writer_(std::move(writer)), readers_(std::move(readers)), clock_(clock) {}

  // A cached statement of the writer connection; mu_ must be held.
  Result<Lease> Statement(const std::string& sql) { return writer_->Statement(sql); }
  Result<std::vector<Planned>> PlanLocked(const std::vector<spec::Document>& docs);
  Result<std::optional<KeyState>> LoadState(const std::string& key);
  Status Write(const Planned& p, spec::Kind kind, std::string_view principal, TimestampMicros now);
  Status IndexProduct(const spec::DataProduct& p, int64_t revision, TimestampMicros now);
  Result<std::vector<StoredDocument>> ListKind(spec::Kind kind);
  Result<std::vector<StoredDocument>> ReadDocuments(Lease& stmt);
  // One product's text in product_search's column order (name, title, description, tags,
  // field_names, field_descriptions, domain).
  using IndexedText = std::array<std::string, 7>;
  // Adds `delta` (+1 or -1) to the document counts of every term of `text` in search_terms
  // (label_docs too for the terms of name, title and tags), adding the terms not yet there.
  Status CountTerms(const IndexedText& text, int64_t delta);
  // Searches on a leased reader connection, in one read transaction.
  Result<std::vector<SearchHit>> SearchOn(Connection& conn, const SearchQuery& query);

  // The current version of documents, and the current documents of a kind, as last read: served
  // again while the database is unchanged. Every read checks that first: Apply clears them (on
  // this connection), and PRAGMA data_version moves when another connection (another process)
  // committed. Guarded by mu_.
  Status RefreshCacheLocked();
  std::map<std::string, std::shared_ptr<const StoredDocument>, std::less<>> current_cache_;
  std::map<spec::Kind, std::shared_ptr<const std::vector<StoredDocument>>> kind_cache_;
  Result<std::shared_ptr<const std::vector<StoredDocument>>> SharedKind(spec::Kind kind);
  int64_t data_version_ = -1;

  std::mutex mu_;                        // serialises the writer connection
  std::unique_ptr<Connection> writer_;   // guarded by mu_
  std::unique_ptr<ReaderPool> readers_;  // thread-safe; searches only
  Clock* clock_;                         // not owned
};

}  // namespace loom::catalog
