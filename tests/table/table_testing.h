#pragma once

// Helpers shared by the table tests and the publish_child helper process.

#include <cstdint>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "spec/spec.h"
#include "table/table.h"

namespace loom::table::testing {

inline spec::Field MakeField(std::string name, spec::TypeKind kind, bool required = false) {
  spec::Field f;
  f.name = std::move(name);
  f.type.kind = kind;
  f.required = required;
  return f;
}

// play_id string (required), duration_ms int64, genre string, score double.
inline spec::Schema PlaysSchema() {
  spec::Schema s;
  s.fields.push_back(MakeField("play_id", spec::TypeKind::kString, true));
  s.fields.push_back(MakeField("duration_ms", spec::TypeKind::kInt64));
  s.fields.push_back(MakeField("genre", spec::TypeKind::kString));
  s.fields.push_back(MakeField("score", spec::TypeKind::kDouble));
  return s;
}

// A CSV of `rows` valid plays: play_id p<i>, duration_ms i*10, genre rock/jazz, score i/2.
inline std::string PlaysCsv(int rows) {
  std::string s = "play_id,duration_ms,genre,score\n";
  for (int i = 1; i <= rows; ++i) {
    s += "p" + std::to_string(i) + "," + std::to_string(i * 10) + "," +
         (i % 2 == 0 ? "rock" : "jazz") + "," + std::to_string(i / 2.0) + "\n";
  }
  return s;
}

struct ParquetSummary {
  uint64_t rows = 0;
  int64_t sum_duration = 0;
};

// Reads a version's Parquet files with DuckDB, as the engine will.
inline Result<ParquetSummary> ReadPlays(const Snapshot& snap) {
  LOOM_ASSIGN_OR_RETURN(auto db, engine::Database::Open());
  LOOM_ASSIGN_OR_RETURN(auto conn, db->Connect());
  std::string list;
  for (const std::string& p : snap.file_paths) {
    list += (list.empty() ? "" : ", ") + engine::QuoteString(p);
  }
  LOOM_ASSIGN_OR_RETURN(engine::Rows rows,
                        conn->QueryRows("SELECT count(*), coalesce(sum(duration_ms), 0) FROM "
                                        "read_parquet([" +
                                        list + "])"));
  return ParquetSummary{std::stoull(rows.Get(0, 0)), std::stoll(rows.Get(0, 1))};
}

}  // namespace loom::table::testing
