// Every command shown in the user guide works: each ```console block of docs/*.md and README.md
// is run, line by line ("$ COMMAND"), in a fresh folder with `loom` on the PATH. A block opened
// with ```console norun is only shown, never run (it needs a server or a terminal).

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

struct Block {
  std::string file;
  int line = 0;
  std::vector<std::string> commands;
};

std::vector<Block> ConsoleBlocks(const std::string& path, const std::string& rel) {
  std::vector<Block> blocks;
  std::istringstream in(testing::ReadFile(path));
  std::string line;
  int n = 0;
  Block* open = nullptr;
  bool skip = false;
  while (std::getline(in, line)) {
    ++n;
    if (open == nullptr && !skip && line.starts_with("```console")) {
      if (line.find("norun") != std::string::npos) {
        skip = true;
      } else {
        blocks.push_back({rel, n, {}});
        open = &blocks.back();
      }
    } else if (line.starts_with("```")) {
      open = nullptr;
      skip = false;
    } else if (open != nullptr && line.starts_with("$ ")) {
      open->commands.push_back(line.substr(2));
    }
  }
  return blocks;
}

TEST(DocsTest, EveryConsoleCommandInTheGuideRuns) {
  std::vector<std::string> pages = {"README.md"};
  for (const auto& e : std::filesystem::directory_iterator(testing::SourceDir() + "/docs")) {
    if (e.path().extension() == ".md") pages.push_back("docs/" + e.path().filename().string());
  }
  std::sort(pages.begin(), pages.end());
  std::string bin_dir = std::filesystem::path(testing::LoomBinary()).parent_path().string();
  int ran = 0;
  for (const std::string& page : pages) {
    // Each page runs in its own fresh folder, its blocks in order.
    testing::TempDir dir;
    for (const Block& b : ConsoleBlocks(testing::SourceDir() + "/" + page, page)) {
      for (const std::string& cmd : b.commands) {
        std::string script = "set -e; export PATH=\"" + bin_dir + ":$PATH\"; export LOOM_REPO=\"" +
                             testing::SourceDir() + "\"; cd \"" + dir.path() + "\"; " + cmd;
        testing::CommandResult r = testing::RunCommand({"bash", "-c", script});
        EXPECT_EQ(r.exit_code, 0) << page << ":" << b.line << ": $ " << cmd << "\n"
                                  << r.out << r.err;
        ++ran;
      }
    }
  }
  EXPECT_GT(ran, 5) << "the guide shows almost no commands";
}

}  // namespace
}  // namespace loom::e2e
