#include "cli/cli.h"

#include <cstdio>

namespace loom::cli {

int Main(int, char**) {
  std::fputs("loom: not built yet\n", stderr);
  return 1;
}

}  // namespace loom::cli
