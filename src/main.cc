#include "cli/cli.h"

int main(int argc, char** argv) { return loom::cli::Main(argc, argv); }
