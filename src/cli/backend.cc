#include "cli/backend.h"

#include <httplib.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "server/server.h"

namespace loom::cli {
namespace {

using nlohmann::json;

class EmbeddedBackend final : public Backend {
 public:
  EmbeddedBackend(std::unique_ptr<platform::Platform> p, platform::Caller caller)
      : platform_(std::move(p)), caller_(std::move(caller)) {}

  Result<json> Apply(const std::vector<platform::SourceFile>& files, bool dry_run) override {
    return platform_->Apply(caller_, files, dry_run);
  }
  Result<json> ListProducts(const std::optional<std::string>& domain) override {
    return platform_->ListProducts(caller_, domain);
  }
  Result<json> ListDomains() override { return platform_->ListDomains(caller_); }
  Result<json> Show(const Address& address) override {
    return platform_->ShowProduct(caller_, address);
  }
  Result<json> Versions(const Address& address) override {
    return platform_->Versions(caller_, address);
  }
  Result<json> Search(const platform::SearchParams& params) override {
    return platform_->Search(caller_, params);
  }
  Result<json> PublishTable(const Address& port, const std::string& path,
                            table::SourceKind kind) override {
    return platform_->PublishTableFile(caller_, port, path, kind);
  }
  Result<json> TableVersions(const Address& port) override {
    return platform_->TableVersions(caller_, port);
  }
  Result<json> PublishTableQuery(const Address& port, const std::string& sql) override {
    return platform_->PublishTableQuery(caller_, port, sql);
  }
  Result<json> PublishSnapshots(const Address& port,
                                std::optional<TimestampMicros> window) override {
    return platform_->PublishSnapshots(caller_, port, window);
  }
  Result<json> Sample(const Address& port, size_t rows) override {
    return platform_->Sample(caller_, port, rows);
  }
  Result<json> PublishEvents(const Address& port, const std::string& content_type,
                             const std::string& body) override {
    return platform_->PublishEvents(caller_, port, content_type, body, {});
  }
  Result<json> ReadEvents(const Address& port,
                          const platform::Platform::ReadRequest& request) override {
    return platform_->ReadEvents(caller_, port, request);
  }
  Result<json> CommitOffsets(const Address& port, const std::string& group,
                             const std::map<uint32_t, int64_t>& offsets) override {
    return platform_->CommitOffsets(caller_, port, group, offsets);
  }
  Result<json> PolicyCheck(const std::vector<platform::SourceFile>& files) override {
    return platform_->PolicyCheck(caller_, files);
  }
  Result<json> Diff(const std::vector<platform::SourceFile>& files) override {
    return platform_->Diff(caller_, files);
  }
  Result<json> DiffVersions(const Address& from, const Address& to) override {
    return platform_->DiffVersions(caller_, from, to);
  }
  Result<json> GlobalTypes(const std::optional<std::string>& name) override {
    return platform_->GlobalTypes(caller_, name);
  }
  Result<json> ListPipelines() override { return platform_->ListPipelines(caller_); }
  Result<json> PipelineRuns(const Address& address, size_t limit) override {
    return platform_->PipelineRuns(caller_, address, limit);
  }
  Result<json> RunPipeline(const Address& address) override {
    return platform_->RunPipeline(caller_, address);
  }
  Result<json> Rebuild(const Address& address,
                       const platform::Platform::RebuildRequest& request) override {
    return platform_->Rebuild(caller_, address, request);
  }
  Result<json> Lineage(const Address& address,
                       const platform::Platform::LineageRequest& request) override {
    return platform_->Lineage(caller_, address, request);
  }
  Result<json> Quality(const Address& port, size_t limit) override {
    return platform_->QualityResults(caller_, port, limit);
  }
  Result<json> CheckQuality(const Address& port) override {
    return platform_->CheckQuality(caller_, port);
  }
  Result<json> Slos(const std::optional<Address>& product) override {
    return platform_->SloStatus(caller_, product);
  }
  Status Query(const std::string& sql, const platform::Platform::QueryOptions& options,
               engine::Sink& out) override {
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<platform::Platform::PreparedQuery> q,
                          platform_->PrepareQuery(caller_, sql, options));
    for (const std::string& w : q->warnings())
      std::fprintf(stderr, "loom: warning: %s\n", w.c_str());
    LOOM_ASSIGN_OR_RETURN(engine::EncodeStats stats, q->Run(out));
    (void)stats;
    return Status::Ok();
  }
  Result<json> CreateToken(const platform::Platform::TokenRequest& r) override {
    return platform_->CreateToken(caller_, r);
  }
  Result<json> ListTokens(const std::string& principal) override {
    return platform_->ListTokens(caller_, principal);
  }
  Result<json> RevokeToken(const std::string& id) override {
    return platform_->RevokeToken(caller_, id);
  }
  Result<json> Grant(const platform::Platform::GrantRequest& r) override {
    return platform_->Grant(caller_, r);
  }
  Result<json> Revoke(const platform::Platform::GrantRequest& r) override {
    return platform_->Revoke(caller_, r);
  }
  Result<json> ListGrants() override { return platform_->ListGrants(caller_); }
  Result<json> AddMember(const std::string& group, const std::string& member) override {
    return platform_->AddMember(caller_, group, member);
  }
  Result<json> RemoveMember(const std::string& group, const std::string& member) override {
    return platform_->RemoveMember(caller_, group, member);
  }
  Result<json> Audit(const security::AuditFilter& filter) override {
    return platform_->Audit(caller_, filter);
  }
  Result<json> VerifyAudit() override { return platform_->VerifyAudit(caller_); }
  Result<json> RotateMasterKey(const std::string& new_key_file) override {
    return platform_->RotateMasterKey(caller_, new_key_file);
  }

