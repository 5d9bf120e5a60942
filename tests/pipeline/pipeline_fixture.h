#pragma once

// A platform in a temporary folder with the test mesh (tests/pipeline/testdata/mesh.yaml)
// applied, and small helpers to publish events and read results.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/platform.h"
#include "testing/testing.h"

namespace loom::pipeline {

class PipelineFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    platform_.reset();
    platform::Options o;
    o.data_dir = dir_.path();
    Result<std::unique_ptr<platform::Platform>> p = platform::Platform::Open(o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    platform_ = std::move(*p);
  }

  void ApplyMesh(const std::string& file = "mesh.yaml") {
    std::string path = testing::SourceDir() + "/tests/pipeline/testdata/" + file;
    Result<nlohmann::json> r =
        platform_->Apply(admin_, {{path, testing::ReadFile(path)}}, /*dry_run=*/false);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  void PublishTracks(const std::string& csv) {
    std::string path = dir_.Sub("tracks-" + std::to_string(++files_) + ".csv");
    testing::WriteFile(path, csv);
    Result<nlohmann::json> r = platform_->PublishTableFile(
        admin_, *Address::Parse("loom://catalog/tracks/current"), path, table::SourceKind::kCsv);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Publishes plays: {ce id, play_id, user_id, track_id, played_at}.
  void PublishPlays(const std::vector<std::vector<std::string>>& plays,
                    const std::string& port = "loom://media-player/play-events/events") {
    std::string body;
    for (const auto& p : plays) {
      nlohmann::json ev = {
          {"specversion", "1.0"},
          {"id", p[0]},
          {"source", "test"},
          {"type", "play"},
          {"time", p[4]},
          {"data",
           {{"play_id", p[1]}, {"user_id", p[2]}, {"track_id", p[3]}, {"played_at", p[4]}}}};
      body += ev.dump() + "\n";
    }
    Result<nlohmann::json> r =
        platform_->PublishEvents(admin_, *Address::Parse(port), "application/x-ndjson", body, {});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ((*r)["accepted"].get<size_t>(), plays.size()) << r->dump();
  }

  // Rows of a query as "a,b\n" lines, sorted.
  std::string Query(const std::string& sql) {
    Result<std::unique_ptr<engine::Session>> s =
        platform_->OpenQuerySession(admin_, sql, std::nullopt);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return "";
    Result<engine::Rows> rows = (*s)->QueryRows(sql);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) return "";
    std::vector<std::string> lines;
    for (size_t r = 0; r < rows->size(); ++r) {
      std::string line;
      for (size_t c = 0; c < rows->columns.size(); ++c) line += (c ? "," : "") + rows->Get(r, c);
      lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const std::string& l : lines) out += l + "\n";
    return out;
  }

  nlohmann::json Runs(const std::string& address) {
    Result<nlohmann::json> r = platform_->PipelineRuns(admin_, *Address::Parse(address), 100);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["runs"] : nlohmann::json::array();
  }

  testing::TempDir dir_;
  std::unique_ptr<platform::Platform> platform_;
  platform::Caller admin_;
  int files_ = 0;
};

}  // namespace loom::pipeline
