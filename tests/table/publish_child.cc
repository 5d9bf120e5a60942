// A helper process for the table tests: publishes a CSV into a table, once or in a loop.
//   table_publish_child once ROOT CSV   exit 0 published, 3 another publisher holds the lock
//   table_publish_child loop ROOT CSV   publishes until killed, printing each version number
#include <cstdio>
#include <string>

#include "table/table.h"
#include "table/table_testing.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s once|loop ROOT CSV\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  loom::table::TableOptions o;
  o.root = argv[2];
  o.name = "loom://test/plays/daily";
  o.schema = loom::table::testing::PlaysSchema();
  o.settings.retain_versions = 3;
  auto table = loom::table::Table::Open(o);
  if (!table.ok()) {
    std::fprintf(stderr, "%s\n", table.status().ToString().c_str());
    return 1;
  }
  loom::table::PublishOptions po;
  po.published_by = "service:test";
  do {
    auto m = (*table)->PublishFile(argv[3], loom::table::SourceKind::kCsv, po);
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
      return m.status().code() == loom::StatusCode::kAborted ? 3 : 1;
    }
    std::printf("%llu\n", static_cast<unsigned long long>(m->version.number()));
    std::fflush(stdout);
  } while (mode == "loop");
  return 0;
}
