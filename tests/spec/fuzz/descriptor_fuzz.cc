// libFuzzer target for the descriptor parser: any bytes must give documents or diagnostics, never
// a crash, an exception or a sanitizer report. Built with clang:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
//     tests/spec/fuzz/descriptor_fuzz.cc src/spec/*.cc src/core/*.cc \
//     $(pkg-config --cflags --libs yaml-cpp) -lcrypto -o descriptor_fuzz
//   ./descriptor_fuzz -max_total_time=60 tests/spec/valid tests/spec/malformed

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spec/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<loom::spec::Diagnostic> diags;
  loom::Result<std::vector<loom::spec::Document>> docs =
      loom::spec::ParseDocuments(text, "fuzz.yaml", &diags);
  if (docs.ok()) {
    for (const loom::spec::Document& d : *docs) {
      // The canonical JSON must always render (the catalog stores and digests it).
      (void)loom::spec::ToJson(d).dump();
      // A document's own text parses alone.
      LOOM_CHECK(loom::spec::ParseDocuments(d.text, "fuzz.yaml").ok(), "document text reparses");
    }
  } else {
    LOOM_CHECK(!diags.empty(), "a refusal carries diagnostics");
  }
  return 0;
}
