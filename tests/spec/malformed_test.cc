// The acceptance fixture: every file under tests/spec/malformed/ is one realistic mistake whose
// first lines say, as `# expect: <diagnostic>`, exactly what LoadPath must report.

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "spec/spec.h"
#include "testing/testing.h"

namespace loom::spec {
namespace {

constexpr char kDir[] = "tests/spec/malformed";

// Runs the test from the repository root, so that paths in diagnostics are repo-relative.
class MalformedFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_cwd_ = std::filesystem::current_path();
    std::filesystem::current_path(loom::testing::SourceDir());
  }
  void TearDown() override { std::filesystem::current_path(old_cwd_); }

  static std::vector<std::string> Files() {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(kDir)) {
      files.push_back(std::string(kDir) + "/" + e.path().filename().string());
    }
    std::sort(files.begin(), files.end());
    return files;
  }

  static std::vector<std::string> Expected(const std::string& file) {
    std::istringstream in(loom::testing::ReadFile(file));
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line) && line.starts_with("# expect: ")) {
      out.push_back(line.substr(std::string_view("# expect: ").size()));
    }
    return out;
  }

  std::filesystem::path old_cwd_;
};

TEST_F(MalformedFixtureTest, HoldsAtLeastTwentyFilesEachWithAnExpectation) {
  std::vector<std::string> files = Files();
  EXPECT_GE(files.size(), 20u);
  for (const std::string& f : files) {
    EXPECT_TRUE(f.ends_with(".yaml")) << f;
    EXPECT_EQ(Expected(f).size(), 1u) << f << " must state exactly one problem";
  }
}

TEST_F(MalformedFixtureTest, EachFileReportsExactlyItsExpectedDiagnostics) {
  for (const std::string& f : Files()) {
    SCOPED_TRACE(f);
    std::vector<Diagnostic> diags;
    Result<std::vector<Document>> docs = LoadPath(f, &diags);
    ASSERT_FALSE(docs.ok());
    EXPECT_EQ(docs.status().code(), StatusCode::kInvalidArgument);
    std::vector<std::string> got;
    for (const Diagnostic& d : diags) got.push_back(d.ToString());
    std::vector<std::string> want = Expected(f);
    EXPECT_EQ(got, want);
    std::string joined;
    for (const std::string& w : want) joined += (joined.empty() ? "" : "\n") + w;
    EXPECT_EQ(docs.status().message(), joined);
  }
}

TEST_F(MalformedFixtureTest, LoadingTheDirectoryReportsEveryFileInSortedOrder) {
  std::vector<Diagnostic> diags;
  Result<std::vector<Document>> docs = LoadPath(kDir, &diags);
  ASSERT_FALSE(docs.ok());
  std::vector<std::string> want;
  for (const std::string& f : Files()) {
    for (const std::string& e : Expected(f)) want.push_back(e);
  }
  std::vector<std::string> got;
  for (const Diagnostic& d : diags) got.push_back(d.ToString());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace loom::spec
