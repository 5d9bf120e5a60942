// Session::Impl::Build: the per-session database, its views and its sealed settings.

#include <algorithm>
#include <filesystem>
#include <random>

#include "engine/engine.h"
#include "engine/handles.h"
#include "engine/session_impl.h"
#include "engine/stream_tier_impl.h"

namespace loom::engine {
namespace {

bool IsSqlWord(std::string_view s) {
  return !s.empty() && s.size() <= 63 && std::isalpha(static_cast<unsigned char>(s[0])) &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) {
           return std::islower(c) || std::isdigit(c) || c == '_';
         });
}

std::string SqlList(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + QuoteString(items[i]);
  return s + "]";
}

// The view over one relation. A mask replaces its column for every use; with a row filter each
// column is also NULL on rows outside the filter, so that a user predicate that the optimizer
// evaluates before the filter (and that may fail, e.g. a cast) never sees a hidden row's value.
std::string ViewSelect(const Relation& r) {
  std::string select;
  for (size_t i = 0; i < r.columns.size(); ++i) {
    const RelationColumn& c = r.columns[i];
    std::string e = c.mask.empty() ? QuoteIdent(c.name) : "(" + c.mask + ")";
    if (r.files.empty()) e = "CAST(NULL AS " + c.type + ")";
    if (!r.row_filter.empty() && !r.files.empty()) {
      e = "CASE WHEN (" + r.row_filter + ") THEN " + e + " END";
    }
    select += (i ? ", " : "") + e + " AS " + QuoteIdent(c.name);
  }
  if (r.files.empty()) return "SELECT " + select + " WHERE false";
  std::string from = "read_parquet(" + SqlList(r.files) + ")";
  if (!r.record_partitions.empty()) {
    // A stream slice: the staging lines of each partition, typed as the tier types them.
    std::vector<RelationColumn> data(r.columns.begin() + kStreamEnvelopeColumns, r.columns.end());
    from.clear();
    for (size_t i = 0; i < r.files.size(); ++i) {
      from +=
          (i ? " UNION ALL " : "") + SelectFromStaging(r.record_partitions[i], data, r.files[i]);
    }
    from = "(" + from + ")";
  }
  std::string sql = "SELECT " + select + " FROM " + from;
  if (!r.row_filter.empty()) sql += " WHERE (" + r.row_filter + ")";
  return sql;
}

}  // namespace

std::string RandomHex() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> d;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(d(rd)));
  return buf;
}

// Seal: no file outside the relations' own (and the private export directory), no setting
// change from here on. The front door keeps user SQL from naming even those files.
Status SealDatabase(Connection& trusted, const std::vector<std::string>& files,
                    const std::string& out_dir, bool rewritten_files) {
  std::string seal = "SET TimeZone = 'UTC';\n";
  if (rewritten_files) seal += "SET enable_external_file_cache = false;\n";
  if (!files.empty()) seal += "SET allowed_paths = " + SqlList(files) + ";\n";
  if (!out_dir.empty()) seal += "SET allowed_directories = " + SqlList({out_dir}) + ";\n";
  seal +=
      "SET enable_external_access = false;\n"
      "SET lock_configuration = true;";
  return trusted.Execute(seal);
}

Status OpenSealedFiles(Relation& r, std::vector<std::unique_ptr<MemFile>>* plain_files) {
  if (r.file_aads.empty()) return Status::Ok();
  if (r.cipher == nullptr) {
    return FailedPrecondition("relation '" + r.sql_name +
                              "' is encrypted at rest and no key was given (is the master key "
                              "configured?)");
  }
  if (r.file_aads.size() != r.files.size()) {
    return InvalidArgument("relation '" + r.sql_name + "': one AAD per encrypted file is needed");
  }
  for (size_t i = 0; i < r.files.size(); ++i) {
    const std::string name = std::filesystem::path(r.files[i]).filename().string();
    Result<std::unique_ptr<MemFile>> plain =
        OpenSealedFile(*FileSystem::Default(), *r.cipher, r.files[i], r.file_aads[i], name);
    if (!plain.ok()) return plain.status().WithPrefix("relation '" + r.sql_name + "'");
    r.files[i] = (*plain)->path();
    plain_files->push_back(std::move(*plain));
  }
  r.cipher = nullptr;  // not needed past Open
  return Status::Ok();
}

