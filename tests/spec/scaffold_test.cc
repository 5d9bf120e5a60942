// The scaffold `loom init` writes is a valid, commented descriptor for any legal names.

#include <gtest/gtest.h>

#include "spec/spec.h"

namespace loom::spec {
namespace {

TEST(ScaffoldTest, ValidatesForSeveralNames) {
  for (auto [domain, product] : std::vector<std::pair<std::string, std::string>>{
           {"media-player", "play-events"},
           {"a", "b"},
           {"artist-payments", "payouts2"},
           {std::string(58, 'd'), std::string(63, 'p')}}) {
    std::string yaml = ScaffoldDataProduct(domain, product);
    Result<std::vector<Document>> docs = ParseDocuments(yaml, "scaffold.yaml");
    ASSERT_TRUE(docs.ok()) << domain << "/" << product << ":\n" << docs.status().message();
    ASSERT_EQ(docs->size(), 1u);
    const DataProduct* p = (*docs)[0].product();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->domain, domain);
    EXPECT_EQ(p->name, product);
    EXPECT_EQ(p->owner, "group:" + domain + "-team");
    ASSERT_EQ(p->output_ports.size(), 1u);
    EXPECT_EQ(p->output_ports[0].kind, PortKind::kStream);
    EXPECT_GE(p->schema.fields.size(), 3u);
    EXPECT_EQ((*docs)[0].text, yaml);
  }
}

TEST(ScaffoldTest, ExplainsItsKeysInComments) {
  std::string yaml = ScaffoldDataProduct("sales", "orders");
  for (std::string_view key :
       {"apiVersion:",     "kind:",        "domain:",       "version:",   "owner:",
        "classification:", "alignment:",   "fields:",       "type:",      "pii:",
        "mask:",           "outputPorts:", "partitionKey:", "eventTime:", "fsync:",
        "retention:",      "onInvalid:",   "slos:",         "quality:",   "access:"}) {
    size_t at = yaml.find(key);
    ASSERT_NE(at, std::string::npos) << key;
  }
  size_t comments = 0;
  for (size_t at = yaml.find('#'); at != std::string::npos; at = yaml.find('#', at + 1)) {
    ++comments;
  }
  EXPECT_GE(comments, 20u);
  EXPECT_EQ(yaml.find("docs/descriptors.md") != std::string::npos, true);
}

}  // namespace
}  // namespace loom::spec
