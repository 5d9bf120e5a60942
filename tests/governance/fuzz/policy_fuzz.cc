// libFuzzer target for governance: any descriptor text whose Policy documents compile must review
// any of its products (global types resolved, every rule evaluated, the product compared with
// itself) without a crash, an exception or a sanitizer report. Built with clang:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//     tests/governance/fuzz/policy_fuzz.cc src/governance/*.cc src/spec/*.cc src/core/*.cc \
//     $(pkg-config --cflags --libs yaml-cpp sqlite3) -lcrypto -o policy_fuzz
//   ./policy_fuzz -max_total_time=60 tests/governance/fixtures/policies
//   tests/governance/fixtures/bad

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "governance/governance.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  loom::Result<std::vector<loom::spec::Document>> docs =
      loom::spec::ParseDocuments(text, "fuzz.yaml");
  if (!docs.ok()) return 0;
  std::vector<loom::spec::Policy> policies;
  for (const loom::spec::Document& d : *docs) {
    if (d.policy() != nullptr) policies.push_back(*d.policy());
  }
  auto set = loom::governance::PolicySet::Build(policies);
  if (!set.ok()) {
    LOOM_CHECK(!set.status().message().empty(), "a refused policy says why");
    return 0;
  }
  for (const loom::spec::Document& d : *docs) {
    if (d.product() == nullptr) continue;
    loom::spec::DataProduct p = *d.product();
    for (const auto& v : loom::governance::Check(**set, p, d.pos)) (void)v.ToString();
    LOOM_CHECK(loom::governance::Compare(p, p).empty(), "a product equals itself");
    (void)loom::governance::CheckVersionBump(p.version, p.version, {});
  }
  (void)loom::governance::CompareGlobalTypes(**set, **set);
  return 0;
}
