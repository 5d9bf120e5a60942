#pragma once

// The mesh the adversarial suite attacks: the reference mesh plus a `clinic` domain whose stream
// carries personal data, with published rows, and principals with too little right:
//   user:eve   nothing at all
//   user:ann   read on users/profiles and clinic/visits, rows of country SE only, no unmask
//   user:olle  a member of group:users-team, the owners of the users domain
// Values whose plaintext must never reach a masked reader are in kSecrets.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/e2e_util.h"
#include "testing/testing.h"

namespace loom::security_e2e {

inline constexpr const char* kClinic = R"(apiVersion: loom/v1
kind: Domain
metadata:
  name: clinic
  title: Clinic
  description: Patient visits.
  owners: [group:clinic-team]
---
apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: clinic
  name: visits
  version: 1.0.0
  title: Visits
  description: One event per patient visit.
  owner: group:clinic-team
  tags: [health, personal-data]
spec:
  classification: confidential
  alignment: source
  schema:
    fields:
      - {name: visit_id, type: string, required: true, primaryKey: true, description: The visit.}
      - {name: patient_email, type: string, pii: true, mask: redact, description: Contact.}
      - {name: ssn, type: string, pii: true, mask: tokenize, description: National id.}
      - {name: country, type: string, description: Where.}
      - {name: visited_at, type: timestamp, required: true, description: When.}
  quality:
    - {name: known-visit, kind: not_null, fields: [visit_id], severity: block}
  outputPorts:
    - name: events
      kind: stream
      description: Visits as they happen.
      stream: {partitions: 1, partitionKey: [visit_id], eventTime: visited_at}
)";

inline const std::vector<std::string> kSecrets = {
    "ann@example.com", "bob@example.com", "1990-05-17",    "1985-11-02",
    "pat1@clinic.se",  "pat2@clinic.uk",  "19900517-1234", "19851102-9876"};

inline std::string VisitEvent(int id, const std::string& email, const std::string& ssn,
                              const std::string& country) {
  nlohmann::json e = {{"specversion", "1.0"},
                      {"id", "v" + std::to_string(id)},
                      {"source", "/clinic"},
                      {"type", "visit"},
                      {"time", "2026-11-01T10:00:00Z"},
                      {"data",
                       {{"visit_id", "v" + std::to_string(id)},
                        {"patient_email", email},
                        {"ssn", ssn},
                        {"country", country},
                        {"visited_at", "2026-11-01T10:00:00Z"}}}};
  return e.dump();
}

// Builds the mesh in `data_dir` as the local administrator. Returns "" or what failed.
inline std::string BuildMesh(const std::string& data_dir, const std::string& scratch) {
  auto run = [&](std::vector<std::string> args, const std::string& in = "") {
    std::vector<std::string> argv = {testing::LoomBinary(), "--data", data_dir};
    argv.insert(argv.end(), args.begin(), args.end());
    testing::CommandResult r = testing::RunCommand(argv, in);
    return r.exit_code == 0 ? std::string() : args[0] + ": " + r.err;
  };
  testing::WriteFile(scratch + "/clinic.yaml", kClinic);
  testing::WriteFile(scratch + "/users.csv",
                     "user_id,email,birth_date,country,plan\n"
                     "usr_0000000001,ann@example.com,1990-05-17,SE,free\n"
                     "usr_0000000002,bob@example.com,1985-11-02,GB,premium\n");
  testing::WriteFile(scratch + "/visits.jsonl",
                     VisitEvent(1, "pat1@clinic.se", "19900517-1234", "SE") + "\n" +
                         VisitEvent(2, "pat2@clinic.uk", "19851102-9876", "GB") + "\n");
  for (auto step : std::vector<std::vector<std::string>>{
           {"apply", testing::SourceDir() + "/examples/media-streaming", scratch + "/clinic.yaml"},
           {"publish", "loom://users/profiles/current", scratch + "/users.csv"},
           {"publish", "loom://clinic/visits/events", scratch + "/visits.jsonl"},
           {"group", "add", "group:users-team", "user:olle"},
           {"grant", "user:ann", "read", "loom://users/profiles", "--row-filter", "country = 'SE'"},
           {"grant", "user:ann", "read", "loom://clinic/visits", "--row-filter", "country = 'SE'"},
       }) {
    std::string err = run(step);
    if (!err.empty()) return err;
  }
  return "";
}

// The audit entries `principal` has, read by the administrator.
inline nlohmann::json AuditOf(const std::string& data_dir, const std::string& principal) {
  testing::CommandResult r = testing::RunCommand(
      {testing::LoomBinary(), "--data", data_dir, "--json", "audit", "--principal", principal});
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || !j.is_object()) {
    ADD_FAILURE() << "loom audit --principal " << principal << ": " << r.err;
    return nlohmann::json::array();
  }
  return j["entries"];
}

inline bool HasDenial(const nlohmann::json& entries, const std::string& operation) {
  for (const nlohmann::json& e : entries) {
    if (e.value("operation", "") == operation && !e.value("allowed", true)) return true;
  }
  return false;
}

}  // namespace loom::security_e2e
