#include <algorithm>
#include <string>

#include "table/table.h"

namespace loom::table {
namespace {

constexpr int kFormat = 1;

Result<SourceKind> SourceKindFromString(std::string_view s) {
  for (SourceKind k : {SourceKind::kCsv, SourceKind::kJsonLines, SourceKind::kParquet,
                       SourceKind::kQuery, SourceKind::kStreamWindow}) {
    if (ToString(k) == s) return k;
  }
  return DataLoss("manifest: unknown source kind '" + std::string(s) + "'");
}

nlohmann::json InputToJson(const InputRef& in) {
  nlohmann::json j = {{"address", in.address}};
  if (in.version) j["version"] = *in.version;
  if (in.partition) j["partition"] = *in.partition;
  if (in.offset_begin) j["offset_begin"] = *in.offset_begin;
  if (in.offset_end) j["offset_end"] = *in.offset_end;
  return j;
}

InputRef InputFromJson(const nlohmann::json& j) {
  InputRef in;
  in.address = j.at("address").get<std::string>();
  if (j.contains("version")) in.version = j["version"].get<uint64_t>();
  if (j.contains("partition")) in.partition = j["partition"].get<uint32_t>();
  if (j.contains("offset_begin")) in.offset_begin = j["offset_begin"].get<uint64_t>();
  if (j.contains("offset_end")) in.offset_end = j["offset_end"].get<uint64_t>();
  return in;
}

}  // namespace

std::string_view ToString(SourceKind kind) {
  switch (kind) {
    case SourceKind::kCsv:
      return "csv";
    case SourceKind::kJsonLines:
      return "jsonl";
    case SourceKind::kParquet:
      return "parquet";
    case SourceKind::kQuery:
      return "query";
    case SourceKind::kStreamWindow:
      return "stream-window";
  }
  return "unknown";
}

const ColumnStats* Manifest::Stats(std::string_view column) const {
  for (const auto& [name, stats] : columns) {
    if (name == column) return &stats;
  }
  return nullptr;
}

std::string RowError::ToString() const {
  std::string s = (is_line ? "line " : "row ") + std::to_string(line) + ": ";
  if (!column.empty()) s += "column " + column + ": ";
  return s + problem;
}

nlohmann::json ToJson(const Manifest& m) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["table"] = m.table;
  j["version"] = m.version.number();
  j["published_at"] = FormatRfc3339(m.published_at);
  j["published_at_us"] = m.published_at;
  j["published_by"] = m.published_by;
  j["source"] = {{"kind", ToString(m.source_kind)}, {"description", m.source_description}};
  j["inputs"] = nlohmann::json::array();
  for (const InputRef& in : m.inputs) j["inputs"].push_back(InputToJson(in));
  j["schema"] = nlohmann::json::array();
  for (const Column& c : m.schema) {
    j["schema"].push_back({{"name", c.name},
                           {"type", c.type},
                           {"sql_type", c.sql_type},
                           {"required", c.required},
                           {"pii", c.pii}});
  }
  j["row_count"] = m.row_count;
  j["columns"] = nlohmann::json::object();
  for (const auto& [name, st] : m.columns) {
    nlohmann::json c = {{"null_count", st.null_count}};
    if (!st.min.is_null()) c["min"] = st.min;
    if (!st.max.is_null()) c["max"] = st.max;
    if (st.fits_int32) c["fits_int32"] = true;
    j["columns"][name] = std::move(c);
  }
  j["files"] = nlohmann::json::array();
  for (const DataFile& f : m.files) {
    j["files"].push_back(
        {{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}, {"rows", f.rows}});
  }
  if (m.encrypted) j["encrypted"] = true;
  return j;
}

Result<Manifest> ManifestFromJson(std::string_view text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (j.value("format", 0) != kFormat) {
      return DataLoss("manifest: unsupported format " + j.value("format", nlohmann::json()).dump());
    }
    Manifest m;
    m.table = j.at("table").get<std::string>();
    m.version = Version(j.at("version").get<uint64_t>());
    m.published_at = j.at("published_at_us").get<int64_t>();
    m.published_by = j.at("published_by").get<std::string>();
    LOOM_ASSIGN_OR_RETURN(m.source_kind,
                          SourceKindFromString(j.at("source").at("kind").get<std::string>()));
    m.source_description = j.at("source").value("description", "");
    for (const auto& in : j.at("inputs")) m.inputs.push_back(InputFromJson(in));
    for (const auto& c : j.at("schema")) {
      m.schema.push_back(Column{c.at("name").get<std::string>(), c.at("type").get<std::string>(),
                                c.at("sql_type").get<std::string>(), c.value("required", false),
                                c.value("pii", false)});
    }
    m.row_count = j.at("row_count").get<uint64_t>();
    const nlohmann::json& cols = j.at("columns");
    for (const Column& c : m.schema) {
      if (!cols.contains(c.name)) continue;
      const nlohmann::json& s = cols[c.name];
      ColumnStats st;
      st.null_count = s.at("null_count").get<uint64_t>();
      if (s.contains("min")) st.min = s["min"];
      if (s.contains("max")) st.max = s["max"];
      st.fits_int32 = s.value("fits_int32", false);
      m.columns.emplace_back(c.name, std::move(st));
    }
    for (const auto& f : j.at("files")) {
      m.files.push_back(DataFile{f.at("path").get<std::string>(), f.at("size").get<uint64_t>(),
                                 f.at("sha256").get<std::string>(), f.value("rows", uint64_t{0})});
    }
    m.encrypted = j.value("encrypted", false);
    return m;
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(std::string("manifest: ") + e.what());
  }
}

}  // namespace loom::table
