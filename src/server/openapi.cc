#include "server/openapi.h"

namespace loom::server {
namespace {

using nlohmann::json;

json Ref(const char* name) { return {{"$ref", std::string("#/components/schemas/") + name}}; }

json Responses(const char* ok_schema) {
  json problem = {{"description", "RFC 9457 problem"},
                  {"content", {{"application/problem+json", {{"schema", Ref("Problem")}}}}}};
  return {
      {"200",
       {{"description", "OK"}, {"content", {{"application/json", {{"schema", Ref(ok_schema)}}}}}}},
      {"400", problem},
      {"404", problem},
      {"409", problem},
      {"500", problem}};
}

json PathParam(const char* name, const char* description) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", {{"type", "string"}, {"pattern", "^[a-z][a-z0-9-]{0,62}$"}}}};
}

json QueryParam(const char* name, const char* type, const char* description) {
  return {
      {"name", name}, {"in", "query"}, {"description", description}, {"schema", {{"type", type}}}};
}

json Build() {
  json doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = {{"title", "Loom data mesh API"},
                 {"version", "1"},
                 {"description",
                  "Data products: register descriptors, discover, and read them. Errors are RFC "
                  "9457 problem+json."}};
  json product_params = json::array(
      {PathParam("domain", "the owning domain"), PathParam("product", "the data product")});
  json& paths = doc["paths"];
  paths["/healthz"]["get"] = {{"summary", "Liveness"}, {"responses", Responses("Health")}};
  paths["/v1/apply"]["post"] = {
      {"summary", "Validate and register descriptors atomically (all or none)"},
      {"requestBody",
       {{"required", true},
        {"content", {{"application/json", {{"schema", Ref("ApplyRequest")}}}}}}},
      {"responses", Responses("ApplyResult")}};
  paths["/v1/domains"]["get"] = {{"summary", "List domains"},
                                 {"responses", Responses("DomainList")}};
  paths["/v1/products"]["get"] = {
      {"summary", "List data products"},
      {"parameters", json::array({QueryParam("domain", "string", "only this domain")})},
      {"responses", Responses("ProductList")}};
  paths["/v1/search"]["get"] = {
      {"summary", "Full-text search over products, ranked"},
      {"parameters",
       json::array({QueryParam("q", "string", "words; all must match, the last as a prefix"),
                    QueryParam("domain", "string", "filter"), QueryParam("tag", "string", "filter"),
                    QueryParam("owner", "string", "filter"),
                    QueryParam("classification", "string", "filter"),
                    QueryParam("alignment", "string", "filter"),
                    QueryParam("port_kind", "string", "stream or table"),
                    QueryParam("limit", "integer", "1..1000, default 20"),
                    QueryParam("offset", "integer", "default 0")})},
      {"responses", Responses("SearchResult")}};
  json show_params = product_params;
  show_params.push_back(QueryParam("version", "string", "a descriptor version (default current)"));
  paths["/v1/products/{domain}/{product}"]["get"] = {{"summary", "Show a data product"},
                                                     {"parameters", show_params},
                                                     {"responses", Responses("Product")}};
  json port_params = show_params;
  port_params.push_back(PathParam("port", "an output port"));
  paths["/v1/products/{domain}/{product}/ports/{port}"]["get"] = {
      {"summary", "Show the product of a port (404 if the port does not exist)"},
      {"parameters", port_params},
      {"responses", Responses("Product")}};
  paths["/v1/products/{domain}/{product}/versions"]["get"] = {
      {"summary", "Every applied version of a product's descriptor"},
      {"parameters", product_params},
      {"responses", Responses("VersionList")}};

  json& s = doc["components"]["schemas"];
  s["Problem"] = {{"type", "object"},
                  {"properties",
                   {{"type", {{"type", "string"}}},
                    {"title", {{"type", "string"}}},
                    {"status", {{"type", "integer"}}},
                    {"detail", {{"type", "string"}}},
                    {"instance", {{"type", "string"}}},
                    {"errors", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}};
  s["Health"] = {{"type", "object"}, {"properties", {{"status", {{"type", "string"}}}}}};
  s["ApplyRequest"] = {
      {"type", "object"},
      {"required", {"files"}},
      {"properties",
       {{"dryRun", {{"type", "boolean"}}},
        {"files",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"required", {"text"}},
            {"properties", {{"path", {{"type", "string"}}}, {"text", {{"type", "string"}}}}}}}}}}}};
  s["Change"] = {{"type", "object"},
                 {"properties",
                  {{"key", {{"type", "string"}}},
                   {"kind", {{"enum", {"Domain", "DataProduct", "Policy"}}}},
                   {"change", {{"enum", {"create", "new version", "unchanged"}}}},
                   {"from", {{"type", "string"}}},
                   {"to", {{"type", "string"}}}}}};
  s["ApplyResult"] = {{"type", "object"},
                      {"properties",
                       {{"dryRun", {{"type", "boolean"}}},
                        {"changes", {{"type", "array"}, {"items", Ref("Change")}}}}}};
  json summary_props = {{"address", {{"type", "string"}}},
                        {"domain", {{"type", "string"}}},
                        {"name", {{"type", "string"}}},
                        {"version", {{"type", "string"}}},
                        {"title", {{"type", "string"}}},
                        {"description", {{"type", "string"}}},
                        {"owner", {{"type", "string"}}},
                        {"tags", {{"type", "array"}}},
                        {"classification", {{"type", "string"}}},
                        {"alignment", {{"type", "string"}}},
                        {"portKinds", {{"type", "array"}}},
                        {"deprecated", {{"type", "boolean"}}},
                        {"updatedAt", {{"type", "string"}, {"format", "date-time"}}}};
  s["ProductSummary"] = {{"type", "object"}, {"properties", summary_props}};
  json hit_props = summary_props;
  hit_props["score"] = {{"type", "number"}};
  hit_props["snippet"] = {{"type", "string"}};
  s["SearchResult"] = {
      {"type", "object"},
      {"properties",
       {{"query", {{"type", "string"}}},
        {"hits",
         {{"type", "array"}, {"items", {{"type", "object"}, {"properties", hit_props}}}}}}}};
  s["ProductList"] = {
      {"type", "object"},
      {"properties", {{"products", {{"type", "array"}, {"items", Ref("ProductSummary")}}}}}};
  s["DomainList"] = {{"type", "object"}, {"properties", {{"domains", {{"type", "array"}}}}}};
  s["Product"] = {{"type", "object"},
                  {"description",
                   "The canonical JSON of a DataProduct descriptor (docs/descriptors.md) "
                   "with each port's address, sqlName and httpPath, and its versions."}};
  s["VersionList"] = {{"type", "object"},
                      {"properties",
                       {{"address", {{"type", "string"}}},
                        {"versions",
                         {{"type", "array"},
                          {"items",
                           {{"type", "object"},
                            {"properties",
                             {{"version", {{"type", "string"}}},
                              {"revision", {{"type", "integer"}}},
                              {"appliedBy", {{"type", "string"}}},
                              {"appliedAt", {{"type", "string"}}},
                              {"digest", {{"type", "string"}}}}}}}}}}}};
  return doc;
}

}  // namespace

const json& OpenApiDocument() {
  static const json* doc = new json(Build());  // built once, never destroyed
  return *doc;
}

}  // namespace loom::server
