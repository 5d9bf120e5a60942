#pragma once

// Helpers for the catalog tests: a fake clock, descriptor texts, and an opened catalog.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"
#include "spec/spec.h"
#include "testing/testing.h"

// The tests build SearchQuery values with designated initializers ({.text = "x", .tag = "y"}),
// where the members left out keep their defaults on purpose; GCC 12 still warns about them.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace loom::catalog::testing {

// A clock that moves only when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(TimestampMicros start = 1'700'000'000'000'000) : now_(start) {}
  TimestampMicros NowMicros() const override { return now_.load(); }
  void Advance(TimestampMicros micros) { now_ += micros; }

 private:
  std::atomic<TimestampMicros> now_;
};

struct ProductText {
  std::string domain = "media-player";
  std::string name = "play-events";
  std::string version = "1.0.0";
  std::string title = "Play events";
  std::string description = "One event per track played.";
  std::string owner = "group:player-team";
  std::vector<std::string> tags = {"events"};
  std::string classification = "internal";
  std::string alignment = "source";
  std::string port_kind = "stream";
  std::vector<std::pair<std::string, std::string>> fields = {{"event_id", "Id of the event."}};
};

inline std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

inline std::string Yaml(const ProductText& p) {
  std::string y = "apiVersion: loom/v1\nkind: DataProduct\nmetadata:\n";
  y += "  domain: " + p.domain + "\n  name: " + p.name + "\n  version: " + p.version + "\n";
  y += "  title: " + Quoted(p.title) + "\n  description: " + Quoted(p.description) + "\n";
  y += "  owner: " + Quoted(p.owner) + "\n  tags: [";
  for (size_t i = 0; i < p.tags.size(); ++i) y += (i ? ", " : "") + p.tags[i];
  y += "]\nspec:\n  classification: " + p.classification + "\n  alignment: " + p.alignment;
  y += "\n  schema:\n    fields:\n";
  for (const auto& [name, description] : p.fields) {
    y += "      - name: " + name +
         "\n        type: string\n        description: " + Quoted(description) + "\n";
  }
  y += "  outputPorts:\n    - name: out\n      kind: " + p.port_kind + "\n";
  return y;
}

inline std::string DomainYaml(const std::string& name, const std::string& description = "",
                              const std::string& owner = "group:owners") {
  return "apiVersion: loom/v1\nkind: Domain\nmetadata:\n  name: " + name +
         "\n  description: " + Quoted(description) + "\n  owners: [" + Quoted(owner) + "]\n";
}

inline std::string PolicyYaml(const std::string& name, const std::string& description) {
  return "apiVersion: loom/v1\nkind: Policy\nmetadata:\n  name: " + name +
         "\n  description: " + Quoted(description) + "\nspec:\n  rules: []\n";
}

// Parses YAML text (one or more documents); fails the test on error.
inline std::vector<spec::Document> Docs(const std::string& yaml) {
  Result<std::vector<spec::Document>> docs = spec::ParseDocuments(yaml, "test.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString() << "\n" << yaml;
  return docs.ok() ? std::move(docs).value() : std::vector<spec::Document>{};
}

inline std::vector<spec::Document> Docs(const ProductText& p) { return Docs(Yaml(p)); }

// Concatenates two lists of documents (one apply call of both).
inline std::vector<spec::Document> operator+(std::vector<spec::Document> a,
                                             const std::vector<spec::Document>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    catalog_.reset();
    Result<std::unique_ptr<Catalog>> c = OpenSqliteCatalog(dir_.Sub("catalog.db"), &clock_);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    catalog_ = std::move(c).value();
  }
  std::vector<Change> MustApply(const std::vector<spec::Document>& docs,
                                const std::string& who = "user:alice") {
    Result<std::vector<Change>> r = catalog_->Apply(docs, who);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : std::vector<Change>{};
  }

  loom::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Catalog> catalog_;
};

}  // namespace loom::catalog::testing