 private:
  std::unique_ptr<platform::Platform> platform_;
  platform::Caller caller_;
};

class HttpBackend final : public Backend {
 public:
  HttpBackend(std::string base_url, const std::string& ca_cert, const std::string& token)
      : base_url_(std::move(base_url)), client_(base_url_) {
    client_.set_connection_timeout(5);
    client_.set_read_timeout(300);
    client_.enable_server_certificate_verification(true);
    if (!ca_cert.empty()) client_.set_ca_cert_path(ca_cert);
    if (!token.empty()) client_.set_bearer_token_auth(token.c_str());
  }

  Result<json> Apply(const std::vector<platform::SourceFile>& files, bool dry_run) override {
    json body = {{"dryRun", dry_run}, {"files", json::array()}};
    for (const platform::SourceFile& f : files) {
      body["files"].push_back({{"path", f.path}, {"text", f.text}});
    }
    return Call(client_.Post("/v1/apply", body.dump(), "application/json"), "/v1/apply");
  }
  Result<json> PolicyCheck(const std::vector<platform::SourceFile>& files) override {
    return PostFiles("/v1/policy/check", files);
  }
  Result<json> Diff(const std::vector<platform::SourceFile>& files) override {
    return PostFiles("/v1/diff", files);
  }
  Result<json> DiffVersions(const Address& from, const Address& to) override {
    return Get("/v1/diff", {{"from", from.ToString()}, {"to", to.ToString()}});
  }
  Result<json> GlobalTypes(const std::optional<std::string>& name) override {
    return Get(name ? "/v1/types/" + *name : "/v1/types", {});
  }
  Result<json> ListProducts(const std::optional<std::string>& domain) override {
    httplib::Params params;
    if (domain) params.emplace("domain", *domain);
    return Get("/v1/products", params);
  }
  Result<json> ListDomains() override { return Get("/v1/domains", {}); }
  Result<json> Show(const Address& address) override {
    httplib::Params params;
    if (address.version) params.emplace("version", *address.version);
    return Get(address.HttpPath(), params);
  }
  Result<json> Versions(const Address& address) override {
    return Get(Address{address.domain, address.product, "", {}}.HttpPath() + "/versions", {});
  }
  Result<json> Search(const platform::SearchParams& p) override {
    httplib::Params params{
        {"q", p.text}, {"limit", std::to_string(p.limit)}, {"offset", std::to_string(p.offset)}};
    auto add = [&](const char* name, const std::optional<std::string>& v) {
      if (v) params.emplace(name, *v);
    };
    add("domain", p.domain);
    add("tag", p.tag);
    add("owner", p.owner);
    add("classification", p.classification);
    add("alignment", p.alignment);
    add("port_kind", p.port_kind);
    return Get("/v1/search", params);
  }
  Result<json> PublishTable(const Address& port, const std::string& path,
                            table::SourceKind kind) override {
    std::ifstream f(path, std::ios::binary);
    if (!f) return NotFound("cannot read '" + path + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    const char* type = kind == table::SourceKind::kCsv         ? "text/csv"
                       : kind == table::SourceKind::kJsonLines ? "application/x-ndjson"
                                                               : "application/vnd.apache.parquet";
    std::string p = Address{port.domain, port.product, port.port, {}}.HttpPath() + "/versions";
    return Call(client_.Post(p, ss.str(), type), p);
  }
  Result<json> PublishSnapshots(const Address& port,
                                std::optional<TimestampMicros> window) override {
    std::string p = Address{port.domain, port.product, port.port, {}}.HttpPath() + "/snapshots";
    if (window) p += "?window=" + FormatRfc3339(*window);
    return Call(client_.Post(p, "", "application/json"), p);
  }
  Result<json> PublishTableQuery(const Address& port, const std::string& sql) override {
    std::string p = Address{port.domain, port.product, port.port, {}}.HttpPath() + "/versions";
    httplib::Params params{{"sql", sql}};
    return Call(client_.Post(p, httplib::Headers{}, params), p);
  }
  Result<json> TableVersions(const Address& port) override {
    return Get(Address{port.domain, port.product, port.port, {}}.HttpPath() + "/versions", {});
  }
  Result<json> Sample(const Address& port, size_t rows) override {
    httplib::Params params{{"rows", std::to_string(rows)}};
    if (port.version) params.emplace("version", *port.version);
    return Get(Address{port.domain, port.product, port.port, {}}.HttpPath() + "/sample", params);
  }
  Result<json> PublishEvents(const Address& port, const std::string& content_type,
                             const std::string& body) override {
    std::string p = Address{port.domain, port.product, port.port, {}}.HttpPath() + "/events";
    return Call(client_.Post(p, body, content_type.c_str()), p);
  }
  Result<json> ReadEvents(const Address& port, const platform::Platform::ReadRequest& r) override {
    httplib::Params params{{"from", r.from},
                           {"max", std::to_string(r.max_events)},
                           {"wait_ms", std::to_string(r.wait_ms)}};
    if (r.partition) params.emplace("partition", std::to_string(*r.partition));
    if (r.group) params.emplace("group", *r.group);
    if (r.quarantine) params.emplace("quarantine", "true");
    if (!r.offsets.empty()) {
      std::string text;
      for (const auto& [p, o] : r.offsets) {
        text += (text.empty() ? "" : ",") + std::to_string(p) + ":" + std::to_string(o);
      }
      params.emplace("offsets", text);
    }
    return Get(Address{port.domain, port.product, port.port, {}}.HttpPath() + "/events", params);
  }
  Result<json> CommitOffsets(const Address& port, const std::string& group,
                             const std::map<uint32_t, int64_t>& offsets) override {
    json body = {{"group", group}, {"offsets", json::object()}};
    for (const auto& [p, o] : offsets) body["offsets"][std::to_string(p)] = o;
    std::string p = Address{port.domain, port.product, port.port, {}}.HttpPath() + "/offsets";
    return Call(client_.Post(p, body.dump(), "application/json"), p);
  }
  Result<json> ListPipelines() override { return Get("/v1/pipelines", {}); }
  Result<json> PipelineRuns(const Address& address, size_t limit) override {
    return Get(Address{address.domain, address.product, "", {}}.HttpPath() + "/runs",
               {{"limit", std::to_string(limit)}});
  }
  Result<json> RunPipeline(const Address& address) override {
    std::string p = Address{address.domain, address.product, "", {}}.HttpPath() + "/runs";
    return Call(client_.Post(p, "{}", "application/json"), p);
  }
  Result<json> Rebuild(const Address& address,
                       const platform::Platform::RebuildRequest& r) override {
    json body = {{"downstream", r.downstream}};
    if (r.from_version) body["fromVersion"] = *r.from_version;
    if (r.from_time) body["fromTime"] = FormatRfc3339(*r.from_time);
    std::string p = Address{address.domain, address.product, "", {}}.HttpPath() + "/rebuild";
    return Call(client_.Post(p, body.dump(), "application/json"), p);
  }
  Result<json> Lineage(const Address& address,
                       const platform::Platform::LineageRequest& r) override {
    std::string direction = r.upstream && r.downstream ? "both"
                            : r.upstream               ? "upstream"
                                                       : "downstream";
    return Get(Address{address.domain, address.product, address.port, {}}.HttpPath() + "/lineage",
               {{"direction", direction}, {"depth", std::to_string(r.depth)}});
  }
  Result<json> Quality(const Address& port, size_t limit) override {
    return Get(Address{port.domain, port.product, port.port, {}}.HttpPath() + "/quality",
               {{"limit", std::to_string(limit)}});
  }
  Result<json> CheckQuality(const Address& port) override {
    std::string p = Address{port.domain, port.product, port.port, {}}.HttpPath() + "/quality/check";
    return Call(client_.Post(p, "", "application/json"), p);
  }
  Result<json> Slos(const std::optional<Address>& product) override {
    httplib::Params params;
    if (product) params.emplace("address", product->ToString());
    return Get("/v1/slos", params);
  }
  Status Query(const std::string& sql, const platform::Platform::QueryOptions& options,
               engine::Sink& out) override {
    static constexpr const char* kFormats[] = {"table", "json", "ndjson", "csv", "parquet"};
    json body = {{"sql", sql}, {"format", kFormats[static_cast<int>(options.format)]}};
    if (options.as_of) body["asOf"] = FormatRfc3339(*options.as_of);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/query";
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    int status = 0;
    std::string error_body;
    Status write_status;
    req.response_handler = [&status](const httplib::Response& r) {
      status = r.status;
      for (size_t i = 0; i < r.get_header_value_count("Loom-Warning"); ++i) {
        std::fprintf(stderr, "loom: warning: %s\n", r.get_header_value("Loom-Warning", i).c_str());
      }
      return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
      if (status != 200) {
        error_body.append(data, n);
        return true;
      }
      write_status = out.Write(std::string_view(data, n));
      return write_status.ok();
    };
    httplib::Result res = client_.send(req);
    LOOM_RETURN_IF_ERROR(write_status);
    if (!res) {
      return Unavailable("query to " + base_url_ + " failed (" + httplib::to_string(res.error()) +
                         ")");
    }
    if (status == 200) return Status::Ok();
    json problem = json::parse(error_body, nullptr, false);
    if (problem.is_object() && problem.contains("type") && problem["type"].is_string()) {
      return Status(server::CodeFromProblemType(problem["type"].get<std::string>()),
                    problem.value("detail", "error " + std::to_string(status)));
    }
    return Internal("server answered " + std::to_string(status) + " for /v1/query");
  }
  Result<json> CreateToken(const platform::Platform::TokenRequest& r) override {
    json body = {{"scopes", r.scopes}, {"description", r.description}};
    if (!r.principal.empty()) body["principal"] = r.principal;
    if (r.expires_at) body["expiresAt"] = FormatRfc3339(*r.expires_at);
    return Post("/v1/tokens", body);
  }
  Result<json> ListTokens(const std::string& principal) override {
    httplib::Params params;
    if (!principal.empty()) params.emplace("principal", principal);
    return Get("/v1/tokens", params);
  }
  Result<json> RevokeToken(const std::string& id) override {
    if (id.empty() || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return NotFound("no token '" + id + "'");
    }
    return Call(client_.Delete("/v1/tokens/" + id), "/v1/tokens/" + id);
  }
  Result<json> Grant(const platform::Platform::GrantRequest& r) override {
    return Post("/v1/grants", GrantBody(r));
  }
  Result<json> Revoke(const platform::Platform::GrantRequest& r) override {
    return Post("/v1/grants/revoke", GrantBody(r));
  }
  Result<json> ListGrants() override { return Get("/v1/grants", {}); }
  Result<json> AddMember(const std::string& group, const std::string& member) override {
    return Post("/v1/groups/" + group + "/members", json{{"member", member}});
  }
  Result<json> RemoveMember(const std::string& group, const std::string& member) override {
    std::string p = "/v1/groups/" + group + "/members/" + member;
    return Call(client_.Delete(p), p);
  }
  Result<json> Audit(const security::AuditFilter& f) override {
    httplib::Params params{{"limit", std::to_string(f.limit)}};
    if (f.principal) params.emplace("principal", *f.principal);
    if (f.address) params.emplace("address", *f.address);
    if (f.operation) params.emplace("operation", *f.operation);
    if (f.allowed && !*f.allowed) params.emplace("denied", "true");
    if (f.since) params.emplace("since", FormatRfc3339(*f.since));
    return Get("/v1/audit", params);
  }
  Result<json> VerifyAudit() override { return Get("/v1/audit/verify", {}); }
  Result<json> RotateMasterKey(const std::string& new_key_file) override {
    return Post("/v1/keys/rotate", json{{"newKeyFile", new_key_file}});
  }

 private:
  Result<json> PostFiles(const std::string& path, const std::vector<platform::SourceFile>& files) {
    json body = {{"files", json::array()}};
    for (const platform::SourceFile& f : files) {
      body["files"].push_back({{"path", f.path}, {"text", f.text}});
    }
    return Call(client_.Post(path, body.dump(), "application/json"), path);
  }
  static json GrantBody(const platform::Platform::GrantRequest& r) {
    json body = {{"principal", r.principal}, {"address", r.address}};
    bool role = r.what == "owner" || r.what == "producer" || r.what == "consumer";
    if (!r.what.empty()) body[role ? "role" : "permissions"] = r.what;
    if (r.row_filter) body["rowFilter"] = *r.row_filter;
    return body;
  }
  Result<json> Post(const std::string& path, const json& body) {
    return Call(client_.Post(path, body.dump(), "application/json"), path);
  }
  Result<json> Get(const std::string& path, const httplib::Params& params) {
    return Call(client_.Get(path, params, httplib::Headers{}), path);
  }

  Result<json> Call(const httplib::Result& res, const std::string& path) {
    if (!res) {
      return Unavailable("cannot reach loom server at " + base_url_ + " (" +
                         httplib::to_string(res.error()) + ")");
    }
    json body = json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (res->status >= 200 && res->status < 300) {
      if (body.is_discarded()) return Internal("server sent invalid JSON for " + path);
      return body;
    }
    if (body.is_object() && body.contains("type") && body["type"].is_string()) {
      return Status(server::CodeFromProblemType(body["type"].get<std::string>()),
                    body.value("detail", "error " + std::to_string(res->status)));
    }
    return Internal("server answered " + std::to_string(res->status) + " for " + path);
  }

  std::string base_url_;
  httplib::Client client_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenEmbeddedBackend(const std::string& data_dir,
                                                     const std::string& as,
                                                     const std::string& master_key_file) {
  platform::Options options;
  options.data_dir = data_dir;
  options.master_key_file = master_key_file;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<platform::Platform> p, platform::Platform::Open(options));
  platform::Caller caller;
  if (!as.empty()) {
    LOOM_ASSIGN_OR_RETURN(caller, p->As(as));
  }
  return std::unique_ptr<Backend>(std::make_unique<EmbeddedBackend>(std::move(p), caller));
}

Result<std::unique_ptr<Backend>> OpenHttpBackend(const std::string& base_url,
                                                 const std::string& ca_cert,
                                                 const std::string& token) {
  if (!base_url.starts_with("http://") && !base_url.starts_with("https://")) {
    return InvalidArgument("--server '" + base_url + "': expected http://HOST:PORT");
  }
  if (!ca_cert.empty() && !base_url.starts_with("https://")) {
    return InvalidArgument("--ca-cert is for https:// servers; --server is '" + base_url + "'");
  }
  if (!ca_cert.empty() && !FileSystem::Default()->FileExists(ca_cert)) {
    return NotFound("--ca-cert '" + ca_cert + "' does not exist");
  }
  return std::unique_ptr<Backend>(std::make_unique<HttpBackend>(base_url, ca_cert, token));
}

}  // namespace loom::cli
