// The statement of a run: input aliases and built-in steps as common table expressions.

#include <algorithm>

#include "pipeline/pipeline.h"

namespace loom::pipeline {
namespace {

std::string Quote(std::string_view ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

bool Has(const std::vector<std::string>& cols, const std::string& c) {
  return std::find(cols.begin(), cols.end(), c) != cols.end();
}

// One step being composed: where it is (for messages) and its options.
struct StepContext {
  size_t index;
  const spec::TransformStep* step;
  std::string Where() const {
    return "transform.steps[" + std::to_string(index) + "] (" + step->kind + ")";
  }
  std::optional<std::string> Opt(const std::string& key) const {
    auto it = step->options.find(key);
    if (it == step->options.end() || it->second.empty()) return std::nullopt;
    return it->second;
  }
};

// ORDER BY for "first by time": the time column, then a total order so that ties are stable.
std::string TimeOrder(const std::string& time, const std::vector<std::string>& cols) {
  std::string order = Quote(time) + " NULLS LAST";
  if (Has(cols, "ce_partition") && Has(cols, "ce_offset")) {
    return order + ", \"ce_partition\", \"ce_offset\"";
  }
  for (const std::string& c : cols) {
    if (c != time) order += ", " + Quote(c);
  }
  return order;
}

}  // namespace

Result<std::string> ComposeSql(const spec::Transform& transform,
                               const std::vector<BoundInput>& inputs,
                               const std::map<std::string, std::vector<std::string>>& columns) {
  if (inputs.empty()) return InvalidArgument("transform: the product declares no input ports");
  std::vector<std::string> ctes;
  std::map<std::string, std::string> current;  // alias -> the CTE that holds it now
  std::map<std::string, std::vector<std::string>> cols = columns;
  for (const BoundInput& in : inputs) {
    std::string name = "__loom_in_" + in.alias;
    ctes.push_back(Quote(name) + " AS (" + in.select_sql + ")");
    current[in.alias] = name;
  }
  for (size_t i = 0; i < transform.steps.size(); ++i) {
    StepContext sc{i, &transform.steps[i]};
    std::string alias = sc.Opt("input").value_or(inputs.front().alias);
    auto cur = current.find(alias);
    if (cur == current.end()) {
      return InvalidArgument(sc.Where() + ": input '" + alias + "' is not an input alias");
    }
    std::vector<std::string>& c = cols[alias];
    auto need_column = [&](const std::string& option, const std::string& col) -> Status {
      if (Has(c, col)) return Status::Ok();
      return InvalidArgument(sc.Where() + ": " + option + " '" + col + "' is not a column of '" +
                             alias + "'");
    };
    std::string src = Quote(cur->second);
    std::string body;
    const std::string& kind = sc.step->kind;
    if (kind == "dedupe" || kind == "sessionize") {
      std::optional<std::string> key_text = sc.Opt("key");
      if (!key_text) return InvalidArgument(sc.Where() + ": option 'key' is required");
      std::vector<std::string> keys = SplitList(*key_text);
      std::string partition;
      for (const std::string& k : keys) {
        LOOM_RETURN_IF_ERROR(need_column("key", k));
        partition += (partition.empty() ? "" : ", ") + Quote(k);
      }
      std::optional<std::string> time = sc.Opt("time");
      if (!time && Has(c, "ce_time")) time = "ce_time";
      if (!time) {
        return InvalidArgument(sc.Where() + ": option 'time' is required ('" + alias +
                               "' has no ce_time)");
      }
      LOOM_RETURN_IF_ERROR(need_column("time", *time));
      std::string order = TimeOrder(*time, c);
      if (kind == "dedupe") {
        body = "SELECT * FROM " + src + " QUALIFY row_number() OVER (PARTITION BY " + partition +
               " ORDER BY " + order + ") = 1";
      } else {
        if (keys.size() != 1) {
          return InvalidArgument(sc.Where() + ": option 'key' names one column (the actor)");
        }
        std::optional<std::string> gap_text = sc.Opt("gap");
        if (!gap_text) return InvalidArgument(sc.Where() + ": option 'gap' is required (e.g. 30m)");
        Result<int64_t> gap = spec::ParseDurationMs(*gap_text);
        if (!gap.ok() || *gap <= 0) {
          return InvalidArgument(sc.Where() + ": gap '" + *gap_text +
                                 "' is not a positive duration (e.g. 30m)");
        }
        if (Has(c, "session_id") || Has(c, "session_start")) {
          return InvalidArgument(sc.Where() + ": '" + alias +
                                 "' already has a session_id or session_start column");
        }
        std::string t = Quote(*time);
        std::string w = "OVER (PARTITION BY " + partition + " ORDER BY " + order + ")";
        body = "SELECT * EXCLUDE (__loom_new), CAST(" + partition + " AS VARCHAR) || '#' || " +
               "CAST(epoch_ms(session_start) AS VARCHAR) AS session_id FROM (SELECT *, " +
               "max(CASE WHEN __loom_new THEN " + t + " END) OVER (PARTITION BY " + partition +
               " ORDER BY " + order + " ROWS UNBOUNDED PRECEDING) AS session_start FROM (" +
               "SELECT *, (lag(" + t + ") " + w + " IS NULL OR " + t + " - lag(" + t + ") " + w +
               " > to_milliseconds(" + std::to_string(*gap) + ")) AS __loom_new FROM " + src + "))";
        c.push_back("session_start");
        c.push_back("session_id");
      }
    } else if (kind == "enrich") {
      std::optional<std::string> lookup = sc.Opt("lookup");
      if (!lookup) return InvalidArgument(sc.Where() + ": option 'lookup' is required");
      auto lk = current.find(*lookup);
      if (lk == current.end() || *lookup == alias) {
        return InvalidArgument(sc.Where() + ": lookup '" + *lookup +
                               "' is not another input alias");
      }
      std::optional<std::string> on = sc.Opt("on");
      if (!on) return InvalidArgument(sc.Where() + ": option 'on' is required");
      std::string left = *on, right = *on;
      if (size_t eq = on->find('='); eq != std::string::npos) {
        left = SplitList(on->substr(0, eq)).empty() ? "" : SplitList(on->substr(0, eq))[0];
        right = SplitList(on->substr(eq + 1)).empty() ? "" : SplitList(on->substr(eq + 1))[0];
      }
      LOOM_RETURN_IF_ERROR(need_column("on", left));
      const std::vector<std::string>& lc = cols[*lookup];
      if (!Has(lc, right)) {
        return InvalidArgument(sc.Where() + ": on '" + right + "' is not a column of '" + *lookup +
                               "'");
      }
      std::vector<std::string> add;
      if (std::optional<std::string> list = sc.Opt("columns")) {
        add = SplitList(*list);
        for (const std::string& a : add) {
          if (!Has(lc, a)) {
            return InvalidArgument(sc.Where() + ": column '" + a + "' is not a column of '" +
                                   *lookup + "'");
          }
        }
      } else {
        for (const std::string& a : lc) {
          if (a != right && !a.starts_with("ce_")) add.push_back(a);
        }
      }
      // The first lookup row per key, so that enrichment never multiplies rows.
      std::string lookup_order;
      for (const std::string& col : lc)
        lookup_order += (lookup_order.empty() ? "" : ", ") + Quote(col);
      std::string lookup_rows = "(SELECT * FROM " + Quote(lk->second) +
                                " QUALIFY row_number() OVER (PARTITION BY " + Quote(right) +
                                " ORDER BY " + lookup_order + ") = 1)";
      body = "SELECT __loom_s.*";
      for (const std::string& a : add) {
        if (Has(c, a)) {
          return InvalidArgument(sc.Where() + ": column '" + a + "' is already a column of '" +
                                 alias + "'");
        }
        body += ", __loom_l." + Quote(a);
      }
      body += " FROM " + src + " __loom_s LEFT JOIN " + lookup_rows + " __loom_l ON __loom_s." +
              Quote(left) + " = __loom_l." + Quote(right);
      for (const std::string& a : add) c.push_back(a);
    } else {
      return InvalidArgument(sc.Where() +
                             ": unknown step kind (expected dedupe, sessionize or "
                             "enrich)");
    }
    std::string name = "__loom_s" + std::to_string(i) + "_" + alias;
    ctes.push_back(Quote(name) + " AS (" + body + ")");
    cur->second = name;
  }
  for (const BoundInput& in : inputs) {
    ctes.push_back(Quote(in.alias) + " AS (SELECT * FROM " + Quote(current[in.alias]) + ")");
  }
  std::string sql = "WITH ";
  for (size_t i = 0; i < ctes.size(); ++i) sql += (i ? ",\n" : "") + ctes[i];
  std::string body = transform.sql;
  while (!body.empty() &&
         (body.back() == ';' || std::isspace(static_cast<unsigned char>(body.back())))) {
    body.pop_back();
  }
  return sql + "\nSELECT * FROM (\n" + body + "\n)";
}

}  // namespace loom::pipeline
