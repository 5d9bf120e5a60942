#pragma once

// Shared by the quality tests: a platform on a temp folder with a fake clock, a product built
// from one expectation, CSV publishing.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "platform/platform.h"
#include "testing/testing.h"

namespace loom::quality_test {

class FakeClock final : public Clock {
 public:
  TimestampMicros NowMicros() const override { return now_.load(); }
  void Set(TimestampMicros t) { now_.store(t); }
  void Advance(int64_t micros) { now_.fetch_add(micros); }

 private:
  std::atomic<TimestampMicros> now_{1795000000000000};  // 2026-11-18
};

inline constexpr const char* kDomains = R"(apiVersion: loom/v1
kind: Domain
metadata: {name: artists, title: Artists, owners: ["user:ana"]}
---
apiVersion: loom/v1
kind: Domain
metadata: {name: media-player, title: Media player, owners: ["user:mo"]}
---
apiVersion: loom/v1
kind: DataProduct
metadata: {domain: artists, name: profiles, version: 1.0.0, title: Profiles, owner: "user:ana"}
spec:
  schema:
    fields:
      - {name: artist_id, type: string, required: true}
      - {name: name, type: string}
  outputPorts:
    - {name: current, kind: table}
)";

// A `media-player/plays` product whose `daily` table port carries the given quality list items
// (YAML flow maps, one per line) and SLOs.
inline std::string PlaysProduct(const std::string& quality, const std::string& slos = "") {
  std::string y = R"(apiVersion: loom/v1
kind: DataProduct
metadata: {domain: media-player, name: plays, version: 1.0.0, title: Plays, owner: "user:mo"}
spec:
  schema:
    fields:
      - {name: play_id, type: string}
      - {name: user_id, type: string}
      - {name: artist_id, type: string}
      - {name: country, type: string}
      - {name: code, type: string}
      - {name: duration_ms, type: int64}
      - {name: played_at, type: timestamp}
      - {name: email, type: string, pii: true, mask: hash}
  outputPorts:
    - {name: daily, kind: table}
)";
  if (!slos.empty()) y += "  slos:\n" + slos;
  if (!quality.empty()) y += "  quality:\n" + quality;
  return y;
}

inline constexpr const char* kHeader =
    "play_id,user_id,artist_id,country,code,duration_ms,played_at,email\n";

class QualityFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    platform::Options o;
    o.data_dir = dir_.Sub("data");
    o.clock = &clock_;
    o.alerts = alerts_;
    auto p = platform::Platform::Open(o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    platform_ = std::move(*p);
  }
  // Re-opens the platform (e.g. with other alert options).
  void Reopen() {
    platform_.reset();
    SetUp();
  }

  Status Apply(const std::string& yaml) {
    return platform_->Apply(admin_, {{"mesh.yaml", yaml}}, false).status();
  }
  // Publishes CSV rows (after the header) into loom://media-player/plays/daily.
  Result<nlohmann::json> PublishPlays(const std::string& rows) {
    std::string path = dir_.Sub("plays-" + std::to_string(files_++) + ".csv");
    testing::WriteFile(path, std::string(kHeader) + rows);
    return platform_->PublishTableFile(admin_, *Address::Parse("loom://media-player/plays/daily"),
                                       path, table::SourceKind::kCsv);
  }
  Result<nlohmann::json> PublishProfiles(const std::string& rows) {
    std::string path = dir_.Sub("profiles-" + std::to_string(files_++) + ".csv");
    testing::WriteFile(path, "artist_id,name\n" + rows);
    return platform_->PublishTableFile(admin_, *Address::Parse("loom://artists/profiles/current"),
                                       path, table::SourceKind::kCsv);
  }
  uint64_t CurrentPlaysVersion() {
    auto v = platform_->TableVersions(admin_, *Address::Parse("loom://media-player/plays/daily"));
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? (*v)["current"].get<uint64_t>() : 0;
  }

  testing::TempDir dir_;
  FakeClock clock_;
  quality::AlertOptions alerts_;
  platform::Caller admin_;
  std::unique_ptr<platform::Platform> platform_;
  int files_ = 0;
};

}  // namespace loom::quality_test
