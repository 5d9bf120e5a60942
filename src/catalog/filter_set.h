#pragma once

// Search filters as sets of product ids (see docs/internals/catalog.md, "Search"): a filtered
// search tests each FTS5 match against a bit set instead of looking up its `products` row (a
// B-tree seek per match: 10+ ms when a common word yields 10,000 matches of which few pass).
// A connection keeps the set of each filter value it has built, tagged with the database's
// `PRAGMA data_version`, and builds it again once any other connection has committed.
//
// SQL: `loom_in_set(?, rowid)` with a FilterSet bound by sqlite3_bind_pointer under the type
// kFilterSetType: 1 if the rowid is in the set, else 0.
//
// Thread-safety: none; a FilterCache belongs to one Connection, used by one thread at a time. A
// FilterSet is immutable once built and may be shared.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "catalog/sqlite_db.h"
#include "core/core.h"

namespace loom::catalog {

inline constexpr const char* kFilterSetType = "loom_filter_set";

class FilterSet {
 public:
  bool Contains(int64_t id) const {
    if (id < 0 || static_cast<uint64_t>(id) >= bits_.size() * 64) return false;
    const uint64_t i = static_cast<uint64_t>(id);
    return (bits_[i / 64] >> (i % 64)) & 1;
  }
  void Add(int64_t id);
  void Remove(int64_t id) {
    if (Contains(id)) bits_[static_cast<uint64_t>(id) / 64] &= ~(uint64_t{1} << (id % 64));
  }
  // Keeps only the ids that are also in `other`.
  void IntersectWith(const FilterSet& other);

 private:
  std::vector<uint64_t> bits_;
};

// What a filter tests: one column of `products`, or membership in product_tags /
// product_port_kinds.
enum class FilterKind : uint8_t { kDomain, kOwner, kClassification, kAlignment, kTag, kPortKind };

class FilterCache {
 public:
  // The ids of the products that pass every filter given (at least one), as of the read
  // transaction open on `db`.
  Result<std::shared_ptr<const FilterSet>> Get(
      Db& db, const std::vector<std::pair<FilterKind, std::string>>& filters);

 private:
  Result<std::shared_ptr<const FilterSet>> One(Db& db, FilterKind kind, const std::string& value);

  std::optional<int64_t> data_version_;
  std::map<std::pair<FilterKind, std::string>, std::shared_ptr<const FilterSet>> sets_;
};

// Registers loom_in_set on `db`.
Status RegisterFilterFunction(Db& db);

}  // namespace loom::catalog
