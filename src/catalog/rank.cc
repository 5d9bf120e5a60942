#include "catalog/rank.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

namespace loom::catalog {
namespace {

// What does not change between the rows of one statement: computed on its first row.
struct RankState {
  std::vector<double> idf;
  double avgdl = 1.0;
};

void DeleteState(void* p) { delete static_cast<RankState*>(p); }

// bm25's constants (fts5_aux.c).
constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

void RankError(sqlite3_context* ctx, const std::string& message) {
  sqlite3_result_error(ctx, message.c_str(), -1);
}

void LoomRank(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int argc,
              sqlite3_value** argv) {
  const auto* input =
      argc == 1 ? static_cast<const RankInput*>(sqlite3_value_pointer(argv[0], kRankInputType))
                : nullptr;
  if (input == nullptr) return RankError(ctx, "loom_rank: expects one bound RankInput");
  const int phrases = api->xPhraseCount(fts);
  if (phrases < 0 || static_cast<size_t>(phrases) != input->docs.size()) {
    return RankError(ctx, "loom_rank: the query has " + std::to_string(phrases) +
                              " phrases, the input counts " + std::to_string(input->docs.size()));
  }
  auto* state = static_cast<RankState*>(api->xGetAuxdata(fts, 0));
  if (state == nullptr) {
    sqlite3_int64 rows = 0;
    sqlite3_int64 tokens = 0;
    int rc = api->xRowCount(fts, &rows);
    if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &tokens);
    if (rc != SQLITE_OK) return sqlite3_result_error_code(ctx, rc);
    auto fresh = std::make_unique<RankState>();
    fresh->avgdl = input->avgdl > 0 ? input->avgdl
                   : rows > 0       ? static_cast<double>(tokens) / static_cast<double>(rows)
                                    : 1.0;
    for (int64_t n : input->docs) {
      const double hits = static_cast<double>(std::clamp<int64_t>(n, 0, rows));
      const double idf = std::log((static_cast<double>(rows) - hits + 0.5) / (hits + 0.5));
      fresh->idf.push_back(idf <= 0.0 ? 1e-6 : idf);
    }
    state = fresh.get();
    rc = api->xSetAuxdata(fts, fresh.release(), &DeleteState);
    if (rc != SQLITE_OK) return sqlite3_result_error_code(ctx, rc);
  }

  // Weighted hits per phrase in this row, then bm25's sum over phrases.
  double freq_small[16] = {};
  std::vector<double> freq_large;
  double* freq = freq_small;
  if (phrases > 16) {
    freq_large.assign(static_cast<size_t>(phrases), 0.0);
    freq = freq_large.data();
  }
  int instances = 0;
  int rc = api->xInstCount(fts, &instances);
  for (int i = 0; rc == SQLITE_OK && i < instances; ++i) {
    int phrase = 0;
    int column = 0;
    int offset = 0;
    rc = api->xInst(fts, i, &phrase, &column, &offset);
    if (rc == SQLITE_OK) {
      freq[phrase] += static_cast<size_t>(column) < input->weights.size()
                          ? input->weights[static_cast<size_t>(column)]
                          : 1.0;
    }
  }
  if (rc != SQLITE_OK) return sqlite3_result_error_code(ctx, rc);
  int64_t row_tokens = 0;
  if (input->row_tokens) {
    Result<int64_t> n = input->row_tokens(api->xRowid(fts));
    if (!n.ok()) return RankError(ctx, "loom_rank: " + n.status().ToString());
    row_tokens = *n;
  } else {
    int n = 0;
    rc = api->xColumnSize(fts, -1, &n);
    if (rc != SQLITE_OK) return sqlite3_result_error_code(ctx, rc);
    row_tokens = n;
  }
  const double norm = kK1 * (1 - kB + kB * static_cast<double>(row_tokens) / state->avgdl);
  double score = 0;
  for (int i = 0; i < phrases; ++i) {
    score += state->idf[static_cast<size_t>(i)] * (freq[i] * (kK1 + 1.0)) / (freq[i] + norm);
  }
  sqlite3_result_double(ctx, score);
}

}  // namespace

Status RegisterRankFunction(fts5_api* api) {
  int rc = api->xCreateFunction(api, kRankFunction, nullptr, &LoomRank, nullptr);
  if (rc != SQLITE_OK) return SqliteError(nullptr, rc, "register fts5 function loom_rank");
  return Status::Ok();
}

}  // namespace loom::catalog
