#pragma once

// The on-disk side of a table (docs/internals/table-format.md): CURRENT, version directories,
// staging, recovery, the commit and retention. Every file operation goes through FileSystem.
// Not thread-safe for publishing (the Table serializes publishes); the read methods are safe to
// call concurrently with anything.

#include <string>
#include <vector>

#include "core/core.h"
#include "table/table.h"

namespace loom::table {

// What CURRENT says.
struct CurrentRecord {
  Version version;
  std::string manifest_sha256;
};

class Store {
 public:
  Store(FileSystem& fs, std::string root) : fs_(fs), root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string VersionDir(Version v) const;
  std::string StagingRoot() const;
  std::string LockPath() const;
  static constexpr const char* kManifestName = "manifest.json";

  // CURRENT; Version() when the table has no version.
  Result<CurrentRecord> ReadCurrent() const;
  // The manifest of a committed version (checked against CURRENT's digest when it is current).
  Result<Snapshot> ReadSnapshot(Version v, const CurrentRecord& current) const;
  // Numbers of the version directories present (committed or not), ascending.
  Result<std::vector<Version>> ListVersionDirs() const;

  // Deletes staging leftovers, CURRENT.tmp and version directories newer than CURRENT.
  // Only under the publish lock.
  Status Recover();
  // A fresh, empty staging directory.
  Result<std::string> NewStagingDir();
  // fsyncs a file written by someone else (DuckDB) through the file interface and describes it.
  Result<DataFile> SealFile(const std::string& dir, const std::string& name, uint64_t rows);
  // Steps 5-7 of the protocol: manifest into staging, rename to the version directory, CURRENT.
  // Returns kDataLoss for a failure after the commit point.
  Status Commit(const std::string& staging_dir, const Manifest& manifest);
  // Deletes version directories older than the `keep` newest committed ones, never `current`.
  Status ApplyRetention(Version current, uint32_t keep);

 private:
  FileSystem& fs_;
  std::string root_;
};

// "v00000003" -> 3; Version() when the name is not a version directory.
Version ParseVersionDirName(const std::string& name);

}  // namespace loom::table
