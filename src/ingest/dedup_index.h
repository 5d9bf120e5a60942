#pragma once

// The in-memory dedup index of a port: 128-bit hashes of (source, id) with their arrival time
// and stored position, in 64 shards of two generations (open addressing, linear probing).
// A generation is dropped whole once all its entries are older than the window, so expiry costs
// nothing per event. An entry is *pending* while its first submission is being appended: a
// concurrent submission of the same event waits for it instead of storing it twice.
// Thread-safe: every method may be called concurrently.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace loom::ingest {

struct DedupKey {
  uint64_t h1 = 0;
  uint64_t h2 = 0;
};

class DedupIndex {
 public:
  enum class Claim : uint8_t { kNew, kDuplicate, kPending };

  DedupIndex(int64_t window_micros, size_t max_entries);
  ~DedupIndex();

  // kDuplicate (with the stored position) if the key arrived within the window; kPending if
  // another submission of it is being appended; else inserts a pending entry and returns kNew:
  // the caller must then call Complete or Abandon.
  Claim TryClaim(const DedupKey& key, int64_t now, int32_t* partition, int64_t* offset);
  void Complete(const DedupKey& key, int32_t partition, int64_t offset);
  void Abandon(const DedupKey& key);
  // Blocks while the key is pending. True with the stored position, false if it was abandoned.
  bool WaitStored(const DedupKey& key, int32_t* partition, int64_t* offset);
  // Restores an entry at Open (rebuild from the log); ignored when already outside the window.
  void Restore(const DedupKey& key, int64_t arrival, int64_t now, int32_t partition,
               int64_t offset);

  uint64_t entries() const;
  uint64_t early_evictions() const;

 private:
  struct Shard;
  Shard& ShardFor(const DedupKey& key);
  int64_t window_;
  size_t max_per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace loom::ingest
