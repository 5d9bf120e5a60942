#include "server/openapi.h"

#include <tuple>

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
      {"401", problem},
      {"403", problem},
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

// Authentication (every path but /healthz and this document) and the access-management routes.
void SecurityPaths(json& doc) {
  doc["components"]["securitySchemes"]["bearer"] = {
      {"type", "http"},
      {"scheme", "bearer"},
      {"description", "a Loom API token (loom_...) or a JWT of the configured OIDC issuer"}};
  doc["security"] = json::array({{{"bearer", json::array()}}});
  doc["paths"]["/healthz"]["get"]["security"] = json::array();
  json& paths = doc["paths"];
  json& s = doc["components"]["schemas"];
  auto object = [](const char* description) {
    return json{{"type", "object"}, {"description", description}};
  };
  s["TokenRequest"] = object(
      "{principal?, scopes: [read|write|unmask|manage|*], expiresAt?, "
      "description?}");
  s["NewToken"] = object("{id, secret (shown once), principal, scopes, expiresAt}");
  s["TokenList"] = object(
      "{tokens: [{id, principal, scopes, createdBy, createdAt, expiresAt, "
      "revoked}]}");
  s["GrantRequest"] = object(
      "{principal, address: loom://domain[/product[/port]], role "
      "(owner|producer|consumer) or permissions (read,write,unmask), "
      "rowFilter?}");
  s["Grant"] = object("{id, principal, address, role, permissions, rowFilter, grantedBy}");
  s["GrantList"] = object("{grants: [Grant]}");
  s["Member"] = object("{group, member, added|removed}");
  s["AuditEntries"] = object(
      "{entries: [{seq, time, principal, operation, address, allowed, "
      "rows, querySha256, detail, hash}]}");
  s["AuditVerification"] = object("{entries, headHash, intact}");
  s["KeyRotation"] = object("{rewrapped, fingerprint, previousFingerprint}");
  auto body = [](const char* schema) {
    return json{{"required", true}, {"content", {{"application/json", {{"schema", Ref(schema)}}}}}};
  };
  paths["/v1/tokens"]["post"] = {{"summary", "Create an API token (the secret is returned once)"},
                                 {"requestBody", body("TokenRequest")},
                                 {"responses", Responses("NewToken")}};
  paths["/v1/tokens"]["get"] = {
      {"summary", "List your tokens (governance: anyone's)"},
      {"parameters", json::array({QueryParam("principal", "string", "whose tokens")})},
      {"responses", Responses("TokenList")}};
  paths["/v1/tokens/{id}"]["delete"] = {
      {"summary", "Revoke a token"},
      {"parameters", json::array({{{"name", "id"},
                                   {"in", "path"},
                                   {"required", true},
                                   {"schema", {{"type", "string"}}}}})},
      {"responses", Responses("NewToken")}};
  paths["/v1/grants"]["get"] = {{"summary", "Grants you manage or hold"},
                                {"responses", Responses("GrantList")}};
  paths["/v1/grants"]["post"] = {{"summary", "Grant (owners in their domain, governance)"},
                                 {"requestBody", body("GrantRequest")},
                                 {"responses", Responses("Grant")}};
  paths["/v1/grants/revoke"]["post"] = {{"summary", "Revoke permissions or a role"},
                                        {"requestBody", body("GrantRequest")},
                                        {"responses", Responses("Grant")}};
  json group = {
      {"name", "group"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}};
  json member = {
      {"name", "member"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}};
  paths["/v1/groups/{group}/members"]["post"] = {
      {"summary", "Add a member {member} to a group (governance)"},
      {"parameters", json::array({group})},
      {"responses", Responses("Member")}};
  paths["/v1/groups/{group}/members/{member}"]["delete"] = {
      {"summary", "Remove a member from a group (governance)"},
      {"parameters", json::array({group, member})},
      {"responses", Responses("Member")}};
  paths["/v1/audit"]["get"] = {
      {"summary", "Audit entries you may read (governance: all; owners: their domains; own)"},
      {"parameters", json::array({QueryParam("principal", "string", "by principal"),
                                  QueryParam("address", "string", "on a product or port"),
                                  QueryParam("operation", "string", "query, ingest, ..."),
                                  QueryParam("denied", "boolean", "only refusals"),
                                  QueryParam("since", "string", "RFC 3339 time"),
                                  QueryParam("limit", "integer", "at most this many")})},
      {"responses", Responses("AuditEntries")}};
  paths["/v1/audit/verify"]["get"] = {{"summary", "Verify the audit hash chain (governance)"},
                                      {"responses", Responses("AuditVerification")}};
  paths["/v1/keys/rotate"]["post"] = {
      {"summary",
       "Re-wrap every data key under the master key in {newKeyFile}, a file on the server's "
       "machine (the administrator)"},
      {"responses", Responses("KeyRotation")}};
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

  json port_only = product_params;
  port_only.push_back(PathParam("port", "an output port"));
  const std::string port_path = "/v1/products/{domain}/{product}/ports/{port}";
  paths[port_path + "/events"]["post"] = {
      {"summary",
       "Publish CloudEvents (structured, batch, JSON Lines, or binary mode with ce-* headers); "
       "answers per record"},
      {"parameters", port_only},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"application/cloudevents+json", json::object()},
          {"application/cloudevents-batch+json", json::object()},
          {"application/x-ndjson", json::object()}}}}},
      {"responses", Responses("IngestResult")}};
  json read_params = port_only;
  for (auto [name, type, what] :
       {std::tuple{"from", "string", "earliest (default), latest, or an RFC 3339 time"},
        {"group", "string", "a consumer group: start at its committed offsets"},
        {"partition", "integer", "only this partition"},
        {"offsets", "string", "explicit start offsets: PARTITION:OFFSET,..."},
        {"max", "integer", "at most this many events (default 1000)"},
        {"wait_ms", "integer", "long-poll up to this long when nothing is there"},
        {"quarantine", "boolean", "read the port's quarantine instead"}}) {
    read_params.push_back(QueryParam(name, type, what));
  }
  paths[port_path + "/events"]["get"] = {{"summary", "Read events by offset, time or group"},
                                         {"parameters", read_params},
                                         {"responses", Responses("EventPage")}};
  paths[port_path + "/offsets"]["post"] = {
      {"summary", "Commit a consumer group's next offsets"},
      {"parameters", port_only},
      {"requestBody",
       {{"required", true},
        {"content", {{"application/json", {{"schema", Ref("OffsetCommit")}}}}}}},
      {"responses", Responses("OffsetCommit")}};
  paths[port_path + "/versions"]["post"] = {
      {"summary", "Publish a new table version from a CSV, JSON Lines or Parquet body"},
      {"parameters", port_only},
      {"requestBody",
       {{"required", true},
        {"content",
         {{"text/csv", json::object()},
          {"application/x-ndjson", json::object()},
          {"application/vnd.apache.parquet", json::object()}}}}},
      {"responses", Responses("TableVersion")}};
  paths[port_path + "/versions"]["get"] = {{"summary", "Every retained version of a table port"},
                                           {"parameters", port_only},
                                           {"responses", Responses("TableVersionList")}};
  json snapshot_params = port_only;
  snapshot_params.push_back(QueryParam("window", "string", "the start of one closed window"));
  paths[port_path + "/snapshots"]["post"] = {
      {"summary", "Publish closed windows of the product's stream into a snapshot table port"},
      {"parameters", snapshot_params},
      {"responses", Responses("SnapshotResult")}};
  json sample_params = port_only;
  sample_params.push_back(QueryParam("rows", "integer", "how many rows (default 10)"));
  sample_params.push_back(QueryParam("version", "string", "a table version"));
  paths[port_path + "/sample"]["get"] = {{"summary", "A few rows of a port"},
                                         {"parameters", sample_params},
                                         {"responses", Responses("Sample")}};
  json quality_params = port_only;
  quality_params.push_back(QueryParam("limit", "integer", "how many runs (default 5)"));
  paths[port_path + "/quality"]["get"] = {
      {"summary", "The latest quality check runs of a port (samples as the caller may see them)"},
      {"parameters", quality_params},
      {"responses", Responses("QualityRuns")}};
  paths[port_path + "/quality/check"]["post"] = {{"summary", "Run the port's expectations now"},
                                                 {"parameters", port_only},
                                                 {"responses", Responses("QualityRuns")}};
  paths["/v1/slos"]["get"] = {
      {"summary", "SLO status and error budget left"},
      {"parameters",
       json::array({QueryParam("address", "string", "loom://DOMAIN/PRODUCT[/PORT]; default all")})},
      {"responses", Responses("SloList")}};
  paths["/metrics"]["get"] = {
      {"summary", "Prometheus metrics (text exposition format 0.0.4)"},
      {"responses",
       {{"200", {{"description", "the metrics"}, {"content", {{"text/plain", json::object()}}}}}}}};
  paths["/v1/query"]["post"] = {
      {"summary",
       "Run one read-only SELECT over the products; the result is streamed in the chosen format"},
      {"requestBody",
       {{"required", true},
        {"content", {{"application/json", {{"schema", Ref("QueryRequest")}}}}}}},
      {"responses",
       {{"200",
         {{"description", "the result, streamed (chunked)"},
          {"content",
           {{"application/json", json::object()},
            {"application/x-ndjson", json::object()},
            {"text/csv", json::object()},
            {"text/plain", json::object()},
            {"application/vnd.apache.parquet", json::object()}}}}},
        {"400", {{"description", "RFC 9457 problem"}}},
        {"403", {{"description", "refused by the closed query surface"}}}}}};

  for (const char* route : {"/v1/policy/check", "/v1/diff"}) {
    paths[route]["post"] = {
        {"summary", std::string(route) == "/v1/diff"
                        ? "Classify the changes of descriptors against their current versions"
                        : "Apply's policy and version review of descriptors, without applying"},
        {"requestBody",
         {{"required", true},
          {"content", {{"application/json", {{"schema", Ref("ApplyRequest")}}}}}}},
        {"responses", Responses("Review")}};
  }
  paths["/v1/diff"]["get"] = {
      {"summary",
       "Classify the changes between two versions of a product (@1.2.0, or @1: a major)"},
      {"parameters", json::array({QueryParam("from", "string", "loom://DOMAIN/PRODUCT@VERSION"),
                                  QueryParam("to", "string", "loom://DOMAIN/PRODUCT@VERSION")})},
      {"responses", Responses("Review")}};
  paths["/v1/types"]["get"] = {{"summary", "Every global type and the products carrying it"},
                               {"responses", Responses("GlobalTypes")}};
  paths["/v1/types/{name}"]["get"] = {
      {"summary", "One global type and the products carrying it (the joinable products)"},
      {"parameters", json::array({{{"name", "name"},
                                   {"in", "path"},
                                   {"required", true},
                                   {"schema", {{"type", "string"}}}}})},
      {"responses", Responses("GlobalTypes")}};

  // Pipelines (docs/pipelines.md).
  const std::string product_path = "/v1/products/{domain}/{product}";
  paths["/v1/pipelines"]["get"] = {{"summary", "Every pipeline in dependency order"},
                                   {"responses", Responses("PipelineList")}};
  json runs_params = product_params;
  runs_params.push_back(QueryParam("limit", "integer", "how many runs (default 20)"));
  paths[product_path + "/runs"]["get"] = {{"summary", "The runs of the product's pipeline"},
                                          {"parameters", runs_params},
                                          {"responses", Responses("RunList")}};
  paths[product_path + "/runs"]["post"] = {{"summary", "Run the product's pipeline now"},
                                           {"parameters", product_params},
                                           {"responses", Responses("RunList")}};
  paths[product_path + "/rebuild"]["post"] = {
      {"summary", "Regenerate the product from its sources, optionally everything downstream"},
      {"parameters", product_params},
      {"requestBody", {{"content", {{"application/json", {{"schema", Ref("RebuildRequest")}}}}}}},
      {"responses", Responses("RunList")}};
  json lineage_params = product_params;
  lineage_params.push_back(QueryParam("direction", "string", "upstream | downstream | both"));
  lineage_params.push_back(QueryParam("depth", "integer", "how many steps (default 10)"));
  paths[product_path + "/lineage"]["get"] = {{"summary", "The lineage graph around a product"},
                                             {"parameters", lineage_params},
                                             {"responses", Responses("LineageGraph")}};
  json port_lineage_params = lineage_params;
  port_lineage_params.push_back(PathParam("port", "the port"));
  paths[port_path + "/lineage"]["get"] = {{"summary", "The lineage graph around a port"},
                                          {"parameters", port_lineage_params},
                                          {"responses", Responses("LineageGraph")}};
  json& s = doc["components"]["schemas"];
  s["IngestResult"] = {{"type", "object"},
                       {"properties",
                        {{"address", {{"type", "string"}}},
                         {"accepted", {{"type", "integer"}}},
                         {"duplicates", {{"type", "integer"}}},
                         {"rejected", {{"type", "integer"}}},
                         {"quarantined", {{"type", "integer"}}},
                         {"records", {{"type", "array"}}}}}};
  s["EventPage"] = {{"type", "object"},
                    {"properties",
                     {{"address", {{"type", "string"}}},
                      {"events", {{"type", "array"}}},
                      {"next", {{"type", "object"}}},
                      {"endOfStream", {{"type", "boolean"}}}}}};
  s["OffsetCommit"] = {
      {"type", "object"},
      {"properties", {{"group", {{"type", "string"}}}, {"offsets", {{"type", "object"}}}}}};
  s["TableVersion"] = {{"type", "object"},
                       {"properties",
                        {{"address", {{"type", "string"}}},
                         {"version", {{"type", "integer"}}},
                         {"rows", {{"type", "integer"}}},
                         {"publishedAt", {{"type", "string"}}},
                         {"publishedBy", {{"type", "string"}}},
                         {"inputs", {{"type", "array"}}}}}};
  s["TableVersionList"] = {{"type", "object"},
                           {"properties",
                            {{"current", {{"type", "integer"}}},
                             {"versions", {{"type", "array"}, {"items", Ref("TableVersion")}}}}}};
  s["PipelineList"] = {{"type", "object"}, {"properties", {{"pipelines", {{"type", "array"}}}}}};
  s["RunList"] = {{"type", "object"}, {"properties", {{"runs", {{"type", "array"}}}}}};
  s["RebuildRequest"] = {{"type", "object"},
                         {"properties",
                          {{"fromVersion", {{"type", "integer"}}},
                           {"fromTime", {{"type", "string"}, {"format", "date-time"}}},
                           {"downstream", {{"type", "boolean"}}}}}};
  s["LineageGraph"] = {{"type", "object"},
                       {"properties",
                        {{"address", {{"type", "string"}}},
                         {"nodes", {{"type", "array"}}},
                         {"edges", {{"type", "array"}}}}}};
  s["QualityRuns"] = {{"type", "object"},
                      {"properties",
                       {{"address", {{"type", "string"}}},
                        {"runs", {{"type", "array"}}},
                        {"checks", {{"type", "array"}}}}}};
  s["SloList"] = {{"type", "object"}, {"properties", {{"slos", {{"type", "array"}}}}}};
  s["SnapshotResult"] = {{"type", "object"}, {"properties", {{"published", {{"type", "array"}}}}}};
  s["Review"] = {{"type", "object"},
                 {"properties",
                  {{"ok", {{"type", "boolean"}}},
                   {"products", {{"type", "array"}}},
                   {"violations", {{"type", "array"}}},
                   {"versionProblems", {{"type", "array"}}},
                   {"diffs", {{"type", "array"}}}}}};
  s["GlobalTypes"] = {{"type", "object"}, {"properties", {{"types", {{"type", "array"}}}}}};
  s["Sample"] = {{"type", "object"},
                 {"properties", {{"columns", {{"type", "array"}}}, {"rows", {{"type", "array"}}}}}};
  s["QueryRequest"] = {{"type", "object"},
                       {"required", {"sql"}},
                       {"properties",
                        {{"sql", {{"type", "string"}}},
                         {"format", {{"enum", {"table", "json", "ndjson", "csv", "parquet"}}}},
                         {"asOf", {{"type", "string"}, {"format", "date-time"}}}}}};
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
  SecurityPaths(doc);
  return doc;
}

}  // namespace

const json& OpenApiDocument() {
  static const json* doc = new json(Build());  // built once, never destroyed
  return *doc;
}

}  // namespace loom::server
