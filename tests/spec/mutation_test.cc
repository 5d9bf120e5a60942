// A deterministic, seeded mutation run over the valid fixtures: whatever bytes come in, parsing
// never crashes or throws, and every refusal is a list of diagnostics that point inside the file.
// (The libFuzzer target for descriptors would reuse the same invariants.)

#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "spec/spec.h"
#include "testing/testing.h"

namespace loom::spec {
namespace {

std::string Mutate(std::string text, std::mt19937& rng) {
  static constexpr std::string_view kAlphabet = ":-[]{}#&*!|>'\"\t\n ,?%@`0a_.";
  auto pick = [&](size_t n) {
    return n == 0 ? size_t{0} : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  const int edits = 1 + static_cast<int>(pick(3));
  for (int e = 0; e < edits; ++e) {
    const size_t at = pick(text.size() + 1);
    switch (pick(5)) {
      case 0:  // delete a span
        text.erase(at, pick(12));
        break;
      case 1:  // insert syntax characters
        for (size_t i = pick(4) + 1; i > 0; --i)
          text.insert(at, 1, kAlphabet[pick(kAlphabet.size())]);
        break;
      case 2: {  // duplicate a line
        size_t begin = text.rfind('\n', at == 0 ? 0 : at - 1);
        begin = begin == std::string::npos ? 0 : begin + 1;
        size_t end = text.find('\n', at);
        if (end != std::string::npos) text.insert(begin, text.substr(begin, end - begin + 1));
        break;
      }
      case 3:  // change indentation
        text.insert(at, pick(2) == 0 ? " " : "  ");
        break;
      default:  // replace a byte
        if (at < text.size()) text[at] = static_cast<char>(pick(256));
        break;
    }
  }
  return text;
}

TEST(MutationTest, NeverCrashesAndAlwaysPointsInsideTheFile) {
  const std::string dir = loom::testing::SourceDir() + "/tests/spec/valid/";
  const std::vector<std::string> seeds = {loom::testing::ReadFile(dir + "play-events.yaml"),
                                          loom::testing::ReadFile(dir + "media-player.yaml"),
                                          ScaffoldDataProduct("sales", "orders")};
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kRounds = 300;
#else
  constexpr int kRounds = 1500;
#endif
  std::mt19937 rng(20261126);
  int refused = 0;
  for (int round = 0; round < kRounds; ++round) {
    const std::string text = Mutate(seeds[static_cast<size_t>(round) % seeds.size()], rng);
    const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    std::vector<Diagnostic> diags;
    Result<std::vector<Document>> docs = ParseDocuments(text, "m.yaml", &diags);
    if (docs.ok()) {
      EXPECT_TRUE(diags.empty());
      for (const Document& d : *docs) EXPECT_FALSE(ToJson(d).dump().empty());
      continue;
    }
    ++refused;
    ASSERT_FALSE(diags.empty()) << text;
    for (const Diagnostic& d : diags) {
      EXPECT_EQ(d.pos.file, "m.yaml");
      EXPECT_GE(d.pos.line, 1) << d.ToString() << "\n" << text;
      EXPECT_LE(d.pos.line, lines) << d.ToString() << "\n" << text;
      EXPECT_GE(d.pos.column, 1) << d.ToString();
      EXPECT_FALSE(d.message.empty());
    }
    std::istringstream message(docs.status().message());
    std::string line;
    size_t n = 0;
    while (std::getline(message, line)) {
      EXPECT_TRUE(line.starts_with("m.yaml:")) << line;
      ++n;
    }
    EXPECT_EQ(n, diags.size());
  }
  EXPECT_GT(refused, kRounds / 2) << "the mutations should mostly break the documents";
}

}  // namespace
}  // namespace loom::spec
