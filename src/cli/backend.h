#pragma once

// The CLI's view of Loom: the same calls against the embedded platform or a `loom serve`
// (private to cli/). Both return the API's JSON, so rendering is one code path.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/core.h"
#include "platform/platform.h"

namespace loom::cli {

// Not thread-safe; the CLI uses one at a time.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual Result<nlohmann::json> Apply(const std::vector<platform::SourceFile>& files,
                                       bool dry_run) = 0;
  virtual Result<nlohmann::json> ListProducts(const std::optional<std::string>& domain) = 0;
  virtual Result<nlohmann::json> ListDomains() = 0;
  virtual Result<nlohmann::json> Show(const Address& address) = 0;
  virtual Result<nlohmann::json> Versions(const Address& address) = 0;
  virtual Result<nlohmann::json> Search(const platform::SearchParams& params) = 0;
  // A new version of a table port from a CSV, JSON Lines or Parquet file.
  virtual Result<nlohmann::json> PublishTable(const Address& port, const std::string& path,
                                              table::SourceKind kind) = 0;
  virtual Result<nlohmann::json> PublishTableQuery(const Address& port, const std::string& sql) = 0;
  virtual Result<nlohmann::json> TableVersions(const Address& port) = 0;
  virtual Result<nlohmann::json> PublishSnapshots(const Address& port,
                                                  std::optional<TimestampMicros> window) = 0;
  virtual Result<nlohmann::json> Sample(const Address& port, size_t rows) = 0;
  virtual Result<nlohmann::json> PublishEvents(const Address& port, const std::string& content_type,
                                               const std::string& body) = 0;
  virtual Result<nlohmann::json> ReadEvents(const Address& port,
                                            const platform::Platform::ReadRequest& request) = 0;
  virtual Result<nlohmann::json> CommitOffsets(const Address& port, const std::string& group,
                                               const std::map<uint32_t, int64_t>& offsets) = 0;
  // Governance: the apply review without applying, diffs, global types (docs/governance.md).
  virtual Result<nlohmann::json> PolicyCheck(const std::vector<platform::SourceFile>& files) = 0;
  virtual Result<nlohmann::json> Diff(const std::vector<platform::SourceFile>& files) = 0;
  virtual Result<nlohmann::json> DiffVersions(const Address& from, const Address& to) = 0;
  virtual Result<nlohmann::json> GlobalTypes(const std::optional<std::string>& name) = 0;
  // Pipelines (docs/pipelines.md).
  virtual Result<nlohmann::json> ListPipelines() = 0;
  virtual Result<nlohmann::json> PipelineRuns(const Address& address, size_t limit) = 0;
  virtual Result<nlohmann::json> RunPipeline(const Address& address) = 0;
  virtual Result<nlohmann::json> Rebuild(const Address& address,
                                         const platform::Platform::RebuildRequest& request) = 0;
  virtual Result<nlohmann::json> Lineage(const Address& address,
                                         const platform::Platform::LineageRequest& request) = 0;
  // Quality results of a port, a check now, SLO status (docs/quality.md).
  virtual Result<nlohmann::json> Quality(const Address& port, size_t limit) = 0;
  virtual Result<nlohmann::json> CheckQuality(const Address& port) = 0;
  virtual Result<nlohmann::json> Slos(const std::optional<Address>& product) = 0;
  // Runs a query and streams its encoded result to `out`.
  virtual Status Query(const std::string& sql, const platform::Platform::QueryOptions& options,
                       engine::Sink& out) = 0;

  // Access management (docs/security.md).
  virtual Result<nlohmann::json> CreateToken(const platform::Platform::TokenRequest& request) = 0;
  virtual Result<nlohmann::json> ListTokens(const std::string& principal) = 0;
  virtual Result<nlohmann::json> RevokeToken(const std::string& id) = 0;
  virtual Result<nlohmann::json> Grant(const platform::Platform::GrantRequest& request) = 0;
  virtual Result<nlohmann::json> Revoke(const platform::Platform::GrantRequest& request) = 0;
  virtual Result<nlohmann::json> ListGrants() = 0;
  virtual Result<nlohmann::json> AddMember(const std::string& group, const std::string& member) = 0;
  virtual Result<nlohmann::json> RemoveMember(const std::string& group,
                                              const std::string& member) = 0;
  virtual Result<nlohmann::json> Audit(const security::AuditFilter& filter) = 0;
  virtual Result<nlohmann::json> VerifyAudit() = 0;
  // `loom keys rotate`: the new master key file (with a server, a path on its machine).
  virtual Result<nlohmann::json> RotateMasterKey(const std::string& new_key_file) = 0;
};

// Opens the data folder in-process, acting as the local administrator, or as `as` (a principal,
// with its groups) when not empty.
Result<std::unique_ptr<Backend>> OpenEmbeddedBackend(const std::string& data_dir,
                                                     const std::string& as = "",
                                                     const std::string& master_key_file = "");
// Talks HTTP to `loom serve` at base_url ("http://127.0.0.1:8080", or "https://..." checking the
// server's certificate against `ca_cert`, a PEM file, or the system's CAs when empty), sending
// `token` (an API token or a JWT) as the Bearer credential.
Result<std::unique_ptr<Backend>> OpenHttpBackend(const std::string& base_url,
                                                 const std::string& ca_cert = "",
                                                 const std::string& token = "");

}  // namespace loom::cli
