#include "catalog/filter_set.h"

#include <algorithm>

namespace loom::catalog {
namespace {

// At most this many sets are kept per connection; past it the cache starts again empty.
constexpr size_t kMaxCachedSets = 256;

const char* SqlFor(FilterKind kind) {
  switch (kind) {
    case FilterKind::kDomain:
      return "SELECT id FROM products WHERE domain = ?";
    case FilterKind::kOwner:
      return "SELECT id FROM products WHERE owner = ?";
    case FilterKind::kClassification:
      return "SELECT id FROM products WHERE classification = ?";
    case FilterKind::kAlignment:
      return "SELECT id FROM products WHERE alignment = ?";
    case FilterKind::kTag:
      return "SELECT product_id FROM product_tags WHERE tag = ?";
    case FilterKind::kPortKind:
      return "SELECT product_id FROM product_port_kinds WHERE port_kind = ?";
  }
  return "";
}

void InSet(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  const auto* set =
      argc == 2 ? static_cast<const FilterSet*>(sqlite3_value_pointer(argv[0], kFilterSetType))
                : nullptr;
  if (set == nullptr) {
    sqlite3_result_error(ctx, "loom_in_set: expects a bound FilterSet and a rowid", -1);
    return;
  }
  sqlite3_result_int(ctx, set->Contains(sqlite3_value_int64(argv[1])) ? 1 : 0);
}

}  // namespace

void FilterSet::Add(int64_t id) {
  if (id < 0) return;
  const uint64_t i = static_cast<uint64_t>(id);
  if (i / 64 >= bits_.size()) bits_.resize(i / 64 + 1, 0);
  bits_[i / 64] |= uint64_t{1} << (i % 64);
}

void FilterSet::IntersectWith(const FilterSet& other) {
  if (bits_.size() > other.bits_.size()) bits_.resize(other.bits_.size());
  for (size_t w = 0; w < bits_.size(); ++w) bits_[w] &= other.bits_[w];
}

Result<std::shared_ptr<const FilterSet>> FilterCache::Get(
    Db& db, const std::vector<std::pair<FilterKind, std::string>>& filters) {
  // Inside the caller's read transaction: the version of the snapshot the search reads.
  LOOM_ASSIGN_OR_RETURN(Stmt version, db.Prepare("PRAGMA data_version"));
  LOOM_ASSIGN_OR_RETURN(bool row, version.Step());
  if (!row) return Internal("sqlite: no row from PRAGMA data_version");
  if (data_version_ != version.Int(0) || sets_.size() >= kMaxCachedSets) {
    sets_.clear();
    data_version_ = version.Int(0);
  }
  if (filters.size() == 1) return One(db, filters[0].first, filters[0].second);
  auto all = std::make_shared<FilterSet>();
  for (size_t i = 0; i < filters.size(); ++i) {
    LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const FilterSet> set,
                          One(db, filters[i].first, filters[i].second));
    if (i == 0) {
      *all = *set;
    } else {
      all->IntersectWith(*set);
    }
  }
  return std::shared_ptr<const FilterSet>(std::move(all));
}

Result<std::shared_ptr<const FilterSet>> FilterCache::One(Db& db, FilterKind kind,
                                                          const std::string& value) {
  auto key = std::make_pair(kind, value);
  if (auto it = sets_.find(key); it != sets_.end()) return it->second;
  LOOM_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare(SqlFor(kind)));
  stmt.Bind(1, value);
  auto set = std::make_shared<FilterSet>();
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    set->Add(stmt.Int(0));
  }
  sets_[key] = set;
  return std::shared_ptr<const FilterSet>(std::move(set));
}

Status RegisterFilterFunction(Db& db) {
  int rc = sqlite3_create_function_v2(db.get(), "loom_in_set", 2, SQLITE_UTF8 | SQLITE_INNOCUOUS,
                                      nullptr, &InSet, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db.get(), rc, "register function loom_in_set");
  return Status::Ok();
}

}  // namespace loom::catalog
