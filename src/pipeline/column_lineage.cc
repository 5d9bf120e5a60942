// Column-level lineage from DuckDB's parse tree (json_serialize_sql) of a transform's SQL.

#include <algorithm>

#include "engine/engine.h"
#include "pipeline/pipeline.h"

namespace loom::pipeline {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The columns one relation of a FROM clause offers: name -> the input columns behind it.
using Columns = std::vector<std::pair<std::string, std::set<ColumnSource>>>;

class Walker {
 public:
  explicit Walker(std::map<std::string, Columns> inputs) {
    for (auto& [alias, cols] : inputs) base_[Lower(alias)] = std::move(cols);
  }

  // The output columns of a query node.
  Columns Node(const json& node, std::vector<std::map<std::string, Columns>> ctes) {
    if (!node.is_object()) return {};
    std::map<std::string, Columns> scope;
    if (auto cm = node.find("cte_map"); cm != node.end() && (*cm)["map"].is_array()) {
      for (const json& entry : (*cm)["map"]) {
        ctes.push_back(scope);
        Columns c = Node(entry["value"]["query"]["node"], ctes);
        ctes.pop_back();
        scope[Lower(Str(entry, "key"))] = std::move(c);
      }
    }
    ctes.push_back(scope);
    std::string type = Str(node, "type");
    if (type == "SET_OPERATION_NODE") {
      Columns left = Node(node["left"], ctes), right = Node(node["right"], ctes);
      for (size_t i = 0; i < left.size() && i < right.size(); ++i) {
        left[i].second.insert(right[i].second.begin(), right[i].second.end());
      }
      return left;
    }
    if (type != "SELECT_NODE") return {};
    std::vector<std::pair<std::string, Columns>> from;  // relation alias -> columns
    From(node["from_table"], ctes, from);
    Columns out;
    size_t position = 0;
    for (const json& e : node["select_list"]) {
      ++position;
      if (Str(e, "class") == "STAR") {
        std::set<std::string> exclude;
        if (e["exclude_list"].is_array()) {
          for (const json& x : e["exclude_list"]) {
            if (x.is_string()) exclude.insert(Lower(x.get<std::string>()));
          }
        }
        std::string rel = Lower(Str(e, "relation_name"));
        for (const auto& [name, cols] : from) {
          if (!rel.empty() && name != rel) continue;
          for (const auto& col : cols) {
            if (!exclude.count(Lower(col.first))) out.push_back(col);
          }
        }
        continue;
      }
      std::set<ColumnSource> sources;
      Expr(e, from, ctes, sources);
      std::string name = Str(e, "alias");
      if (name.empty() && Str(e, "class") == "COLUMN_REF" && e["column_names"].is_array() &&
          !e["column_names"].empty()) {
        name = e["column_names"].back().get<std::string>();
      }
      if (name.empty()) name = "#" + std::to_string(position);
      out.push_back({name, std::move(sources)});
    }
    return out;
  }

 private:
  void From(const json& t, const std::vector<std::map<std::string, Columns>>& ctes,
            std::vector<std::pair<std::string, Columns>>& out) {
    if (!t.is_object()) return;
    std::string type = Str(t, "type");
    std::string alias = Lower(Str(t, "alias"));
    if (type == "JOIN") {
      From(t["left"], ctes, out);
      From(t["right"], ctes, out);
    } else if (type == "BASE_TABLE") {
      std::string name = Lower(Str(t, "table_name"));
      const Columns* found = nullptr;
      for (auto it = ctes.rbegin(); it != ctes.rend() && !found; ++it) {
        if (auto c = it->find(name); c != it->end()) found = &c->second;
      }
      if (!found) {
        if (auto b = base_.find(name); b != base_.end()) found = &b->second;
      }
      if (found) out.push_back({alias.empty() ? name : alias, *found});
    } else if (type == "SUBQUERY") {
      out.push_back({alias, Node(t["subquery"]["node"], ctes)});
    }
  }

