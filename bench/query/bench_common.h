#pragma once

// Shared by bench_query and bench_query_stream: the analytic queries, and small helpers.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace loom::bench {

inline void Die(const std::string& what, const loom::Status& s) {
  std::fprintf(stderr, "bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

struct Query {
  const char* name;
  std::string sql;  // with {events}, {tracks}, {artists}
};

inline std::string Fill(std::string sql, const std::string& ev, const std::string& tr,
                        const std::string& ar) {
  auto rep = [&sql](const std::string& k, const std::string& v) {
    for (size_t p = sql.find(k); p != std::string::npos; p = sql.find(k, p + v.size())) {
      sql.replace(p, k.size(), v);
    }
  };
  rep("{events}", ev);
  rep("{tracks}", tr);
  rep("{artists}", ar);
  return sql;
}

// The five queries over play events (user_id, track_id, artist_id, country, device, played_at,
// duration_ms) and tracks (track_id, artist_id, label_id, title).
inline std::vector<Query> PlayQueries() {
  return {
      {"plays per artist per day",
       "SELECT artist_id, date_trunc('day', played_at) AS day, count(*) AS plays "
       "FROM {events} GROUP BY ALL"},
      {"top tracks per country",
       "SELECT country, track_id, plays FROM (SELECT country, track_id, count(*) AS plays, "
       "row_number() OVER (PARTITION BY country ORDER BY count(*) DESC, track_id) AS rn "
       "FROM {events} GROUP BY country, track_id) WHERE rn <= 10 ORDER BY country, rn"},
      {"payments per label",
       "SELECT t.label_id, sum(e.duration_ms / 1000.0 * 0.004) AS payment "
       "FROM {events} e JOIN {tracks} t ON t.track_id = e.track_id GROUP BY 1 ORDER BY 2 DESC"},
      {"distinct listeners",
       "SELECT country, count(DISTINCT user_id) AS listeners FROM {events} GROUP BY 1"},
      {"running total per artist",
       "SELECT artist_id, day, sum(plays) OVER (PARTITION BY artist_id ORDER BY day) AS total "
       "FROM (SELECT artist_id, date_trunc('day', played_at) AS day, count(*) AS plays "
       "FROM {events} GROUP BY ALL)"},
  };
}

// Drains a result, returning the row count.
inline uint64_t Drain(loom::engine::QueryResult& r) {
  while (true) {
    auto c = r.Next();
    if (!c.ok()) Die("fetch", c.status());
    if (*c == nullptr) return r.rows();
  }
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace loom::bench
