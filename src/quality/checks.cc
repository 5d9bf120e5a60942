// Expectations compiled to DuckDB SQL. Every kind that reads the data is a scalar subquery of
// ONE query, each over the checked relation with its own WHERE: DuckDB reads only the columns a
// check needs and pushes its filter into the Parquet scan (row-group statistics, dictionaries),
// which costs less than FILTERed counts over a shared scan of every column. A unique key is first
// checked on 64-bit hashes (loom_repeated_values, engine/distinct_count.h): no repeated hash
// proves it unique; otherwise the exact count(DISTINCT) runs, over the rows whose hash repeats
// when those are few. Samples and custom SQL run as extra queries only when they are needed.

#include <chrono>
#include <cmath>
#include <set>

#include "quality/quality.h"

namespace loom::quality {
namespace {

using nlohmann::json;

// `device.os` -> t."device"."os"
std::string FieldRef(const std::string& path) {
  std::string out = "t";
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    out +=
        "." + engine::QuoteIdent(path.substr(start, dot == std::string::npos ? dot : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string FieldList(const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& f : fields) out += (out.empty() ? "" : ", ") + FieldRef(f);
  return out;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string NumText(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

const spec::Field* TopField(const spec::DataProduct& p, const std::string& path) {
  return p.schema.Find(path.substr(0, path.find('.')));
}

bool IsTemporal(const spec::DataProduct& p, const std::string& path) {
  const spec::Field* f = TopField(p, path);
  return f != nullptr && path.find('.') == std::string::npos &&
         (f->type.kind == spec::TypeKind::kDate || f->type.kind == spec::TypeKind::kTimestamp);
}

// One compiled expectation: a scalar subquery of the check query and how to read its value.
struct Compiled {
  const spec::Expectation* e = nullptr;
  std::string value;      // "" = no column in the check query (sql, row_count(_change))
  std::string predicate;  // row-level kinds: true for a failing row of `t`
  std::string exact;      // unique: the exact duplicate count, run when `value` is not 0
  std::string sample_sql;
  // unique: the parts of the queries over the rows whose key hash repeats.
  std::string narrowed;  // `present AND hash(key) IN (` + hashes + `)`: the rows to look at
  std::string distinct_key, key;
  std::string field;  // referential: the checked field (its samples are narrowed by value)
};

Result<Compiled> Compile(const CheckInput& in, const spec::Expectation& e) {
  Compiled c;
  c.e = &e;
  const std::string rel = in.relation.sql_name;
  const std::string& k = e.kind;
  const std::string f0 = e.fields.empty() ? "" : FieldRef(e.fields[0]);
  if (k == "not_null") {
    for (const std::string& f : e.fields) {
      c.predicate += (c.predicate.empty() ? "" : " OR ") + FieldRef(f) + " IS NULL";
    }
  } else if (k == "unique") {
    // Rows with a null in the key are not duplicates (as SQL's UNIQUE).
    const std::string key = FieldList(e.fields);
    std::string present;
    for (const std::string& f : e.fields) {
      present += (present.empty() ? "" : " AND ") + FieldRef(f) + " IS NOT NULL";
    }
    // The hashes of the present keys that repeat: none proves the key unique (equal keys hash
    // equal); some are real duplicates or a collision, and `exact` tells which.
    const std::string from = " FROM " + rel + " AS t";
    c.value = "(SELECT loom_repeated_values(CASE WHEN " + present + " THEN hash(" + key + ") END)" +
              from + ")";
    if (e.fields.size() == 1) {
      c.exact = "SELECT count(" + key + ") - count(DISTINCT " + key + ")" + from;
    } else {
      c.exact = "SELECT count(*) FILTER (WHERE " + present + ") - count(DISTINCT CASE WHEN " +
                present + " THEN row(" + key + ") END)" + from;
    }
    c.sample_sql = "SELECT t.* FROM " + rel + " AS t WHERE " + present +
                   " QUALIFY count(*) OVER (PARTITION BY " + key + ") > 1 ORDER BY " + key;
    c.narrowed = present + " AND hash(" + key + ") IN (";
    c.distinct_key = e.fields.size() == 1 ? key : "row(" + key + ")";
    c.key = key;
  } else if (k == "accepted_values") {
    std::string list;
    for (const std::string& v : e.values)
      list += (list.empty() ? "" : ", ") + engine::QuoteString(v);
    c.predicate = f0 + " IS NOT NULL AND CAST(" + f0 + " AS VARCHAR) NOT IN (" + list + ")";
  } else if (k == "range") {
    const std::string v = IsTemporal(in.product, e.fields[0]) ? "epoch(" + f0 + ")" : f0;
    std::string out;
    if (e.min) out += v + " < " + Num(*e.min);
    if (e.max) out += (out.empty() ? "" : " OR ") + v + " > " + Num(*e.max);
    c.predicate = f0 + " IS NOT NULL AND (" + out + ")";
  } else if (k == "pattern") {
    c.predicate = f0 + " IS NOT NULL AND NOT regexp_full_match(" + f0 + ", " +
                  engine::QuoteString(*e.pattern) + ")";
  } else if (k == "row_count" || k == "row_count_change") {
    // Read from the row count of the check query.
  } else if (k == "freshness") {
    c.value = "(SELECT epoch_us(CAST(max(" + f0 + ") AS TIMESTAMPTZ)) FROM " + rel + " AS t)";
  } else if (k == "referential") {
    const std::string ref_name = e.reference->SqlName();
    const std::string rf = engine::QuoteIdent(e.reference_field);
    // NOT IN over the non-null reference keys: DuckDB's mark join, no DISTINCT of the keys.
    c.predicate = f0 + " IS NOT NULL AND " + f0 + " NOT IN (SELECT " + rf + " FROM " + ref_name +
                  " WHERE " + rf + " IS NOT NULL)";
    c.field = f0;
  } else if (k == "sql") {
    std::string sql = e.sql;
    while (!sql.empty() &&
           (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';')) {
      sql.pop_back();
    }
    c.sample_sql = sql;
  } else {
    return InvalidArgument("expectation '" + e.name + "': unknown kind '" + k + "'");
  }
  if (!c.predicate.empty()) {
    c.value = "(SELECT count(*) FROM " + rel + " AS t WHERE " + c.predicate + ")";
    if (c.sample_sql.empty()) {
      c.sample_sql = "SELECT t.* FROM " + rel + " AS t WHERE " + c.predicate;
    }
  }
  return c;
}

// Failing rows as JSON objects, pii fields of the schema redacted ("***").
json Redacted(const spec::DataProduct& product, json rows) {
  for (json& row : rows) {
    for (auto it = row.begin(); it != row.end(); ++it) {
      const spec::Field* f = product.schema.Find(it.key());
      if (f != nullptr && f->pii && !it.value().is_null()) it.value() = "***";
    }
  }
  return rows;
}

// An age for people: its two largest units, "6d 2h", "3m 5s", "0s".
std::string Age(int64_t ms) {
  const int64_t units[] = {86400000, 3600000, 60000, 1000};
  const char* names[] = {"d", "h", "m", "s"};
  std::string out;
  int shown = 0;
  for (int i = 0; i < 4 && shown < 2; ++i) {
    const int64_t n = ms / units[i];
    if (n == 0 && out.empty()) continue;
    if (n > 0) out += (out.empty() ? "" : " ") + std::to_string(n) + names[i];
    ms -= n * units[i];
    ++shown;
  }
  return out.empty() ? "0s" : out;
}

std::string Plural(uint64_t n, const std::string& what) { return std::to_string(n) + " " + what; }

}  // namespace

std::string_view ToString(Outcome o) {
  switch (o) {
    case Outcome::kPassed:
      return "passed";
    case Outcome::kWarned:
      return "warned";
    case Outcome::kBlocked:
      return "blocked";
  }
  return "passed";
}

Outcome CheckReport::outcome() const {
  Outcome o = Outcome::kPassed;
  for (const ExpectationResult& r : results) {
    if (r.passed) continue;
    if (r.severity == spec::Severity::kBlock) return Outcome::kBlocked;
    o = Outcome::kWarned;
  }
  return o;
}

std::string CheckReport::BlockMessage() const {
  std::string msg = "quality: " + label + " of " + address + " failed";
  size_t blocking = 0;
  for (const ExpectationResult& r : results)
    blocking += !r.passed && r.severity == spec::Severity::kBlock;
  msg += " " + std::to_string(blocking) + " blocking expectation(s) (" + std::to_string(rows) +
         " rows checked); version not published, the previous version stays current";
  for (int pass = 0; pass < 2; ++pass) {
    for (const ExpectationResult& r : results) {
      if (r.passed || (r.severity == spec::Severity::kBlock) != (pass == 0)) continue;
      msg += "\n  " + std::string(pass == 0 ? "block" : "warn") + " " + r.name + " (" + r.kind +
             "): " + r.detail;
      for (const json& row : r.samples) msg += "\n    sample: " + row.dump();
    }
  }
  return msg;
}

json CheckReport::ToJson() const {
  json results_json = json::array();
  for (const ExpectationResult& r : results) {
    json j = {{"name", r.name},
              {"kind", r.kind},
              {"severity", std::string(spec::ToString(r.severity))},
              {"passed", r.passed},
              {"failing", r.failing},
              {"detail", r.detail},
              {"samples", r.samples}};
    results_json.push_back(std::move(j));
  }
  return {{"address", address},     {"label", label},
          {"rows", rows},           {"completeness", completeness},
          {"seconds", seconds},     {"outcome", std::string(ToString(outcome()))},
          {"results", results_json}};
}

std::vector<const spec::Expectation*> ExpectationsFor(const spec::DataProduct& product,
                                                      const std::string& port) {
  std::string fallback;
  for (const spec::OutputPort& p : product.output_ports) {
    if (p.kind == spec::PortKind::kTable) {
      fallback = p.name;
      break;
    }
  }
  if (fallback.empty() && !product.output_ports.empty()) fallback = product.output_ports[0].name;
  std::vector<const spec::Expectation*> out;
  for (const spec::Expectation& e : product.expectations) {
    if ((e.port.empty() ? fallback : e.port) == port) out.push_back(&e);
  }
  return out;
}

Result<CheckReport> RunChecks(const CheckInput& in) {
  const auto started = std::chrono::steady_clock::now();
  CheckReport report;
  report.address = Address{in.product.domain, in.product.name, in.port, {}}.ToString();
  report.label = in.label;

  engine::SessionOptions so;
  so.relations.push_back(in.relation);
  std::set<std::string> names = {in.relation.sql_name};
  for (const engine::Relation& r : in.references) {
    if (names.insert(r.sql_name).second) so.relations.push_back(r);
  }
  so.scratch_dir = in.scratch_dir;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<engine::Session> session, engine::Session::Open(so));

  std::vector<const spec::Expectation*> expectations = ExpectationsFor(in.product, in.port);
  const std::string rel = in.relation.sql_name;
  std::vector<Compiled> compiled;
  std::string select = "(SELECT count(*) FROM " + rel + ")";
  for (const spec::Expectation* e : expectations) {
    if (e->kind == "referential" && names.count(e->reference->SqlName()) == 0) {
      return InvalidArgument("expectation '" + e->name + "': the reference " +
                             e->reference->ToString() + " has no readable version");
    }
    LOOM_ASSIGN_OR_RETURN(Compiled c, Compile(in, *e));
    if (!c.value.empty()) select += ", " + c.value;
    compiled.push_back(std::move(c));
  }
  // Completeness: non-null cells of the top-level fields (Parquet statistics often answer it).
  std::string non_null;
  size_t counted = 0;
  for (const spec::Field& f : in.product.schema.fields) {
    bool present = false;
    for (const engine::RelationColumn& c : in.relation.columns) present |= c.name == f.name;
    if (!present) continue;
    non_null += (non_null.empty() ? "" : " + ") + std::string("count(") + FieldRef(f.name) + ")";
    ++counted;
  }
  select += non_null.empty() ? ", 0" : ", (SELECT " + non_null + " FROM " + rel + " AS t)";
  LOOM_ASSIGN_OR_RETURN(engine::Rows agg, session->QueryRows("SELECT " + select, 1));
  auto cell = [&](size_t col) -> std::optional<std::string> { return agg.text[0][col]; };
  report.rows = std::stoull(cell(0).value_or("0"));
  size_t col = 1;
  for (const Compiled& c : compiled) {
    const spec::Expectation& e = *c.e;
    ExpectationResult r;
    r.name = e.name;
    r.kind = e.kind;
    r.severity = e.severity;
    r.sample_sql = c.sample_sql;
    std::optional<std::string> value;
    if (!c.value.empty()) value = cell(col++);
    std::string sample_run = r.sample_sql;
    if (!c.exact.empty() && value == "[]") value = "0";
    if (!c.exact.empty() && value != "0") {
      // Duplicate hashes: real duplicates or a collision; the exact count decides. Equal keys
      // hash equal, so duplicates are only among the rows whose hash repeats: when those hashes
      // are few, count and sample there instead of over the whole relation.
      // Past kRepeatedValuesMax hashes the list is NULL: the exact count over every row.
      std::string exact = c.exact;
      const json hashes = json::parse(agg.json[0][col - 1], nullptr, false);
      if (hashes.is_array() && !hashes.empty()) {
        // All of them for the count (a semi join on a small list), the first few for the samples
        // (a filter evaluated in the scan, so that only their rows are read whole).
        std::string all, few;
        for (size_t i = 0; i < hashes.size(); ++i) {
          const std::string h = std::to_string(hashes[i].get<uint64_t>());
          all += (i == 0 ? "" : ", ") + h;
          if (i < in.max_samples) few += (i == 0 ? "" : ", ") + h + "::UBIGINT";
        }
        const std::string from = " FROM " + rel + " AS t WHERE " + c.narrowed;
        exact = "SELECT count(*) - count(DISTINCT " + c.distinct_key + ")" + from +
                "SELECT unnest(CAST([" + all + "] AS UBIGINT[])))";
        if (!few.empty()) {
          sample_run = "SELECT t.*" + from + few + ") QUALIFY count(*) OVER (PARTITION BY " +
                       c.key + ") > 1 ORDER BY " + c.key;
        }
      }
      LOOM_ASSIGN_OR_RETURN(engine::Rows counted, session->QueryRows(exact, 1));
      value = counted.text[0][0];
    }
    const std::string what = e.fields.empty()       ? ""
                             : e.fields.size() == 1 ? e.fields[0]
                                                    : "(" +
                                                          [&] {
                                                            std::string s;
                                                            for (const std::string& f : e.fields)
                                                              s += (s.empty() ? "" : ", ") + f;
                                                            return s;
                                                          }() +
                                                          ")";
    if (e.kind == "row_count") {
      if (e.min && static_cast<double>(report.rows) < *e.min) {
        r.passed = false;
        r.detail =
            "row count " + std::to_string(report.rows) + " is below the minimum " + NumText(*e.min);
      } else if (e.max && static_cast<double>(report.rows) > *e.max) {
        r.passed = false;
        r.detail =
            "row count " + std::to_string(report.rows) + " is above the maximum " + NumText(*e.max);
      } else {
        r.detail = "row count " + std::to_string(report.rows);
      }
    } else if (e.kind == "row_count_change") {
      if (!in.previous_rows || *in.previous_rows == 0) {
        r.detail = "no previous version with rows to compare with";
      } else {
        const double prev = static_cast<double>(*in.previous_rows);
        const double change = std::fabs(static_cast<double>(report.rows) - prev) / prev;
        r.detail = "row count " + std::to_string(*in.previous_rows) + " -> " +
                   std::to_string(report.rows) + " (change " + NumText(change * 100) +
                   "%, at most " + NumText(*e.max_change * 100) + "%)";
        r.passed = change <= *e.max_change;
      }
    } else if (e.kind == "freshness") {
      if (!value) {
        r.passed = false;
        r.detail = "no value in " + e.fields[0];
      } else {
        const int64_t newest = std::stoll(*value);
        const int64_t age_ms = (in.now - newest) / 1000;
        r.passed = age_ms <= *e.max_age_ms;
        r.detail = "newest " + e.fields[0] + " " + FormatRfc3339(newest) + " is " +
                   Age(std::max<int64_t>(0, age_ms)) + " old (at most " +
                   spec::FormatDurationMs(*e.max_age_ms) + ")";
      }
    } else if (e.kind == "sql") {
      Result<engine::Rows> n =
          session->QueryRows("SELECT count(*) FROM (" + c.sample_sql + ") AS q", 1);
      if (!n.ok()) {
        r.passed = false;
        r.failing = 1;
        r.detail = "the query failed: " + n.status().message();
        r.sample_sql.clear();
      } else {
        r.failing = std::stoull(n->Get(0, 0));
        r.passed = r.failing == 0;
        r.detail = Plural(r.failing, "row(s) returned by the query");
      }
    } else {
      r.failing = std::stoull(value.value_or("0"));
      r.passed = r.failing == 0;
      if (e.kind == "not_null") {
        r.detail = Plural(r.failing, "row(s) with a null in " + what);
      } else if (e.kind == "unique") {
        r.detail = Plural(r.failing, "duplicate row(s) of " + what);
      } else if (e.kind == "accepted_values") {
        r.detail = Plural(r.failing, "row(s) with a value of " + what + " not accepted");
      } else if (e.kind == "range") {
        std::string bounds = "[";
        bounds.append(e.min ? NumText(*e.min) : "-inf").append(", ");
        bounds.append(e.max ? NumText(*e.max) : "inf").append("]");
        r.detail = Plural(r.failing, "row(s) with " + what);
        r.detail.append(" outside ").append(bounds);
      } else if (e.kind == "pattern") {
        r.detail = Plural(r.failing, "row(s) with " + what + " not matching " + *e.pattern);
      } else if (e.kind == "referential") {
        r.detail = Plural(r.failing, "row(s) whose " + what + " is not in " +
                                         e.reference->ToString() + " (" + e.reference_field + ")");
      }
    }
    if (!r.passed && r.failing == 0) r.failing = 1;
    if (e.kind == "sql") sample_run = r.sample_sql;  // cleared when the query failed
    if (!r.passed && !c.field.empty() && in.max_samples > 0) {
      // A join reads every column of every row before LIMIT stops it: first a few missing
      // values (only the checked column is read), then the rows with those, without a join.
      Result<engine::Rows> first = session->QueryRows(
          "SELECT DISTINCT CAST(v AS VARCHAR) FROM (SELECT " + c.field + " AS v FROM " + rel +
              " AS t WHERE " + c.predicate + " LIMIT " + std::to_string(in.max_samples) + ")",
          in.max_samples);
      std::string values;
      for (size_t i = 0; first.ok() && i < first->size(); ++i) {
        if (first->text[i][0]) {
          values += (values.empty() ? "" : ", ") + engine::QuoteString(*first->text[i][0]);
        }
      }
      if (!values.empty()) {
        sample_run = "SELECT t.* FROM " + rel + " AS t WHERE CAST(" + c.field +
                     " AS VARCHAR) IN (" + values + ")";
      }
    }
    if (!r.passed && !sample_run.empty() && in.max_samples > 0) {
      Result<engine::Rows> rows = session->QueryRows(
          "SELECT * FROM (" + sample_run + ") AS s LIMIT " + std::to_string(in.max_samples),
          in.max_samples);
      if (rows.ok()) r.samples = Redacted(in.product, rows->ToJson());
    }
    report.results.push_back(std::move(r));
  }
  const uint64_t cells = report.rows * counted;
  if (cells > 0) {
    report.completeness =
        static_cast<double>(std::stoull(cell(col).value_or("0"))) / static_cast<double>(cells);
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

}  // namespace loom::quality