  void Expr(const json& e, const std::vector<std::pair<std::string, Columns>>& from,
            const std::vector<std::map<std::string, Columns>>& ctes, std::set<ColumnSource>& out) {
    if (e.is_array()) {
      for (const json& x : e) Expr(x, from, ctes, out);
      return;
    }
    if (!e.is_object()) return;
    std::string cls = Str(e, "class");
    if (cls == "COLUMN_REF" && e["column_names"].is_array()) {
      std::vector<std::string> names;
      for (const json& n : e["column_names"]) names.push_back(Lower(n.get<std::string>()));
      for (const auto& [rel, cols] : from) {
        // t.c names relation t; c alone any relation (a struct path t.c.f counts as t.c).
        bool qualified = names.size() >= 2 && rel == names[0];
        const std::string& col = qualified ? names[1] : names[0];
        for (const auto& c : cols) {
          if (Lower(c.first) == col) out.insert(c.second.begin(), c.second.end());
        }
        if (qualified) break;
      }
      return;
    }
    if (cls == "SUBQUERY") {
      for (const auto& c : Node(e["subquery"]["node"], ctes)) {
        out.insert(c.second.begin(), c.second.end());
      }
      Expr(e["child"], from, ctes, out);
      return;
    }
    for (const auto& [key, value] : e.items()) {
      if (value.is_object() || value.is_array()) Expr(value, from, ctes, out);
    }
  }

  std::map<std::string, Columns> base_;
};

// Each alias's columns after the built-in steps, with where each comes from.
std::map<std::string, Columns> StepColumns(
    const spec::Transform& transform,
    const std::map<std::string, std::vector<std::string>>& columns) {
  std::map<std::string, Columns> out;
  for (const auto& [alias, cols] : columns) {
    for (const std::string& c : cols) out[alias].push_back({c, {{alias, c}}});
  }
  auto opt = [](const spec::TransformStep& s, const char* key) {
    auto it = s.options.find(key);
    return it == s.options.end() ? std::string() : it->second;
  };
  auto find = [](const Columns& cols, const std::string& name) -> std::set<ColumnSource> {
    for (const auto& c : cols) {
      if (c.first == name) return c.second;
    }
    return {};
  };
  std::string first = columns.empty() ? "" : columns.begin()->first;
  for (const spec::TransformStep& s : transform.steps) {
    std::string alias = opt(s, "input");
    if (alias.empty()) alias = first;
    if (!out.count(alias)) continue;
    Columns& cols = out[alias];
    if (s.kind == "sessionize") {
      std::set<ColumnSource> key = find(cols, opt(s, "key"));
      std::string time_col = opt(s, "time").empty() ? "ce_time" : opt(s, "time");
      std::set<ColumnSource> time = find(cols, time_col);
      std::set<ColumnSource> both = key;
      both.insert(time.begin(), time.end());
      cols.push_back({"session_start", both});
      cols.push_back({"session_id", both});
    } else if (s.kind == "enrich") {
      std::string lookup = opt(s, "lookup");
      if (!out.count(lookup)) continue;
      std::string on = opt(s, "on");
      std::string right = on.find('=') == std::string::npos ? on : on.substr(on.find('=') + 1);
      right.erase(0, right.find_first_not_of(' '));
      std::vector<std::string> add;
      std::string list = opt(s, "columns");
      if (!list.empty()) {
        size_t start = 0;
        while (start <= list.size()) {
          size_t comma = list.find(',', start);
          std::string part =
              list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
          part.erase(0, part.find_first_not_of(' '));
          part.erase(part.find_last_not_of(' ') + 1);
          if (!part.empty()) add.push_back(part);
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      } else {
        for (const auto& c : out[lookup]) {
          if (c.first != right && !c.first.starts_with("ce_")) add.push_back(c.first);
        }
      }
      Columns lookup_cols = out[lookup];
      for (const std::string& a : add) cols.push_back({a, find(lookup_cols, a)});
    }
  }
  return out;
}

}  // namespace

Result<ColumnLineage> DeriveColumnLineage(
    engine::Connection& conn, const spec::Transform& transform,
    const std::map<std::string, std::vector<std::string>>& columns) {
  const std::string& sql = transform.sql;
  LOOM_ASSIGN_OR_RETURN(
      engine::Rows rows,
      conn.QueryRows("SELECT json_serialize_sql(" + engine::QuoteString(sql) + ")", 1));
  if (rows.size() != 1 || !rows.text[0][0]) return Internal("json_serialize_sql returned nothing");
  json tree = json::parse(*rows.text[0][0], nullptr, /*allow_exceptions=*/false);
  if (tree.is_discarded()) return Internal("json_serialize_sql returned invalid JSON");
  if (tree.value("error", false)) {
    return InvalidArgument("transform.sql: " +
                           tree.value("error_message", std::string("syntax error")));
  }
  if (!tree["statements"].is_array() || tree["statements"].size() != 1) {
    return InvalidArgument("transform.sql: expected exactly one SELECT statement");
  }
  Walker w(StepColumns(transform, columns));
  ColumnLineage out;
  for (auto& [name, sources] : w.Node(tree["statements"][0]["node"], {})) {
    out[name].insert(sources.begin(), sources.end());
  }
  return out;
}

}  // namespace loom::pipeline