Status Session::Impl::Build() {
  for (Relation& r : options.relations) LOOM_RETURN_IF_ERROR(OpenSealedFiles(r, &plain_files));
  struct Parts {
    std::string domain, product, port;
  };
  std::vector<Parts> parts;
  for (const Relation& r : options.relations) {
    std::vector<std::string> p;
    size_t start = 0;
    for (size_t dot = r.sql_name.find('.');; dot = r.sql_name.find('.', start)) {
      p.push_back(r.sql_name.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (p.size() != 3 || !std::all_of(p.begin(), p.end(), IsSqlWord)) {
      return InvalidArgument("relation name '" + r.sql_name +
                             "' is not <domain>.<product>.<port> in lower case with underscores");
    }
    if (!relation_names.insert(r.sql_name).second) {
      return InvalidArgument("relation '" + r.sql_name + "' is listed twice");
    }
    if (r.columns.empty()) return InvalidArgument("relation '" + r.sql_name + "' has no columns");
    if (!r.record_partitions.empty() && (r.record_partitions.size() != r.files.size() ||
                                         r.columns.size() <= kStreamEnvelopeColumns)) {
      return InvalidArgument("relation '" + r.sql_name +
                             "': a stream slice needs one partition per file and the stream "
                             "columns");
    }
    for (const RelationColumn& c : r.columns) {
      if (c.name.empty() || c.type.empty()) {
        return InvalidArgument("relation '" + r.sql_name + "': a column has no name or type");
      }
      if (!c.mask.empty()) secrets.push_back(c.mask);
    }
    if (!r.row_filter.empty()) secrets.push_back(r.row_filter);
    for (const std::string& f : r.files) {
      secrets.push_back(f);
      std::string dir = std::filesystem::path(f).parent_path().string();
      if (dir.size() > 1) secrets.push_back(dir);
    }
    parts.push_back({p[0], p[1], p[2]});
  }
  // Longest first, so that a file path is hidden whole before its directory.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });

  DatabaseOptions db_options;
  db_options.threads = options.threads;
  db_options.memory_limit = options.memory_limit;
  if (!plain_files.empty()) {
    // Decrypted data: no spill files, and Parquet exports into memory.
    db_options.config.emplace_back("temp_directory", "");
    LOOM_ASSIGN_OR_RETURN(export_file, MemFile::Create("loom-session-export"));
    secrets.push_back(export_file->path());
  } else if (!options.scratch_dir.empty()) {
    out_dir = options.scratch_dir + "/loom-session-" + RandomHex();
    std::error_code ec;
    std::filesystem::create_directories(out_dir + "/spill", ec);
    if (ec) return Internal("cannot create session scratch directory: " + ec.message());
    db_options.temp_directory = out_dir + "/spill";
    secrets.push_back(out_dir);
    secrets.push_back(options.scratch_dir);
  }
  LOOM_ASSIGN_OR_RETURN(db, Database::Open(db_options));
  LOOM_ASSIGN_OR_RETURN(trusted, db->Connect());
  LOOM_ASSIGN_OR_RETURN(user, db->Connect());

  std::set<std::string> domains, schemas;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Parts& p = parts[i];
    std::string sql;
    if (domains.insert(p.domain).second) {
      sql += "ATTACH ':memory:' AS " + QuoteIdent(p.domain) + ";\n";
    }
    if (schemas.insert(p.domain + "." + p.product).second) {
      sql += "CREATE SCHEMA " + QuoteIdent(p.domain) + "." + QuoteIdent(p.product) + ";\n";
    }
    sql += "CREATE VIEW " + QuoteIdent(p.domain) + "." + QuoteIdent(p.product) + "." +
           QuoteIdent(p.port) + " AS " + ViewSelect(options.relations[i]);
    Status s = trusted->Execute(sql);
    if (!s.ok()) {
      return InvalidArgument("relation '" + options.relations[i].sql_name +
                             "': " + Scrub(s.message()));
    }
  }

  std::vector<std::string> files;
  bool slices = false;
  for (const Relation& r : options.relations) {
    files.insert(files.end(), r.files.begin(), r.files.end());
    slices = slices || !r.record_partitions.empty();
  }
  if (export_file != nullptr) files.push_back(export_file->path());
  Status s = SealDatabase(*trusted, files, out_dir, slices);
  if (!s.ok()) return Internal("cannot seal the session: " + Scrub(s.message()));
  return Status::Ok();
}

}  // namespace loom::engine
