#include "engine/front_door.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include <nlohmann/json.hpp>

namespace loom::engine {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// Built-in functions live in system.main; DuckDB itself qualifies some (list_value).
bool IsSystemQualifier(const std::string& schema, const std::string& catalog) {
  return (schema.empty() || Lower(schema) == "main") &&
         (catalog.empty() || Lower(catalog) == "system");
}

class Checker {
 public:
  explicit Checker(const std::set<std::string>& relations) : relations_(relations) {}

  Status Walk(const json& j) {
    if (j.is_array()) {
      for (const auto& e : j) LOOM_RETURN_IF_ERROR(Walk(e));
      return Status::Ok();
    }
    if (!j.is_object()) return Status::Ok();

    const std::string type = Str(j, "type");
    const std::string cls = Str(j, "class");

    // A query node with common table expressions: each CTE body sees the CTEs before it; the
    // rest of the node sees all of them. (Narrower than DuckDB where unsure: refusing a valid
    // query is safe, resolving a name to the catalog that we took for a CTE is not.)
    if (type == "RECURSIVE_CTE_NODE" && !in_recursive_) {
      scope_.push_back(Lower(Str(j, "cte_name")));
      in_recursive_ = true;
      Status s = Walk(j);
      in_recursive_ = false;
      scope_.pop_back();
      return s;
    }
    in_recursive_ = false;
    auto cte = j.find("cte_map");
    if (cte != j.end() && cte->is_object()) {
      size_t depth = scope_.size();
      const json& map = (*cte)["map"];
      if (map.is_array()) {
        for (const auto& entry : map) {
          LOOM_RETURN_IF_ERROR(Walk(entry["value"]));
          scope_.push_back(Lower(Str(entry, "key")));
        }
      }
      Status s = WalkMembers(j, "cte_map");
      scope_.resize(depth);
      return s;
    }
    if (type == "BASE_TABLE") return CheckTable(j);
    if (type == "TABLE_FUNCTION") {
      const json& f = j["function"];
      std::string name = Lower(Str(f, "function_name"));
      if (!IsSystemQualifier(Str(f, "schema"), Str(f, "catalog")) ||
          !IsAllowedTableFunction(name)) {
        return PermissionDenied("table function " + SafeName(name) +
                                "() is not allowed: query relations by their names");
      }
      return WalkMembers(f, nullptr);
    }
    if (type == "SHOW_REF") {
      return PermissionDenied("DESCRIBE, SHOW and SUMMARIZE are not allowed");
    }
    if (cls == "FUNCTION") {
      std::string name = Lower(Str(j, "function_name"));
      if (!IsSystemQualifier(Str(j, "schema"), Str(j, "catalog"))) {
        return PermissionDenied("qualified function names are not allowed (" + SafeName(name) +
                                ")");
      }
      if (IsDeniedScalarFunction(name)) {
        return PermissionDenied("function " + SafeName(name) + "() is not allowed");
      }
    }
    return WalkMembers(j, nullptr);
  }

 private:
  Status WalkMembers(const json& j, const char* skip) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (skip != nullptr && it.key() == skip) continue;
      LOOM_RETURN_IF_ERROR(Walk(it.value()));
    }
    return Status::Ok();
  }

  Status CheckTable(const json& j) {
    std::string catalog = Lower(Str(j, "catalog_name"));
    std::string schema = Lower(Str(j, "schema_name"));
    std::string table = Lower(Str(j, "table_name"));
    if (catalog.empty() && schema.empty() &&
        std::find(scope_.begin(), scope_.end(), table) != scope_.end()) {
      return Status::Ok();
    }
    if (!catalog.empty() && !schema.empty() &&
        relations_.count(catalog + "." + schema + "." + table) > 0 && j["at_clause"].is_null()) {
      return Status::Ok();
    }
    std::string shown = catalog.empty() ? "" : catalog + ".";
    shown += schema.empty() ? "" : schema + ".";
    shown += table;
    if (table.find_first_of("/\\.:") != std::string::npos) {
      return PermissionDenied(
          "reading files by path is not allowed: query relations as <domain>.<product>.<port>");
    }
    return PermissionDenied("relation " + SafeName(shown) +
                            " is not one of this session's relations "
                            "(name them as <domain>.<product>.<port>)");
  }

  const std::set<std::string>& relations_;
  std::vector<std::string> scope_;
  bool in_recursive_ = false;  // the recursive node's own name is already in scope
};

}  // namespace

bool IsAllowedTableFunction(std::string_view n) {
  return n == "range" || n == "generate_series" || n == "unnest";
}

bool IsDeniedScalarFunction(std::string_view n) {
  static constexpr std::array<std::string_view, 14> kDenied = {
      "current_setting",    "getvariable",          "format_type",         "get_block_size",
      "json_serialize_sql", "json_deserialize_sql", "json_serialize_plan", "current_database",
      "current_catalog",    "current_schema",       "current_schemas",     "current_query",
      "write_log",          "in_search_path"};
  if (std::find(kDenied.begin(), kDenied.end(), n) != kDenied.end()) return true;
  return n.starts_with("duckdb_") || n.starts_with("pg_") || n.starts_with("has_") ||
         n.starts_with("pragma_") || n.ends_with("_description");
}

Status CheckParseTree(std::string_view serialized, const std::set<std::string>& relations) {
  json tree = json::parse(serialized, nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded() || !tree.is_object()) return Internal("unreadable parse tree");
  if (tree.value("error", true)) {
    std::string message = Str(tree, "error_message");
    if (message.find("Only SELECT") != std::string::npos) {
      return PermissionDenied("only SELECT queries are allowed");
    }
    return InvalidArgument(message);
  }
  const json& statements = tree["statements"];
  if (!statements.is_array() || statements.size() != 1) {
    return PermissionDenied("exactly one statement per query is allowed");
  }
  return Checker(relations).Walk(statements[0]);
}

std::string FirstKeyword(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    unsigned char c = static_cast<unsigned char>(sql[i]);
    if (std::isspace(c) || c == '(' || c == ';') {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else if (sql.substr(i, 2) == "/*") {
      size_t end = sql.find("*/", i + 2);
      i = end == std::string_view::npos ? sql.size() : end + 2;
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) {
    word.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i]))));
    ++i;
  }
  return word;
}

std::string SafeName(std::string_view name) {
  bool plain = !name.empty() && name.size() <= 128 &&
               std::all_of(name.begin(), name.end(),
                           [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '.'; });
  return plain ? "'" + std::string(name) + "'" : "(a quoted name)";
}

}  // namespace loom::engine
